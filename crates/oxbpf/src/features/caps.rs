//! Kernel capabilities beyond program/map types: links, cookies, multi-probes, tcx,
//! tokens, ... Each is decided by one small probe ([`Capability::how`] says which), run
//! once per process.

use std::fmt;

use oxbpf_asm::Helper;
use oxbpf_asm::builder::{Builder, R0, R1};
use oxbpf_asm::instruction::Size;
use oxbpf_obj::{AttachType, MapType, ProgramType};
use oxbpf_sys::bpf::{self, MapCreate, map_flags};
use oxbpf_sys::{Errno, ProgFd};

use super::Support;
use super::helpers::helper_supported;
use super::maps::map_type_supported;
use super::probe::{self, Cache, ProbeError};
use super::progs::{self, needed_caps};

/// A kernel capability that [`capability_supported`] probes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Capability {
    /// `BPF_LINK_CREATE` (bpf_link-based attachment).
    BpfLink,
    /// bpf_link on perf events (tracepoints, kprobes, uprobes via `BPF_PERF_EVENT`).
    PerfLink,
    /// `BPF_MAP_TYPE_RINGBUF`.
    Ringbuf,
    /// BPF cookies (`bpf_get_attach_cookie`).
    BpfCookie,
    /// `kprobe.multi` links (fprobe).
    KprobeMulti,
    /// `uprobe.multi` links.
    UprobeMulti,
    /// tcx links (`BPF_TCX_INGRESS`/`EGRESS`).
    Tcx,
    /// netkit links (`BPF_NETKIT_PRIMARY`/`PEER`).
    Netkit,
    /// BPF tokens (`BPF_TOKEN_CREATE`).
    Token,
    /// `bpf_loop`.
    BpfLoop,
    /// Global data: `ld_imm64` of a map value address (`BPF_PSEUDO_MAP_VALUE`).
    GlobalData,
    /// Memory-mappable arrays (`BPF_F_MMAPABLE`).
    MmapableArray,
    /// BPF memory charged to memcg instead of `RLIMIT_MEMLOCK`.
    MemcgAccounting,
}

impl Capability {
    /// Every capability, in declaration order.
    pub const ALL: &'static [Capability] = &[
        Capability::BpfLink,
        Capability::PerfLink,
        Capability::Ringbuf,
        Capability::BpfCookie,
        Capability::KprobeMulti,
        Capability::UprobeMulti,
        Capability::Tcx,
        Capability::Netkit,
        Capability::Token,
        Capability::BpfLoop,
        Capability::GlobalData,
        Capability::MmapableArray,
        Capability::MemcgAccounting,
    ];

    /// The snake_case name (the [`Capabilities`] field).
    pub fn name(self) -> &'static str {
        match self {
            Capability::BpfLink => "bpf_link",
            Capability::PerfLink => "perf_link",
            Capability::Ringbuf => "ringbuf",
            Capability::BpfCookie => "bpf_cookie",
            Capability::KprobeMulti => "kprobe_multi",
            Capability::UprobeMulti => "uprobe_multi",
            Capability::Tcx => "tcx",
            Capability::Netkit => "netkit",
            Capability::Token => "token",
            Capability::BpfLoop => "bpf_loop",
            Capability::GlobalData => "global_data",
            Capability::MmapableArray => "mmapable_array",
            Capability::MemcgAccounting => "memcg_accounting",
        }
    }

    /// How the probe decides, for people.
    pub fn how(self) -> &'static str {
        match self {
            Capability::BpfLink => {
                "BPF_LINK_CREATE of a cgroup_skb program on fd -1: EBADF = yes, EINVAL = no"
            }
            Capability::PerfLink => {
                "BPF_LINK_CREATE(BPF_PERF_EVENT) of a tracepoint program on fd -1: EBADF = yes"
            }
            Capability::Ringbuf => "BPF_MAP_CREATE of a one-page BPF_MAP_TYPE_RINGBUF",
            Capability::BpfCookie => "helper bpf_get_attach_cookie for tracepoint programs",
            Capability::KprobeMulti => {
                "BPF_LINK_CREATE(BPF_TRACE_KPROBE_MULTI) on a missing symbol: ESRCH/ENOENT = yes, EINVAL/EOPNOTSUPP = no"
            }
            Capability::UprobeMulti => {
                "BPF_LINK_CREATE(BPF_TRACE_UPROBE_MULTI) on \"/\": EBADF (not a regular file) = yes"
            }
            Capability::Tcx => {
                "BPF_LINK_CREATE(BPF_TCX_INGRESS) of a sched_cls program on ifindex 0: ENODEV = yes"
            }
            Capability::Netkit => {
                "BPF_LINK_CREATE(BPF_NETKIT_PRIMARY) of a sched_cls program on ifindex 0: ENODEV = yes"
            }
            Capability::Token => "BPF_TOKEN_CREATE on fd -1: EBADF = yes, EINVAL = no",
            Capability::BpfLoop => "helper bpf_loop for socket filters",
            Capability::GlobalData => {
                "a socket filter storing through ld_imm64 BPF_PSEUDO_MAP_VALUE of an array"
            }
            Capability::MmapableArray => "BPF_MAP_CREATE of an array with BPF_F_MMAPABLE",
            Capability::MemcgAccounting => {
                "helper bpf_ktime_get_coarse_ns (same release, libbpf's proxy)"
            }
        }
    }
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Whether the kernel has capability `c` (probed once per process).
pub fn capability_supported(c: Capability) -> Result<bool, ProbeError> {
    static CACHE: Cache<Capability, bool> = Cache::new();
    CACHE.get_or_probe(c, || probe_capability(c))
}

/// [`capability_supported`] without the cache.
pub fn probe_capability(c: Capability) -> Result<bool, ProbeError> {
    match c {
        Capability::Ringbuf => map_type_supported(MapType::RINGBUF),
        Capability::BpfCookie => helper_supported(ProgramType::TRACEPOINT, Helper::GetAttachCookie),
        Capability::BpfLoop => helper_supported(ProgramType::SOCKET_FILTER, Helper::Loop),
        Capability::MemcgAccounting => memcg_accounting(c),
        Capability::BpfLink => link_probe(
            c,
            ProgramType::CGROUP_SKB,
            AttachType::CGROUP_INET_INGRESS,
            u32::MAX,
            Errno::EBADF,
        ),
        Capability::PerfLink => link_probe(
            c,
            ProgramType::TRACEPOINT,
            AttachType::PERF_EVENT,
            u32::MAX,
            Errno::EBADF,
        ),
        Capability::Tcx => link_probe(
            c,
            ProgramType::SCHED_CLS,
            AttachType::TCX_INGRESS,
            0,
            Errno::ENODEV,
        ),
        Capability::Netkit => link_probe(
            c,
            ProgramType::SCHED_CLS,
            AttachType::NETKIT_PRIMARY,
            0,
            Errno::ENODEV,
        ),
        Capability::KprobeMulti => {
            let Some(prog) = load_for(c, ProgramType::KPROBE, AttachType::TRACE_KPROBE_MULTI)?
            else {
                return Ok(false);
            };
            probe::count_call();
            let r = bpf::link_create_kprobe_multi(
                prog.as_fd(),
                AttachType::TRACE_KPROBE_MULTI.0,
                &["oxbpf_probe_no_such_function"],
                &[],
                0,
            );
            link_verdict(c, ProgramType::KPROBE, r, &[Errno::ESRCH, Errno::ENOENT])
        }
        Capability::UprobeMulti => {
            let Some(prog) = load_for(c, ProgramType::KPROBE, AttachType::TRACE_UPROBE_MULTI)?
            else {
                return Ok(false);
            };
            probe::count_call();
            let r = bpf::link_create_uprobe_multi(
                prog.as_fd(),
                AttachType::TRACE_UPROBE_MULTI.0,
                std::path::Path::new("/"),
                &[0],
                0,
                0,
            );
            link_verdict(c, ProgramType::KPROBE, r, &[Errno::EBADF])
        }
        Capability::Token => {
            probe::count_call();
            match bpf::token_create(None, 0) {
                Ok(_) => Ok(true),
                Err(e) if e.errno() == Some(Errno::EBADF) => Ok(true),
                Err(e) => probe::classify_err(
                    || format!("capability {c}"),
                    "BPF_TOKEN_CREATE",
                    "CAP_BPF",
                    &e,
                ),
            }
        }
        Capability::MmapableArray => {
            let mut a = MapCreate::new(MapType::ARRAY.0, 4, 8, 1);
            a.map_flags = map_flags::MMAPABLE;
            match probe::create_map(&a) {
                Ok(_) => Ok(true),
                Err(e) => probe::classify_err(
                    || format!("capability {c}"),
                    "BPF_MAP_CREATE",
                    "CAP_BPF",
                    &e,
                ),
            }
        }
        Capability::GlobalData => global_data(c),
    }
}

/// Loads `r0 = 0; exit` as `pt` with `expected` as its attach type; `None` when the
/// kernel rejects that combination (the capability is then missing).
fn load_for(
    c: Capability,
    pt: ProgramType,
    expected: AttachType,
) -> Result<Option<ProgFd>, ProbeError> {
    let insns = probe::return_zero();
    let mut setup = progs::setup_for(pt);
    setup.expected_attach_type = expected.0;
    let (res, _) = probe::load(&progs::probe_load(pt, &setup, &insns, "GPL"), &mut []);
    match res {
        Ok(fd) => Ok(Some(fd)),
        Err(e) => probe::classify_err(
            || format!("capability {c}"),
            "BPF_PROG_LOAD",
            needed_caps(pt),
            &e,
        )
        .map(|_| None),
    }
}

/// A program of `pt` linked with `attach` to `target`: `yes` is the errno a kernel with
/// the capability answers for that (invalid) target.
fn link_probe(
    c: Capability,
    pt: ProgramType,
    attach: AttachType,
    target: u32,
    yes: Errno,
) -> Result<bool, ProbeError> {
    let Some(prog) = load_for(c, pt, attach)? else {
        return Ok(false);
    };
    let r = probe::create_link(prog.as_fd(), target, attach.0);
    link_verdict(c, pt, r, &[yes])
}

fn link_verdict(
    c: Capability,
    pt: ProgramType,
    r: oxbpf_sys::Result<oxbpf_sys::LinkFd>,
    yes: &[Errno],
) -> Result<bool, ProbeError> {
    match r {
        Ok(_) => Ok(true),
        Err(e) if e.errno().is_some_and(|n| yes.contains(&n)) => Ok(true),
        Err(e) => probe::classify_err(
            || format!("capability {c}"),
            "BPF_LINK_CREATE",
            needed_caps(pt),
            &e,
        ),
    }
}

/// libbpf's `probe_memcg_account`: a GPL socket filter calling `bpf_ktime_get_coarse_ns`
/// (5.11, the release that charges BPF memory to the memory cgroup) loads. One
/// `BPF_PROG_LOAD` without a log: every load decides first whether to raise
/// RLIMIT_MEMLOCK, so this probe is on the path of the first load of each process (the
/// general helper probe would first probe the program type and read a verifier log).
fn memcg_accounting(c: Capability) -> Result<bool, ProbeError> {
    let pt = ProgramType::SOCKET_FILTER;
    let mut b = Builder::new();
    b.call_helper(Helper::KtimeGetCoarseNs).exit();
    let insns = probe::build(&b, || format!("capability {c}"))?;
    let setup = progs::setup_for(pt);
    let (res, _) = probe::load(&progs::probe_load(pt, &setup, &insns, "GPL"), &mut []);
    match res {
        Ok(_) => Ok(true),
        Err(e) => probe::classify_err(
            || format!("capability {c}"),
            "BPF_PROG_LOAD",
            needed_caps(pt),
            &e,
        ),
    }
}

/// libbpf's `probe_kern_global_data`: a socket filter storing 42 through the address of
/// an array map's value.
fn global_data(c: Capability) -> Result<bool, ProbeError> {
    let what = || format!("capability {c}");
    let map = match probe::create_map(&MapCreate::new(MapType::ARRAY.0, 4, 8, 1)) {
        Ok(m) => m,
        Err(e) => return probe::classify_err(what, "BPF_MAP_CREATE", "CAP_BPF", &e),
    };
    let mut b = Builder::new();
    // BPF_PSEUDO_MAP_VALUE (2): imm = map fd, second slot's imm = offset 0.
    b.ld_pseudo(R1, 2, u64::from(map.raw() as u32))
        .store_imm(Size::DW, R1, 0, 42)
        .mov64_imm(R0, 0)
        .exit();
    let insns = probe::build(&b, what)?;
    let setup = progs::setup_for(ProgramType::SOCKET_FILTER);
    let p = progs::probe_load(ProgramType::SOCKET_FILTER, &setup, &insns, "GPL");
    match probe::load(&p, &mut []).0 {
        Ok(_) => Ok(true),
        Err(e) => probe::classify_err(what, "BPF_PROG_LOAD", "CAP_BPF", &e),
    }
}

/// Every [`Capability`] of the running kernel.
#[derive(Clone, Debug, PartialEq, Eq)]
#[allow(missing_docs)] // each field is the capability of the same name
pub struct Capabilities {
    pub bpf_link: Support,
    pub perf_link: Support,
    pub ringbuf: Support,
    pub bpf_cookie: Support,
    pub kprobe_multi: Support,
    pub uprobe_multi: Support,
    pub tcx: Support,
    pub netkit: Support,
    pub token: Support,
    pub bpf_loop: Support,
    pub global_data: Support,
    pub mmapable_array: Support,
    pub memcg_accounting: Support,
}

impl Capabilities {
    /// The answer for `c`.
    pub fn get(&self, c: Capability) -> &Support {
        match c {
            Capability::BpfLink => &self.bpf_link,
            Capability::PerfLink => &self.perf_link,
            Capability::Ringbuf => &self.ringbuf,
            Capability::BpfCookie => &self.bpf_cookie,
            Capability::KprobeMulti => &self.kprobe_multi,
            Capability::UprobeMulti => &self.uprobe_multi,
            Capability::Tcx => &self.tcx,
            Capability::Netkit => &self.netkit,
            Capability::Token => &self.token,
            Capability::BpfLoop => &self.bpf_loop,
            Capability::GlobalData => &self.global_data,
            Capability::MmapableArray => &self.mmapable_array,
            Capability::MemcgAccounting => &self.memcg_accounting,
        }
    }

    /// `(capability, answer)` pairs in [`Capability::ALL`] order.
    pub fn iter(&self) -> impl Iterator<Item = (Capability, &Support)> {
        Capability::ALL.iter().map(|&c| (c, self.get(c)))
    }
}

/// A probe result as a [`Support`] (an error becomes [`Support::Unknown`] with its text).
pub fn support_of(r: Result<bool, ProbeError>) -> Support {
    match r {
        Ok(true) => Support::Yes,
        Ok(false) => Support::No,
        Err(e) => Support::Unknown(e.to_string()),
    }
}

/// Every capability of the running kernel (each probed once per process).
pub fn capabilities() -> Capabilities {
    let s = |c| support_of(capability_supported(c));
    Capabilities {
        bpf_link: s(Capability::BpfLink),
        perf_link: s(Capability::PerfLink),
        ringbuf: s(Capability::Ringbuf),
        bpf_cookie: s(Capability::BpfCookie),
        kprobe_multi: s(Capability::KprobeMulti),
        uprobe_multi: s(Capability::UprobeMulti),
        tcx: s(Capability::Tcx),
        netkit: s(Capability::Netkit),
        token: s(Capability::Token),
        bpf_loop: s(Capability::BpfLoop),
        global_data: s(Capability::GlobalData),
        mmapable_array: s(Capability::MmapableArray),
        memcg_accounting: s(Capability::MemcgAccounting),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_iter_covers_all() {
        let mut names: Vec<_> = Capability::ALL.iter().map(|c| c.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Capability::ALL.len());
        let caps = Capabilities {
            bpf_link: Support::Yes,
            perf_link: Support::No,
            ringbuf: Support::Yes,
            bpf_cookie: Support::Yes,
            kprobe_multi: Support::No,
            uprobe_multi: Support::Yes,
            tcx: Support::Yes,
            netkit: Support::Yes,
            token: Support::Yes,
            bpf_loop: Support::Yes,
            global_data: Support::Yes,
            mmapable_array: Support::Yes,
            memcg_accounting: Support::Unknown("x".into()),
        };
        assert_eq!(caps.iter().count(), Capability::ALL.len());
        assert_eq!(caps.get(Capability::PerfLink), &Support::No);
        assert_eq!(
            caps.get(Capability::MemcgAccounting),
            &Support::Unknown("x".into())
        );
    }

    #[test]
    fn errors_become_unknown_support() {
        assert_eq!(support_of(Ok(true)), Support::Yes);
        assert_eq!(support_of(Ok(false)), Support::No);
        let e = ProbeError::Unprobeable {
            probe: "p".into(),
            reason: "r",
        };
        assert_eq!(
            support_of(Err(e)),
            Support::Unknown("probe p: cannot be probed: r".into())
        );
    }
}

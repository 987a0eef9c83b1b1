//! Program-type probes: does `BPF_PROG_LOAD` accept `r0 = 0; exit` of this type?
//!
//! As libbpf's `probe_prog_load`: each type is loaded with the attributes the kernel
//! insists on (an `expected_attach_type`, `kern_version` for old kprobe kernels, the
//! sleepable flag for syscall programs). Types that only load against a real attach
//! target (`TRACING`, `LSM`, `EXT`, `STRUCT_OPS`) are loaded against a deliberately wrong
//! one (`attach_btf_id` 1, which is not a function in vmlinux): the kernel that knows the
//! type rejects that target with its own error (`EINVAL` and "attach_btf_id 1 is not a
//! function", `EINVAL` and "Cannot replace kernel functions", `ENOTSUPP`), a kernel that
//! does not rejects the type itself with `EINVAL` and no such message.
//!
//! `EINVAL`, `E2BIG`, `EOPNOTSUPP`/`ENOTSUPP` mean unsupported; `EPERM` is a
//! [`ProbeError::Permission`]; anything else is [`ProbeError::Inconclusive`].

use oxbpf_obj::{AttachType, ProgramType};
use oxbpf_sys::Errno;
use oxbpf_sys::bpf::ProgLoad;

use super::probe::{self, Cache, ProbeError};

/// `BPF_F_SLEEPABLE`.
const F_SLEEPABLE: u32 = 1 << 4;

/// How to load a probe program of one type.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct LoadSetup {
    pub expected_attach_type: u32,
    pub attach_btf_id: u32,
    pub kern_version: u32,
    pub prog_flags: u32,
    /// For types probed against a wrong attach target: the errno (and log text) that
    /// proves the kernel knows the type.
    pub expect: Option<(Errno, Option<&'static str>)>,
}

/// The load attributes a program of type `pt` needs (libbpf's `probe_prog_load` table).
pub(crate) fn setup_for(pt: ProgramType) -> LoadSetup {
    let attach = |a: AttachType| LoadSetup {
        expected_attach_type: a.0,
        ..Default::default()
    };
    let wrong_target = |a: AttachType, errno, msg| LoadSetup {
        expected_attach_type: a.0,
        attach_btf_id: 1,
        expect: Some((errno, msg)),
        ..Default::default()
    };
    match pt {
        ProgramType::CGROUP_SOCK_ADDR => attach(AttachType::CGROUP_INET4_CONNECT),
        ProgramType::CGROUP_SOCKOPT => attach(AttachType::CGROUP_GETSOCKOPT),
        ProgramType::SK_LOOKUP => attach(AttachType::SK_LOOKUP),
        ProgramType::LIRC_MODE2 => attach(AttachType::LIRC_MODE2),
        ProgramType::NETFILTER => attach(AttachType::NETFILTER),
        ProgramType::KPROBE => LoadSetup {
            kern_version: kernel_version_code(),
            ..Default::default()
        },
        ProgramType::SYSCALL => LoadSetup {
            prog_flags: F_SLEEPABLE,
            ..Default::default()
        },
        ProgramType::TRACING => wrong_target(
            AttachType::TRACE_FENTRY,
            Errno::EINVAL,
            Some("attach_btf_id 1 is not a function"),
        ),
        ProgramType::LSM => wrong_target(
            AttachType::LSM_MAC,
            Errno::EINVAL,
            Some("attach_btf_id 1 is not a function"),
        ),
        ProgramType::EXT => wrong_target(
            AttachType(0),
            Errno::EINVAL,
            Some("Cannot replace kernel functions"),
        ),
        ProgramType::STRUCT_OPS => LoadSetup {
            expect: Some((Errno::ENOTSUPP, None)),
            ..Default::default()
        },
        _ => LoadSetup::default(),
    }
}

/// `LINUX_VERSION_CODE` of the running kernel from /proc/sys/kernel/osrelease (0 if
/// unreadable): kprobe programs before 5.0 must carry it.
pub(crate) fn kernel_version_code() -> u32 {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .ok()
        .map_or(0, |s| version_code(&s))
}

/// `"6.18.3-foo"` → `KERNEL_VERSION(6, 18, 3)` (the sublevel saturates at 255, as the
/// kernel's own macro does since 4.14.256).
pub(crate) fn version_code(release: &str) -> u32 {
    let mut parts = release.trim().split(['.', '-', '+']).map(|p| {
        p.chars()
            .take_while(char::is_ascii_digit)
            .collect::<String>()
            .parse::<u32>()
            .unwrap_or(0)
    });
    let (a, b, c) = (
        parts.next().unwrap_or(0),
        parts.next().unwrap_or(0),
        parts.next().unwrap_or(0),
    );
    (a.min(255) << 16) | (b.min(255) << 8) | c.min(255)
}

/// The capabilities loading a program of type `pt` needs (`bpf_prog_load`'s checks).
pub(crate) fn needed_caps(pt: ProgramType) -> &'static str {
    match pt {
        ProgramType::KPROBE
        | ProgramType::TRACEPOINT
        | ProgramType::PERF_EVENT
        | ProgramType::RAW_TRACEPOINT
        | ProgramType::RAW_TRACEPOINT_WRITABLE
        | ProgramType::TRACING
        | ProgramType::LSM
        | ProgramType::EXT
        | ProgramType::STRUCT_OPS
        | ProgramType::SYSCALL => "CAP_BPF and CAP_PERFMON",
        ProgramType::SOCKET_FILTER | ProgramType::CGROUP_SKB => "CAP_BPF",
        _ => "CAP_BPF and CAP_NET_ADMIN",
    }
}

/// The `ProgLoad` of `insns` as a probe of type `pt`.
pub(crate) fn probe_load<'a>(
    pt: ProgramType,
    setup: &LoadSetup,
    insns: &'a [u8],
    license: &'a str,
) -> ProgLoad<'a> {
    ProgLoad {
        prog_type: pt.0,
        insns,
        license,
        name: "oxbpf_probe",
        expected_attach_type: setup.expected_attach_type,
        kern_version: setup.kern_version,
        prog_flags: setup.prog_flags,
        attach_btf_id: setup.attach_btf_id,
        ..Default::default()
    }
}

fn what(pt: ProgramType) -> String {
    format!("program type {pt}")
}

/// Whether the kernel supports programs of type `pt` (probed once per process).
pub fn prog_type_supported(pt: ProgramType) -> Result<bool, ProbeError> {
    static CACHE: Cache<u32, bool> = Cache::new();
    CACHE.get_or_probe(pt.0, || probe_prog_type(pt))
}

/// [`prog_type_supported`] without the cache: loads the probe program now.
pub fn probe_prog_type(pt: ProgramType) -> Result<bool, ProbeError> {
    let insns = probe::return_zero();
    let setup = setup_for(pt);
    let mut log = vec![0u8; if setup.expect.is_some() { 4096 } else { 0 }];
    let (res, text) = probe::load(&probe_load(pt, &setup, &insns, "GPL"), &mut log);
    decide(pt, &setup, res.map(drop), &text)
}

/// The verdict of one program-type probe load.
fn decide(
    pt: ProgramType,
    setup: &LoadSetup,
    res: oxbpf_sys::Result<()>,
    log: &str,
) -> Result<bool, ProbeError> {
    let err = match res {
        Ok(()) => return Ok(true),
        Err(e) => e,
    };
    if let Some((want, msg)) = setup.expect {
        if err.errno() == Some(want) && msg.is_none_or(|m| log.contains(m)) {
            return Ok(true);
        }
    }
    probe::classify_err(|| what(pt), "BPF_PROG_LOAD", needed_caps(pt), &err)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(errno: Errno) -> oxbpf_sys::Result<()> {
        Err(oxbpf_sys::Error::Syscall {
            call: "BPF_PROG_LOAD",
            errno,
        })
    }

    #[test]
    fn parses_kernel_releases_into_version_codes() {
        assert_eq!(version_code("6.18.0-rc1\n"), (6 << 16) | (18 << 8));
        assert_eq!(version_code("5.10.300"), (5 << 16) | (10 << 8) | 255);
        assert_eq!(version_code("4.19"), (4 << 16) | (19 << 8));
        assert_eq!(version_code("garbage"), 0);
    }

    #[test]
    fn attach_target_types_need_the_expected_error_and_message() {
        let s = setup_for(ProgramType::TRACING);
        let msg = "attach_btf_id 1 is not a function\n";
        assert_eq!(
            decide(ProgramType::TRACING, &s, err(Errno::EINVAL), msg),
            Ok(true)
        );
        // EINVAL without the message: the kernel rejected the type itself.
        assert_eq!(
            decide(ProgramType::TRACING, &s, err(Errno::EINVAL), ""),
            Ok(false)
        );
        let so = setup_for(ProgramType::STRUCT_OPS);
        assert_eq!(
            decide(ProgramType::STRUCT_OPS, &so, err(Errno::ENOTSUPP), ""),
            Ok(true)
        );
    }

    #[test]
    fn plain_types_load_or_say_einval() {
        let s = setup_for(ProgramType::XDP);
        assert_eq!(s, LoadSetup::default());
        assert_eq!(decide(ProgramType::XDP, &s, Ok(()), ""), Ok(true));
        assert_eq!(
            decide(ProgramType::XDP, &s, err(Errno::EINVAL), ""),
            Ok(false)
        );
        assert!(matches!(
            decide(ProgramType::XDP, &s, err(Errno::EPERM), ""),
            Err(ProbeError::Permission {
                needs: "CAP_BPF and CAP_NET_ADMIN",
                ..
            })
        ));
    }

    #[test]
    fn types_with_required_attach_types_get_them() {
        assert_eq!(
            setup_for(ProgramType::CGROUP_SOCK_ADDR).expected_attach_type,
            AttachType::CGROUP_INET4_CONNECT.0
        );
        assert_eq!(setup_for(ProgramType::SYSCALL).prog_flags, F_SLEEPABLE);
    }
}

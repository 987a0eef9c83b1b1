//! Program section names (`SEC("...")`) → [`SectionDef`], following libbpf's conventions
//! (its `section_defs` table in `tools/lib/bpf/libbpf.c`).
//!
//! Matching works as in libbpf: a pattern ending in `+` matches the bare name or the name
//! followed by `/extras`; a pattern ending in `/` needs extras; any other pattern must match
//! exactly. The first matching entry wins, so more specific patterns come first. A leading
//! `?` turns autoload off and is otherwise ignored.

use crate::error::{Error, Result};
use crate::kinds::{AttachType, ProgramType};

/// What a program section name says about the program: type, attach type and target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SectionDef {
    /// Program type for `BPF_PROG_LOAD`.
    pub prog_type: ProgramType,
    /// `expected_attach_type` for `BPF_PROG_LOAD`, when the section implies one.
    pub expected_attach_type: Option<AttachType>,
    /// Where the program attaches, as far as the section name says.
    pub attach: AttachPoint,
    /// Loaded with `BPF_F_SLEEPABLE` (`.s` sections, `syscall`).
    pub sleepable: bool,
    /// False for `SEC("?...")`: the loader skips it unless asked.
    pub autoload: bool,
}

/// The attach target a section name names. `Other` covers hooks whose target is given at
/// attach time (sockmaps, netns, struct_ops, iterators, ...) or not modelled here yet;
/// `None` is a known hook whose section carries no target (`SEC("kprobe")`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AttachPoint {
    /// No target in the section name.
    None,
    /// `tracepoint/<category>/<name>`, `tp/<category>/<name>`.
    Tracepoint {
        /// Tracepoint category (`syscalls`).
        category: String,
        /// Tracepoint name (`sys_enter_openat`).
        name: String,
    },
    /// `raw_tracepoint/<name>`, `raw_tp/<name>` (also `.w`).
    RawTracepoint {
        /// Raw tracepoint name.
        name: String,
    },
    /// `tp_btf/<name>`.
    TpBtf {
        /// BTF-typed tracepoint name.
        name: String,
    },
    /// `kprobe/<func>[+<offset>]`, `kretprobe/<func>`.
    Kprobe {
        /// Kernel function.
        func: String,
        /// Byte offset into the function.
        offset: u64,
        /// True for kretprobe.
        retprobe: bool,
    },
    /// `uprobe/<binary>:<func>`, `uretprobe/...`, `uprobe.multi/<binary>:<pattern>`.
    Uprobe {
        /// Path of the binary or library.
        binary: Option<String>,
        /// Everything after `:` verbatim: a symbol, `symbol+offset`, an address or a pattern.
        func: Option<String>,
        /// True for uretprobe.
        retprobe: bool,
    },
    /// `fentry/<func>`.
    Fentry {
        /// Kernel function (or `module:func`).
        func: String,
    },
    /// `fexit/<func>`.
    Fexit {
        /// Kernel function (or `module:func`).
        func: String,
    },
    /// `lsm/<hook>`, `lsm.s/<hook>`, `lsm_cgroup/<hook>`.
    Lsm {
        /// LSM hook name.
        hook: String,
    },
    /// `xdp`, `xdp.frags`, `xdp/devmap`, `xdp/cpumap` (see `expected_attach_type`).
    Xdp,
    /// `tc`, `classifier`, `action`, `tcx/ingress|egress`, `tc/ingress|egress`, `netkit/*`.
    Tc,
    /// `cgroup_skb/ingress`, `cgroup_skb/egress`.
    CgroupSkb {
        /// True for ingress.
        ingress: bool,
    },
    /// Other cgroup hooks (`cgroup/connect4`, `cgroup/sock`, `sockops`, ...).
    Cgroup {
        /// The attach type for `BPF_PROG_ATTACH` / `BPF_LINK_CREATE`.
        attach: AttachType,
    },
    /// `socket`.
    SocketFilter,
    /// `syscall` (run with `BPF_PROG_TEST_RUN`).
    Syscall,
    /// A hook whose target the section name does not carry in a form modelled here.
    Other,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Match {
    /// `name` or `name/extras`.
    Plus,
    /// Exactly `name`.
    Exact,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Family {
    Socket,
    Kprobe { ret: bool },
    Uprobe { ret: bool },
    Tracepoint,
    RawTp,
    TpBtf,
    Fentry,
    Fexit,
    Lsm,
    Syscall,
    Xdp,
    Tc,
    CgroupSkb { ingress: bool },
    Cgroup,
    Other,
}

struct Def {
    pat: &'static str,
    m: Match,
    prog: ProgramType,
    attach: Option<AttachType>,
    sleepable: bool,
    family: Family,
}

const fn d(
    pat: &'static str,
    m: Match,
    prog: ProgramType,
    attach: Option<AttachType>,
    sleepable: bool,
    family: Family,
) -> Def {
    Def {
        pat,
        m,
        prog,
        attach,
        sleepable,
        family,
    }
}

use Family as F;
use Match::{Exact as E, Plus as P};
type A = AttachType;
type T = ProgramType;

const S: bool = true;
const N: bool = false;

/// libbpf's table, in its order (first match wins).
static DEFS: &[Def] = &[
    d("socket", E, T::SOCKET_FILTER, None, N, F::Socket),
    d(
        "sk_reuseport/migrate",
        E,
        T::SK_REUSEPORT,
        Some(A::SK_REUSEPORT_SELECT_OR_MIGRATE),
        N,
        F::Other,
    ),
    d(
        "sk_reuseport",
        E,
        T::SK_REUSEPORT,
        Some(A::SK_REUSEPORT_SELECT),
        N,
        F::Other,
    ),
    d("kprobe", P, T::KPROBE, None, N, F::Kprobe { ret: false }),
    d("uprobe", P, T::KPROBE, None, N, F::Uprobe { ret: false }),
    d("uprobe.s", P, T::KPROBE, None, S, F::Uprobe { ret: false }),
    d("kretprobe", P, T::KPROBE, None, N, F::Kprobe { ret: true }),
    d("uretprobe", P, T::KPROBE, None, N, F::Uprobe { ret: true }),
    d(
        "uretprobe.s",
        P,
        T::KPROBE,
        None,
        S,
        F::Uprobe { ret: true },
    ),
    d(
        "kprobe.multi",
        P,
        T::KPROBE,
        Some(A::TRACE_KPROBE_MULTI),
        N,
        F::Other,
    ),
    d(
        "kretprobe.multi",
        P,
        T::KPROBE,
        Some(A::TRACE_KPROBE_MULTI),
        N,
        F::Other,
    ),
    d(
        "kprobe.session",
        P,
        T::KPROBE,
        Some(A::TRACE_KPROBE_SESSION),
        N,
        F::Other,
    ),
    d(
        "uprobe.multi",
        P,
        T::KPROBE,
        Some(A::TRACE_UPROBE_MULTI),
        N,
        F::Uprobe { ret: false },
    ),
    d(
        "uretprobe.multi",
        P,
        T::KPROBE,
        Some(A::TRACE_UPROBE_MULTI),
        N,
        F::Uprobe { ret: true },
    ),
    d(
        "uprobe.session",
        P,
        T::KPROBE,
        Some(A::TRACE_UPROBE_SESSION),
        N,
        F::Uprobe { ret: false },
    ),
    d(
        "uprobe.multi.s",
        P,
        T::KPROBE,
        Some(A::TRACE_UPROBE_MULTI),
        S,
        F::Uprobe { ret: false },
    ),
    d(
        "uretprobe.multi.s",
        P,
        T::KPROBE,
        Some(A::TRACE_UPROBE_MULTI),
        S,
        F::Uprobe { ret: true },
    ),
    d(
        "uprobe.session.s",
        P,
        T::KPROBE,
        Some(A::TRACE_UPROBE_SESSION),
        S,
        F::Uprobe { ret: false },
    ),
    d("ksyscall", P, T::KPROBE, None, N, F::Other),
    d("kretsyscall", P, T::KPROBE, None, N, F::Other),
    d("usdt", P, T::KPROBE, None, N, F::Other),
    d("usdt.s", P, T::KPROBE, None, S, F::Other),
    d(
        "tc/ingress",
        E,
        T::SCHED_CLS,
        Some(A::TCX_INGRESS),
        N,
        F::Tc,
    ),
    d("tc/egress", E, T::SCHED_CLS, Some(A::TCX_EGRESS), N, F::Tc),
    d(
        "tcx/ingress",
        E,
        T::SCHED_CLS,
        Some(A::TCX_INGRESS),
        N,
        F::Tc,
    ),
    d("tcx/egress", E, T::SCHED_CLS, Some(A::TCX_EGRESS), N, F::Tc),
    d("tc", E, T::SCHED_CLS, None, N, F::Tc),
    d("classifier", E, T::SCHED_CLS, None, N, F::Tc),
    d("action", E, T::SCHED_ACT, None, N, F::Tc),
    d(
        "netkit/primary",
        E,
        T::SCHED_CLS,
        Some(A::NETKIT_PRIMARY),
        N,
        F::Tc,
    ),
    d(
        "netkit/peer",
        E,
        T::SCHED_CLS,
        Some(A::NETKIT_PEER),
        N,
        F::Tc,
    ),
    d("tracepoint", P, T::TRACEPOINT, None, N, F::Tracepoint),
    d("tp", P, T::TRACEPOINT, None, N, F::Tracepoint),
    d("tracepoint.s", P, T::TRACEPOINT, None, S, F::Tracepoint),
    d("tp.s", P, T::TRACEPOINT, None, S, F::Tracepoint),
    d("raw_tracepoint", P, T::RAW_TRACEPOINT, None, N, F::RawTp),
    d("raw_tp", P, T::RAW_TRACEPOINT, None, N, F::RawTp),
    d("raw_tracepoint.s", P, T::RAW_TRACEPOINT, None, S, F::RawTp),
    d("raw_tp.s", P, T::RAW_TRACEPOINT, None, S, F::RawTp),
    d(
        "raw_tracepoint.w",
        P,
        T::RAW_TRACEPOINT_WRITABLE,
        None,
        N,
        F::RawTp,
    ),
    d("raw_tp.w", P, T::RAW_TRACEPOINT_WRITABLE, None, N, F::RawTp),
    d("tp_btf", P, T::TRACING, Some(A::TRACE_RAW_TP), N, F::TpBtf),
    d(
        "tp_btf.s",
        P,
        T::TRACING,
        Some(A::TRACE_RAW_TP),
        S,
        F::TpBtf,
    ),
    d("fentry", P, T::TRACING, Some(A::TRACE_FENTRY), N, F::Fentry),
    d(
        "fmod_ret",
        P,
        T::TRACING,
        Some(A::MODIFY_RETURN),
        N,
        F::Other,
    ),
    d("fexit", P, T::TRACING, Some(A::TRACE_FEXIT), N, F::Fexit),
    d(
        "fentry.s",
        P,
        T::TRACING,
        Some(A::TRACE_FENTRY),
        S,
        F::Fentry,
    ),
    d(
        "fmod_ret.s",
        P,
        T::TRACING,
        Some(A::MODIFY_RETURN),
        S,
        F::Other,
    ),
    d("fexit.s", P, T::TRACING, Some(A::TRACE_FEXIT), S, F::Fexit),
    d(
        "fsession",
        P,
        T::TRACING,
        Some(A::TRACE_FSESSION),
        N,
        F::Other,
    ),
    d(
        "fsession.s",
        P,
        T::TRACING,
        Some(A::TRACE_FSESSION),
        S,
        F::Other,
    ),
    d(
        "fsession.multi",
        P,
        T::TRACING,
        Some(A::TRACE_FSESSION_MULTI),
        N,
        F::Other,
    ),
    d(
        "fsession.multi.s",
        P,
        T::TRACING,
        Some(A::TRACE_FSESSION_MULTI),
        S,
        F::Other,
    ),
    d(
        "fentry.multi",
        P,
        T::TRACING,
        Some(A::TRACE_FENTRY_MULTI),
        N,
        F::Other,
    ),
    d(
        "fexit.multi",
        P,
        T::TRACING,
        Some(A::TRACE_FEXIT_MULTI),
        N,
        F::Other,
    ),
    d(
        "fentry.multi.s",
        P,
        T::TRACING,
        Some(A::TRACE_FENTRY_MULTI),
        S,
        F::Other,
    ),
    d(
        "fexit.multi.s",
        P,
        T::TRACING,
        Some(A::TRACE_FEXIT_MULTI),
        S,
        F::Other,
    ),
    d("freplace", P, T::EXT, None, N, F::Other),
    d("lsm", P, T::LSM, Some(A::LSM_MAC), N, F::Lsm),
    d("lsm.s", P, T::LSM, Some(A::LSM_MAC), S, F::Lsm),
    d("lsm_cgroup", P, T::LSM, Some(A::LSM_CGROUP), N, F::Lsm),
    d("iter", P, T::TRACING, Some(A::TRACE_ITER), N, F::Other),
    d("iter.s", P, T::TRACING, Some(A::TRACE_ITER), S, F::Other),
    d("syscall", E, T::SYSCALL, None, S, F::Syscall),
    d(
        "xdp.frags/devmap",
        E,
        T::XDP,
        Some(A::XDP_DEVMAP),
        N,
        F::Xdp,
    ),
    d("xdp/devmap", E, T::XDP, Some(A::XDP_DEVMAP), N, F::Xdp),
    d(
        "xdp.frags/cpumap",
        E,
        T::XDP,
        Some(A::XDP_CPUMAP),
        N,
        F::Xdp,
    ),
    d("xdp/cpumap", E, T::XDP, Some(A::XDP_CPUMAP), N, F::Xdp),
    d("xdp.frags", E, T::XDP, Some(A::XDP), N, F::Xdp),
    d("xdp", E, T::XDP, Some(A::XDP), N, F::Xdp),
    d("perf_event", E, T::PERF_EVENT, None, N, F::Other),
    d("lwt_in", E, T::LWT_IN, None, N, F::Other),
    d("lwt_out", E, T::LWT_OUT, None, N, F::Other),
    d("lwt_xmit", E, T::LWT_XMIT, None, N, F::Other),
    d("lwt_seg6local", E, T::LWT_SEG6LOCAL, None, N, F::Other),
    d(
        "sockops",
        E,
        T::SOCK_OPS,
        Some(A::CGROUP_SOCK_OPS),
        N,
        F::Cgroup,
    ),
    d(
        "sk_skb/stream_parser",
        E,
        T::SK_SKB,
        Some(A::SK_SKB_STREAM_PARSER),
        N,
        F::Other,
    ),
    d(
        "sk_skb/stream_verdict",
        E,
        T::SK_SKB,
        Some(A::SK_SKB_STREAM_VERDICT),
        N,
        F::Other,
    ),
    d(
        "sk_skb/verdict",
        E,
        T::SK_SKB,
        Some(A::SK_SKB_VERDICT),
        N,
        F::Other,
    ),
    d("sk_skb", E, T::SK_SKB, None, N, F::Other),
    d("sk_msg", E, T::SK_MSG, Some(A::SK_MSG_VERDICT), N, F::Other),
    d(
        "lirc_mode2",
        E,
        T::LIRC_MODE2,
        Some(A::LIRC_MODE2),
        N,
        F::Other,
    ),
    d(
        "flow_dissector",
        E,
        T::FLOW_DISSECTOR,
        Some(A::FLOW_DISSECTOR),
        N,
        F::Other,
    ),
    d(
        "cgroup_skb/ingress",
        E,
        T::CGROUP_SKB,
        Some(A::CGROUP_INET_INGRESS),
        N,
        F::CgroupSkb { ingress: true },
    ),
    d(
        "cgroup_skb/egress",
        E,
        T::CGROUP_SKB,
        Some(A::CGROUP_INET_EGRESS),
        N,
        F::CgroupSkb { ingress: false },
    ),
    d("cgroup/skb", E, T::CGROUP_SKB, None, N, F::Other),
    d(
        "cgroup/sock_create",
        E,
        T::CGROUP_SOCK,
        Some(A::CGROUP_INET_SOCK_CREATE),
        N,
        F::Cgroup,
    ),
    d(
        "cgroup/sock_release",
        E,
        T::CGROUP_SOCK,
        Some(A::CGROUP_INET_SOCK_RELEASE),
        N,
        F::Cgroup,
    ),
    d(
        "cgroup/sock",
        E,
        T::CGROUP_SOCK,
        Some(A::CGROUP_INET_SOCK_CREATE),
        N,
        F::Cgroup,
    ),
    d(
        "cgroup/post_bind4",
        E,
        T::CGROUP_SOCK,
        Some(A::CGROUP_INET4_POST_BIND),
        N,
        F::Cgroup,
    ),
    d(
        "cgroup/post_bind6",
        E,
        T::CGROUP_SOCK,
        Some(A::CGROUP_INET6_POST_BIND),
        N,
        F::Cgroup,
    ),
    d(
        "cgroup/bind4",
        E,
        T::CGROUP_SOCK_ADDR,
        Some(A::CGROUP_INET4_BIND),
        N,
        F::Cgroup,
    ),
    d(
        "cgroup/bind6",
        E,
        T::CGROUP_SOCK_ADDR,
        Some(A::CGROUP_INET6_BIND),
        N,
        F::Cgroup,
    ),
    d(
        "cgroup/connect4",
        E,
        T::CGROUP_SOCK_ADDR,
        Some(A::CGROUP_INET4_CONNECT),
        N,
        F::Cgroup,
    ),
    d(
        "cgroup/connect6",
        E,
        T::CGROUP_SOCK_ADDR,
        Some(A::CGROUP_INET6_CONNECT),
        N,
        F::Cgroup,
    ),
    d(
        "cgroup/connect_unix",
        E,
        T::CGROUP_SOCK_ADDR,
        Some(A::CGROUP_UNIX_CONNECT),
        N,
        F::Cgroup,
    ),
    d(
        "cgroup/sendmsg4",
        E,
        T::CGROUP_SOCK_ADDR,
        Some(A::CGROUP_UDP4_SENDMSG),
        N,
        F::Cgroup,
    ),
    d(
        "cgroup/sendmsg6",
        E,
        T::CGROUP_SOCK_ADDR,
        Some(A::CGROUP_UDP6_SENDMSG),
        N,
        F::Cgroup,
    ),
    d(
        "cgroup/sendmsg_unix",
        E,
        T::CGROUP_SOCK_ADDR,
        Some(A::CGROUP_UNIX_SENDMSG),
        N,
        F::Cgroup,
    ),
    d(
        "cgroup/recvmsg4",
        E,
        T::CGROUP_SOCK_ADDR,
        Some(A::CGROUP_UDP4_RECVMSG),
        N,
        F::Cgroup,
    ),
    d(
        "cgroup/recvmsg6",
        E,
        T::CGROUP_SOCK_ADDR,
        Some(A::CGROUP_UDP6_RECVMSG),
        N,
        F::Cgroup,
    ),
    d(
        "cgroup/recvmsg_unix",
        E,
        T::CGROUP_SOCK_ADDR,
        Some(A::CGROUP_UNIX_RECVMSG),
        N,
        F::Cgroup,
    ),
    d(
        "cgroup/getpeername4",
        E,
        T::CGROUP_SOCK_ADDR,
        Some(A::CGROUP_INET4_GETPEERNAME),
        N,
        F::Cgroup,
    ),
    d(
        "cgroup/getpeername6",
        E,
        T::CGROUP_SOCK_ADDR,
        Some(A::CGROUP_INET6_GETPEERNAME),
        N,
        F::Cgroup,
    ),
    d(
        "cgroup/getpeername_unix",
        E,
        T::CGROUP_SOCK_ADDR,
        Some(A::CGROUP_UNIX_GETPEERNAME),
        N,
        F::Cgroup,
    ),
    d(
        "cgroup/getsockname4",
        E,
        T::CGROUP_SOCK_ADDR,
        Some(A::CGROUP_INET4_GETSOCKNAME),
        N,
        F::Cgroup,
    ),
    d(
        "cgroup/getsockname6",
        E,
        T::CGROUP_SOCK_ADDR,
        Some(A::CGROUP_INET6_GETSOCKNAME),
        N,
        F::Cgroup,
    ),
    d(
        "cgroup/getsockname_unix",
        E,
        T::CGROUP_SOCK_ADDR,
        Some(A::CGROUP_UNIX_GETSOCKNAME),
        N,
        F::Cgroup,
    ),
    d(
        "cgroup/sysctl",
        E,
        T::CGROUP_SYSCTL,
        Some(A::CGROUP_SYSCTL),
        N,
        F::Cgroup,
    ),
    d(
        "cgroup/getsockopt",
        E,
        T::CGROUP_SOCKOPT,
        Some(A::CGROUP_GETSOCKOPT),
        N,
        F::Cgroup,
    ),
    d(
        "cgroup/setsockopt",
        E,
        T::CGROUP_SOCKOPT,
        Some(A::CGROUP_SETSOCKOPT),
        N,
        F::Cgroup,
    ),
    d(
        "cgroup/dev",
        E,
        T::CGROUP_DEVICE,
        Some(A::CGROUP_DEVICE),
        N,
        F::Cgroup,
    ),
    d("struct_ops", P, T::STRUCT_OPS, None, N, F::Other),
    d("struct_ops.s", P, T::STRUCT_OPS, None, S, F::Other),
    d(
        "sk_lookup",
        E,
        T::SK_LOOKUP,
        Some(A::SK_LOOKUP),
        N,
        F::Other,
    ),
    d(
        "netfilter",
        E,
        T::NETFILTER,
        Some(A::NETFILTER),
        N,
        F::Other,
    ),
];

/// Splits `name` against a pattern: `Some(None)` for an exact match, `Some(Some(extras))`
/// for `pattern/extras`, `None` when it does not match.
fn matches<'a>(def: &Def, name: &'a str) -> Option<Option<&'a str>> {
    match def.m {
        Match::Exact => (name == def.pat).then_some(None),
        Match::Plus => {
            let rest = name.strip_prefix(def.pat)?;
            if rest.is_empty() {
                Some(None)
            } else {
                rest.strip_prefix('/').map(Some)
            }
        }
    }
}

fn bad(section: &str, reason: impl Into<String>) -> Error {
    Error::BadSectionName {
        section: section.to_string(),
        reason: reason.into(),
    }
}

/// Parses a `kprobe` target: `func`, `func+offset` (decimal, or hex with `0x`).
fn parse_kprobe(section: &str, extras: &str, ret: bool) -> Result<AttachPoint> {
    let (func, offset) = match extras.split_once('+') {
        None => (extras, 0),
        Some((f, off)) => {
            let parsed = match off.strip_prefix("0x").or_else(|| off.strip_prefix("0X")) {
                Some(hex) => u64::from_str_radix(hex, 16),
                None => off.parse::<u64>(),
            };
            let offset = parsed
                .map_err(|_| bad(section, format!("kprobe offset {off:?} is not a number")))?;
            (f, offset)
        }
    };
    if func.is_empty() {
        return Err(bad(section, "kprobe target function is empty"));
    }
    if ret && offset != 0 {
        return Err(bad(section, "kretprobe cannot take an offset"));
    }
    Ok(AttachPoint::Kprobe {
        func: func.to_string(),
        offset,
        retprobe: ret,
    })
}

fn nonempty(section: &str, what: &str, s: &str) -> Result<String> {
    if s.is_empty() {
        Err(bad(section, format!("{what} is empty")))
    } else {
        Ok(s.to_string())
    }
}

fn attach_point(section: &str, def: &Def, extras: Option<&str>) -> Result<AttachPoint> {
    let Some(x) = extras else {
        return Ok(match def.family {
            F::Socket => AttachPoint::SocketFilter,
            F::Syscall => AttachPoint::Syscall,
            F::Xdp => AttachPoint::Xdp,
            F::Tc => AttachPoint::Tc,
            F::CgroupSkb { ingress } => AttachPoint::CgroupSkb { ingress },
            F::Cgroup => match def.attach {
                Some(attach) => AttachPoint::Cgroup { attach },
                None => AttachPoint::Other,
            },
            F::Uprobe { ret } => AttachPoint::Uprobe {
                binary: None,
                func: None,
                retprobe: ret,
            },
            F::Other => AttachPoint::Other,
            _ => AttachPoint::None,
        });
    };
    Ok(match def.family {
        F::Kprobe { ret } => parse_kprobe(section, x, ret)?,
        F::Uprobe { ret } => {
            let (binary, func) = match x.split_once(':') {
                Some((b, f)) => (b, Some(f)),
                None => (x, None),
            };
            AttachPoint::Uprobe {
                binary: Some(nonempty(section, "uprobe binary path", binary)?),
                func: func.filter(|f| !f.is_empty()).map(str::to_string),
                retprobe: ret,
            }
        }
        F::Tracepoint => match x.split_once('/') {
            Some((cat, name)) => AttachPoint::Tracepoint {
                category: nonempty(section, "tracepoint category", cat)?,
                name: nonempty(section, "tracepoint name", name)?,
            },
            // `tp/xyz` names no tracepoint: the program still loads (libbpf too only
            // refuses it when attaching), it just cannot be attached by its section.
            None => AttachPoint::Other,
        },
        F::RawTp => AttachPoint::RawTracepoint {
            name: nonempty(section, "raw tracepoint name", x)?,
        },
        F::TpBtf => AttachPoint::TpBtf {
            name: nonempty(section, "tp_btf name", x)?,
        },
        F::Fentry => AttachPoint::Fentry {
            func: nonempty(section, "fentry target", x)?,
        },
        F::Fexit => AttachPoint::Fexit {
            func: nonempty(section, "fexit target", x)?,
        },
        F::Lsm => AttachPoint::Lsm {
            hook: nonempty(section, "LSM hook", x)?,
        },
        // Exact-match families never get extras; the rest keep their target as text.
        _ => AttachPoint::Other,
    })
}

/// The `BPF_F_*` flags of `BPF_PROG_LOAD`'s `prog_flags` (include/uapi/linux/bpf.h).
pub mod load_flags {
    /// `BPF_F_STRICT_ALIGNMENT`: the verifier checks alignment even where the CPU does not
    /// need it (packet accesses on x86 included).
    pub const STRICT_ALIGNMENT: u32 = 1 << 0;
    /// `BPF_F_ANY_ALIGNMENT`: accept unaligned accesses even on strict-alignment CPUs.
    pub const ANY_ALIGNMENT: u32 = 1 << 1;
    /// `BPF_F_TEST_RND_HI32`: the verifier randomises the upper 32 bits of 32-bit results.
    pub const TEST_RND_HI32: u32 = 1 << 2;
    /// `BPF_F_TEST_STATE_FREQ`: the verifier checkpoints states at every instruction.
    pub const TEST_STATE_FREQ: u32 = 1 << 3;
    /// `BPF_F_SLEEPABLE`: the program may sleep (`.s` sections, `syscall`).
    pub const SLEEPABLE: u32 = 1 << 4;
    /// `BPF_F_XDP_HAS_FRAGS`: the XDP program handles multi-buffer frames (`xdp.frags`).
    pub const XDP_HAS_FRAGS: u32 = 1 << 5;
    /// `BPF_F_XDP_DEV_BOUND_ONLY`: the XDP program is bound to one device.
    pub const XDP_DEV_BOUND_ONLY: u32 = 1 << 6;
    /// `BPF_F_TEST_REG_INVARIANTS`: the verifier checks its register bounds invariants.
    pub const TEST_REG_INVARIANTS: u32 = 1 << 7;

    /// The flags by their command-line name.
    pub const NAMES: &[(&str, u32)] = &[
        ("strict-alignment", STRICT_ALIGNMENT),
        ("any-alignment", ANY_ALIGNMENT),
        ("test-rnd-hi32", TEST_RND_HI32),
        ("test-state-freq", TEST_STATE_FREQ),
        ("sleepable", SLEEPABLE),
        ("xdp-has-frags", XDP_HAS_FRAGS),
        ("xdp-dev-bound-only", XDP_DEV_BOUND_ONLY),
        ("test-reg-invariants", TEST_REG_INVARIANTS),
    ];

    /// Parses a comma-separated list of flag names (see [`NAMES`]; `_` may stand for `-`,
    /// a `BPF_F_` prefix and upper case are accepted) or a number (decimal or `0x` hex).
    pub fn parse(text: &str) -> Result<u32, String> {
        let mut flags = 0;
        for item in text.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            let value = if let Some(hex) = item.strip_prefix("0x") {
                u32::from_str_radix(hex, 16).ok()
            } else if item.bytes().all(|b| b.is_ascii_digit()) {
                item.parse().ok()
            } else {
                let lower = item.to_ascii_lowercase().replace('_', "-");
                let name = lower.strip_prefix("bpf-f-").unwrap_or(&lower);
                NAMES.iter().find(|(n, _)| *n == name).map(|&(_, v)| v)
            };
            flags |= value.ok_or_else(|| {
                let known: Vec<&str> = NAMES.iter().map(|(n, _)| *n).collect();
                format!(
                    "program load flag {item:?}: not a number nor one of {}",
                    known.join(", ")
                )
            })?;
        }
        Ok(flags)
    }
}

impl SectionDef {
    /// The `BPF_F_*` load flags the section implies, as libbpf sets them:
    /// [`load_flags::SLEEPABLE`] for sleepable sections and [`load_flags::XDP_HAS_FRAGS`]
    /// for `xdp.frags`, `xdp.frags/devmap` and `xdp.frags/cpumap` (`section`: the `SEC()`
    /// text this definition was derived from).
    pub fn load_flags(&self, section: &str) -> u32 {
        let name = section.strip_prefix('?').unwrap_or(section);
        let frags = self.prog_type == ProgramType::XDP
            && (name == "xdp.frags" || name.starts_with("xdp.frags/"));
        let mut flags = 0;
        if self.sleepable {
            flags |= load_flags::SLEEPABLE;
        }
        if frags {
            flags |= load_flags::XDP_HAS_FRAGS;
        }
        flags
    }
}

impl SectionDef {
    /// The definition of a program in a section no convention names (`SEC("abc")`):
    /// `BPF_PROG_TYPE_UNSPEC`, no attach point; autoload off for `?` sections. Set its
    /// `prog_type` (and `expected_attach_type`) before loading it.
    pub fn unknown(section: &str) -> SectionDef {
        SectionDef {
            prog_type: ProgramType::UNSPEC,
            expected_attach_type: None,
            attach: AttachPoint::None,
            sleepable: false,
            autoload: !section.starts_with('?'),
        }
    }

    /// Derives the definition from an ELF section name (`SEC()` text), libbpf-style.
    ///
    /// Unknown names are an error naming the section: this function does not guess a
    /// program type. (Object parsing keeps such programs with [`SectionDef::unknown`], as
    /// libbpf opens them; the loader refuses to load one until its type is set.)
    pub fn from_section_name(section: &str) -> Result<SectionDef> {
        let (name, autoload) = match section.strip_prefix('?') {
            Some(rest) => (rest, false),
            None => (section, true),
        };
        for def in DEFS {
            if let Some(extras) = matches(def, name) {
                return Ok(SectionDef {
                    prog_type: def.prog,
                    expected_attach_type: def.attach,
                    attach: attach_point(section, def, extras)?,
                    sleepable: def.sleepable,
                    autoload,
                });
            }
        }
        Err(Error::UnknownSection {
            section: section.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xdp_frags_sections_imply_the_frags_flag() {
        for s in [
            "xdp.frags",
            "xdp.frags/devmap",
            "xdp.frags/cpumap",
            "?xdp.frags",
        ] {
            assert_eq!(def(s).load_flags(s), load_flags::XDP_HAS_FRAGS, "{s}");
        }
        for s in ["xdp", "xdp/devmap", "socket"] {
            assert_eq!(def(s).load_flags(s), 0, "{s}");
        }
        assert_eq!(def("syscall").load_flags("syscall"), load_flags::SLEEPABLE);
        assert_eq!(
            def("lsm.s/file_open").load_flags("lsm.s/file_open"),
            load_flags::SLEEPABLE
        );
    }

    #[test]
    fn parses_load_flag_names_and_numbers() {
        assert_eq!(
            load_flags::parse("strict-alignment,BPF_F_TEST_RND_HI32"),
            Ok(load_flags::STRICT_ALIGNMENT | load_flags::TEST_RND_HI32)
        );
        assert_eq!(load_flags::parse("0x80, 2"), Ok(0x82));
        assert_eq!(load_flags::parse(""), Ok(0));
        let e = load_flags::parse("strict,any-alignment").unwrap_err();
        assert!(
            e.contains("\"strict\"") && e.contains("strict-alignment"),
            "{e}"
        );
    }

    fn def(s: &str) -> SectionDef {
        SectionDef::from_section_name(s).unwrap()
    }

    #[test]
    fn tracepoint_splits_category_and_name() {
        let d = def("tracepoint/syscalls/sys_enter_openat");
        assert_eq!(d.prog_type, ProgramType::TRACEPOINT);
        assert_eq!(
            d.attach,
            AttachPoint::Tracepoint {
                category: "syscalls".into(),
                name: "sys_enter_openat".into()
            }
        );
        assert_eq!(def("tp/sched/sched_switch").prog_type.0, 5);
        assert_eq!(def("tp").attach, AttachPoint::None);
    }

    #[test]
    fn tracepoint_without_category_loads_but_names_no_hook() {
        let d = def("tp/syscalls");
        assert_eq!(d.prog_type, ProgramType::TRACEPOINT);
        assert_eq!(d.attach, AttachPoint::Other);
        assert!(!def("?tracepoint/xyz").autoload);
        let e = SectionDef::from_section_name("tp/syscalls/").unwrap_err();
        assert!(e.to_string().contains("tp/syscalls/"), "{e}");
    }

    #[test]
    fn kprobe_parses_offset_and_retprobe() {
        assert_eq!(
            def("kprobe/do_sys_open+0x10").attach,
            AttachPoint::Kprobe {
                func: "do_sys_open".into(),
                offset: 16,
                retprobe: false
            }
        );
        assert_eq!(
            def("kretprobe/vfs_read").attach,
            AttachPoint::Kprobe {
                func: "vfs_read".into(),
                offset: 0,
                retprobe: true
            }
        );
        assert!(SectionDef::from_section_name("kprobe/f+zz").is_err());
        let m = def("kprobe.multi/vfs_*");
        assert_eq!(m.expected_attach_type, Some(AttachType::TRACE_KPROBE_MULTI));
        assert_eq!(m.prog_type, ProgramType::KPROBE);
    }

    #[test]
    fn uprobe_splits_binary_and_function() {
        assert_eq!(
            def("uretprobe//usr/lib/libc.so.6:malloc").attach,
            AttachPoint::Uprobe {
                binary: Some("/usr/lib/libc.so.6".into()),
                func: Some("malloc".into()),
                retprobe: true
            }
        );
        let s = def("uprobe.s//bin/bash:readline");
        assert!(s.sleepable);
        let m = def("uprobe.multi//bin/bash:read*");
        assert_eq!(m.expected_attach_type, Some(AttachType::TRACE_UPROBE_MULTI));
        assert_eq!(def("usdt").prog_type, ProgramType::KPROBE);
    }

    #[test]
    fn question_mark_disables_autoload() {
        let d = def("?xdp");
        assert!(!d.autoload);
        assert_eq!(d.prog_type, ProgramType::XDP);
        assert!(def("xdp").autoload);
    }

    #[test]
    fn xdp_variants_pick_attach_types() {
        assert_eq!(def("xdp").expected_attach_type, Some(AttachType::XDP));
        assert_eq!(def("xdp.frags").expected_attach_type, Some(AttachType::XDP));
        assert_eq!(
            def("xdp/devmap").expected_attach_type,
            Some(AttachType::XDP_DEVMAP)
        );
        assert_eq!(
            def("xdp/cpumap").expected_attach_type,
            Some(AttachType::XDP_CPUMAP)
        );
        assert!(SectionDef::from_section_name("xdp/foo").is_err());
    }

    #[test]
    fn tc_and_cgroup_sections() {
        assert_eq!(def("tc").prog_type, ProgramType::SCHED_CLS);
        assert_eq!(def("classifier").attach, AttachPoint::Tc);
        assert_eq!(def("action").prog_type, ProgramType::SCHED_ACT);
        assert_eq!(
            def("tcx/ingress").expected_attach_type,
            Some(AttachType::TCX_INGRESS)
        );
        assert_eq!(def("tcx/egress").expected_attach_type.unwrap().0, 47);
        assert_eq!(
            def("cgroup_skb/ingress").attach,
            AttachPoint::CgroupSkb { ingress: true }
        );
        assert_eq!(
            def("cgroup_skb/ingress").expected_attach_type,
            Some(AttachType::CGROUP_INET_INGRESS)
        );
        assert_eq!(
            def("cgroup/connect4").attach,
            AttachPoint::Cgroup {
                attach: AttachType::CGROUP_INET4_CONNECT
            }
        );
        assert_eq!(def("cgroup/sock").prog_type, ProgramType::CGROUP_SOCK);
        assert_eq!(def("cgroup/skb").prog_type, ProgramType::CGROUP_SKB);
        assert_eq!(def("sockops").prog_type, ProgramType::SOCK_OPS);
    }

    #[test]
    fn tracing_sections() {
        let f = def("fentry/vfs_read");
        assert_eq!(f.prog_type, ProgramType::TRACING);
        assert_eq!(f.expected_attach_type, Some(AttachType::TRACE_FENTRY));
        assert_eq!(
            f.attach,
            AttachPoint::Fentry {
                func: "vfs_read".into()
            }
        );
        assert!(def("fexit.s/vfs_read").sleepable);
        assert_eq!(
            def("fmod_ret/x").expected_attach_type,
            Some(AttachType::MODIFY_RETURN)
        );
        assert_eq!(
            def("lsm.s/file_open").attach,
            AttachPoint::Lsm {
                hook: "file_open".into()
            }
        );
        assert_eq!(
            def("iter/task").expected_attach_type,
            Some(AttachType::TRACE_ITER)
        );
        assert_eq!(
            def("tp_btf/sched_switch").attach,
            AttachPoint::TpBtf {
                name: "sched_switch".into()
            }
        );
        assert_eq!(
            def("raw_tp/sys_enter").attach,
            AttachPoint::RawTracepoint {
                name: "sys_enter".into()
            }
        );
        assert_eq!(
            def("raw_tp.w/x").prog_type,
            ProgramType::RAW_TRACEPOINT_WRITABLE
        );
    }

    #[test]
    fn misc_sections() {
        assert_eq!(def("socket").attach, AttachPoint::SocketFilter);
        let s = def("syscall");
        assert!(s.sleepable);
        assert_eq!(s.attach, AttachPoint::Syscall);
        assert_eq!(def("sk_skb/stream_parser").prog_type, ProgramType::SK_SKB);
        assert_eq!(def("sk_msg").prog_type, ProgramType::SK_MSG);
        assert_eq!(def("sk_lookup").prog_type, ProgramType::SK_LOOKUP);
        assert_eq!(def("flow_dissector").prog_type, ProgramType::FLOW_DISSECTOR);
        assert_eq!(def("perf_event").prog_type, ProgramType::PERF_EVENT);
        assert_eq!(
            def("struct_ops/ssthresh").prog_type,
            ProgramType::STRUCT_OPS
        );
        assert!(def("struct_ops.s/x").sleepable);
        assert_eq!(def("netfilter").prog_type.0, 32);
    }

    #[test]
    fn rejects_unknown_section_by_name() {
        let e = SectionDef::from_section_name("frobnicate/x").unwrap_err();
        assert_eq!(e.to_string(), "unknown program section \"frobnicate/x\"");
        // A prefix without the separator is not a match ("kprobefoo" is not kprobe/foo).
        assert!(SectionDef::from_section_name("kprobefoo").is_err());
        assert!(SectionDef::from_section_name("socketx").is_err());
    }
}

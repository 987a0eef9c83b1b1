//! Network-namespace hooks: sk_lookup (`SEC("sk_lookup")`, `BPF_SK_LOOKUP`) and the flow
//! dissector (`SEC("flow_dissector")`, `BPF_FLOW_DISSECTOR`), as `bpf_link`s on a
//! namespace fd (5.8+). Before 5.8 the flow dissector attaches with `BPF_PROG_ATTACH` to
//! the *calling thread's* namespace (4.20+); [`attach_flow_dissector`] falls back to that
//! only when `netns` is the caller's own namespace.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;

use oxbpf_sys::{Errno, bpf};

use crate::net::{self, NetHold};
use crate::{Error, Link, Result};

/// `BPF_SK_LOOKUP`.
pub const ATTACH_TYPE_SK_LOOKUP: u32 = 36;
/// `BPF_FLOW_DISSECTOR`.
pub const ATTACH_TYPE_FLOW_DISSECTOR: u32 = 17;

/// Opens a network namespace file (`/proc/self/ns/net`, `/run/netns/<name>`).
pub fn open(path: &Path) -> Result<OwnedFd> {
    std::fs::File::open(path)
        .map(OwnedFd::from)
        .map_err(|e| Error::NoAttachPoint {
            what: format!("network namespace {}", path.display()),
            detail: format!("cannot open it: {e}"),
        })
}

/// The caller's own network namespace (`/proc/self/ns/net`).
pub fn current() -> Result<OwnedFd> {
    open(Path::new("/proc/self/ns/net"))
}

/// Attaches `prog` (an SK_LOOKUP program) to the network namespace `netns`.
pub fn attach_sk_lookup(prog: BorrowedFd<'_>, netns: &impl AsFd) -> Result<Link> {
    attach(prog, netns, ATTACH_TYPE_SK_LOOKUP, "sk_lookup")
}

/// Attaches `prog` (a FLOW_DISSECTOR program) to the network namespace `netns`: it then
/// dissects every packet whose flow keys the kernel computes there (RPS, hashing, tc
/// flower), instead of the built-in C dissector. One per namespace, and none in any other
/// namespace while the initial namespace has one.
pub fn attach_flow_dissector(prog: BorrowedFd<'_>, netns: &impl AsFd) -> Result<Link> {
    let ns = netns.as_fd();
    let what = format!("flow_dissector on network namespace fd {}", net::raw(ns));
    match attach(prog, &ns, ATTACH_TYPE_FLOW_DISSECTOR, "flow_dissector") {
        Err(Error::Rejected { source, .. } | Error::Kernel { source, .. })
            if net::link_unsupported(&source) && is_current(ns) =>
        {
            crate::fallback::note(
                "flow_dissector",
                &what,
                "BPF_PROG_ATTACH on the caller's network namespace",
                &format!("netns links need Linux 5.8 (BPF_LINK_CREATE: {source})"),
            );
            bpf::prog_attach(&bpf::ProgAttachAttr {
                attach_bpf_fd: net::raw(prog),
                attach_type: ATTACH_TYPE_FLOW_DISSECTOR,
                ..Default::default()
            })
            .map_err(|e| net::error(&what, e, flow_hint))?;
            let target = ns.try_clone_to_owned().map_err(|e| Error::Kernel {
                what: what.clone(),
                source: oxbpf_sys::Error::Io {
                    what: "dup of the namespace fd".into(),
                    source: e,
                },
            })?;
            let prog = net::dup_prog(prog, &what)?;
            Ok(Link::net(
                NetHold::ProgAttach {
                    target,
                    prog,
                    attach_type: ATTACH_TYPE_FLOW_DISSECTOR,
                },
                what,
            ))
        }
        other => other,
    }
}

fn flow_hint(e: Errno) -> Option<String> {
    match e {
        Errno::EEXIST => Some(
            "a flow dissector is attached to this namespace already, or to the initial \
             namespace (which then excludes all others)"
                .to_owned(),
        ),
        _ => None,
    }
}

/// True if the namespace file `ns` is the calling thread's network namespace.
fn is_current(ns: BorrowedFd<'_>) -> bool {
    use std::os::unix::fs::MetadataExt;
    let theirs = std::fs::File::from(match ns.try_clone_to_owned() {
        Ok(fd) => fd,
        Err(_) => return false,
    })
    .metadata();
    let ours = std::fs::metadata("/proc/thread-self/ns/net");
    matches!((theirs, ours), (Ok(a), Ok(b)) if a.ino() == b.ino() && a.dev() == b.dev())
}

/// Attaches `prog` to namespace `netns` with `attach_type` (`ATTACH_TYPE_*`); `hook` names
/// it in errors.
pub fn attach(
    prog: BorrowedFd<'_>,
    netns: &impl AsFd,
    attach_type: u32,
    hook: &str,
) -> Result<Link> {
    let ns = netns.as_fd();
    let what = format!("{hook} on network namespace fd {}", net::raw(ns));
    match bpf::link_create(prog, net::raw(ns), attach_type, 0, 0) {
        Ok(link) => Ok(Link::net(NetHold::BpfLink(link), what)),
        Err(e) => Err(net::error(&what, e, |e| match e {
            Errno::EINVAL => Some(format!(
                "the fd must be a network namespace and the program of type {hook} \
                 (netns links need Linux 5.8)"
            )),
            Errno::EEXIST if attach_type == ATTACH_TYPE_FLOW_DISSECTOR => flow_hint(e),
            Errno::EEXIST => Some(format!("a {hook} program is already attached there")),
            _ => None,
        })),
    }
}

//! Network-namespace hooks: sk_lookup (`SEC("sk_lookup")`, `BPF_SK_LOOKUP`) and the flow
//! dissector (`BPF_FLOW_DISSECTOR`), as `bpf_link`s on a namespace fd (5.8+).

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
            Errno::EEXIST => Some(format!("a {hook} program is already attached there")),
            _ => None,
        })),
    }
}

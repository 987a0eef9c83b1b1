//! Netfilter programs (`SEC("netfilter")`): a `bpf_link` (BPF_LINK_CREATE with
//! `BPF_NETFILTER`, 6.4+) on a hook of the caller's network namespace.

use std::os::fd::BorrowedFd;

use oxbpf_sys::{Errno, bpf};

use crate::net::{self, NetHold};
use crate::{Link, Result};

/// `NFPROTO_IPV4`.
pub const NFPROTO_IPV4: u32 = 2;
/// `NFPROTO_IPV6`.
pub const NFPROTO_IPV6: u32 = 10;

/// A netfilter hook (`enum nf_inet_hooks`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NfHook {
    /// `NF_INET_PRE_ROUTING`.
    PreRouting = 0,
    /// `NF_INET_LOCAL_IN`.
    LocalIn = 1,
    /// `NF_INET_FORWARD`.
    Forward = 2,
    /// `NF_INET_LOCAL_OUT`.
    LocalOut = 3,
    /// `NF_INET_POST_ROUTING`.
    PostRouting = 4,
}

/// Where a netfilter program runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NetfilterHook {
    /// Protocol family (`NFPROTO_IPV4`, `NFPROTO_IPV6`).
    pub pf: u32,
    /// The hook.
    pub hook: NfHook,
    /// Priority among the hook's functions (lower runs first; not `i32::MIN`/`MAX`).
    pub priority: i32,
    /// Defragment IP packets first (`BPF_F_NETFILTER_IP_DEFRAG`, 6.6+).
    pub defrag: bool,
}

/// Attaches `prog` (a NETFILTER program) to `hook` in the caller's network namespace.
pub fn attach(prog: BorrowedFd<'_>, hook: &NetfilterHook) -> Result<Link> {
    let what = format!(
        "netfilter pf {} hook {:?} priority {}",
        hook.pf, hook.hook, hook.priority
    );
    let flags = if hook.defrag {
        bpf::attach_flags::NETFILTER_IP_DEFRAG
    } else {
        0
    };
    match bpf::link_create_netfilter(prog, hook.pf, hook.hook as u32, hook.priority, flags) {
        Ok(link) => Ok(Link::net(NetHold::BpfLink(link), what)),
        Err(e) => Err(net::error(&what, e, |e| match e {
            Errno::EINVAL => Some(
                "netfilter links need Linux 6.4; the priority must not be INT_MIN/INT_MAX, \
                 and defrag needs 6.6"
                    .to_owned(),
            ),
            Errno::EBUSY => Some(
                "another program holds this priority with defrag; pick another priority".to_owned(),
            ),
            _ => None,
        })),
    }
}

//! netkit devices (`SEC("netkit/primary")`, `SEC("netkit/peer")`, Linux 6.7+): a program
//! on the primary or the peer side of a netkit pair, as a `bpf_link` on the *primary*
//! device's ifindex (`BPF_NETKIT_PRIMARY`/`PEER`) with the same before/after ordering as
//! TCX. The primary program runs on packets the primary device transmits (towards the
//! peer), the peer program on packets the peer transmits. There is no older mechanism.

use std::os::fd::BorrowedFd;

use oxbpf_sys::{Errno, bpf};

use crate::net::{self, NetHold};
use crate::tc::TcOrder;
use crate::{Link, Result};

/// `BPF_NETKIT_PRIMARY`.
pub const ATTACH_TYPE_NETKIT_PRIMARY: u32 = 54;
/// `BPF_NETKIT_PEER`.
pub const ATTACH_TYPE_NETKIT_PEER: u32 = 55;

/// Which side of the pair a program runs for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetkitSide {
    /// Packets sent by the primary device.
    Primary,
    /// Packets sent by the peer device.
    Peer,
}

impl NetkitSide {
    /// The `BPF_NETKIT_*` attach type.
    pub fn attach_type(self) -> u32 {
        match self {
            NetkitSide::Primary => ATTACH_TYPE_NETKIT_PRIMARY,
            NetkitSide::Peer => ATTACH_TYPE_NETKIT_PEER,
        }
    }

    fn name(self) -> &'static str {
        match self {
            NetkitSide::Primary => "primary",
            NetkitSide::Peer => "peer",
        }
    }
}

/// Attaches `prog` (a SCHED_CLS program loaded for `BPF_NETKIT_*`) to `side` of the netkit
/// pair whose primary device is `ifindex`, positioned by `order`.
pub fn attach(
    prog: BorrowedFd<'_>,
    ifindex: u32,
    side: NetkitSide,
    order: TcOrder<'_>,
) -> Result<Link> {
    let ifname = net::iface(ifindex);
    let what = format!("netkit {} on {ifname}", side.name());
    let (flags, relative) = order.flags();
    match bpf::link_create_ordered(prog, ifindex, side.attach_type(), flags, relative, 0) {
        Ok(link) => Ok(Link::net(NetHold::BpfLink(link), what)),
        Err(e) => Err(net::error(&what, e, |e| match e {
            Errno::EINVAL => Some(
                "the device must be a netkit primary (not the peer, not another kind), the \
                 program loaded with the netkit attach type (SEC(\"netkit/primary\") or \
                 \"netkit/peer\"), and the kernel 6.7 or later"
                    .to_owned(),
            ),
            Errno::ENXIO | Errno::ENODEV => Some(format!("no netkit device {ifname}")),
            _ => None,
        })),
    }
}

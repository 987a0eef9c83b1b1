//! TC classifiers (`SEC("tc")`, `SEC("tcx/ingress")`, ...): a TCX `bpf_link`
//! (`BPF_TCX_INGRESS`/`EGRESS`, Linux 6.6+) with before/after ordering, falling back to a
//! `clsact` qdisc plus a direct-action `cls_bpf` filter through rtnetlink. Dropping the
//! link deletes the filter, and the clsact qdisc only if this attachment created it and no
//! other filter is left under it.

use std::os::fd::BorrowedFd;

use oxbpf_sys::netlink::{self, BpfFilter, tc};
use oxbpf_sys::{Errno, bpf};

use crate::net::{self, NetHold};
use crate::{Link, Result};

/// `BPF_TCX_INGRESS`.
pub const ATTACH_TYPE_TCX_INGRESS: u32 = 46;
/// `BPF_TCX_EGRESS`.
pub const ATTACH_TYPE_TCX_EGRESS: u32 = 47;

/// Which way the packets go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TcDirection {
    /// Received packets.
    Ingress,
    /// Sent packets.
    Egress,
}

impl TcDirection {
    fn tcx_attach_type(self) -> u32 {
        match self {
            TcDirection::Ingress => ATTACH_TYPE_TCX_INGRESS,
            TcDirection::Egress => ATTACH_TYPE_TCX_EGRESS,
        }
    }

    fn parent(self) -> u32 {
        match self {
            TcDirection::Ingress => tc::PARENT_INGRESS,
            TcDirection::Egress => tc::PARENT_EGRESS,
        }
    }

    fn name(self) -> &'static str {
        match self {
            TcDirection::Ingress => "ingress",
            TcDirection::Egress => "egress",
        }
    }
}

/// Which kernel mechanism to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TcAttach {
    /// TCX, or clsact + cls_bpf when the kernel has no TCX.
    #[default]
    Auto,
    /// Only a TCX link.
    Tcx,
    /// Only clsact + cls_bpf via rtnetlink.
    Netlink,
}

/// Where in the hook's program list a TCX program goes.
#[derive(Debug, Clone, Copy, Default)]
pub enum TcOrder<'a> {
    /// Appended (after every program attached now).
    #[default]
    Last,
    /// Before every program attached now.
    First,
    /// Right before this program.
    BeforeProgram(BorrowedFd<'a>),
    /// Right after this program.
    AfterProgram(BorrowedFd<'a>),
    /// Right before the program of this TCX link.
    BeforeLink(BorrowedFd<'a>),
    /// Right after the program of this TCX link.
    AfterLink(BorrowedFd<'a>),
}

impl TcOrder<'_> {
    /// `(flags, relative_fd)` of `BPF_LINK_CREATE`.
    pub(crate) fn flags(&self) -> (u32, u32) {
        use bpf::attach_flags::{AFTER, BEFORE, LINK};
        match *self {
            TcOrder::Last => (AFTER, 0),
            TcOrder::First => (BEFORE, 0),
            TcOrder::BeforeProgram(p) => (BEFORE, net::raw(p)),
            TcOrder::AfterProgram(p) => (AFTER, net::raw(p)),
            TcOrder::BeforeLink(l) => (BEFORE | LINK, net::raw(l)),
            TcOrder::AfterLink(l) => (AFTER | LINK, net::raw(l)),
        }
    }
}

/// Options of [`attach_with`].
#[derive(Debug, Clone, Copy, Default)]
pub struct TcOptions<'a> {
    /// Which mechanism.
    pub mechanism: TcAttach,
    /// TCX: position among the hook's programs (netlink filters order by `priority`).
    pub order: TcOrder<'a>,
    /// TCX: the revision of the program list this change expects (0: any).
    pub expected_revision: u64,
    /// Netlink: filter handle (0: the kernel picks one).
    pub handle: u32,
    /// Netlink: filter priority (0: the kernel picks one; lower runs first).
    pub priority: u16,
    /// Netlink: the filter's name in `tc filter show` (default: "oxbpf").
    pub name: Option<&'a str>,
}

/// Attaches `prog` (a SCHED_CLS program) to `ifindex` in `direction`: TCX appended last,
/// or a clsact filter when the kernel has no TCX.
pub fn attach(prog: BorrowedFd<'_>, ifindex: u32, direction: TcDirection) -> Result<Link> {
    attach_with(prog, ifindex, direction, &TcOptions::default())
}

fn hint(ifname: &str, direction: TcDirection) -> impl Fn(Errno) -> Option<String> + '_ {
    move |e| match e {
        Errno::EEXIST => Some(format!(
            "a filter with this handle and priority already exists on {ifname} {}; choose \
             another handle/priority",
            direction.name()
        )),
        Errno::ENOENT => {
            Some("the relative program or link is not attached to this hook".to_owned())
        }
        Errno::ESRCH => Some("the hook's revision changed (expected_revision)".to_owned()),
        _ => None,
    }
}

/// Attaches with explicit options.
pub fn attach_with(
    prog: BorrowedFd<'_>,
    ifindex: u32,
    direction: TcDirection,
    opts: &TcOptions<'_>,
) -> Result<Link> {
    let ifname = net::iface(ifindex);
    if opts.mechanism != TcAttach::Netlink {
        let what = format!("tcx {} on {ifname}", direction.name());
        let (flags, relative) = opts.order.flags();
        match bpf::link_create_ordered(
            prog,
            ifindex,
            direction.tcx_attach_type(),
            flags,
            relative,
            opts.expected_revision,
        ) {
            Ok(link) => return Ok(Link::net(NetHold::BpfLink(link), what)),
            Err(e) if opts.mechanism == TcAttach::Auto && net::link_unsupported(&e) => {
                crate::fallback::note(
                    "tc",
                    &what,
                    "clsact + cls_bpf via rtnetlink",
                    &format!("TCX needs Linux 6.6 (BPF_LINK_CREATE: {e})"),
                );
            }
            Err(e) => return Err(net::error(&what, e, hint(&ifname, direction))),
        }
    }
    let what = format!("tc clsact {} filter on {ifname}", direction.name());
    let err = |e| net::error(&what, e, hint(&ifname, direction));
    let created_qdisc = netlink::clsact_create(ifindex).map_err(err)?;
    let filter = BpfFilter {
        prog,
        name: opts.name.unwrap_or("oxbpf"),
        handle: opts.handle,
        priority: opts.priority,
        direct_action: true,
    };
    match netlink::tc_filter_add(ifindex, direction.parent(), &filter) {
        Ok((handle, priority)) => Ok(Link::net(
            NetHold::TcFilter {
                ifindex,
                parent: direction.parent(),
                handle,
                priority,
                created_qdisc,
            },
            format!("{what} (handle {handle:#x}, priority {priority})"),
        )),
        Err(e) => {
            if created_qdisc {
                let _ = netlink::clsact_delete(ifindex);
            }
            Err(err(e))
        }
    }
}

/// The (handle, priority) of a clsact filter attachment made by this module.
pub fn filter_handle(link: &Link) -> Option<(u32, u16)> {
    match link.net_hold() {
        Some(NetHold::TcFilter {
            handle, priority, ..
        }) => Some((*handle, *priority)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_maps_to_before_after_flags() {
        use bpf::attach_flags::{AFTER, BEFORE};
        assert_eq!(TcOrder::Last.flags(), (AFTER, 0));
        assert_eq!(TcOrder::First.flags(), (BEFORE, 0));
    }

    #[test]
    fn exists_hint_names_direction() {
        let h = hint("veth0", TcDirection::Egress)(Errno::EEXIST).unwrap();
        assert!(h.contains("veth0 egress"), "{h}");
    }
}

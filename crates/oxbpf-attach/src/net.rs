//! What a networking attachment holds in the kernel and how to undo it: shared by the
//! [`xdp`](crate::xdp), [`tc`](crate::tc), [`cgroup`](crate::cgroup), [`sock`](crate::sock),
//! [`netns`](crate::netns) and [`netfilter`](crate::netfilter) modules, wrapped in a
//! [`Link`](crate::Link).

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use oxbpf_sys::netlink;
use oxbpf_sys::{Errno, LinkFd, ProgFd, bpf};

use crate::{Error, LinkMechanism, Result};

/// One networking attachment.
#[derive(Debug)]
pub(crate) enum NetHold {
    /// A `bpf_link` (XDP, tcx, cgroup, netns, netfilter): closing it detaches.
    BpfLink(LinkFd),
    /// An XDP program set through `IFLA_XDP`; `prog` is a duplicate of the program's fd,
    /// used as `IFLA_XDP_EXPECTED_FD` so detaching never removes someone else's program.
    XdpNetlink {
        ifindex: u32,
        flags: u32,
        prog: ProgFd,
    },
    /// A `cls_bpf` filter under a clsact qdisc.
    TcFilter {
        ifindex: u32,
        parent: u32,
        handle: u32,
        priority: u16,
        created_qdisc: bool,
    },
    /// `BPF_PROG_ATTACH` on a cgroup (or other target fd we keep a duplicate of).
    ProgAttach {
        target: OwnedFd,
        prog: ProgFd,
        attach_type: u32,
    },
    /// `SO_ATTACH_BPF` on a socket (a duplicate of its fd).
    Socket { sock: OwnedFd },
    /// `SO_ATTACH_REUSEPORT_EBPF` on a socket's reuseport group (a duplicate of its fd).
    Reuseport { sock: OwnedFd },
}

impl NetHold {
    pub(crate) fn mechanism(&self) -> LinkMechanism {
        match self {
            NetHold::BpfLink(_) => LinkMechanism::BpfLink,
            NetHold::XdpNetlink { .. } | NetHold::TcFilter { .. } => LinkMechanism::Netlink,
            NetHold::ProgAttach { .. } => LinkMechanism::ProgAttach,
            NetHold::Socket { .. } | NetHold::Reuseport { .. } => LinkMechanism::SocketOption,
        }
    }

    pub(crate) fn link_fd(&self) -> Option<BorrowedFd<'_>> {
        match self {
            NetHold::BpfLink(l) => Some(l.as_fd()),
            _ => None,
        }
    }

    /// Undoes the attachment; `force`: a `bpf_link` is detached with `BPF_LINK_DETACH`
    /// before it is closed (see [`crate::Link`]).
    pub(crate) fn release(self, description: &str, force: bool) -> Result<()> {
        let detaching = |source| Error::Kernel {
            what: format!("detaching {description}"),
            source,
        };
        match self {
            NetHold::BpfLink(l) => {
                let r = if force {
                    crate::link::force_detach(l.as_fd(), description)
                } else {
                    Ok(())
                };
                drop(l);
                r
            }
            NetHold::XdpNetlink {
                ifindex,
                flags,
                prog,
            } => {
                let r = netlink::xdp_set(
                    ifindex,
                    None,
                    flags & netlink::xdp_flags::MODES,
                    Some(prog.as_fd()),
                );
                match r {
                    // Someone else replaced or removed it meanwhile: nothing of ours is left.
                    Err(e) if matches!(e.errno(), Some(Errno::EEXIST | Errno::ENOENT)) => Ok(()),
                    // The interface is gone, and the program with it.
                    Err(e) if e.errno() == Some(Errno::ENODEV) => Ok(()),
                    r => r.map_err(detaching),
                }
            }
            NetHold::TcFilter {
                ifindex,
                parent,
                handle,
                priority,
                created_qdisc,
            } => {
                let r = match netlink::tc_filter_del(ifindex, parent, handle, priority) {
                    Err(e)
                        if matches!(
                            e.errno(),
                            Some(Errno::ENOENT | Errno::ENODEV | Errno::EINVAL)
                        ) =>
                    {
                        Ok(())
                    }
                    r => r,
                };
                if created_qdisc && r.is_ok() && !other_filters(ifindex) {
                    match netlink::clsact_delete(ifindex) {
                        Err(e)
                            if matches!(
                                e.errno(),
                                Some(Errno::ENOENT | Errno::ENODEV | Errno::EINVAL)
                            ) => {}
                        Err(e) => return Err(detaching(e)),
                        Ok(()) => {}
                    }
                }
                r.map_err(detaching)
            }
            NetHold::ProgAttach {
                target,
                prog,
                attach_type,
            } => bpf::prog_detach(&bpf::ProgAttachAttr {
                target_fd: raw(target.as_fd()),
                attach_bpf_fd: prog.raw() as u32,
                attach_type,
                ..Default::default()
            })
            .map_err(detaching),
            NetHold::Socket { sock } => match bpf::socket_detach_bpf(sock.as_fd()) {
                // ENOENT: the filter was already removed.
                Err(e) if e.errno() == Some(Errno::ENOENT) => Ok(()),
                r => r.map_err(detaching),
            },
            NetHold::Reuseport { sock } => {
                match oxbpf_sys::sockopt::detach_reuseport_bpf(sock.as_fd()) {
                    // ENOENT: no program any more (replaced or detached by someone else).
                    Err(e) if e.errno() == Some(Errno::ENOENT) => Ok(()),
                    r => r.map_err(detaching),
                }
            }
        }
    }
}

/// True if filters other than ours remain under the clsact qdisc of `ifindex` (then the
/// qdisc we created stays); errors count as "yes", keeping the qdisc.
fn other_filters(ifindex: u32) -> bool {
    [netlink::tc::PARENT_INGRESS, netlink::tc::PARENT_EGRESS]
        .iter()
        .any(|&p| netlink::tc_filter_count(ifindex, p).map_or(true, |n| n > 0))
}

pub(crate) fn raw(fd: BorrowedFd<'_>) -> u32 {
    use std::os::fd::AsRawFd;
    fd.as_raw_fd() as u32
}

/// Duplicates a program fd to keep in a hold.
pub(crate) fn dup_prog(prog: BorrowedFd<'_>, what: &str) -> Result<ProgFd> {
    prog.try_clone_to_owned()
        .map(ProgFd::from_owned)
        .map_err(|e| Error::Kernel {
            what: what.to_owned(),
            source: oxbpf_sys::Error::Io {
                what: "dup of the program fd".into(),
                source: e,
            },
        })
}

/// Errors by which a kernel says it does not know a `bpf_link` attach type.
pub(crate) fn link_unsupported(e: &oxbpf_sys::Error) -> bool {
    matches!(
        e.errno(),
        Some(Errno::EINVAL | Errno::ENOTSUP | Errno::ENOTSUPP | Errno::E2BIG)
    )
}

/// A kernel error while attaching `what`, with a hint for the common errnos: `specific`
/// gives the hook's own hint for an errno, else a generic one is used.
pub(crate) fn error(
    what: &str,
    source: oxbpf_sys::Error,
    specific: impl Fn(Errno) -> Option<String>,
) -> Error {
    let hint = source.errno().and_then(|e| {
        specific(e).or_else(|| match e {
            Errno::EPERM | Errno::EACCES => {
                Some("needs CAP_NET_ADMIN and CAP_BPF (run as root)".to_owned())
            }
            Errno::ENOTSUP | Errno::ENOTSUPP => {
                Some("this kernel or device does not support this attachment".to_owned())
            }
            Errno::EBUSY | Errno::EEXIST => {
                Some("something is already attached there; detach it or replace it".to_owned())
            }
            Errno::ENODEV => Some("no such interface".to_owned()),
            _ => None,
        })
    });
    match hint {
        Some(hint) => Error::Rejected {
            what: what.to_owned(),
            source,
            hint,
        },
        None => Error::Kernel {
            what: what.to_owned(),
            source,
        },
    }
}

/// `name (ifindex N)` or `ifindex N` when the interface has no name here.
pub(crate) fn iface(ifindex: u32) -> String {
    match netlink::ifname(ifindex) {
        Some(n) => format!("{n} (ifindex {ifindex})"),
        None => format!("ifindex {ifindex}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eperm_gets_a_capability_hint() {
        let e = error(
            "XDP on lo",
            oxbpf_sys::Error::Syscall {
                call: "BPF_LINK_CREATE",
                errno: Errno::EPERM,
            },
            |_| None,
        );
        let s = e.to_string();
        assert!(
            s.contains("XDP on lo") && s.contains("EPERM") && s.contains("CAP_NET_ADMIN"),
            "{s}"
        );
    }

    #[test]
    fn specific_hint_wins_and_unknown_errno_has_none() {
        let src = |errno| oxbpf_sys::Error::Syscall {
            call: "BPF_LINK_CREATE",
            errno,
        };
        let e = error("XDP on veth0", src(Errno::EBUSY), |e| {
            (e == Errno::EBUSY).then(|| "use replace".to_owned())
        });
        assert!(e.to_string().ends_with("use replace"), "{e}");
        let e = error("XDP on veth0", src(Errno::ERANGE), |_| None);
        assert!(matches!(e, Error::Kernel { .. }), "{e}");
    }
}

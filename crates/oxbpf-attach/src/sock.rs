//! Socket options that run programs for one socket: socket filters (`SEC("socket")`,
//! `setsockopt(SO_ATTACH_BPF)`) and reuseport selectors (`SEC("sk_reuseport")`,
//! `setsockopt(SO_ATTACH_REUSEPORT_EBPF)`). The link holds a duplicate of the socket's fd
//! and removes the program (`SO_DETACH_BPF` / `SO_DETACH_REUSEPORT_BPF`) when dropped;
//! closing every fd of the socket also ends the attachment.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use oxbpf_sys::{Errno, bpf};

use crate::net::{self, NetHold};
use crate::{Error, Link, Result};

fn dup(sock: BorrowedFd<'_>, what: &str) -> Result<OwnedFd> {
    sock.try_clone_to_owned().map_err(|e| Error::Kernel {
        what: what.to_owned(),
        source: oxbpf_sys::Error::Io {
            what: "dup of the socket fd".into(),
            source: e,
        },
    })
}

/// Attaches `prog` (a SOCKET_FILTER program) to `sock`; it then sees every packet the
/// socket receives, and its return value is how many bytes to keep (0 drops).
pub fn attach_filter(prog: BorrowedFd<'_>, sock: &impl AsFd) -> Result<Link> {
    let sock = sock.as_fd();
    let what = format!("socket filter on fd {}", net::raw(sock));
    bpf::socket_attach_bpf(sock, prog).map_err(|e| net::error(&what, e, |_| None))?;
    let dup = dup(sock, &what)?;
    Ok(Link::net(NetHold::Socket { sock: dup }, what))
}

/// Attaches `prog` (an SK_REUSEPORT program) to the reuseport group of `sock` (a socket
/// with `SO_REUSEPORT`, bound): it then picks which socket of the group gets each new
/// datagram or connection (`bpf_sk_select_reuseport` with a REUSEPORT_SOCKARRAY). One
/// program per group; attaching again replaces it. Detaching (Linux 5.3+) restores the
/// kernel's hash-based choice.
pub fn attach_reuseport(prog: BorrowedFd<'_>, sock: &impl AsFd) -> Result<Link> {
    let sock = sock.as_fd();
    let what = format!("sk_reuseport program on socket fd {}", net::raw(sock));
    oxbpf_sys::sockopt::attach_reuseport_bpf(sock, prog).map_err(|e| {
        net::error(&what, e, |e| match e {
            Errno::EINVAL => Some(
                "the program must be of type SK_REUSEPORT (SEC(\"sk_reuseport\")) and the \
                 socket have SO_REUSEPORT set"
                    .to_owned(),
            ),
            _ => None,
        })
    })?;
    let dup = dup(sock, &what)?;
    Ok(Link::net(NetHold::Reuseport { sock: dup }, what))
}

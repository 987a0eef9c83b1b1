//! Socket filters (`SEC("socket")`): `setsockopt(SO_ATTACH_BPF)` on a socket. The link
//! holds a duplicate of the socket's fd and removes the filter (`SO_DETACH_BPF`) when
//! dropped; closing every fd of the socket also ends the attachment.

use std::os::fd::{AsFd, BorrowedFd};

use oxbpf_sys::bpf;

use crate::net::{self, NetHold};
use crate::{Error, Link, Result};

/// Attaches `prog` (a SOCKET_FILTER program) to `sock`; it then sees every packet the
/// socket receives, and its return value is how many bytes to keep (0 drops).
pub fn attach_filter(prog: BorrowedFd<'_>, sock: &impl AsFd) -> Result<Link> {
    let sock = sock.as_fd();
    let what = format!("socket filter on fd {}", net::raw(sock));
    bpf::socket_attach_bpf(sock, prog).map_err(|e| net::error(&what, e, |_| None))?;
    let dup = sock.try_clone_to_owned().map_err(|e| Error::Kernel {
        what: what.clone(),
        source: oxbpf_sys::Error::Io {
            what: "dup of the socket fd".into(),
            source: e,
        },
    })?;
    Ok(Link::net(NetHold::Socket { sock: dup }, what))
}

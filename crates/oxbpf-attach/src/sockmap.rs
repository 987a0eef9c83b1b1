//! Programs that run on the sockets of a sockmap or sockhash: `sk_msg` (every `sendmsg`,
//! `BPF_SK_MSG_VERDICT`), `sk_skb/stream_parser`, `sk_skb/stream_verdict` and
//! `sk_skb/verdict` (received data). They attach to the *map*, not to a socket: a
//! `bpf_link` on the map fd where the kernel has sockmap links (Linux 6.10), else
//! `BPF_PROG_ATTACH` with the map fd as target (4.17+), undone with `BPF_PROG_DETACH`.
//!
//! The kernel copies a map's programs into a socket's state when the socket is added to
//! the map: attach first, then insert the sockets.

use std::os::fd::BorrowedFd;

use oxbpf_sys::{Errno, bpf};

use crate::net::{self, NetHold};
use crate::{Link, Result};

/// `BPF_SK_SKB_STREAM_PARSER`.
pub const ATTACH_TYPE_SK_SKB_STREAM_PARSER: u32 = 4;
/// `BPF_SK_SKB_STREAM_VERDICT`.
pub const ATTACH_TYPE_SK_SKB_STREAM_VERDICT: u32 = 5;
/// `BPF_SK_MSG_VERDICT`.
pub const ATTACH_TYPE_SK_MSG_VERDICT: u32 = 7;
/// `BPF_SK_SKB_VERDICT`.
pub const ATTACH_TYPE_SK_SKB_VERDICT: u32 = 38;

/// Which kernel mechanism to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SockmapAttach {
    /// A sockmap `bpf_link` (6.10+), else `BPF_PROG_ATTACH`.
    #[default]
    Auto,
    /// Only a `bpf_link`.
    Link,
    /// Only `BPF_PROG_ATTACH`.
    Legacy,
}

/// The hook name of a sockmap attach type, for messages.
pub fn hook_name(attach_type: u32) -> &'static str {
    match attach_type {
        ATTACH_TYPE_SK_SKB_STREAM_PARSER => "sk_skb/stream_parser",
        ATTACH_TYPE_SK_SKB_STREAM_VERDICT => "sk_skb/stream_verdict",
        ATTACH_TYPE_SK_MSG_VERDICT => "sk_msg",
        ATTACH_TYPE_SK_SKB_VERDICT => "sk_skb/verdict",
        _ => "sockmap program",
    }
}

/// Attaches `prog` (an SK_MSG or SK_SKB program) to the sockmap or sockhash `map` as
/// `attach_type` (`ATTACH_TYPE_*`).
pub fn attach(prog: BorrowedFd<'_>, map: BorrowedFd<'_>, attach_type: u32) -> Result<Link> {
    attach_with(prog, map, attach_type, SockmapAttach::Auto)
}

fn hint(attach_type: u32) -> impl Fn(Errno) -> Option<String> {
    move |e| match e {
        Errno::EINVAL => Some(format!(
            "the target must be a SOCKMAP or SOCKHASH map and the program an {} program \
             (check the SEC() name)",
            if attach_type == ATTACH_TYPE_SK_MSG_VERDICT {
                "SK_MSG"
            } else {
                "SK_SKB"
            }
        )),
        Errno::EBUSY | Errno::EEXIST => Some(format!(
            "the map already has a {} program; detach it first",
            hook_name(attach_type)
        )),
        _ => None,
    }
}

/// Attaches with an explicit mechanism.
pub fn attach_with(
    prog: BorrowedFd<'_>,
    map: BorrowedFd<'_>,
    attach_type: u32,
    mechanism: SockmapAttach,
) -> Result<Link> {
    let what = format!("{} on sockmap fd {}", hook_name(attach_type), net::raw(map));
    if mechanism != SockmapAttach::Legacy {
        match bpf::link_create(prog, net::raw(map), attach_type, 0, 0) {
            Ok(link) => return Ok(Link::net(NetHold::BpfLink(link), what)),
            Err(e) if mechanism == SockmapAttach::Auto && net::link_unsupported(&e) => {
                crate::fallback::note(
                    hook_name(attach_type),
                    &what,
                    "BPF_PROG_ATTACH",
                    &format!("sockmap links need Linux 6.10 (BPF_LINK_CREATE: {e})"),
                );
            }
            Err(e) => return Err(net::error(&what, e, hint(attach_type))),
        }
    }
    bpf::prog_attach(&bpf::ProgAttachAttr {
        target_fd: net::raw(map),
        attach_bpf_fd: net::raw(prog),
        attach_type,
        ..Default::default()
    })
    .map_err(|e| net::error(&what, e, hint(attach_type)))?;
    let target = map.try_clone_to_owned().map_err(|e| crate::Error::Kernel {
        what: what.clone(),
        source: oxbpf_sys::Error::Io {
            what: "dup of the map fd".into(),
            source: e,
        },
    })?;
    let prog = net::dup_prog(prog, &what)?;
    Ok(Link::net(
        NetHold::ProgAttach {
            target,
            prog,
            attach_type,
        },
        what,
    ))
}

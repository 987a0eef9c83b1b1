//! Raw tracepoints (`SEC("raw_tp/<name>")`, `SEC("raw_tracepoint/<name>")`, `.w`):
//! `BPF_RAW_TRACEPOINT_OPEN` with the tracepoint's name. (`BPF_LINK_CREATE` cannot carry
//! a raw tracepoint's name, so this is the kernel's only way for these programs; it
//! returns a `bpf_link` since 5.7.)

use std::os::fd::BorrowedFd;

use oxbpf_sys::{Errno, link};

use crate::{Error, Link, Result};

/// Attaches `prog` (a loaded BPF_PROG_TYPE_RAW_TRACEPOINT program) to raw tracepoint
/// `name` (`sys_enter`, `sched_switch`).
pub fn attach(prog: BorrowedFd<'_>, name: &str) -> Result<Link> {
    attach_with_cookie(prog, name, 0)
}

/// As [`attach`], with a BPF cookie (Linux 6.10).
pub fn attach_with_cookie(prog: BorrowedFd<'_>, name: &str, cookie: u64) -> Result<Link> {
    let what = format!("raw tracepoint {name}");
    if name.is_empty() || name.contains(['/', '\0']) || name.chars().any(char::is_whitespace) {
        return Err(Error::InvalidName {
            what,
            reason: "must be a tracepoint name such as sys_enter",
        });
    }
    let fd = link::raw_tracepoint_open(prog, Some(name), cookie).map_err(|source| match source
        .errno()
    {
        Some(Errno::ENOENT) => Error::NoAttachPoint {
            what: what.clone(),
            detail: format!("{source}"),
        },
        Some(Errno::EINVAL | Errno::E2BIG) if cookie != 0 => Error::Unsupported {
            what: "raw tracepoint cookies".into(),
            reason: format!("{source}: needs Linux 6.10"),
        },
        _ => Error::Kernel {
            what: what.clone(),
            source,
        },
    })?;
    Ok(Link::fd(fd, what))
}

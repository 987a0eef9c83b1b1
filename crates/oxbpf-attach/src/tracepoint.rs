//! Tracepoints (`SEC("tracepoint/<category>/<name>")`): a perf event of type
//! `PERF_TYPE_TRACEPOINT` on the tracepoint's id from tracefs, then a `bpf_link` on it
//! (BPF_LINK_CREATE with `BPF_PERF_EVENT`, 5.15+), falling back to
//! `PERF_EVENT_IOC_SET_BPF` + enable on older kernels.

use std::os::fd::BorrowedFd;
use std::path::PathBuf;

use oxbpf_sys::{Errno, bpf, perf};

use crate::{Error, Link, Result};

fn check_component(what: &str, s: &str) -> Result<()> {
    let bad = |reason| {
        Err(Error::InvalidName {
            what: format!("tracepoint {what} {s:?}"),
            reason,
        })
    };
    if s.is_empty() {
        return bad("is empty");
    }
    if s == "." || s == ".." || s.contains('/') || s.contains('\0') {
        return bad("must be a single path component");
    }
    Ok(())
}

/// The tracefs root, found (or mounted) once per process: reading /proc/self/mountinfo
/// on every attach cost more than the attach itself.
fn tracefs_root() -> oxbpf_sys::Result<&'static std::path::Path> {
    static ROOT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    if let Some(p) = ROOT.get() {
        return Ok(p);
    }
    let found = oxbpf_sys::fs::tracefs()?;
    Ok(ROOT.get_or_init(|| found))
}

/// The directory of tracepoint `category/name` in tracefs (mounting tracefs if needed).
pub fn event_dir(category: &str, name: &str) -> Result<PathBuf> {
    check_component("category", category)?;
    check_component("name", name)?;
    let root = tracefs_root().map_err(|source| Error::Kernel {
        what: format!("tracepoint {category}/{name}"),
        source,
    })?;
    Ok(root.join("events").join(category).join(name))
}

/// The perf id of tracepoint `category/name`.
pub fn id(category: &str, name: &str) -> Result<u64> {
    let dir = event_dir(category, name)?;
    let path = dir.join("id");
    let text = std::fs::read_to_string(&path).map_err(|e| Error::NoAttachPoint {
        what: format!("tracepoint {category}/{name}"),
        detail: format!("cannot read {}: {e}", path.display()),
    })?;
    text.trim().parse().map_err(|_| Error::NoAttachPoint {
        what: format!("tracepoint {category}/{name}"),
        detail: format!("{} holds {:?}, not an id", path.display(), text.trim()),
    })
}

/// Attaches `prog` (a loaded BPF_PROG_TYPE_TRACEPOINT program) to `category/name`.
pub fn attach(prog: BorrowedFd<'_>, category: &str, name: &str) -> Result<Link> {
    attach_with_cookie(prog, category, name, 0)
}

/// As [`attach`], with a BPF cookie the program reads with `bpf_get_attach_cookie`
/// (needs a kernel with perf-event bpf_links; ignored by the legacy fallback only when 0).
pub fn attach_with_cookie(
    prog: BorrowedFd<'_>,
    category: &str,
    name: &str,
    cookie: u64,
) -> Result<Link> {
    let what = format!("tracepoint {category}/{name}");
    let tp_id = id(category, name)?;
    let attr = perf::PerfEventAttr {
        type_: perf::TYPE_TRACEPOINT,
        config: tp_id,
        sample_period: 1,
        wakeup: 1,
        ..Default::default()
    };
    let kernel = |source| Error::Kernel {
        what: what.clone(),
        source,
    };
    let event = perf::perf_event_open(&attr, -1, 0).map_err(kernel)?;
    match bpf::link_create(
        prog,
        event.raw() as u32,
        bpf::ATTACH_TYPE_PERF_EVENT,
        0,
        cookie,
    ) {
        Ok(link) => Ok(Link::perf_link(link, event, what)),
        Err(e) if cookie == 0 && link_unsupported(&e) => {
            perf::set_bpf(event.as_fd(), prog).map_err(kernel)?;
            perf::enable(event.as_fd()).map_err(kernel)?;
            Ok(Link::perf_ioctl(event, what))
        }
        Err(e) => Err(kernel(e)),
    }
}

/// Errors by which a kernel says it has no perf-event bpf_link.
fn link_unsupported(e: &oxbpf_sys::Error) -> bool {
    matches!(
        e.errno(),
        Some(Errno::EINVAL | Errno::ENOTSUP | Errno::ENOTSUPP | Errno::E2BIG)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_path_traversal_in_names() {
        for (c, n) in [
            ("..", "x"),
            ("sched", "../../etc"),
            ("", "x"),
            ("a/b", "c"),
            ("sched", ""),
        ] {
            let err = event_dir(c, n).unwrap_err();
            assert!(matches!(err, Error::InvalidName { .. }), "{c}/{n}: {err}");
        }
    }
}

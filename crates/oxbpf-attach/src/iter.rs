//! BPF iterators (`SEC("iter/<target>")`: task, bpf_map, bpf_map_elem, ...): a
//! `bpf_link` (BPF_LINK_CREATE with `BPF_TRACE_ITER`), then `BPF_ITER_CREATE` for each
//! run, read to EOF.

use std::io::Read;
use std::os::fd::BorrowedFd;

use oxbpf_sys::link;

use crate::{Error, Link, Result};

/// Attaches the iterator program `prog` (loaded with `attach_btf_id` of
/// `bpf_iter_<target>`); `map` is the map to walk for map-element iterators.
pub fn attach(prog: BorrowedFd<'_>, target: &str, map: Option<BorrowedFd<'_>>) -> Result<Link> {
    let what = format!("iter {target}");
    // union bpf_iter_link_info { struct { __u32 map_fd; } map; ... }
    let info: Vec<u8> = match map {
        Some(m) => {
            use std::os::fd::AsRawFd;
            (m.as_raw_fd() as u32).to_ne_bytes().to_vec()
        }
        None => Vec::new(),
    };
    let fd = link::link_create_iter(prog, &info).map_err(|source| Error::Kernel {
        what: what.clone(),
        source,
    })?;
    Ok(Link::fd(fd, what))
}

/// A new run of the iterator `link` as a readable file.
pub fn open(link: &Link) -> Result<std::fs::File> {
    let fd = link.link_fd().ok_or_else(|| Error::InvalidName {
        what: link.description().to_owned(),
        reason: "is not a bpf_link (not an iterator)",
    })?;
    let iter = link::iter_create(fd).map_err(|source| Error::Kernel {
        what: format!("BPF_ITER_CREATE on {}", link.description()),
        source,
    })?;
    Ok(std::fs::File::from(iter))
}

/// Runs the iterator `link` once and returns everything it wrote.
pub fn read_all(link: &Link) -> Result<Vec<u8>> {
    let mut f = open(link)?;
    let mut out = Vec::new();
    f.read_to_end(&mut out).map_err(|e| Error::Kernel {
        what: format!("reading {}", link.description()),
        source: oxbpf_sys::Error::Io {
            what: "read of the iterator fd".into(),
            source: e,
        },
    })?;
    Ok(out)
}

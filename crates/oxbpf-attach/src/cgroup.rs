//! cgroup hooks (`cgroup_skb/*`, `cgroup/connect4`, `cgroup/sock`, `sockops`, ...): a
//! `bpf_link` on the cgroup directory (BPF_LINK_CREATE, 5.7+), falling back to
//! `BPF_PROG_ATTACH` with `BPF_F_ALLOW_MULTI`; the cgroup v2 mount found from
//! `/proc/self/mountinfo`.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use oxbpf_sys::{Errno, bpf};

use crate::net::{self, NetHold};
use crate::{Error, Link, Result};

/// Which kernel mechanism to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CgroupAttach {
    /// A `bpf_link`, or `BPF_PROG_ATTACH` with `BPF_F_ALLOW_MULTI` on older kernels.
    #[default]
    Auto,
    /// Only a `bpf_link`.
    Link,
    /// Only `BPF_PROG_ATTACH` with these `BPF_F_*` flags (`ALLOW_MULTI`, `ALLOW_OVERRIDE`).
    Legacy {
        /// Attach flags.
        flags: u32,
    },
}

/// The cgroup v2 mount point named by mountinfo `text` (the first `cgroup2` mount).
pub fn parse_mountinfo_cgroup2(text: &str) -> Option<PathBuf> {
    for line in text.lines() {
        // ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTS
        let Some((left, right)) = line.split_once(" - ") else {
            continue;
        };
        if right.split_whitespace().next() != Some("cgroup2") {
            continue;
        }
        if let Some(mount) = left.split_whitespace().nth(4) {
            return Some(PathBuf::from(unescape(mount)));
        }
    }
    None
}

/// Undoes mountinfo's octal escapes (`\040` for a space).
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && let Ok(v) =
                u8::from_str_radix(std::str::from_utf8(&b[i + 1..i + 4]).unwrap_or("x"), 8)
        {
            out.push(v);
            i += 4;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Where cgroup v2 is mounted in this process's mount namespace.
pub fn cgroup2_mount() -> Result<PathBuf> {
    let path = "/proc/self/mountinfo";
    let text = std::fs::read_to_string(path).map_err(|e| Error::NoAttachPoint {
        what: "cgroup v2 mount".into(),
        detail: format!("cannot read {path}: {e}"),
    })?;
    parse_mountinfo_cgroup2(&text).ok_or_else(|| Error::NoAttachPoint {
        what: "cgroup v2 mount".into(),
        detail: format!(
            "no cgroup2 file system in {path}; mount one (mount -t cgroup2 none /sys/fs/cgroup)"
        ),
    })
}

fn open_dir(path: &Path) -> Result<OwnedFd> {
    std::fs::File::open(path)
        .map(OwnedFd::from)
        .map_err(|e| Error::NoAttachPoint {
            what: format!("cgroup {}", path.display()),
            detail: format!("cannot open it: {e}"),
        })
}

/// Attaches `prog` to the cgroup directory `path` with `attach_type` (`enum
/// bpf_attach_type`, e.g. 1 = `BPF_CGROUP_INET_EGRESS`).
pub fn attach(prog: BorrowedFd<'_>, path: &Path, attach_type: u32) -> Result<Link> {
    attach_with(prog, path, attach_type, CgroupAttach::Auto)
}

fn hint(e: Errno) -> Option<String> {
    match e {
        Errno::EPERM => Some(
            "needs CAP_NET_ADMIN/CAP_BPF, or a program without BPF_F_ALLOW_MULTI is attached \
             to this cgroup or an ancestor"
                .to_owned(),
        ),
        Errno::EINVAL => Some(
            "the program's expected attach type must match the hook (check the SEC() name)"
                .to_owned(),
        ),
        Errno::EEXIST => Some("this program is already attached to this cgroup hook".to_owned()),
        _ => None,
    }
}

/// Attaches with an explicit mechanism.
pub fn attach_with(
    prog: BorrowedFd<'_>,
    path: &Path,
    attach_type: u32,
    mechanism: CgroupAttach,
) -> Result<Link> {
    let what = format!("cgroup {} (attach type {attach_type})", path.display());
    let dir = open_dir(path)?;
    let legacy_flags = match mechanism {
        CgroupAttach::Legacy { flags } => flags,
        _ => {
            match bpf::link_create(prog, net::raw(dir.as_fd()), attach_type, 0, 0) {
                Ok(link) => return Ok(Link::net(NetHold::BpfLink(link), what)),
                Err(e) if mechanism == CgroupAttach::Auto && net::link_unsupported(&e) => {
                    crate::fallback::note(
                        "cgroup",
                        &what,
                        "BPF_PROG_ATTACH with BPF_F_ALLOW_MULTI",
                        &format!("cgroup links need Linux 5.7 (BPF_LINK_CREATE: {e})"),
                    );
                }
                Err(e) => return Err(net::error(&what, e, hint)),
            }
            bpf::attach_flags::ALLOW_MULTI
        }
    };
    bpf::prog_attach(&bpf::ProgAttachAttr {
        target_fd: net::raw(dir.as_fd()),
        attach_bpf_fd: net::raw(prog),
        attach_type,
        attach_flags: legacy_flags,
        ..Default::default()
    })
    .map_err(|e| net::error(&what, e, hint))?;
    let prog = net::dup_prog(prog, &what)?;
    Ok(Link::net(
        NetHold::ProgAttach {
            target: dir,
            prog,
            attach_type,
        },
        what,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_cgroup2_in_hybrid_mountinfo() {
        let text = "\
25 30 0:22 / /sys rw,nosuid shared:7 - sysfs sysfs rw
33 25 0:28 / /sys/fs/cgroup ro,nosuid shared:9 - tmpfs tmpfs ro,mode=755
34 33 0:29 / /sys/fs/cgroup/unified rw,nosuid shared:10 - cgroup2 cgroup2 rw,nsdelegate
35 33 0:30 / /sys/fs/cgroup/systemd rw shared:11 - cgroup cgroup rw,name=systemd
";
        assert_eq!(
            parse_mountinfo_cgroup2(text),
            Some(PathBuf::from("/sys/fs/cgroup/unified"))
        );
    }

    #[test]
    fn unescapes_mount_points_and_skips_other_fs() {
        let text = "1 2 0:1 / /a\\040b rw - cgroup2 none rw\n";
        assert_eq!(parse_mountinfo_cgroup2(text), Some(PathBuf::from("/a b")));
        assert_eq!(
            parse_mountinfo_cgroup2("1 2 0:1 / /x rw - ext4 sda rw\n"),
            None
        );
        assert_eq!(parse_mountinfo_cgroup2("garbage\n"), None);
        assert_eq!(unescape("\\04"), "\\04");
    }
}

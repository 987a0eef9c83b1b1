//! tracefs and bpffs: finding them in /proc/self/mountinfo and mounting them on demand.

use std::ffi::CString;
use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// Mount points of file systems of `fstype` in /proc/self/mountinfo.
pub fn mounts_of(fstype: &str) -> Result<Vec<PathBuf>> {
    let text = std::fs::read_to_string("/proc/self/mountinfo")
        .map_err(|e| Error::io("reading /proc/self/mountinfo", e))?;
    Ok(parse_mountinfo(&text, fstype))
}

/// Parses mountinfo text: the mount point is field 5, the type follows the ` - ` separator.
pub fn parse_mountinfo(text: &str, fstype: &str) -> Vec<PathBuf> {
    text.lines()
        .filter_map(|l| {
            let (pre, post) = l.split_once(" - ")?;
            let mount_point = pre.split(' ').nth(4)?;
            (post.split(' ').next()? == fstype).then(|| PathBuf::from(unescape(mount_point)))
        })
        .collect()
}

fn unescape(s: &str) -> String {
    // mountinfo escapes space, tab, newline and backslash as \ooo octal.
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            out.push((b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0'));
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `mount(fstype, target, fstype, 0, NULL)`.
pub fn mount(fstype: &str, target: &Path) -> Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let what = || format!("mounting {fstype} on {}", target.display());
    let t = CString::new(target.as_os_str().as_bytes()).map_err(|_| Error::Invalid(what()))?;
    let f = CString::new(fstype).map_err(|_| Error::Invalid(what()))?;
    // SAFETY: all pointers are NUL-terminated strings that live through the call; data is NULL.
    let ret = unsafe { libc::mount(f.as_ptr(), t.as_ptr(), f.as_ptr(), 0, std::ptr::null()) };
    if ret < 0 {
        return Err(Error::io(what(), std::io::Error::last_os_error()));
    }
    Ok(())
}

/// The tracefs root, mounting it at /sys/kernel/tracing if no tracefs is mounted.
pub fn tracefs() -> Result<PathBuf> {
    if let Some(p) = mounts_of("tracefs")?
        .into_iter()
        .find(|p| p.join("events").is_dir())
    {
        return Ok(p);
    }
    let target = Path::new("/sys/kernel/tracing");
    mount("tracefs", target).map_err(|e| match e {
        Error::Io { what, source } => Error::Io {
            what: format!("tracefs is not mounted and {what} failed (needs root / CAP_SYS_ADMIN)"),
            source,
        },
        other => other,
    })?;
    Ok(target.to_path_buf())
}

/// The bpffs root, mounting it at /sys/fs/bpf if no bpffs is mounted.
pub fn bpffs() -> Result<PathBuf> {
    if let Some(p) = mounts_of("bpf")?.into_iter().next() {
        return Ok(p);
    }
    let target = Path::new("/sys/fs/bpf");
    mount("bpf", target)?;
    Ok(target.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_mount_points_by_type() {
        let text = "22 1 0:21 / /sys rw - sysfs sysfs rw\n\
                    40 22 0:12 / /sys/kernel/tracing rw,relatime - tracefs tracefs rw\n\
                    41 22 0:13 / /my\\040bpf rw - bpf bpf rw,mode=700\n";
        assert_eq!(
            parse_mountinfo(text, "tracefs"),
            vec![PathBuf::from("/sys/kernel/tracing")]
        );
        assert_eq!(parse_mountinfo(text, "bpf"), vec![PathBuf::from("/my bpf")]);
        assert!(parse_mountinfo(text, "cgroup2").is_empty());
    }
}

//! Dynamic perf PMUs (`kprobe`, `uprobe` under /sys/bus/event_source/devices) and running a
//! program on a perf event: a `bpf_link` (BPF_LINK_CREATE with `BPF_PERF_EVENT`, 5.15+),
//! else `PERF_EVENT_IOC_SET_BPF` + enable.

use std::os::fd::BorrowedFd;
use std::path::Path;

use oxbpf_sys::{Errno, PerfEventFd, bpf, perf};

use crate::{Error, Link, Result};

const DEVICES: &str = "/sys/bus/event_source/devices";

/// A dynamic probe PMU: its perf type and the `config` bits of its format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProbePmu {
    /// `perf_event_attr.type`.
    pub type_: u32,
    /// Bit of `config` that makes a return probe.
    pub retprobe_bit: u32,
    /// First bit of `config` holding the reference-counter offset (uprobe only).
    pub ref_ctr_shift: Option<u32>,
}

/// Parses a PMU format file (`config:0`, `config:32-63`) into its first bit.
pub fn parse_format_bit(text: &str) -> Option<u32> {
    let spec = text.trim().strip_prefix("config:")?;
    let first = spec.split('-').next()?;
    first.parse().ok().filter(|b| *b < 64)
}

/// The PMU `name` (`kprobe`, `uprobe`), or `None` if the kernel has none.
pub fn probe_pmu(name: &str) -> Result<Option<ProbePmu>> {
    probe_pmu_in(Path::new(DEVICES), name)
}

fn probe_pmu_in(devices: &Path, name: &str) -> Result<Option<ProbePmu>> {
    let dir = devices.join(name);
    let type_path = dir.join("type");
    let Ok(text) = std::fs::read_to_string(&type_path) else {
        return Ok(None);
    };
    let bad = |path: &Path, text: &str| Error::Unsupported {
        what: format!("the {name} PMU"),
        reason: format!("{} holds {:?}", path.display(), text.trim()),
    };
    let type_ = text.trim().parse().map_err(|_| bad(&type_path, &text))?;
    let ret_path = dir.join("format/retprobe");
    let ret = std::fs::read_to_string(&ret_path).unwrap_or_default();
    let retprobe_bit = parse_format_bit(&ret).ok_or_else(|| bad(&ret_path, &ret))?;
    let ref_ctr_shift = std::fs::read_to_string(dir.join("format/ref_ctr_offset"))
        .ok()
        .and_then(|t| parse_format_bit(&t));
    Ok(Some(ProbePmu {
        type_,
        retprobe_bit,
        ref_ctr_shift,
    }))
}

/// Errors by which a kernel says it has no perf-event bpf_link.
fn link_unsupported(e: &oxbpf_sys::Error) -> bool {
    matches!(
        e.errno(),
        Some(Errno::EINVAL | Errno::ENOTSUP | Errno::ENOTSUPP | Errno::E2BIG)
    )
}

/// Runs `prog` on `event`: a perf bpf_link, or the legacy ioctl when the kernel has no
/// such link and no cookie is asked for.
pub(crate) fn attach_to_event(
    prog: BorrowedFd<'_>,
    event: PerfEventFd,
    cookie: u64,
    what: String,
) -> Result<Link> {
    let kernel = |what: &str, source| Error::Kernel {
        what: what.to_owned(),
        source,
    };
    match bpf::link_create(
        prog,
        event.raw() as u32,
        bpf::ATTACH_TYPE_PERF_EVENT,
        0,
        cookie,
    ) {
        Ok(link) => Ok(Link::perf_link(link, event, what)),
        Err(e) if cookie == 0 && link_unsupported(&e) => {
            crate::fallback::note(
                "perf_event",
                &what,
                "PERF_EVENT_IOC_SET_BPF",
                &format!("perf-event links need Linux 5.15 (BPF_LINK_CREATE: {e})"),
            );
            perf::set_bpf(event.as_fd(), prog).map_err(|e| kernel(&what, e))?;
            perf::enable(event.as_fd()).map_err(|e| kernel(&what, e))?;
            Ok(Link::perf_ioctl(event, what))
        }
        Err(e) => Err(kernel(&what, e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_format_bits() {
        assert_eq!(parse_format_bit("config:0\n"), Some(0));
        assert_eq!(parse_format_bit("config:32-63\n"), Some(32));
        assert_eq!(parse_format_bit("config1:0"), None);
        assert_eq!(parse_format_bit("config:99"), None);
        assert_eq!(parse_format_bit(""), None);
    }

    #[test]
    fn missing_pmu_is_none_and_reads_a_fake_one() {
        let dir = std::env::temp_dir().join(format!("oxbpf-pmu-{}", std::process::id()));
        assert_eq!(probe_pmu_in(&dir, "kprobe").unwrap(), None);
        std::fs::create_dir_all(dir.join("uprobe/format")).unwrap();
        std::fs::write(dir.join("uprobe/type"), "9\n").unwrap();
        std::fs::write(dir.join("uprobe/format/retprobe"), "config:0\n").unwrap();
        std::fs::write(dir.join("uprobe/format/ref_ctr_offset"), "config:32-63\n").unwrap();
        let pmu = probe_pmu_in(&dir, "uprobe").unwrap().unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(
            pmu,
            ProbePmu {
                type_: 9,
                retprobe_bit: 0,
                ref_ctr_shift: Some(32)
            }
        );
    }
}

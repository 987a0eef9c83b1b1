//! `perf_event_open` and the perf ioctls oxbpf uses to attach programs.

use std::os::fd::{AsRawFd, BorrowedFd};

use crate::fd::PerfEventFd;
use crate::{Error, Result};

/// `PERF_TYPE_SOFTWARE`.
pub const TYPE_SOFTWARE: u32 = 1;
/// `PERF_TYPE_TRACEPOINT`.
pub const TYPE_TRACEPOINT: u32 = 2;
/// `PERF_COUNT_SW_CPU_CLOCK`.
pub const COUNT_SW_CPU_CLOCK: u64 = 0;
/// `PERF_COUNT_SW_BPF_OUTPUT`.
pub const COUNT_SW_BPF_OUTPUT: u64 = 10;
/// `PERF_SAMPLE_RAW`.
pub const SAMPLE_RAW: u64 = 1 << 10;
/// `PERF_FLAG_FD_CLOEXEC`.
pub const FLAG_FD_CLOEXEC: u64 = 1 << 3;

/// `struct perf_event_attr` (`PERF_ATTR_SIZE_VER8`, 136 bytes).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct PerfEventAttr {
    /// `PERF_TYPE_*` (or a dynamic PMU type such as kprobe's).
    pub type_: u32,
    /// `sizeof(struct perf_event_attr)`; filled by [`perf_event_open`].
    pub size: u32,
    /// Type-specific config (tracepoint id, software counter, ...).
    pub config: u64,
    /// `sample_period` or `sample_freq`.
    pub sample_period: u64,
    /// `PERF_SAMPLE_*` bits.
    pub sample_type: u64,
    /// `PERF_FORMAT_*` bits.
    pub read_format: u64,
    /// The attribute bitfield (`disabled`, `inherit`, ... `freq` = bit 10, ...).
    pub flags: u64,
    /// `wakeup_events` or `wakeup_watermark`.
    pub wakeup: u32,
    /// Breakpoint type.
    pub bp_type: u32,
    /// `config1` / `kprobe_func` / `uprobe_path`.
    pub config1: u64,
    /// `config2` / `kprobe_addr` / `probe_offset`.
    pub config2: u64,
    /// `branch_sample_type`.
    pub branch_sample_type: u64,
    /// `sample_regs_user`.
    pub sample_regs_user: u64,
    /// `sample_stack_user`.
    pub sample_stack_user: u32,
    /// `clockid`.
    pub clockid: i32,
    /// `sample_regs_intr`.
    pub sample_regs_intr: u64,
    /// `aux_watermark`.
    pub aux_watermark: u32,
    /// `sample_max_stack`.
    pub sample_max_stack: u16,
    /// Reserved, zero.
    pub reserved_2: u16,
    /// `aux_sample_size`.
    pub aux_sample_size: u32,
    /// Reserved, zero.
    pub reserved_3: u32,
    /// `sig_data`.
    pub sig_data: u64,
    /// `config3`.
    pub config3: u64,
}

/// Attribute bit `disabled`.
pub const ATTR_DISABLED: u64 = 1 << 0;
/// Attribute bit `freq`.
pub const ATTR_FREQ: u64 = 1 << 10;
/// Attribute bit `watermark`.
pub const ATTR_WATERMARK: u64 = 1 << 14;

/// `perf_event_open(attr, pid, cpu, group_fd = -1, PERF_FLAG_FD_CLOEXEC)`.
pub fn perf_event_open(attr: &PerfEventAttr, pid: i32, cpu: i32) -> Result<PerfEventFd> {
    let mut a = *attr;
    a.size = std::mem::size_of::<PerfEventAttr>() as u32;
    // SAFETY: `a` is a valid perf_event_attr whose `size` field is its exact size; the
    // kernel only reads it (and may write `size` back on E2BIG, which is our own copy).
    let ret = unsafe {
        libc::syscall(
            libc::SYS_perf_event_open,
            &mut a as *mut PerfEventAttr,
            pid,
            cpu,
            -1,
            FLAG_FD_CLOEXEC,
        )
    };
    PerfEventFd::from_raw_checked("perf_event_open", ret)
}

const IOC_ENABLE: libc::c_ulong = 0x2400;
const IOC_DISABLE: libc::c_ulong = 0x2401;
const IOC_SET_BPF: libc::c_ulong = 0x4004_2408;

fn ioctl(
    call: &'static str,
    fd: BorrowedFd<'_>,
    req: libc::c_ulong,
    arg: libc::c_ulong,
) -> Result<()> {
    // SAFETY: these perf ioctls take an integer argument (not a pointer), and `fd` is a
    // live descriptor borrowed for the duration of the call.
    let ret = unsafe { libc::ioctl(fd.as_raw_fd(), req as libc::Ioctl, arg) };
    if ret < 0 {
        Err(Error::last(call))
    } else {
        Ok(())
    }
}

/// `PERF_EVENT_IOC_SET_BPF`: the legacy way to run `prog` on this perf event.
pub fn set_bpf(event: BorrowedFd<'_>, prog: BorrowedFd<'_>) -> Result<()> {
    ioctl(
        "PERF_EVENT_IOC_SET_BPF",
        event,
        IOC_SET_BPF,
        prog.as_raw_fd() as libc::c_ulong,
    )
}

/// `PERF_EVENT_IOC_ENABLE`.
pub fn enable(event: BorrowedFd<'_>) -> Result<()> {
    ioctl("PERF_EVENT_IOC_ENABLE", event, IOC_ENABLE, 0)
}

/// `PERF_EVENT_IOC_DISABLE`.
pub fn disable(event: BorrowedFd<'_>) -> Result<()> {
    ioctl("PERF_EVENT_IOC_DISABLE", event, IOC_DISABLE, 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attr_is_ver8_sized() {
        assert_eq!(std::mem::size_of::<PerfEventAttr>(), 136);
        assert_eq!(std::mem::offset_of!(PerfEventAttr, config1), 56);
        assert_eq!(std::mem::offset_of!(PerfEventAttr, sig_data), 120);
    }
}

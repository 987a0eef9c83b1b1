//! Programs attached at a BTF target given at load time (`attach_btf_id`): tp_btf,
//! fentry, fexit, fmod_ret and LSM. `BPF_LINK_CREATE` with the program's attach type
//! (which also carries a BPF cookie), falling back to `BPF_RAW_TRACEPOINT_OPEN` without a
//! name on kernels whose link_create does not take these programs.

use std::os::fd::BorrowedFd;

use oxbpf_sys::{Errno, link};

use crate::{Error, Link, Result};

/// The hook kinds of BTF-attached programs, with their `enum bpf_attach_type` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BtfHook {
    /// `tp_btf/<name>`: `BPF_TRACE_RAW_TP` (23).
    TpBtf,
    /// `fentry/<func>`: `BPF_TRACE_FENTRY` (24).
    Fentry,
    /// `fexit/<func>`: `BPF_TRACE_FEXIT` (25).
    Fexit,
    /// `fmod_ret/<func>`: `BPF_MODIFY_RETURN` (26).
    FmodRet,
    /// `lsm/<hook>`: `BPF_LSM_MAC` (27).
    Lsm,
}

impl BtfHook {
    /// The `enum bpf_attach_type` value (the program's `expected_attach_type`).
    pub fn attach_type(self) -> u32 {
        match self {
            BtfHook::TpBtf => 23,
            BtfHook::Fentry => 24,
            BtfHook::Fexit => 25,
            BtfHook::FmodRet => 26,
            BtfHook::Lsm => 27,
        }
    }

    /// The section prefix (`fentry`).
    pub fn section_prefix(self) -> &'static str {
        match self {
            BtfHook::TpBtf => "tp_btf",
            BtfHook::Fentry => "fentry",
            BtfHook::Fexit => "fexit",
            BtfHook::FmodRet => "fmod_ret",
            BtfHook::Lsm => "lsm",
        }
    }

    /// The name of the vmlinux BTF type that names target `target` of this hook:
    /// `btf_trace_<name>` (a typedef) for tp_btf, `bpf_lsm_<hook>` for LSM, the function
    /// itself otherwise.
    pub fn btf_name(self, target: &str) -> String {
        match self {
            BtfHook::TpBtf => format!("btf_trace_{target}"),
            BtfHook::Lsm => format!("bpf_lsm_{target}"),
            _ => target.to_owned(),
        }
    }
}

/// Attaches `prog`, loaded with the hook's expected_attach_type and `attach_btf_id`, at
/// that target. `target` only names it in messages.
pub fn attach(prog: BorrowedFd<'_>, hook: BtfHook, target: &str, cookie: u64) -> Result<Link> {
    let what = format!("{} {target}", hook.section_prefix());
    let kernel = |source| Error::Kernel {
        what: what.clone(),
        source,
    };
    let fd = match link::link_create_tracing(prog, hook.attach_type(), cookie) {
        Ok(fd) => fd,
        Err(e)
            if cookie == 0
                && matches!(
                    e.errno(),
                    Some(Errno::EINVAL | Errno::ENOTSUP | Errno::ENOTSUPP | Errno::E2BIG)
                ) =>
        {
            crate::fallback::note(
                hook.section_prefix(),
                &what,
                "BPF_RAW_TRACEPOINT_OPEN",
                &format!("tracing links need Linux 5.8 (BPF_LINK_CREATE: {e})"),
            );
            link::raw_tracepoint_open(prog, None, 0).map_err(kernel)?
        }
        Err(e) => return Err(kernel(e)),
    };
    Ok(Link::fd(fd, what))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn btf_names_follow_the_kernel_conventions() {
        assert_eq!(
            BtfHook::TpBtf.btf_name("sched_process_exec"),
            "btf_trace_sched_process_exec"
        );
        assert_eq!(BtfHook::Lsm.btf_name("file_open"), "bpf_lsm_file_open");
        assert_eq!(BtfHook::Fentry.btf_name("vfs_read"), "vfs_read");
        assert_eq!(BtfHook::FmodRet.attach_type(), 26);
    }
}

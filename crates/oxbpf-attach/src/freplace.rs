//! Function replacement (`SEC("freplace/<func>")`, program type EXT): an extension program
//! takes the place of a global function of another, already loaded BPF program (the
//! *target*). The kernel needs the target when the extension is loaded
//! (`attach_prog_fd` + `attach_btf_id`, the function's id in the target's own BTF:
//! [`target_btf_id`]) and attaches it with a tracing `bpf_link` (a trampoline, 5.10+
//! for links; needs `CONFIG_BPF_JIT` and trampoline support on the architecture).
//!
//! Dropping the link restores the original function.

use std::os::fd::{AsRawFd, BorrowedFd};

use oxbpf_btf::{Btf, Kind};
use oxbpf_sys::{Errno, bpf};

use crate::{Error, Link, Result};

/// The BTF type id of global function `func` in the BTF of the loaded program `target`
/// (from its program info's `btf_id`): the `attach_btf_id` an extension replacing `func`
/// is loaded with.
pub fn target_btf_id(target: BorrowedFd<'_>, func: &str) -> Result<u32> {
    let what = format!("freplace target {func}");
    let kernel = |source| Error::Kernel {
        what: what.clone(),
        source,
    };
    let info = bpf::prog_info(target).map_err(kernel)?;
    if info.btf_id == 0 {
        return Err(Error::NoAttachPoint {
            what,
            detail: "the target program was loaded without BTF: freplace needs the \
                     target's BTF to find the function"
                .into(),
        });
    }
    let btf_fd = bpf::btf_get_fd_by_id(info.btf_id).map_err(kernel)?;
    let (_, data, _) = bpf::btf_data(btf_fd.as_fd()).map_err(kernel)?;
    let bad = |e: oxbpf_btf::Error| Error::NoAttachPoint {
        what: what.clone(),
        detail: format!("the target's BTF (id {}) is unreadable: {e}", info.btf_id),
    };
    let btf = Btf::parse(&data).map_err(bad)?;
    match btf.find_by_name(func, Kind::Func).map_err(bad)? {
        Some(id) => Ok(id),
        None => Err(Error::NoAttachPoint {
            what,
            detail: format!(
                "no function {func:?} in the BTF of program id {} (only global, \
                 non-inlined functions of the target can be replaced)",
                info.id
            ),
        }),
    }
}

/// Attaches `prog` (an EXT program) in place of function `func` of program `target`, or,
/// with `target` `None`, at the target it was loaded against. `func` names the target in
/// messages and, with a target, is looked up in the target's BTF.
pub fn attach(prog: BorrowedFd<'_>, target: Option<BorrowedFd<'_>>, func: &str) -> Result<Link> {
    let (target_fd, btf_id) = match target {
        Some(t) => (t.as_raw_fd() as u32, target_btf_id(t, func)?),
        None => (0, 0),
    };
    let what = format!("freplace {func}");
    // The union's tracing member: { u32 target_btf_id; u32 pad; u64 cookie }: the id is
    // the first 4 bytes of the first 8-byte word.
    let word = if cfg!(target_endian = "big") {
        u64::from(btf_id) << 32
    } else {
        u64::from(btf_id)
    };
    // The attach type is not checked for EXT programs (the kernel picks the hook by type).
    match bpf::link_create(prog, target_fd, 0, 0, word) {
        Ok(link) => Ok(Link::fd(link, what)),
        Err(source) => {
            let hint = match source.errno() {
                Some(Errno::EPERM) => {
                    "trampolines are refused here (needs CAP_BPF + \
                                       CAP_SYS_ADMIN and a kernel that allows them)"
                }
                Some(Errno::EINVAL) => {
                    "the extension's function signature must match the \
                                        target function's, and without a target at load time \
                                        one must be given here"
                }
                Some(Errno::EBUSY) => "the function is already replaced by another extension",
                Some(Errno::ENOTSUP | Errno::ENOTSUPP) => {
                    "this kernel or architecture has no BPF trampolines"
                }
                _ => "",
            };
            if hint.is_empty() {
                Err(Error::Kernel { what, source })
            } else {
                Err(Error::Rejected {
                    what,
                    source,
                    hint: hint.into(),
                })
            }
        }
    }
}

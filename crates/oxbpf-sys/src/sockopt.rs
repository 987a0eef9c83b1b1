//! Socket options that attach BPF programs to a socket's reuseport group:
//! `SO_ATTACH_REUSEPORT_EBPF` (4.6+) and `SO_DETACH_REUSEPORT_BPF` (5.3+). (Socket
//! filters, `SO_ATTACH_BPF`, are in [`crate::bpf`].)

use std::os::fd::{AsRawFd, BorrowedFd};

use crate::{Error, Result};

fn set_int(sock: BorrowedFd<'_>, name: libc::c_int, value: i32, call: &'static str) -> Result<()> {
    // SAFETY: `value` is a live i32 and the length passed is its size; `sock` is a valid
    // descriptor borrowed for the duration of the call.
    let r = unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            libc::SOL_SOCKET,
            name,
            (&value as *const i32).cast(),
            std::mem::size_of::<i32>() as libc::socklen_t,
        )
    };
    if r < 0 {
        Err(Error::last(call))
    } else {
        Ok(())
    }
}

/// `setsockopt(SO_ATTACH_REUSEPORT_EBPF)`: `prog` (an SK_REUSEPORT program) selects the
/// socket of `sock`'s reuseport group that receives each new packet or connection.
pub fn attach_reuseport_bpf(sock: BorrowedFd<'_>, prog: BorrowedFd<'_>) -> Result<()> {
    set_int(
        sock,
        libc::SO_ATTACH_REUSEPORT_EBPF,
        prog.as_raw_fd(),
        "setsockopt(SO_ATTACH_REUSEPORT_EBPF)",
    )
}

/// `setsockopt(SO_DETACH_REUSEPORT_BPF)`: removes the reuseport group's program.
pub fn detach_reuseport_bpf(sock: BorrowedFd<'_>) -> Result<()> {
    set_int(
        sock,
        libc::SO_DETACH_REUSEPORT_BPF,
        0,
        "setsockopt(SO_DETACH_REUSEPORT_BPF)",
    )
}

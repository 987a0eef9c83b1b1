//! Descriptors and ids that name kernel objects in map keys and values: pidfds (the key of
//! task storage maps) and socket cookies (what sockmap lookups return).

use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use crate::{Error, Result};

/// `pidfd_open(pid, 0)` (5.3+): a descriptor of process `pid` (a thread-group leader).
pub fn pidfd_open(pid: u32) -> Result<OwnedFd> {
    // SAFETY: pidfd_open takes two integers and no pointers.
    let r = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::c_int, 0 as libc::c_uint) };
    if r < 0 {
        return Err(Error::last("pidfd_open"));
    }
    // SAFETY: a non-negative return of pidfd_open is a new descriptor that we now own.
    Ok(unsafe { OwnedFd::from_raw_fd(r as i32) })
}

/// `getsockopt(SO_COOKIE)` (4.12+): the socket's cookie, the 64-bit id that
/// `bpf_get_socket_cookie` and sockmap lookups report.
pub fn socket_cookie(sock: BorrowedFd<'_>) -> Result<u64> {
    let mut v = 0u64;
    let mut len = std::mem::size_of::<u64>() as libc::socklen_t;
    // SAFETY: `v` and `len` are live and writable for the call; `len` is `v`'s size.
    let r = unsafe {
        libc::getsockopt(
            sock.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_COOKIE,
            (&mut v as *mut u64).cast(),
            &mut len,
        )
    };
    if r < 0 {
        return Err(Error::last("getsockopt(SO_COOKIE)"));
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pidfd_of_this_process_opens() {
        match pidfd_open(std::process::id()) {
            Ok(_) => {}
            // Kernels before 5.3, or a seccomp sandbox.
            Err(e) => assert!(matches!(
                e.errno(),
                Some(crate::Errno::ENOSYS | crate::Errno::EPERM)
            )),
        }
    }

    #[test]
    fn sockets_have_distinct_cookies_and_files_have_none() {
        let a = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let b = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        use std::os::fd::AsFd;
        let (ca, cb) = (
            socket_cookie(a.as_fd()).unwrap(),
            socket_cookie(b.as_fd()).unwrap(),
        );
        assert_ne!(ca, cb);
        assert_eq!(socket_cookie(a.as_fd()).unwrap(), ca, "stable");
        let f = std::fs::File::open("/proc/self/status").unwrap();
        assert!(socket_cookie(f.as_fd()).is_err());
    }
}

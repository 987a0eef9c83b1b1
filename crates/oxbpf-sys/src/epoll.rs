//! epoll, for waiting on ring buffers and perf rings; with the feature `tokio`, the
//! registration of a descriptor with tokio's reactor ([`register_async`]).

use std::os::fd::{AsRawFd, BorrowedFd};

use crate::fd::EpollFd;
use crate::{Error, Result};

/// An epoll instance.
#[derive(Debug)]
pub struct Epoll {
    fd: EpollFd,
}

impl Epoll {
    /// `epoll_create1(EPOLL_CLOEXEC)`.
    pub fn new() -> Result<Self> {
        // SAFETY: no pointer arguments.
        let ret = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        Ok(Epoll {
            fd: EpollFd::from_raw_checked("epoll_create1", i64::from(ret))?,
        })
    }

    /// Watches `fd` for readability, reporting `token` when it is ready.
    pub fn add(&self, fd: BorrowedFd<'_>, token: u64) -> Result<()> {
        let mut ev = libc::epoll_event {
            events: libc::EPOLLIN as u32,
            u64: token,
        };
        // SAFETY: `ev` is a valid epoll_event for the duration of the call; both fds are live.
        let ret =
            unsafe { libc::epoll_ctl(self.fd.raw(), libc::EPOLL_CTL_ADD, fd.as_raw_fd(), &mut ev) };
        if ret < 0 {
            Err(Error::last("epoll_ctl"))
        } else {
            Ok(())
        }
    }

    /// Watches `fd` for writability, edge-triggered (`EPOLLOUT | EPOLLET`): a wait reports
    /// `token` once per wake-up of the file's writers (a user ring buffer drained by the
    /// kernel), not for as long as some space is free.
    pub fn add_writable_edge(&self, fd: BorrowedFd<'_>, token: u64) -> Result<()> {
        let mut ev = libc::epoll_event {
            events: (libc::EPOLLOUT | libc::EPOLLET) as u32,
            u64: token,
        };
        // SAFETY: `ev` is a valid epoll_event for the duration of the call; both fds are live.
        let ret =
            unsafe { libc::epoll_ctl(self.fd.raw(), libc::EPOLL_CTL_ADD, fd.as_raw_fd(), &mut ev) };
        if ret < 0 {
            Err(Error::last("epoll_ctl"))
        } else {
            Ok(())
        }
    }

    /// Waits up to `timeout_ms` (-1 = forever) and appends the ready tokens to `out`;
    /// returns how many. An interrupted wait (EINTR) returns 0.
    pub fn wait(&self, out: &mut Vec<u64>, timeout_ms: i32) -> Result<usize> {
        let mut evs = [libc::epoll_event { events: 0, u64: 0 }; 16];
        // SAFETY: `evs` is a writable array of 16 events and we pass its length.
        let n = unsafe {
            libc::epoll_wait(
                self.fd.raw(),
                evs.as_mut_ptr(),
                evs.len() as i32,
                timeout_ms,
            )
        };
        if n < 0 {
            let e = Error::last("epoll_wait");
            return if e.errno() == Some(crate::Errno::EINTR) {
                Ok(0)
            } else {
                Err(e)
            };
        }
        let n = n as usize;
        out.extend(evs[..n].iter().map(|e| e.u64));
        Ok(n)
    }
}

/// Registers `fd` with the current tokio runtime's reactor (which must have I/O enabled),
/// taking ownership of it; readiness is then awaited with `readable()`. Pass a duplicate
/// (`try_clone_to_owned`) of a descriptor that something else keeps.
#[cfg(feature = "tokio")]
pub fn register_async(
    fd: std::os::fd::OwnedFd,
) -> std::io::Result<tokio::io::unix::AsyncFd<std::os::fd::OwnedFd>> {
    // SAFETY: the AsyncFd owns `fd` for its whole life, so the descriptor stays open and
    // names the same open file until the AsyncFd is dropped or `into_inner`'d, and
    // `OwnedFd::as_raw_fd` always returns that same number.
    unsafe { tokio::io::unix::AsyncFd::register(fd) }.map_err(std::io::Error::from)
}

//! Async readers (cargo feature `tokio`): [`AsyncRingBuf`] and [`AsyncPerfBuffer`] wait
//! for wake-ups on tokio's reactor instead of blocking a thread in `epoll_wait`.
//!
//! Each wraps the synchronous reader and registers duplicates of its descriptors — the
//! ring buffer's map descriptor, or every CPU's perf event descriptor — with
//! [`tokio::io::unix::AsyncFd`] (through `oxbpf_sys::epoll::register_async`). Reading is
//! `readable().await`, then draining with the synchronous reader's zero-copy `consume`;
//! readiness is cleared only when a drain found nothing, so a wake-up that races with the
//! drain is not lost (tokio clears only the readiness it reported). Producers that do not
//! wake readers (`BPF_RB_NO_WAKEUP`, perf watermarks) are seen at the next wake-up: wrap
//! the call in `tokio::time::timeout` to poll them on a schedule. The readers must be
//! created inside a runtime with I/O enabled.

use std::future::poll_fn;
use std::os::fd::{BorrowedFd, OwnedFd};
use std::task::Poll;

use oxbpf_sys::epoll::register_async;
use tokio::io::unix::AsyncFd;

use crate::error::{Error, Result};
use crate::perf::PerfBuffer;
use crate::ringbuf::RingBuf;

fn io_err(name: &str, what: String, e: std::io::Error) -> Error {
    Error::kernel(name, oxbpf_sys::Error::Io { what, source: e })
}

fn register(name: &str, what: &str, fd: BorrowedFd<'_>) -> Result<AsyncFd<OwnedFd>> {
    let dup = fd
        .try_clone_to_owned()
        .map_err(|e| io_err(name, format!("duplicating the {what} descriptor"), e))?;
    register_async(dup).map_err(|e| {
        io_err(
            name,
            format!("registering the {what} with the tokio reactor"),
            e,
        )
    })
}

/// A [`RingBuf`] read from async code.
#[derive(Debug)]
pub struct AsyncRingBuf {
    fd: AsyncFd<OwnedFd>,
    ring: RingBuf,
}

impl AsyncRingBuf {
    /// Registers `ring`'s map descriptor with the current tokio runtime (which must have
    /// I/O enabled).
    pub fn new(ring: RingBuf) -> Result<Self> {
        let fd = register(ring.name(), "ring buffer", ring.as_fd())?;
        Ok(AsyncRingBuf { fd, ring })
    }

    /// The synchronous reader (its stats, name, pending bytes).
    pub fn get_ref(&self) -> &RingBuf {
        &self.ring
    }

    /// The synchronous reader, for a non-blocking `consume` or zero-copy `next`.
    pub fn get_mut(&mut self) -> &mut RingBuf {
        &mut self.ring
    }

    /// Unregisters and returns the synchronous reader.
    pub fn into_inner(self) -> RingBuf {
        self.ring
    }

    /// Waits until at least one record is committed, then calls `f` on every record
    /// committed by then (as [`RingBuf::consume`]); returns how many (at least 1).
    pub async fn consume(&mut self, mut f: impl FnMut(&[u8])) -> Result<usize> {
        loop {
            let n = self.ring.consume(&mut f)?;
            if n > 0 {
                return Ok(n);
            }
            let mut guard = self
                .fd
                .readable()
                .await
                .map_err(|e| io_err(self.ring.name(), "waiting for a wake-up".to_owned(), e))?;
            let n = self.ring.consume(&mut f)?;
            if n > 0 {
                return Ok(n);
            }
            guard.clear_ready();
        }
    }
}

/// A [`PerfBuffer`] read from async code: every CPU's ring is registered, and a wake-up
/// of any of them drains that CPU.
#[derive(Debug)]
pub struct AsyncPerfBuffer {
    /// One per ring of `perf`, in its order.
    fds: Vec<AsyncFd<OwnedFd>>,
    perf: PerfBuffer,
}

impl AsyncPerfBuffer {
    /// Registers every CPU ring of `perf` with the current tokio runtime.
    pub fn new(perf: PerfBuffer) -> Result<Self> {
        let mut fds = Vec::new();
        let cpus: Vec<u32> = perf.cpus().collect();
        for cpu in cpus {
            if let Some(fd) = perf.cpu_fd(cpu) {
                fds.push(register(perf.name(), &format!("cpu {cpu} ring"), fd)?);
            }
        }
        Ok(AsyncPerfBuffer { fds, perf })
    }

    /// The synchronous reader (its stats and per-CPU counters).
    pub fn get_ref(&self) -> &PerfBuffer {
        &self.perf
    }

    /// The synchronous reader.
    pub fn get_mut(&mut self) -> &mut PerfBuffer {
        &mut self.perf
    }

    /// Unregisters and returns the synchronous reader.
    pub fn into_inner(self) -> PerfBuffer {
        self.perf
    }

    /// Waits until some CPU's ring has samples, then calls `f(cpu, sample)` on every
    /// sample of every CPU that woke (as [`PerfBuffer::consume`]); returns how many (at
    /// least 1). Lost-sample records are counted in the reader's stats.
    pub async fn consume(&mut self, mut f: impl FnMut(u32, &[u8])) -> Result<usize> {
        let n = self.perf.consume(&mut f)?;
        if n > 0 || self.fds.is_empty() {
            return Ok(n);
        }
        let AsyncPerfBuffer { fds, perf } = self;
        poll_fn(|cx| {
            loop {
                let mut total = 0;
                let mut cleared = false;
                for (i, a) in fds.iter().enumerate() {
                    match a.poll_read_ready(cx) {
                        Poll::Pending => {}
                        Poll::Ready(Err(e)) => {
                            let what = "waiting for a wake-up".to_owned();
                            return Poll::Ready(Err(io_err(perf.name(), what, e)));
                        }
                        Poll::Ready(Ok(mut guard)) => match perf.consume_ring_at(i, &mut f) {
                            Ok(0) => {
                                guard.clear_ready();
                                cleared = true;
                            }
                            Ok(k) => total += k,
                            Err(e) => return Poll::Ready(Err(e)),
                        },
                    }
                }
                if total > 0 {
                    return Poll::Ready(Ok(total));
                }
                // A ring whose readiness was cleared has not registered the waker yet:
                // look again (it is then Pending, or ready anew).
                if !cleared {
                    return Poll::Pending;
                }
            }
        })
        .await
    }
}

//! [`UserRingBuf`]: the producer side of a `BPF_MAP_TYPE_USER_RINGBUF` (6.1+), drained by
//! programs with `bpf_user_ringbuf_drain`.
//!
//! Layout (kernel/bpf/ringbuf.c): page 0 holds the consumer position, which the kernel
//! advances (mapped read-only: the kernel refuses a writable mapping of it); from offset
//! `page` come the producer position page and the data area mapped twice, both writable
//! by user space. A sample is an 8-byte header (u32 length with BUSY bit 31 and DISCARD
//! bit 30, u32 unused) and its payload, 8-byte aligned. Reserving writes a BUSY header and
//! publishes the new producer position (release store); submitting or discarding clears
//! BUSY (and sets DISCARD) with one atomic exchange. The kernel stops draining at a busy
//! sample, so a reserved sample holds back the ones after it until it is submitted.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use oxbpf_sys::MapFd;
use oxbpf_sys::epoll::Epoll;
use oxbpf_sys::mmap::{MmapRegion, Prot};
use oxbpf_sys::ringbuf::{BUSY_BIT, DISCARD_BIT, HDR_SIZE};

use crate::error::{Error, Result};
use crate::map::{Map, map_type};

/// The producer of one user ring buffer map.
#[derive(Debug)]
pub struct UserRingBuf {
    name: String,
    fd: MapFd,
    /// Watches `fd` for EPOLLOUT (edge-triggered), created at the first blocking reserve.
    epoll: Option<Epoll>,
    consumer: MmapRegion,
    producer: MmapRegion,
    page: usize,
    size: u64,
}

impl UserRingBuf {
    /// A producer for `map` (a user ring buffer): duplicates the descriptor and maps the
    /// positions and the data area.
    pub fn new(map: &Map) -> Result<UserRingBuf> {
        let name = map.name().to_owned();
        if map.def().map_type != map_type::USER_RINGBUF {
            return Err(Error::WrongType {
                map: name,
                got: map.def().map_type,
                want: "UserRingBuf",
                expected: "user_ringbuf",
            });
        }
        let size = map.def().max_entries as usize;
        if !size.is_power_of_two() {
            return Err(Error::Invalid {
                map: name,
                reason: format!("ring size {size} is not a power of two"),
            });
        }
        let k = |e| Error::kernel(&name, e);
        let fd = map.map_fd().try_clone().map_err(k)?;
        let page = oxbpf_sys::page_size();
        let consumer = MmapRegion::map(fd.as_fd(), page, 0, Prot::Read).map_err(k)?;
        let producer =
            MmapRegion::map(fd.as_fd(), page + 2 * size, page, Prot::ReadWrite).map_err(k)?;
        Ok(UserRingBuf {
            name,
            fd,
            epoll: None,
            consumer,
            producer,
            page,
            size: size as u64,
        })
    }

    /// The map's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    fn ring_err(&self, e: oxbpf_sys::Error) -> Error {
        Error::Ring {
            map: self.name.clone(),
            source: e,
        }
    }

    fn positions(&self) -> Result<(u64, u64)> {
        let cons = self.consumer.atomic_u64(0).map_err(|e| self.ring_err(e))?;
        let prod = self.producer.atomic_u64(0).map_err(|e| self.ring_err(e))?;
        Ok((cons.load(Ordering::Acquire), prod.load(Ordering::Acquire)))
    }

    /// Bytes free for new samples (headers included).
    pub fn free_bytes(&self) -> Result<u64> {
        let (cons, prod) = self.positions()?;
        Ok(self.size.saturating_sub(prod.wrapping_sub(cons)))
    }

    /// Like [`UserRingBuf::reserve`], but if the ring has no room, waits (up to `timeout`,
    /// `None` = forever) for the kernel side to drain enough; `None` if it has not by
    /// then. The wait needs the drain to wake writers: a program that drains with
    /// `BPF_RB_NO_WAKEUP` is only noticed when the timeout expires.
    pub fn reserve_blocking(
        &mut self,
        len: usize,
        timeout: Option<Duration>,
    ) -> Result<Option<Sample<'_>>> {
        let total = self.check_len(len)?;
        let deadline = timeout.map(|t| Instant::now() + t);
        if self.epoll.is_none() {
            let k = |e| Error::kernel(&self.name, e);
            let ep = Epoll::new().map_err(k)?;
            ep.add_writable_edge(self.fd.as_fd(), 0).map_err(k)?;
            self.epoll = Some(ep);
        }
        let mut ready = Vec::with_capacity(1);
        // Checked after arming the epoll: a drain between the check and the wait leaves
        // its event queued, so the wait returns at once and the check runs again.
        while !self.has_room(total)? {
            let ms = match deadline {
                None => -1,
                Some(d) => {
                    let left = d.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Ok(None);
                    }
                    i32::try_from(left.as_nanos().div_ceil(1_000_000)).unwrap_or(i32::MAX)
                }
            };
            ready.clear();
            if let Some(ep) = &self.epoll {
                ep.wait(&mut ready, ms)
                    .map_err(|e| Error::kernel(&self.name, e))?;
            }
        }
        self.reserve(len)
    }

    fn check_len(&self, len: usize) -> Result<u64> {
        let total = (len as u64 + HDR_SIZE).div_ceil(8) * 8;
        if len == 0 || len > (BUSY_BIT - 1) as usize >> 1 || total > self.size {
            return Err(Error::Invalid {
                map: self.name.clone(),
                reason: format!(
                    "a sample of {len} bytes ({total} with its header) cannot go into a \
                     {}-byte ring",
                    self.size
                ),
            });
        }
        Ok(total)
    }

    fn has_room(&self, total: u64) -> Result<bool> {
        let (cons, prod) = self.positions()?;
        Ok(self.size - prod.wrapping_sub(cons).min(self.size) >= total)
    }

    /// Reserves a sample of `len` payload bytes (zeroed is not promised: write all of
    /// it). `None` if the ring has no room now (the kernel side has not drained enough);
    /// an error if `len` is 0 or the sample could never fit. One sample is reserved at a
    /// time; dropping it without [`Sample::submit`] discards it.
    pub fn reserve(&mut self, len: usize) -> Result<Option<Sample<'_>>> {
        let total = self.check_len(len)?;
        if !self.has_room(total)? {
            return Ok(None);
        }
        let (_, prod) = self.positions()?;
        let mask = self.size - 1;
        let hdr = self.page + (prod & mask) as usize;
        let data = self.page + ((prod + HDR_SIZE) & mask) as usize;
        let h = self
            .producer
            .atomic_u32(hdr)
            .map_err(|e| self.ring_err(e))?;
        h.store(len as u32 | BUSY_BIT, Ordering::Relaxed);
        self.producer
            .atomic_u32(hdr + 4)
            .map_err(|e| self.ring_err(e))?
            .store(0, Ordering::Relaxed);
        // Publish the reservation: the kernel reads the header after this (acquire).
        self.producer
            .atomic_u64(0)
            .map_err(|e| self.ring_err(e))?
            .store(prod + total, Ordering::Release);
        Ok(Some(Sample {
            ring: self,
            hdr,
            data,
            len,
            done: false,
        }))
    }
}

/// A reserved sample of a [`UserRingBuf`]: write its payload, then [`Sample::submit`] it.
/// Dropping it unsubmitted discards it.
#[derive(Debug)]
pub struct Sample<'a> {
    ring: &'a UserRingBuf,
    hdr: usize,
    data: usize,
    len: usize,
    done: bool,
}

impl Sample<'_> {
    /// Payload size in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True for an empty payload (never: reserve refuses 0 bytes).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Copies `bytes` into the payload at `offset`.
    pub fn write(&mut self, offset: usize, bytes: &[u8]) -> Result<()> {
        if offset
            .checked_add(bytes.len())
            .is_none_or(|end| end > self.len)
        {
            return Err(Error::Invalid {
                map: self.ring.name.clone(),
                reason: format!(
                    "write of {} bytes at offset {offset} is past the {}-byte sample",
                    bytes.len(),
                    self.len
                ),
            });
        }
        // The data area is mapped twice back to back: a sample that wraps is contiguous.
        self.ring
            .producer
            .write(self.data + offset, bytes)
            .map_err(|e| self.ring.ring_err(e))
    }

    fn finish(&mut self, discard: bool) -> Result<()> {
        self.done = true;
        let h = self
            .ring
            .producer
            .atomic_u32(self.hdr)
            .map_err(|e| self.ring.ring_err(e))?;
        let len = self.len as u32 | if discard { DISCARD_BIT } else { 0 };
        h.swap(len, Ordering::AcqRel);
        Ok(())
    }

    /// Commits the sample: the kernel side sees it at its next drain.
    pub fn submit(mut self) -> Result<()> {
        self.finish(false)
    }

    /// Gives the space back without the kernel side seeing the sample.
    pub fn discard(mut self) -> Result<()> {
        self.finish(true)
    }
}

impl Drop for Sample<'_> {
    fn drop(&mut self) {
        if !self.done {
            let _ = self.finish(true);
        }
    }
}

//! The shared-memory protocol of `BPF_MAP_TYPE_RINGBUF`.
//!
//! Layout (kernel/bpf/ringbuf.c): page 0 holds the consumer position (read-write for user
//! space); from offset `page` comes a read-only page with the producer position followed
//! by the data area, mapped twice back to back so a record that wraps is contiguous. The
//! read-only part must be mapped as exactly `page + 2 * size` bytes at offset `page`.
//! Every record starts with an 8-byte header: a u32 length whose bit 31 is BUSY (not yet
//! committed) and bit 30 DISCARD, then a u32 page offset; records are 8-byte aligned.

use std::os::fd::BorrowedFd;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::mmap::{MmapRegion, Prot};
use crate::{Error, Result};

/// Header bit: the producer has reserved but not committed the record.
pub const BUSY_BIT: u32 = 1 << 31;
/// Header bit: the record was discarded; skip it.
pub const DISCARD_BIT: u32 = 1 << 30;
/// Size of a record header.
pub const HDR_SIZE: u64 = 8;

/// What the next position of the ring holds.
#[derive(Debug, PartialEq, Eq)]
pub enum Next<'a> {
    /// Nothing committed past the consumer position.
    Empty,
    /// A record is reserved but not committed yet: stop and retry later.
    Busy,
    /// A discarded record of this total (aligned) length: skip it.
    Discarded(u64),
    /// A committed record: its payload, and the total (aligned) length to advance by.
    Record(&'a [u8], u64),
}

/// The two mappings of one ring buffer map.
#[derive(Debug)]
pub struct RingBufMemory {
    consumer: MmapRegion,
    producer: MmapRegion,
    mask: u64,
    page: usize,
}

impl RingBufMemory {
    /// Maps ring buffer `fd` whose `max_entries` (data size) is `size` bytes.
    pub fn map(fd: BorrowedFd<'_>, size: u32) -> Result<Self> {
        let size = size as usize;
        if !size.is_power_of_two() {
            return Err(Error::Invalid(format!(
                "ring buffer size {size} is not a power of two"
            )));
        }
        let page = crate::page_size();
        let consumer = MmapRegion::map(fd, page, 0, Prot::ReadWrite)?;
        let producer = MmapRegion::map(fd, page + 2 * size, page, Prot::Read)?;
        Ok(RingBufMemory {
            consumer,
            producer,
            mask: size as u64 - 1,
            page,
        })
    }

    #[inline]
    fn cons(&self) -> &AtomicU64 {
        self.consumer
            .atomic_u64(0)
            .expect("a page holds the consumer position")
    }

    #[inline]
    fn prod(&self) -> &AtomicU64 {
        self.producer
            .atomic_u64(0)
            .expect("a page holds the producer position")
    }

    /// The consumer position (acquire).
    #[inline]
    pub fn consumer_pos(&self) -> u64 {
        self.cons().load(Ordering::Acquire)
    }

    /// The producer position (acquire).
    #[inline]
    pub fn producer_pos(&self) -> u64 {
        self.prod().load(Ordering::Acquire)
    }

    /// Publishes a new consumer position (release), freeing the space before it.
    #[inline]
    pub fn set_consumer_pos(&self, pos: u64) {
        self.cons().store(pos, Ordering::Release)
    }

    /// Data size in bytes.
    #[inline]
    pub fn size(&self) -> u64 {
        self.mask + 1
    }

    /// Hints the CPU to start loading the cache line of ring position `pos` (any
    /// position: it is masked into the data area; a hint never faults). The consumer
    /// uses it to overlap the cache misses of records ahead with the work on the
    /// current one: records written by a program on another CPU are usually cold, and
    /// the hardware prefetcher stops at page boundaries. No-op off x86-64.
    #[inline(always)]
    pub fn prefetch(&self, pos: u64) {
        #[cfg(target_arch = "x86_64")]
        {
            let addr = self.producer.addr() + self.page + (pos & self.mask) as usize;
            // SAFETY: `_mm_prefetch` needs SSE, which every x86-64 CPU has; it is only a
            // hint that never faults or changes memory, and the address lies inside our
            // mapping anyway.
            unsafe {
                std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(
                    addr as *const i8,
                )
            };
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = pos;
    }

    /// Classifies the record at `pos` given a producer position `prod` read before.
    #[inline]
    pub fn next(&self, pos: u64, prod: u64) -> Result<Next<'_>> {
        if pos >= prod {
            return Ok(Next::Empty);
        }
        let off = self.page + (pos & self.mask) as usize;
        let len = self.producer.atomic_u32(off)?.load(Ordering::Acquire);
        if len & BUSY_BIT != 0 {
            return Ok(Next::Busy);
        }
        let n = u64::from(len & !(BUSY_BIT | DISCARD_BIT));
        if n > self.mask + 1 {
            return Err(Error::Invalid(format!(
                "ring buffer record at position {pos} claims {n} bytes"
            )));
        }
        let total = (n + HDR_SIZE + 7) & !7;
        if len & DISCARD_BIT != 0 {
            return Ok(Next::Discarded(total));
        }
        let data = self.producer.bytes(off + HDR_SIZE as usize, n as usize)?;
        Ok(Next::Record(data, total))
    }
}

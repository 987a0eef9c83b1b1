//! Readers of `BPF_MAP_TYPE_RINGBUF`: [`RingBuf`] (one ring, zero-copy [`Record`]s or a
//! batch callback) and [`RingBufPoller`] (many rings on one epoll).
//!
//! The consumer position lives in shared memory; publishing it (a release store) is what
//! frees space for the producers. [`RingBuf::consume`] publishes once per batch, not per
//! record. Producers that write with `BPF_RB_NO_WAKEUP` do not wake epoll: poll such rings
//! with a timeout, or call [`RingBuf::consume`] on a schedule.

use std::ops::Deref;
use std::os::fd::BorrowedFd;
use std::time::Duration;

use oxbpf_sys::MapFd;
use oxbpf_sys::epoll::Epoll;
use oxbpf_sys::ringbuf::{Next, RingBufMemory};

use crate::error::{Error, Result};
use crate::map::{Map, map_type};

/// How many records ahead [`RingBuf::consume`] prefetches (a guess that the records
/// ahead have the size of the current one; a wrong guess costs one useless hint).
const PREFETCH_AHEAD: u64 = 8;

/// Counters of what a [`RingBuf`] has read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RingStats {
    /// Committed records handed out.
    pub records: u64,
    /// Payload bytes of those records.
    pub bytes: u64,
    /// Discarded records skipped.
    pub discarded: u64,
}

/// The reader of one ring buffer map: its own descriptor, mapping and epoll.
#[derive(Debug)]
pub struct RingBuf {
    name: String,
    fd: MapFd,
    mem: RingBufMemory,
    epoll: Epoll,
    /// Consumer position after everything handed out (may be ahead of the published one
    /// while a [`Record`] is alive).
    pos: u64,
    stats: RingStats,
    /// A protocol violation found by [`RingBuf::next`], reported by the next `consume`.
    error: Option<Error>,
    ready: Vec<u64>,
}

/// Converts an optional timeout to epoll milliseconds (-1 = forever), rounding up so a
/// sub-millisecond timeout still waits.
fn timeout_ms(timeout: Option<Duration>) -> i32 {
    match timeout {
        None => -1,
        Some(d) => i32::try_from(d.as_nanos().div_ceil(1_000_000)).unwrap_or(i32::MAX),
    }
}

impl RingBuf {
    /// A reader of `map` (which must be a ring buffer): duplicates the descriptor, maps the
    /// shared memory and creates an epoll watching it.
    pub fn new(map: &Map) -> Result<RingBuf> {
        let name = map.name().to_owned();
        if map.def().map_type != map_type::RINGBUF {
            return Err(Error::WrongType {
                map: name,
                got: map.def().map_type,
                want: "RingBuf",
                expected: "ringbuf",
            });
        }
        let k = |e| Error::kernel(&name, e);
        let fd = map.map_fd().try_clone().map_err(k)?;
        let mem = RingBufMemory::map(fd.as_fd(), map.def().max_entries).map_err(k)?;
        let epoll = Epoll::new().map_err(k)?;
        epoll.add(fd.as_fd(), 0).map_err(k)?;
        let pos = mem.consumer_pos();
        Ok(RingBuf {
            name,
            fd,
            mem,
            epoll,
            pos,
            stats: RingStats::default(),
            error: None,
            ready: Vec::with_capacity(16),
        })
    }

    /// The map's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The ring's (duplicated) map descriptor, which epoll reports readable on wake-ups.
    pub fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// What has been read so far.
    pub fn stats(&self) -> RingStats {
        self.stats
    }

    /// Bytes committed by producers and not yet consumed (including discarded records).
    pub fn pending_bytes(&self) -> u64 {
        self.mem.producer_pos().saturating_sub(self.pos)
    }

    fn ring_err(&self, e: oxbpf_sys::Error) -> Error {
        Error::Ring {
            map: self.name.clone(),
            source: e,
        }
    }

    /// The next committed record, borrowed from the ring (zero copy). Its space is
    /// released when the [`Record`] is dropped (or, if it is leaked, at the next call).
    /// Discarded records are skipped and counted; a record still being written (busy)
    /// ends the walk with `None` without skipping it. A corrupt record header also ends
    /// with `None`; [`RingBuf::consume`] then reports it.
    // A lending iterator (the record borrows the ring), so not `Iterator`.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Option<Record<'_>> {
        self.mem.set_consumer_pos(self.pos);
        let prod = self.mem.producer_pos();
        loop {
            match self.mem.next(self.pos, prod) {
                Ok(Next::Empty | Next::Busy) => return None,
                Ok(Next::Discarded(total)) => {
                    self.pos += total;
                    self.stats.discarded += 1;
                    self.mem.set_consumer_pos(self.pos);
                }
                Ok(Next::Record(data, total)) => {
                    self.pos += total;
                    self.stats.records += 1;
                    self.stats.bytes += data.len() as u64;
                    return Some(Record {
                        mem: &self.mem,
                        data,
                        end: self.pos,
                    });
                }
                Err(e) => {
                    self.error = Some(Error::Ring {
                        map: self.name.clone(),
                        source: e,
                    });
                    return None;
                }
            }
        }
    }

    /// Calls `f` on every record committed now, in order, then publishes the consumer
    /// position (once per batch). Stops at a busy record, at an empty ring, or after one
    /// ring's worth of bytes (so a producer that never pauses cannot keep it running).
    /// Returns the number of records. If `f` panics, the records of the unfinished batch
    /// are delivered again by the next call.
    pub fn consume(&mut self, mut f: impl FnMut(&[u8])) -> Result<usize> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        let start = self.pos;
        let limit = self.mem.size();
        let mut pos = self.pos;
        let (mut n, mut bytes, mut discarded) = (0u64, 0u64, 0u64);
        let mut result = Ok(());
        'batches: loop {
            let prod = self.mem.producer_pos();
            if pos >= prod {
                break;
            }
            while pos < prod {
                match self.mem.next(pos, prod) {
                    Ok(Next::Record(data, total)) => {
                        // Records ahead are likely the same size: start loading the
                        // one PREFETCH_AHEAD records on while this one is handled.
                        self.mem.prefetch(pos + total * PREFETCH_AHEAD);
                        f(data);
                        pos += total;
                        n += 1;
                        bytes += data.len() as u64;
                    }
                    Ok(Next::Discarded(total)) => {
                        pos += total;
                        discarded += 1;
                    }
                    Ok(Next::Empty) => break,
                    Ok(Next::Busy) => {
                        self.mem.set_consumer_pos(pos);
                        break 'batches;
                    }
                    Err(e) => {
                        result = Err(self.ring_err(e));
                        break 'batches;
                    }
                }
            }
            self.mem.set_consumer_pos(pos);
            if pos - start >= limit {
                break;
            }
        }
        self.mem.set_consumer_pos(pos);
        self.pos = pos;
        self.stats.records += n;
        self.stats.bytes += bytes;
        self.stats.discarded += discarded;
        result.map(|()| n as usize)
    }

    /// [`RingBuf::consume`]; if that found nothing, waits for a wake-up for up to `timeout`
    /// (`None` = forever) and consumes again. Returns the number of records.
    pub fn poll(&mut self, timeout: Option<Duration>, mut f: impl FnMut(&[u8])) -> Result<usize> {
        let n = self.consume(&mut f)?;
        if n > 0 {
            return Ok(n);
        }
        self.ready.clear();
        self.epoll
            .wait(&mut self.ready, timeout_ms(timeout))
            .map_err(|e| Error::kernel(&self.name, e))?;
        self.consume(f)
    }
}

/// One committed record, borrowed from the ring's memory. Dropping it releases its space
/// to the producers.
#[derive(Debug)]
pub struct Record<'a> {
    mem: &'a RingBufMemory,
    data: &'a [u8],
    end: u64,
}

impl Deref for Record<'_> {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        self.data
    }
}

impl Drop for Record<'_> {
    fn drop(&mut self) {
        self.mem.set_consumer_pos(self.end);
    }
}

/// Many [`RingBuf`]s on one epoll.
#[derive(Debug)]
pub struct RingBufPoller {
    epoll: Epoll,
    rings: Vec<(String, RingBuf)>,
    ready: Vec<u64>,
}

impl RingBufPoller {
    /// An empty poller with its own epoll.
    pub fn new() -> Result<Self> {
        Ok(RingBufPoller {
            epoll: Epoll::new().map_err(|e| Error::kernel("(poller)", e))?,
            rings: Vec::new(),
            ready: Vec::with_capacity(16),
        })
    }

    /// Adds `ring` under `name`; returns its token (index).
    pub fn add(&mut self, name: impl Into<String>, ring: RingBuf) -> Result<usize> {
        let token = self.rings.len();
        self.epoll
            .add(ring.as_fd(), token as u64)
            .map_err(|e| Error::kernel(ring.name(), e))?;
        self.rings.push((name.into(), ring));
        Ok(token)
    }

    /// The ring of `token`.
    pub fn ring(&self, token: usize) -> Option<&RingBuf> {
        self.rings.get(token).map(|(_, r)| r)
    }

    /// Number of rings.
    pub fn len(&self) -> usize {
        self.rings.len()
    }

    /// True if no ring was added.
    pub fn is_empty(&self) -> bool {
        self.rings.is_empty()
    }

    fn consume_all(&mut self, f: &mut impl FnMut(&str, &[u8])) -> Result<usize> {
        let mut n = 0;
        for (name, ring) in &mut self.rings {
            n += ring.consume(|d| f(name, d))?;
        }
        Ok(n)
    }

    /// Consumes every ring, calling `f(name, record)`; if nothing was there, waits up to
    /// `timeout` (`None` = forever) for a wake-up and consumes the rings that woke.
    /// Returns the number of records.
    pub fn poll(
        &mut self,
        timeout: Option<Duration>,
        mut f: impl FnMut(&str, &[u8]),
    ) -> Result<usize> {
        let n = self.consume_all(&mut f)?;
        if n > 0 || self.rings.is_empty() {
            return Ok(n);
        }
        self.ready.clear();
        self.epoll
            .wait(&mut self.ready, timeout_ms(timeout))
            .map_err(|e| Error::kernel("(poller)", e))?;
        let mut n = 0;
        for &t in &self.ready {
            if let Some((name, ring)) = usize::try_from(t).ok().and_then(|t| self.rings.get_mut(t))
            {
                n += ring.consume(|d| f(name, d))?;
            }
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_round_up_to_milliseconds() {
        assert_eq!(timeout_ms(None), -1);
        assert_eq!(timeout_ms(Some(Duration::ZERO)), 0);
        assert_eq!(timeout_ms(Some(Duration::from_micros(1))), 1);
        assert_eq!(timeout_ms(Some(Duration::from_millis(1500))), 1500);
        assert_eq!(timeout_ms(Some(Duration::from_secs(u64::MAX))), i32::MAX);
    }
}

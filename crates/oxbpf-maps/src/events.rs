//! [`EventPoller`]: ring buffers and perf event arrays read together on one epoll.
//!
//! Each ring buffer's map descriptor and each CPU's perf event descriptor is watched
//! directly by the poller's epoll (no nested epolls), so a wake-up names the source (and
//! for perf buffers the CPU) to drain. Records are handed out as they are read, borrowed
//! from the shared memory; per-source counters say what was read and what was lost.

use std::time::Duration;

use oxbpf_sys::epoll::Epoll;

use crate::error::{Error, Result};
use crate::perf::PerfBuffer;
use crate::ringbuf::RingBuf;

/// What kind of reader a source of an [`EventPoller`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    /// A `BPF_MAP_TYPE_RINGBUF` reader.
    RingBuf,
    /// A `BPF_MAP_TYPE_PERF_EVENT_ARRAY` reader (a ring per CPU).
    PerfBuffer,
}

/// Counters of one source of an [`EventPoller`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceStats {
    /// The source's name (its map's name).
    pub name: String,
    /// Ring buffer or perf buffer.
    pub kind: SourceKind,
    /// Records handed out.
    pub records: u64,
    /// Payload bytes of those records.
    pub bytes: u64,
    /// Ring buffers: discarded records skipped (0 for perf buffers).
    pub discarded: u64,
    /// Perf buffers: samples the kernel dropped on a full ring (0 for ring buffers, whose
    /// producers see the failure themselves).
    pub lost: u64,
}

#[derive(Debug)]
enum Source {
    Ring(RingBuf),
    Perf(PerfBuffer),
}

impl Source {
    fn name(&self) -> &str {
        match self {
            Source::Ring(r) => r.name(),
            Source::Perf(p) => p.name(),
        }
    }
}

/// Many ring buffers and perf buffers on one epoll.
#[derive(Debug)]
pub struct EventPoller {
    epoll: Epoll,
    sources: Vec<Source>,
    ready: Vec<u64>,
}

/// Epoll token of source `src`, CPU ring `ring` (0 for ring buffers).
fn token(src: usize, ring: usize) -> u64 {
    ((src as u64) << 32) | ring as u64
}

fn timeout_ms(timeout: Option<Duration>) -> i32 {
    match timeout {
        None => -1,
        Some(d) => i32::try_from(d.as_nanos().div_ceil(1_000_000)).unwrap_or(i32::MAX),
    }
}

impl EventPoller {
    /// An empty poller with its own epoll.
    pub fn new() -> Result<Self> {
        Ok(EventPoller {
            epoll: Epoll::new().map_err(|e| Error::kernel("(event poller)", e))?,
            sources: Vec::new(),
            ready: Vec::with_capacity(16),
        })
    }

    /// Adds a ring buffer reader; returns its index in [`EventPoller::stats`].
    pub fn add_ringbuf(&mut self, ring: RingBuf) -> Result<usize> {
        let i = self.sources.len();
        self.epoll
            .add(ring.as_fd(), token(i, 0))
            .map_err(|e| Error::kernel(ring.name(), e))?;
        self.sources.push(Source::Ring(ring));
        Ok(i)
    }

    /// Adds a perf buffer reader (every CPU's ring); returns its index in
    /// [`EventPoller::stats`].
    pub fn add_perf(&mut self, perf: PerfBuffer) -> Result<usize> {
        let i = self.sources.len();
        for (r, cpu) in perf.cpus().enumerate() {
            if let Some(fd) = perf.cpu_fd(cpu) {
                self.epoll
                    .add(fd, token(i, r))
                    .map_err(|e| Error::kernel(&format!("{} (cpu {cpu})", perf.name()), e))?;
            }
        }
        self.sources.push(Source::Perf(perf));
        Ok(i)
    }

    /// Number of sources.
    pub fn len(&self) -> usize {
        self.sources.len()
    }

    /// True if no source was added.
    pub fn is_empty(&self) -> bool {
        self.sources.is_empty()
    }

    /// The counters of every source, in the order they were added.
    pub fn stats(&self) -> Vec<SourceStats> {
        self.sources
            .iter()
            .map(|s| match s {
                Source::Ring(r) => {
                    let st = r.stats();
                    SourceStats {
                        name: r.name().to_owned(),
                        kind: SourceKind::RingBuf,
                        records: st.records,
                        bytes: st.bytes,
                        discarded: st.discarded,
                        lost: 0,
                    }
                }
                Source::Perf(p) => {
                    let st = p.stats();
                    SourceStats {
                        name: p.name().to_owned(),
                        kind: SourceKind::PerfBuffer,
                        records: st.records,
                        bytes: st.bytes,
                        discarded: 0,
                        lost: st.lost,
                    }
                }
            })
            .collect()
    }

    /// Drains every source once, calling `f(source, cpu, record)` (`cpu` is `None` for
    /// ring buffers). Returns the number of records.
    pub fn consume(&mut self, mut f: impl FnMut(&str, Option<usize>, &[u8])) -> Result<usize> {
        let mut n = 0;
        for i in 0..self.sources.len() {
            n += self.consume_source(i, None, &mut f)?;
        }
        Ok(n)
    }

    fn consume_source(
        &mut self,
        i: usize,
        ring: Option<usize>,
        f: &mut impl FnMut(&str, Option<usize>, &[u8]),
    ) -> Result<usize> {
        let Some(src) = self.sources.get_mut(i) else {
            return Ok(0);
        };
        match src {
            Source::Ring(r) => {
                let name = r.name().to_owned();
                r.consume(|d| f(&name, None, d))
            }
            Source::Perf(p) => {
                let name = p.name().to_owned();
                let mut g = |cpu: u32, d: &[u8]| f(&name, Some(cpu as usize), d);
                match ring {
                    Some(r) => p.consume_ring_at(r, &mut g),
                    None => p.consume(g),
                }
            }
        }
    }

    /// [`EventPoller::consume`]; if nothing was there, waits up to `timeout` (`None` =
    /// forever) for a wake-up and drains the sources (and CPU rings) that woke. Returns the
    /// number of records. Producers that do not wake readers (`BPF_RB_NO_WAKEUP`, perf
    /// watermarks) are read at the next call: poll with a timeout.
    pub fn poll(
        &mut self,
        timeout: Option<Duration>,
        mut f: impl FnMut(&str, Option<usize>, &[u8]),
    ) -> Result<usize> {
        let n = self.consume(&mut f)?;
        if n > 0 || self.sources.is_empty() {
            return Ok(n);
        }
        self.ready.clear();
        self.epoll
            .wait(&mut self.ready, timeout_ms(timeout))
            .map_err(|e| Error::kernel("(event poller)", e))?;
        let ready = std::mem::take(&mut self.ready);
        let mut n = 0;
        let mut result = Ok(());
        for &t in &ready {
            let (src, ring) = ((t >> 32) as usize, (t & 0xffff_ffff) as usize);
            match self.consume_source(src, Some(ring), &mut f) {
                Ok(k) => n += k,
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
        }
        self.ready = ready;
        result.map(|()| n)
    }

    /// The name of source `index` (as [`EventPoller::stats`] orders them).
    pub fn source_name(&self, index: usize) -> Option<&str> {
        self.sources.get(index).map(Source::name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_keep_source_and_cpu_ring_apart() {
        let t = token(3, 17);
        assert_eq!(t >> 32, 3);
        assert_eq!(t & 0xffff_ffff, 17);
        assert_ne!(token(1, 0), token(0, 1));
    }

    #[test]
    fn an_empty_poller_returns_at_once() {
        let Ok(mut p) = EventPoller::new() else {
            return; // no epoll in this sandbox: nothing to check
        };
        assert!(p.is_empty());
        let n = p
            .poll(Some(Duration::from_secs(5)), |_, _, _| panic!("no sources"))
            .unwrap();
        assert_eq!(n, 0);
        assert!(p.stats().is_empty());
    }
}

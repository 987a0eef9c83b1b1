//! [`PerfBuffer`]: the reader of a `BPF_MAP_TYPE_PERF_EVENT_ARRAY` — one
//! `PERF_COUNT_SW_BPF_OUTPUT` event with an mmap'd ring per CPU, stored in the map at
//! key = CPU, all on one epoll.
//!
//! Samples are handed out borrowed from the ring; only a sample that wraps the ring's end
//! is copied (into one scratch buffer reused for every such sample). `PERF_RECORD_LOST`
//! records are counted per CPU ([`PerfBuffer::cpu_stats`]) and in total
//! ([`PerfBuffer::stats`]): every sample a program produced is either delivered or counted
//! lost.

use std::os::fd::BorrowedFd;
use std::time::Duration;

use oxbpf_sys::epoll::Epoll;
use oxbpf_sys::perf::{self, PerfEventAttr};
use oxbpf_sys::perf_ring::{PerfRecord, PerfRingMemory};
use oxbpf_sys::{Errno, MapFd, PerfEventFd, bpf};

use crate::error::{Error, Result};
use crate::map::{Map, map_type};

/// When the kernel wakes a waiting reader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wakeup {
    /// After every `n` samples (`wakeup_events`; 1 = every sample).
    Events(u32),
    /// When at least this many bytes are pending (`watermark` + `wakeup_watermark`).
    Bytes(u32),
}

/// Options of [`PerfBuffer::new`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PerfBufferOptions {
    /// Data pages of each CPU's ring (a power of two); the mapping is one page more.
    pub pages_per_cpu: usize,
    /// When readers blocked in [`PerfBuffer::poll`] are woken.
    pub wakeup: Wakeup,
}

impl Default for PerfBufferOptions {
    fn default() -> Self {
        PerfBufferOptions {
            pages_per_cpu: 64,
            wakeup: Wakeup::Events(1),
        }
    }
}

/// Counters of a [`PerfBuffer`] (for one CPU or all).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PerfStats {
    /// Samples handed out.
    pub records: u64,
    /// Raw bytes of those samples.
    pub bytes: u64,
    /// Samples the kernel dropped because the ring was full (`PERF_RECORD_LOST`).
    pub lost: u64,
    /// Samples that wrapped the ring's end and were copied.
    pub wrapped: u64,
}

#[derive(Debug)]
struct CpuRing {
    cpu: u32,
    mem: PerfRingMemory,
    fd: PerfEventFd,
    stats: PerfStats,
}

/// The reader of one perf event array: a ring per online possible CPU, one epoll.
/// Dropping it removes its events from the map.
#[derive(Debug)]
pub struct PerfBuffer {
    name: String,
    map: MapFd,
    rings: Vec<CpuRing>,
    epoll: Epoll,
    scratch: Vec<u8>,
    ready: Vec<u64>,
}

fn timeout_ms(timeout: Option<Duration>) -> i32 {
    match timeout {
        None => -1,
        Some(d) => i32::try_from(d.as_nanos().div_ceil(1_000_000)).unwrap_or(i32::MAX),
    }
}

impl PerfBuffer {
    /// Opens a `PERF_COUNT_SW_BPF_OUTPUT` event with `opts.pages_per_cpu` data pages on
    /// every possible CPU below the map's `max_entries` (CPUs that are offline, ENODEV,
    /// are skipped), maps its ring, stores its descriptor in `map` at key = CPU and
    /// watches it on one epoll.
    pub fn new(map: &Map, opts: PerfBufferOptions) -> Result<PerfBuffer> {
        let name = map.name().to_owned();
        if map.def().map_type != map_type::PERF_EVENT_ARRAY {
            return Err(Error::WrongType {
                map: name,
                got: map.def().map_type,
                want: "PerfBuffer",
                expected: "perf_event_array",
            });
        }
        if opts.pages_per_cpu == 0 || !opts.pages_per_cpu.is_power_of_two() {
            return Err(Error::Ring {
                map: name,
                source: oxbpf_sys::Error::Invalid(format!(
                    "pages_per_cpu {} is not a power of two",
                    opts.pages_per_cpu
                )),
            });
        }
        let k = |e| Error::kernel(&name, e);
        let cpus = oxbpf_sys::possible_cpus().map_err(k)?;
        let cpus = cpus.min(map.def().max_entries as usize);
        let mut attr = PerfEventAttr {
            type_: perf::TYPE_SOFTWARE,
            config: perf::COUNT_SW_BPF_OUTPUT,
            sample_period: 1,
            sample_type: perf::SAMPLE_RAW,
            ..Default::default()
        };
        match opts.wakeup {
            Wakeup::Events(n) => attr.wakeup = n.max(1),
            Wakeup::Bytes(n) => {
                attr.flags |= perf::ATTR_WATERMARK;
                attr.wakeup = n.max(1);
            }
        }
        let epoll = Epoll::new().map_err(k)?;
        let mut rings = Vec::with_capacity(cpus);
        let mapfd = map.map_fd().try_clone().map_err(k)?;
        let mut buf = PerfBuffer {
            name: name.clone(),
            map: mapfd,
            rings: Vec::new(),
            epoll,
            scratch: Vec::new(),
            ready: Vec::with_capacity(16),
        };
        for cpu in 0..cpus {
            let fd = match perf::perf_event_open(&attr, -1, cpu as i32) {
                Ok(fd) => fd,
                Err(e) if e.errno() == Some(Errno::ENODEV) => continue,
                Err(e) => return Err(k(e)),
            };
            let mem = PerfRingMemory::map(fd.as_fd(), opts.pages_per_cpu).map_err(k)?;
            let key = (cpu as u32).to_ne_bytes();
            let val = (fd.raw() as u32).to_ne_bytes();
            bpf::map_update_elem(buf.map.as_fd(), &key, &val, 0).map_err(k)?;
            buf.epoll.add(fd.as_fd(), rings.len() as u64).map_err(k)?;
            perf::enable(fd.as_fd()).map_err(k)?;
            rings.push(CpuRing {
                cpu: cpu as u32,
                mem,
                fd,
                stats: PerfStats::default(),
            });
        }
        buf.rings = rings;
        Ok(buf)
    }

    /// The map's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The CPUs with a ring, in order.
    pub fn cpus(&self) -> impl Iterator<Item = u32> + '_ {
        self.rings.iter().map(|r| r.cpu)
    }

    /// The perf event descriptor of `cpu`'s ring (readable when woken), if it has one.
    pub fn cpu_fd(&self, cpu: u32) -> Option<BorrowedFd<'_>> {
        self.rings
            .iter()
            .find(|r| r.cpu == cpu)
            .map(|r| r.fd.as_fd())
    }

    /// Counters summed over all CPUs.
    pub fn stats(&self) -> PerfStats {
        self.rings
            .iter()
            .fold(PerfStats::default(), |a, r| PerfStats {
                records: a.records + r.stats.records,
                bytes: a.bytes + r.stats.bytes,
                lost: a.lost + r.stats.lost,
                wrapped: a.wrapped + r.stats.wrapped,
            })
    }

    /// Counters of `cpu`'s ring (`None` if it has none).
    pub fn cpu_stats(&self, cpu: u32) -> Option<PerfStats> {
        self.rings.iter().find(|r| r.cpu == cpu).map(|r| r.stats)
    }

    /// Bytes written by the kernel and not consumed yet, over all CPUs.
    pub fn pending_bytes(&self) -> u64 {
        self.rings
            .iter()
            .map(|r| r.mem.head().saturating_sub(r.mem.tail()))
            .sum()
    }

    /// Calls `f(cpu, sample)` for every sample in every CPU's ring, in order per CPU,
    /// counting lost records, and gives the space back (one release store of `data_tail`
    /// per batch). Returns the number of samples.
    pub fn consume(&mut self, mut f: impl FnMut(u32, &[u8])) -> Result<usize> {
        let mut n = 0;
        for i in 0..self.rings.len() {
            n += self.consume_ring(i, &mut f)?;
        }
        Ok(n)
    }

    /// Drains the CPU ring at position `i` of [`PerfBuffer::cpus`] (for [`crate::EventPoller`]).
    pub(crate) fn consume_ring_at(
        &mut self,
        i: usize,
        f: &mut impl FnMut(u32, &[u8]),
    ) -> Result<usize> {
        self.consume_ring(i, f)
    }

    fn consume_ring(&mut self, i: usize, f: &mut impl FnMut(u32, &[u8])) -> Result<usize> {
        let Some(ring) = self.rings.get_mut(i) else {
            return Ok(0);
        };
        let scratch = &mut self.scratch;
        let cpu = ring.cpu;
        let mem = &ring.mem;
        let size = mem.size();
        let mut tail = mem.tail();
        let start = tail;
        let (mut records, mut bytes, mut lost, mut wrapped) = (0u64, 0u64, 0u64, 0u64);
        let mut result = Ok(());
        loop {
            let head = mem.head();
            if tail >= head {
                break;
            }
            let (pos, r) = mem.walk(tail, head, scratch, |rec, w| match rec {
                PerfRecord::Sample(data) => {
                    f(cpu, data);
                    records += 1;
                    bytes += data.len() as u64;
                    wrapped += u64::from(w);
                }
                PerfRecord::Lost(l) => lost += l,
                PerfRecord::Other(_) => {}
            });
            tail = pos;
            mem.set_tail(tail);
            if let Err(e) = r {
                result = Err(Error::Ring {
                    map: format!("{} (cpu {cpu})", self.name),
                    source: e,
                });
                break;
            }
            // A producer that never pauses cannot keep one ring's drain running forever.
            if tail - start >= size {
                break;
            }
        }
        mem.set_tail(tail);
        ring.stats.records += records;
        ring.stats.bytes += bytes;
        ring.stats.lost += lost;
        ring.stats.wrapped += wrapped;
        result.map(|()| records as usize)
    }

    /// [`PerfBuffer::consume`]; if that found nothing, waits up to `timeout` (`None` =
    /// forever) for a wake-up and consumes the rings that woke. Returns the number of
    /// samples.
    pub fn poll(
        &mut self,
        timeout: Option<Duration>,
        mut f: impl FnMut(u32, &[u8]),
    ) -> Result<usize> {
        let n = self.consume(&mut f)?;
        if n > 0 || self.rings.is_empty() {
            return Ok(n);
        }
        self.ready.clear();
        self.epoll
            .wait(&mut self.ready, timeout_ms(timeout))
            .map_err(|e| Error::kernel(&self.name, e))?;
        let ready = std::mem::take(&mut self.ready);
        let mut n = 0;
        for &t in &ready {
            if let Ok(i) = usize::try_from(t) {
                n += self.consume_ring(i, &mut f)?;
            }
        }
        self.ready = ready;
        Ok(n)
    }

    /// The epoll descriptor, readable when any ring woke (to nest in another epoll).
    pub fn epoll(&self) -> &Epoll {
        &self.epoll
    }
}

impl Drop for PerfBuffer {
    fn drop(&mut self) {
        for r in &self.rings {
            let _ = bpf::map_delete_elem(self.map.as_fd(), &r.cpu.to_ne_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_options_are_a_power_of_two_waking_per_sample() {
        let o = PerfBufferOptions::default();
        assert!(o.pages_per_cpu.is_power_of_two());
        assert_eq!(o.wakeup, Wakeup::Events(1));
    }
}

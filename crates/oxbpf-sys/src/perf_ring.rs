//! The shared-memory protocol of a perf event ring (`perf_event_open` + mmap), as used by
//! `BPF_MAP_TYPE_PERF_EVENT_ARRAY` outputs (`bpf_perf_event_output`).
//!
//! Layout (include/uapi/linux/perf_event.h): page 0 is `struct perf_event_mmap_page`, whose
//! `data_head` (offset 1024; the kernel's write position, read with acquire) and
//! `data_tail` (offset 1032; ours, published with release) delimit the records; the data
//! area of `2^n` pages follows (`data_offset`/`data_size` at 1040/1048 since 4.1). The data
//! area is mapped once, so a record may wrap from its end to its start. Every record starts
//! with `struct perf_event_header { u32 type; u16 misc; u16 size; }`; sizes are multiples
//! of 8, so a header never wraps. `PERF_RECORD_SAMPLE` with `PERF_SAMPLE_RAW` carries a
//! u32 size then the raw bytes; `PERF_RECORD_LOST` carries u64 id then u64 lost count.

use std::os::fd::BorrowedFd;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::mmap::{MmapRegion, Prot};
use crate::{Error, Result};

/// `PERF_RECORD_LOST`.
pub const RECORD_LOST: u32 = 2;
/// `PERF_RECORD_SAMPLE`.
pub const RECORD_SAMPLE: u32 = 9;
/// Size of `struct perf_event_header`.
pub const HEADER_SIZE: u64 = 8;

const DATA_HEAD: usize = 1024;
const DATA_TAIL: usize = 1032;
const DATA_OFFSET: usize = 1040;
const DATA_SIZE: usize = 1048;

/// One record of a perf ring.
#[derive(Debug, PartialEq, Eq)]
pub enum PerfRecord<'a> {
    /// `PERF_RECORD_SAMPLE`: the raw bytes (as the kernel sized them: the program's data
    /// plus up to 7 bytes of alignment padding; `size` in the record is what is returned).
    Sample(&'a [u8]),
    /// `PERF_RECORD_LOST`: this many samples were dropped because the ring was full.
    Lost(u64),
    /// Another record type (not produced by BPF output events); skipped.
    Other(u32),
}

/// The mapping of one perf event ring: the control page and `2^n` data pages.
#[derive(Debug)]
pub struct PerfRingMemory {
    region: MmapRegion,
    data_off: usize,
    mask: u64,
}

impl PerfRingMemory {
    /// Maps perf event `fd` with `pages` data pages (a power of two) after the control
    /// page, read-write (a read-only mapping would put the ring in overwrite mode).
    pub fn map(fd: BorrowedFd<'_>, pages: usize) -> Result<Self> {
        if pages == 0 || !pages.is_power_of_two() {
            return Err(Error::Invalid(format!(
                "perf ring of {pages} data pages: must be a power of two"
            )));
        }
        let page = crate::page_size();
        let len = pages
            .checked_add(1)
            .and_then(|n| n.checked_mul(page))
            .ok_or_else(|| Error::Invalid(format!("perf ring of {pages} pages overflows")))?;
        let region = MmapRegion::map(fd, len, 0, Prot::ReadWrite)?;
        Self::from_region(region, page)
    }

    /// Wraps a mapping whose first `page` bytes are the control page; uses the kernel's
    /// `data_offset`/`data_size` when set (4.1+), else the rest of the mapping.
    pub fn from_region(region: MmapRegion, page: usize) -> Result<Self> {
        let mut off = region.atomic_u64(DATA_OFFSET)?.load(Ordering::Relaxed) as usize;
        let mut size = region.atomic_u64(DATA_SIZE)?.load(Ordering::Relaxed) as usize;
        if size == 0 {
            off = page;
            size = region.len().saturating_sub(page);
        }
        if size == 0
            || !size.is_power_of_two()
            || off.checked_add(size).is_none_or(|e| e > region.len())
        {
            return Err(Error::Invalid(format!(
                "perf ring: data area of {size} bytes at offset {off} does not fit the {}-byte mapping or is not a power of two",
                region.len()
            )));
        }
        Ok(PerfRingMemory {
            region,
            data_off: off,
            mask: size as u64 - 1,
        })
    }

    #[inline]
    fn word(&self, off: usize) -> &AtomicU64 {
        self.region
            .atomic_u64(off)
            .expect("the control page holds data_head and data_tail")
    }

    /// `data_head`, the kernel's write position (acquire: the records before it are
    /// complete).
    #[inline]
    pub fn head(&self) -> u64 {
        self.word(DATA_HEAD).load(Ordering::Acquire)
    }

    /// `data_tail`, the consumer position (only the consumer writes it).
    #[inline]
    pub fn tail(&self) -> u64 {
        self.word(DATA_TAIL).load(Ordering::Relaxed)
    }

    /// Publishes `data_tail` (release), giving the space before it back to the kernel.
    #[inline]
    pub fn set_tail(&self, pos: u64) {
        self.word(DATA_TAIL).store(pos, Ordering::Release)
    }

    /// Size of the data area in bytes.
    #[inline]
    pub fn size(&self) -> u64 {
        self.mask + 1
    }

    /// Copies `dst.len()` bytes at ring position `pos` (wrapping at the end).
    fn copy_wrapped(&self, pos: u64, dst: &mut [u8]) -> Result<()> {
        let start = (pos & self.mask) as usize;
        let first = dst.len().min(self.size() as usize - start);
        let (a, b) = dst.split_at_mut(first);
        self.region.read(self.data_off + start, a)?;
        self.region.read(self.data_off, b)
    }

    /// Bytes `len` at ring position `pos`: borrowed from the ring when contiguous, copied
    /// into `scratch` when they wrap.
    #[inline]
    fn span<'a>(&'a self, pos: u64, len: usize, scratch: &'a mut Vec<u8>) -> Result<&'a [u8]> {
        let start = (pos & self.mask) as usize;
        if start + len <= self.size() as usize {
            return self.region.bytes(self.data_off + start, len);
        }
        scratch.clear();
        scratch.resize(len, 0);
        self.copy_wrapped(pos, scratch)?;
        Ok(scratch)
    }

    /// The record at `pos` given a `head` read before: the record and its total size to
    /// advance by, or `None` if `pos` reached `head`. A header that claims less than its
    /// own size, more than `head - pos`, or a sample whose raw size exceeds its record is an
    /// error naming the position.
    #[inline]
    pub fn next<'a>(
        &'a self,
        pos: u64,
        head: u64,
        scratch: &'a mut Vec<u8>,
    ) -> Result<Option<(PerfRecord<'a>, u64)>> {
        if pos >= head {
            return Ok(None);
        }
        let start = (pos & self.mask) as usize;
        let hdr = self.region.bytes(self.data_off + start, 8)?;
        let ty = u32::from_ne_bytes([hdr[0], hdr[1], hdr[2], hdr[3]]);
        let size = u64::from(u16::from_ne_bytes([hdr[6], hdr[7]]));
        if size < HEADER_SIZE || size > head - pos {
            return Err(Error::Invalid(format!(
                "perf ring record at position {pos} (type {ty}) claims {size} bytes, {} are available",
                head - pos
            )));
        }
        let rec = match ty {
            RECORD_SAMPLE => {
                let mut w = [0u8; 4];
                if size < HEADER_SIZE + 4 {
                    return Err(Error::Invalid(format!(
                        "perf ring sample at position {pos} is {size} bytes, too short for its raw size"
                    )));
                }
                self.copy_wrapped(pos + HEADER_SIZE, &mut w)?;
                let raw = u64::from(u32::from_ne_bytes(w));
                if HEADER_SIZE + 4 + raw > size {
                    return Err(Error::Invalid(format!(
                        "perf ring sample at position {pos} claims {raw} raw bytes in a {size}-byte record"
                    )));
                }
                PerfRecord::Sample(self.span(pos + HEADER_SIZE + 4, raw as usize, scratch)?)
            }
            RECORD_LOST => {
                if size < HEADER_SIZE + 16 {
                    return Err(Error::Invalid(format!(
                        "perf ring lost record at position {pos} is {size} bytes, needs 24"
                    )));
                }
                let mut w = [0u8; 8];
                self.copy_wrapped(pos + HEADER_SIZE + 8, &mut w)?;
                PerfRecord::Lost(u64::from_ne_bytes(w))
            }
            other => PerfRecord::Other(other),
        };
        Ok(Some((rec, size)))
    }

    /// Walks the records from `pos` up to `head` (read before), calling `f` on each with
    /// the record and whether it was copied because it wrapped the ring's end. Returns the
    /// position after the last complete record, and the error that stopped the walk
    /// early, if any (a corrupt record is not skipped). The hot path of the reader: one
    /// bounds-checked view of the data area, no allocation unless a sample wraps.
    #[inline]
    pub fn walk(
        &self,
        mut pos: u64,
        head: u64,
        scratch: &mut Vec<u8>,
        mut f: impl FnMut(PerfRecord<'_>, bool),
    ) -> (u64, Result<()>) {
        let size = self.size() as usize;
        let data = match self.region.bytes(self.data_off, size) {
            Ok(d) => d,
            Err(e) => return (pos, Err(e)),
        };
        let mask = self.mask as usize;
        while pos < head {
            let off = pos as usize & mask;
            let Some(hdr) = data.get(off..off + 8) else {
                return (pos, Err(self.bad(pos, "header is misaligned")));
            };
            let ty = u32::from_ne_bytes([hdr[0], hdr[1], hdr[2], hdr[3]]);
            let len = u16::from_ne_bytes([hdr[6], hdr[7]]) as usize;
            if len < HEADER_SIZE as usize || len as u64 > head - pos {
                return (pos, Err(self.bad(pos, "size does not fit")));
            }
            if ty == RECORD_SAMPLE && len >= 16 {
                // The raw size follows the header: 8-aligned, so it never straddles.
                let so = (off + 8) & mask;
                let Some(w) = data.get(so..so + 4) else {
                    return (pos, Err(self.bad(pos, "raw size is misaligned")));
                };
                let raw = u32::from_ne_bytes([w[0], w[1], w[2], w[3]]) as usize;
                if 12 + raw > len {
                    return (pos, Err(self.bad(pos, "raw size exceeds the record")));
                }
                let start = (off + 12) & mask;
                if start + raw <= size {
                    f(PerfRecord::Sample(&data[start..start + raw]), false);
                } else {
                    scratch.clear();
                    scratch.extend_from_slice(&data[start..]);
                    scratch.extend_from_slice(&data[..raw - (size - start)]);
                    f(PerfRecord::Sample(scratch), true);
                }
            } else if ty == RECORD_LOST && len >= 24 {
                let lo = (off + 16) & mask;
                let Some(w) = data.get(lo..lo + 8) else {
                    return (pos, Err(self.bad(pos, "lost count is misaligned")));
                };
                let mut b = [0u8; 8];
                b.copy_from_slice(w);
                f(PerfRecord::Lost(u64::from_ne_bytes(b)), false);
            } else if ty == RECORD_SAMPLE || ty == RECORD_LOST {
                return (pos, Err(self.bad(pos, "record is too short for its type")));
            } else {
                f(PerfRecord::Other(ty), false);
            }
            pos += len as u64;
        }
        (pos, Ok(()))
    }

    fn bad(&self, pos: u64, what: &str) -> Error {
        Error::Invalid(format!("perf ring record at position {pos}: {what}"))
    }

    /// The raw mapping (control page and data area), e.g. to write test records.
    pub fn region(&self) -> &MmapRegion {
        &self.region
    }

    /// Offset of the data area in [`PerfRingMemory::region`].
    pub fn data_offset(&self) -> usize {
        self.data_off
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsFd;

    /// An anonymous-memory stand-in for a perf ring: memfd of one control page and
    /// `data` bytes of data area.
    fn fake(data: usize) -> PerfRingMemory {
        let page = crate::page_size();
        let fd = memfd(page + data);
        let region = MmapRegion::map(fd.as_fd(), page + data, 0, Prot::ReadWrite).unwrap();
        PerfRingMemory::from_region(region, page).unwrap()
    }

    fn memfd(len: usize) -> std::os::fd::OwnedFd {
        use std::os::fd::FromRawFd;
        // SAFETY: a NUL-terminated name; the result is checked before use.
        let fd = unsafe { libc::memfd_create(c"perf-ring-test".as_ptr(), libc::MFD_CLOEXEC) };
        assert!(fd >= 0);
        // SAFETY: `fd` is a fresh descriptor we own.
        let fd = unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) };
        std::fs::File::from(fd.try_clone().unwrap())
            .set_len(len as u64)
            .unwrap();
        fd
    }

    fn put(ring: &PerfRingMemory, pos: u64, bytes: &[u8]) {
        for (i, b) in bytes.iter().enumerate() {
            let off = ring.data_offset() + ((pos + i as u64) & ring.mask) as usize;
            ring.region().write(off, &[*b]).unwrap();
        }
    }

    fn sample(payload: &[u8]) -> Vec<u8> {
        let size = (8 + 4 + payload.len()).div_ceil(8) * 8;
        let mut r = Vec::new();
        r.extend(RECORD_SAMPLE.to_ne_bytes());
        r.extend(0u16.to_ne_bytes());
        r.extend((size as u16).to_ne_bytes());
        r.extend((payload.len() as u32).to_ne_bytes());
        r.extend(payload);
        r.resize(size, 0);
        r
    }

    #[test]
    fn reads_samples_and_lost_records() {
        let ring = fake(4096);
        let s = sample(b"hello");
        put(&ring, 0, &s);
        let mut lost = Vec::new();
        lost.extend(RECORD_LOST.to_ne_bytes());
        lost.extend(0u16.to_ne_bytes());
        lost.extend(24u16.to_ne_bytes());
        lost.extend(0u64.to_ne_bytes());
        lost.extend(17u64.to_ne_bytes());
        put(&ring, s.len() as u64, &lost);
        let head = (s.len() + lost.len()) as u64;
        let mut scratch = Vec::new();
        let (r, n) = ring.next(0, head, &mut scratch).unwrap().unwrap();
        assert_eq!(r, PerfRecord::Sample(b"hello"));
        assert_eq!(n, s.len() as u64);
        let (r, n) = ring.next(24, head, &mut scratch).unwrap().unwrap();
        assert_eq!((r, n), (PerfRecord::Lost(17), 24));
        assert!(ring.next(head, head, &mut scratch).unwrap().is_none());
    }

    #[test]
    fn copies_a_sample_that_wraps_the_ring_end() {
        let ring = fake(4096);
        let payload: Vec<u8> = (0..100u8).collect();
        let s = sample(&payload);
        let pos = 4096 - 48 + 4096 * 3; // 48 bytes before the end, third lap
        put(&ring, pos, &s);
        let mut scratch = Vec::new();
        let (r, n) = ring
            .next(pos, pos + s.len() as u64, &mut scratch)
            .unwrap()
            .unwrap();
        assert_eq!(r, PerfRecord::Sample(&payload[..]));
        assert_eq!(n, s.len() as u64);
    }

    #[test]
    fn rejects_record_larger_than_available() {
        let ring = fake(4096);
        let s = sample(&[1; 32]);
        put(&ring, 0, &s);
        let mut scratch = Vec::new();
        let e = ring.next(0, 16, &mut scratch).unwrap_err().to_string();
        assert!(e.contains("position 0") && e.contains("claims 48"), "{e}");
    }

    #[test]
    fn rejects_raw_size_past_record_and_tiny_headers() {
        let ring = fake(4096);
        let mut s = sample(&[1; 8]);
        s[8..12].copy_from_slice(&100u32.to_ne_bytes());
        put(&ring, 0, &s);
        let mut scratch = Vec::new();
        let e = ring.next(0, 4096, &mut scratch).unwrap_err().to_string();
        assert!(e.contains("claims 100 raw bytes"), "{e}");
        put(&ring, 0, &[9, 0, 0, 0, 0, 0, 4, 0]);
        assert!(ring.next(0, 4096, &mut scratch).is_err());
    }

    #[test]
    fn walk_agrees_with_next_and_flags_wrapped_samples() {
        let ring = fake(4096);
        let mut pos = 4096 * 2 + 4000;
        let start = pos;
        let mut want = Vec::new();
        for i in 0..5u8 {
            let payload = vec![i; 60];
            let s = sample(&payload);
            put(&ring, pos, &s);
            pos += s.len() as u64;
            want.push(payload);
        }
        let mut scratch = Vec::new();
        let mut got = Vec::new();
        let mut wrapped = 0;
        let (end, r) = ring.walk(start, pos, &mut scratch, |rec, w| {
            if let PerfRecord::Sample(d) = rec {
                got.push(d.to_vec());
            }
            wrapped += usize::from(w);
        });
        r.unwrap();
        assert_eq!((end, got, wrapped), (pos, want, 1));
    }

    #[test]
    fn walk_stops_at_a_corrupt_record_keeping_the_position() {
        let ring = fake(4096);
        let s = sample(&[7; 8]);
        put(&ring, 0, &s);
        put(&ring, s.len() as u64, &[9, 0, 0, 0, 0, 0, 200, 0]);
        let mut scratch = Vec::new();
        let mut n = 0;
        let (end, r) = ring.walk(0, 64, &mut scratch, |_, _| n += 1);
        assert_eq!((end, n), (s.len() as u64, 1));
        assert!(r.unwrap_err().to_string().contains("position 24"));
    }

    #[test]
    fn refuses_non_power_of_two_pages() {
        let fd = memfd(4096);
        assert!(PerfRingMemory::map(fd.as_fd(), 3).is_err());
        assert!(PerfRingMemory::map(fd.as_fd(), 0).is_err());
    }

    #[test]
    fn tail_round_trips() {
        let ring = fake(4096);
        ring.set_tail(4104);
        assert_eq!(ring.tail(), 4104);
        assert_eq!(ring.head(), 0);
        assert_eq!(ring.size(), 4096);
    }
}

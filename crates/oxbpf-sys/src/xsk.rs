//! A minimal AF_XDP socket (receive only, copy mode): the socket, its UMEM, the fill,
//! completion and RX rings mmap'd at the kernel's offsets, bound to one device queue —
//! enough for an XDP program's `bpf_redirect_map` into an XSKMAP to deliver frames that
//! user space reads. Layouts and constants are those of `include/uapi/linux/if_xdp.h`
//! (as the `libc` crate defines them); `XDP_MMAP_OFFSETS` answers in the 5.4+ layout
//! (with a `flags` word per ring) or the older one, and both are understood.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::ptr::NonNull;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crate::mmap::{MmapRegion, Prot};
use crate::{Errno, Error, Result};

/// Bytes per UMEM frame (one page: the aligned chunk mode's natural size).
pub const FRAME_SIZE: u32 = 4096;

/// Size of one RX/TX descriptor (`struct xdp_desc`: u64 addr, u32 len, u32 options).
const DESC_SIZE: usize = std::mem::size_of::<libc::xdp_desc>();
/// Size of one fill/completion ring entry (a u64 UMEM address).
const ADDR_SIZE: usize = std::mem::size_of::<u64>();

/// True if this kernel makes AF_XDP sockets (`socket(AF_XDP)` is not `EAFNOSUPPORT`);
/// other failures (such as `EPERM` without `CAP_NET_RAW`) are errors.
pub fn af_xdp_supported() -> Result<bool> {
    match open_socket() {
        Ok(_) => Ok(true),
        Err(e) if e.errno() == Some(Errno(libc::EAFNOSUPPORT)) => Ok(false),
        Err(e) => Err(e),
    }
}

fn open_socket() -> Result<OwnedFd> {
    // SAFETY: socket(2) takes no pointers; the result is checked before use.
    let fd = unsafe { libc::socket(libc::AF_XDP, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(Error::last("socket(AF_XDP)"));
    }
    // SAFETY: `fd` is a fresh descriptor nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// `setsockopt(SOL_XDP, name)` with `value`'s bytes.
fn set_opt<T>(
    sock: BorrowedFd<'_>,
    name: libc::c_int,
    value: &T,
    call: &'static str,
) -> Result<()> {
    // SAFETY: `value` is a live `T` and the length passed is its size; the kernel only
    // reads it; `sock` is valid for the call.
    let r = unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            libc::SOL_XDP,
            name,
            (value as *const T).cast(),
            std::mem::size_of::<T>() as libc::socklen_t,
        )
    };
    if r < 0 {
        Err(Error::last(call))
    } else {
        Ok(())
    }
}

/// One ring's offsets inside its mmap (`struct xdp_ring_offset`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct RingOffsets {
    producer: usize,
    consumer: usize,
    desc: usize,
}

/// The offsets of the RX, fill and completion rings (`struct xdp_mmap_offsets`; the TX
/// ring is not used).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct MmapOffsets {
    rx: RingOffsets,
    fr: RingOffsets,
    cr: RingOffsets,
}

/// Decodes `XDP_MMAP_OFFSETS`: `words` are the u64s the kernel wrote (`len` bytes). 5.4+
/// writes four rings of {producer, consumer, desc, flags}; older kernels three words each.
fn parse_offsets(words: &[u64; 16], len: usize) -> Result<MmapOffsets> {
    let per_ring = match len {
        l if l == std::mem::size_of::<libc::xdp_mmap_offsets>() => 4,
        l if l == std::mem::size_of::<libc::xdp_mmap_offsets_v1>() => 3,
        l => {
            return Err(Error::Invalid(format!(
                "getsockopt(XDP_MMAP_OFFSETS): unexpected answer of {l} bytes (want 128 or 96)"
            )));
        }
    };
    let ring = |i: usize| -> Result<RingOffsets> {
        let w = &words[i * per_ring..i * per_ring + 3];
        let conv = |v: u64| {
            usize::try_from(v).map_err(|_| {
                Error::Invalid(format!(
                    "getsockopt(XDP_MMAP_OFFSETS): offset {v:#x} too large"
                ))
            })
        };
        Ok(RingOffsets {
            producer: conv(w[0])?,
            consumer: conv(w[1])?,
            desc: conv(w[2])?,
        })
    };
    // Order in the struct: rx, tx, fr, cr.
    Ok(MmapOffsets {
        rx: ring(0)?,
        fr: ring(2)?,
        cr: ring(3)?,
    })
}

fn mmap_offsets(sock: BorrowedFd<'_>) -> Result<MmapOffsets> {
    let mut words = [0u64; 16];
    let mut len = std::mem::size_of_val(&words) as libc::socklen_t;
    // SAFETY: `words` is 128 writable bytes and `len` says so; the kernel writes at most
    // `len` bytes and stores the length it wrote back into `len`.
    let r = unsafe {
        libc::getsockopt(
            sock.as_raw_fd(),
            libc::SOL_XDP,
            libc::XDP_MMAP_OFFSETS,
            words.as_mut_ptr().cast(),
            &mut len,
        )
    };
    if r < 0 {
        return Err(Error::last("getsockopt(XDP_MMAP_OFFSETS)"));
    }
    parse_offsets(&words, len as usize)
}

/// A ring mmap'd from the socket: its region, offsets and size (a power of two).
#[derive(Debug)]
struct Ring {
    region: MmapRegion,
    off: RingOffsets,
    mask: u32,
}

impl Ring {
    fn map(
        sock: BorrowedFd<'_>,
        off: RingOffsets,
        entries: u32,
        entry_size: usize,
        pgoff: u64,
        call: &'static str,
    ) -> Result<Ring> {
        let len = off.desc + entries as usize * entry_size;
        let pgoff = usize::try_from(pgoff)
            .map_err(|_| Error::Invalid(format!("{call}: page offset {pgoff:#x} too large")))?;
        // The error names the ring's page offset, not a bare `mmap`.
        let region = MmapRegion::map(sock, len, pgoff, Prot::ReadWrite).map_err(|e| match e {
            Error::Syscall { errno, .. } => Error::Syscall { call, errno },
            other => other,
        })?;
        Ok(Ring {
            region,
            off,
            mask: entries - 1,
        })
    }

    fn producer(&self) -> Result<&std::sync::atomic::AtomicU32> {
        self.region.atomic_u32(self.off.producer)
    }

    fn consumer(&self) -> Result<&std::sync::atomic::AtomicU32> {
        self.region.atomic_u32(self.off.consumer)
    }

    /// Byte offset of entry `idx` (wrapped) in the region.
    fn entry(&self, idx: u32, size: usize) -> usize {
        self.off.desc + (idx & self.mask) as usize * size
    }
}

/// The UMEM: anonymous, page-aligned, private memory the kernel copies frames into.
#[derive(Debug)]
struct Umem {
    ptr: NonNull<u8>,
    len: usize,
}

// SAFETY: plain memory owned by this value; it is only read through `&self` copies whose
// ranges the kernel has handed to user space (an RX descriptor), and unmapped once.
unsafe impl Send for Umem {}

impl Umem {
    fn new(len: usize) -> Result<Umem> {
        // SAFETY: a fresh anonymous mapping chosen by the kernel aliases no Rust object;
        // the result is checked against MAP_FAILED.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(Error::last("mmap(UMEM)"));
        }
        let ptr = NonNull::new(ptr.cast::<u8>())
            .ok_or_else(|| Error::Invalid("mmap(UMEM) returned NULL".into()))?;
        Ok(Umem { ptr, len })
    }

    /// A copy of `len` bytes at UMEM offset `addr`, bounds-checked.
    fn copy(&self, addr: u64, len: u32) -> Result<Vec<u8>> {
        let start = usize::try_from(addr).unwrap_or(usize::MAX);
        let end = start.checked_add(len as usize);
        if end.is_none_or(|e| e > self.len) {
            return Err(Error::Invalid(format!(
                "AF_XDP RX descriptor {addr:#x}+{len} is outside the {}-byte UMEM",
                self.len
            )));
        }
        let mut out = vec![0u8; len as usize];
        // SAFETY: `start..start + len` is inside the mapping (checked above); the kernel
        // finished writing this frame before publishing its descriptor (the acquire load
        // of the RX producer), and does not reuse it until it is back on the fill ring.
        unsafe {
            std::ptr::copy_nonoverlapping(self.ptr.as_ptr().add(start), out.as_mut_ptr(), out.len())
        };
        Ok(out)
    }
}

impl Drop for Umem {
    fn drop(&mut self) {
        // SAFETY: ptr/len are exactly what mmap returned; no view outlives `self`.
        unsafe { libc::munmap(self.ptr.as_ptr().cast(), self.len) };
    }
}

/// An AF_XDP socket bound to one device queue in copy mode (`XDP_COPY`), receiving into
/// a UMEM of `frames` frames of [`FRAME_SIZE`] bytes. Put it into an XSKMAP with
/// [`as_fd`](XdpSocket::as_fd); read frames with [`recv`](XdpSocket::recv).
#[derive(Debug)]
pub struct XdpSocket {
    // Field order is drop order: rings are unmapped, then the socket closed, then the
    // UMEM (which the kernel keeps pinned until the socket is gone) unmapped.
    rx: Ring,
    fill: Ring,
    _completion: Ring,
    fd: OwnedFd,
    umem: Umem,
    frames: u32,
}

impl XdpSocket {
    /// Creates the socket and its UMEM of `frames` frames (a power of two; also the size
    /// of each ring), binds it to queue `queue` of interface `ifindex` in copy mode and
    /// puts every frame on the fill ring.
    pub fn new(ifindex: u32, queue: u32, frames: u32) -> Result<XdpSocket> {
        if frames == 0 || !frames.is_power_of_two() {
            return Err(Error::Invalid(format!(
                "AF_XDP socket: {frames} frames is not a power of two (ring sizes must be)"
            )));
        }
        let len = (frames as usize)
            .checked_mul(FRAME_SIZE as usize)
            .ok_or_else(|| Error::Invalid(format!("AF_XDP socket: {frames} frames overflow")))?;
        let fd = open_socket()?;
        let umem = Umem::new(len)?;
        // Zeroed, so tx_metadata_len (6.8+) and the flags are 0; the kernel accepts this
        // size since 5.4 and falls back to the v1 layout only for shorter answers.
        // SAFETY: xdp_umem_reg is plain integers, for which all-zero is valid.
        let mut reg: libc::xdp_umem_reg = unsafe { std::mem::zeroed() };
        reg.addr = umem.ptr.as_ptr() as u64;
        reg.len = len as u64;
        reg.chunk_size = FRAME_SIZE;
        reg.headroom = 0;
        set_opt(
            fd.as_fd(),
            libc::XDP_UMEM_REG,
            &reg,
            "setsockopt(XDP_UMEM_REG)",
        )?;
        set_opt(
            fd.as_fd(),
            libc::XDP_UMEM_FILL_RING,
            &frames,
            "setsockopt(XDP_UMEM_FILL_RING)",
        )?;
        set_opt(
            fd.as_fd(),
            libc::XDP_UMEM_COMPLETION_RING,
            &frames,
            "setsockopt(XDP_UMEM_COMPLETION_RING)",
        )?;
        set_opt(
            fd.as_fd(),
            libc::XDP_RX_RING,
            &frames,
            "setsockopt(XDP_RX_RING)",
        )?;
        let off = mmap_offsets(fd.as_fd())?;
        let rx = Ring::map(
            fd.as_fd(),
            off.rx,
            frames,
            DESC_SIZE,
            libc::XDP_PGOFF_RX_RING as u64,
            "mmap(XDP_PGOFF_RX_RING)",
        )?;
        let fill = Ring::map(
            fd.as_fd(),
            off.fr,
            frames,
            ADDR_SIZE,
            libc::XDP_UMEM_PGOFF_FILL_RING,
            "mmap(XDP_UMEM_PGOFF_FILL_RING)",
        )?;
        let completion = Ring::map(
            fd.as_fd(),
            off.cr,
            frames,
            ADDR_SIZE,
            libc::XDP_UMEM_PGOFF_COMPLETION_RING,
            "mmap(XDP_UMEM_PGOFF_COMPLETION_RING)",
        )?;
        let sock = XdpSocket {
            rx,
            fill,
            _completion: completion,
            fd,
            umem,
            frames,
        };
        // Every frame on the fill ring before bind, so the first packets find room.
        for i in 0..frames {
            sock.give_back(u64::from(i) * u64::from(FRAME_SIZE))?;
        }
        // SAFETY: sockaddr_xdp is plain integers, for which all-zero is valid.
        let mut sa: libc::sockaddr_xdp = unsafe { std::mem::zeroed() };
        sa.sxdp_family = libc::AF_XDP as u16;
        sa.sxdp_flags = libc::XDP_COPY;
        sa.sxdp_ifindex = ifindex;
        sa.sxdp_queue_id = queue;
        // SAFETY: `sa` is a live sockaddr_xdp and the length passed is its size; the
        // kernel only reads it.
        let r = unsafe {
            libc::bind(
                sock.fd.as_raw_fd(),
                (&sa as *const libc::sockaddr_xdp).cast(),
                std::mem::size_of::<libc::sockaddr_xdp>() as libc::socklen_t,
            )
        };
        if r < 0 {
            return Err(Error::last("bind(AF_XDP)"));
        }
        Ok(sock)
    }

    /// The socket, for an XSKMAP entry.
    pub fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// The number of UMEM frames (and the size of each ring).
    pub fn frames(&self) -> u32 {
        self.frames
    }

    /// Puts the frame at UMEM offset `addr` on the fill ring.
    fn give_back(&self, addr: u64) -> Result<()> {
        let prod = self.fill.producer()?;
        let cons = self.fill.consumer()?;
        let p = prod.load(Ordering::Relaxed);
        // Acquire: the kernel's reads of entries before its consumer index are done.
        let c = cons.load(Ordering::Acquire);
        if p.wrapping_sub(c) >= self.frames {
            return Err(Error::Invalid(
                "AF_XDP fill ring is full (a frame was given back twice)".into(),
            ));
        }
        self.fill
            .region
            .write(self.fill.entry(p, ADDR_SIZE), &addr.to_ne_bytes())?;
        // Release: the entry is written before the kernel sees the new producer index.
        prod.store(p.wrapping_add(1), Ordering::Release);
        Ok(())
    }

    /// One frame from the RX ring if there is one: copied out, its UMEM frame returned to
    /// the fill ring.
    fn try_recv(&mut self) -> Result<Option<Vec<u8>>> {
        let prod = self.rx.producer()?;
        let cons = self.rx.consumer()?;
        let c = cons.load(Ordering::Relaxed);
        // Acquire: the descriptor and frame bytes are visible once the index is.
        if prod.load(Ordering::Acquire) == c {
            return Ok(None);
        }
        let mut d = [0u8; DESC_SIZE];
        self.rx.region.read(self.rx.entry(c, DESC_SIZE), &mut d)?;
        let addr = u64::from_ne_bytes(d[0..8].try_into().unwrap_or_default());
        let len = u32::from_ne_bytes(d[8..12].try_into().unwrap_or_default());
        let frame = self.umem.copy(addr, len);
        // Release: done with the descriptor before the kernel may overwrite it.
        cons.store(c.wrapping_add(1), Ordering::Release);
        let frame = frame?;
        self.give_back(addr & !u64::from(FRAME_SIZE - 1))?;
        Ok(Some(frame))
    }

    /// Waits up to `timeout` for a frame and returns a copy of its bytes (from the
    /// Ethernet header on), or `None` when none arrived in time.
    pub fn recv(&mut self, timeout: Duration) -> Result<Option<Vec<u8>>> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(f) = self.try_recv()? {
                return Ok(Some(f));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(None);
            }
            let mut pfd = libc::pollfd {
                fd: self.fd.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            let ms = left.as_millis().clamp(1, i32::MAX as u128) as libc::c_int;
            // SAFETY: `pfd` is one live pollfd and the count passed is 1.
            let r = unsafe { libc::poll(&mut pfd, 1, ms) };
            if r < 0 {
                let e = Error::last("poll(AF_XDP)");
                if e.errno() != Some(Errno::EINTR) {
                    return Err(e);
                }
            }
        }
    }
}

impl AsFd for XdpSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_5_4_offsets_layout_with_flags() {
        let mut w = [0u64; 16];
        for (i, v) in w.iter_mut().enumerate() {
            *v = i as u64 * 8;
        }
        let o = parse_offsets(&w, 128).unwrap();
        assert_eq!(
            o.rx,
            RingOffsets {
                producer: 0,
                consumer: 8,
                desc: 16
            }
        );
        assert_eq!(
            o.fr,
            RingOffsets {
                producer: 64,
                consumer: 72,
                desc: 80
            }
        );
        assert_eq!(
            o.cr,
            RingOffsets {
                producer: 96,
                consumer: 104,
                desc: 112
            }
        );
    }

    #[test]
    fn parses_the_pre_5_4_offsets_layout() {
        let mut w = [0u64; 16];
        for (i, v) in w.iter_mut().enumerate() {
            *v = i as u64;
        }
        let o = parse_offsets(&w, 96).unwrap();
        assert_eq!(
            o.rx,
            RingOffsets {
                producer: 0,
                consumer: 1,
                desc: 2
            }
        );
        assert_eq!(
            o.fr,
            RingOffsets {
                producer: 6,
                consumer: 7,
                desc: 8
            }
        );
        assert_eq!(
            o.cr,
            RingOffsets {
                producer: 9,
                consumer: 10,
                desc: 11
            }
        );
    }

    #[test]
    fn rejects_an_offsets_answer_of_unknown_size() {
        let e = parse_offsets(&[0; 16], 40).unwrap_err();
        assert!(e.to_string().contains("XDP_MMAP_OFFSETS"), "{e}");
    }

    #[test]
    fn rejects_frame_counts_that_are_not_powers_of_two() {
        for n in [0, 3, 100] {
            let e = XdpSocket::new(1, 0, n).unwrap_err();
            assert!(e.to_string().contains("power of two"), "{e}");
        }
    }

    #[test]
    fn umem_copy_refuses_descriptors_outside_it() {
        let u = Umem::new(4096).unwrap();
        assert_eq!(u.copy(4000, 96).unwrap().len(), 96);
        assert!(u.copy(4000, 97).is_err());
        assert!(u.copy(u64::MAX, 1).is_err());
    }

    #[test]
    fn binding_to_a_missing_interface_names_bind() {
        match af_xdp_supported() {
            Ok(true) => {}
            other => {
                eprintln!("skipping: no AF_XDP sockets here ({other:?})");
                return;
            }
        }
        // ifindex 0x7fff_fff0 does not exist: every step before bind succeeds.
        let e = XdpSocket::new(0x7fff_fff0, 0, 4).unwrap_err();
        assert!(e.to_string().starts_with("bind(AF_XDP)"), "{e}");
        assert_eq!(e.errno(), Some(Errno::ENODEV), "{e}");
    }
}

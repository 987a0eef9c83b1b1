//! Shared memory mappings of kernel objects (ring buffers, mmapable arrays, perf rings).

use std::os::fd::{AsRawFd, BorrowedFd};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, AtomicU64};

use crate::{Error, Result};

/// Protection of a mapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prot {
    /// `PROT_READ`.
    Read,
    /// `PROT_READ | PROT_WRITE`.
    ReadWrite,
}

/// A `MAP_SHARED` mapping that is unmapped on drop. All views are bounds-checked.
#[derive(Debug)]
pub struct MmapRegion {
    ptr: NonNull<u8>,
    len: usize,
    prot: Prot,
}

// SAFETY: the region is plain shared memory; access goes through atomics or byte copies,
// and the mapping itself can be unmapped from any thread.
unsafe impl Send for MmapRegion {}
// SAFETY: as above; `&MmapRegion` only hands out shared views and atomics.
unsafe impl Sync for MmapRegion {}

impl MmapRegion {
    /// Maps `len` bytes of `fd` at `offset` (page-aligned) with `prot`, shared.
    pub fn map(fd: BorrowedFd<'_>, len: usize, offset: usize, prot: Prot) -> Result<Self> {
        if len == 0 {
            return Err(Error::Invalid("mmap of 0 bytes".into()));
        }
        let p = match prot {
            Prot::Read => libc::PROT_READ,
            Prot::ReadWrite => libc::PROT_READ | libc::PROT_WRITE,
        };
        // SAFETY: a fresh mapping chosen by the kernel (addr NULL) aliases no Rust object;
        // the fd is live for the call; the result is checked against MAP_FAILED.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                p,
                libc::MAP_SHARED,
                fd.as_raw_fd(),
                offset as libc::off_t,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(Error::last("mmap"));
        }
        let ptr = NonNull::new(ptr.cast::<u8>())
            .ok_or_else(|| Error::Invalid("mmap returned NULL".into()))?;
        Ok(MmapRegion { ptr, len, prot })
    }

    /// Maps `len` bytes of `fd` at `offset` shared, at exactly the user address `addr`
    /// (page-aligned), or where the kernel chooses when `addr` is 0 — as an arena map
    /// needs, whose user address is fixed at creation (`map_extra`). Never replaces an
    /// existing mapping: an address range already in use is an error
    /// (`MAP_FIXED_NOREPLACE`, Linux 4.17+), not silently overwritten memory.
    pub fn map_at(
        fd: BorrowedFd<'_>,
        addr: usize,
        len: usize,
        offset: usize,
        prot: Prot,
    ) -> Result<Self> {
        if addr == 0 {
            return Self::map(fd, len, offset, prot);
        }
        if len == 0 {
            return Err(Error::Invalid("mmap of 0 bytes".into()));
        }
        if addr % crate::page_size() != 0 || addr.checked_add(len).is_none() {
            return Err(Error::Invalid(format!(
                "mmap at {addr:#x} ({len} bytes): the address is not page-aligned or the range overflows"
            )));
        }
        let p = match prot {
            Prot::Read => libc::PROT_READ,
            Prot::ReadWrite => libc::PROT_READ | libc::PROT_WRITE,
        };
        // SAFETY: MAP_FIXED_NOREPLACE never unmaps or overlays an existing mapping (the
        // kernel fails with EEXIST instead), so no Rust object's memory is aliased; the fd
        // is live for the call; the result is checked against MAP_FAILED below.
        let ptr = unsafe {
            libc::mmap(
                addr as *mut libc::c_void,
                len,
                p,
                libc::MAP_SHARED | libc::MAP_FIXED_NOREPLACE,
                fd.as_raw_fd(),
                offset as libc::off_t,
            )
        };
        if ptr == libc::MAP_FAILED {
            let e = Error::last("mmap");
            if e.errno() == Some(crate::Errno::EEXIST) {
                return Err(Error::Invalid(format!(
                    "mmap at {addr:#x} ({len} bytes): the address range is already mapped in this process"
                )));
            }
            return Err(e);
        }
        let ptr = NonNull::new(ptr.cast::<u8>())
            .ok_or_else(|| Error::Invalid("mmap returned NULL".into()))?;
        let region = MmapRegion { ptr, len, prot };
        if ptr.as_ptr() as usize != addr {
            // A kernel before 4.17 ignores MAP_FIXED_NOREPLACE and treats addr as a hint;
            // dropping `region` unmaps what it chose instead.
            return Err(Error::Invalid(format!(
                "mmap at {addr:#x}: the kernel placed the mapping at {:#x} (needs Linux 4.17 for MAP_FIXED_NOREPLACE)",
                ptr.as_ptr() as usize
            )));
        }
        Ok(region)
    }

    /// The user address the region starts at.
    pub fn addr(&self) -> usize {
        self.ptr.as_ptr() as usize
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Always false (empty mappings are refused).
    pub fn is_empty(&self) -> bool {
        false
    }

    #[inline]
    fn check(&self, off: usize, len: usize, align: usize) -> Result<()> {
        if off.checked_add(len).is_none_or(|end| end > self.len) || off % align != 0 {
            return Err(Error::Invalid(format!(
                "mmap view of {len} bytes at offset {off} is outside the {}-byte region or misaligned",
                self.len
            )));
        }
        Ok(())
    }

    /// An atomic view of the u64 at `off` (8-byte aligned).
    #[inline]
    pub fn atomic_u64(&self, off: usize) -> Result<&AtomicU64> {
        self.check(off, 8, 8)?;
        // SAFETY: in bounds and aligned (checked above); the mapping lives as long as
        // `&self`; the kernel accesses this word atomically too.
        Ok(unsafe { AtomicU64::from_ptr(self.ptr.as_ptr().add(off).cast::<u64>()) })
    }

    /// An atomic view of the u32 at `off` (4-byte aligned).
    #[inline]
    pub fn atomic_u32(&self, off: usize) -> Result<&AtomicU32> {
        self.check(off, 4, 4)?;
        // SAFETY: in bounds and aligned (checked above); lives as long as `&self`.
        Ok(unsafe { AtomicU32::from_ptr(self.ptr.as_ptr().add(off).cast::<u32>()) })
    }

    /// The bytes `off..off + len`. The kernel may write them concurrently unless the
    /// protocol of the region (e.g. a committed ring buffer record) says otherwise.
    #[inline]
    pub fn bytes(&self, off: usize, len: usize) -> Result<&[u8]> {
        self.check(off, len, 1)?;
        // SAFETY: in bounds (checked); valid for the lifetime of `&self`.
        Ok(unsafe { std::slice::from_raw_parts(self.ptr.as_ptr().add(off), len) })
    }

    /// Copies `src` into the region at `off` (read-write mappings only).
    pub fn write(&self, off: usize, src: &[u8]) -> Result<()> {
        if self.prot != Prot::ReadWrite {
            return Err(Error::Invalid("write to a read-only mapping".into()));
        }
        self.check(off, src.len(), 1)?;
        // SAFETY: in bounds (checked) and writable (prot checked); `src` is a distinct Rust
        // slice, so the ranges do not overlap.
        unsafe {
            std::ptr::copy_nonoverlapping(src.as_ptr(), self.ptr.as_ptr().add(off), src.len())
        };
        Ok(())
    }

    /// Copies `dst.len()` bytes from the region at `off` into `dst`.
    pub fn read(&self, off: usize, dst: &mut [u8]) -> Result<()> {
        self.check(off, dst.len(), 1)?;
        // SAFETY: in bounds (checked); `dst` is a distinct Rust slice.
        unsafe {
            std::ptr::copy_nonoverlapping(self.ptr.as_ptr().add(off), dst.as_mut_ptr(), dst.len())
        };
        Ok(())
    }
}

impl Drop for MmapRegion {
    fn drop(&mut self) {
        // SAFETY: ptr/len are exactly what mmap returned, and no view outlives `self`.
        unsafe { libc::munmap(self.ptr.as_ptr().cast(), self.len) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsFd;

    fn file(tag: &str, len: u64) -> std::fs::File {
        let path = std::env::temp_dir().join(format!("oxbpf-mmap-{tag}-{}", std::process::id()));
        let f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .unwrap();
        std::fs::remove_file(&path).unwrap();
        f.set_len(len).unwrap();
        f
    }

    #[test]
    fn map_at_places_the_region_and_never_replaces_a_mapping() {
        let page = crate::page_size();
        let f = file("place", 2 * page as u64);
        let addr = 0x2000_0000_0000;
        let r = MmapRegion::map_at(f.as_fd(), addr, 2 * page, 0, Prot::ReadWrite).unwrap();
        assert_eq!(r.addr(), addr);
        r.write(page, b"fixed").unwrap();
        let err = MmapRegion::map_at(f.as_fd(), addr + page, page, 0, Prot::Read).unwrap_err();
        assert!(err.to_string().contains("already mapped"), "{err}");
        // The first mapping is intact.
        assert_eq!(r.bytes(page, 5).unwrap(), b"fixed");
        drop(r);
        let again = MmapRegion::map_at(f.as_fd(), addr, page, page, Prot::Read).unwrap();
        assert_eq!(again.bytes(0, 5).unwrap(), b"fixed", "the file's page 1");
    }

    #[test]
    fn map_at_rejects_unaligned_addresses_and_zero_means_any() {
        let page = crate::page_size();
        let f = file("align", page as u64);
        let err = MmapRegion::map_at(f.as_fd(), 0x2000_0000_0001, page, 0, Prot::Read).unwrap_err();
        assert!(err.to_string().contains("not page-aligned"), "{err}");
        let r = MmapRegion::map_at(f.as_fd(), 0, page, 0, Prot::Read).unwrap();
        assert_ne!(r.addr(), 0);
        assert_eq!(r.addr() % page, 0);
    }
}

//! Arena maps (`BPF_MAP_TYPE_ARENA`, Linux 6.9+): pages shared by BPF programs and user
//! space at the same user address. [`Arena`] maps the whole arena (`max_entries` pages)
//! at the address the map was created with (`map_extra`) and reads and writes its bytes.
//!
//! A page is allocated the first time either side touches it: user-space writes here fault
//! pages in, so initial contents written through [`Arena::write`] are there for the
//! programs.

use oxbpf_sys::mmap::{MmapRegion, Prot};

use crate::error::{Error, Result};
use crate::map::Map;

/// `BPF_MAP_TYPE_ARENA`.
const MAP_TYPE_ARENA: u32 = 33;

/// An arena map mapped into this process; dropping it unmaps (the map stays).
#[derive(Debug)]
pub struct Arena {
    name: String,
    region: MmapRegion,
}

impl Arena {
    /// Maps arena `map` at user address `addr` (the map's `map_extra`; 0 when it was
    /// created without one, the kernel then picks the address on this first mapping).
    /// A range already mapped in this process is an error, never overwritten.
    pub fn map(map: &Map, addr: u64) -> Result<Arena> {
        let def = map.def();
        if def.map_type != MAP_TYPE_ARENA {
            return Err(Error::WrongType {
                map: map.name().to_owned(),
                got: def.map_type,
                want: "Arena",
                expected: "BPF_MAP_TYPE_ARENA",
            });
        }
        let page = oxbpf_sys::page_size();
        let len = (def.max_entries as usize)
            .checked_mul(page)
            .ok_or_else(|| {
                Error::kernel(
                    map.name(),
                    oxbpf_sys::Error::Invalid(format!(
                        "{} pages do not fit the address space",
                        def.max_entries
                    )),
                )
            })?;
        let addr = usize::try_from(addr).map_err(|_| {
            Error::kernel(
                map.name(),
                oxbpf_sys::Error::Invalid(format!("address {addr:#x} does not fit a pointer")),
            )
        })?;
        let region = MmapRegion::map_at(map.fd(), addr, len, 0, Prot::ReadWrite)
            .map_err(|e| Error::kernel(map.name(), e))?;
        Ok(Arena {
            name: map.name().to_owned(),
            region,
        })
    }

    /// The map's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The user address of the arena's first byte (what `__arena` pointers hold).
    pub fn addr(&self) -> u64 {
        self.region.addr() as u64
    }

    /// Size in bytes (`max_entries` pages).
    pub fn len(&self) -> usize {
        self.region.len()
    }

    /// Always false (an arena has at least one page).
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Copies `dst.len()` bytes from offset `off` of the arena.
    pub fn read(&self, off: usize, dst: &mut [u8]) -> Result<()> {
        self.region
            .read(off, dst)
            .map_err(|e| Error::kernel(&self.name, e))
    }

    /// Copies `src` into the arena at offset `off`.
    pub fn write(&self, off: usize, src: &[u8]) -> Result<()> {
        self.region
            .write(off, src)
            .map_err(|e| Error::kernel(&self.name, e))
    }

    /// The native-endian `u32` at `off` (read atomically; 4-byte aligned).
    pub fn read_u32(&self, off: usize) -> Result<u32> {
        let a = self
            .region
            .atomic_u32(off)
            .map_err(|e| Error::kernel(&self.name, e))?;
        Ok(a.load(std::sync::atomic::Ordering::Acquire))
    }

    /// Stores `v` at `off` (atomically; 4-byte aligned).
    pub fn write_u32(&self, off: usize, v: u32) -> Result<()> {
        let a = self
            .region
            .atomic_u32(off)
            .map_err(|e| Error::kernel(&self.name, e))?;
        a.store(v, std::sync::atomic::Ordering::Release);
        Ok(())
    }

    /// The `u64` at `off` (read atomically; 8-byte aligned).
    pub fn read_u64(&self, off: usize) -> Result<u64> {
        let a = self
            .region
            .atomic_u64(off)
            .map_err(|e| Error::kernel(&self.name, e))?;
        Ok(a.load(std::sync::atomic::Ordering::Acquire))
    }

    /// Stores `v` at `off` (atomically; 8-byte aligned).
    pub fn write_u64(&self, off: usize, v: u64) -> Result<()> {
        let a = self
            .region
            .atomic_u64(off)
            .map_err(|e| Error::kernel(&self.name, e))?;
        a.store(v, std::sync::atomic::Ordering::Release);
        Ok(())
    }

    /// Converts a user-space address inside the arena (an `__arena` pointer a program
    /// stored) to an offset, if it is inside.
    pub fn offset_of(&self, addr: u64) -> Option<usize> {
        let off = addr.checked_sub(self.addr())?;
        usize::try_from(off).ok().filter(|&o| o < self.len())
    }
}

//! [`GlobalData`]: a data-section map (`.data`, `.bss`, `.rodata`, `.data.*`; a
//! `BPF_F_MMAPABLE` array of one value) mapped into this process, with its variables
//! read and written by name without system calls.

use std::sync::atomic::Ordering;

use oxbpf_sys::mmap::{MmapRegion, Prot};
use oxbpf_sys::pod::{self, Pod};
use oxbpf_sys::{Errno, bpf};

use crate::error::{Error, Result};
use crate::map::{Map, map_type};

/// A variable of a data section: its name, byte offset and size in the value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlobalVarInfo {
    /// The variable's name.
    pub name: String,
    /// Byte offset in the section's value.
    pub offset: usize,
    /// Size in bytes (the variable's BTF size).
    pub size: usize,
}

/// The mmap'd value of a data-section map. Read-only when the map is frozen (`.rodata`).
#[derive(Debug)]
pub struct GlobalData {
    name: String,
    region: MmapRegion,
    size: usize,
    writable: bool,
    vars: Vec<GlobalVarInfo>,
}

impl GlobalData {
    /// Maps the value of `map` (an mmapable array) with the variables `vars`; read-write,
    /// or read-only if the kernel refuses a writable mapping (a frozen map).
    pub fn new(map: &Map, vars: Vec<GlobalVarInfo>) -> Result<GlobalData> {
        let name = map.name().to_owned();
        let def = *map.def();
        if def.map_type != map_type::ARRAY || def.flags & bpf::map_flags::MMAPABLE == 0 {
            return Err(Error::WrongType {
                map: name,
                got: def.map_type,
                want: "GlobalData",
                expected: "array with BPF_F_MMAPABLE",
            });
        }
        let size = def.value_size as usize;
        for v in &vars {
            if v.offset.checked_add(v.size).is_none_or(|e| e > size) {
                return Err(Error::SizeMismatch {
                    map: name,
                    what: "variable end",
                    got: v.offset.saturating_add(v.size),
                    want: size,
                });
            }
        }
        let page = oxbpf_sys::page_size();
        let elem = size.div_ceil(8) * 8;
        let len = (elem * def.max_entries.max(1) as usize).div_ceil(page) * page;
        let (region, writable) = match MmapRegion::map(map.fd(), len, 0, Prot::ReadWrite) {
            Ok(r) => (r, true),
            Err(e) if matches!(e.errno(), Some(Errno::EPERM | Errno::EACCES)) => (
                MmapRegion::map(map.fd(), len, 0, Prot::Read)
                    .map_err(|e| Error::kernel(&name, e))?,
                false,
            ),
            Err(e) => return Err(Error::kernel(&name, e)),
        };
        Ok(GlobalData {
            name,
            region,
            size,
            writable,
            vars,
        })
    }

    /// The section's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// True unless the map is frozen.
    pub fn is_writable(&self) -> bool {
        self.writable
    }

    /// Size of the section's value in bytes.
    pub fn len(&self) -> usize {
        self.size
    }

    /// True if the section's value is empty.
    pub fn is_empty(&self) -> bool {
        self.size == 0
    }

    /// The variables, in the object's order.
    pub fn vars(&self) -> &[GlobalVarInfo] {
        &self.vars
    }

    fn var(&self, var: &str, got: usize) -> Result<&GlobalVarInfo> {
        let v = self
            .vars
            .iter()
            .find(|v| v.name == var)
            .ok_or_else(|| Error::NoSuchVariable {
                map: self.name.clone(),
                var: var.to_owned(),
            })?;
        if v.size != got {
            return Err(Error::VariableSize {
                map: self.name.clone(),
                var: var.to_owned(),
                got,
                want: v.size,
            });
        }
        Ok(v)
    }

    fn ring(&self, e: oxbpf_sys::Error) -> Error {
        Error::Ring {
            map: self.name.clone(),
            source: e,
        }
    }

    /// The current value of variable `var` as a `T` of its size (one atomic load for
    /// aligned 4- and 8-byte variables, so a concurrent program write is never torn).
    pub fn get<T: Pod>(&self, var: &str) -> Result<T> {
        let v = self.var(var, size_of::<T>())?;
        let mut out: T = pod::zeroed();
        let b = pod::bytes_of_mut(&mut out);
        match (b.len(), v.offset % 8, v.offset % 4) {
            (8, 0, _) => {
                let x = self.region.atomic_u64(v.offset).map_err(|e| self.ring(e))?;
                b.copy_from_slice(&x.load(Ordering::Relaxed).to_ne_bytes());
            }
            (4, _, 0) => {
                let x = self.region.atomic_u32(v.offset).map_err(|e| self.ring(e))?;
                b.copy_from_slice(&x.load(Ordering::Relaxed).to_ne_bytes());
            }
            _ => self.region.read(v.offset, b).map_err(|e| self.ring(e))?,
        }
        Ok(out)
    }

    /// Sets variable `var` to `value` (a `T` of its size; atomic store for aligned 4- and
    /// 8-byte variables). Refused on a read-only (frozen) section.
    pub fn set<T: Pod>(&self, var: &str, value: &T) -> Result<()> {
        let v = self.var(var, size_of::<T>())?;
        if !self.writable {
            return Err(Error::ReadOnly {
                map: self.name.clone(),
                var: var.to_owned(),
            });
        }
        let b = pod::bytes_of(value);
        match (b.len(), v.offset % 8, v.offset % 4) {
            (8, 0, _) => {
                let x = self.region.atomic_u64(v.offset).map_err(|e| self.ring(e))?;
                let mut w = [0u8; 8];
                w.copy_from_slice(b);
                x.store(u64::from_ne_bytes(w), Ordering::Relaxed);
            }
            (4, _, 0) => {
                let x = self.region.atomic_u32(v.offset).map_err(|e| self.ring(e))?;
                let mut w = [0u8; 4];
                w.copy_from_slice(b);
                x.store(u32::from_ne_bytes(w), Ordering::Relaxed);
            }
            _ => self.region.write(v.offset, b).map_err(|e| self.ring(e))?,
        }
        Ok(())
    }

    /// A copy of the whole section's value.
    pub fn to_vec(&self) -> Result<Vec<u8>> {
        let mut out = vec![0u8; self.size];
        self.region.read(0, &mut out).map_err(|e| self.ring(e))?;
        Ok(out)
    }
}

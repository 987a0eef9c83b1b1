//! [`Map`]: an owned map descriptor with its name and definition, raw-byte element
//! operations, key/entry iteration and pinning.

use std::collections::HashSet;
use std::os::fd::BorrowedFd;
use std::path::Path;

use oxbpf_sys::MapFd;
use oxbpf_sys::bpf;

use crate::error::{Error, Result};

/// `enum bpf_map_type` values this crate refers to.
#[allow(missing_docs)]
pub mod map_type {
    pub const HASH: u32 = 1;
    pub const ARRAY: u32 = 2;
    pub const PROG_ARRAY: u32 = 3;
    pub const PERF_EVENT_ARRAY: u32 = 4;
    pub const PERCPU_HASH: u32 = 5;
    pub const PERCPU_ARRAY: u32 = 6;
    pub const LRU_HASH: u32 = 9;
    pub const LRU_PERCPU_HASH: u32 = 10;
    pub const STACK_TRACE: u32 = 7;
    pub const LPM_TRIE: u32 = 11;
    pub const ARRAY_OF_MAPS: u32 = 12;
    pub const HASH_OF_MAPS: u32 = 13;
    pub const DEVMAP: u32 = 14;
    pub const SOCKMAP: u32 = 15;
    pub const CPUMAP: u32 = 16;
    pub const XSKMAP: u32 = 17;
    pub const SOCKHASH: u32 = 18;
    pub const CGROUP_STORAGE: u32 = 19;
    pub const PERCPU_CGROUP_STORAGE: u32 = 21;
    pub const QUEUE: u32 = 22;
    pub const STACK: u32 = 23;
    pub const SK_STORAGE: u32 = 24;
    pub const DEVMAP_HASH: u32 = 25;
    pub const RINGBUF: u32 = 27;
    pub const INODE_STORAGE: u32 = 28;
    pub const TASK_STORAGE: u32 = 29;
    pub const BLOOM_FILTER: u32 = 30;
    pub const USER_RINGBUF: u32 = 31;
    pub const CGRP_STORAGE: u32 = 32;
}

/// True for the per-CPU map types, whose values hold one 8-byte-aligned slot per
/// possible CPU.
pub fn is_per_cpu(map_type: u32) -> bool {
    matches!(
        map_type,
        map_type::PERCPU_HASH
            | map_type::PERCPU_ARRAY
            | map_type::LRU_PERCPU_HASH
            | map_type::PERCPU_CGROUP_STORAGE
    )
}

/// A map's definition as the kernel reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MapDef {
    /// `enum bpf_map_type`.
    pub map_type: u32,
    /// Key size in bytes.
    pub key_size: u32,
    /// Value size in bytes (of one CPU's slot for per-CPU maps).
    pub value_size: u32,
    /// Capacity (ring buffers: data size in bytes).
    pub max_entries: u32,
    /// `BPF_F_*` creation flags.
    pub flags: u32,
}

/// An owned map: descriptor, name and definition. Dropping it closes the descriptor.
#[derive(Debug)]
pub struct Map {
    name: String,
    fd: MapFd,
    def: MapDef,
    /// Size of a value buffer for lookup/update (per-CPU: rounded up to 8 × CPUs).
    value_buf: usize,
}

impl Map {
    /// Wraps `fd`, reading the definition with `BPF_OBJ_GET_INFO_BY_FD`.
    pub fn from_fd(name: impl Into<String>, fd: MapFd) -> Result<Map> {
        let name = name.into();
        let info = bpf::map_info(fd.as_fd()).map_err(|e| Error::kernel(&name, e))?;
        let def = MapDef {
            map_type: info.map_type,
            key_size: info.key_size,
            value_size: info.value_size,
            max_entries: info.max_entries,
            flags: info.map_flags,
        };
        let value_buf = if is_per_cpu(def.map_type) {
            let cpus = oxbpf_sys::possible_cpus().map_err(|e| Error::kernel(&name, e))?;
            (def.value_size as usize).div_ceil(8) * 8 * cpus
        } else {
            def.value_size as usize
        };
        Ok(Map {
            name,
            fd,
            def,
            value_buf,
        })
    }

    /// Opens the map pinned at `path` on a bpffs; its name is the kernel's name of the map
    /// (or the path's file name if the kernel has none).
    pub fn from_pin(path: &Path) -> Result<Map> {
        let file_name = path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        let fd = bpf::obj_get(path).map_err(|source| Error::Pin {
            map: file_name.clone(),
            path: path.display().to_string(),
            source,
        })?;
        let fd = MapFd::from_owned(fd);
        let kname = bpf::map_info(fd.as_fd())
            .map(|i| {
                let end = i.name.iter().position(|&b| b == 0).unwrap_or(i.name.len());
                String::from_utf8_lossy(&i.name[..end]).into_owned()
            })
            .map_err(|e| Error::kernel(&file_name, e))?;
        Map::from_fd(if kname.is_empty() { file_name } else { kname }, fd)
    }

    /// Pins the map at `path` (on a bpffs).
    pub fn pin(&self, path: &Path) -> Result<()> {
        bpf::obj_pin(self.fd.as_fd(), path).map_err(|source| Error::Pin {
            map: self.name.clone(),
            path: path.display().to_string(),
            source,
        })
    }

    /// The map's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The map's definition.
    pub fn def(&self) -> &MapDef {
        &self.def
    }

    /// Borrows the descriptor.
    #[inline]
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// The owned descriptor.
    pub fn map_fd(&self) -> &MapFd {
        &self.fd
    }

    /// Size in bytes of a value as lookup returns it and update takes it: `value_size`,
    /// or for per-CPU maps `value_size` rounded up to 8 times the number of possible CPUs.
    pub fn value_len(&self) -> usize {
        self.value_buf
    }

    pub(crate) fn check_key(&self, key: &[u8]) -> Result<()> {
        self.check("key", key.len(), self.def.key_size as usize)
    }

    pub(crate) fn check_value(&self, value: &[u8]) -> Result<()> {
        self.check("value", value.len(), self.value_buf)
    }

    fn check(&self, what: &'static str, got: usize, want: usize) -> Result<()> {
        if got != want {
            return Err(Error::SizeMismatch {
                map: self.name.clone(),
                what,
                got,
                want,
            });
        }
        Ok(())
    }

    /// Looks `key` up; `None` if absent.
    pub fn lookup(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let mut v = vec![0u8; self.value_buf];
        Ok(self.lookup_into(key, &mut v)?.then_some(v))
    }

    /// Looks `key` up into `value` (which must be [`Map::value_len`] bytes); `false` if
    /// absent. Allocation-free form of [`Map::lookup`].
    pub fn lookup_into(&self, key: &[u8], value: &mut [u8]) -> Result<bool> {
        self.check_key(key)?;
        self.check_value(value)?;
        bpf::map_lookup_elem(self.fd.as_fd(), key, value, 0).map_err(|e| self.err(e))
    }

    /// Sets `key` to `value` with `elem_flags` (`BPF_ANY` 0, `BPF_NOEXIST` 1, `BPF_EXIST` 2).
    pub fn update(&self, key: &[u8], value: &[u8], flags: u64) -> Result<()> {
        self.check_key(key)?;
        self.check_value(value)?;
        bpf::map_update_elem(self.fd.as_fd(), key, value, flags).map_err(|e| self.err(e))
    }

    /// Deletes `key`; `false` if it was absent.
    pub fn delete(&self, key: &[u8]) -> Result<bool> {
        self.check_key(key)?;
        bpf::map_delete_elem(self.fd.as_fd(), key).map_err(|e| self.err(e))
    }

    /// Iterates over the keys; see [`Keys`] for what concurrent deletion does.
    pub fn keys(&self) -> Keys<'_> {
        Keys {
            map: self,
            prev: None,
            recent: Vec::new(),
            seen: HashSet::new(),
            done: false,
        }
    }

    /// Iterates over `(key, value)` pairs, skipping keys deleted between
    /// `BPF_MAP_GET_NEXT_KEY` and the lookup.
    pub fn entries(&self) -> Entries<'_> {
        Entries { keys: self.keys() }
    }

    pub(crate) fn err(&self, e: oxbpf_sys::Error) -> Error {
        Error::kernel(&self.name, e)
    }

    fn next_key(&self, prev: Option<&[u8]>) -> Result<Option<Vec<u8>>> {
        let mut next = vec![0u8; self.def.key_size as usize];
        let found =
            bpf::map_get_next_key(self.fd.as_fd(), prev, &mut next).map_err(|e| self.err(e))?;
        Ok(found.then_some(next))
    }
}

/// How many recently yielded keys [`Keys`] remembers to resume after a deletion.
const RECENT_KEYS: usize = 16;

/// Iterator over a map's keys (`BPF_MAP_GET_NEXT_KEY`), yielding each key at most once.
///
/// The kernel walks a hash map from the key it is given; if that key was deleted
/// meanwhile, it restarts from the first key (`htab_map_get_next_key`), and `ENOENT`
/// means the end. So the iterator remembers every key it has yielded: when the walk comes
/// back to a key already seen (the current key was deleted), it resumes from one of the
/// last few keys it yielded that still exists, and failing that walks on from the restart
/// point past keys already seen. Keys deleted before being reached are not yielded; keys
/// inserted during the iteration may or may not be. The price is a set of the yielded
/// keys (`key_size` bytes each).
#[derive(Debug)]
pub struct Keys<'m> {
    map: &'m Map,
    prev: Option<Vec<u8>>,
    recent: Vec<Vec<u8>>,
    seen: HashSet<Vec<u8>>,
    done: bool,
}

impl Keys<'_> {
    fn advance(&mut self) -> Result<Option<Vec<u8>>> {
        let Some(mut k) = self.map.next_key(self.prev.as_deref())? else {
            return Ok(None);
        };
        if !self.seen.contains(&k) {
            return Ok(Some(k));
        }
        // The walk restarted: the previous key is gone. Resume after a recent key that
        // still exists (its successor is then the deleted key's successor).
        for r in self.recent.iter().rev() {
            match self.map.next_key(Some(r))? {
                Some(n) if !self.seen.contains(&n) => return Ok(Some(n)),
                Some(_) => continue,
                None => return Ok(None),
            }
        }
        // All of them are gone too: walk from the restart point, skipping seen keys.
        // Bounded: each step visits a distinct existing key or ends.
        let mut steps = 0u64;
        loop {
            match self.map.next_key(Some(&k))? {
                Some(n) if self.seen.contains(&n) => {
                    k = n;
                    steps += 1;
                    if steps > u64::from(self.map.def.max_entries) + self.seen.len() as u64 {
                        return Ok(None);
                    }
                }
                other => return Ok(other),
            }
        }
    }
}

impl Iterator for Keys<'_> {
    type Item = Result<Vec<u8>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.advance() {
            Ok(Some(k)) => {
                self.seen.insert(k.clone());
                if let Some(p) = self.prev.replace(k.clone()) {
                    if self.recent.len() == RECENT_KEYS {
                        self.recent.remove(0);
                    }
                    self.recent.push(p);
                }
                Some(Ok(k))
            }
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

/// Iterator over a map's `(key, value)` pairs; see [`Keys`].
#[derive(Debug)]
pub struct Entries<'m> {
    keys: Keys<'m>,
}

impl Iterator for Entries<'_> {
    type Item = Result<(Vec<u8>, Vec<u8>)>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let k = match self.keys.next()? {
                Ok(k) => k,
                Err(e) => return Some(Err(e)),
            };
            match self.keys.map.lookup(&k) {
                Ok(Some(v)) => return Some(Ok((k, v))),
                Ok(None) => continue, // deleted since get_next_key
                Err(e) => {
                    self.keys.done = true;
                    return Some(Err(e));
                }
            }
        }
    }
}

/// Refuses `map` unless its type is one of `ok`: `want` names the view being opened,
/// `expected` the map type(s) it takes.
pub(crate) fn check_type(
    map: &Map,
    want: &'static str,
    expected: &'static str,
    ok: &[u32],
) -> Result<()> {
    let got = map.def().map_type;
    if !ok.contains(&got) {
        return Err(Error::WrongType {
            map: map.name().to_owned(),
            got,
            want,
            expected,
        });
    }
    Ok(())
}

/// Refuses a key or value type (`what`) of `got` bytes for a map that holds `want`.
pub(crate) fn check_size(map: &Map, what: &'static str, got: usize, want: u32) -> Result<()> {
    if got != want as usize {
        return Err(Error::SizeMismatch {
            map: map.name().to_owned(),
            what,
            got,
            want: want as usize,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_cpu_types_are_recognised() {
        assert!(is_per_cpu(map_type::PERCPU_HASH));
        assert!(is_per_cpu(map_type::LRU_PERCPU_HASH));
        assert!(!is_per_cpu(map_type::HASH));
        assert!(!is_per_cpu(map_type::RINGBUF));
    }
}

//! Typed views of map kinds with their own key or value conventions: [`LpmTrie`]
//! (prefix length + data keys, longest-prefix lookup), [`BloomFilter`] (push and
//! membership with no key), [`ProgArray`] (program descriptors in, program ids out),
//! [`StackTraceMap`] (stack id → instruction pointers) and [`ArrayOfMaps`] /
//! [`HashOfMaps`] (map descriptors in, map ids out).

use std::marker::PhantomData;
use std::os::fd::{AsRawFd, BorrowedFd};

use oxbpf_sys::bpf;
use oxbpf_sys::pod::{self, Pod};

use crate::error::{Error, Result};
use crate::map::{Keys, Map, check_size, check_type, map_type};

fn fd_bytes(fd: BorrowedFd<'_>) -> [u8; 4] {
    (fd.as_raw_fd() as u32).to_ne_bytes()
}

fn read_u32(map: &Map, key: &[u8]) -> Result<Option<u32>> {
    let mut v = [0u8; 4];
    let found = bpf::map_lookup_elem(map.fd(), key, &mut v, 0).map_err(|e| map.err(e))?;
    Ok(found.then_some(u32::from_ne_bytes(v)))
}

/// A `BPF_MAP_TYPE_LPM_TRIE` map: keys are a `u32` prefix length (in bits) followed by
/// data `K` (e.g. `[u8; 4]` for IPv4, bytes in network order), values `V`.
#[derive(Debug)]
pub struct LpmTrie<'m, K: Pod, V: Pod> {
    map: &'m Map,
    _t: PhantomData<(K, V)>,
}

impl<'m, K: Pod, V: Pod> LpmTrie<'m, K, V> {
    /// A typed view of `map`; checks it is an LPM trie with keys of 4 + `size_of::<K>()`
    /// bytes and values of `size_of::<V>()`.
    pub fn new(map: &'m Map) -> Result<Self> {
        check_type(map, "LpmTrie", "lpm_trie", &[map_type::LPM_TRIE])?;
        check_size(
            map,
            "key (u32 prefix length + data)",
            4 + size_of::<K>(),
            map.def().key_size,
        )?;
        check_size(map, "value", size_of::<V>(), map.def().value_size)?;
        Ok(LpmTrie {
            map,
            _t: PhantomData,
        })
    }

    /// The underlying map.
    pub fn map(&self) -> &'m Map {
        self.map
    }

    /// The largest prefix length: the bits of `K`.
    pub fn max_prefix_len(&self) -> u32 {
        8 * size_of::<K>() as u32
    }

    fn key(&self, prefix_len: u32, data: &K) -> Result<Vec<u8>> {
        if prefix_len > self.max_prefix_len() {
            return Err(Error::Invalid {
                map: self.map.name().to_owned(),
                reason: format!(
                    "prefix length {prefix_len} is longer than the key's {} bits",
                    self.max_prefix_len()
                ),
            });
        }
        let mut k = Vec::with_capacity(4 + size_of::<K>());
        k.extend_from_slice(&prefix_len.to_ne_bytes());
        k.extend_from_slice(pod::bytes_of(data));
        Ok(k)
    }

    /// Sets the prefix `data/prefix_len` to `value` (`flags`: `BPF_ANY`, `BPF_NOEXIST`,
    /// `BPF_EXIST`).
    pub fn insert(&self, prefix_len: u32, data: &K, value: &V, flags: u64) -> Result<()> {
        let k = self.key(prefix_len, data)?;
        bpf::map_update_elem(self.map.fd(), &k, pod::bytes_of(value), flags)
            .map_err(|e| self.map.err(e))
    }

    /// The value of the longest stored prefix that matches all bits of `data`.
    pub fn longest_match(&self, data: &K) -> Result<Option<V>> {
        self.get(self.max_prefix_len(), data)
    }

    /// The value of the longest stored prefix matching the first `prefix_len` bits of
    /// `data` (the kernel's lookup semantics: a stored prefix no longer than
    /// `prefix_len`).
    pub fn get(&self, prefix_len: u32, data: &K) -> Result<Option<V>> {
        let k = self.key(prefix_len, data)?;
        let mut v: V = pod::zeroed();
        let found = bpf::map_lookup_elem(self.map.fd(), &k, pod::bytes_of_mut(&mut v), 0)
            .map_err(|e| self.map.err(e))?;
        Ok(found.then_some(v))
    }

    /// Removes exactly the prefix `data/prefix_len`; `false` if it was not stored.
    pub fn remove(&self, prefix_len: u32, data: &K) -> Result<bool> {
        let k = self.key(prefix_len, data)?;
        bpf::map_delete_elem(self.map.fd(), &k).map_err(|e| self.map.err(e))
    }

    /// Iterates over the stored `(prefix_len, data)` keys.
    pub fn keys(&self) -> impl Iterator<Item = Result<(u32, K)>> + 'm {
        let map = self.map;
        let keys: Keys<'m> = map.keys();
        keys.map(move |k| {
            let k = k?;
            let bad = || Error::SizeMismatch {
                map: map.name().to_owned(),
                what: "key",
                got: k.len(),
                want: 4 + size_of::<K>(),
            };
            let (len, data) = k.split_first_chunk::<4>().ok_or_else(bad)?;
            let data = pod::from_bytes::<K>(data).ok_or_else(bad)?;
            Ok((u32::from_ne_bytes(*len), data))
        })
    }
}

/// A `BPF_MAP_TYPE_BLOOM_FILTER` map (5.16+) of values `V`: no keys; membership answers
/// "maybe" or "certainly not".
#[derive(Debug)]
pub struct BloomFilter<'m, V: Pod> {
    map: &'m Map,
    _t: PhantomData<V>,
}

impl<'m, V: Pod> BloomFilter<'m, V> {
    /// A typed view of `map`; checks it is a bloom filter of `V`-sized values.
    pub fn new(map: &'m Map) -> Result<Self> {
        check_type(
            map,
            "BloomFilter",
            "bloom_filter",
            &[map_type::BLOOM_FILTER],
        )?;
        check_size(map, "key", 0, map.def().key_size)?;
        check_size(map, "value", size_of::<V>(), map.def().value_size)?;
        Ok(BloomFilter {
            map,
            _t: PhantomData,
        })
    }

    /// Adds `value` (update with a NULL key).
    pub fn push(&self, value: &V) -> Result<()> {
        bpf::map_update_elem(self.map.fd(), &[], pod::bytes_of(value), 0)
            .map_err(|e| self.map.err(e))
    }

    /// True if `value` may have been pushed; false if it certainly was not (lookup with a
    /// NULL key, the value as input).
    pub fn contains(&self, value: &V) -> Result<bool> {
        let mut v = *value;
        bpf::map_lookup_elem(self.map.fd(), &[], pod::bytes_of_mut(&mut v), 0)
            .map_err(|e| self.map.err(e))
    }
}

/// A `BPF_MAP_TYPE_PROG_ARRAY` map: the targets of `bpf_tail_call`. User space stores
/// program descriptors and reads back program ids.
#[derive(Debug)]
pub struct ProgArray<'m> {
    map: &'m Map,
}

impl<'m> ProgArray<'m> {
    /// A view of `map`; checks it is a prog array with 4-byte keys and values.
    pub fn new(map: &'m Map) -> Result<Self> {
        check_type(map, "ProgArray", "prog_array", &[map_type::PROG_ARRAY])?;
        check_size(map, "key", 4, map.def().key_size)?;
        check_size(map, "value", 4, map.def().value_size)?;
        Ok(ProgArray { map })
    }

    fn check_index(&self, index: u32) -> Result<()> {
        if index >= self.map.def().max_entries {
            return Err(Error::IndexOutOfBounds {
                map: self.map.name().to_owned(),
                index,
                max_entries: self.map.def().max_entries,
            });
        }
        Ok(())
    }

    /// Puts program `prog` at `index` (the kernel checks its type matches the array's).
    pub fn set(&self, index: u32, prog: &oxbpf_sys::ProgFd) -> Result<()> {
        self.check_index(index)?;
        bpf::map_update_elem(
            self.map.fd(),
            &index.to_ne_bytes(),
            &fd_bytes(prog.as_fd()),
            0,
        )
        .map_err(|e| self.map.err(e))
    }

    /// Empties slot `index`; `false` if it was empty.
    pub fn clear(&self, index: u32) -> Result<bool> {
        self.check_index(index)?;
        bpf::map_delete_elem(self.map.fd(), &index.to_ne_bytes()).map_err(|e| self.map.err(e))
    }

    /// The id of the program at `index`, `None` if the slot is empty.
    pub fn get(&self, index: u32) -> Result<Option<u32>> {
        self.check_index(index)?;
        read_u32(self.map, &index.to_ne_bytes())
    }
}

/// A `BPF_MAP_TYPE_STACK_TRACE` map: stack id (from `bpf_get_stackid`) → up to
/// `value_size / 8` instruction pointers. Symbolization is left to the caller (kallsyms
/// for kernel stacks, the process's maps for user stacks).
#[derive(Debug)]
pub struct StackTraceMap<'m> {
    map: &'m Map,
}

impl<'m> StackTraceMap<'m> {
    /// A view of `map`; checks it is a stack trace map with 4-byte keys and values of
    /// whole 8-byte frames.
    pub fn new(map: &'m Map) -> Result<Self> {
        check_type(
            map,
            "StackTraceMap",
            "stack_trace",
            &[map_type::STACK_TRACE],
        )?;
        check_size(map, "key", 4, map.def().key_size)?;
        if map.def().value_size == 0 || map.def().value_size % 8 != 0 {
            return Err(Error::Invalid {
                map: map.name().to_owned(),
                reason: format!(
                    "value size {} is not a whole number of 8-byte frames",
                    map.def().value_size
                ),
            });
        }
        Ok(StackTraceMap { map })
    }

    /// Most frames a stack holds.
    pub fn max_depth(&self) -> usize {
        self.map.def().value_size as usize / 8
    }

    /// The frames of stack `id`, innermost first, without the zero padding; `None` if no
    /// such stack is stored.
    pub fn frames(&self, id: u32) -> Result<Option<Vec<u64>>> {
        let Some(v) = self.map.lookup(&id.to_ne_bytes())? else {
            return Ok(None);
        };
        let mut ips: Vec<u64> = v
            .chunks_exact(8)
            .map(|c| {
                let mut b = [0u8; 8];
                b.copy_from_slice(c);
                u64::from_ne_bytes(b)
            })
            .collect();
        while ips.last() == Some(&0) {
            ips.pop();
        }
        Ok(Some(ips))
    }

    /// Removes stack `id`; `false` if it was not stored.
    pub fn remove(&self, id: u32) -> Result<bool> {
        self.map.delete(&id.to_ne_bytes())
    }

    /// Iterates over the stored stack ids.
    pub fn ids(&self) -> impl Iterator<Item = Result<u32>> + 'm {
        let map = self.map;
        map.keys().map(move |k| {
            let k = k?;
            let b: [u8; 4] = k.as_slice().try_into().map_err(|_| Error::SizeMismatch {
                map: map.name().to_owned(),
                what: "key",
                got: k.len(),
                want: 4,
            })?;
            Ok(u32::from_ne_bytes(b))
        })
    }
}

/// A `BPF_MAP_TYPE_ARRAY_OF_MAPS` map: slots hold inner maps (of the template the outer
/// map was created with); user space stores map descriptors and reads back map ids.
#[derive(Debug)]
pub struct ArrayOfMaps<'m> {
    map: &'m Map,
}

impl<'m> ArrayOfMaps<'m> {
    /// A view of `map`; checks it is an array of maps with 4-byte keys and values.
    pub fn new(map: &'m Map) -> Result<Self> {
        check_type(
            map,
            "ArrayOfMaps",
            "array_of_maps",
            &[map_type::ARRAY_OF_MAPS],
        )?;
        check_size(map, "key", 4, map.def().key_size)?;
        check_size(map, "value", 4, map.def().value_size)?;
        Ok(ArrayOfMaps { map })
    }

    fn check_index(&self, index: u32) -> Result<()> {
        if index >= self.map.def().max_entries {
            return Err(Error::IndexOutOfBounds {
                map: self.map.name().to_owned(),
                index,
                max_entries: self.map.def().max_entries,
            });
        }
        Ok(())
    }

    /// Puts map `inner` at `index` (the kernel checks it matches the inner template).
    pub fn set(&self, index: u32, inner: BorrowedFd<'_>) -> Result<()> {
        self.check_index(index)?;
        bpf::map_update_elem(self.map.fd(), &index.to_ne_bytes(), &fd_bytes(inner), 0)
            .map_err(|e| self.map.err(e))
    }

    /// The id of the map at `index`, `None` if the slot is empty.
    pub fn get(&self, index: u32) -> Result<Option<u32>> {
        self.check_index(index)?;
        read_u32(self.map, &index.to_ne_bytes())
    }

    /// Empties slot `index`; `false` if it was empty.
    pub fn clear(&self, index: u32) -> Result<bool> {
        self.check_index(index)?;
        bpf::map_delete_elem(self.map.fd(), &index.to_ne_bytes()).map_err(|e| self.map.err(e))
    }
}

/// A `BPF_MAP_TYPE_HASH_OF_MAPS` map with keys `K`: values are inner maps; user space
/// stores map descriptors and reads back map ids.
#[derive(Debug)]
pub struct HashOfMaps<'m, K: Pod> {
    map: &'m Map,
    _t: PhantomData<K>,
}

impl<'m, K: Pod> HashOfMaps<'m, K> {
    /// A view of `map`; checks it is a hash of maps with `K` keys and 4-byte values.
    pub fn new(map: &'m Map) -> Result<Self> {
        check_type(map, "HashOfMaps", "hash_of_maps", &[map_type::HASH_OF_MAPS])?;
        check_size(map, "key", size_of::<K>(), map.def().key_size)?;
        check_size(map, "value", 4, map.def().value_size)?;
        Ok(HashOfMaps {
            map,
            _t: PhantomData,
        })
    }

    /// Sets `key` to map `inner` (`flags`: `BPF_ANY`, `BPF_NOEXIST`, `BPF_EXIST`).
    pub fn insert(&self, key: &K, inner: BorrowedFd<'_>, flags: u64) -> Result<()> {
        bpf::map_update_elem(self.map.fd(), pod::bytes_of(key), &fd_bytes(inner), flags)
            .map_err(|e| self.map.err(e))
    }

    /// The id of the map stored at `key`.
    pub fn get(&self, key: &K) -> Result<Option<u32>> {
        read_u32(self.map, pod::bytes_of(key))
    }

    /// Removes `key`; `false` if it was absent.
    pub fn remove(&self, key: &K) -> Result<bool> {
        bpf::map_delete_elem(self.map.fd(), pod::bytes_of(key)).map_err(|e| self.map.err(e))
    }
}

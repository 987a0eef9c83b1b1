//! Typed views of per-CPU maps ([`PerCpuHashMap`], [`PerCpuArray`]: one value per
//! possible CPU) and of queue/stack maps ([`Queue`]: push/pop/peek).

use std::marker::PhantomData;

use oxbpf_sys::bpf;
use oxbpf_sys::pod::{self, Pod};

use crate::error::{Error, Result};
use crate::map::{Map, check_size, map_type};

fn check(map: &Map, want: &'static str, expected: &'static str, ok: &[u32]) -> Result<()> {
    if !ok.contains(&map.def().map_type) {
        return Err(Error::WrongType {
            map: map.name().to_owned(),
            got: map.def().map_type,
            want,
            expected,
        });
    }
    Ok(())
}

/// Splits a per-CPU value buffer (8-byte aligned slots) into one `V` per CPU.
pub(crate) fn split<V: Pod>(buf: &[u8]) -> Vec<V> {
    let slot = size_of::<V>().div_ceil(8) * 8;
    buf.chunks_exact(slot)
        .filter_map(|c| pod::from_bytes::<V>(&c[..size_of::<V>()]))
        .collect()
}

/// Joins one `V` per CPU into a per-CPU value buffer of `len` bytes.
pub(crate) fn join<V: Pod>(map: &Map, values: &[V]) -> Result<Vec<u8>> {
    let slot = size_of::<V>().div_ceil(8) * 8;
    let cpus = map.value_len() / slot;
    if values.len() != cpus {
        return Err(Error::SizeMismatch {
            map: map.name().to_owned(),
            what: "per-CPU values (8-byte slots)",
            got: values.len() * slot,
            want: map.value_len(),
        });
    }
    let mut buf = vec![0u8; map.value_len()];
    for (c, v) in buf.chunks_exact_mut(slot).zip(values) {
        c[..size_of::<V>()].copy_from_slice(pod::bytes_of(v));
    }
    Ok(buf)
}

/// A `BPF_MAP_TYPE_PERCPU_HASH` / `LRU_PERCPU_HASH` map: each key has one `V` per
/// possible CPU.
#[derive(Debug)]
pub struct PerCpuHashMap<'m, K: Pod, V: Pod> {
    map: &'m Map,
    _t: PhantomData<(K, V)>,
}

impl<'m, K: Pod, V: Pod> PerCpuHashMap<'m, K, V> {
    /// A typed view of `map`; checks its type and the key and value sizes.
    pub fn new(map: &'m Map) -> Result<Self> {
        check(
            map,
            "PerCpuHashMap",
            "percpu_hash or lru_percpu_hash",
            &[map_type::PERCPU_HASH, map_type::LRU_PERCPU_HASH],
        )?;
        check_size(map, "key", size_of::<K>(), map.def().key_size)?;
        check_size(map, "value", size_of::<V>(), map.def().value_size)?;
        Ok(PerCpuHashMap {
            map,
            _t: PhantomData,
        })
    }

    /// The values of `key`, one per possible CPU (index = CPU), if present.
    pub fn get(&self, key: &K) -> Result<Option<Vec<V>>> {
        Ok(self.map.lookup(pod::bytes_of(key))?.map(|b| split(&b)))
    }

    /// Sets `key` to `values` (exactly one per possible CPU) with `elem_flags`.
    pub fn insert(&self, key: &K, values: &[V], flags: u64) -> Result<()> {
        let buf = join(self.map, values)?;
        self.map.update(pod::bytes_of(key), &buf, flags)
    }

    /// Deletes `key`; `false` if it was absent.
    pub fn remove(&self, key: &K) -> Result<bool> {
        self.map.delete(pod::bytes_of(key))
    }
}

/// A `BPF_MAP_TYPE_PERCPU_ARRAY` map: each index has one `V` per possible CPU.
#[derive(Debug)]
pub struct PerCpuArray<'m, V: Pod> {
    map: &'m Map,
    _t: PhantomData<V>,
}

impl<'m, V: Pod> PerCpuArray<'m, V> {
    /// A typed view of `map`; checks its type and value size.
    pub fn new(map: &'m Map) -> Result<Self> {
        check(
            map,
            "PerCpuArray",
            "percpu_array",
            &[map_type::PERCPU_ARRAY],
        )?;
        check_size(map, "value", size_of::<V>(), map.def().value_size)?;
        Ok(PerCpuArray {
            map,
            _t: PhantomData,
        })
    }

    fn index(&self, index: u32) -> Result<[u8; 4]> {
        if index >= self.map.def().max_entries {
            return Err(Error::IndexOutOfBounds {
                map: self.map.name().to_owned(),
                index,
                max_entries: self.map.def().max_entries,
            });
        }
        Ok(index.to_ne_bytes())
    }

    /// The values at `index`, one per possible CPU.
    pub fn get(&self, index: u32) -> Result<Vec<V>> {
        let k = self.index(index)?;
        let b = self.map.lookup(&k)?.unwrap_or_default();
        Ok(split(&b))
    }

    /// Sets the values at `index` (exactly one per possible CPU).
    pub fn set(&self, index: u32, values: &[V]) -> Result<()> {
        let k = self.index(index)?;
        let buf = join(self.map, values)?;
        self.map.update(&k, &buf, 0)
    }
}

/// A `BPF_MAP_TYPE_QUEUE` (FIFO) or `BPF_MAP_TYPE_STACK` (LIFO) map of `V`.
#[derive(Debug)]
pub struct Queue<'m, V: Pod> {
    map: &'m Map,
    _t: PhantomData<V>,
}

impl<'m, V: Pod> Queue<'m, V> {
    /// A typed view of `map`; checks its type and value size.
    pub fn new(map: &'m Map) -> Result<Self> {
        check(
            map,
            "Queue",
            "queue or stack",
            &[map_type::QUEUE, map_type::STACK],
        )?;
        check_size(map, "value", size_of::<V>(), map.def().value_size)?;
        Ok(Queue {
            map,
            _t: PhantomData,
        })
    }

    /// Pushes `value`; with `BPF_EXIST` (2) a full map drops its oldest element instead
    /// of failing with `E2BIG`.
    pub fn push(&self, value: &V, flags: u64) -> Result<()> {
        bpf::map_update_elem(self.map.fd(), &[], pod::bytes_of(value), flags)
            .map_err(|e| self.map.err(e))
    }

    /// Removes and returns the next element (`None` if empty).
    pub fn pop(&self) -> Result<Option<V>> {
        let mut v: V = pod::zeroed();
        let found =
            bpf::map_lookup_and_delete_elem(self.map.fd(), &[], pod::bytes_of_mut(&mut v), 0)
                .map_err(|e| self.map.err(e))?;
        Ok(found.then_some(v))
    }

    /// The next element without removing it (`None` if empty).
    pub fn peek(&self) -> Result<Option<V>> {
        let mut v: V = pod::zeroed();
        let found = bpf::map_lookup_elem(self.map.fd(), &[], pod::bytes_of_mut(&mut v), 0)
            .map_err(|e| self.map.err(e))?;
        Ok(found.then_some(v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_per_cpu_slots_padded_to_eight_bytes() {
        let mut b = Vec::new();
        for v in [1u32, 2, 3] {
            b.extend(v.to_ne_bytes());
            b.extend([0xff; 4]); // padding of the 8-byte slot
        }
        assert_eq!(split::<u32>(&b), vec![1, 2, 3]);
        assert_eq!(split::<u64>(&7u64.to_ne_bytes()), vec![7]);
    }
}

//! Typed views over a [`Map`]: [`HashMap`] and [`Array`] with [`Pod`] keys and values.

use std::marker::PhantomData;

use oxbpf_sys::bpf;
use oxbpf_sys::pod::{self, Pod};

use crate::error::{Error, Result};
use crate::map::{Keys, Map, check_size, check_type, map_type};

/// A `BPF_MAP_TYPE_HASH` or `BPF_MAP_TYPE_LRU_HASH` map with keys `K` and values `V`.
#[derive(Debug)]
pub struct HashMap<'m, K: Pod, V: Pod> {
    map: &'m Map,
    _t: PhantomData<(K, V)>,
}

impl<'m, K: Pod, V: Pod> HashMap<'m, K, V> {
    /// A typed view of `map`; checks its type and that `K` and `V` have its key and value
    /// sizes.
    pub fn new(map: &'m Map) -> Result<Self> {
        check_type(
            map,
            "HashMap",
            "hash or lru_hash",
            &[map_type::HASH, map_type::LRU_HASH],
        )?;
        check_size(map, "key", size_of::<K>(), map.def().key_size)?;
        check_size(map, "value", size_of::<V>(), map.def().value_size)?;
        Ok(HashMap {
            map,
            _t: PhantomData,
        })
    }

    /// The underlying map.
    pub fn map(&self) -> &'m Map {
        self.map
    }

    /// The value of `key`, if present.
    pub fn get(&self, key: &K) -> Result<Option<V>> {
        let mut v: V = pod::zeroed();
        let found = bpf::map_lookup_elem(
            self.map.fd(),
            pod::bytes_of(key),
            pod::bytes_of_mut(&mut v),
            0,
        )
        .map_err(|e| self.map.err(e))?;
        Ok(found.then_some(v))
    }

    /// Sets `key` to `value` with `elem_flags` (`BPF_ANY` 0, `BPF_NOEXIST` 1, `BPF_EXIST` 2).
    pub fn insert(&self, key: &K, value: &V, flags: u64) -> Result<()> {
        bpf::map_update_elem(
            self.map.fd(),
            pod::bytes_of(key),
            pod::bytes_of(value),
            flags,
        )
        .map_err(|e| self.map.err(e))
    }

    /// Deletes `key`; `false` if it was absent.
    pub fn remove(&self, key: &K) -> Result<bool> {
        bpf::map_delete_elem(self.map.fd(), pod::bytes_of(key)).map_err(|e| self.map.err(e))
    }

    /// Iterates over the keys (see [`Keys`] for concurrent deletion).
    pub fn keys(&self) -> impl Iterator<Item = Result<K>> + 'm {
        let map = self.map;
        map.keys()
            .map(move |k| k.and_then(|k| decode(map, "key", &k)))
    }

    /// Iterates over `(key, value)` pairs, skipping keys deleted during the walk.
    pub fn iter(&self) -> impl Iterator<Item = Result<(K, V)>> + 'm {
        let view = HashMap::<'m, K, V> {
            map: self.map,
            _t: PhantomData,
        };
        let keys: Keys<'m> = self.map.keys();
        keys.filter_map(move |k| {
            let k = match k.and_then(|k| decode::<K>(view.map, "key", &k)) {
                Ok(k) => k,
                Err(e) => return Some(Err(e)),
            };
            match view.get(&k) {
                Ok(Some(v)) => Some(Ok((k, v))),
                Ok(None) => None,
                Err(e) => Some(Err(e)),
            }
        })
    }
}

impl<'m, K: Pod, V: Pod> HashMap<'m, K, V> {
    /// Iterates over all `(key, value)` pairs fetched `chunk` at a time with
    /// `BPF_MAP_LOOKUP_BATCH` (5.6+): one system call per batch instead of two per entry.
    pub fn iter_batched(&self, chunk: usize) -> impl Iterator<Item = Result<(K, V)>> + 'm {
        let mut b = self.map.batches(chunk);
        std::iter::from_fn(move || b.next_typed::<K, V>())
    }
}

fn decode<T: Pod>(map: &Map, what: &'static str, b: &[u8]) -> Result<T> {
    pod::from_bytes(b).ok_or_else(|| Error::SizeMismatch {
        map: map.name().to_owned(),
        what,
        got: b.len(),
        want: size_of::<T>(),
    })
}

/// A `BPF_MAP_TYPE_ARRAY` map with values `V`, indexed by `u32`.
#[derive(Debug)]
pub struct Array<'m, V: Pod> {
    map: &'m Map,
    _t: PhantomData<V>,
}

impl<'m, V: Pod> Array<'m, V> {
    /// A typed view of `map`; checks it is an array of `V`-sized values.
    pub fn new(map: &'m Map) -> Result<Self> {
        check_type(map, "Array", "array", &[map_type::ARRAY])?;
        check_size(map, "key", 4, map.def().key_size)?;
        check_size(map, "value", size_of::<V>(), map.def().value_size)?;
        Ok(Array {
            map,
            _t: PhantomData,
        })
    }

    /// The underlying map.
    pub fn map(&self) -> &'m Map {
        self.map
    }

    /// Number of elements (`max_entries`).
    pub fn len(&self) -> u32 {
        self.map.def().max_entries
    }

    /// True if the array has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn check_index(&self, index: u32) -> Result<()> {
        if index >= self.len() {
            return Err(Error::IndexOutOfBounds {
                map: self.map.name().to_owned(),
                index,
                max_entries: self.len(),
            });
        }
        Ok(())
    }

    /// The value at `index`.
    pub fn get(&self, index: u32) -> Result<V> {
        self.check_index(index)?;
        let mut v: V = pod::zeroed();
        let found = bpf::map_lookup_elem(
            self.map.fd(),
            &index.to_ne_bytes(),
            pod::bytes_of_mut(&mut v),
            0,
        )
        .map_err(|e| self.map.err(e))?;
        if !found {
            // Arrays always hold every index below max_entries.
            return Err(Error::IndexOutOfBounds {
                map: self.map.name().to_owned(),
                index,
                max_entries: self.len(),
            });
        }
        Ok(v)
    }

    /// Sets the value at `index`.
    pub fn set(&self, index: u32, value: &V) -> Result<()> {
        self.check_index(index)?;
        bpf::map_update_elem(self.map.fd(), &index.to_ne_bytes(), pod::bytes_of(value), 0)
            .map_err(|e| self.map.err(e))
    }
}

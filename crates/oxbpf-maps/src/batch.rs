//! Batch element operations on a [`Map`] (`BPF_MAP_*_BATCH`, 5.6+) and [`Batches`], an
//! iterator over all entries fetched many at a time.
//!
//! The kernel's answer to the last lookup batch is `ENOENT` *with* a valid count of
//! elements copied: those are returned, and the walk ends ([`BatchOutcome::done`]).

use oxbpf_sys::bpf::{self, BatchError};
use oxbpf_sys::{Errno, pod};

use crate::Pod;
use crate::error::{Error, Result};
use crate::map::Map;

/// Where a batch walk resumes: the opaque position the kernel returned (a bucket index
/// for hash maps, a key for others).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchToken(Vec<u8>);

/// What one [`Map::lookup_batch`] returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchOutcome {
    /// Elements copied (the first `count` keys and values of the buffers).
    pub count: usize,
    /// The position to pass to the next call; `None` when the walk reached the end.
    pub next: Option<BatchToken>,
}

impl BatchOutcome {
    /// True if this was the last batch.
    pub fn done(&self) -> bool {
        self.next.is_none()
    }
}

impl Map {
    fn token_len(&self) -> usize {
        (self.def().key_size as usize).max(4)
    }

    fn batch_err(&self, e: BatchError) -> Error {
        Error::Batch {
            map: self.name().to_owned(),
            processed: e.processed as usize,
            source: e.source,
        }
    }

    fn batch_buffers(&self, keys: usize, values: usize) -> Result<usize> {
        let ks = self.def().key_size as usize;
        let vs = self.value_len();
        if ks == 0 || keys % ks != 0 {
            return Err(self.size_err("keys buffer", keys, ks));
        }
        let n = keys / ks;
        if values != n * vs {
            return Err(self.size_err("values buffer", values, n * vs));
        }
        Ok(n)
    }

    fn size_err(&self, what: &'static str, got: usize, want: usize) -> Error {
        Error::SizeMismatch {
            map: self.name().to_owned(),
            what,
            got,
            want,
        }
    }

    fn lookup_batch_impl(
        &self,
        delete: bool,
        from: Option<&BatchToken>,
        keys: &mut [u8],
        values: &mut [u8],
    ) -> Result<BatchOutcome> {
        let n = self.batch_buffers(keys.len(), values.len())?;
        let count =
            u32::try_from(n).map_err(|_| self.size_err("batch count", n, u32::MAX as usize))?;
        let mut out = vec![0u8; self.token_len()];
        let r = bpf::map_lookup_batch(
            self.fd(),
            delete,
            from.map(|t| t.0.as_slice()),
            &mut out,
            keys,
            values,
            count,
            0,
        )
        .map_err(|e| self.batch_err(e))?;
        Ok(BatchOutcome {
            count: r.count as usize,
            next: (!r.done).then_some(BatchToken(out)),
        })
    }

    /// `BPF_MAP_LOOKUP_BATCH`: fills `keys` (a multiple of `key_size` bytes) and `values`
    /// (as many [`Map::value_len`]-byte values) with the elements after `from` (`None`: the
    /// start). A hash bucket larger than the buffers fails with `ENOSPC`: retry bigger.
    pub fn lookup_batch(
        &self,
        from: Option<&BatchToken>,
        keys: &mut [u8],
        values: &mut [u8],
    ) -> Result<BatchOutcome> {
        self.lookup_batch_impl(false, from, keys, values)
    }

    /// `BPF_MAP_LOOKUP_AND_DELETE_BATCH`: [`Map::lookup_batch`] that also deletes what it
    /// returns.
    pub fn lookup_and_delete_batch(
        &self,
        from: Option<&BatchToken>,
        keys: &mut [u8],
        values: &mut [u8],
    ) -> Result<BatchOutcome> {
        self.lookup_batch_impl(true, from, keys, values)
    }

    /// `BPF_MAP_UPDATE_BATCH`: sets every key of `keys` to the matching value of `values`
    /// with `elem_flags`; returns how many were set (on failure the error says how many
    /// had been).
    pub fn update_batch(&self, keys: &[u8], values: &[u8], elem_flags: u64) -> Result<usize> {
        let n = self.batch_buffers(keys.len(), values.len())?;
        let count =
            u32::try_from(n).map_err(|_| self.size_err("batch count", n, u32::MAX as usize))?;
        bpf::map_update_batch(self.fd(), keys, values, count, elem_flags)
            .map(|c| c as usize)
            .map_err(|e| self.batch_err(e))
    }

    /// `BPF_MAP_DELETE_BATCH`: deletes every key of `keys`; returns how many were deleted
    /// (a missing key fails with `ENOENT` after the keys before it).
    pub fn delete_batch(&self, keys: &[u8]) -> Result<usize> {
        let ks = self.def().key_size as usize;
        if ks == 0 || keys.len() % ks != 0 {
            return Err(self.size_err("keys buffer", keys.len(), ks));
        }
        let n = keys.len() / ks;
        let count =
            u32::try_from(n).map_err(|_| self.size_err("batch count", n, u32::MAX as usize))?;
        bpf::map_delete_batch(self.fd(), keys, count, 0)
            .map(|c| c as usize)
            .map_err(|e| self.batch_err(e))
    }

    /// Iterates over all `(key, value)` pairs, `chunk` elements per `BPF_MAP_LOOKUP_BATCH`
    /// (grown when a hash bucket does not fit).
    pub fn batches(&self, chunk: usize) -> Batches<'_> {
        let chunk = chunk.max(1);
        Batches {
            map: self,
            keys: vec![0; chunk * self.def().key_size as usize],
            values: vec![0; chunk * self.value_len()],
            token: None,
            have: 0,
            at: 0,
            done: false,
            delete: false,
        }
    }

    /// [`Map::batches`] with `BPF_MAP_LOOKUP_AND_DELETE_BATCH`: drains the map.
    pub fn drain_batches(&self, chunk: usize) -> Batches<'_> {
        Batches {
            delete: true,
            ..self.batches(chunk)
        }
    }
}

/// Iterator over a map's entries fetched in batches; see [`Map::batches`]. Yields
/// borrowed key and value bytes through [`Batches::next_entry`], or owned pairs as an
/// [`Iterator`].
#[derive(Debug)]
pub struct Batches<'m> {
    map: &'m Map,
    keys: Vec<u8>,
    values: Vec<u8>,
    token: Option<BatchToken>,
    have: usize,
    at: usize,
    done: bool,
    delete: bool,
}

impl Batches<'_> {
    fn refill(&mut self) -> Result<bool> {
        loop {
            if self.done {
                return Ok(false);
            }
            let r = self.map.lookup_batch_impl(
                self.delete,
                self.token.as_ref(),
                &mut self.keys,
                &mut self.values,
            );
            match r {
                Ok(o) => {
                    self.have = o.count;
                    self.at = 0;
                    self.done = o.next.is_none();
                    if let Some(t) = o.next {
                        self.token = Some(t);
                    }
                    if self.have > 0 {
                        return Ok(true);
                    }
                }
                Err(Error::Batch { source, .. }) if source.errno() == Some(Errno::ENOSPC) => {
                    // A bucket holds more elements than the buffers: double them.
                    let n = 2 * self.keys.len() / self.map.def().key_size.max(1) as usize;
                    if n > 1 << 24 {
                        self.done = true;
                        return Err(Error::Batch {
                            map: self.map.name().to_owned(),
                            processed: 0,
                            source,
                        });
                    }
                    self.keys.resize(n * self.map.def().key_size as usize, 0);
                    self.values.resize(n * self.map.value_len(), 0);
                }
                Err(e) => {
                    self.done = true;
                    return Err(e);
                }
            }
        }
    }

    /// The next entry's key and value bytes, borrowed from the batch buffers.
    pub fn next_entry(&mut self) -> Option<Result<(&[u8], &[u8])>> {
        if self.at >= self.have {
            match self.refill() {
                Ok(true) => {}
                Ok(false) => return None,
                Err(e) => return Some(Err(e)),
            }
        }
        let (ks, vs) = (self.map.def().key_size as usize, self.map.value_len());
        let i = self.at;
        self.at += 1;
        Some(Ok((
            &self.keys[i * ks..(i + 1) * ks],
            &self.values[i * vs..(i + 1) * vs],
        )))
    }

    /// The next entry decoded as `K` and `V` (sizes checked).
    ///
    /// Small enough to inline into the caller's loop, where the `Option<Result<..>>` (wide:
    /// the error type carries strings) then stays in registers; refills and size errors
    /// are out of line. Returned through memory instead, it cost ~40 ns per entry.
    #[inline]
    pub fn next_typed<K: Pod, V: Pod>(&mut self) -> Option<Result<(K, V)>> {
        let (ks, vs) = (self.map.def().key_size as usize, self.map.value_len());
        let i = self.at;
        if i < self.have && size_of::<K>() == ks && size_of::<V>() == vs {
            if let (Some(k), Some(v)) = (
                self.keys
                    .get(i * ks..(i + 1) * ks)
                    .and_then(pod::from_bytes::<K>),
                self.values
                    .get(i * vs..(i + 1) * vs)
                    .and_then(pod::from_bytes::<V>),
            ) {
                self.at = i + 1;
                return Some(Ok((k, v)));
            }
        }
        self.next_typed_slow()
    }

    /// [`Batches::next_typed`] past the end of the current batch, or with a size error.
    #[cold]
    #[inline(never)]
    fn next_typed_slow<K: Pod, V: Pod>(&mut self) -> Option<Result<(K, V)>> {
        // The map's name is only copied for an error (not once per entry).
        let map: &Map = self.map;
        let r = self.next_entry()?;
        Some(r.and_then(|(k, v)| {
            let key = pod::from_bytes::<K>(k).ok_or_else(|| Error::SizeMismatch {
                map: map.name().to_owned(),
                what: "key",
                got: size_of::<K>(),
                want: k.len(),
            })?;
            let value = pod::from_bytes::<V>(v).ok_or_else(|| Error::SizeMismatch {
                map: map.name().to_owned(),
                what: "value",
                got: size_of::<V>(),
                want: v.len(),
            })?;
            Ok((key, value))
        }))
    }
}

impl Iterator for Batches<'_> {
    type Item = Result<(Vec<u8>, Vec<u8>)>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_entry()
            .map(|r| r.map(|(k, v)| (k.to_vec(), v.to_vec())))
    }
}

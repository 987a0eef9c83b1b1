//! The lazy name → ids index of a [`Btf`], and name-match iteration across split BTF.
//!
//! The index is two parallel `Vec<u32>`s: the hash of each named type's *essential* name
//! (the name without a `___flavor` suffix) sorted ascending, and the type ids in the same
//! order (ascending within one hash). A lookup binary-searches the hash and checks the
//! few candidates' names, so exact-name and essential-name queries share one index. For
//! vmlinux (~126k types, ~half of them named) it takes ~0.7 MB and is built once.

use crate::btf::Btf;
use crate::endian::Endian;
use crate::types::{Strings, TypeId};

/// FNV-1a over the bytes of a name (32 bits).
#[inline]
pub(crate) fn hash(name: &[u8]) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for &b in name {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

/// The length of the essential part of `name`: up to (not including) the last `___` that
/// separates two non-underscore characters (`task_struct___v2` → `task_struct`), else the
/// whole name. CO-RE matches local and target types by this part.
pub(crate) fn essential_len(name: &[u8]) -> usize {
    let n = name.len();
    if n < 5 {
        return n;
    }
    // Rightmost "X___Y" with X and Y not '_': the essential name ends at X.
    (0..=n - 5)
        .rev()
        .find(|&i| {
            name[i] != b'_'
                && name[i + 1] == b'_'
                && name[i + 2] == b'_'
                && name[i + 3] == b'_'
                && name[i + 4] != b'_'
        })
        .map_or(n, |i| i + 1)
}

/// The essential name of a type name: without its `___flavor` suffix
/// (`"task_struct___old"` → `"task_struct"`; a name without one is returned whole).
pub fn essential_name(name: &str) -> &str {
    // The cut is right after an ASCII byte that is not '_', so it is a char boundary.
    name.get(..essential_len(name.as_bytes())).unwrap_or(name)
}

/// The name index of one BTF blob's own types (see the module docs).
#[derive(Debug)]
pub struct NameIndex {
    /// Hashes of essential names, ascending.
    hashes: Vec<u32>,
    /// `ids[i]` has an essential name hashing to `hashes[i]`; ascending within a hash.
    ids: Vec<u32>,
}

impl NameIndex {
    /// Index the named types among `offsets` (own types starting at `start_id`).
    pub(crate) fn build(
        types: &[u8],
        offsets: &[u32],
        start_id: TypeId,
        endian: Endian,
        strs: Strings<'_>,
    ) -> NameIndex {
        let mut pairs: Vec<u64> = Vec::with_capacity(offsets.len() / 2);
        for (i, &off) in offsets.iter().enumerate() {
            let name_off = endian.read_u32(types, off as usize).unwrap_or(0);
            if name_off == 0 {
                continue;
            }
            let Some(name) = strs.bytes(name_off) else {
                continue;
            };
            if name.is_empty() {
                continue;
            }
            let h = hash(&name[..essential_len(name)]);
            pairs.push((u64::from(h) << 32) | u64::from(start_id + i as TypeId));
        }
        pairs.sort_unstable();
        NameIndex {
            hashes: pairs.iter().map(|&p| (p >> 32) as u32).collect(),
            ids: pairs.iter().map(|&p| p as u32).collect(),
        }
    }

    /// Number of indexed (named) types.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// True if no type is named.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Heap bytes held by the index.
    pub fn memory_bytes(&self) -> usize {
        (self.hashes.capacity() + self.ids.capacity()) * 4
    }

    /// The index range of the ids whose essential name hashes to `h`.
    fn range(&self, h: u32) -> (usize, usize) {
        let lo = self.hashes.partition_point(|&x| x < h);
        let hi = lo + self.hashes[lo..].partition_point(|&x| x == h);
        (lo, hi)
    }

    /// The ids whose essential name hashes to `h`, ascending (callers check the name).
    pub(crate) fn candidates(&self, h: u32) -> impl Iterator<Item = TypeId> + '_ {
        let (lo, hi) = self.range(h);
        self.ids[lo..hi].iter().copied()
    }
}

/// Where a [`NameMatches`] is within one blob of the split chain.
#[derive(Debug, Clone, Copy)]
enum Cursor {
    /// Not started on this layer yet.
    Start,
    /// Scanning own types linearly from this index.
    Scan(usize),
    /// Walking `ids[pos..end]` of the layer's index.
    Indexed(usize, usize),
}

/// Iterator over the ids of types matching a name, in ascending id order across a split
/// BTF's base and its own types; see [`Btf::find_all_by_name`] and
/// [`Btf::find_by_essential_name`].
#[derive(Debug)]
pub struct NameMatches<'b, 'a> {
    top: &'b Btf<'a>,
    /// The blob being searched: the root base first, then each split on top, ending at `top`.
    layer: Option<&'b Btf<'a>>,
    cursor: Cursor,
    /// The exact name, or the essential name when `essential`.
    name: &'b [u8],
    essential: bool,
    hash: u32,
}

impl<'b, 'a> NameMatches<'b, 'a> {
    pub(crate) fn new(top: &'b Btf<'a>, name: &'b str, essential: bool) -> Self {
        let mut name = name.as_bytes();
        if essential {
            name = &name[..essential_len(name)];
        }
        let mut root: &'b Btf<'a> = top;
        while let Some(b) = root.base() {
            root = b;
        }
        NameMatches {
            top,
            // Anonymous types are not matched by name.
            layer: (!name.is_empty()).then_some(root),
            cursor: Cursor::Start,
            name,
            essential,
            hash: hash(name),
        }
    }

    /// The blob directly on top of `cur` in the chain ending at `top`.
    fn next_layer(&self, cur: &Btf<'a>) -> Option<&'b Btf<'a>> {
        let mut l: &'b Btf<'a> = self.top;
        if std::ptr::eq(l, cur) {
            return None;
        }
        loop {
            match l.base() {
                Some(b) if std::ptr::eq(b, cur) => return Some(l),
                Some(b) => l = b,
                None => return None,
            }
        }
    }

    /// Does own type `idx` of `layer` match?
    fn matches(&self, layer: &Btf<'a>, idx: usize) -> bool {
        let n = layer.own_name_bytes(idx);
        if self.essential {
            n.starts_with(self.name) && essential_len(n) == self.name.len()
        } else {
            n == self.name
        }
    }
}

impl Iterator for NameMatches<'_, '_> {
    type Item = TypeId;

    fn next(&mut self) -> Option<TypeId> {
        loop {
            let layer = self.layer?;
            let start = layer.start_id();
            match self.cursor {
                Cursor::Start => {
                    self.cursor = match layer.index_for_lookup() {
                        Some(ix) => {
                            let (lo, hi) = ix.range(self.hash);
                            Cursor::Indexed(lo, hi)
                        }
                        None => Cursor::Scan(0),
                    };
                    continue;
                }
                Cursor::Scan(from) => {
                    let found = if self.essential {
                        (from..layer.len() - start as usize).find(|&i| self.matches(layer, i))
                    } else {
                        layer.scan_own(self.name, None, from)
                    };
                    if let Some(i) = found {
                        self.cursor = Cursor::Scan(i + 1);
                        return Some(start + i as TypeId);
                    }
                }
                Cursor::Indexed(pos, end) => {
                    let ix = layer.built_index()?;
                    let found = (pos..end).find(|&p| {
                        let id = ix.ids[p];
                        self.matches(layer, (id - start) as usize)
                    });
                    if let Some(p) = found {
                        self.cursor = Cursor::Indexed(p + 1, end);
                        return Some(ix.ids[p]);
                    }
                }
            }
            // This layer is exhausted: go up the chain.
            self.layer = self.next_layer(layer);
            self.cursor = Cursor::Start;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn essential_name_strips_the_last_flavor_suffix() {
        assert_eq!(essential_name("task_struct___v2"), "task_struct");
        assert_eq!(essential_name("task_struct___old___x"), "task_struct___old");
        assert_eq!(essential_name("task_struct"), "task_struct");
        // Underscores on either side of the separator do not make a flavor.
        assert_eq!(essential_name("a____b"), "a____b");
        assert_eq!(essential_name("____b"), "____b");
        assert_eq!(essential_name("a___"), "a___");
        assert_eq!(essential_name("a___b"), "a");
        assert_eq!(essential_name(""), "");
    }

    #[test]
    fn hash_differs_for_different_names() {
        assert_ne!(hash(b"task_struct"), hash(b"task_structs"));
        assert_eq!(hash(b"x"), hash(b"x"));
    }
}

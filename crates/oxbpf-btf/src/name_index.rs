//! The lazy name → ids index of a [`Btf`], and name-match iteration across split BTF.
//!
//! The index is one `Vec<u64>` of `(hash << 32) | id`: the hash of each named type's
//! *essential* name (the name without a `___flavor` suffix) and its id, sorted by hash
//! (radix), ids ascending within one hash. It is built in one pass over the type section
//! (with the offset table, when that does not exist yet), 8 name bytes a step. A lookup binary-searches the hash and checks the
//! few candidates' names, so exact-name and essential-name queries share one index. For
//! vmlinux (~126k types, ~half of them named) it takes ~0.6 MB and is built once.

use crate::btf::Btf;
use crate::endian::Endian;
use crate::types::{Strings, TypeId};

/// Multiplier of the word-at-a-time hash (FxHash's).
const K: u64 = 0x517c_c1b7_2722_0a95;

/// One 8-byte step of the hash.
#[inline]
fn mix(h: u64, w: u64) -> u64 {
    (h.rotate_left(5) ^ w).wrapping_mul(K)
}

/// Folds the state and the length into the 32-bit hash.
#[inline]
fn finish(h: u64, len: usize) -> u32 {
    let h = mix(h, len as u64);
    ((h >> 32) ^ h) as u32
}

/// Word-at-a-time hash of a name (8 bytes per step, the last word zero-padded; 32 bits).
#[inline]
pub(crate) fn hash(name: &[u8]) -> u32 {
    let mut h = 0u64;
    let mut chunks = name.chunks_exact(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        h = mix(h, u64::from_le_bytes(w));
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut w = [0u8; 8];
        w[..rest.len()].copy_from_slice(rest);
        h = mix(h, u64::from_le_bytes(w));
    }
    finish(h, name.len())
}

const LO: u64 = 0x0101_0101_0101_0101;
const HI: u64 = 0x8080_8080_8080_8080;

/// High bit set in every byte of `w` that is zero (and possibly in bytes after the first
/// zero one; the first is exact).
#[inline]
fn zero_bytes(w: u64) -> u64 {
    w.wrapping_sub(LO) & !w & HI
}

/// The hash of the essential name of the NUL-terminated string at the start of `tail`
/// (`hash(&name[..essential_len(name)])`) in one pass of 8-byte words, or `None` if the
/// name is empty or `tail` holds no NUL.
#[inline]
pub(crate) fn essential_hash_of_tail(tail: &[u8]) -> Option<u32> {
    let mut h = 0u64;
    let mut pos = 0usize;
    // Underscore mask of the previous word (a superset of its '_' bytes).
    let mut prev_us = 0u64;
    let mut maybe_flavor = false;
    loop {
        let mut b = [0u8; 8];
        match tail.get(pos..pos + 8) {
            Some(c) => b.copy_from_slice(c),
            None => {
                let c = tail.get(pos..)?;
                b[..c.len()].copy_from_slice(c);
                if !c.contains(&0) {
                    return None;
                }
            }
        }
        let w = u64::from_le_bytes(b);
        let z = zero_bytes(w);
        // Any "___" (within the word or across the boundary from the previous one) sends
        // the name to the exact essential-name rule; false alarms only cost time.
        let us = zero_bytes(w ^ 0x5f5f_5f5f_5f5f_5f5f);
        if us & (us << 8) & (us << 16) != 0 || (prev_us >> 56 != 0 && us & 0x8080 != 0) {
            maybe_flavor = true;
        }
        prev_us = us;
        if z != 0 {
            let n = (z.trailing_zeros() / 8) as usize;
            let len = pos + n;
            if len == 0 {
                return None;
            }
            if maybe_flavor {
                let name = tail.get(..len)?;
                return Some(hash(&name[..essential_len(name)]));
            }
            if n > 0 {
                h = mix(h, w & ((1u64 << (8 * n)) - 1));
            }
            return Some(finish(h, len));
        }
        h = mix(h, w);
        pos += 8;
    }
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

/// Sorts `(hash << 32) | id` pairs by hash, stably (ids pushed ascending stay ascending
/// within a hash): three LSD passes of 11, 11 and 10 bits, as fast as one pass over the
/// data each, where a comparison sort of vmlinux's ~70k names takes several.
fn radix_sort_by_hash(pairs: &mut Vec<u64>) {
    if pairs.len() < 256 {
        pairs.sort_unstable();
        return;
    }
    let mut buf = vec![0u64; pairs.len()];
    for shift in [32u32, 43, 54] {
        let digit = |p: u64| ((p >> shift) & 0x7ff) as usize;
        let mut count = [0usize; 2049];
        for &p in pairs.iter() {
            count[digit(p) + 1] += 1;
        }
        for i in 1..count.len() {
            count[i] += count[i - 1];
        }
        for &p in pairs.iter() {
            let d = digit(p);
            if let Some(slot) = buf.get_mut(count[d]) {
                *slot = p;
            }
            count[d] += 1;
        }
        std::mem::swap(pairs, &mut buf);
    }
}

/// The name index of one BTF blob's own types (see the module docs).
#[derive(Debug)]
pub struct NameIndex {
    /// `(hash << 32) | id` of every named type, by the hash of its essential name, ids
    /// ascending within a hash.
    pairs: Vec<u64>,
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
            let Some(h) = strs.tail(name_off).and_then(essential_hash_of_tail) else {
                continue;
            };
            pairs.push((u64::from(h) << 32) | u64::from(start_id + i as TypeId));
        }
        radix_sort_by_hash(&mut pairs);
        NameIndex { pairs }
    }

    /// [`NameIndex::build`] for a blob without its offset table yet: walks the
    /// (validated) type section once, pushing each type's offset onto `offsets` as it
    /// indexes the names.
    pub(crate) fn build_walking(
        types: &[u8],
        offsets: &mut Vec<u32>,
        start_id: TypeId,
        endian: Endian,
        strs: Strings<'_>,
    ) -> NameIndex {
        let mut pairs: Vec<u64> = Vec::with_capacity(offsets.capacity() / 2);
        let mut off = 0usize;
        let mut id = start_id;
        while let Some(hdr) = types.get(off..).and_then(|t| t.first_chunk::<12>()) {
            offsets.push(off as u32);
            let [n0, n1, n2, n3, ..] = *hdr;
            let name_off = endian.u32([n0, n1, n2, n3]);
            if name_off != 0
                && let Some(h) = strs.tail(name_off).and_then(essential_hash_of_tail)
            {
                pairs.push((u64::from(h) << 32) | u64::from(id));
            }
            off += crate::btf::validated_type_len(endian, hdr);
            id += 1;
        }
        radix_sort_by_hash(&mut pairs);
        NameIndex { pairs }
    }

    /// Number of indexed (named) types.
    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    /// True if no type is named.
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// Heap bytes held by the index.
    pub fn memory_bytes(&self) -> usize {
        self.pairs.capacity() * 8
    }

    /// The index range of the ids whose essential name hashes to `h`.
    fn range(&self, h: u32) -> (usize, usize) {
        let key = |p: &u64| (*p >> 32) as u32;
        let lo = self.pairs.partition_point(|p| key(p) < h);
        let hi = lo + self.pairs[lo..].partition_point(|p| key(p) == h);
        (lo, hi)
    }

    /// The type id at position `p` of the index (`p` from [`NameIndex::range`]).
    #[inline]
    fn id_at(&self, p: usize) -> TypeId {
        self.pairs[p] as u32
    }

    /// The ids whose essential name hashes to `h`, ascending (callers check the name).
    pub(crate) fn candidates(&self, h: u32) -> impl Iterator<Item = TypeId> + '_ {
        let (lo, hi) = self.range(h);
        self.pairs[lo..hi].iter().map(|&p| p as u32)
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
        // The index is keyed by essential names: both lookups probe the essential name's
        // hash; an exact one (of a flavored name such as `bpf_task_acquire___two`) then
        // compares whole names.
        let key = &name[..essential_len(name)];
        if essential {
            name = key;
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
            hash: hash(key),
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
                    // Essential-name lookups (CO-RE candidates) come many per object and
                    // a scan of them costs as much as building the index: index at once.
                    let ix = if self.essential {
                        Some(layer.own_name_index())
                    } else {
                        layer.index_for_lookup()
                    };
                    self.cursor = match ix {
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
                        let id = ix.id_at(p);
                        self.matches(layer, (id - start) as usize)
                    });
                    if let Some(p) = found {
                        self.cursor = Cursor::Indexed(p + 1, end);
                        return Some(ix.id_at(p));
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

    /// The one-pass hash must equal hashing the essential name found the slow way.
    fn check_tail(name: &[u8], after: &[u8]) {
        let mut tail = name.to_vec();
        tail.push(0);
        tail.extend_from_slice(after);
        let want = (!name.is_empty()).then(|| hash(&name[..essential_len(name)]));
        assert_eq!(
            essential_hash_of_tail(&tail),
            want,
            "name {name:?} then {after:?}"
        );
    }

    #[test]
    fn tail_hash_matches_essential_hash_at_every_length_and_flavor_position() {
        for name in [
            &b""[..],
            b"a",
            b"task_struct",
            b"task_struct___v2",
            b"abcdefg___h",
            b"abcdefgh___i",
            b"abcdef___gh",
            b"abcdefg_",
            b"a____b",
            b"a___",
            b"x___y___z",
            b"exactly8",
            b"sixteen_bytes_16",
        ] {
            check_tail(name, b"");
            check_tail(name, b"___after_the_nul");
            check_tail(name, b"zzzzzzzzzzzzzzzz");
        }
    }

    #[test]
    fn tail_hash_is_none_without_a_nul() {
        assert_eq!(essential_hash_of_tail(b"no_nul_here"), None);
        assert_eq!(essential_hash_of_tail(b""), None);
        assert_eq!(essential_hash_of_tail(b"\0abc"), None);
    }

    proptest::proptest! {
        #[test]
        fn tail_hash_matches_essential_hash_on_arbitrary_names(
            name in "[a-c_]{0,40}",
            after in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..12),
        ) {
            check_tail(name.as_bytes(), &after);
        }
    }

    #[test]
    fn exact_lookup_of_a_flavored_name_finds_it_with_and_without_the_index() {
        let mut b = crate::BtfBuilder::new();
        let int = b.add_int("int", 4, 0);
        let proto = b.add_func_proto(int, &[]);
        let one = b.add_func("bpf_task_acquire___one", proto, crate::LINKAGE_EXTERN);
        let two = b.add_func("bpf_task_acquire___two", proto, crate::LINKAGE_EXTERN);
        let plain = b.add_func("bpf_task_acquire", proto, crate::LINKAGE_EXTERN);
        let bytes = b.build();
        let btf = Btf::parse(&bytes).unwrap();
        let check = |btf: &Btf<'_>| {
            for (name, id) in [
                ("bpf_task_acquire___one", one),
                ("bpf_task_acquire___two", two),
                ("bpf_task_acquire", plain),
            ] {
                let found: Vec<TypeId> = btf.find_all_by_name(name).collect();
                assert_eq!(found, [id], "{name}");
            }
            assert!(
                btf.find_all_by_name("bpf_task_acquire___x")
                    .next()
                    .is_none()
            );
        };
        // Linear scans first, then (past the lookup threshold) the essential-keyed index.
        check(&btf);
        let _ = btf.index();
        check(&btf);
    }

    #[test]
    fn radix_sort_orders_by_hash_then_id_like_a_full_sort() {
        let mut x = 0x1234_5678_9abc_def0u64;
        let mut pairs: Vec<u64> = (0..5000u64)
            .map(|id| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                // Few distinct hashes, so equal hashes with ascending ids are common,
                // spread over all three digits.
                let h = ((x % 700) * 0x0061_0a01) & 0xffff_ffff;
                h << 32 | id
            })
            .collect();
        let mut want = pairs.clone();
        want.sort_unstable();
        radix_sort_by_hash(&mut pairs);
        assert_eq!(pairs, want);
    }

    #[test]
    fn index_built_with_the_offset_table_equals_index_built_after_it() {
        // The host's vmlinux BTF: ~126k types of every kind (skipped where absent).
        let Ok(data) = std::fs::read("/sys/kernel/btf/vmlinux") else {
            return;
        };
        let (Ok(fused), Ok(apart)) = (Btf::parse(&data), Btf::parse(&data)) else {
            panic!("vmlinux BTF does not parse");
        };
        // `fused` builds offsets and index in one walk; `apart` has its offsets first.
        let a = fused.index().pairs.clone();
        assert!(apart.type_by_id(1).is_ok());
        let b = apart.index().pairs.clone();
        assert_eq!(fused.offsets(), apart.offsets());
        assert_eq!(a, b);
        assert!(
            fused
                .find_by_essential_name("task_struct___x")
                .next()
                .is_some()
        );
    }
}

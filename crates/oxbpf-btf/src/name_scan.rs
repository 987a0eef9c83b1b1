//! Many essential-name lookups at once, without the name index: one pass over the types.
//!
//! CO-RE needs the candidates of a handful of local types (an object's ~5-20 root types)
//! in a target of ~126k types (vmlinux). Hashing and sorting every name into the
//! [`NameIndex`](crate::NameIndex) costs ~4x the walk that builds the offset table;
//! [`Btf::find_by_essential_names`] instead checks each type's kind against the kinds
//! asked for and, only for those, the first name byte against the names asked for, in
//! the walk that builds the offset table anyway (or over the table, if it exists). When
//! the index is already built, or the queries are so many that building it is cheaper
//! than comparing each name with them ([`SCAN_MAX_QUERIES`]), it answers from the index.

use crate::btf::Btf;
use crate::endian::Endian;
use crate::error::Result;
use crate::name_index::essential_len;
use crate::types::{Kind, Strings, TypeId};

/// Above this many queries, [`Btf::find_by_essential_names`] builds the name index
/// instead of comparing names in one pass.
pub const SCAN_MAX_QUERIES: usize = 256;

/// Queries prepared for the walk: essential names, kind masks, and the queries grouped
/// by the first byte of their name.
struct Needles<'n> {
    /// (essential name bytes, raw-kind mask) per query, in query order.
    names: Vec<(&'n [u8], u32)>,
    /// Union of the kind masks of named queries.
    kinds: u32,
    /// Indices into `names` of the named queries, sorted by first byte.
    order: Vec<usize>,
    /// `order[lo..hi]` are the queries whose name starts with byte `b`, for `(lo, hi) =
    /// by_first[b]`.
    by_first: [(u32, u32); 256],
}

impl<'n> Needles<'n> {
    fn new(queries: &[(&'n str, &[Kind])]) -> Self {
        let mut names = Vec::with_capacity(queries.len());
        let mut kinds = 0u32;
        for (name, ks) in queries {
            let n = name.as_bytes();
            let n = &n[..essential_len(n)];
            // No kinds: any kind (void is never a named type).
            let mask = if ks.is_empty() {
                !1u32
            } else {
                ks.iter().fold(0u32, |m, k| m | 1 << (k.to_raw() & 0x1f))
            };
            if !n.is_empty() {
                kinds |= mask;
            }
            names.push((n, mask));
        }
        let mut order: Vec<usize> = (0..names.len())
            .filter(|&i| !names[i].0.is_empty())
            .collect();
        order.sort_by_key(|&i| names[i].0[0]);
        let mut by_first = [(0u32, 0u32); 256];
        let mut pos = 0usize;
        while pos < order.len() {
            let b = names[order[pos]].0[0];
            let hi = pos + order[pos..].partition_point(|&i| names[i].0[0] == b);
            by_first[usize::from(b)] = (pos as u32, hi as u32);
            pos = hi;
        }
        Needles {
            names,
            kinds,
            order,
            by_first,
        }
    }

    /// The queries whose name starts with byte `b`.
    #[inline]
    fn starting_with(&self, b: u8) -> &[usize] {
        let (lo, hi) = self.by_first[usize::from(b)];
        self.order.get(lo as usize..hi as usize).unwrap_or(&[])
    }
}

/// Whether the NUL-terminated name at the start of `tail` has the essential name `want`
/// (`want` may itself hold a `___`: `a___b` is the essential name of `a___b___c` only).
#[inline]
fn essential_is(tail: &[u8], want: &[u8]) -> bool {
    let Some(rest) = tail.strip_prefix(want) else {
        return false;
    };
    match rest.first() {
        Some(0) => essential_len(want) == want.len(),
        // `want___flavor`: the essential name ends at the last `___` of the whole name.
        Some(b'_') => {
            let len = rest
                .iter()
                .position(|&b| b == 0)
                .map_or(tail.len(), |p| want.len() + p);
            essential_len(&tail[..len]) == want.len()
        }
        _ => false,
    }
}

impl<'a> Btf<'a> {
    /// For each `(name, kinds)` query, the ids of the types whose essential name (without
    /// a `___flavor` suffix, see [`essential_name`](crate::essential_name)) equals `name`'s
    /// and whose kind is one of `kinds` (empty: any kind), ascending, across a split's
    /// base and its own types — the same ids as [`Btf::find_by_essential_name`] filtered
    /// by kind, for all queries in one pass over the types (see the module docs).
    pub fn find_by_essential_names(&self, queries: &[(&str, &[Kind])]) -> Vec<Vec<TypeId>> {
        let needles = Needles::new(queries);
        let mut out = vec![Vec::new(); queries.len()];
        let mut chain = vec![self];
        while let Some(b) = chain.last().and_then(|l| l.base()) {
            chain.push(b);
        }
        for layer in chain.into_iter().rev() {
            layer.scan_essential_names(&needles, &mut out);
        }
        out
    }

    /// [`Btf::find_by_essential_names`] over own types, appending to `out`.
    fn scan_essential_names(&self, needles: &Needles<'_>, out: &mut [Vec<TypeId>]) {
        let start = self.start_id();
        let index = match self.built_index() {
            Some(ix) => Some(ix),
            None if needles.names.len() > SCAN_MAX_QUERIES => Some(self.own_name_index()),
            None => None,
        };
        if let Some(ix) = index {
            for (i, &(want, mask)) in needles.names.iter().enumerate() {
                if want.is_empty() {
                    continue;
                }
                for id in ix.candidates(crate::name_index::hash(want)) {
                    let idx = (id - start) as usize;
                    if mask & 1 << self.own_raw_kind(idx) != 0
                        && essential_len(self.own_name_bytes(idx)) == want.len()
                        && self.own_name_bytes(idx).starts_with(want)
                        && let Some(o) = out.get_mut(i)
                    {
                        o.push(id);
                    }
                }
            }
            return;
        }
        if needles.kinds == 0 {
            return;
        }
        let endian = self.endian();
        let strs = self.strings();
        self.for_each_own_header(|idx, hdr| {
            visit_header(needles, endian, strs, start, idx, hdr, out);
        });
    }

    /// [`Btf::parse_with_offsets`] that also answers [`Btf::find_by_essential_names`] for
    /// `queries` in the same validating walk (base BTF: vmlinux, an external file) — the
    /// CO-RE target's parse, offset table and candidate search in one pass instead of two.
    pub fn parse_finding_essential_names(
        data: &'a [u8],
        queries: &[(&str, &[Kind])],
    ) -> Result<(Btf<'a>, Vec<Vec<TypeId>>)> {
        if queries.len() > SCAN_MAX_QUERIES {
            let btf = Btf::parse_with_offsets(data)?;
            let found = btf.find_by_essential_names(queries);
            return Ok((btf, found));
        }
        let needles = Needles::new(queries);
        let mut out = vec![Vec::new(); queries.len()];
        let endian = Endian::from_magic([
            data.first().copied().unwrap_or(0),
            data.get(1).copied().unwrap_or(0),
        ]);
        let btf = match endian {
            Some(endian) if needles.kinds != 0 => Btf::parse_visiting(data, |strs, idx, hdr| {
                visit_header(&needles, endian, strs, 1, idx, hdr, &mut out);
            })?,
            // A bad magic is reported by the parse; no named query finds nothing.
            _ => Btf::parse_with_offsets(data)?,
        };
        Ok((btf, out))
    }
}

/// The one-pass check of own type `idx` (header `hdr`, ids from `start`) against the
/// queries: its kind, then the queries sharing its name's first byte.
#[inline]
fn visit_header(
    needles: &Needles<'_>,
    endian: Endian,
    strs: Strings<'_>,
    start: TypeId,
    idx: usize,
    hdr: &[u8; 12],
    out: &mut [Vec<TypeId>],
) {
    let [n0, n1, n2, n3, i0, i1, i2, i3, ..] = *hdr;
    let kind = (endian.u32([i0, i1, i2, i3]) >> 24) & 0x1f;
    if needles.kinds & 1 << kind == 0 {
        return;
    }
    let name_off = endian.u32([n0, n1, n2, n3]);
    if name_off == 0 {
        return;
    }
    let Some(tail) = strs.tail(name_off) else {
        return;
    };
    let Some(&b) = tail.first() else {
        return;
    };
    for &i in needles.starting_with(b) {
        let (want, mask) = needles.names[i];
        if mask & 1 << kind != 0
            && essential_is(tail, want)
            && let Some(o) = out.get_mut(i)
        {
            o.push(start + idx as TypeId);
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::{BtfBuilder, INT_SIGNED};

    #[test]
    fn essential_is_follows_the_flavor_rule() {
        assert!(essential_is(b"task_struct\0x", b"task_struct"));
        assert!(essential_is(b"task_struct___v2\0", b"task_struct"));
        assert!(!essential_is(b"task_structs\0", b"task_struct"));
        assert!(!essential_is(b"task_struct___v2___x\0", b"task_struct"));
        assert!(essential_is(b"task_struct___v2___x\0", b"task_struct___v2"));
        assert!(!essential_is(b"a____b\0", b"a"));
        assert!(!essential_is(b"a___\0", b"a"));
        assert!(!essential_is(b"task\0", b"task_struct"));
        assert!(!essential_is(b"task_struct___v2\0", b"task_struct___v2"));
    }

    /// The answers of one pass equal those of one lookup per name, filtered by kind.
    pub(crate) fn check_against_single_lookups(btf: &Btf<'_>, queries: &[(&str, &[Kind])]) {
        let got = btf.find_by_essential_names(queries);
        for ((name, kinds), ids) in queries.iter().zip(&got) {
            let want: Vec<TypeId> = btf
                .find_by_essential_name(name)
                .filter(|&id| kinds.is_empty() || kinds.contains(&btf.kind(id).unwrap()))
                .collect();
            assert_eq!(ids, &want, "{name:?} {kinds:?}");
        }
    }

    #[test]
    fn finds_flavors_and_kinds_like_single_lookups() {
        let mut b = BtfBuilder::new();
        let int = b.add_int("int", 4, INT_SIGNED);
        b.add_struct("task_struct", 4, &[("pid", int, 0)]);
        b.add_struct("task_struct___v2", 4, &[("pid", int, 0)]);
        b.add_struct("task_struct___v2___x", 4, &[("pid", int, 0)]);
        b.add_union("task_struct", 4, &[("pid", int, 0)]);
        b.add_struct("task_structs", 4, &[("pid", int, 0)]);
        b.add_enum("state", 4, false, &[("A", 0)]);
        b.add_enum64("state___new", 8, false, &[("B", 1)]);
        b.add_struct("", 4, &[("pid", int, 0)]);
        let blob = b.build();
        let queries: &[(&str, &[Kind])] = &[
            ("task_struct", &[Kind::Struct]),
            ("task_struct___mine", &[Kind::Struct, Kind::Union]),
            ("task_struct___v2___y", &[]),
            ("state", &[Kind::Enum, Kind::Enum64]),
            ("missing", &[Kind::Struct]),
            ("", &[Kind::Struct]),
            ("int", &[]),
        ];
        // Without offsets (the scan builds them), with offsets, and with the index.
        let btf = Btf::parse(&blob).unwrap();
        let got = btf.find_by_essential_names(queries);
        assert_eq!(got[0], [2, 3]);
        assert_eq!(got[1], [2, 3, 5]);
        assert_eq!(got[2], [4]);
        assert_eq!(got[3], [7, 8]);
        assert!(got[4].is_empty() && got[5].is_empty());
        assert_eq!(got[6], [1]);
        assert!(btf.has_offset_table(), "the scan builds the offset table");
        check_against_single_lookups(&btf, queries);
        let btf = Btf::parse_with_offsets(&blob).unwrap();
        check_against_single_lookups(&btf, queries);
        let (fused, found) = Btf::parse_finding_essential_names(&blob, queries).unwrap();
        assert_eq!(found, got);
        assert!(fused.has_offset_table() && fused.built_index().is_none());
        assert_eq!(fused.offsets(), btf.offsets());
        let _ = btf.index();
        assert_eq!(btf.find_by_essential_names(queries), got);
    }

    #[test]
    fn many_queries_sharing_first_bytes_each_get_their_own_ids() {
        let mut b = BtfBuilder::new();
        let int = b.add_int("int", 4, INT_SIGNED);
        let names: Vec<String> = (0..60)
            .map(|i| format!("{}{i}", ["s", "t", "s_"][i % 3]))
            .collect();
        for (i, n) in names.iter().enumerate() {
            b.add_struct(n, 4, &[("x", int, 0)]);
            if i % 4 == 0 {
                b.add_struct(&format!("{n}___f"), 4, &[("x", int, 0)]);
                b.add_typedef(n, int);
            }
        }
        let blob = b.build();
        let btf = Btf::parse(&blob).unwrap();
        let queries: Vec<(&str, &[Kind])> = names
            .iter()
            .enumerate()
            .map(|(i, n)| {
                (
                    n.as_str(),
                    if i % 2 == 0 {
                        &[Kind::Struct][..]
                    } else {
                        &[][..]
                    },
                )
            })
            .collect();
        let got = btf.find_by_essential_names(&queries);
        assert_eq!(got[0].len(), 2, "s0 and s0___f (not the typedef)");
        assert_eq!(got[4].len(), 2);
        assert_eq!(got[1].len(), 1);
        check_against_single_lookups(&Btf::parse(&blob).unwrap(), &queries);
    }

    #[test]
    fn many_queries_are_answered_from_the_index() {
        let mut b = BtfBuilder::new();
        let int = b.add_int("int", 4, INT_SIGNED);
        let names: Vec<String> = (0..SCAN_MAX_QUERIES + 1).map(|i| format!("n{i}")).collect();
        for n in &names {
            b.add_struct(n, 4, &[("x", int, 0)]);
        }
        let blob = b.build();
        let btf = Btf::parse(&blob).unwrap();
        let queries: Vec<(&str, &[Kind])> = names.iter().map(|n| (n.as_str(), &[][..])).collect();
        let got = btf.find_by_essential_names(&queries);
        assert!(btf.built_index().is_some());
        assert!(
            got.iter()
                .enumerate()
                .all(|(i, ids)| ids == &[i as TypeId + 2])
        );
        let few = Btf::parse(&blob).unwrap();
        assert_eq!(few.find_by_essential_names(&queries[..3]), &got[..3]);
        assert!(few.built_index().is_none());
    }

    #[test]
    fn parse_with_offsets_builds_the_same_table() {
        let mut b = BtfBuilder::new();
        let int = b.add_int("int", 4, INT_SIGNED);
        b.add_struct("a", 8, &[("x", int, 0), ("y", int, 32)]);
        b.add_ptr(int);
        let blob = b.build();
        let (lazy, eager) = (
            Btf::parse(&blob).unwrap(),
            Btf::parse_with_offsets(&blob).unwrap(),
        );
        assert!(eager.has_offset_table() && !lazy.has_offset_table());
        assert_eq!(lazy.offsets(), eager.offsets());
        assert_eq!(lazy.len(), eager.len());
        assert!(Btf::parse_with_offsets(&blob[..blob.len() - 1]).is_err());
        let q: &[(&str, &[Kind])] = &[("a", &[])];
        assert!(Btf::parse_finding_essential_names(&blob[..blob.len() - 1], q).is_err());
        assert!(Btf::parse_finding_essential_names(b"junk", q).is_err());
    }

    #[test]
    fn vmlinux_answers_equal_single_lookups() {
        // The host's vmlinux BTF (skipped where absent).
        let Ok(data) = std::fs::read("/sys/kernel/btf/vmlinux") else {
            return;
        };
        let btf = Btf::parse(&data).unwrap();
        let queries: &[(&str, &[Kind])] = &[
            ("task_struct", &[Kind::Struct]),
            ("cred___x", &[Kind::Struct]),
            ("pid_type", &[Kind::Enum, Kind::Enum64]),
            ("mm_struct", &[Kind::Struct]),
            ("u32", &[Kind::Typedef]),
            ("no_such_type_here", &[]),
        ];
        let got = btf.find_by_essential_names(queries);
        assert!(!got[0].is_empty() && !got[1].is_empty());
        let (fused, found) = Btf::parse_finding_essential_names(&data, queries).unwrap();
        assert_eq!(found, got);
        assert_eq!(fused.len(), btf.len());
        let fresh = Btf::parse(&data).unwrap();
        check_against_single_lookups(&fresh, queries);
    }
}

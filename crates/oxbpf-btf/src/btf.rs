//! `Btf`: a validated view over a `.BTF` blob with an offset table for O(1) lookups.
//!
//! Base BTF (vmlinux, an object's `.BTF`) numbers its types from 1 and its strings from 0.
//! Split BTF (a module's, `/sys/kernel/btf/<module>`) continues both on top of a base:
//! its first type id is the base's `len()`, and its string offsets start at the base's
//! string section length, so an offset below that resolves in the base. A split [`Btf`]
//! borrows its base and every lookup (`type_by_id`, `str_at`, `find_by_name`, iteration,
//! member names) answers for the combined id and string space.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

use crate::endian::Endian;
use crate::error::{Error, Result};
use crate::name_index::{self, NameIndex, NameMatches};
use crate::types::{Datasec, Kind, Strings, Type, TypeId, decode};

/// The BTF magic number (`BTF_MAGIC`).
pub const BTF_MAGIC: u16 = 0xeb9f;
/// Size of `struct btf_header`.
pub const BTF_HEADER_LEN: usize = 24;
/// The highest number of types the kernel accepts (`BTF_MAX_TYPE`).
pub const MAX_TYPES: u32 = 0x000f_ffff;
/// How many references resolve_size / skip_mods_and_typedefs follow before giving up.
pub const MAX_RESOLVE_DEPTH: u32 = 32;

/// The fields of `struct btf_header`; section offsets are relative to the header's end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// Version byte (always 1).
    pub version: u8,
    /// Flags byte.
    pub flags: u8,
    /// Header length (24 or more).
    pub hdr_len: u32,
    /// Offset of the type section after the header.
    pub type_off: u32,
    /// Length of the type section.
    pub type_len: u32,
    /// Offset of the string section after the header.
    pub str_off: u32,
    /// Length of the string section.
    pub str_len: u32,
}

/// How many name lookups on one blob scan linearly before the name index is built.
pub const INDEX_AFTER_LOOKUPS: u32 = 4;

/// A parsed BTF blob: a view over borrowed bytes, optionally split on a base [`Btf`].
///
/// `parse` validates the header and every type record in one allocation-free pass; the
/// offset table (one `u32` per type, the only per-blob allocation) is built on the first
/// access by id, and types are decoded on demand. Exact-name lookups scan for the first
/// [`INDEX_AFTER_LOOKUPS`] calls (walking the type section itself while there is no offset
/// table yet, so open + parse + one lookup costs one pass and no allocation), then build a
/// compact name index once (or when [`Btf::index`] or an essential-name lookup asks for it;
/// without an offset table yet, one walk builds both).
pub struct Btf<'a> {
    data: &'a [u8],
    endian: Endian,
    header: Header,
    types_start: usize,
    types: &'a [u8],
    strs: Strings<'a>,
    /// Number of own types (counted by the validating pass of `parse`).
    count: usize,
    /// `offsets[i]` is the offset of type id `start_id + i` within the type section; built
    /// on the first access by id (a name lookup alone walks the section instead).
    offsets: OnceLock<Vec<u32>>,
    /// The base of split BTF.
    base: Option<&'a Btf<'a>>,
    /// Id of this blob's first type: 1 for base BTF, the base's `len()` for split BTF.
    start_id: TypeId,
    /// Name lookups so far (until the index exists).
    lookups: AtomicU32,
    /// The lazily built name index of this blob's own types.
    index: OnceLock<NameIndex>,
}

impl std::fmt::Debug for Btf<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Btf")
            .field("endian", &self.endian)
            .field("header", &self.header)
            .field("types", &self.len())
            .field("start_id", &self.start_id)
            .field("split", &self.base.is_some())
            .field("indexed", &self.index.get().is_some())
            .finish_non_exhaustive()
    }
}

fn bad_header(reason: String) -> Error {
    Error::BadHeader { reason }
}

/// Absolute [start, end) of a section given relative to `hdr_len`, checked against `blob_len`.
fn section(
    name: &str,
    hdr_len: u32,
    off: u32,
    len: u32,
    blob_len: usize,
) -> Result<(usize, usize)> {
    let start = u64::from(hdr_len) + u64::from(off);
    let end = start + u64::from(len);
    if end > blob_len as u64 {
        return Err(bad_header(format!(
            "{name} section (off {off:#x}, len {len:#x}) spans {start:#x}..{end:#x}, past the end of the blob (len {blob_len:#x})"
        )));
    }
    // Both fit in usize because they are <= blob_len.
    Ok((start as usize, end as usize))
}

impl<'a> Btf<'a> {
    /// Parse and validate a `.BTF` blob (magic 0xeB9F, either byte order).
    pub fn parse(data: &'a [u8]) -> Result<Btf<'a>> {
        Self::parse_inner(data, None, false, |_, _, _| {})
    }

    /// [`Btf::parse`] that also builds the offset table in the same validating walk: for
    /// blobs that will be read by id anyway (the target of CO-RE), one walk instead of two.
    pub fn parse_with_offsets(data: &'a [u8]) -> Result<Btf<'a>> {
        Self::parse_inner(data, None, true, |_, _, _| {})
    }

    /// [`Btf::parse_with_offsets`] (base BTF) calling `visit(strings, idx, header)` for
    /// every own type, in index order, once its record is validated — for work that
    /// would otherwise walk the types again (see `name_scan`).
    pub(crate) fn parse_visiting(
        data: &'a [u8],
        visit: impl FnMut(Strings<'a>, usize, &'a [u8; 12]),
    ) -> Result<Btf<'a>> {
        Self::parse_inner(data, None, true, visit)
    }

    /// Parse split BTF (a kernel module's) on top of `base` (vmlinux): type ids continue
    /// after the base's last id and string offsets after the base's string space. The
    /// result borrows `base`; lookups of base ids and strings delegate to it.
    pub fn parse_split(data: &'a [u8], base: &'a Btf<'a>) -> Result<Btf<'a>> {
        Self::parse_inner(data, Some(base), false, |_, _, _| {})
    }

    fn parse_inner(
        data: &'a [u8],
        base: Option<&'a Btf<'a>>,
        with_offsets: bool,
        mut visit: impl FnMut(Strings<'a>, usize, &'a [u8; 12]),
    ) -> Result<Btf<'a>> {
        if data.len() < BTF_HEADER_LEN {
            return Err(Error::TruncatedHeader {
                need: BTF_HEADER_LEN,
                len: data.len(),
            });
        }
        let magic = [data[0], data[1]];
        let endian = Endian::from_magic(magic).ok_or(Error::BadMagic { magic })?;
        let version = data[2];
        if version != 1 {
            return Err(Error::BadVersion { version });
        }
        if let Some(b) = base
            && b.endian != endian
        {
            return Err(bad_header(format!(
                "split BTF is {endian:?}-endian but its base is {:?}-endian",
                b.endian
            )));
        }
        let field = |off: usize| endian.read_u32(data, off).unwrap_or(0);
        let header = Header {
            version,
            flags: data[3],
            hdr_len: field(4),
            type_off: field(8),
            type_len: field(12),
            str_off: field(16),
            str_len: field(20),
        };
        let hdr_len = header.hdr_len;
        if (hdr_len as usize) < BTF_HEADER_LEN {
            return Err(bad_header(format!(
                "hdr_len {hdr_len:#x} is smaller than the {BTF_HEADER_LEN:#x}-byte header"
            )));
        }
        if hdr_len as usize > data.len() {
            return Err(bad_header(format!(
                "hdr_len {hdr_len:#x} runs past the end of the blob (len {:#x})",
                data.len()
            )));
        }
        if header.type_off % 4 != 0 {
            return Err(bad_header(format!(
                "type_off {:#x} is not 4-byte aligned",
                header.type_off
            )));
        }
        let (ts, te) = section(
            "type",
            hdr_len,
            header.type_off,
            header.type_len,
            data.len(),
        )?;
        let (ss, se) = section(
            "string",
            hdr_len,
            header.str_off,
            header.str_len,
            data.len(),
        )?;
        if ts < se && ss < te {
            return Err(bad_header(format!(
                "type section {ts:#x}..{te:#x} overlaps string section {ss:#x}..{se:#x}"
            )));
        }
        let strs = &data[ss..se];
        // Base BTF's strings start with the empty name's NUL; split BTF's continue the
        // base's and may even be empty (all names in the base).
        match (strs.first(), strs.last()) {
            (None, _) | (_, None) if base.is_none() => {
                return Err(bad_header(format!(
                    "string section at {ss:#x} is empty (needs at least the NUL of the empty name)"
                )));
            }
            (Some(&first), _) if first != 0 && base.is_none() => {
                return Err(bad_header(format!(
                    "string section at {ss:#x} does not start with NUL (byte {first:#04x})"
                )));
            }
            (_, Some(&last)) if last != 0 => {
                return Err(bad_header(format!(
                    "string section {ss:#x}..{se:#x} is not NUL-terminated (last byte at {:#x} is {last:#04x})",
                    se - 1
                )));
            }
            _ => {}
        }
        let strs = match base {
            None => Strings::new(strs),
            Some(b) => {
                let start = u32::try_from(b.strs.total_len())
                    .ok()
                    .filter(|s| s.checked_add(header.str_len).is_some())
                    .ok_or_else(|| {
                        bad_header(format!(
                            "string space of base ({:#x}) plus split ({:#x}) exceeds 4 GiB",
                            b.strs.total_len(),
                            header.str_len
                        ))
                    })?;
                Strings {
                    data: strs,
                    base: Some(&b.strs),
                    start,
                }
            }
        };
        let start_id = match base {
            None => 1,
            // A base's len() is at most MAX_TYPES + 1.
            Some(b) => b.len() as TypeId,
        };
        let types = &data[ts..te];
        let offsets = OnceLock::new();
        let count = if with_offsets {
            // vmlinux averages ~25 bytes a type: one reservation, rarely a regrowth.
            let mut table = Vec::with_capacity(types.len() / 20 + 1);
            let count = walk_types(
                types,
                ts,
                endian,
                start_id,
                strs.total_len(),
                Some(&mut table),
                &mut |idx, hdr| visit(strs, idx, hdr),
            )?;
            let _ = offsets.set(table);
            count
        } else {
            walk_types(
                types,
                ts,
                endian,
                start_id,
                strs.total_len(),
                None,
                &mut |idx, hdr| visit(strs, idx, hdr),
            )?
        };
        Ok(Btf {
            data,
            endian,
            header,
            types_start: ts,
            types,
            strs,
            count,
            offsets,
            base,
            start_id,
            lookups: AtomicU32::new(0),
            index: OnceLock::new(),
        })
    }

    /// Byte order of the blob.
    pub fn endian(&self) -> Endian {
        self.endian
    }

    /// The whole blob (this blob's own bytes for split BTF).
    pub fn bytes(&self) -> &'a [u8] {
        self.data
    }

    /// The decoded header.
    pub fn header(&self) -> Header {
        self.header
    }

    /// The raw string section (this blob's own; split BTF's offsets into it start at
    /// [`Btf::start_str_off`]).
    pub fn string_section(&self) -> &'a [u8] {
        self.strs.data
    }

    /// The string space as a lookup helper (for `.BTF.ext`), including a split's base.
    pub(crate) fn strings(&self) -> Strings<'a> {
        self.strs
    }

    /// The raw type section (this blob's own types).
    pub fn type_section(&self) -> &'a [u8] {
        self.types
    }

    /// The base this split BTF sits on; `None` for base BTF.
    pub fn base(&self) -> Option<&'a Btf<'a>> {
        self.base
    }

    /// Id of this blob's first own type: 1 for base BTF, the base's `len()` for split BTF.
    pub fn start_id(&self) -> TypeId {
        self.start_id
    }

    /// The string offset where this blob's own string section begins (0 for base BTF).
    pub fn start_str_off(&self) -> u32 {
        self.strs.start
    }

    /// Number of type ids including void (id 0) and, for split BTF, the base's types;
    /// valid ids are `0..len()`.
    pub fn len(&self) -> usize {
        self.start_id as usize + self.count
    }

    /// True if the blob holds no types of its own (besides void).
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The offset table, built on first use by a second walk of the (already validated)
    /// type section.
    pub(crate) fn offsets(&self) -> &[u32] {
        self.offsets.get_or_init(|| {
            let mut offsets = Vec::with_capacity(self.count);
            // Cannot fail: `parse` walked the same bytes with the same checks.
            let _ = walk_types(
                self.types,
                self.types_start,
                self.endian,
                self.start_id,
                self.strs.total_len(),
                Some(&mut offsets),
                &mut |_, _| {},
            );
            offsets
        })
    }

    /// Whether the offset table has been built.
    #[cfg(test)]
    pub(crate) fn has_offset_table(&self) -> bool {
        self.offsets.get().is_some()
    }

    /// Calls `f(idx, header)` for every own type in index order with its 12-byte header.
    /// Uses the offset table if there is one; else walks the (validated) type section
    /// and builds the table in the same walk.
    pub(crate) fn for_each_own_header(&self, mut f: impl FnMut(usize, &'a [u8; 12])) {
        let types = self.types;
        if let Some(offsets) = self.offsets.get() {
            for (idx, &off) in offsets.iter().enumerate() {
                if let Some(hdr) = types
                    .get(off as usize..)
                    .and_then(|t| t.first_chunk::<12>())
                {
                    f(idx, hdr);
                }
            }
            return;
        }
        let mut offsets = Vec::with_capacity(self.count);
        let mut off = 0usize;
        while let Some(hdr) = types.get(off..).and_then(|t| t.first_chunk::<12>()) {
            f(offsets.len(), hdr);
            // off < types.len() <= u32::MAX (validated at parse).
            offsets.push(off as u32);
            off += validated_type_len(self.endian, hdr);
        }
        // Another thread may have built the (identical) table meanwhile.
        let _ = self.offsets.set(offsets);
    }

    /// The index of own type `id` in `offsets`; `None` for ids of the base (or void).
    #[inline]
    fn own_index(&self, id: TypeId) -> Option<usize> {
        id.checked_sub(self.start_id).map(|i| i as usize)
    }

    /// Byte offset of type `id` in the blob that holds it (the base's blob for ids of a
    /// split's base); `None` for void and out-of-range ids.
    pub fn type_offset(&self, id: TypeId) -> Option<usize> {
        match self.own_index(id) {
            Some(idx) => self
                .offsets()
                .get(idx)
                .map(|&o| self.types_start + o as usize),
            None => self.base.and_then(|b| b.type_offset(id)),
        }
    }

    /// The raw record of own type index `idx` (12-byte header + trailing data), with its
    /// offset relative to the type section.
    #[inline]
    fn record(&self, id: TypeId, idx: usize) -> Result<(usize, &'a [u8])> {
        let out_of_range = || Error::TypeIdOutOfRange {
            id,
            count: self.len(),
        };
        let offsets = self.offsets();
        let start = *offsets.get(idx).ok_or_else(out_of_range)? as usize;
        let end = offsets
            .get(idx + 1)
            .map_or(self.types.len(), |&o| o as usize);
        let rec = self.types.get(start..end).ok_or_else(out_of_range)?;
        Ok((start, rec))
    }

    /// The type with id `id`; id 0 is [`Type::Void`].
    pub fn type_by_id(&self, id: TypeId) -> Result<Type<'a>> {
        let Some(idx) = self.own_index(id) else {
            return match self.base {
                Some(b) => b.type_by_id(id),
                None => Ok(Type::Void),
            };
        };
        let (start, rec) = self.record(id, idx)?;
        decode(id, self.types_start + start, rec, self.endian, self.strs)
    }

    /// The kind of type `id`, read without decoding the rest.
    pub fn kind(&self, id: TypeId) -> Result<Kind> {
        let Some(idx) = self.own_index(id) else {
            return match self.base {
                Some(b) => b.kind(id),
                None => Ok(Kind::Void),
            };
        };
        let (start, rec) = self.record(id, idx)?;
        let info = self.endian.read_u32(rec, 4).unwrap_or(0);
        let raw = ((info >> 24) & 0x1f) as u8;
        Kind::from_raw(raw)
            .filter(|&k| k != Kind::Void)
            .ok_or(Error::UnknownKind {
                id,
                offset: self.types_start + start,
                kind: raw,
            })
    }

    /// Every type as (id, type), ids `1..len()` — for split BTF the base's types first,
    /// then this blob's (void, id 0, is implicit and not yielded). A corrupt type yields its
    /// error and ends the iteration.
    pub fn types(&self) -> Types<'_, 'a> {
        Types {
            btf: self,
            next: 1,
            done: false,
        }
    }

    /// This blob's own types as (id, type), ids `start_id()..len()` (all types for base
    /// BTF; only the module's for split BTF).
    pub fn own_types(&self) -> Types<'_, 'a> {
        Types {
            btf: self,
            next: self.start_id,
            done: false,
        }
    }

    /// The string at `off` in the string space (the base's for offsets below
    /// [`Btf::start_str_off`]).
    pub fn str_at(&self, off: u32) -> Result<&'a str> {
        self.strs.get(off)
    }

    /// The name of type `id`; "" for anonymous types and void.
    pub fn type_name(&self, id: TypeId) -> Result<&'a str> {
        Ok(self.type_by_id(id)?.name())
    }

    /// Follow const/volatile/restrict/typedef/type_tag from `id` to the first other type.
    pub fn skip_mods_and_typedefs(&self, id: TypeId) -> Result<TypeId> {
        let mut cur = id;
        for _ in 0..MAX_RESOLVE_DEPTH {
            match self.type_by_id(cur)? {
                Type::Typedef(r)
                | Type::Volatile(r)
                | Type::Const(r)
                | Type::Restrict(r)
                | Type::TypeTag(r) => cur = r.ty,
                _ => return Ok(cur),
            }
        }
        Err(Error::TooDeep {
            id,
            max: MAX_RESOLVE_DEPTH,
        })
    }

    /// Byte size of type `id`: arrays multiply, pointers are 8, modifiers/typedefs/vars
    /// follow; void, func, func_proto, fwd and decl_tag are errors.
    pub fn resolve_size(&self, id: TypeId) -> Result<u32> {
        self.resolve_size_depth(id, id, 0)
    }

    fn resolve_size_depth(&self, start: TypeId, id: TypeId, depth: u32) -> Result<u32> {
        let mut cur = id;
        let mut depth = depth;
        loop {
            if depth >= MAX_RESOLVE_DEPTH {
                return Err(Error::TooDeep {
                    id: start,
                    max: MAX_RESOLVE_DEPTH,
                });
            }
            depth += 1;
            let ty = self.type_by_id(cur)?;
            return Ok(match ty {
                Type::Int(t) => t.size,
                Type::Struct(c) | Type::Union(c) => c.size,
                Type::Enum(e) | Type::Enum64(e) => e.size,
                Type::Float(f) => f.size,
                Type::Datasec(d) => d.size,
                Type::Ptr(_) => 8,
                Type::Typedef(r)
                | Type::Volatile(r)
                | Type::Const(r)
                | Type::Restrict(r)
                | Type::TypeTag(r) => {
                    cur = r.ty;
                    continue;
                }
                Type::Var(v) => {
                    cur = v.ty;
                    continue;
                }
                Type::Array(a) => {
                    let elem = self.resolve_size_depth(start, a.elem, depth)?;
                    elem.checked_mul(a.nelems)
                        .ok_or(Error::SizeOverflow { id: cur })?
                }
                Type::Void
                | Type::Func(_)
                | Type::FuncProto(_)
                | Type::Fwd(_)
                | Type::DeclTag(_) => {
                    return Err(Error::NoSize {
                        id: cur,
                        kind: ty.kind(),
                    });
                }
            });
        }
    }

    /// The name index of this blob's own types, built now if it was not yet (lookups
    /// build it by themselves after [`INDEX_AFTER_LOOKUPS`] scans). Also builds the
    /// base's.
    pub fn index(&self) -> &NameIndex {
        if let Some(b) = self.base {
            b.index();
        }
        self.index.get_or_init(|| self.build_index())
    }

    /// The name index of this blob's own types, built now if it was not yet (the base's
    /// is left alone).
    pub(crate) fn own_name_index(&self) -> &NameIndex {
        self.index.get_or_init(|| self.build_index())
    }

    /// The name index if it has been built.
    pub(crate) fn built_index(&self) -> Option<&NameIndex> {
        self.index.get()
    }

    fn build_index(&self) -> NameIndex {
        if self.offsets.get().is_none() {
            // One walk of the type section builds the offset table and the index.
            let mut offsets = Vec::with_capacity(self.count);
            let ix = NameIndex::build_walking(
                self.types,
                &mut offsets,
                self.start_id,
                self.endian,
                self.strs,
            );
            // Another thread may have built the (identical) table meanwhile.
            let _ = self.offsets.set(offsets);
            return ix;
        }
        NameIndex::build(
            self.types,
            self.offsets(),
            self.start_id,
            self.endian,
            self.strs,
        )
    }

    /// The name index if lookups should use it: built already, or built now because this
    /// blob has seen enough lookups.
    pub(crate) fn index_for_lookup(&self) -> Option<&NameIndex> {
        if let Some(ix) = self.index.get() {
            return Some(ix);
        }
        if self.lookups.fetch_add(1, Ordering::Relaxed) >= INDEX_AFTER_LOOKUPS {
            return Some(self.index.get_or_init(|| self.build_index()));
        }
        None
    }

    /// The raw name bytes (no NUL) of own type index `idx`; names were range-checked at
    /// parse time.
    #[inline]
    pub(crate) fn own_name_bytes(&self, idx: usize) -> &'a [u8] {
        let Some(&off) = self.offsets().get(idx) else {
            return b"";
        };
        let name_off = self.endian.read_u32(self.types, off as usize).unwrap_or(0);
        self.strs.bytes(name_off).unwrap_or(b"")
    }

    /// The raw kind number of own type index `idx`.
    #[inline]
    pub(crate) fn own_raw_kind(&self, idx: usize) -> u8 {
        let Some(&off) = self.offsets().get(idx) else {
            return 0;
        };
        let info = self
            .endian
            .read_u32(self.types, off as usize + 4)
            .unwrap_or(0);
        ((info >> 24) & 0x1f) as u8
    }

    /// A linear scan of own types from index `from` for the first whose name is `name`
    /// (and kind `kind`, if given), comparing raw name bytes. Returns the index. Without
    /// an offset table yet, a scan from the start walks the type section directly.
    pub(crate) fn scan_own(&self, name: &[u8], kind: Option<u8>, from: usize) -> Option<usize> {
        let hit = |hdr: &[u8; 12]| -> bool {
            let [n0, n1, n2, n3, i0, i1, i2, i3, ..] = *hdr;
            if let Some(k) = kind {
                let info = self.endian.u32([i0, i1, i2, i3]);
                if ((info >> 24) & 0x1f) as u8 != k {
                    return false;
                }
            }
            let name_off = self.endian.u32([n0, n1, n2, n3]);
            self.strs.tail(name_off).is_some_and(|tail| {
                tail.len() > name.len() && tail[name.len()] == 0 && tail.starts_with(name)
            })
        };
        let types = self.types;
        if from == 0 && self.offsets.get().is_none() {
            return match self.endian {
                Endian::Little => scan_walk::<false>(types, hit),
                Endian::Big => scan_walk::<true>(types, hit),
            };
        }
        let offsets = self.offsets().get(from..)?;
        offsets
            .iter()
            .position(|&off| {
                types
                    .get(off as usize..)
                    .and_then(|t| t.first_chunk::<12>())
                    .is_some_and(hit)
            })
            .map(|i| from + i)
    }

    /// The first type (lowest id, the base's first for split BTF) of kind `kind` named
    /// `name`. The first few lookups scan; later ones use the name index.
    pub fn find_by_name(&self, name: &str, kind: Kind) -> Result<Option<TypeId>> {
        if kind == Kind::Void {
            return Ok(name.is_empty().then_some(0));
        }
        if let Some(b) = self.base
            && let Some(id) = b.find_by_name(name, kind)?
        {
            return Ok(Some(id));
        }
        let want = kind.to_raw();
        if !name.is_empty()
            && let Some(ix) = self.index_for_lookup()
        {
            return Ok(ix
                .candidates(name_index::hash(name.as_bytes()))
                .find(|&id| {
                    let idx = (id - self.start_id) as usize;
                    self.own_raw_kind(idx) == want && self.own_name_bytes(idx) == name.as_bytes()
                }));
        }
        Ok(self
            .scan_own(name.as_bytes(), Some(want), 0)
            .map(|idx| self.start_id + idx as TypeId))
    }

    /// Every type named exactly `name`, of any kind, in ascending id order (across a
    /// split's base and its own types).
    pub fn find_all_by_name<'b>(&'b self, name: &'b str) -> NameMatches<'b, 'a> {
        NameMatches::new(self, name, false)
    }

    /// Every type whose essential name (the name without a `___flavor` suffix, see
    /// [`essential_name`](crate::essential_name)) equals the essential name of `name`, of
    /// any kind, in ascending id order: the candidates of a CO-RE relocation.
    pub fn find_by_essential_name<'b>(&'b self, name: &'b str) -> NameMatches<'b, 'a> {
        NameMatches::new(self, name, true)
    }

    /// The DATASEC named `name` (".data", ".bss", ...).
    pub fn datasec_by_name(&self, name: &str) -> Result<Option<(TypeId, Datasec<'a>)>> {
        let Some(id) = self.find_by_name(name, Kind::Datasec)? else {
            return Ok(None);
        };
        match self.type_by_id(id)? {
            Type::Datasec(d) => Ok(Some((id, d))),
            other => Err(Error::UnexpectedKind {
                id,
                expected: "DATASEC",
                found: other.kind(),
            }),
        }
    }
}

/// Bytes following the 12-byte header, per raw kind: `FIXED[k] + PER_VLEN[k] * vlen`.
const TRAILING_FIXED: [u8; 32] = {
    let mut t = [0u8; 32];
    t[1] = 4; // INT
    t[3] = 12; // ARRAY
    t[14] = 4; // VAR
    t[17] = 4; // DECL_TAG
    t
};
const TRAILING_PER_VLEN: [u8; 32] = {
    let mut t = [0u8; 32];
    t[4] = 12; // STRUCT
    t[5] = 12; // UNION
    t[6] = 8; // ENUM
    t[13] = 8; // FUNC_PROTO
    t[15] = 12; // DATASEC
    t[19] = 12; // ENUM64
    t
};
/// Raw kinds 1..=19 are valid for a type (0 is only void, which is never stored).
const VALID_KINDS: u32 = 0x000f_fffe;

/// Walk the type section once, checking each type's kind, that its records fit and that its
/// name offset lies in the string space (`str_len` bytes); returns the number of types and,
/// given `offsets`, records each type's offset. The hot loop of `parse`: one bounds check
/// per type, table lookups for the kind, no allocation.
fn walk_types<'a>(
    types: &'a [u8],
    types_start: usize,
    endian: Endian,
    start_id: TypeId,
    str_len: usize,
    offsets: Option<&mut Vec<u32>>,
    visit: &mut impl FnMut(usize, &'a [u8; 12]),
) -> Result<usize> {
    let mut none = Vec::new();
    match (endian, offsets) {
        (Endian::Little, None) => {
            walk_types_as::<false, false>(types, types_start, start_id, str_len, &mut none, visit)
        }
        (Endian::Big, None) => {
            walk_types_as::<true, false>(types, types_start, start_id, str_len, &mut none, visit)
        }
        (Endian::Little, Some(o)) => {
            walk_types_as::<false, true>(types, types_start, start_id, str_len, o, visit)
        }
        (Endian::Big, Some(o)) => {
            walk_types_as::<true, true>(types, types_start, start_id, str_len, o, visit)
        }
    }
}

#[inline(always)]
fn u32_as<const BIG: bool>(b: [u8; 4]) -> u32 {
    if BIG {
        u32::from_be_bytes(b)
    } else {
        u32::from_le_bytes(b)
    }
}

/// Bytes a (validated) type takes, from its 12-byte header.
#[inline(always)]
fn type_len<const BIG: bool>(hdr: &[u8; 12]) -> usize {
    let [_, _, _, _, i0, i1, i2, i3, ..] = *hdr;
    let info = u32_as::<BIG>([i0, i1, i2, i3]);
    let kind = ((info >> 24) & 0x1f) as usize;
    12 + usize::from(TRAILING_FIXED[kind])
        + usize::from(TRAILING_PER_VLEN[kind]) * (info & 0xffff) as usize
}

/// Bytes a (validated) type takes, from its 12-byte header, in byte order `endian`.
#[inline]
pub(crate) fn validated_type_len(endian: Endian, hdr: &[u8; 12]) -> usize {
    match endian {
        Endian::Little => type_len::<false>(hdr),
        Endian::Big => type_len::<true>(hdr),
    }
}

/// Walk a validated type section until `hit` accepts a type's header; its index.
fn scan_walk<const BIG: bool>(types: &[u8], hit: impl Fn(&[u8; 12]) -> bool) -> Option<usize> {
    let mut off = 0usize;
    let mut idx = 0usize;
    while let Some(hdr) = types.get(off..).and_then(|t| t.first_chunk::<12>()) {
        if hit(hdr) {
            return Some(idx);
        }
        off += type_len::<BIG>(hdr);
        idx += 1;
    }
    None
}

fn walk_types_as<'a, const BIG: bool, const STORE: bool>(
    types: &'a [u8],
    types_start: usize,
    start_id: TypeId,
    str_len: usize,
    offsets: &mut Vec<u32>,
    visit: &mut impl FnMut(usize, &'a [u8; 12]),
) -> Result<usize> {
    let len = types.len();
    // Ids past MAX_TYPES are rejected: at most this many own types.
    let max_count = (MAX_TYPES as usize + 1).saturating_sub(start_id as usize);
    let mut off = 0usize;
    let mut count = 0usize;
    while off < len {
        let Some(hdr) = types[off..].first_chunk::<12>() else {
            return Err(truncated_header(types, types_start, start_id, count, off));
        };
        let [n0, n1, n2, n3, i0, i1, i2, i3, ..] = *hdr;
        let info = u32_as::<BIG>([i0, i1, i2, i3]);
        let kind = (info >> 24) & 0x1f;
        let vlen = info & 0xffff;
        let name_off = u32_as::<BIG>([n0, n1, n2, n3]);
        let trailing = usize::from(TRAILING_FIXED[kind as usize])
            + usize::from(TRAILING_PER_VLEN[kind as usize]) * vlen as usize;
        if VALID_KINDS & (1 << kind) == 0
            || len - off - 12 < trailing
            || name_off as usize >= str_len
            || count >= max_count
        {
            if count >= max_count {
                return Err(Error::TooManyTypes {
                    id: MAX_TYPES + 1,
                    offset: types_start + off,
                    max: MAX_TYPES,
                });
            }
            return Err(type_error(
                types,
                types_start,
                if BIG { Endian::Big } else { Endian::Little },
                start_id,
                count,
                off,
                str_len,
            ));
        }
        if STORE {
            // off < types.len() <= u32::MAX (type_len is a u32).
            offsets.push(off as u32);
        }
        visit(count, hdr);
        off += 12 + trailing;
        count += 1;
    }
    Ok(count)
}

/// The error for a type section that ends inside a 12-byte type header.
#[cold]
fn truncated_header(
    types: &[u8],
    types_start: usize,
    start_id: TypeId,
    count: usize,
    off: usize,
) -> Error {
    Error::TypeTruncated {
        id: start_id.saturating_add(count as TypeId),
        offset: types_start + off,
        what: "header (12 bytes)".into(),
        end: types_start + types.len(),
    }
}

/// The precise error for the type at `off` that the fast loop rejected: its kind is
/// unknown, its trailing records run past the section, or its name offset is out of range.
#[cold]
fn type_error(
    types: &[u8],
    types_start: usize,
    endian: Endian,
    start_id: TypeId,
    count: usize,
    off: usize,
    str_len: usize,
) -> Error {
    let id = start_id.saturating_add(count as TypeId);
    let abs = types_start + off;
    let end = types_start + types.len();
    let name_off = endian.read_u32(types, off).unwrap_or(0);
    let info = endian.read_u32(types, off + 4).unwrap_or(0);
    let raw_kind = ((info >> 24) & 0x1f) as u8;
    let kind = match Kind::from_raw(raw_kind) {
        Some(Kind::Void) | None => {
            return Error::UnknownKind {
                id,
                offset: abs,
                kind: raw_kind,
            };
        }
        Some(k) => k,
    };
    let vlen = (info & 0xffff) as u16;
    let trailing = kind.trailing_len(vlen);
    if types.len() - off - 12 < trailing {
        let what = match kind {
            Kind::Struct
            | Kind::Union
            | Kind::Enum
            | Kind::Enum64
            | Kind::FuncProto
            | Kind::Datasec => {
                format!("vlen {vlen} ({trailing} bytes of {})", kind.vlen_what())
            }
            _ => format!("{kind:?} data ({trailing} bytes)"),
        };
        return Error::TypeTruncated {
            id,
            offset: abs,
            what,
            end,
        };
    }
    Error::StringOffset {
        off: name_off,
        len: str_len,
    }
    .in_type(id, abs, "name")
}

/// Iterator over all types of a [`Btf`], see [`Btf::types`].
#[derive(Debug)]
pub struct Types<'b, 'a> {
    btf: &'b Btf<'a>,
    next: TypeId,
    done: bool,
}

impl<'a> Iterator for Types<'_, 'a> {
    type Item = Result<(TypeId, Type<'a>)>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.done || self.next as usize >= self.btf.len() {
            return None;
        }
        let id = self.next;
        self.next += 1;
        match self.btf.type_by_id(id) {
            Ok(t) => Some(Ok((id, t))),
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.btf.len().saturating_sub(self.next as usize);
        (0, Some(left))
    }
}

#[cfg(test)]
mod split_tests;
#[cfg(test)]
mod tests;

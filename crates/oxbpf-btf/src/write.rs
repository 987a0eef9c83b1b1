//! `BtfBuilder`: writes `.BTF` blobs — from scratch, or from a parsed [`Btf`] to rewrite it
//! (owned data; the reader never uses it).

use std::collections::HashMap;

use crate::btf::{BTF_HEADER_LEN, BTF_MAGIC, Btf};
use crate::endian::Endian;
use crate::error::{Error, Result};
use crate::ext::{CoreRelo, FuncInfo, LineInfo};
use crate::types::{Kind, TypeId};

/// One type as the writer holds it: the fields of `struct btf_type` plus the trailing
/// 32-bit words of its kind (members, enum values, params, ...), in host order.
///
/// String fields — `name_off` and the name word of each member / enum value / param —
/// are offsets into the string table of the [`BtfBuilder`] the record goes into (from
/// [`BtfBuilder::add_str`], or carried over by [`BtfBuilder::from_btf`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TypeRecord {
    name_off: u32,
    kind: Kind,
    kind_flag: bool,
    vlen: u16,
    size_or_type: u32,
    trailing: Vec<u32>,
}

impl TypeRecord {
    /// A record of `kind` with `vlen` entries and `trailing` words.
    ///
    /// Panics if `kind` is [`Kind::Void`] or `trailing` does not hold exactly the words
    /// `kind` needs for `vlen` entries (a caller bug, not bad data).
    pub fn new(
        kind: Kind,
        name_off: u32,
        kind_flag: bool,
        vlen: u16,
        size_or_type: u32,
        trailing: Vec<u32>,
    ) -> TypeRecord {
        assert!(kind != Kind::Void, "TypeRecord: void has no record");
        assert_eq!(
            trailing.len() * 4,
            kind.trailing_len(vlen),
            "TypeRecord: {kind:?} with vlen {vlen} needs {} trailing words",
            kind.trailing_len(vlen) / 4
        );
        TypeRecord {
            name_off,
            kind,
            kind_flag,
            vlen,
            size_or_type,
            trailing,
        }
    }

    /// The kind.
    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// Offset of the name in the builder's string table.
    pub fn name_off(&self) -> u32 {
        self.name_off
    }

    /// The `kind_flag` bit (bitfield members, enum signedness, union forward).
    pub fn kind_flag(&self) -> bool {
        self.kind_flag
    }

    /// The `vlen` field (number of entries; FUNC linkage).
    pub fn vlen(&self) -> u16 {
        self.vlen
    }

    /// The `size` / `type` union of `struct btf_type`.
    pub fn size_or_type(&self) -> u32 {
        self.size_or_type
    }

    /// The trailing words.
    pub fn trailing(&self) -> &[u32] {
        &self.trailing
    }

    /// The trailing words, for in-place edits (their number is fixed by kind and vlen).
    pub fn trailing_mut(&mut self) -> &mut [u32] {
        &mut self.trailing
    }

    /// The raw `info` word.
    pub fn info(&self) -> u32 {
        (u32::from(self.kind_flag) << 31)
            | (u32::from(self.kind.to_raw()) << 24)
            | u32::from(self.vlen)
    }

    /// Indices into `trailing` that hold string offsets: every `stride` words from 0.
    fn name_stride(&self) -> Option<usize> {
        match self.kind {
            Kind::Struct | Kind::Union | Kind::Enum64 => Some(3),
            Kind::Enum | Kind::FuncProto => Some(2),
            _ => None,
        }
    }

    /// Every string offset of the record (the name first).
    fn string_offsets(&self) -> impl Iterator<Item = u32> + '_ {
        let trailing = self
            .name_stride()
            .map(|s| self.trailing.iter().step_by(s).copied());
        std::iter::once(self.name_off).chain(trailing.into_iter().flatten())
    }
}

/// Builds a BTF blob type by type; ids are assigned in order starting at 1.
///
/// Start empty ([`BtfBuilder::new`]) or from a parsed blob ([`BtfBuilder::from_btf`]),
/// replace types with [`BtfBuilder::set_type`] and append with the `add_*` methods or
/// [`BtfBuilder::push`]. Strings are deduplicated as they are added and never move, so
/// string offsets (including `.BTF.ext`'s into a parsed blob) stay valid. Methods taking slices panic if given more than 65535 entries (the BTF `vlen`
/// limit) — that is a caller bug, not bad data.
#[derive(Debug, Clone)]
pub struct BtfBuilder {
    types: Vec<TypeRecord>,
    /// NUL-terminated strings; always starts with the empty string and ends with NUL.
    strs: Vec<u8>,
    /// Where each string starts, for `add_str` to reuse it.
    str_index: HashMap<String, u32>,
    /// Whether `str_index` covers the strings carried over by `from_btf` (built lazily).
    imported_indexed: bool,
}

impl Default for BtfBuilder {
    fn default() -> Self {
        Self::new()
    }
}

fn vlen(n: usize) -> u16 {
    u16::try_from(n).expect("BtfBuilder: more than 65535 entries in one type")
}

impl BtfBuilder {
    /// An empty builder (just void and the empty string).
    pub fn new() -> BtfBuilder {
        let mut str_index = HashMap::new();
        str_index.insert(String::new(), 0);
        BtfBuilder {
            types: Vec::new(),
            strs: vec![0],
            str_index,
            imported_indexed: true,
        }
    }

    /// A builder holding every type of `btf` under its id and its whole string section
    /// (string offsets stay valid), ready to be edited and rebuilt.
    ///
    /// Errors name the type id and byte offset of a record whose string offset lies
    /// outside the string section. The types are read in host order whatever `btf`'s
    /// byte order; [`BtfBuilder::build_endian`] picks the output's.
    pub fn from_btf(btf: &Btf<'_>) -> Result<BtfBuilder> {
        let data = btf.bytes();
        let endian = btf.endian();
        let strs = btf.string_section();
        let mut types = Vec::with_capacity(btf.len().saturating_sub(1));
        let count = btf.len();
        for id in 1..count as TypeId {
            let off = btf
                .type_offset(id)
                .ok_or(Error::TypeIdOutOfRange { id, count })?;
            let word = |i: usize| {
                endian
                    .read_u32(data, off + 4 * i)
                    .ok_or_else(|| Error::TypeTruncated {
                        id,
                        offset: off,
                        what: format!("word {i}"),
                        end: data.len(),
                    })
            };
            let info = word(1)?;
            let raw_kind = ((info >> 24) & 0x1f) as u8;
            let kind = Kind::from_raw(raw_kind)
                .filter(|&k| k != Kind::Void)
                .ok_or(Error::UnknownKind {
                    id,
                    offset: off,
                    kind: raw_kind,
                })?;
            let vlen = (info & 0xffff) as u16;
            let n = kind.trailing_len(vlen) / 4;
            let mut trailing = Vec::with_capacity(n);
            for i in 0..n {
                trailing.push(word(3 + i)?);
            }
            let rec = TypeRecord {
                name_off: word(0)?,
                kind,
                kind_flag: info >> 31 != 0,
                vlen,
                size_or_type: word(2)?,
                trailing,
            };
            for s in rec.string_offsets() {
                if s as usize >= strs.len() {
                    return Err(Error::StringOffset {
                        off: s,
                        len: strs.len(),
                    }
                    .in_type(id, off, "string"));
                }
            }
            types.push(rec);
        }
        Ok(BtfBuilder {
            types,
            strs: strs.to_vec(),
            str_index: HashMap::new(),
            imported_indexed: false,
        })
    }

    /// The id the next added type will get.
    pub fn next_id(&self) -> TypeId {
        self.types.len() as TypeId + 1
    }

    /// The record of type `id` (`None` for void and ids not in the builder).
    pub fn type_record(&self, id: TypeId) -> Option<&TypeRecord> {
        self.types.get((id as usize).checked_sub(1)?)
    }

    /// The string at offset `off` of the builder's string table (`None` if out of range
    /// or not UTF-8).
    pub fn str_at(&self, off: u32) -> Option<&str> {
        let tail = self.strs.get(off as usize..)?;
        let n = tail.iter().position(|&b| b == 0)?;
        std::str::from_utf8(&tail[..n]).ok()
    }

    fn check_strings(&self, id: TypeId, rec: &TypeRecord) -> Result<()> {
        match rec
            .string_offsets()
            .find(|&s| s as usize >= self.strs.len())
        {
            Some(off) => Err(Error::StringOffset {
                off,
                len: self.strs.len(),
            }
            .in_type(id, 0, "string")),
            None => Ok(()),
        }
    }

    /// Replace type `id` with `rec`; ids of all other types stay as they are.
    ///
    /// Errors if `id` is void or not in the builder, or a string offset of `rec` is
    /// outside the string table.
    pub fn set_type(&mut self, id: TypeId, rec: TypeRecord) -> Result<()> {
        let count = self.types.len() + 1;
        let idx = (id as usize)
            .checked_sub(1)
            .filter(|&i| i < self.types.len())
            .ok_or(Error::TypeIdOutOfRange { id, count })?;
        self.check_strings(id, &rec)?;
        self.types[idx] = rec;
        Ok(())
    }

    /// Append `rec` and return its id; errors if a string offset is outside the table.
    pub fn push(&mut self, rec: TypeRecord) -> Result<TypeId> {
        let id = self.next_id();
        self.check_strings(id, &rec)?;
        self.types.push(rec);
        Ok(id)
    }

    /// Index the strings carried over by `from_btf` (first use of `add_str` after it), so
    /// that adding one of them again reuses it.
    fn index_imported(&mut self) {
        self.imported_indexed = true;
        let mut off = 0usize;
        while off < self.strs.len() {
            let tail = &self.strs[off..];
            let n = tail.iter().position(|&b| b == 0).unwrap_or(tail.len());
            if let Ok(s) = std::str::from_utf8(&tail[..n]) {
                self.str_index.entry(s.to_owned()).or_insert(off as u32);
            }
            off += n + 1;
        }
    }

    /// Add `s` to the string section (deduplicated, also against strings
    /// carried over by [`BtfBuilder::from_btf`]) and return its offset.
    pub fn add_str(&mut self, s: &str) -> u32 {
        if !self.imported_indexed {
            self.index_imported();
        }
        if let Some(&off) = self.str_index.get(s) {
            return off;
        }
        let off = self.strs.len() as u32;
        self.strs.extend_from_slice(s.as_bytes());
        self.strs.push(0);
        self.str_index.insert(s.to_string(), off);
        off
    }

    /// Add a raw type: header fields plus trailing words, written as given.
    ///
    /// Panics if `trailing` does not hold the words `kind` needs for `vlen` entries.
    pub fn add_raw(
        &mut self,
        name: &str,
        kind: Kind,
        kind_flag: bool,
        vlen: u16,
        size_or_type: u32,
        trailing: &[u32],
    ) -> TypeId {
        let name_off = self.add_str(name);
        let rec = TypeRecord::new(
            kind,
            name_off,
            kind_flag,
            vlen,
            size_or_type,
            trailing.to_vec(),
        );
        let id = self.next_id();
        self.types.push(rec);
        id
    }

    /// Add an INT of `size` bytes using all its bits; `encoding` is INT_SIGNED/CHAR/BOOL bits.
    pub fn add_int(&mut self, name: &str, size: u32, encoding: u8) -> TypeId {
        let bits = size.saturating_mul(8).min(128) as u8;
        self.add_int_bits(name, size, encoding, 0, bits)
    }

    /// Add an INT with an explicit bit offset and bit count.
    pub fn add_int_bits(
        &mut self,
        name: &str,
        size: u32,
        encoding: u8,
        bit_offset: u8,
        bits: u8,
    ) -> TypeId {
        let v =
            (u32::from(encoding & 0x0f) << 24) | (u32::from(bit_offset) << 16) | u32::from(bits);
        self.add_raw(name, Kind::Int, false, 0, size, &[v])
    }

    /// Add a pointer to `ty`.
    pub fn add_ptr(&mut self, ty: TypeId) -> TypeId {
        self.add_raw("", Kind::Ptr, false, 0, ty, &[])
    }

    /// Add an array of `nelems` elements of `elem`, indexed by `index`.
    pub fn add_array(&mut self, elem: TypeId, index: TypeId, nelems: u32) -> TypeId {
        self.add_raw("", Kind::Array, false, 0, 0, &[elem, index, nelems])
    }

    fn composite(
        &mut self,
        kind: Kind,
        name: &str,
        size: u32,
        kind_flag: bool,
        members: &[(&str, TypeId, u32, u8)],
    ) -> TypeId {
        let mut trailing = Vec::with_capacity(members.len() * 3);
        for &(mname, ty, bit_off, bitfield) in members {
            let off = if kind_flag {
                (u32::from(bitfield) << 24) | (bit_off & 0x00ff_ffff)
            } else {
                bit_off
            };
            trailing.extend_from_slice(&[self.add_str(mname), ty, off]);
        }
        self.add_raw(name, kind, kind_flag, vlen(members.len()), size, &trailing)
    }

    /// Add a struct with (name, type, bit offset) members.
    pub fn add_struct(&mut self, name: &str, size: u32, members: &[(&str, TypeId, u32)]) -> TypeId {
        let m: Vec<_> = members.iter().map(|&(n, t, o)| (n, t, o, 0)).collect();
        self.composite(Kind::Struct, name, size, false, &m)
    }

    /// Add a union with (name, type, bit offset) members.
    pub fn add_union(&mut self, name: &str, size: u32, members: &[(&str, TypeId, u32)]) -> TypeId {
        let m: Vec<_> = members.iter().map(|&(n, t, o)| (n, t, o, 0)).collect();
        self.composite(Kind::Union, name, size, false, &m)
    }

    /// Add a struct (or union) with `kind_flag` set: members are (name, type, bit offset,
    /// bitfield size); bit offsets must fit in 24 bits.
    pub fn add_composite_bitfields(
        &mut self,
        is_union: bool,
        name: &str,
        size: u32,
        members: &[(&str, TypeId, u32, u8)],
    ) -> TypeId {
        let kind = if is_union { Kind::Union } else { Kind::Struct };
        self.composite(kind, name, size, true, members)
    }

    /// Add a 32-bit enum; each value's low 32 bits are stored.
    pub fn add_enum(
        &mut self,
        name: &str,
        size: u32,
        signed: bool,
        values: &[(&str, i128)],
    ) -> TypeId {
        let mut trailing = Vec::with_capacity(values.len() * 2);
        for &(vname, v) in values {
            trailing.extend_from_slice(&[self.add_str(vname), v as u32]);
        }
        self.add_raw(
            name,
            Kind::Enum,
            signed,
            vlen(values.len()),
            size,
            &trailing,
        )
    }

    /// Add a 64-bit enum; each value's low 64 bits are stored.
    pub fn add_enum64(
        &mut self,
        name: &str,
        size: u32,
        signed: bool,
        values: &[(&str, i128)],
    ) -> TypeId {
        let mut trailing = Vec::with_capacity(values.len() * 3);
        for &(vname, v) in values {
            let v = v as u64;
            trailing.extend_from_slice(&[self.add_str(vname), v as u32, (v >> 32) as u32]);
        }
        self.add_raw(
            name,
            Kind::Enum64,
            signed,
            vlen(values.len()),
            size,
            &trailing,
        )
    }

    /// Add a forward declaration of a struct (or union).
    pub fn add_fwd(&mut self, name: &str, is_union: bool) -> TypeId {
        self.add_raw(name, Kind::Fwd, is_union, 0, 0, &[])
    }

    /// Add a typedef `name` for `ty`.
    pub fn add_typedef(&mut self, name: &str, ty: TypeId) -> TypeId {
        self.add_raw(name, Kind::Typedef, false, 0, ty, &[])
    }

    /// Add `volatile ty`.
    pub fn add_volatile(&mut self, ty: TypeId) -> TypeId {
        self.add_raw("", Kind::Volatile, false, 0, ty, &[])
    }

    /// Add `const ty`.
    pub fn add_const(&mut self, ty: TypeId) -> TypeId {
        self.add_raw("", Kind::Const, false, 0, ty, &[])
    }

    /// Add `restrict ty`.
    pub fn add_restrict(&mut self, ty: TypeId) -> TypeId {
        self.add_raw("", Kind::Restrict, false, 0, ty, &[])
    }

    /// Add a type tag `tag` on `ty`.
    pub fn add_type_tag(&mut self, tag: &str, ty: TypeId) -> TypeId {
        self.add_raw(tag, Kind::TypeTag, false, 0, ty, &[])
    }

    /// Add a function prototype returning `ret` with (name, type) params.
    pub fn add_func_proto(&mut self, ret: TypeId, params: &[(&str, TypeId)]) -> TypeId {
        let mut trailing = Vec::with_capacity(params.len() * 2);
        for &(pname, ty) in params {
            trailing.extend_from_slice(&[self.add_str(pname), ty]);
        }
        self.add_raw(
            "",
            Kind::FuncProto,
            false,
            vlen(params.len()),
            ret,
            &trailing,
        )
    }

    /// Add a function `name` with prototype `proto` and linkage (LINKAGE_*).
    pub fn add_func(&mut self, name: &str, proto: TypeId, linkage: u16) -> TypeId {
        self.add_raw(name, Kind::Func, false, linkage, proto, &[])
    }

    /// Add a variable `name` of type `ty` with linkage (VAR_*).
    pub fn add_var(&mut self, name: &str, ty: TypeId, linkage: u32) -> TypeId {
        self.add_raw(name, Kind::Var, false, 0, ty, &[linkage])
    }

    /// Add a DATASEC with (var type id, offset, size) entries.
    pub fn add_datasec(&mut self, name: &str, size: u32, vars: &[(TypeId, u32, u32)]) -> TypeId {
        let trailing: Vec<u32> = vars.iter().flat_map(|&(t, o, s)| [t, o, s]).collect();
        self.add_raw(
            name,
            Kind::Datasec,
            false,
            vlen(vars.len()),
            size,
            &trailing,
        )
    }

    /// Add a floating-point type of `size` bytes.
    pub fn add_float(&mut self, name: &str, size: u32) -> TypeId {
        self.add_raw(name, Kind::Float, false, 0, size, &[])
    }

    /// Add a declaration tag `tag` on `ty` (component -1 = the type itself).
    pub fn add_decl_tag(&mut self, tag: &str, ty: TypeId, component_idx: i32) -> TypeId {
        self.add_raw(tag, Kind::DeclTag, false, 0, ty, &[component_idx as u32])
    }

    /// The blob in little-endian byte order.
    pub fn build(&self) -> Vec<u8> {
        self.build_endian(Endian::Little)
    }

    /// The blob in byte order `endian`.
    ///
    /// The string section is the builder's table as is: offsets handed out by
    /// [`BtfBuilder::add_str`] or carried over by [`BtfBuilder::from_btf`] stay valid, so
    /// `.BTF.ext` and line_info records that point into it need no change.
    pub fn build_endian(&self, endian: Endian) -> Vec<u8> {
        let words: usize = self.types.iter().map(|t| 3 + t.trailing.len()).sum();
        let type_len = words * 4;
        let mut out = Vec::with_capacity(BTF_HEADER_LEN + type_len + self.strs.len());
        out.extend_from_slice(&endian.u16_bytes(BTF_MAGIC));
        out.push(1); // version
        out.push(0); // flags
        for v in [
            BTF_HEADER_LEN as u32,
            0,
            type_len as u32,
            type_len as u32,
            self.strs.len() as u32,
        ] {
            out.extend_from_slice(&endian.u32_bytes(v));
        }
        for t in &self.types {
            for w in [t.name_off, t.info(), t.size_or_type] {
                out.extend_from_slice(&endian.u32_bytes(w));
            }
            for &w in &t.trailing {
                out.extend_from_slice(&endian.u32_bytes(w));
            }
        }
        out.extend_from_slice(&self.strs);
        out
    }
}

/// Builds a `.BTF.ext` blob; section names are string offsets in the matching `.BTF`
/// (get them from [`BtfBuilder::add_str`]).
#[derive(Debug, Clone, Default)]
pub struct BtfExtBuilder {
    func_info: Vec<(u32, Vec<FuncInfo>)>,
    line_info: Vec<(u32, Vec<LineInfo>)>,
    core_relo: Vec<(u32, Vec<CoreRelo>)>,
}

impl BtfExtBuilder {
    /// An empty builder.
    pub fn new() -> BtfExtBuilder {
        BtfExtBuilder::default()
    }

    /// Add the func_info records of the ELF section whose name is at `sec_name_off`.
    pub fn add_func_info(&mut self, sec_name_off: u32, recs: &[FuncInfo]) -> &mut Self {
        self.func_info.push((sec_name_off, recs.to_vec()));
        self
    }

    /// Add the line_info records of the ELF section whose name is at `sec_name_off`.
    pub fn add_line_info(&mut self, sec_name_off: u32, recs: &[LineInfo]) -> &mut Self {
        self.line_info.push((sec_name_off, recs.to_vec()));
        self
    }

    /// Add the CO-RE relocations of the ELF section whose name is at `sec_name_off`.
    pub fn add_core_relos(&mut self, sec_name_off: u32, recs: &[CoreRelo]) -> &mut Self {
        self.core_relo.push((sec_name_off, recs.to_vec()));
        self
    }

    /// The blob (32-byte header) in byte order `endian`.
    pub fn build(&self, endian: Endian) -> Vec<u8> {
        self.build_padded(endian, 0)
    }

    /// The blob with every record padded by `extra` zero bytes (a larger rec_size, as a
    /// newer compiler might emit).
    pub fn build_padded(&self, endian: Endian, extra: u32) -> Vec<u8> {
        fn block<T>(
            endian: Endian,
            extra: u32,
            size: u32,
            secs: &[(u32, Vec<T>)],
            words: impl Fn(&T) -> Vec<u32>,
        ) -> Vec<u8> {
            let mut out = Vec::new();
            if secs.is_empty() {
                return out;
            }
            out.extend_from_slice(&endian.u32_bytes(size + extra));
            for (name_off, recs) in secs {
                out.extend_from_slice(&endian.u32_bytes(*name_off));
                out.extend_from_slice(&endian.u32_bytes(recs.len() as u32));
                for r in recs {
                    for w in words(r) {
                        out.extend_from_slice(&endian.u32_bytes(w));
                    }
                    out.resize(out.len() + extra as usize, 0);
                }
            }
            out
        }
        let fi = block(endian, extra, 8, &self.func_info, |r| {
            vec![r.insn_off, r.type_id]
        });
        let li = block(endian, extra, 16, &self.line_info, |r| {
            vec![
                r.insn_off,
                r.file_name_off,
                r.line_off,
                (r.line << 10) | (r.col & 0x3ff),
            ]
        });
        let cr = block(endian, extra, 16, &self.core_relo, |r| {
            vec![r.insn_off, r.type_id, r.access_str_off, r.kind]
        });
        let mut out = Vec::new();
        out.extend_from_slice(&endian.u16_bytes(BTF_MAGIC));
        out.push(1);
        out.push(0);
        let (fl, ll, cl) = (fi.len() as u32, li.len() as u32, cr.len() as u32);
        for v in [32, 0, fl, fl, ll, fl + ll, cl] {
            out.extend_from_slice(&endian.u32_bytes(v));
        }
        out.extend_from_slice(&fi);
        out.extend_from_slice(&li);
        out.extend_from_slice(&cr);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Btf, Type};
    use proptest::prelude::*;

    /// An owned description of one type, built by the builder and recovered by the parser.
    #[derive(Clone, Debug, PartialEq)]
    enum Spec {
        Int(String, u32, u8, u8, u8),
        Ptr(TypeId),
        Array(TypeId, TypeId, u32),
        Composite(bool, bool, String, u32, Vec<(String, TypeId, u32, u8)>),
        Enum(bool, String, u32, bool, Vec<(String, i128)>),
        Fwd(String, bool),
        Ref(Kind, String, TypeId),
        FuncProto(TypeId, Vec<(String, TypeId)>),
        Func(String, TypeId, u16),
        Var(String, TypeId, u32),
        Datasec(String, u32, Vec<(TypeId, u32, u32)>),
        Float(String, u32),
        DeclTag(String, TypeId, i32),
    }

    fn add(b: &mut BtfBuilder, s: &Spec) -> TypeId {
        match s {
            Spec::Int(n, size, enc, off, bits) => b.add_int_bits(n, *size, *enc, *off, *bits),
            Spec::Ptr(t) => b.add_ptr(*t),
            Spec::Array(e, i, n) => b.add_array(*e, *i, *n),
            Spec::Composite(u, kf, n, size, m) => {
                let m: Vec<_> = m
                    .iter()
                    .map(|(n, t, o, bf)| (n.as_str(), *t, *o, *bf))
                    .collect();
                if *kf {
                    b.add_composite_bitfields(*u, n, *size, &m)
                } else {
                    let m: Vec<_> = m.iter().map(|&(n, t, o, _)| (n, t, o)).collect();
                    if *u {
                        b.add_union(n, *size, &m)
                    } else {
                        b.add_struct(n, *size, &m)
                    }
                }
            }
            Spec::Enum(is64, n, size, signed, v) => {
                let v: Vec<_> = v.iter().map(|(n, x)| (n.as_str(), *x)).collect();
                if *is64 {
                    b.add_enum64(n, *size, *signed, &v)
                } else {
                    b.add_enum(n, *size, *signed, &v)
                }
            }
            Spec::Fwd(n, u) => b.add_fwd(n, *u),
            Spec::Ref(k, n, t) => match k {
                Kind::Typedef => b.add_typedef(n, *t),
                Kind::Volatile => b.add_volatile(*t),
                Kind::Const => b.add_const(*t),
                Kind::Restrict => b.add_restrict(*t),
                _ => b.add_type_tag(n, *t),
            },
            Spec::FuncProto(r, p) => {
                let p: Vec<_> = p.iter().map(|(n, t)| (n.as_str(), *t)).collect();
                b.add_func_proto(*r, &p)
            }
            Spec::Func(n, p, l) => b.add_func(n, *p, *l),
            Spec::Var(n, t, l) => b.add_var(n, *t, *l),
            Spec::Datasec(n, s, v) => b.add_datasec(n, *s, v),
            Spec::Float(n, s) => b.add_float(n, *s),
            Spec::DeclTag(n, t, c) => b.add_decl_tag(n, *t, *c),
        }
    }

    fn recover(t: Type<'_>) -> Spec {
        let s = |x: &str| x.to_string();
        match t {
            Type::Void => panic!("void in the type section"),
            Type::Int(i) => Spec::Int(s(i.name), i.size, i.encoding, i.bit_offset, i.bits),
            Type::Ptr(r) => Spec::Ptr(r.ty),
            Type::Array(a) => Spec::Array(a.elem, a.index, a.nelems),
            Type::Struct(c) | Type::Union(c) => Spec::Composite(
                matches!(t, Type::Union(_)),
                c.kind_flag(),
                s(c.name),
                c.size,
                c.members()
                    .map(|m| m.map(|m| (s(m.name), m.ty, m.bit_offset, m.bitfield_size)))
                    .collect::<crate::Result<_>>()
                    .unwrap(),
            ),
            Type::Enum(e) | Type::Enum64(e) => Spec::Enum(
                e.is_enum64(),
                s(e.name),
                e.size,
                e.signed,
                e.values()
                    .map(|v| v.map(|(n, x)| (s(n), x)))
                    .collect::<crate::Result<_>>()
                    .unwrap(),
            ),
            Type::Fwd(f) => Spec::Fwd(s(f.name), f.is_union),
            Type::Typedef(r)
            | Type::Volatile(r)
            | Type::Const(r)
            | Type::Restrict(r)
            | Type::TypeTag(r) => Spec::Ref(t.kind(), s(r.name), r.ty),
            Type::FuncProto(p) => Spec::FuncProto(
                p.ret,
                p.params()
                    .map(|p| p.map(|(n, t)| (s(n), t)))
                    .collect::<crate::Result<_>>()
                    .unwrap(),
            ),
            Type::Func(f) => Spec::Func(s(f.name), f.proto, f.linkage),
            Type::Var(v) => Spec::Var(s(v.name), v.ty, v.linkage),
            Type::Datasec(d) => Spec::Datasec(
                s(d.name),
                d.size,
                d.vars()
                    .map(|v| v.map(|v| (v.ty, v.offset, v.size)))
                    .collect::<crate::Result<_>>()
                    .unwrap(),
            ),
            Type::Float(f) => Spec::Float(s(f.name), f.size),
            Type::DeclTag(d) => Spec::DeclTag(s(d.name), d.ty, d.component_idx),
        }
    }

    fn name() -> impl Strategy<Value = String> {
        "[a-z_.]{0,6}"
    }

    macro_rules! few {
        ($s:expr) => {
            proptest::collection::vec($s, 0..5)
        };
    }

    fn spec() -> impl Strategy<Value = Spec> {
        let id = 0u32..40;
        prop_oneof![
            (name(), any::<u32>(), 0u8..16, any::<u8>(), any::<u8>())
                .prop_map(|(n, s, e, o, b)| Spec::Int(n, s, e, o, b)),
            id.clone().prop_map(Spec::Ptr),
            (id.clone(), id.clone(), any::<u32>()).prop_map(|(e, i, n)| Spec::Array(e, i, n)),
            (
                any::<bool>(),
                name(),
                any::<u32>(),
                few!((name(), id.clone(), any::<u32>()))
            )
                .prop_map(|(u, n, s, m)| Spec::Composite(
                    u,
                    false,
                    n,
                    s,
                    m.into_iter().map(|(n, t, o)| (n, t, o, 0)).collect()
                )),
            (
                any::<bool>(),
                name(),
                any::<u32>(),
                few!((name(), id.clone(), 0u32..0x0100_0000, any::<u8>()))
            )
                .prop_map(|(u, n, s, m)| Spec::Composite(u, true, n, s, m)),
            (
                any::<bool>(),
                name(),
                any::<u32>(),
                any::<bool>(),
                few!((name(), any::<i64>()))
            )
                .prop_map(|(is64, n, s, signed, v)| {
                    let v = v
                        .into_iter()
                        .map(|(n, x)| {
                            let x = match (is64, signed) {
                                (false, false) => i128::from(x as u32),
                                (false, true) => i128::from(x as i32),
                                (true, false) => i128::from(x as u64),
                                (true, true) => i128::from(x),
                            };
                            (n, x)
                        })
                        .collect();
                    Spec::Enum(is64, n, s, signed, v)
                }),
            (name(), any::<bool>()).prop_map(|(n, u)| Spec::Fwd(n, u)),
            (
                prop_oneof![
                    Just(Kind::Typedef),
                    Just(Kind::Volatile),
                    Just(Kind::Const),
                    Just(Kind::Restrict),
                    Just(Kind::TypeTag)
                ],
                name(),
                id.clone()
            )
                .prop_map(|(k, n, t)| {
                    let n = if matches!(k, Kind::Typedef | Kind::TypeTag) {
                        n
                    } else {
                        String::new()
                    };
                    Spec::Ref(k, n, t)
                }),
            (id.clone(), few!((name(), id.clone()))).prop_map(|(r, p)| Spec::FuncProto(r, p)),
            (name(), id.clone(), 0u16..3).prop_map(|(n, p, l)| Spec::Func(n, p, l)),
            (name(), id.clone(), 0u32..3).prop_map(|(n, t, l)| Spec::Var(n, t, l)),
            (
                name(),
                any::<u32>(),
                few!((id.clone(), any::<u32>(), any::<u32>()))
            )
                .prop_map(|(n, s, v)| Spec::Datasec(n, s, v)),
            (name(), any::<u32>()).prop_map(|(n, s)| Spec::Float(n, s)),
            (name(), id, any::<i32>()).prop_map(|(n, t, c)| Spec::DeclTag(n, t, c)),
        ]
    }

    proptest! {
        #[test]
        fn builder_output_parses_back_to_the_same_types(
            specs in proptest::collection::vec(spec(), 0..30),
            big in any::<bool>(),
        ) {
            let mut b = BtfBuilder::new();
            for (i, s) in specs.iter().enumerate() {
                prop_assert_eq!(add(&mut b, s), i as TypeId + 1);
            }
            let endian = if big { Endian::Big } else { Endian::Little };
            let blob = b.build_endian(endian);
            let btf = Btf::parse(&blob).unwrap();
            prop_assert_eq!(btf.endian(), endian);
            prop_assert_eq!(btf.len(), specs.len() + 1);
            let got: Vec<Spec> = btf.types().map(|t| recover(t.unwrap().1)).collect();
            prop_assert_eq!(got, specs);
        }
    }

    proptest! {
        #[test]
        fn from_btf_then_build_gives_the_same_blob(
            specs in proptest::collection::vec(spec(), 0..30),
            big in any::<bool>(),
        ) {
            let mut b = BtfBuilder::new();
            for s in &specs {
                add(&mut b, s);
            }
            let endian = if big { Endian::Big } else { Endian::Little };
            let blob = b.build_endian(endian);
            let btf = Btf::parse(&blob).unwrap();
            let copy = BtfBuilder::from_btf(&btf).unwrap();
            prop_assert_eq!(copy.next_id(), b.next_id());
            let again = copy.build_endian(endian);
            prop_assert_eq!(&again, &blob);
            let got: Vec<Spec> = Btf::parse(&again)
                .unwrap()
                .types()
                .map(|t| recover(t.unwrap().1))
                .collect();
            prop_assert_eq!(got, specs);
        }
    }

    #[test]
    fn set_type_replaces_one_type_and_keeps_ids() {
        let mut b = BtfBuilder::new();
        let int = b.add_int("int", 4, 0);
        b.add_float("double", 8);
        let p = b.add_ptr(2);
        let blob = b.build();
        let mut c = BtfBuilder::from_btf(&Btf::parse(&blob).unwrap()).unwrap();
        let name = c.add_str("wide");
        assert_eq!(c.str_at(name), Some("wide"));
        // Reuses the carried-over "int" rather than adding it again.
        assert_eq!(c.add_str("int"), 1);
        c.set_type(
            2,
            TypeRecord::new(Kind::Struct, name, false, 1, 8, vec![1, int, 0]),
        )
        .unwrap();
        assert_eq!(c.type_record(2).unwrap().kind(), Kind::Struct);
        let out = c.build();
        let btf = Btf::parse(&out).unwrap();
        let Type::Struct(s) = btf.type_by_id(2).unwrap() else {
            panic!()
        };
        assert_eq!((s.name, s.size), ("wide", 8));
        assert_eq!(btf.type_by_id(p).unwrap().referenced(), Some(2));
        assert_eq!(btf.len(), 4);
    }

    #[test]
    fn set_type_rejects_void_missing_ids_and_bad_string_offsets() {
        let mut b = BtfBuilder::new();
        b.add_int("int", 4, 0);
        let rec = TypeRecord::new(Kind::Ptr, 0, false, 0, 1, vec![]);
        for id in [0, 2, u32::MAX] {
            let e = b.set_type(id, rec.clone()).unwrap_err();
            assert!(matches!(e, Error::TypeIdOutOfRange { .. }), "{e}");
        }
        let bad = TypeRecord::new(Kind::Struct, 0, false, 1, 4, vec![999, 1, 0]);
        let e = b.set_type(1, bad.clone()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "BTF type 1 at offset 0x0: string: string offset 0x3e7 is past the end of the string section (len 0x5)"
        );
        assert!(b.push(bad).is_err());
        assert_eq!(b.push(rec).unwrap(), 2);
    }

    #[test]
    #[should_panic(expected = "needs 3 trailing words")]
    fn type_record_with_wrong_trailing_length_panics() {
        TypeRecord::new(Kind::Struct, 0, false, 1, 4, vec![]);
    }

    #[test]
    fn from_btf_rejects_member_name_past_string_section() {
        let mut b = BtfBuilder::new();
        b.add_int("int", 4, 0);
        b.add_struct("s", 4, &[("m", 1, 0)]);
        let mut blob = b.build();
        // Type 2 starts at 0x28; its first member's name is the word after the header.
        blob[0x34..0x38].copy_from_slice(&0x777u32.to_le_bytes());
        let btf = Btf::parse(&blob).unwrap();
        let e = BtfBuilder::from_btf(&btf).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("BTF type 2 at offset 0x28: string: string offset 0x777"),
            "{e}"
        );
    }

    #[test]
    fn from_btf_keeps_unreferenced_and_duplicate_strings_at_their_offsets() {
        // Strings "a" twice and "unused": offsets 1, 3 and 5.
        let mut b = BtfBuilder::new();
        b.add_str("a");
        let blob = {
            let mut blob = b.build();
            blob.truncate(blob.len() - 3);
            blob.extend_from_slice(b"\0a\0a\0unused\0");
            let len = (blob.len() - 24) as u32;
            blob[20..24].copy_from_slice(&len.to_le_bytes());
            blob
        };
        let btf = Btf::parse(&blob).unwrap();
        assert_eq!(btf.string_section(), b"\0a\0a\0unused\0");
        let mut c = BtfBuilder::from_btf(&btf).unwrap();
        assert_eq!(c.add_str("a"), 1);
        assert_eq!(c.add_str("unused"), 5);
        assert_eq!(c.build(), blob);
    }

    #[test]
    fn strings_are_deduplicated() {
        let mut b = BtfBuilder::new();
        b.add_int("int", 4, 0);
        b.add_typedef("int", 1);
        b.add_struct("s", 4, &[("int", 1, 0)]);
        let blob = b.build();
        let btf = Btf::parse(&blob).unwrap();
        assert_eq!(btf.string_section(), b"\0int\0s\0");
        assert_eq!(b.add_str(""), 0);
    }
}

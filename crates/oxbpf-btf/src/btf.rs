//! `Btf`: a validated view over a `.BTF` blob with an offset table for O(1) lookups.

use crate::endian::Endian;
use crate::error::{Error, Result};
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

/// A parsed BTF blob: a view over borrowed bytes.
///
/// `parse` validates the header and builds an offset table (one `u32` per type, the only
/// allocation); types are decoded on demand.
pub struct Btf<'a> {
    data: &'a [u8],
    endian: Endian,
    header: Header,
    types_start: usize,
    types: &'a [u8],
    strs: Strings<'a>,
    /// `offsets[i]` is the offset of type id `i + 1` within the type section.
    offsets: Vec<u32>,
}

impl std::fmt::Debug for Btf<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Btf")
            .field("endian", &self.endian)
            .field("header", &self.header)
            .field("types", &self.len())
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
        match (strs.first(), strs.last()) {
            (None, _) | (_, None) => {
                return Err(bad_header(format!(
                    "string section at {ss:#x} is empty (needs at least the NUL of the empty name)"
                )));
            }
            (Some(&first), _) if first != 0 => {
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
        let types = &data[ts..te];
        let offsets = Self::index_types(types, ts, endian)?;
        Ok(Btf {
            data,
            endian,
            header,
            types_start: ts,
            types,
            strs: Strings { data: strs },
            offsets,
        })
    }

    /// Walk the type section once, checking each type's kind and that its records fit.
    fn index_types(types: &[u8], types_start: usize, endian: Endian) -> Result<Vec<u32>> {
        // Every type takes at least 12 bytes, so this is an upper bound: no reallocation.
        let mut offsets = Vec::with_capacity(types.len() / 12);
        let end = types_start + types.len();
        let mut off = 0usize;
        let mut id: TypeId = 1;
        while off < types.len() {
            let abs = types_start + off;
            let info = match endian.read_u32(types, off + 4) {
                Some(info) if types.len() - off >= 12 => info,
                _ => {
                    return Err(Error::TypeTruncated {
                        id,
                        offset: abs,
                        what: "header (12 bytes)".into(),
                        end,
                    });
                }
            };
            let raw_kind = ((info >> 24) & 0x1f) as u8;
            let kind = match Kind::from_raw(raw_kind) {
                Some(Kind::Void) | None => {
                    return Err(Error::UnknownKind {
                        id,
                        offset: abs,
                        kind: raw_kind,
                    });
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
                return Err(Error::TypeTruncated {
                    id,
                    offset: abs,
                    what,
                    end,
                });
            }
            if id > MAX_TYPES {
                return Err(Error::TooManyTypes {
                    id,
                    offset: abs,
                    max: MAX_TYPES,
                });
            }
            // off < types.len() <= u32::MAX (type_len is a u32).
            offsets.push(off as u32);
            off += 12 + trailing;
            id += 1;
        }
        Ok(offsets)
    }

    /// Byte order of the blob.
    pub fn endian(&self) -> Endian {
        self.endian
    }

    /// The whole blob.
    pub fn bytes(&self) -> &'a [u8] {
        self.data
    }

    /// The decoded header.
    pub fn header(&self) -> Header {
        self.header
    }

    /// The raw string section.
    pub fn string_section(&self) -> &'a [u8] {
        self.strs.data
    }

    /// The string section as a lookup helper (for `.BTF.ext`).
    pub(crate) fn strings(&self) -> Strings<'a> {
        self.strs
    }

    /// The raw type section.
    pub fn type_section(&self) -> &'a [u8] {
        self.types
    }

    /// Number of types including void (id 0); valid ids are `0..len()`.
    pub fn len(&self) -> usize {
        self.offsets.len() + 1
    }

    /// True if the blob holds no types besides void.
    pub fn is_empty(&self) -> bool {
        self.offsets.is_empty()
    }

    /// Byte offset of type `id` in the blob (`None` for void and out-of-range ids).
    pub fn type_offset(&self, id: TypeId) -> Option<usize> {
        let idx = (id as usize).checked_sub(1)?;
        self.offsets
            .get(idx)
            .map(|&o| self.types_start + o as usize)
    }

    /// The raw record of type `id` (12-byte header + trailing data), relative to the type section.
    fn record(&self, id: TypeId) -> Result<(usize, &'a [u8])> {
        let out_of_range = || Error::TypeIdOutOfRange {
            id,
            count: self.len(),
        };
        let idx = (id as usize).checked_sub(1).ok_or_else(out_of_range)?;
        let start = *self.offsets.get(idx).ok_or_else(out_of_range)? as usize;
        let end = self
            .offsets
            .get(idx + 1)
            .map_or(self.types.len(), |&o| o as usize);
        let rec = self.types.get(start..end).ok_or_else(out_of_range)?;
        Ok((start, rec))
    }

    /// The type with id `id`; id 0 is [`Type::Void`].
    pub fn type_by_id(&self, id: TypeId) -> Result<Type<'a>> {
        if id == 0 {
            return Ok(Type::Void);
        }
        let (start, rec) = self.record(id)?;
        decode(id, self.types_start + start, rec, self.endian, self.strs)
    }

    /// The kind of type `id`, read without decoding the rest.
    pub fn kind(&self, id: TypeId) -> Result<Kind> {
        if id == 0 {
            return Ok(Kind::Void);
        }
        let (start, rec) = self.record(id)?;
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

    /// Every type in the blob as (id, type), ids `1..len()` (void, id 0, is implicit and not
    /// yielded). A corrupt type yields its error and ends the iteration.
    pub fn types(&self) -> Types<'_, 'a> {
        Types {
            btf: self,
            next: 1,
            done: false,
        }
    }

    /// The string at `off` in the string section.
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

    /// The first type of kind `kind` named `name` (a linear scan).
    pub fn find_by_name(&self, name: &str, kind: Kind) -> Result<Option<TypeId>> {
        if kind == Kind::Void {
            return Ok(name.is_empty().then_some(0));
        }
        let want = kind.to_raw();
        let strs = self.strs.data;
        for (idx, &off) in self.offsets.iter().enumerate() {
            let off = off as usize;
            let id = idx as TypeId + 1;
            let info = self.endian.read_u32(self.types, off + 4).unwrap_or(0);
            if ((info >> 24) & 0x1f) as u8 != want {
                continue;
            }
            let name_off = self.endian.read_u32(self.types, off).unwrap_or(0);
            let tail = strs.get(name_off as usize..).filter(|t| !t.is_empty());
            let Some(tail) = tail else {
                return Err(Error::StringOffset {
                    off: name_off,
                    len: strs.len(),
                }
                .in_type(id, self.types_start + off, "name"));
            };
            if tail.len() > name.len() && tail.starts_with(name.as_bytes()) && tail[name.len()] == 0
            {
                return Ok(Some(id));
            }
        }
        Ok(None)
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
mod tests;

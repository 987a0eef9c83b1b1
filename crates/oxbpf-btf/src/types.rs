//! Decoded views of BTF types. Each view borrows the blob; trailing records (members,
//! enum values, params, DATASEC entries) are decoded on demand by iterators.

use crate::endian::Endian;
use crate::error::{Error, Result};

/// A BTF type id; 0 is void.
pub type TypeId = u32;

/// Bits of an INT's encoding byte: signed.
pub const INT_SIGNED: u8 = 1;
/// Bits of an INT's encoding byte: char.
pub const INT_CHAR: u8 = 2;
/// Bits of an INT's encoding byte: bool.
pub const INT_BOOL: u8 = 4;

/// The kind of a BTF type (`BTF_KIND_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// Type id 0 (`BTF_KIND_UNKN` is only valid there).
    Void,
    /// `BTF_KIND_INT` (1).
    Int,
    /// `BTF_KIND_PTR` (2).
    Ptr,
    /// `BTF_KIND_ARRAY` (3).
    Array,
    /// `BTF_KIND_STRUCT` (4).
    Struct,
    /// `BTF_KIND_UNION` (5).
    Union,
    /// `BTF_KIND_ENUM` (6).
    Enum,
    /// `BTF_KIND_FWD` (7).
    Fwd,
    /// `BTF_KIND_TYPEDEF` (8).
    Typedef,
    /// `BTF_KIND_VOLATILE` (9).
    Volatile,
    /// `BTF_KIND_CONST` (10).
    Const,
    /// `BTF_KIND_RESTRICT` (11).
    Restrict,
    /// `BTF_KIND_FUNC` (12).
    Func,
    /// `BTF_KIND_FUNC_PROTO` (13).
    FuncProto,
    /// `BTF_KIND_VAR` (14).
    Var,
    /// `BTF_KIND_DATASEC` (15).
    Datasec,
    /// `BTF_KIND_FLOAT` (16).
    Float,
    /// `BTF_KIND_DECL_TAG` (17).
    DeclTag,
    /// `BTF_KIND_TYPE_TAG` (18).
    TypeTag,
    /// `BTF_KIND_ENUM64` (19).
    Enum64,
}

impl Kind {
    /// The kind for a raw `BTF_KIND_*` number; `None` for unknown numbers (0 maps to Void).
    pub fn from_raw(kind: u8) -> Option<Kind> {
        Some(match kind {
            0 => Kind::Void,
            1 => Kind::Int,
            2 => Kind::Ptr,
            3 => Kind::Array,
            4 => Kind::Struct,
            5 => Kind::Union,
            6 => Kind::Enum,
            7 => Kind::Fwd,
            8 => Kind::Typedef,
            9 => Kind::Volatile,
            10 => Kind::Const,
            11 => Kind::Restrict,
            12 => Kind::Func,
            13 => Kind::FuncProto,
            14 => Kind::Var,
            15 => Kind::Datasec,
            16 => Kind::Float,
            17 => Kind::DeclTag,
            18 => Kind::TypeTag,
            19 => Kind::Enum64,
            _ => return None,
        })
    }

    /// The raw `BTF_KIND_*` number.
    pub fn to_raw(self) -> u8 {
        match self {
            Kind::Void => 0,
            Kind::Int => 1,
            Kind::Ptr => 2,
            Kind::Array => 3,
            Kind::Struct => 4,
            Kind::Union => 5,
            Kind::Enum => 6,
            Kind::Fwd => 7,
            Kind::Typedef => 8,
            Kind::Volatile => 9,
            Kind::Const => 10,
            Kind::Restrict => 11,
            Kind::Func => 12,
            Kind::FuncProto => 13,
            Kind::Var => 14,
            Kind::Datasec => 15,
            Kind::Float => 16,
            Kind::DeclTag => 17,
            Kind::TypeTag => 18,
            Kind::Enum64 => 19,
        }
    }

    /// Bytes that follow the 12-byte `struct btf_type` for this kind with `vlen` entries.
    pub(crate) fn trailing_len(self, vlen: u16) -> usize {
        let vlen = usize::from(vlen);
        match self {
            Kind::Int | Kind::Var | Kind::DeclTag => 4,
            Kind::Array => 12,
            Kind::Struct | Kind::Union | Kind::Datasec | Kind::Enum64 => 12 * vlen,
            Kind::Enum | Kind::FuncProto => 8 * vlen,
            Kind::Void
            | Kind::Ptr
            | Kind::Fwd
            | Kind::Typedef
            | Kind::Volatile
            | Kind::Const
            | Kind::Restrict
            | Kind::Func
            | Kind::Float
            | Kind::TypeTag => 0,
        }
    }

    /// What the `vlen` entries of this kind are called, for error messages.
    pub(crate) fn vlen_what(self) -> &'static str {
        match self {
            Kind::Struct | Kind::Union => "members",
            Kind::Enum | Kind::Enum64 => "enum values",
            Kind::FuncProto => "params",
            Kind::Datasec => "var secinfos",
            _ => "extra data",
        }
    }
}

/// The string section: offsets to NUL-terminated UTF-8 strings. For split BTF the
/// offsets continue the base's: an offset below `start` resolves in `base`.
#[derive(Clone, Copy)]
pub(crate) struct Strings<'a> {
    /// This blob's own string section.
    pub(crate) data: &'a [u8],
    /// The base BTF's strings (split BTF only).
    pub(crate) base: Option<&'a Strings<'a>>,
    /// Offset of `data[0]` in the combined string space (the base's total length; 0 for
    /// base BTF).
    pub(crate) start: u32,
}

impl std::fmt::Debug for Strings<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Strings({} bytes from {:#x})",
            self.data.len(),
            self.start
        )
    }
}

impl<'a> Strings<'a> {
    /// The strings of base BTF (offsets start at 0).
    pub(crate) fn new(data: &'a [u8]) -> Strings<'a> {
        Strings {
            data,
            base: None,
            start: 0,
        }
    }

    /// Length of the combined string space (base strings plus this section).
    pub(crate) fn total_len(self) -> usize {
        self.start as usize + self.data.len()
    }

    /// The bytes from `off` to the end of the section holding it (so they include the
    /// string's NUL); `None` if `off` is past the end.
    #[inline]
    pub(crate) fn tail(self, off: u32) -> Option<&'a [u8]> {
        match (off.checked_sub(self.start), self.base) {
            (None, Some(base)) => base.tail(off),
            (None, None) => None,
            (Some(rel), _) => self.data.get(rel as usize..).filter(|t| !t.is_empty()),
        }
    }

    /// The raw bytes of the string at `off`, without its NUL.
    #[inline]
    pub(crate) fn bytes(self, off: u32) -> Option<&'a [u8]> {
        let tail = self.tail(off)?;
        let n = tail.iter().position(|&b| b == 0)?;
        tail.get(..n)
    }

    /// The string starting at `off`.
    pub(crate) fn get(self, off: u32) -> Result<&'a str> {
        // The section is checked to end in NUL at parse time; stay safe regardless.
        let s = self.bytes(off).ok_or(Error::StringOffset {
            off,
            len: self.total_len(),
        })?;
        std::str::from_utf8(s).map_err(|_| Error::StringNotUtf8 { off })
    }
}

/// Shared context every view with trailing records carries: where it is and how to decode.
#[derive(Clone, Copy)]
pub(crate) struct Ctx<'a> {
    pub(crate) id: TypeId,
    /// Byte offset of the type in the blob.
    pub(crate) offset: usize,
    pub(crate) endian: Endian,
    pub(crate) strs: Strings<'a>,
    /// The trailing records (after the 12-byte header).
    pub(crate) data: &'a [u8],
    pub(crate) vlen: u16,
}

impl<'a> Ctx<'a> {
    fn u32(&self, off: usize, what: impl FnOnce() -> String) -> Result<u32> {
        self.endian
            .read_u32(self.data, off)
            .ok_or_else(|| Error::TypeTruncated {
                id: self.id,
                offset: self.offset,
                what: what(),
                end: self.offset + 12 + self.data.len(),
            })
    }

    fn name(&self, off: u32, what: impl FnOnce() -> String) -> Result<&'a str> {
        self.strs
            .get(off)
            .map_err(|e| e.in_type(self.id, self.offset, what()))
    }
}

impl std::fmt::Debug for Ctx<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ctx")
            .field("id", &self.id)
            .field("offset", &self.offset)
            .field("vlen", &self.vlen)
            .finish_non_exhaustive()
    }
}

/// A decoded BTF type.
#[derive(Clone, Copy, Debug)]
pub enum Type<'a> {
    /// Type id 0.
    Void,
    /// An integer.
    Int(Int<'a>),
    /// A pointer to `ty`.
    Ptr(Ref<'a>),
    /// An array.
    Array(Array),
    /// A struct.
    Struct(Composite<'a>),
    /// A union.
    Union(Composite<'a>),
    /// A 32-bit enum.
    Enum(Enum<'a>),
    /// A 64-bit enum.
    Enum64(Enum<'a>),
    /// A forward declaration.
    Fwd(Fwd<'a>),
    /// A typedef.
    Typedef(Ref<'a>),
    /// `volatile`.
    Volatile(Ref<'a>),
    /// `const`.
    Const(Ref<'a>),
    /// `restrict`.
    Restrict(Ref<'a>),
    /// A type tag (`btf_type_tag`); `name` is the tag.
    TypeTag(Ref<'a>),
    /// A function (name + prototype).
    Func(Func<'a>),
    /// A function prototype.
    FuncProto(FuncProto<'a>),
    /// A variable.
    Var(Var<'a>),
    /// A data section.
    Datasec(Datasec<'a>),
    /// A floating-point type.
    Float(Float<'a>),
    /// A declaration tag (`btf_decl_tag`); `name` is the tag.
    DeclTag(DeclTag<'a>),
}

impl<'a> Type<'a> {
    /// The type's kind.
    pub fn kind(&self) -> Kind {
        match self {
            Type::Void => Kind::Void,
            Type::Int(_) => Kind::Int,
            Type::Ptr(_) => Kind::Ptr,
            Type::Array(_) => Kind::Array,
            Type::Struct(_) => Kind::Struct,
            Type::Union(_) => Kind::Union,
            Type::Enum(_) => Kind::Enum,
            Type::Enum64(_) => Kind::Enum64,
            Type::Fwd(_) => Kind::Fwd,
            Type::Typedef(_) => Kind::Typedef,
            Type::Volatile(_) => Kind::Volatile,
            Type::Const(_) => Kind::Const,
            Type::Restrict(_) => Kind::Restrict,
            Type::TypeTag(_) => Kind::TypeTag,
            Type::Func(_) => Kind::Func,
            Type::FuncProto(_) => Kind::FuncProto,
            Type::Var(_) => Kind::Var,
            Type::Datasec(_) => Kind::Datasec,
            Type::Float(_) => Kind::Float,
            Type::DeclTag(_) => Kind::DeclTag,
        }
    }

    /// The type's name; "" for anonymous types, void, arrays and prototypes.
    pub fn name(&self) -> &'a str {
        match self {
            Type::Void | Type::Array(_) | Type::FuncProto(_) => "",
            Type::Int(t) => t.name,
            Type::Ptr(t)
            | Type::Typedef(t)
            | Type::Volatile(t)
            | Type::Const(t)
            | Type::Restrict(t)
            | Type::TypeTag(t) => t.name,
            Type::Struct(t) | Type::Union(t) => t.name,
            Type::Enum(t) | Type::Enum64(t) => t.name,
            Type::Fwd(t) => t.name,
            Type::Func(t) => t.name,
            Type::Var(t) => t.name,
            Type::Datasec(t) => t.name,
            Type::Float(t) => t.name,
            Type::DeclTag(t) => t.name,
        }
    }

    /// The type this one refers to for ptr/typedef/modifiers/type_tag/func/var/decl_tag.
    pub fn referenced(&self) -> Option<TypeId> {
        match self {
            Type::Ptr(t)
            | Type::Typedef(t)
            | Type::Volatile(t)
            | Type::Const(t)
            | Type::Restrict(t)
            | Type::TypeTag(t) => Some(t.ty),
            Type::Func(f) => Some(f.proto),
            Type::Var(v) => Some(v.ty),
            Type::DeclTag(d) => Some(d.ty),
            _ => None,
        }
    }
}

/// A type that names another: ptr, typedef, const, volatile, restrict, type_tag.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ref<'a> {
    /// Name ("" for ptr and modifiers; the tag for type_tag).
    pub name: &'a str,
    /// The referenced type.
    pub ty: TypeId,
}

/// `BTF_KIND_INT`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Int<'a> {
    /// Name (e.g. "unsigned int").
    pub name: &'a str,
    /// Byte size.
    pub size: u32,
    /// Encoding bits: [`INT_SIGNED`], [`INT_CHAR`], [`INT_BOOL`].
    pub encoding: u8,
    /// Bit offset of the value inside the storage.
    pub bit_offset: u8,
    /// Number of value bits.
    pub bits: u8,
}

/// `BTF_KIND_ARRAY`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Array {
    /// Element type.
    pub elem: TypeId,
    /// Index type.
    pub index: TypeId,
    /// Number of elements.
    pub nelems: u32,
}

/// `BTF_KIND_STRUCT` / `BTF_KIND_UNION`.
#[derive(Clone, Copy, Debug)]
pub struct Composite<'a> {
    /// Name ("" if anonymous).
    pub name: &'a str,
    /// Byte size.
    pub size: u32,
    pub(crate) kind_flag: bool,
    pub(crate) ctx: Ctx<'a>,
}

impl<'a> Composite<'a> {
    /// Number of members.
    pub fn vlen(&self) -> u16 {
        self.ctx.vlen
    }

    /// Whether member offsets carry bitfield sizes (`kind_flag`).
    pub fn kind_flag(&self) -> bool {
        self.kind_flag
    }

    /// The members, decoded on demand.
    pub fn members(&self) -> Members<'a> {
        Members {
            ctx: self.ctx,
            kind_flag: self.kind_flag,
            idx: 0,
        }
    }
}

/// One `next` of an iterator over `vlen` entries: `None` past the last, else entry `*idx`
/// as `decode` reads it; an error ends the iteration (`*idx` goes to `vlen`).
#[inline]
fn next_entry<T>(
    idx: &mut u16,
    vlen: u16,
    decode: impl FnOnce(u16) -> Result<T>,
) -> Option<Result<T>> {
    if *idx >= vlen {
        return None;
    }
    let i = *idx;
    *idx += 1;
    let r = decode(i);
    if r.is_err() {
        *idx = vlen;
    }
    Some(r)
}

/// Skips `n` of the entries left before `vlen` for `nth`: `None` (and `*idx` at `vlen`)
/// if there are not more than `n`.
#[inline]
fn skip_entries(idx: &mut u16, vlen: u16, n: usize) -> Option<()> {
    let left = usize::from(vlen - *idx);
    if n >= left {
        *idx = vlen;
        return None;
    }
    // n < left <= u16::MAX.
    *idx += n as u16;
    Some(())
}

/// A struct or union member.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Member<'a> {
    /// Name ("" if anonymous).
    pub name: &'a str,
    /// Member type.
    pub ty: TypeId,
    /// Offset in bits from the start of the composite.
    pub bit_offset: u32,
    /// Bitfield size in bits; 0 if not a bitfield (or `kind_flag` is unset).
    pub bitfield_size: u8,
}

/// Iterator over a composite's members.
#[derive(Clone, Debug)]
pub struct Members<'a> {
    ctx: Ctx<'a>,
    kind_flag: bool,
    idx: u16,
}

impl<'a> Iterator for Members<'a> {
    type Item = Result<Member<'a>>;
    fn next(&mut self) -> Option<Self::Item> {
        next_entry(&mut self.idx, self.ctx.vlen, |i| {
            let base = usize::from(i) * 12;
            let what = || format!("member {i}");
            let name_off = self.ctx.u32(base, what)?;
            let ty = self.ctx.u32(base + 4, what)?;
            let off = self.ctx.u32(base + 8, what)?;
            let name = self.ctx.name(name_off, || format!("member {i} name"))?;
            let (bit_offset, bitfield_size) = if self.kind_flag {
                (off & 0x00ff_ffff, (off >> 24) as u8)
            } else {
                (off, 0)
            };
            Ok(Member {
                name,
                ty,
                bit_offset,
                bitfield_size,
            })
        })
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = usize::from(self.ctx.vlen - self.idx);
        (0, Some(n))
    }
    /// Member `n` from here, decoding only it (CO-RE access strings index members
    /// directly: `members().nth(i)` must not decode the `i` before it).
    fn nth(&mut self, n: usize) -> Option<Self::Item> {
        skip_entries(&mut self.idx, self.ctx.vlen, n)?;
        self.next()
    }
}

/// `BTF_KIND_ENUM` / `BTF_KIND_ENUM64`.
#[derive(Clone, Copy, Debug)]
pub struct Enum<'a> {
    /// Name ("" if anonymous).
    pub name: &'a str,
    /// Byte size.
    pub size: u32,
    /// Whether values are signed (`kind_flag`).
    pub signed: bool,
    pub(crate) is64: bool,
    pub(crate) ctx: Ctx<'a>,
}

impl<'a> Enum<'a> {
    /// Number of enumerators.
    pub fn vlen(&self) -> u16 {
        self.ctx.vlen
    }

    /// Whether this is an ENUM64.
    pub fn is_enum64(&self) -> bool {
        self.is64
    }

    /// The enumerators as (name, value); the value is sign- or zero-extended per `signed`.
    pub fn values(&self) -> EnumValues<'a> {
        EnumValues { e: *self, idx: 0 }
    }
}

/// Iterator over an enum's (name, value) pairs.
#[derive(Clone, Debug)]
pub struct EnumValues<'a> {
    e: Enum<'a>,
    idx: u16,
}

impl<'a> Iterator for EnumValues<'a> {
    type Item = Result<(&'a str, i128)>;
    fn next(&mut self) -> Option<Self::Item> {
        let ctx = &self.e.ctx;
        next_entry(&mut self.idx, ctx.vlen, |i| {
            let what = || format!("enum value {i}");
            let (name_off, value) = if self.e.is64 {
                let base = usize::from(i) * 12;
                let lo = ctx.u32(base + 4, what)?;
                let hi = ctx.u32(base + 8, what)?;
                let v = (u64::from(hi) << 32) | u64::from(lo);
                let v = if self.e.signed {
                    i128::from(v as i64)
                } else {
                    i128::from(v)
                };
                (ctx.u32(base, what)?, v)
            } else {
                let base = usize::from(i) * 8;
                let raw = ctx.u32(base + 4, what)?;
                let v = if self.e.signed {
                    i128::from(raw as i32)
                } else {
                    i128::from(raw)
                };
                (ctx.u32(base, what)?, v)
            };
            let name = ctx.name(name_off, || format!("enum value {i} name"))?;
            Ok((name, value))
        })
    }
    /// Enumerator `n` from here, decoding only it.
    fn nth(&mut self, n: usize) -> Option<Self::Item> {
        skip_entries(&mut self.idx, self.e.ctx.vlen, n)?;
        self.next()
    }
}

/// `BTF_KIND_FWD`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fwd<'a> {
    /// Name.
    pub name: &'a str,
    /// Whether it declares a union (else a struct).
    pub is_union: bool,
}

/// Function linkage: static.
pub const LINKAGE_STATIC: u16 = 0;
/// Function linkage: global.
pub const LINKAGE_GLOBAL: u16 = 1;
/// Function linkage: extern.
pub const LINKAGE_EXTERN: u16 = 2;

/// `BTF_KIND_FUNC`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Func<'a> {
    /// Name.
    pub name: &'a str,
    /// The FUNC_PROTO.
    pub proto: TypeId,
    /// Linkage: [`LINKAGE_STATIC`], [`LINKAGE_GLOBAL`], [`LINKAGE_EXTERN`].
    pub linkage: u16,
}

/// `BTF_KIND_FUNC_PROTO`.
#[derive(Clone, Copy, Debug)]
pub struct FuncProto<'a> {
    /// Return type (0 = void).
    pub ret: TypeId,
    pub(crate) ctx: Ctx<'a>,
}

impl<'a> FuncProto<'a> {
    /// Number of parameters (a trailing `("", 0)` means variadic).
    pub fn vlen(&self) -> u16 {
        self.ctx.vlen
    }

    /// The parameters as (name, type).
    pub fn params(&self) -> Params<'a> {
        Params {
            ctx: self.ctx,
            idx: 0,
        }
    }
}

/// Iterator over a prototype's (name, type) parameters.
#[derive(Clone, Debug)]
pub struct Params<'a> {
    ctx: Ctx<'a>,
    idx: u16,
}

impl<'a> Iterator for Params<'a> {
    type Item = Result<(&'a str, TypeId)>;
    fn next(&mut self) -> Option<Self::Item> {
        next_entry(&mut self.idx, self.ctx.vlen, |i| {
            let base = usize::from(i) * 8;
            let what = || format!("param {i}");
            let name_off = self.ctx.u32(base, what)?;
            let ty = self.ctx.u32(base + 4, what)?;
            let name = self.ctx.name(name_off, || format!("param {i} name"))?;
            Ok((name, ty))
        })
    }
}

/// Variable linkage: static.
pub const VAR_STATIC: u32 = 0;
/// Variable linkage: global (allocated).
pub const VAR_GLOBAL_ALLOCATED: u32 = 1;
/// Variable linkage: global extern.
pub const VAR_GLOBAL_EXTERN: u32 = 2;

/// `BTF_KIND_VAR`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Var<'a> {
    /// Name.
    pub name: &'a str,
    /// Variable type.
    pub ty: TypeId,
    /// Linkage: [`VAR_STATIC`], [`VAR_GLOBAL_ALLOCATED`], [`VAR_GLOBAL_EXTERN`].
    pub linkage: u32,
}

/// `BTF_KIND_DATASEC`.
#[derive(Clone, Copy, Debug)]
pub struct Datasec<'a> {
    /// Section name (".data", ".bss", ...).
    pub name: &'a str,
    /// Section size in bytes (0 in clang output until fixed up).
    pub size: u32,
    pub(crate) ctx: Ctx<'a>,
}

impl<'a> Datasec<'a> {
    /// Number of variables.
    pub fn vlen(&self) -> u16 {
        self.ctx.vlen
    }

    /// The variables in this section.
    pub fn vars(&self) -> VarSecinfos<'a> {
        VarSecinfos {
            ctx: self.ctx,
            idx: 0,
        }
    }
}

/// One variable entry of a DATASEC (`struct btf_var_secinfo`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VarSecinfo {
    /// The VAR (or FUNC, for .ksyms) type.
    pub ty: TypeId,
    /// Byte offset in the section.
    pub offset: u32,
    /// Byte size.
    pub size: u32,
}

/// Iterator over a DATASEC's variables.
#[derive(Clone, Debug)]
pub struct VarSecinfos<'a> {
    ctx: Ctx<'a>,
    idx: u16,
}

impl Iterator for VarSecinfos<'_> {
    type Item = Result<VarSecinfo>;
    fn next(&mut self) -> Option<Self::Item> {
        next_entry(&mut self.idx, self.ctx.vlen, |i| {
            let base = usize::from(i) * 12;
            let what = || format!("var secinfo {i}");
            Ok(VarSecinfo {
                ty: self.ctx.u32(base, what)?,
                offset: self.ctx.u32(base + 4, what)?,
                size: self.ctx.u32(base + 8, what)?,
            })
        })
    }
}

/// `BTF_KIND_FLOAT`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Float<'a> {
    /// Name.
    pub name: &'a str,
    /// Byte size.
    pub size: u32,
}

/// `BTF_KIND_DECL_TAG`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeclTag<'a> {
    /// The tag string.
    pub name: &'a str,
    /// The tagged type (struct, union, func, var, typedef).
    pub ty: TypeId,
    /// -1 for the type itself, else the member/param index.
    pub component_idx: i32,
}

/// Decode the type record `rec` (header + trailing data) with id `id` at blob offset `offset`.
pub(crate) fn decode<'a>(
    id: TypeId,
    offset: usize,
    rec: &'a [u8],
    endian: Endian,
    strs: Strings<'a>,
) -> Result<Type<'a>> {
    let end = offset + rec.len();
    let trunc = |what: &str| Error::TypeTruncated {
        id,
        offset,
        what: what.to_string(),
        end,
    };
    let name_off = endian.read_u32(rec, 0).ok_or_else(|| trunc("header"))?;
    let info = endian.read_u32(rec, 4).ok_or_else(|| trunc("header"))?;
    let size_or_type = endian.read_u32(rec, 8).ok_or_else(|| trunc("header"))?;
    let raw_kind = ((info >> 24) & 0x1f) as u8;
    let kind = match Kind::from_raw(raw_kind) {
        Some(Kind::Void) | None => {
            return Err(Error::UnknownKind {
                id,
                offset,
                kind: raw_kind,
            });
        }
        Some(k) => k,
    };
    let vlen = (info & 0xffff) as u16;
    let kind_flag = info >> 31 != 0;
    let data = rec.get(12..).unwrap_or(&[]);
    let ctx = Ctx {
        id,
        offset,
        endian,
        strs,
        data,
        vlen,
    };
    let name = strs
        .get(name_off)
        .map_err(|e| e.in_type(id, offset, "name"))?;
    let extra = |i: usize| -> Result<u32> {
        endian
            .read_u32(data, i)
            .ok_or_else(|| trunc(&format!("{kind:?} data")))
    };
    let r = Ref {
        name,
        ty: size_or_type,
    };
    Ok(match kind {
        Kind::Void => Type::Void,
        Kind::Int => {
            let v = extra(0)?;
            Type::Int(Int {
                name,
                size: size_or_type,
                encoding: ((v >> 24) & 0x0f) as u8,
                bit_offset: ((v >> 16) & 0xff) as u8,
                bits: (v & 0xff) as u8,
            })
        }
        Kind::Ptr => Type::Ptr(r),
        Kind::Typedef => Type::Typedef(r),
        Kind::Volatile => Type::Volatile(r),
        Kind::Const => Type::Const(r),
        Kind::Restrict => Type::Restrict(r),
        Kind::TypeTag => Type::TypeTag(r),
        Kind::Array => Type::Array(Array {
            elem: extra(0)?,
            index: extra(4)?,
            nelems: extra(8)?,
        }),
        Kind::Struct | Kind::Union => {
            let c = Composite {
                name,
                size: size_or_type,
                kind_flag,
                ctx,
            };
            if kind == Kind::Struct {
                Type::Struct(c)
            } else {
                Type::Union(c)
            }
        }
        Kind::Enum | Kind::Enum64 => {
            let is64 = kind == Kind::Enum64;
            let e = Enum {
                name,
                size: size_or_type,
                signed: kind_flag,
                is64,
                ctx,
            };
            if is64 { Type::Enum64(e) } else { Type::Enum(e) }
        }
        Kind::Fwd => Type::Fwd(Fwd {
            name,
            is_union: kind_flag,
        }),
        Kind::Func => Type::Func(Func {
            name,
            proto: size_or_type,
            linkage: vlen,
        }),
        Kind::FuncProto => Type::FuncProto(FuncProto {
            ret: size_or_type,
            ctx,
        }),
        Kind::Var => Type::Var(Var {
            name,
            ty: size_or_type,
            linkage: extra(0)?,
        }),
        Kind::Datasec => Type::Datasec(Datasec {
            name,
            size: size_or_type,
            ctx,
        }),
        Kind::Float => Type::Float(Float {
            name,
            size: size_or_type,
        }),
        Kind::DeclTag => Type::DeclTag(DeclTag {
            name,
            ty: size_or_type,
            component_idx: extra(0)? as i32,
        }),
    })
}

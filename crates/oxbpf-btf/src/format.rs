//! The BTF value formatter: raw bytes plus a type id → JSON text.
//!
//! Used to print ring buffer records, map keys and values, and whole global-data
//! sections (`.data`, `.bss`, `.rodata` via their DATASEC). The output is one JSON value:
//!
//! - ints: decimal numbers, signed or unsigned per the encoding; ints wider than 8 bytes
//!   (or bitfields wider than 64 bits) as a JSON string of the decimal, since JSON readers
//!   lose precision past 2^53; `BOOL` encoding as `true`/`false`; a lone `char` is a number;
//! - arrays whose element is a 1-byte int with `CHAR` encoding or a name containing
//!   "char" (through const/volatile/restrict/type_tag, but not typedefs, so `__u8 mac[6]`
//!   stays an array of numbers): a JSON string up to the first NUL, control characters
//!   and bytes that are not valid UTF-8 escaped as `\u00XX`;
//! - other arrays: JSON arrays (`[]` if the elements have size 0);
//! - structs and unions: objects with the members in order; an anonymous struct/union
//!   member's fields are flattened into the parent, other anonymous members (unnamed
//!   bitfield padding) are skipped;
//! - bitfields: extracted little-endian, sign-extended for signed ints;
//! - enums: the enumerator name as a string if the value matches one, else the number;
//! - typedef/const/volatile/restrict/type_tag: followed;
//! - pointers: a `"0x..."` hex string;
//! - floats of 2, 4 or 8 bytes: numbers (`"nan"`, `"inf"`, `"-inf"` as strings); other
//!   float sizes (x86 `long double`) as a `"0x..."` hex string of the raw bytes;
//! - a DATASEC: an object of variable name → value, at the offsets of its secinfos
//!   (FUNC entries, as in `.ksyms`, are skipped); a lone VAR: `{"name": value}`;
//! - void, func, func_proto, fwd, decl_tag: an error.
//!
//! Values are read little-endian (the byte order of the hosts oxbpf supports). Bytes past
//! the type's size are ignored; fewer bytes than the type needs is an error naming the type.
//!
//! ```
//! use oxbpf_btf::{Btf, BtfBuilder, INT_SIGNED, to_json};
//!
//! let mut b = BtfBuilder::new();
//! let uint = b.add_int("unsigned int", 4, 0);
//! let ch = b.add_int("char", 1, INT_SIGNED);
//! let comm = b.add_array(ch, uint, 8);
//! let ev = b.add_struct("event", 12, &[("pid", uint, 0), ("comm", comm, 32)]);
//! let blob = b.build();
//! let btf = Btf::parse(&blob)?;
//!
//! let mut record = 42u32.to_le_bytes().to_vec();
//! record.extend_from_slice(b"bash\0\0\0\0");
//! assert_eq!(to_json(&btf, ev, &record)?, r#"{"pid":42,"comm":"bash"}"#);
//! assert!(to_json(&btf, ev, &record[..6]).is_err()); // too short: names `event`
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt::Write as _;

use crate::{
    Btf, Composite, Enum, Error, INT_BOOL, INT_CHAR, INT_SIGNED, Int, Kind, Member, Type, TypeId,
    Var, VarSecinfo,
};

/// How deeply types may nest (members, elements, modifiers) before formatting gives up.
pub const MAX_FORMAT_DEPTH: u32 = 64;

/// The least number of steps (values visited) formatting may take; the budget is this or
/// 16 per input byte, whichever is larger, so types that expand exponentially stop.
pub const MIN_FORMAT_BUDGET: u64 = 1 << 20;

/// Why a value could not be formatted.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FormatError {
    /// Reading the BTF itself failed (a corrupt type, an id out of range, ...).
    #[error(transparent)]
    Btf(#[from] Error),
    /// The bytes end before the value does.
    #[error(
        "BTF type {id} {name:?} ({kind:?}) at byte offset {offset} of the value: needs {expected} bytes, got {got}"
    )]
    ShortBuffer {
        /// The type being formatted.
        id: TypeId,
        /// Its name ("" if anonymous).
        name: String,
        /// Its kind.
        kind: Kind,
        /// Byte offset of the value inside the input bytes.
        offset: u64,
        /// Bytes the type needs from `offset`.
        expected: u64,
        /// Bytes available from `offset`.
        got: u64,
    },
    /// The type has no value to format (void, func, func_proto, fwd, decl_tag).
    #[error("BTF type {id} {name:?} ({kind:?}) has no value to format")]
    NotAValue {
        /// The type.
        id: TypeId,
        /// Its name.
        name: String,
        /// Its kind.
        kind: Kind,
    },
    /// Types nest deeper than [`MAX_FORMAT_DEPTH`] (a loop in the BTF, most likely).
    #[error(
        "formatting BTF type {root}: type {id} is nested deeper than {max} levels (a reference loop?)"
    )]
    TooDeep {
        /// The type formatting started from.
        root: TypeId,
        /// The type at which the limit was hit.
        id: TypeId,
        /// The depth limit.
        max: u32,
    },
    /// The type is well-formed enough to read but cannot be formatted as asked.
    #[error("BTF type {id} {name:?} ({kind:?}): {reason}")]
    Unsupported {
        /// The type.
        id: TypeId,
        /// Its name.
        name: String,
        /// Its kind.
        kind: Kind,
        /// What is wrong.
        reason: String,
    },
    /// Formatting took more steps than the budget (types that expand exponentially).
    #[error("formatting BTF type {root}: more than {budget} values visited, giving up")]
    TooComplex {
        /// The type formatting started from.
        root: TypeId,
        /// The step budget.
        budget: u64,
    },
}

/// Format `bytes` as a value of type `ty` into a new JSON string.
pub fn to_json(btf: &Btf<'_>, ty: TypeId, bytes: &[u8]) -> Result<String, FormatError> {
    let mut out = String::new();
    write_json(&mut out, btf, ty, bytes)?;
    Ok(out)
}

/// Append `bytes` formatted as a value of type `ty` to `out` as JSON; on error `out` is
/// left as it was.
pub fn write_json(
    out: &mut String,
    btf: &Btf<'_>,
    ty: TypeId,
    bytes: &[u8],
) -> Result<(), FormatError> {
    format_into(out, btf, ty, bytes, |f| f.value(ty, 0, 0))
}

/// Append to `out` what `write` makes of `bytes` as a value of type `ty` (after checking
/// that the bytes hold the whole type); on error `out` is left as it was.
fn format_into(
    out: &mut String,
    btf: &Btf<'_>,
    ty: TypeId,
    bytes: &[u8],
    write: impl FnOnce(&mut Formatter<'_, '_, '_>) -> Result<(), FormatError>,
) -> Result<(), FormatError> {
    let start = out.len();
    let mut f = Formatter {
        btf,
        out,
        bytes,
        root: ty,
        steps: 0,
        budget: MIN_FORMAT_BUDGET.max((bytes.len() as u64).saturating_mul(16)),
    };
    let r = f.root_check().and_then(|()| write(&mut f));
    if r.is_err() {
        out.truncate(start);
    }
    r
}

/// Positions are in bits from the start of the input bytes.
struct Formatter<'o, 'b, 'a> {
    btf: &'b Btf<'a>,
    out: &'o mut String,
    bytes: &'b [u8],
    root: TypeId,
    steps: u64,
    budget: u64,
}

impl<'a> Formatter<'_, '_, 'a> {
    /// Name the root type (not an inner member) when the whole buffer is too short.
    fn root_check(&self) -> Result<(), FormatError> {
        if let Ok(size) = self.btf.resolve_size(self.root) {
            let ty = self.btf.type_by_id(self.root)?;
            self.check(self.root, &ty, 0, u64::from(size))?;
        }
        Ok(())
    }

    /// Count a step and check the depth limit.
    fn enter(&mut self, id: TypeId, depth: u32) -> Result<(), FormatError> {
        if depth >= MAX_FORMAT_DEPTH {
            return Err(FormatError::TooDeep {
                root: self.root,
                id,
                max: MAX_FORMAT_DEPTH,
            });
        }
        self.steps += 1;
        if self.steps > self.budget {
            return Err(FormatError::TooComplex {
                root: self.root,
                budget: self.budget,
            });
        }
        Ok(())
    }

    fn value(&mut self, id: TypeId, pos: u64, depth: u32) -> Result<(), FormatError> {
        self.enter(id, depth)?;
        let ty = self.btf.type_by_id(id)?;
        match ty {
            Type::Typedef(r)
            | Type::Volatile(r)
            | Type::Const(r)
            | Type::Restrict(r)
            | Type::TypeTag(r) => self.value(r.ty, pos, depth + 1),
            Type::Int(t) => {
                let v = self.int(id, &ty, &t, pos, 0)?;
                self.json_scalar(v);
                Ok(())
            }
            Type::Enum(e) | Type::Enum64(e) => {
                let v = self.enumeration(id, &ty, &e, pos, 0)?;
                self.json_scalar(v);
                Ok(())
            }
            Type::Ptr(_) => {
                let v = self.pointer(id, &ty, pos)?;
                let _ = write!(self.out, "\"0x{v:x}\"");
                Ok(())
            }
            Type::Float(fl) => {
                let off = self.aligned(id, &ty, pos)?;
                match self.float(id, &ty, off, fl.size)? {
                    v @ (FloatValue::F32(_) | FloatValue::F64(_)) => {
                        let _ = write!(self.out, "{v}");
                    }
                    v => {
                        let _ = write!(self.out, "\"{v}\"");
                    }
                }
                Ok(())
            }
            Type::Array(a) => {
                let off = self.aligned(id, &ty, pos)?;
                let elem_size = u64::from(self.btf.resolve_size(a.elem)?);
                self.check(id, &ty, off, elem_size * u64::from(a.nelems))?;
                if self.is_char(a.elem)? {
                    self.char_string(off, u64::from(a.nelems));
                    return Ok(());
                }
                self.out.push('[');
                if elem_size > 0 {
                    for i in 0..u64::from(a.nelems) {
                        if i > 0 {
                            self.out.push(',');
                        }
                        self.value(a.elem, (off + i * elem_size) * 8, depth + 1)?;
                    }
                }
                self.out.push(']');
                Ok(())
            }
            Type::Struct(c) | Type::Union(c) => {
                let off = self.aligned(id, &ty, pos)?;
                self.check(id, &ty, off, u64::from(c.size))?;
                self.out.push('{');
                self.fields(&c, off * 8, depth)?;
                self.out.push('}');
                Ok(())
            }
            Type::Datasec(d) => {
                let off = self.aligned(id, &ty, pos)?;
                self.check(id, &ty, off, u64::from(d.size))?;
                self.out.push('{');
                let mut first = true;
                for vsi in d.vars() {
                    let vsi = vsi?;
                    let Some(var) = self.secinfo_var(id, &ty, &vsi)? else {
                        continue;
                    };
                    if !first {
                        self.out.push(',');
                    }
                    first = false;
                    write_str(self.out, var.name);
                    self.out.push(':');
                    let vpos = (off + u64::from(vsi.offset)) * 8;
                    self.value(var.ty, vpos, depth + 1)?;
                }
                self.out.push('}');
                Ok(())
            }
            Type::Var(v) => {
                self.out.push('{');
                write_str(self.out, v.name);
                self.out.push(':');
                self.value(v.ty, pos, depth + 1)?;
                self.out.push('}');
                Ok(())
            }
            Type::Void | Type::Func(_) | Type::FuncProto(_) | Type::Fwd(_) | Type::DeclTag(_) => {
                Err(not_a_value(id, &ty))
            }
        }
    }

    /// Write the members of `c` (at bit position `base`) as `"name":value` pairs,
    /// flattening anonymous struct/union members.
    fn fields(&mut self, c: &Composite<'_>, base: u64, depth: u32) -> Result<(), FormatError> {
        let mut first = true;
        self.each_member(c, base, depth, &mut |f, m, pos, depth| {
            if !first {
                f.out.push(',');
            }
            first = false;
            write_str(f.out, m.name);
            f.out.push(':');
            if m.bitfield_size == 0 {
                f.value(m.ty, pos, depth + 1)
            } else {
                let v = f.bitfield(m, pos, depth)?;
                f.json_scalar(v);
                Ok(())
            }
        })
    }

    /// Call `visit` with each named member of `c` (at bit position `base`), its bit
    /// position and the depth it is at; the fields of anonymous struct/union members are
    /// visited in their place (flattened), other anonymous members (unnamed bitfields:
    /// padding, not data) skipped.
    fn each_member<F>(
        &mut self,
        c: &Composite<'_>,
        base: u64,
        depth: u32,
        visit: &mut F,
    ) -> Result<(), FormatError>
    where
        F: FnMut(&mut Self, &Member<'_>, u64, u32) -> Result<(), FormatError>,
    {
        for m in c.members() {
            let m = m?;
            let pos = base + u64::from(m.bit_offset);
            if m.name.is_empty() {
                if let Some(inner) = self.anonymous_composite(&m, pos, depth)? {
                    self.each_member(&inner, pos, depth + 1, visit)?;
                }
                continue;
            }
            visit(self, &m, pos, depth)?;
        }
        Ok(())
    }

    /// Write a scalar as JSON: ints wider than 64 bits and enumerator names as strings.
    fn json_scalar(&mut self, v: Scalar<'_>) {
        match v {
            Scalar::Enumerator(name) => write_str(self.out, name),
            Scalar::Int(n, true) => {
                let _ = write!(self.out, "\"{n}\"");
            }
            v => {
                let _ = write!(self.out, "{v}");
            }
        }
    }

    /// For an anonymous member at bit `pos`: the struct/union whose fields are flattened
    /// into the parent (checked to be in the input), or `None` for an unnamed bitfield.
    fn anonymous_composite(
        &mut self,
        m: &Member<'_>,
        pos: u64,
        depth: u32,
    ) -> Result<Option<Composite<'a>>, FormatError> {
        let inner_id = self.btf.skip_mods_and_typedefs(m.ty)?;
        let inner_ty = self.btf.type_by_id(inner_id)?;
        let (Type::Struct(inner) | Type::Union(inner)) = inner_ty else {
            return Ok(None);
        };
        self.enter(inner_id, depth + 1)?;
        let off = self.aligned(inner_id, &inner_ty, pos)?;
        self.check(inner_id, &inner_ty, off, u64::from(inner.size))?;
        Ok(Some(inner))
    }

    /// Read bitfield member `m` (an int or enum) at bit `pos`.
    fn bitfield(
        &mut self,
        m: &Member<'_>,
        pos: u64,
        depth: u32,
    ) -> Result<Scalar<'a>, FormatError> {
        self.enter(m.ty, depth + 1)?;
        let id = self.btf.skip_mods_and_typedefs(m.ty)?;
        let ty = self.btf.type_by_id(id)?;
        match ty {
            Type::Int(t) => self.int(id, &ty, &t, pos, m.bitfield_size),
            Type::Enum(e) | Type::Enum64(e) => self.enumeration(id, &ty, &e, pos, m.bitfield_size),
            _ => Err(unsupported(
                id,
                &ty,
                format!("member {:?} is a bitfield of a non-integer type", m.name),
            )),
        }
    }

    /// The VAR a DATASEC entry names, or `None` for a FUNC (as in `.ksyms`).
    fn secinfo_var(
        &self,
        id: TypeId,
        ty: &Type<'_>,
        vsi: &VarSecinfo,
    ) -> Result<Option<Var<'a>>, FormatError> {
        match self.btf.type_by_id(vsi.ty)? {
            Type::Var(v) => Ok(Some(v)),
            Type::Func(_) => Ok(None),
            other => Err(unsupported(
                id,
                ty,
                format!(
                    "secinfo names type {} of kind {:?}, not a VAR",
                    vsi.ty,
                    other.kind()
                ),
            )),
        }
    }

    /// The 8-byte pointer value at bit `pos`.
    fn pointer(&self, id: TypeId, ty: &Type<'_>, pos: u64) -> Result<u128, FormatError> {
        let off = self.aligned(id, ty, pos)?;
        self.check(id, ty, off, 8)?;
        Ok(self.read_le(off, 8))
    }

    /// Read an int (or an int bitfield of `bitfield` bits, if non-zero) at bit `pos`.
    fn int(
        &self,
        id: TypeId,
        ty: &Type<'_>,
        t: &Int<'_>,
        pos: u64,
        bitfield: u8,
    ) -> Result<Scalar<'a>, FormatError> {
        if t.size == 0 || t.size > 16 {
            return Err(unsupported(
                id,
                ty,
                format!("int size {} (want 1..=16 bytes)", t.size),
            ));
        }
        let (start, nbits) = if bitfield > 0 {
            (pos, u32::from(bitfield))
        } else {
            if t.bits == 0 || u32::from(t.bit_offset) + u32::from(t.bits) > t.size * 8 {
                return Err(unsupported(
                    id,
                    ty,
                    format!(
                        "int bit offset {} + bits {} do not fit in {} bytes",
                        t.bit_offset, t.bits, t.size
                    ),
                ));
            }
            (pos + u64::from(t.bit_offset), u32::from(t.bits))
        };
        if nbits > 128 {
            return Err(unsupported(
                id,
                ty,
                format!("bitfield of {nbits} bits (max 128)"),
            ));
        }
        let raw = self.read_bits(id, ty, start, nbits)?;
        if t.encoding & INT_BOOL != 0 {
            return Ok(Scalar::Bool(raw != 0));
        }
        let n = if t.encoding & INT_SIGNED != 0 {
            Num::Signed(sign_extend(raw, nbits))
        } else {
            Num::Unsigned(raw)
        };
        Ok(Scalar::Int(n, t.size > 8 || nbits > 64))
    }

    /// Read an enum (or an enum bitfield of `bitfield` bits) at bit `pos`.
    fn enumeration(
        &self,
        id: TypeId,
        ty: &Type<'_>,
        e: &Enum<'a>,
        pos: u64,
        bitfield: u8,
    ) -> Result<Scalar<'a>, FormatError> {
        if !matches!(e.size, 1 | 2 | 4 | 8) {
            return Err(unsupported(
                id,
                ty,
                format!("enum size {} (want 1, 2, 4 or 8 bytes)", e.size),
            ));
        }
        let nbits = if bitfield > 0 {
            u32::from(bitfield).min(64)
        } else {
            e.size * 8
        };
        let raw = self.read_bits(id, ty, pos, nbits)?;
        let value = if e.signed {
            sign_extend(raw, nbits)
        } else {
            raw as i128
        };
        let mask = if nbits >= 128 {
            u128::MAX
        } else {
            (1u128 << nbits) - 1
        };
        for v in e.values() {
            let (name, v) = v?;
            if v == value || (v as u128) & mask == raw {
                return Ok(Scalar::Enumerator(name));
            }
        }
        Ok(Scalar::EnumValue(value))
    }

    /// Read a float of `size` bytes at byte `off`.
    fn float(
        &self,
        id: TypeId,
        ty: &Type<'_>,
        off: u64,
        size: u32,
    ) -> Result<FloatValue, FormatError> {
        if size == 0 || size > 16 {
            return Err(unsupported(
                id,
                ty,
                format!("float size {size} (want 1..=16 bytes)"),
            ));
        }
        self.check(id, ty, off, u64::from(size))?;
        let raw = self.read_le(off, size);
        let v = match size {
            2 => f64::from(f16_to_f32(raw as u16)),
            4 => f64::from(f32::from_bits(raw as u32)),
            8 => f64::from_bits(raw as u64),
            _ => return Ok(FloatValue::Raw(raw)),
        };
        Ok(if v.is_nan() {
            FloatValue::Nan
        } else if v.is_infinite() {
            FloatValue::Inf(v > 0.0)
        } else if size == 8 {
            FloatValue::F64(v)
        } else {
            // Shortest text that reads back as the same f32 (f16 values are exact in f32).
            FloatValue::F32(v as f32)
        })
    }

    /// Whether an array element type `id` makes the array a C string.
    fn is_char(&self, id: TypeId) -> Result<bool, FormatError> {
        let mut cur = id;
        for _ in 0..MAX_FORMAT_DEPTH {
            match self.btf.type_by_id(cur)? {
                Type::Volatile(r) | Type::Const(r) | Type::Restrict(r) | Type::TypeTag(r) => {
                    cur = r.ty
                }
                Type::Int(t) => {
                    return Ok(
                        t.size == 1 && (t.encoding & INT_CHAR != 0 || t.name.contains("char"))
                    );
                }
                _ => return Ok(false),
            }
        }
        Err(FormatError::TooDeep {
            root: self.root,
            id,
            max: MAX_FORMAT_DEPTH,
        })
    }

    /// Write `len` bytes at byte `off` (already bounds-checked) as a string up to the first NUL.
    fn char_string(&mut self, off: u64, len: u64) {
        let (off, len) = (off as usize, len as usize);
        let s = &self.bytes[off..off + len];
        let s = match s.iter().position(|&b| b == 0) {
            Some(nul) => &s[..nul],
            None => s,
        };
        self.out.push('"');
        for chunk in s.utf8_chunks() {
            escape_into(self.out, chunk.valid());
            for &b in chunk.invalid() {
                let _ = write!(self.out, "\\u{b:04x}");
            }
        }
        self.out.push('"');
    }

    /// The byte offset of bit position `pos`, which must be on a byte boundary.
    fn aligned(&self, id: TypeId, ty: &Type<'_>, pos: u64) -> Result<u64, FormatError> {
        if pos % 8 != 0 {
            return Err(unsupported(
                id,
                ty,
                format!(
                    "starts at bit {} of byte {}, not on a byte boundary",
                    pos % 8,
                    pos / 8
                ),
            ));
        }
        Ok(pos / 8)
    }

    /// Check that `size` bytes from byte `off` are in the input.
    fn check(&self, id: TypeId, ty: &Type<'_>, off: u64, size: u64) -> Result<(), FormatError> {
        let len = self.bytes.len() as u64;
        let got = len.saturating_sub(off);
        if off > len || got < size {
            return Err(FormatError::ShortBuffer {
                id,
                name: ty.name().to_owned(),
                kind: ty.kind(),
                offset: off,
                expected: size,
                got,
            });
        }
        Ok(())
    }

    /// Little-endian value of `n` (<= 16) bytes at byte `off` (already bounds-checked).
    fn read_le(&self, off: u64, n: u32) -> u128 {
        let off = off as usize;
        self.bytes[off..off + n as usize]
            .iter()
            .rev()
            .fold(0u128, |acc, &b| (acc << 8) | u128::from(b))
    }

    /// `nbits` (1..=128) bits at bit `pos`, little-endian (bit 0 is the LSB of the first byte).
    fn read_bits(
        &self,
        id: TypeId,
        ty: &Type<'_>,
        pos: u64,
        nbits: u32,
    ) -> Result<u128, FormatError> {
        let off = pos / 8;
        let shift = (pos % 8) as u32;
        let nbytes = (shift + nbits).div_ceil(8);
        self.check(id, ty, off, u64::from(nbytes))?;
        if shift == 0 && nbits % 8 == 0 {
            return Ok(self.read_le(off, nbits / 8));
        }
        let mut v = 0u128;
        for k in 0..nbits {
            let bit = u64::from(shift + k);
            let byte = self.bytes[(off + bit / 8) as usize];
            v |= u128::from((byte >> (bit % 8)) & 1) << k;
        }
        Ok(v)
    }
}

/// An int or enum value read from the bytes and checked, before a mode spells it; its
/// `Display` is the spelling both modes share.
enum Scalar<'a> {
    /// A `BOOL`-encoded int: `true`/`false`.
    Bool(bool),
    /// An int, and whether it is wider than 64 bits (JSON quotes those).
    Int(Num, bool),
    /// An enum value that matches this enumerator.
    Enumerator(&'a str),
    /// An enum value that matches no enumerator.
    EnumValue(i128),
}

impl std::fmt::Display for Scalar<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Scalar::Bool(b) => write!(f, "{b}"),
            Scalar::Int(n, _) => write!(f, "{n}"),
            Scalar::Enumerator(name) => f.write_str(name),
            Scalar::EnumValue(v) => write!(f, "{v}"),
        }
    }
}

/// An int's value, per its encoding.
enum Num {
    /// Sign-extended.
    Signed(i128),
    /// Zero-extended.
    Unsigned(u128),
}

impl std::fmt::Display for Num {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Num::Signed(v) => write!(f, "{v}"),
            Num::Unsigned(v) => write!(f, "{v}"),
        }
    }
}

/// A float value; its `Display` is the unquoted spelling (JSON quotes all but numbers).
enum FloatValue {
    /// Not a number: `nan`.
    Nan,
    /// Infinity, positive if true: `inf` / `-inf`.
    Inf(bool),
    /// An 8-byte float: shortest text that reads back.
    F64(f64),
    /// A 2- or 4-byte float: shortest text that reads back as the same f32.
    F32(f32),
    /// Another size (x86 `long double`): `0x...` of the raw bytes.
    Raw(u128),
}

impl std::fmt::Display for FloatValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FloatValue::Nan => f.write_str("nan"),
            FloatValue::Inf(true) => f.write_str("inf"),
            FloatValue::Inf(false) => f.write_str("-inf"),
            FloatValue::F64(v) => write!(f, "{v:?}"),
            FloatValue::F32(v) => write!(f, "{v:?}"),
            FloatValue::Raw(raw) => write!(f, "0x{raw:x}"),
        }
    }
}

fn not_a_value(id: TypeId, ty: &Type<'_>) -> FormatError {
    FormatError::NotAValue {
        id,
        name: ty.name().to_owned(),
        kind: ty.kind(),
    }
}

fn unsupported(id: TypeId, ty: &Type<'_>, reason: String) -> FormatError {
    FormatError::Unsupported {
        id,
        name: ty.name().to_owned(),
        kind: ty.kind(),
        reason,
    }
}

/// Sign-extend the low `nbits` (1..=128) bits of `raw`.
fn sign_extend(raw: u128, nbits: u32) -> i128 {
    let shift = 128 - nbits;
    ((raw << shift) as i128) >> shift
}

/// IEEE 754 half precision → f32 (exact).
fn f16_to_f32(h: u16) -> f32 {
    let sign = if h & 0x8000 != 0 { -1.0f32 } else { 1.0 };
    let exp = i32::from((h >> 10) & 0x1f);
    let mant = f32::from(h & 0x3ff);
    match exp {
        0 => sign * mant * (2.0f32).powi(-24),
        0x1f if mant == 0.0 => sign * f32::INFINITY,
        0x1f => f32::NAN,
        _ => sign * (1.0 + mant / 1024.0) * (2.0f32).powi(exp - 15),
    }
}

/// Write `s` as a JSON string literal.
fn write_str(out: &mut String, s: &str) {
    out.push('"');
    escape_into(out, s);
    out.push('"');
}

/// Escape `s` for the inside of a JSON string: quote, backslash, and control characters
/// (C0, DEL and C1) as `\u00XX`.
fn escape_into(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}' => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            _ => out.push(c),
        }
    }
}

mod text;
pub use text::{to_text, write_text};

#[cfg(test)]
mod tests;

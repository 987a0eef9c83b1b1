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

use crate::{Btf, Composite, Enum, Error, INT_BOOL, INT_CHAR, INT_SIGNED, Int, Kind, Type, TypeId};

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
    let start = out.len();
    let mut f = Formatter {
        btf,
        out,
        bytes,
        root: ty,
        steps: 0,
        budget: MIN_FORMAT_BUDGET.max((bytes.len() as u64).saturating_mul(16)),
    };
    let r = f.root_check().and_then(|()| f.value(ty, 0, 0));
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

impl Formatter<'_, '_, '_> {
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
            Type::Int(t) => self.int(id, &ty, &t, pos, 0),
            Type::Enum(e) | Type::Enum64(e) => self.enumeration(id, &ty, &e, pos, 0),
            Type::Ptr(_) => {
                let off = self.aligned(id, &ty, pos)?;
                self.check(id, &ty, off, 8)?;
                let v = self.read_le(off, 8);
                let _ = write!(self.out, "\"0x{v:x}\"");
                Ok(())
            }
            Type::Float(fl) => {
                let off = self.aligned(id, &ty, pos)?;
                self.float(id, &ty, off, fl.size)
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
                self.fields(&c, off * 8, depth, &mut true)?;
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
                    let var = match self.btf.type_by_id(vsi.ty)? {
                        Type::Var(v) => v,
                        Type::Func(_) => continue,
                        other => {
                            return Err(unsupported(
                                id,
                                &ty,
                                format!(
                                    "secinfo names type {} of kind {:?}, not a VAR",
                                    vsi.ty,
                                    other.kind()
                                ),
                            ));
                        }
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
                Err(FormatError::NotAValue {
                    id,
                    name: ty.name().to_owned(),
                    kind: ty.kind(),
                })
            }
        }
    }

    /// Write the members of `c` (at bit position `base`) as `"name":value` pairs,
    /// flattening anonymous struct/union members.
    fn fields(
        &mut self,
        c: &Composite<'_>,
        base: u64,
        depth: u32,
        first: &mut bool,
    ) -> Result<(), FormatError> {
        for m in c.members() {
            let m = m?;
            let pos = base + u64::from(m.bit_offset);
            if m.name.is_empty() {
                let inner_id = self.btf.skip_mods_and_typedefs(m.ty)?;
                let inner_ty = self.btf.type_by_id(inner_id)?;
                if let Type::Struct(inner) | Type::Union(inner) = inner_ty {
                    self.enter(inner_id, depth + 1)?;
                    let off = self.aligned(inner_id, &inner_ty, pos)?;
                    self.check(inner_id, &inner_ty, off, u64::from(inner.size))?;
                    self.fields(&inner, pos, depth + 1, first)?;
                }
                // Other anonymous members are unnamed bitfields: padding, not data.
                continue;
            }
            if !*first {
                self.out.push(',');
            }
            *first = false;
            write_str(self.out, m.name);
            self.out.push(':');
            if m.bitfield_size == 0 {
                self.value(m.ty, pos, depth + 1)?;
            } else {
                self.enter(m.ty, depth + 1)?;
                let id = self.btf.skip_mods_and_typedefs(m.ty)?;
                let ty = self.btf.type_by_id(id)?;
                match ty {
                    Type::Int(t) => self.int(id, &ty, &t, pos, m.bitfield_size)?,
                    Type::Enum(e) | Type::Enum64(e) => {
                        self.enumeration(id, &ty, &e, pos, m.bitfield_size)?
                    }
                    _ => {
                        return Err(unsupported(
                            id,
                            &ty,
                            format!("member {:?} is a bitfield of a non-integer type", m.name),
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    /// Read an int (or an int bitfield of `bitfield` bits, if non-zero) at bit `pos`.
    fn int(
        &mut self,
        id: TypeId,
        ty: &Type<'_>,
        t: &Int<'_>,
        pos: u64,
        bitfield: u8,
    ) -> Result<(), FormatError> {
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
        let signed = t.encoding & INT_SIGNED != 0;
        let value = if signed {
            sign_extend(raw, nbits)
        } else {
            raw as i128
        };
        if t.encoding & INT_BOOL != 0 {
            self.out.push_str(if raw != 0 { "true" } else { "false" });
        } else if t.size > 8 || nbits > 64 {
            if signed {
                let _ = write!(self.out, "\"{value}\"");
            } else {
                let _ = write!(self.out, "\"{raw}\"");
            }
        } else if signed {
            let _ = write!(self.out, "{value}");
        } else {
            let _ = write!(self.out, "{raw}");
        }
        Ok(())
    }

    /// Read an enum (or an enum bitfield of `bitfield` bits) at bit `pos`.
    fn enumeration(
        &mut self,
        id: TypeId,
        ty: &Type<'_>,
        e: &Enum<'_>,
        pos: u64,
        bitfield: u8,
    ) -> Result<(), FormatError> {
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
                write_str(self.out, name);
                return Ok(());
            }
        }
        let _ = write!(self.out, "{value}");
        Ok(())
    }

    fn float(&mut self, id: TypeId, ty: &Type<'_>, off: u64, size: u32) -> Result<(), FormatError> {
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
            _ => {
                let _ = write!(self.out, "\"0x{raw:x}\"");
                return Ok(());
            }
        };
        if v.is_nan() {
            self.out.push_str("\"nan\"");
        } else if v.is_infinite() {
            self.out
                .push_str(if v > 0.0 { "\"inf\"" } else { "\"-inf\"" });
        } else if size == 8 {
            let _ = write!(self.out, "{v:?}");
        } else {
            // Shortest text that reads back as the same f32 (f16 values are exact in f32).
            let _ = write!(self.out, "{:?}", v as f32);
        }
        Ok(())
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

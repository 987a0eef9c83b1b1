//! The value formatter's C-like text mode: `{ .pid = 1, .comm = "bash", .arr = { 1, 2 }, }`.
//!
//! The values and the checks are those of the JSON mode (same bounds checks, depth and
//! step limits, bitfield extraction, little-endian reads); only the spelling differs:
//!
//! - structs and unions: `{ .name = value, ... }` with a comma after every member, `{}`
//!   when empty; anonymous struct/union members are flattened into the parent, unnamed
//!   bitfields (padding) are skipped;
//! - arrays: `{ 1, 2, 3 }` (`{}` when empty); char arrays (see the JSON mode for which):
//!   a C string literal up to the first NUL, `"` `\` and non-printable bytes escaped
//!   (`\n`, `\t`, `\r`, else three-digit octal such as `\001`);
//! - ints in decimal of any width (no quoting), `_Bool` as `true`/`false`;
//! - enums by enumerator name, else the number; pointers as `0x...`;
//! - floats as the shortest text that reads back (`nan`, `inf`, `-inf`); other float
//!   sizes as `0x...` of the raw bytes;
//! - a DATASEC as `{ .var = value, ... }`, a lone VAR as `name = value`.
//!
//! ```
//! use oxbpf_btf::{Btf, BtfBuilder, INT_SIGNED, to_text};
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
//! assert_eq!(to_text(&btf, ev, &record)?, r#"{ .pid = 42, .comm = "bash", }"#);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt::Write as _;

use super::{FormatError, Formatter, MIN_FORMAT_BUDGET, f16_to_f32, sign_extend, unsupported};
use crate::{Btf, Composite, Enum, INT_BOOL, INT_SIGNED, Int, Type, TypeId};

/// Format `bytes` as a value of type `ty` into a new C-like text string.
pub fn to_text(btf: &Btf<'_>, ty: TypeId, bytes: &[u8]) -> Result<String, FormatError> {
    let mut out = String::new();
    write_text(&mut out, btf, ty, bytes)?;
    Ok(out)
}

/// Append `bytes` formatted as a value of type `ty` to `out` as C-like text; on error
/// `out` is left as it was.
pub fn write_text(
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
    let r = f.root_check().and_then(|()| Text(&mut f).value(ty, 0, 0));
    if r.is_err() {
        out.truncate(start);
    }
    r
}

/// The text writer, borrowing the JSON formatter's reading and checking helpers.
struct Text<'f, 'o, 'b, 'a>(&'f mut Formatter<'o, 'b, 'a>);

impl Text<'_, '_, '_, '_> {
    fn value(&mut self, id: TypeId, pos: u64, depth: u32) -> Result<(), FormatError> {
        self.0.enter(id, depth)?;
        let ty = self.0.btf.type_by_id(id)?;
        match ty {
            Type::Typedef(r)
            | Type::Volatile(r)
            | Type::Const(r)
            | Type::Restrict(r)
            | Type::TypeTag(r) => self.value(r.ty, pos, depth + 1),
            Type::Int(t) => self.int(id, &ty, &t, pos, 0),
            Type::Enum(e) | Type::Enum64(e) => self.enumeration(id, &ty, &e, pos, 0),
            Type::Ptr(_) => {
                let off = self.0.aligned(id, &ty, pos)?;
                self.0.check(id, &ty, off, 8)?;
                let v = self.0.read_le(off, 8);
                let _ = write!(self.0.out, "0x{v:x}");
                Ok(())
            }
            Type::Float(fl) => {
                let off = self.0.aligned(id, &ty, pos)?;
                self.float(id, &ty, off, fl.size)
            }
            Type::Array(a) => {
                let off = self.0.aligned(id, &ty, pos)?;
                let elem_size = u64::from(self.0.btf.resolve_size(a.elem)?);
                self.0
                    .check(id, &ty, off, elem_size * u64::from(a.nelems))?;
                if self.0.is_char(a.elem)? {
                    self.char_string(off, u64::from(a.nelems));
                    return Ok(());
                }
                if elem_size == 0 || a.nelems == 0 {
                    self.0.out.push_str("{}");
                    return Ok(());
                }
                self.0.out.push_str("{ ");
                for i in 0..u64::from(a.nelems) {
                    if i > 0 {
                        self.0.out.push_str(", ");
                    }
                    self.value(a.elem, (off + i * elem_size) * 8, depth + 1)?;
                }
                self.0.out.push_str(" }");
                Ok(())
            }
            Type::Struct(c) | Type::Union(c) => {
                let off = self.0.aligned(id, &ty, pos)?;
                self.0.check(id, &ty, off, u64::from(c.size))?;
                let mark = self.0.out.len();
                self.0.out.push_str("{ ");
                let mut any = false;
                self.fields(&c, off * 8, depth, &mut any)?;
                if any {
                    self.0.out.push('}');
                } else {
                    self.0.out.truncate(mark);
                    self.0.out.push_str("{}");
                }
                Ok(())
            }
            Type::Datasec(d) => {
                let off = self.0.aligned(id, &ty, pos)?;
                self.0.check(id, &ty, off, u64::from(d.size))?;
                let mark = self.0.out.len();
                self.0.out.push_str("{ ");
                let mut any = false;
                for vsi in d.vars() {
                    let vsi = vsi?;
                    let var = match self.0.btf.type_by_id(vsi.ty)? {
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
                    any = true;
                    let _ = write!(self.0.out, ".{} = ", var.name);
                    self.value(var.ty, (off + u64::from(vsi.offset)) * 8, depth + 1)?;
                    self.0.out.push_str(", ");
                }
                if any {
                    self.0.out.push('}');
                } else {
                    self.0.out.truncate(mark);
                    self.0.out.push_str("{}");
                }
                Ok(())
            }
            Type::Var(v) => {
                let _ = write!(self.0.out, "{} = ", v.name);
                self.value(v.ty, pos, depth + 1)
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

    /// Write `.name = value, ` for each member, flattening anonymous struct/union members.
    fn fields(
        &mut self,
        c: &Composite<'_>,
        base: u64,
        depth: u32,
        any: &mut bool,
    ) -> Result<(), FormatError> {
        for m in c.members() {
            let m = m?;
            let pos = base + u64::from(m.bit_offset);
            if m.name.is_empty() {
                let inner_id = self.0.btf.skip_mods_and_typedefs(m.ty)?;
                let inner_ty = self.0.btf.type_by_id(inner_id)?;
                if let Type::Struct(inner) | Type::Union(inner) = inner_ty {
                    self.0.enter(inner_id, depth + 1)?;
                    let off = self.0.aligned(inner_id, &inner_ty, pos)?;
                    self.0
                        .check(inner_id, &inner_ty, off, u64::from(inner.size))?;
                    self.fields(&inner, pos, depth + 1, any)?;
                }
                continue;
            }
            *any = true;
            let _ = write!(self.0.out, ".{} = ", m.name);
            if m.bitfield_size == 0 {
                self.value(m.ty, pos, depth + 1)?;
            } else {
                self.0.enter(m.ty, depth + 1)?;
                let id = self.0.btf.skip_mods_and_typedefs(m.ty)?;
                let ty = self.0.btf.type_by_id(id)?;
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
            self.0.out.push_str(", ");
        }
        Ok(())
    }

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
        let raw = self.0.read_bits(id, ty, start, nbits)?;
        if t.encoding & INT_BOOL != 0 {
            self.0.out.push_str(if raw != 0 { "true" } else { "false" });
        } else if t.encoding & INT_SIGNED != 0 {
            let _ = write!(self.0.out, "{}", sign_extend(raw, nbits));
        } else {
            let _ = write!(self.0.out, "{raw}");
        }
        Ok(())
    }

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
        let raw = self.0.read_bits(id, ty, pos, nbits)?;
        let value = if e.signed {
            sign_extend(raw, nbits)
        } else {
            raw as i128
        };
        let mask = (1u128 << nbits) - 1;
        for v in e.values() {
            let (name, v) = v?;
            if v == value || (v as u128) & mask == raw {
                self.0.out.push_str(name);
                return Ok(());
            }
        }
        let _ = write!(self.0.out, "{value}");
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
        self.0.check(id, ty, off, u64::from(size))?;
        let raw = self.0.read_le(off, size);
        let v = match size {
            2 => f64::from(f16_to_f32(raw as u16)),
            4 => f64::from(f32::from_bits(raw as u32)),
            8 => f64::from_bits(raw as u64),
            _ => {
                let _ = write!(self.0.out, "0x{raw:x}");
                return Ok(());
            }
        };
        if v.is_nan() {
            self.0.out.push_str("nan");
        } else if v.is_infinite() {
            self.0.out.push_str(if v > 0.0 { "inf" } else { "-inf" });
        } else if size == 8 {
            let _ = write!(self.0.out, "{v:?}");
        } else {
            let _ = write!(self.0.out, "{:?}", v as f32);
        }
        Ok(())
    }

    /// `len` bytes at byte `off` (bounds-checked) as a C string literal up to the first NUL.
    fn char_string(&mut self, off: u64, len: u64) {
        let (off, len) = (off as usize, len as usize);
        let s = &self.0.bytes[off..off + len];
        let s = match s.iter().position(|&b| b == 0) {
            Some(nul) => &s[..nul],
            None => s,
        };
        let out = &mut *self.0.out;
        out.push('"');
        for &b in s {
            match b {
                b'"' => out.push_str("\\\""),
                b'\\' => out.push_str("\\\\"),
                b'\n' => out.push_str("\\n"),
                b'\t' => out.push_str("\\t"),
                b'\r' => out.push_str("\\r"),
                0x20..=0x7e => out.push(char::from(b)),
                _ => {
                    let _ = write!(out, "\\{b:03o}");
                }
            }
        }
        out.push('"');
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{BtfBuilder, INT_CHAR};

    fn text(b: &BtfBuilder, ty: TypeId, bytes: &[u8]) -> Result<String, FormatError> {
        let blob = b.build();
        let btf = Btf::parse(&blob).expect("builder output parses");
        to_text(&btf, ty, bytes)
    }

    fn ok(b: &BtfBuilder, ty: TypeId, bytes: &[u8]) -> String {
        text(b, ty, bytes).unwrap_or_else(|e| panic!("formatting type {ty}: {e}"))
    }

    #[test]
    fn formats_nested_struct_with_strings_arrays_and_enums() {
        let mut b = BtfBuilder::new();
        let uint = b.add_int("unsigned int", 4, 0);
        let ch = b.add_int("char", 1, INT_SIGNED);
        let comm = b.add_array(ch, uint, 8);
        let arr = b.add_array(uint, uint, 2);
        let state = b.add_enum("state", 4, false, &[("RUNNING", 0), ("SLEEPING", 1)]);
        let inner = b.add_struct("inner", 4, &[("v", uint, 0)]);
        let ev = b.add_struct(
            "event",
            28,
            &[
                ("pid", uint, 0),
                ("comm", comm, 32),
                ("arr", arr, 96),
                ("st", state, 160),
                ("in", inner, 192),
            ],
        );
        let mut bytes = 1u32.to_le_bytes().to_vec();
        bytes.extend_from_slice(b"bash\0\0\0\0");
        bytes.extend_from_slice(&1u32.to_le_bytes());
        bytes.extend_from_slice(&2u32.to_le_bytes());
        bytes.extend_from_slice(&1u32.to_le_bytes());
        bytes.extend_from_slice(&7u32.to_le_bytes());
        assert_eq!(
            ok(&b, ev, &bytes),
            r#"{ .pid = 1, .comm = "bash", .arr = { 1, 2 }, .st = SLEEPING, .in = { .v = 7, }, }"#
        );
    }

    #[test]
    fn formats_bitfields_signed_and_unsigned() {
        let mut b = BtfBuilder::new();
        let uint = b.add_int("unsigned int", 4, 0);
        let int = b.add_int("int", 4, INT_SIGNED);
        let s = b.add_composite_bitfields(
            false,
            "bits",
            4,
            &[("a", uint, 0, 3), ("", uint, 3, 2), ("b", int, 5, 4)],
        );
        // a = 5 (bits 0..3), padding, b = -3 (0b1101 at bits 5..9)
        let v: u32 = 5 | (0b1101 << 5);
        assert_eq!(ok(&b, s, &v.to_le_bytes()), "{ .a = 5, .b = -3, }");
    }

    #[test]
    fn formats_pointers_bools_and_wide_ints() {
        let mut b = BtfBuilder::new();
        let void_ptr = b.add_ptr(0);
        let boolean = b.add_int("_Bool", 1, INT_BOOL);
        let u128_ = b.add_int("unsigned __int128", 16, 0);
        let s = b.add_struct(
            "misc",
            32,
            &[("p", void_ptr, 0), ("ok", boolean, 64), ("big", u128_, 128)],
        );
        let mut bytes = 0xffff_8880_dead_beefu64.to_le_bytes().to_vec();
        bytes.push(1);
        bytes.resize(16, 0);
        bytes.extend_from_slice(&u128::MAX.to_le_bytes());
        assert_eq!(
            ok(&b, s, &bytes),
            "{ .p = 0xffff8880deadbeef, .ok = true, .big = 340282366920938463463374607431768211455, }"
        );
    }

    #[test]
    fn flattens_anonymous_members_and_escapes_strings() {
        let mut b = BtfBuilder::new();
        let u8_ = b.add_int("unsigned char", 1, INT_CHAR);
        let idx = b.add_int("int", 4, INT_SIGNED);
        let name = b.add_array(u8_, idx, 6);
        let anon = b.add_union("", 1, &[("x", u8_, 0)]);
        let s = b.add_struct("s", 7, &[("name", name, 0), ("", anon, 48)]);
        let bytes = [b'a', b'"', b'\\', b'\n', 1, 0, 65];
        assert_eq!(ok(&b, s, &bytes), r#"{ .name = "a\"\\\n\001", .x = 65, }"#);
    }

    #[test]
    fn formats_empty_things_and_floats() {
        let mut b = BtfBuilder::new();
        let int = b.add_int("int", 4, INT_SIGNED);
        let empty = b.add_struct("empty", 0, &[]);
        let none = b.add_array(int, int, 0);
        let dbl = b.add_float("double", 8);
        let flt = b.add_float("float", 4);
        let s = b.add_struct(
            "f",
            16,
            &[
                ("e", empty, 0),
                ("n", none, 0),
                ("d", dbl, 0),
                ("f", flt, 64),
            ],
        );
        let mut bytes = 1.5f64.to_le_bytes().to_vec();
        bytes.extend_from_slice(&f32::NAN.to_le_bytes());
        bytes.resize(16, 0);
        assert_eq!(
            ok(&b, s, &bytes),
            "{ .e = {}, .n = {}, .d = 1.5, .f = nan, }"
        );
    }

    #[test]
    fn formats_datasec_and_var() {
        let mut b = BtfBuilder::new();
        let int = b.add_int("int", 4, INT_SIGNED);
        let v1 = b.add_var("a", int, 1);
        let v2 = b.add_var("b", int, 1);
        let sec = b.add_datasec(".data", 8, &[(v1, 0, 4), (v2, 4, 4)]);
        let mut bytes = 3i32.to_le_bytes().to_vec();
        bytes.extend_from_slice(&(-4i32).to_le_bytes());
        assert_eq!(ok(&b, sec, &bytes), "{ .a = 3, .b = -4, }");
        assert_eq!(ok(&b, v2, &bytes[4..]), "b = -4");
    }

    #[test]
    fn unknown_enum_value_prints_the_number() {
        let mut b = BtfBuilder::new();
        let e = b.add_enum("e", 4, true, &[("A", 1)]);
        assert_eq!(ok(&b, e, &(-7i32).to_le_bytes()), "-7");
    }

    #[test]
    fn short_buffer_is_an_error_and_leaves_output_alone() {
        let mut b = BtfBuilder::new();
        let int = b.add_int("int", 4, INT_SIGNED);
        let s = b.add_struct("pair", 8, &[("a", int, 0), ("b", int, 32)]);
        let blob = b.build();
        let btf = Btf::parse(&blob).expect("parse");
        let mut out = String::from("keep");
        let err = write_text(&mut out, &btf, s, &[0; 6]).unwrap_err();
        assert!(matches!(err, FormatError::ShortBuffer { .. }), "{err}");
        assert!(err.to_string().contains("pair"), "{err}");
        assert_eq!(out, "keep");
    }

    #[test]
    fn not_a_value_is_an_error() {
        let mut b = BtfBuilder::new();
        let int = b.add_int("int", 4, INT_SIGNED);
        let proto = b.add_func_proto(int, &[]);
        assert!(matches!(
            text(&b, proto, &[0; 8]),
            Err(FormatError::NotAValue { .. })
        ));
    }

    proptest::proptest! {
        #[test]
        fn never_panics_on_arbitrary_layouts_and_bytes(
            members in proptest::collection::vec((0u32..320, 0u8..48, 0usize..6), 0..6),
            size in 0u32..48,
            bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..48),
        ) {
            let mut b = BtfBuilder::new();
            let int = b.add_int("int", 4, INT_SIGNED);
            let ch = b.add_int("char", 1, INT_SIGNED);
            let arr = b.add_array(ch, int, 5);
            let ptr = b.add_ptr(int);
            let e = b.add_enum("e", 4, false, &[("A", 1)]);
            let dbl = b.add_float("double", 8);
            let tys = [int, ch, arr, ptr, e, dbl];
            let m: Vec<_> = members.iter().map(|&(off, bf, t)| ("m", tys[t], off, bf)).collect();
            let s = b.add_composite_bitfields(false, "s", size, &m);
            let blob = b.build();
            let btf = Btf::parse(&blob).expect("parse");
            let _ = to_text(&btf, s, &bytes);
        }
    }
}

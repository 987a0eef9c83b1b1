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

use super::{FormatError, Formatter, format_into, not_a_value};
use crate::{Btf, Composite, Type, TypeId};

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
    format_into(out, btf, ty, bytes, |f| Text(f).value(ty, 0, 0))
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
            Type::Int(t) => {
                let v = self.0.int(id, &ty, &t, pos, 0)?;
                let _ = write!(self.0.out, "{v}");
                Ok(())
            }
            Type::Enum(e) | Type::Enum64(e) => {
                let v = self.0.enumeration(id, &ty, &e, pos, 0)?;
                let _ = write!(self.0.out, "{v}");
                Ok(())
            }
            Type::Ptr(_) => {
                let v = self.0.pointer(id, &ty, pos)?;
                let _ = write!(self.0.out, "0x{v:x}");
                Ok(())
            }
            Type::Float(fl) => {
                let off = self.0.aligned(id, &ty, pos)?;
                let v = self.0.float(id, &ty, off, fl.size)?;
                let _ = write!(self.0.out, "{v}");
                Ok(())
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
                if self.fields(&c, off * 8, depth)? {
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
                    let Some(var) = self.0.secinfo_var(id, &ty, &vsi)? else {
                        continue;
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
                Err(not_a_value(id, &ty))
            }
        }
    }

    /// Write `.name = value, ` for each member, flattening anonymous struct/union members;
    /// whether there was any.
    fn fields(&mut self, c: &Composite<'_>, base: u64, depth: u32) -> Result<bool, FormatError> {
        let mut any = false;
        self.0
            .each_member(c, base, depth, &mut |f, m, pos, depth| {
                any = true;
                let _ = write!(f.out, ".{} = ", m.name);
                if m.bitfield_size == 0 {
                    Text(f).value(m.ty, pos, depth + 1)?;
                } else {
                    let v = f.bitfield(m, pos, depth)?;
                    let _ = write!(f.out, "{v}");
                }
                f.out.push_str(", ");
                Ok(())
            })?;
        Ok(any)
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
    use crate::{BtfBuilder, INT_BOOL, INT_CHAR, INT_SIGNED};

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

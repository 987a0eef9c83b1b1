use proptest::prelude::*;

use super::*;
use crate::{BtfBuilder, INT_BOOL, INT_CHAR, INT_SIGNED};

/// Build `b`, parse it and format `bytes` as type `ty`.
fn fmt(b: &BtfBuilder, ty: TypeId, bytes: &[u8]) -> Result<String, FormatError> {
    let blob = b.build();
    let btf = Btf::parse(&blob).expect("builder output parses");
    to_json(&btf, ty, bytes)
}

fn ok(b: &BtfBuilder, ty: TypeId, bytes: &[u8]) -> String {
    match fmt(b, ty, bytes) {
        Ok(s) => {
            serde_json::from_str::<serde_json::Value>(&s)
                .unwrap_or_else(|e| panic!("invalid JSON {s:?}: {e}"));
            s
        }
        Err(e) => panic!("formatting type {ty} failed: {e}"),
    }
}

fn padded(s: &[u8], len: usize) -> Vec<u8> {
    let mut v = s.to_vec();
    v.resize(len, 0);
    v
}

/// `struct exec_event { __u32 pid; __u32 tgid; __u32 uid; char comm[16]; char filename[128]; }`
fn exec_event(b: &mut BtfBuilder) -> TypeId {
    let uint = b.add_int("unsigned int", 4, 0);
    let u32_ = b.add_typedef("__u32", uint);
    let ch = b.add_int("char", 1, INT_SIGNED);
    let idx = b.add_int("__ARRAY_SIZE_TYPE__", 4, 0);
    let comm = b.add_array(ch, idx, 16);
    let filename = b.add_array(ch, idx, 128);
    b.add_struct(
        "exec_event",
        156,
        &[
            ("pid", u32_, 0),
            ("tgid", u32_, 32),
            ("uid", u32_, 64),
            ("comm", comm, 96),
            ("filename", filename, 224),
        ],
    )
}

fn exec_event_bytes() -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&1234u32.to_le_bytes());
    v.extend_from_slice(&1235u32.to_le_bytes());
    v.extend_from_slice(&1000u32.to_le_bytes());
    v.extend_from_slice(&padded(b"bash", 16));
    v.extend_from_slice(&padded(b"/usr/bin/ls", 128));
    v
}

#[test]
fn formats_exec_event_exactly() {
    let mut b = BtfBuilder::new();
    let ev = exec_event(&mut b);
    assert_eq!(
        ok(&b, ev, &exec_event_bytes()),
        r#"{"pid":1234,"tgid":1235,"uid":1000,"comm":"bash","filename":"/usr/bin/ls"}"#
    );
}

#[test]
fn ignores_bytes_past_the_type() {
    let mut b = BtfBuilder::new();
    let ev = exec_event(&mut b);
    let mut bytes = exec_event_bytes();
    bytes.extend_from_slice(&[0xff; 4]);
    assert_eq!(
        ok(&b, ev, &bytes),
        r#"{"pid":1234,"tgid":1235,"uid":1000,"comm":"bash","filename":"/usr/bin/ls"}"#
    );
}

#[test]
fn rejects_short_buffer_naming_the_type() {
    let mut b = BtfBuilder::new();
    let ev = exec_event(&mut b);
    let err = fmt(&b, ev, &exec_event_bytes()[..100]).unwrap_err();
    match &err {
        FormatError::ShortBuffer {
            id,
            name,
            kind,
            offset,
            expected,
            got,
        } => {
            assert_eq!(
                (*id, name.as_str(), *kind, *offset, *expected, *got),
                (ev, "exec_event", Kind::Struct, 0, 156, 100)
            );
        }
        other => panic!("unexpected error {other:?}"),
    }
    assert_eq!(
        err.to_string(),
        format!(
            "BTF type {ev} \"exec_event\" (Struct) at byte offset 0 of the value: needs 156 bytes, got 100"
        )
    );
}

#[test]
fn rejects_short_buffer_for_an_int() {
    let mut b = BtfBuilder::new();
    let int = b.add_int("long", 8, INT_SIGNED);
    let err = fmt(&b, int, &[1, 2, 3]).unwrap_err();
    assert!(
        matches!(&err, FormatError::ShortBuffer { id, name, expected: 8, got: 3, .. } if *id == int && name == "long"),
        "{err:?}"
    );
}

#[test]
fn formats_ints_per_size_and_signedness() {
    let mut b = BtfBuilder::new();
    let cases: Vec<(TypeId, Vec<u8>, &str)> = vec![
        (b.add_int("s8", 1, INT_SIGNED), vec![0xff], "-1"),
        (b.add_int("u8", 1, 0), vec![0xff], "255"),
        (b.add_int("s16", 2, INT_SIGNED), vec![0x00, 0x80], "-32768"),
        (b.add_int("u16", 2, 0), vec![0x34, 0x12], "4660"),
        (
            b.add_int("s32", 4, INT_SIGNED),
            (-7i32).to_le_bytes().to_vec(),
            "-7",
        ),
        (
            b.add_int("u32", 4, 0),
            u32::MAX.to_le_bytes().to_vec(),
            "4294967295",
        ),
        (
            b.add_int("s64", 8, INT_SIGNED),
            i64::MIN.to_le_bytes().to_vec(),
            "-9223372036854775808",
        ),
        (
            b.add_int("u64", 8, 0),
            u64::MAX.to_le_bytes().to_vec(),
            "18446744073709551615",
        ),
        (
            b.add_int("__int128", 16, INT_SIGNED),
            (-5i128).to_le_bytes().to_vec(),
            "\"-5\"",
        ),
        (
            b.add_int("unsigned __int128", 16, 0),
            u128::MAX.to_le_bytes().to_vec(),
            "\"340282366920938463463374607431768211455\"",
        ),
    ];
    for (ty, bytes, want) in cases {
        assert_eq!(ok(&b, ty, &bytes), want, "type {ty}");
    }
}

#[test]
fn formats_bool_encoding_as_true_false() {
    let mut b = BtfBuilder::new();
    let bool_ = b.add_int("_Bool", 1, INT_BOOL);
    assert_eq!(ok(&b, bool_, &[0]), "false");
    assert_eq!(ok(&b, bool_, &[1]), "true");
    assert_eq!(ok(&b, bool_, &[2]), "true");
}

#[test]
fn formats_lone_char_as_number() {
    let mut b = BtfBuilder::new();
    let ch = b.add_int("char", 1, INT_SIGNED);
    assert_eq!(ok(&b, ch, b"A"), "65");
    assert_eq!(ok(&b, ch, &[0x80]), "-128");
}

#[test]
fn char_array_escapes_quotes_controls_and_invalid_utf8() {
    let mut b = BtfBuilder::new();
    let ch = b.add_int("char", 1, INT_SIGNED);
    let arr = b.add_array(ch, ch, 12);
    let bytes = [
        b'a', b'"', b'\\', b'\n', 0x7f, 0xff, 0xc3, 0xa9, b'z', 0, b'q', b'q',
    ];
    assert_eq!(
        ok(&b, arr, &bytes),
        concat!(r#""a\"\\\u000a\u007f\u00ff"#, "éz\"")
    );
}

#[test]
fn char_array_without_nul_uses_all_bytes() {
    let mut b = BtfBuilder::new();
    let ch = b.add_int("char", 1, INT_SIGNED);
    let arr = b.add_array(ch, ch, 4);
    assert_eq!(ok(&b, arr, b"abcd"), "\"abcd\"");
    assert_eq!(ok(&b, arr, &[0, b'x', 0, 0]), "\"\"");
}

#[test]
fn char_detection_by_encoding_name_and_modifiers_but_not_typedef() {
    let mut b = BtfBuilder::new();
    let uchar = b.add_int("unsigned char", 1, 0);
    let coded = b.add_int("x8", 1, INT_CHAR);
    let cuchar = b.add_const(uchar);
    let u8_ = b.add_typedef("__u8", uchar);
    let wide = b.add_int("wchar", 2, 0);
    let a_uchar = b.add_array(uchar, uchar, 2);
    let a_coded = b.add_array(coded, uchar, 2);
    let a_const = b.add_array(cuchar, uchar, 2);
    let a_u8 = b.add_array(u8_, uchar, 2);
    let a_wide = b.add_array(wide, uchar, 2);
    assert_eq!(ok(&b, a_uchar, b"hi"), "\"hi\"");
    assert_eq!(ok(&b, a_coded, b"hi"), "\"hi\"");
    assert_eq!(ok(&b, a_const, b"hi"), "\"hi\"");
    assert_eq!(ok(&b, a_u8, b"hi"), "[104,105]");
    assert_eq!(ok(&b, a_wide, &[1, 0, 2, 0]), "[1,2]");
}

#[test]
fn formats_arrays_nested_and_empty() {
    let mut b = BtfBuilder::new();
    let int = b.add_int("int", 4, INT_SIGNED);
    let row = b.add_array(int, int, 2);
    let grid = b.add_array(row, int, 2);
    let empty = b.add_array(int, int, 0);
    let nothing = b.add_struct("nothing", 0, &[]);
    let many_nothings = b.add_array(nothing, int, u32::MAX);
    let bytes: Vec<u8> = [1i32, -2, 3, -4]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    assert_eq!(ok(&b, grid, &bytes), "[[1,-2],[3,-4]]");
    assert_eq!(ok(&b, empty, &[]), "[]");
    assert_eq!(ok(&b, many_nothings, &[]), "[]");
    assert_eq!(ok(&b, nothing, &[]), "{}");
}

#[test]
fn formats_nested_struct_and_union() {
    let mut b = BtfBuilder::new();
    let u16_ = b.add_int("u16", 2, 0);
    let u32_ = b.add_int("u32", 4, 0);
    let inner = b.add_struct("inner", 4, &[("lo", u16_, 0), ("hi", u16_, 16)]);
    let un = b.add_union("both", 4, &[("word", u32_, 0), ("halves", inner, 0)]);
    let outer = b.add_struct("outer", 8, &[("tag", u32_, 0), ("v", un, 32)]);
    let mut bytes = 7u32.to_le_bytes().to_vec();
    bytes.extend_from_slice(&0x0002_0001u32.to_le_bytes());
    assert_eq!(
        ok(&b, outer, &bytes),
        r#"{"tag":7,"v":{"word":131073,"halves":{"lo":1,"hi":2}}}"#
    );
}

#[test]
fn flattens_nested_anonymous_union_and_struct() {
    // struct sk { int family; union { int ip4; struct { short port; short pad; }; }; int :8; int last; };
    let mut b = BtfBuilder::new();
    let int = b.add_int("int", 4, INT_SIGNED);
    let short = b.add_int("short", 2, INT_SIGNED);
    let anon_s = b.add_struct("", 4, &[("port", short, 0), ("pad", short, 16)]);
    let anon_u = b.add_union("", 4, &[("ip4", int, 0), ("", anon_s, 0)]);
    let sk = b.add_composite_bitfields(
        false,
        "sk",
        16,
        &[
            ("family", int, 0, 0),
            ("", anon_u, 32, 0),
            ("", int, 64, 8),
            ("last", int, 96, 0),
        ],
    );
    let bytes: Vec<u8> = [2i32, 0x0000_1f90, -1, 9]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    assert_eq!(
        ok(&b, sk, &bytes),
        r#"{"family":2,"ip4":8080,"port":8080,"pad":0,"last":9}"#
    );
}

#[test]
fn extracts_bitfields_little_endian_with_sign_extension() {
    // struct bf { unsigned a:3; int b:5; unsigned c:12; int d:12; _Bool e:1; };
    let mut b = BtfBuilder::new();
    let uint = b.add_int("unsigned int", 4, 0);
    let int = b.add_int("int", 4, INT_SIGNED);
    let bool_ = b.add_int("_Bool", 1, INT_BOOL);
    let bf = b.add_composite_bitfields(
        false,
        "bf",
        8,
        &[
            ("a", uint, 0, 3),
            ("b", int, 3, 5),
            ("c", uint, 8, 12),
            ("d", int, 20, 12),
            ("e", bool_, 32, 1),
        ],
    );
    let (a, bv, c, d, e) = (5u64, -3i64, 0xabcu64, -2048i64, 1u64);
    let word = a | ((bv as u64 & 0x1f) << 3) | (c << 8) | ((d as u64 & 0xfff) << 20) | (e << 32);
    assert_eq!(
        ok(&b, bf, &word.to_le_bytes()),
        r#"{"a":5,"b":-3,"c":2748,"d":-2048,"e":true}"#
    );
}

#[test]
fn extracts_int_encoded_bitfields_without_kind_flag() {
    // Old-style bitfields: the member type is an INT whose `bits` is the field width.
    let mut b = BtfBuilder::new();
    let u3 = b.add_int_bits("unsigned int", 4, 0, 0, 3);
    let s6 = b.add_int_bits("int", 4, INT_SIGNED, 0, 6);
    let s = b.add_struct("old", 4, &[("x", u3, 5), ("y", s6, 8)]);
    let word: u32 = (6 << 5) | (0b10_0001 << 8);
    assert_eq!(ok(&b, s, &word.to_le_bytes()), r#"{"x":6,"y":-31}"#);
}

#[test]
fn formats_enums_by_name_or_number() {
    let mut b = BtfBuilder::new();
    let e = b.add_enum(
        "state",
        4,
        false,
        &[("IDLE", 0), ("BUSY", 1), ("MAX", 0xffff_ffff)],
    );
    let se = b.add_enum("sgn", 4, true, &[("NEG", -1), ("ZERO", 0)]);
    let small = b.add_enum("small", 1, true, &[("M1", -1)]);
    let e64 = b.add_enum64("big", 8, false, &[("HUGE", 1 << 40)]);
    assert_eq!(ok(&b, e, &1u32.to_le_bytes()), "\"BUSY\"");
    assert_eq!(ok(&b, e, &u32::MAX.to_le_bytes()), "\"MAX\"");
    assert_eq!(ok(&b, e, &7u32.to_le_bytes()), "7");
    assert_eq!(ok(&b, se, &(-1i32).to_le_bytes()), "\"NEG\"");
    assert_eq!(ok(&b, se, &(-2i32).to_le_bytes()), "-2");
    assert_eq!(ok(&b, small, &[0xff]), "\"M1\"");
    assert_eq!(ok(&b, e64, &(1u64 << 40).to_le_bytes()), "\"HUGE\"");
    assert_eq!(ok(&b, e64, &u64::MAX.to_le_bytes()), "18446744073709551615");
}

#[test]
fn formats_enum_bitfield() {
    let mut b = BtfBuilder::new();
    let e = b.add_enum("color", 4, false, &[("RED", 1), ("BLUE", 2)]);
    let s = b.add_composite_bitfields(false, "px", 4, &[("c", e, 2, 2), ("d", e, 4, 2)]);
    assert_eq!(
        ok(&b, s, &[(2 << 2) | (3 << 4), 0, 0, 0]),
        r#"{"c":"BLUE","d":3}"#
    );
}

#[test]
fn follows_typedefs_and_modifiers() {
    let mut b = BtfBuilder::new();
    let int = b.add_int("int", 4, INT_SIGNED);
    let c = b.add_const(int);
    let v = b.add_volatile(c);
    let r = b.add_restrict(v);
    let t = b.add_type_tag("user", r);
    let td = b.add_typedef("myint", t);
    assert_eq!(ok(&b, td, &(-9i32).to_le_bytes()), "-9");
}

#[test]
fn formats_pointers_as_hex_strings() {
    let mut b = BtfBuilder::new();
    let int = b.add_int("int", 4, INT_SIGNED);
    let p = b.add_ptr(int);
    assert_eq!(
        ok(&b, p, &0xffff_8880_dead_beefu64.to_le_bytes()),
        "\"0xffff8880deadbeef\""
    );
    assert_eq!(ok(&b, p, &[0; 8]), "\"0x0\"");
}

#[test]
fn formats_floats_and_non_finite_as_strings() {
    let mut b = BtfBuilder::new();
    let f = b.add_float("float", 4);
    let d = b.add_float("double", 8);
    let h = b.add_float("_Float16", 2);
    let ld = b.add_float("long double", 16);
    assert_eq!(ok(&b, f, &1.5f32.to_le_bytes()), "1.5");
    assert_eq!(ok(&b, f, &0.1f32.to_le_bytes()), "0.1");
    assert_eq!(ok(&b, d, &(-0.25f64).to_le_bytes()), "-0.25");
    assert_eq!(ok(&b, d, &1e300f64.to_le_bytes()), "1e300");
    assert_eq!(ok(&b, d, &f64::NAN.to_le_bytes()), "\"nan\"");
    assert_eq!(ok(&b, f, &f32::INFINITY.to_le_bytes()), "\"inf\"");
    assert_eq!(ok(&b, d, &f64::NEG_INFINITY.to_le_bytes()), "\"-inf\"");
    assert_eq!(ok(&b, h, &0x3e00u16.to_le_bytes()), "1.5");
    assert_eq!(ok(&b, h, &0xfc00u16.to_le_bytes()), "\"-inf\"");
    assert_eq!(ok(&b, ld, &1u128.to_le_bytes()), "\"0x1\"");
}

#[test]
fn formats_datasec_as_object_of_vars() {
    let mut b = BtfBuilder::new();
    let int = b.add_int("int", 4, INT_SIGNED);
    let ch = b.add_int("char", 1, INT_SIGNED);
    let name = b.add_array(ch, int, 8);
    let v_counter = b.add_var("counter", int, 1);
    let v_name = b.add_var("name", name, 1);
    let sec = b.add_datasec(".data", 16, &[(v_counter, 0, 4), (v_name, 8, 8)]);
    let mut bytes = 42i32.to_le_bytes().to_vec();
    bytes.extend_from_slice(&[0xee; 4]);
    bytes.extend_from_slice(&padded(b"oxbpf", 8));
    assert_eq!(ok(&b, sec, &bytes), r#"{"counter":42,"name":"oxbpf"}"#);
    assert_eq!(ok(&b, v_counter, &bytes), r#"{"counter":42}"#);
}

#[test]
fn rejects_datasec_var_past_the_buffer_naming_it() {
    // An unfixed DATASEC (size 0) whose variable lies past the bytes.
    let mut b = BtfBuilder::new();
    let long = b.add_int("long", 8, INT_SIGNED);
    let v = b.add_var("hits", long, 1);
    let sec = b.add_datasec(".bss", 0, &[(v, 8, 8)]);
    let err = fmt(&b, sec, &[0; 12]).unwrap_err();
    assert!(
        matches!(&err, FormatError::ShortBuffer { id, offset: 8, expected: 8, got: 4, .. } if *id == long),
        "{err:?}"
    );
}

#[test]
fn rejects_types_without_values() {
    let mut b = BtfBuilder::new();
    let int = b.add_int("int", 4, INT_SIGNED);
    let proto = b.add_func_proto(int, &[("x", int)]);
    let func = b.add_func("f", proto, 1);
    let fwd = b.add_fwd("opaque", false);
    let tag = b.add_decl_tag("tag", int, -1);
    for (ty, kind) in [
        (0, Kind::Void),
        (proto, Kind::FuncProto),
        (func, Kind::Func),
        (fwd, Kind::Fwd),
        (tag, Kind::DeclTag),
    ] {
        let err = fmt(&b, ty, &[0; 16]).unwrap_err();
        assert!(
            matches!(&err, FormatError::NotAValue { id, kind: k, .. } if *id == ty && *k == kind),
            "{err:?}"
        );
    }
    // Also when reached through a member.
    let s = b.add_struct("s", 4, &[("x", fwd, 0)]);
    assert!(matches!(
        fmt(&b, s, &[0; 4]),
        Err(FormatError::NotAValue { .. })
    ));
}

#[test]
fn rejects_reference_loops_with_depth_error() {
    let mut b = BtfBuilder::new();
    // typedef a -> typedef b -> typedef a
    let a = b.next_id();
    let _ta = b.add_typedef("a", a + 1);
    let _tb = b.add_typedef("b", a);
    // struct s { struct s inner; } (size 4, so sizes do not stop the recursion)
    let s = b.next_id();
    b.add_struct("s", 4, &[("inner", s, 0)]);
    for ty in [a, s] {
        let err = fmt(&b, ty, &[0; 4]).unwrap_err();
        assert!(
            matches!(err, FormatError::TooDeep { root, max: MAX_FORMAT_DEPTH, .. } if root == ty),
            "{err:?}"
        );
    }
}

#[test]
fn rejects_exponential_expansion_with_budget_error() {
    // Ten levels of empty structs with eight members each: 8^10 values.
    let mut b = BtfBuilder::new();
    let mut cur = b.add_struct("leaf", 0, &[]);
    for level in 0..10 {
        let names: Vec<String> = (0..8).map(|i| format!("m{i}")).collect();
        let members: Vec<(&str, TypeId, u32)> =
            names.iter().map(|n| (n.as_str(), cur, 0)).collect();
        cur = b.add_struct(&format!("l{level}"), 0, &members);
    }
    let err = fmt(&b, cur, &[]).unwrap_err();
    assert!(matches!(err, FormatError::TooComplex { .. }), "{err:?}");
}

#[test]
fn rejects_misaligned_non_int_member() {
    let mut b = BtfBuilder::new();
    let int = b.add_int("int", 4, INT_SIGNED);
    let p = b.add_ptr(int);
    let s = b.add_struct("s", 16, &[("p", p, 3)]);
    let err = fmt(&b, s, &[0; 16]).unwrap_err();
    assert!(
        matches!(
            &err,
            FormatError::Unsupported {
                kind: Kind::Ptr,
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn escapes_member_names_in_keys() {
    let mut b = BtfBuilder::new();
    let int = b.add_int("int", 4, INT_SIGNED);
    let s = b.add_struct("s", 4, &[("a\"b\\\u{1}", int, 0)]);
    assert_eq!(ok(&b, s, &[1, 0, 0, 0]), r#"{"a\"b\\\u0001":1}"#);
}

#[test]
fn write_json_appends_and_leaves_output_alone_on_error() {
    let mut b = BtfBuilder::new();
    let ev = exec_event(&mut b);
    let blob = b.build();
    let btf = Btf::parse(&blob).unwrap();
    let mut out = String::from("[");
    write_json(&mut out, &btf, ev, &exec_event_bytes()).unwrap();
    out.push(',');
    let mut bad = exec_event_bytes();
    bad.truncate(20);
    // Short only inside `filename`: the root check catches it before anything is written;
    // an error found mid-way (a fwd member) must also leave `out` alone.
    assert!(write_json(&mut out, &btf, ev, &bad).is_err());
    let before = out.clone();
    let mut b2 = BtfBuilder::new();
    let int = b2.add_int("int", 4, INT_SIGNED);
    let fwd = b2.add_fwd("x", false);
    let s = b2.add_struct("s", 8, &[("a", int, 0), ("b", fwd, 32)]);
    let blob2 = b2.build();
    let btf2 = Btf::parse(&blob2).unwrap();
    assert!(write_json(&mut out, &btf2, s, &[0; 8]).is_err());
    assert_eq!(out, before);
    assert!(out.starts_with(r#"[{"pid":1234,"#) && out.ends_with("},"));
}

// --- never panics, always valid JSON ---

#[derive(Clone, Debug)]
enum Spec {
    Int(String, u32, u8, u8, u8),
    Ptr(TypeId),
    Array(TypeId, u32),
    Composite(bool, bool, String, u32, Vec<(String, TypeId, u32, u8)>),
    Enum(bool, String, u32, bool, Vec<(String, i128)>),
    Ref(Kind, String, TypeId),
    Float(u32),
    Var(String, TypeId),
    Datasec(u32, Vec<(TypeId, u32, u32)>),
    Fwd,
    FuncProto(TypeId),
}

fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just("char".to_owned()),
        Just("unsigned char".to_owned()),
        Just("a\"b\\c".to_owned()),
        Just("\u{1}\u{7f}\u{85}é".to_owned()),
        "[a-z]{1,4}",
    ]
}

fn spec(n: u32) -> impl Strategy<Value = Spec> {
    let id = 0..n + 2;
    let small = prop_oneof![0u32..40, any::<u32>()];
    prop_oneof![
        (
            name(),
            prop_oneof![Just(1u32), Just(2), Just(4), Just(8), Just(16), 0u32..20],
            0u8..8,
            0u8..8,
            prop_oneof![Just(8u8), Just(32), 0u8..=130]
        )
            .prop_map(|(n, s, e, o, b)| Spec::Int(n, s, e, o, b)),
        id.clone().prop_map(Spec::Ptr),
        (id.clone(), prop_oneof![0u32..20, any::<u32>()]).prop_map(|(e, n)| Spec::Array(e, n)),
        (
            any::<bool>(),
            any::<bool>(),
            name(),
            small.clone(),
            proptest::collection::vec((name(), id.clone(), 0u32..300, 0u8..70), 0..5)
        )
            .prop_map(|(u, kf, n, s, m)| Spec::Composite(u, kf, n, s, m)),
        (
            any::<bool>(),
            name(),
            prop_oneof![Just(1u32), Just(4), Just(8), 0u32..10],
            any::<bool>(),
            proptest::collection::vec((name(), any::<i64>().prop_map(i128::from)), 0..4)
        )
            .prop_map(|(is64, n, s, sg, v)| Spec::Enum(is64, n, s, sg, v)),
        (
            prop_oneof![
                Just(Kind::Typedef),
                Just(Kind::Const),
                Just(Kind::Volatile),
                Just(Kind::Restrict),
                Just(Kind::TypeTag)
            ],
            name(),
            id.clone()
        )
            .prop_map(|(k, n, t)| Spec::Ref(k, n, t)),
        prop_oneof![Just(2u32), Just(4), Just(8), 0u32..20].prop_map(Spec::Float),
        (name(), id.clone()).prop_map(|(n, t)| Spec::Var(n, t)),
        (
            small,
            proptest::collection::vec((id.clone(), 0u32..64, 0u32..16), 0..4)
        )
            .prop_map(|(s, v)| Spec::Datasec(s, v)),
        Just(Spec::Fwd),
        id.prop_map(Spec::FuncProto),
    ]
}

fn build(specs: &[Spec]) -> BtfBuilder {
    let mut b = BtfBuilder::new();
    for s in specs {
        match s {
            Spec::Int(n, size, enc, off, bits) => {
                b.add_int_bits(n, *size, *enc, *off, *bits);
            }
            Spec::Ptr(t) => {
                b.add_ptr(*t);
            }
            Spec::Array(e, n) => {
                b.add_array(*e, 1, *n);
            }
            Spec::Composite(u, kf, n, size, m) => {
                let m: Vec<_> = m
                    .iter()
                    .map(|(n, t, o, bf)| (n.as_str(), *t, *o, *bf))
                    .collect();
                if *kf {
                    b.add_composite_bitfields(*u, n, *size, &m);
                } else {
                    let m: Vec<_> = m.iter().map(|&(n, t, o, _)| (n, t, o)).collect();
                    if *u {
                        b.add_union(n, *size, &m);
                    } else {
                        b.add_struct(n, *size, &m);
                    }
                }
            }
            Spec::Enum(is64, n, size, signed, v) => {
                let v: Vec<_> = v.iter().map(|(n, x)| (n.as_str(), *x)).collect();
                if *is64 {
                    b.add_enum64(n, *size, *signed, &v);
                } else {
                    b.add_enum(n, *size, *signed, &v);
                }
            }
            Spec::Ref(k, n, t) => {
                b.add_raw(n, *k, false, 0, *t, &[]);
            }
            Spec::Float(size) => {
                b.add_float("f", *size);
            }
            Spec::Var(n, t) => {
                b.add_var(n, *t, 1);
            }
            Spec::Datasec(size, v) => {
                b.add_datasec(".data", *size, v);
            }
            Spec::Fwd => {
                b.add_fwd("fwd", false);
            }
            Spec::FuncProto(r) => {
                b.add_func_proto(*r, &[]);
            }
        }
    }
    b
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn never_panics_and_output_is_valid_json(
        specs in (1u32..12).prop_flat_map(|n| proptest::collection::vec(spec(n), n as usize)),
        bytes in proptest::collection::vec(any::<u8>(), 0..300),
    ) {
        let b = build(&specs);
        let blob = b.build();
        let btf = Btf::parse(&blob).expect("builder output parses");
        for ty in 0..(specs.len() as u32 + 2) {
            let mut out = String::from("prefix");
            match write_json(&mut out, &btf, ty, &bytes) {
                Ok(()) => {
                    let json = &out["prefix".len()..];
                    prop_assert!(
                        serde_json::from_str::<serde_json::Value>(json).is_ok(),
                        "type {} gave invalid JSON {:?}", ty, json
                    );
                }
                Err(e) => {
                    prop_assert_eq!(&out, "prefix");
                    prop_assert!(!e.to_string().is_empty());
                }
            }
        }
    }

    #[test]
    fn bitfields_read_back_what_was_packed(
        width in 1u8..=64,
        shift in 0u32..64,
        value in any::<u64>(),
        signed in any::<bool>(),
    ) {
        let mut b = BtfBuilder::new();
        let enc = if signed { INT_SIGNED } else { 0 };
        let int = b.add_int("long", 8, enc);
        let s = b.add_composite_bitfields(false, "s", 16, &[("f", int, shift, width)]);
        let mask = if width == 64 { u64::MAX } else { (1u64 << width) - 1 };
        let packed = u128::from(value & mask) << shift;
        let want = if signed {
            sign_extend(u128::from(value & mask), u32::from(width)).to_string()
        } else {
            (value & mask).to_string()
        };
        prop_assert_eq!(ok(&b, s, &packed.to_le_bytes()), format!("{{\"f\":{want}}}"));
    }
}

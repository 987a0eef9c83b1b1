use super::*;
use crate::{Endian, INT_SIGNED, LINKAGE_EXTERN, LINKAGE_GLOBAL, LINKAGE_STATIC, VAR_STATIC};
use proptest::prelude::*;

/// One line per type: kind, name and every field, members included.
fn describe(blob: &[u8]) -> Vec<String> {
    let btf = Btf::parse(blob).unwrap();
    btf.types()
        .map(|t| {
            let (id, t) = t.unwrap();
            let extra = match t {
                Type::Struct(c) | Type::Union(c) => format!(
                    "size {} kflag {} {:?}",
                    c.size,
                    c.kind_flag(),
                    c.members().collect::<Result<Vec<_>>>().unwrap()
                ),
                Type::Enum(e) | Type::Enum64(e) => format!(
                    "size {} signed {} {:?}",
                    e.size,
                    e.signed,
                    e.values().collect::<Result<Vec<_>>>().unwrap()
                ),
                Type::FuncProto(p) => format!(
                    "ret {} {:?}",
                    p.ret,
                    p.params().collect::<Result<Vec<_>>>().unwrap()
                ),
                Type::Datasec(d) => format!(
                    "size {} {:?}",
                    d.size,
                    d.vars().collect::<Result<Vec<_>>>().unwrap()
                ),
                other => format!("{other:?}"),
            };
            format!("[{id}] {:?} {:?} {extra}", t.kind(), t.name())
        })
        .collect()
}

fn sanitize_with(input: &BtfBuilder, f: BtfFeatures) -> Vec<u8> {
    let blob = input.build();
    sanitize(&Btf::parse(&blob).unwrap(), &f).unwrap()
}

fn without(name: &str) -> BtfFeatures {
    let mut f = BtfFeatures::all();
    assert!(f.set(name, false), "{name}");
    f
}

/// `got` equals the blob of `want`, byte for byte (compared as descriptions first, for a
/// readable failure).
fn assert_blob(got: &[u8], want: &BtfBuilder) {
    let want = want.build();
    assert_eq!(describe(got), describe(&want));
    assert_eq!(got, &want[..]);
}

/// A builder whose string table starts with `strs` (the input's strings, which the
/// sanitized blob keeps at their offsets).
fn with_strings(strs: &[&str]) -> BtfBuilder {
    let mut b = BtfBuilder::new();
    for s in strs {
        b.add_str(s);
    }
    b
}

fn globals() -> BtfBuilder {
    let mut b = BtfBuilder::new();
    b.add_int("int", 4, INT_SIGNED); // 1
    b.add_var("a", 1, VAR_STATIC); // 2
    b.add_var("b", 1, 1); // 3
    b.add_datasec(".data", 8, &[(2, 0, 4), (3, 4, 4)]); // 4
    b
}

#[test]
fn var_becomes_int_and_datasec_struct_without_datasec() {
    let got = sanitize_with(&globals(), without("datasec"));
    let mut want = with_strings(&["int", "a", "b", ".data"]);
    want.add_int("int", 4, INT_SIGNED);
    want.add_int_bits("a", 1, 0, 0, 8);
    want.add_int_bits("b", 1, 0, 0, 8);
    want.add_struct("_data", 8, &[("a", 2, 0), ("b", 3, 32)]);
    assert_blob(&got, &want);
}

#[test]
fn datasec_name_loses_dots_and_question_marks_without_datasec() {
    let mut b = BtfBuilder::new();
    b.add_int("int", 4, INT_SIGNED);
    b.add_var("ops", 1, 1);
    b.add_datasec("?.struct_ops.link", 4, &[(2, 0, 4)]);
    let got = sanitize_with(&b, without("datasec"));
    let mut want = with_strings(&["int", "ops", "?.struct_ops.link"]);
    want.add_int("int", 4, INT_SIGNED);
    want.add_int_bits("ops", 1, 0, 0, 8);
    want.add_struct("__struct_ops_link", 4, &[("ops", 2, 0)]);
    assert_blob(&got, &want);
}

#[test]
fn qmark_datasec_prefix_becomes_underscore() {
    let mut b = BtfBuilder::new();
    b.add_int("int", 4, INT_SIGNED);
    b.add_var("ops", 1, 1);
    b.add_datasec("?.struct_ops", 4, &[(2, 0, 4)]);
    b.add_datasec(".data?", 0, &[]);
    let got = sanitize_with(&b, without("qmark_datasec"));
    let mut want = with_strings(&["int", "ops", "?.struct_ops", ".data?"]);
    want.add_int("int", 4, INT_SIGNED);
    want.add_var("ops", 1, 1);
    want.add_datasec("_.struct_ops", 4, &[(2, 0, 4)]);
    want.add_datasec(".data?", 0, &[]);
    assert_blob(&got, &want);
}

fn funcs() -> BtfBuilder {
    let mut b = BtfBuilder::new();
    b.add_int("int", 4, INT_SIGNED); // 1
    b.add_func_proto(1, &[("ctx", 1), ("n", 1)]); // 2
    b.add_func("prog", 2, LINKAGE_GLOBAL); // 3
    b.add_func("helper", 2, LINKAGE_STATIC); // 4
    b.add_func("ext", 2, LINKAGE_EXTERN); // 5
    b
}

#[test]
fn func_proto_becomes_enum_and_func_typedef_without_func() {
    let got = sanitize_with(&funcs(), without("func"));
    let mut want = with_strings(&["int", "ctx", "n", "prog", "helper", "ext"]);
    want.add_int("int", 4, INT_SIGNED);
    want.add_enum("", 4, false, &[("ctx", 1), ("n", 1)]);
    want.add_typedef("prog", 2);
    want.add_typedef("helper", 2);
    want.add_typedef("ext", 2);
    assert_blob(&got, &want);
}

#[test]
fn global_and_extern_funcs_become_static_without_func_global() {
    let got = sanitize_with(&funcs(), without("func_global"));
    let mut want = BtfBuilder::new();
    want.add_int("int", 4, INT_SIGNED);
    want.add_func_proto(1, &[("ctx", 1), ("n", 1)]);
    want.add_func("prog", 2, LINKAGE_STATIC);
    want.add_func("helper", 2, LINKAGE_STATIC);
    want.add_func("ext", 2, LINKAGE_STATIC);
    assert_blob(&got, &want);
}

#[test]
fn float_becomes_anonymous_empty_struct_of_its_size() {
    let mut b = BtfBuilder::new();
    b.add_float("double", 8);
    b.add_ptr(1);
    let got = sanitize_with(&b, without("float"));
    let mut want = with_strings(&["double"]);
    want.add_struct("", 8, &[]);
    want.add_ptr(1);
    assert_blob(&got, &want);
}

#[test]
fn decl_tag_becomes_one_byte_int() {
    let mut b = BtfBuilder::new();
    b.add_int("int", 4, INT_SIGNED);
    b.add_struct("s", 4, &[("x", 1, 0)]);
    b.add_decl_tag("user", 2, 0);
    let got = sanitize_with(&b, without("decl_tag"));
    let mut want = with_strings(&["int", "x", "s", "user"]);
    want.add_int("int", 4, INT_SIGNED);
    want.add_struct("s", 4, &[("x", 1, 0)]);
    want.add_int_bits("user", 1, 0, 0, 8);
    assert_blob(&got, &want);
}

#[test]
fn type_tag_becomes_anonymous_const() {
    let mut b = BtfBuilder::new();
    b.add_int("int", 4, INT_SIGNED);
    b.add_type_tag("percpu", 1);
    b.add_ptr(2);
    let got = sanitize_with(&b, without("type_tag"));
    let mut want = with_strings(&["int", "percpu"]);
    want.add_int("int", 4, INT_SIGNED);
    want.add_const(1);
    want.add_ptr(2);
    assert_blob(&got, &want);
}

#[test]
fn enum64_becomes_union_of_one_placeholder_and_enum_loses_sign() {
    let mut b = BtfBuilder::new();
    b.add_enum("e", 4, true, &[("NEG", -1), ("ONE", 1)]); // 1
    b.add_enum64("big", 8, false, &[("HUGE", 1 << 40), ("SMALL", 2)]); // 2
    b.add_enum64("other", 8, true, &[("X", -5)]); // 3
    let got = sanitize_with(&b, without("enum64"));
    // The input's strings stay (the builder adds value names before the type's name); the
    // placeholder's name is new, so it comes last.
    let mut want = with_strings(&["NEG", "ONE", "e", "HUGE", "SMALL", "big", "X", "other"]);
    want.add_enum("e", 4, false, &[("NEG", -1), ("ONE", 1)]);
    want.add_union("big", 8, &[("HUGE", 4, 0), ("SMALL", 4, 0)]);
    want.add_union("other", 8, &[("X", 4, 0)]);
    want.add_int(ENUM64_PLACEHOLDER, 1, 0);
    assert_blob(&got, &want);
    // Exactly as libbpf adds it: 1 byte, 8 bits, no encoding.
    let btf = Btf::parse(&got).unwrap();
    let Type::Int(i) = btf.type_by_id(4).unwrap() else {
        panic!()
    };
    assert_eq!((i.size, i.bits, i.encoding, i.bit_offset), (1, 8, 0, 0));
}

#[test]
fn no_placeholder_without_enum64_types() {
    let mut b = BtfBuilder::new();
    b.add_enum("e", 4, false, &[("A", 0)]);
    let got = sanitize_with(&b, without("enum64"));
    assert_blob(&got, &b);
}

#[test]
fn all_features_present_changes_nothing() {
    let mut b = globals();
    b.add_func_proto(1, &[("x", 1)]);
    b.add_func("f", 5, LINKAGE_GLOBAL);
    b.add_float("float", 4);
    b.add_type_tag("t", 1);
    b.add_decl_tag("d", 6, -1);
    b.add_enum64("e", 8, true, &[("A", -1)]);
    for endian in [Endian::Little, Endian::Big] {
        let blob = b.build_endian(endian);
        let got = sanitize(&Btf::parse(&blob).unwrap(), &BtfFeatures::all()).unwrap();
        assert_eq!(got, blob);
    }
}

#[test]
fn everything_missing_combines_the_rewrites_and_keeps_byte_order() {
    let mut b = globals(); // 1..=4
    b.add_func_proto(1, &[("x", 1)]); // 5
    b.add_func("f", 5, LINKAGE_GLOBAL); // 6
    b.add_float("float", 4); // 7
    b.add_type_tag("t", 1); // 8
    b.add_decl_tag("d", 6, -1); // 9
    b.add_enum64("e", 8, true, &[("A", -1)]); // 10
    let blob = b.build_endian(Endian::Big);
    let got = sanitize(&Btf::parse(&blob).unwrap(), &BtfFeatures::none()).unwrap();
    let btf = Btf::parse(&got).unwrap();
    assert_eq!(btf.endian(), Endian::Big);
    let kinds: Vec<Kind> = btf.types().map(|t| t.unwrap().1.kind()).collect();
    use Kind::*;
    assert_eq!(
        kinds,
        [
            Int, Int, Int, Struct, Enum, Typedef, Struct, Const, Int, Union, Int
        ]
    );
    assert_eq!(btf.type_name(4).unwrap(), "_data");
    assert_eq!(btf.type_name(11).unwrap(), ENUM64_PLACEHOLDER);
}

#[test]
fn rejects_datasec_entry_with_missing_type() {
    let mut b = BtfBuilder::new();
    b.add_datasec(".bss", 4, &[(9, 0, 4)]);
    let blob = b.build();
    let e = sanitize(&Btf::parse(&blob).unwrap(), &without("datasec")).unwrap_err();
    assert_eq!(
        e.to_string(),
        "BTF type id 9 out of range (the blob has 2 types including void)"
    );
}

#[test]
fn rejects_datasec_offset_whose_bit_offset_overflows() {
    let mut b = BtfBuilder::new();
    b.add_int("int", 4, INT_SIGNED);
    b.add_var("v", 1, 1);
    b.add_datasec(".bss", 4, &[(2, 0x2000_0000, 4)]);
    let blob = b.build();
    let e = sanitize(&Btf::parse(&blob).unwrap(), &without("datasec")).unwrap_err();
    assert_eq!(e.to_string(), "BTF type 3: size overflows u32");
}

#[test]
fn features_iter_and_set_agree() {
    let mut f = BtfFeatures::all();
    assert!(f.is_all());
    let names: Vec<&str> = f.iter().map(|(n, _)| n).collect();
    for n in &names {
        assert!(f.set(n, false));
    }
    assert_eq!(f, BtfFeatures::none());
    assert!(!f.set("nope", true));
    assert_eq!(BtfFeatures::default(), BtfFeatures::all());
}

proptest! {
    #[test]
    fn sanitize_never_panics_and_keeps_ids(
        bytes in proptest::collection::vec(any::<u8>(), 0..400),
        mask in any::<u8>(),
    ) {
        // A valid header over arbitrary type/string bytes, so parsing gets past it often.
        let mut blob = BtfBuilder::new().build();
        let split = bytes.len() / 2 / 4 * 4;
        let (types, strs) = bytes.split_at(split);
        let mut strs = strs.to_vec();
        strs.insert(0, 0);
        strs.push(0);
        blob.truncate(24);
        blob[12..16].copy_from_slice(&(types.len() as u32).to_le_bytes());
        blob[16..20].copy_from_slice(&(types.len() as u32).to_le_bytes());
        blob[20..24].copy_from_slice(&(strs.len() as u32).to_le_bytes());
        blob.extend_from_slice(types);
        blob.extend_from_slice(&strs);
        let mut f = BtfFeatures::all();
        let names: Vec<&str> = f.iter().map(|(n, _)| n).collect();
        for (i, n) in names.iter().enumerate() {
            f.set(n, mask & (1 << i) == 0);
        }
        if let Ok(btf) = Btf::parse(&blob) {
            if let Ok(out) = sanitize(&btf, &f) {
                let out = Btf::parse(&out).unwrap();
                prop_assert!(out.len() == btf.len() || out.len() == btf.len() + 1);
            }
        }
    }
}

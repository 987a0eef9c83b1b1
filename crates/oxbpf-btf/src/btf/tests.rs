use super::*;
use crate::types::{INT_SIGNED, LINKAGE_GLOBAL, VAR_GLOBAL_ALLOCATED};
use crate::write::BtfBuilder;

fn put_u32(blob: &mut [u8], off: usize, v: u32) {
    blob[off..off + 4].copy_from_slice(&v.to_le_bytes());
}

/// A blob with one of every kind; returns the blob and the ids of interesting types.
fn sample() -> BtfBuilder {
    let mut b = BtfBuilder::new();
    let int = b.add_int("int", 4, INT_SIGNED); // 1
    let ptr = b.add_ptr(int); // 2
    let arr = b.add_array(int, int, 10); // 3
    let s = b.add_struct("point", 8, &[("x", int, 0), ("y", int, 32)]); // 4
    b.add_union("u", 4, &[("a", int, 0)]); // 5
    b.add_enum("e", 4, true, &[("NEG", -1), ("ONE", 1)]); // 6
    b.add_fwd("fwd_s", true); // 7
    let td = b.add_typedef("int_t", int); // 8
    let v = b.add_volatile(td); // 9
    let c = b.add_const(v); // 10
    b.add_restrict(ptr); // 11
    let proto = b.add_func_proto(int, &[("a", int), ("b", ptr)]); // 12
    b.add_func("f", proto, LINKAGE_GLOBAL); // 13
    let var = b.add_var("g", c, VAR_GLOBAL_ALLOCATED); // 14
    b.add_datasec(".data", 4, &[(var, 0, 4)]); // 15
    b.add_float("double", 8); // 16
    b.add_decl_tag("tag", s, 1); // 17
    b.add_type_tag("user", ptr); // 18
    b.add_enum64("e64", 8, false, &[("BIG", 0xffff_ffff_0000_0001)]); // 19
    b.add_composite_bitfields(false, "bits", 4, &[("lo", int, 0, 3), ("hi", int, 3, 29)]); // 20
    b.add_array(arr, int, 3); // 21
    b
}

fn check_sample(btf: &Btf<'_>) {
    assert_eq!(btf.len(), 22);
    let kinds: Vec<Kind> = btf.types().map(|t| t.unwrap().1.kind()).collect();
    use Kind::*;
    assert_eq!(
        kinds,
        [
            Int, Ptr, Array, Struct, Union, Enum, Fwd, Typedef, Volatile, Const, Restrict,
            FuncProto, Func, Var, Datasec, Float, DeclTag, TypeTag, Enum64, Struct, Array
        ]
    );
    let Type::Int(i) = btf.type_by_id(1).unwrap() else {
        panic!()
    };
    assert_eq!(
        (i.name, i.size, i.encoding, i.bits, i.bit_offset),
        ("int", 4, INT_SIGNED, 32, 0)
    );
    let Type::Struct(s) = btf.type_by_id(4).unwrap() else {
        panic!()
    };
    let m: Vec<_> = s.members().map(Result::unwrap).collect();
    assert_eq!(m.len(), 2);
    assert_eq!(
        (m[1].name, m[1].ty, m[1].bit_offset, m[1].bitfield_size),
        ("y", 1, 32, 0)
    );
    let Type::Enum(e) = btf.type_by_id(6).unwrap() else {
        panic!()
    };
    assert!(e.signed);
    let vals: Vec<_> = e.values().map(Result::unwrap).collect();
    assert_eq!(vals, [("NEG", -1), ("ONE", 1)]);
    let Type::Fwd(f) = btf.type_by_id(7).unwrap() else {
        panic!()
    };
    assert!(f.is_union);
    let Type::FuncProto(p) = btf.type_by_id(12).unwrap() else {
        panic!()
    };
    assert_eq!(p.ret, 1);
    let params: Vec<_> = p.params().map(Result::unwrap).collect();
    assert_eq!(params, [("a", 1), ("b", 2)]);
    let Type::Func(f) = btf.type_by_id(13).unwrap() else {
        panic!()
    };
    assert_eq!((f.name, f.proto, f.linkage), ("f", 12, LINKAGE_GLOBAL));
    let Type::Var(v) = btf.type_by_id(14).unwrap() else {
        panic!()
    };
    assert_eq!((v.name, v.ty, v.linkage), ("g", 10, VAR_GLOBAL_ALLOCATED));
    let (id, d) = btf.datasec_by_name(".data").unwrap().unwrap();
    assert_eq!((id, d.size), (15, 4));
    let vars: Vec<_> = d.vars().map(Result::unwrap).collect();
    assert_eq!(vars[0].ty, 14);
    let Type::DeclTag(t) = btf.type_by_id(17).unwrap() else {
        panic!()
    };
    assert_eq!((t.name, t.ty, t.component_idx), ("tag", 4, 1));
    let Type::TypeTag(t) = btf.type_by_id(18).unwrap() else {
        panic!()
    };
    assert_eq!((t.name, t.ty), ("user", 2));
    let Type::Enum64(e) = btf.type_by_id(19).unwrap() else {
        panic!()
    };
    assert!(!e.signed && e.is_enum64());
    assert_eq!(
        e.values().next().unwrap().unwrap(),
        ("BIG", 0xffff_ffff_0000_0001)
    );
    let Type::Struct(s) = btf.type_by_id(20).unwrap() else {
        panic!()
    };
    assert!(s.kind_flag());
    let m: Vec<_> = s.members().map(Result::unwrap).collect();
    assert_eq!((m[1].bit_offset, m[1].bitfield_size), (3, 29));
}

#[test]
fn parses_every_kind_little_endian() {
    let blob = sample().build();
    let btf = Btf::parse(&blob).unwrap();
    assert_eq!(btf.endian(), Endian::Little);
    check_sample(&btf);
}

#[test]
fn parses_every_kind_big_endian() {
    let blob = sample().build_endian(Endian::Big);
    assert_eq!(&blob[..2], &[0xeb, 0x9f]);
    let btf = Btf::parse(&blob).unwrap();
    assert_eq!(btf.endian(), Endian::Big);
    check_sample(&btf);
}

#[test]
fn resolves_sizes() {
    let blob = sample().build();
    let btf = Btf::parse(&blob).unwrap();
    assert_eq!(btf.resolve_size(1).unwrap(), 4);
    assert_eq!(btf.resolve_size(2).unwrap(), 8);
    assert_eq!(btf.resolve_size(3).unwrap(), 40);
    assert_eq!(btf.resolve_size(21).unwrap(), 120);
    assert_eq!(btf.resolve_size(10).unwrap(), 4); // const volatile int_t
    assert_eq!(btf.resolve_size(14).unwrap(), 4); // var
    assert_eq!(btf.resolve_size(16).unwrap(), 8);
    assert_eq!(btf.resolve_size(19).unwrap(), 8);
    for id in [0, 7, 12, 13, 17] {
        let e = btf.resolve_size(id).unwrap_err();
        assert!(matches!(e, Error::NoSize { .. }), "{id}: {e}");
        assert!(e.to_string().contains(&format!("type {id}")), "{e}");
    }
}

#[test]
fn resolve_size_reports_overflow() {
    let mut b = BtfBuilder::new();
    let int = b.add_int("int", 4, 0);
    let arr = b.add_array(int, int, u32::MAX);
    let blob = b.build();
    let btf = Btf::parse(&blob).unwrap();
    let e = btf.resolve_size(arr).unwrap_err();
    assert!(matches!(e, Error::SizeOverflow { id: 2 }), "{e}");
}

#[test]
fn reference_loops_end_with_too_deep() {
    let mut b = BtfBuilder::new();
    b.add_typedef("a", 2);
    b.add_const(1);
    b.add_array(3, 0, 1); // an array of itself
    let blob = b.build();
    let btf = Btf::parse(&blob).unwrap();
    assert!(matches!(
        btf.skip_mods_and_typedefs(1),
        Err(Error::TooDeep { id: 1, .. })
    ));
    assert!(matches!(
        btf.resolve_size(2),
        Err(Error::TooDeep { id: 2, .. })
    ));
    assert!(matches!(
        btf.resolve_size(3),
        Err(Error::TooDeep { id: 3, .. })
    ));
}

#[test]
fn skips_mods_and_typedefs() {
    let blob = sample().build();
    let btf = Btf::parse(&blob).unwrap();
    assert_eq!(btf.skip_mods_and_typedefs(10).unwrap(), 1);
    assert_eq!(btf.skip_mods_and_typedefs(18).unwrap(), 2); // type_tag -> ptr, stops at ptr
    assert_eq!(btf.skip_mods_and_typedefs(4).unwrap(), 4);
    assert_eq!(btf.skip_mods_and_typedefs(0).unwrap(), 0);
}

#[test]
fn finds_by_name_and_kind() {
    let blob = sample().build();
    let btf = Btf::parse(&blob).unwrap();
    assert_eq!(btf.find_by_name("point", Kind::Struct).unwrap(), Some(4));
    assert_eq!(btf.find_by_name("point", Kind::Union).unwrap(), None);
    assert_eq!(btf.find_by_name("poin", Kind::Struct).unwrap(), None);
    assert_eq!(btf.find_by_name("int_t", Kind::Typedef).unwrap(), Some(8));
    assert_eq!(btf.find_by_name("", Kind::Void).unwrap(), Some(0));
    assert!(btf.datasec_by_name(".bss").unwrap().is_none());
    assert_eq!(btf.type_name(4).unwrap(), "point");
    assert_eq!(btf.type_name(0).unwrap(), "");
    assert_eq!(btf.type_name(2).unwrap(), "");
    assert_eq!(btf.kind(20).unwrap(), Kind::Struct);
}

#[test]
fn str_at_reads_strings_and_rejects_bad_offsets() {
    let blob = sample().build();
    let btf = Btf::parse(&blob).unwrap();
    assert_eq!(btf.str_at(0).unwrap(), "");
    assert_eq!(btf.str_at(1).unwrap(), "int");
    assert_eq!(btf.str_at(2).unwrap(), "nt");
    let len = btf.string_section().len() as u32;
    let e = btf.str_at(len).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!("string offset {len:#x} is past the end of the string section (len {len:#x})")
    );
}

#[test]
fn rejects_truncated_header() {
    let blob = sample().build();
    let e = Btf::parse(&blob[..10]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "BTF header truncated: need 24 bytes, blob is 10 bytes"
    );
}

#[test]
fn rejects_bad_magic() {
    let mut blob = sample().build();
    blob[0] = 0x12;
    let e = Btf::parse(&blob).unwrap_err();
    assert!(
        matches!(
            e,
            Error::BadMagic {
                magic: [0x12, 0xeb]
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("offset 0x0: bad magic"), "{e}");
}

#[test]
fn rejects_bad_version() {
    let mut blob = sample().build();
    blob[2] = 2;
    let e = Btf::parse(&blob).unwrap_err();
    assert!(e.to_string().contains("unsupported version 2"), "{e}");
}

#[test]
fn rejects_hdr_len_too_small_or_past_end() {
    let mut blob = sample().build();
    put_u32(&mut blob, 4, 20);
    let e = Btf::parse(&blob).unwrap_err();
    assert!(e.to_string().contains("hdr_len 0x14 is smaller"), "{e}");
    let len = blob.len();
    put_u32(&mut blob, 4, len as u32 + 1);
    let e = Btf::parse(&blob).unwrap_err();
    assert!(
        e.to_string().contains("runs past the end of the blob"),
        "{e}"
    );
}

#[test]
fn rejects_type_section_past_end() {
    let mut blob = sample().build();
    let type_len = u32::from_le_bytes(blob[12..16].try_into().unwrap());
    put_u32(&mut blob, 12, type_len + 0x1000);
    let e = Btf::parse(&blob).unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("type section (off 0x0"), "{msg}");
    assert!(msg.contains(&format!("len {:#x}", blob.len())), "{msg}");
}

#[test]
fn rejects_string_section_past_end() {
    let mut blob = sample().build();
    put_u32(&mut blob, 20, u32::MAX);
    let e = Btf::parse(&blob).unwrap_err();
    assert!(e.to_string().contains("string section (off"), "{e}");
}

#[test]
fn rejects_misaligned_type_off() {
    let mut blob = sample().build();
    put_u32(&mut blob, 8, 2);
    let e = Btf::parse(&blob).unwrap_err();
    assert!(
        e.to_string().contains("type_off 0x2 is not 4-byte aligned"),
        "{e}"
    );
}

#[test]
fn rejects_overlapping_sections() {
    let mut blob = sample().build();
    put_u32(&mut blob, 16, 4); // string section starts inside the type section
    put_u32(&mut blob, 20, 4);
    let e = Btf::parse(&blob).unwrap_err();
    assert!(e.to_string().contains("overlaps string section"), "{e}");
}

#[test]
fn rejects_string_section_not_nul_terminated() {
    let mut blob = sample().build();
    let last = blob.len() - 1;
    blob[last] = b'x';
    let e = Btf::parse(&blob).unwrap_err();
    assert!(e.to_string().contains("is not NUL-terminated"), "{e}");
    assert!(
        e.to_string().contains(&format!("last byte at {last:#x}")),
        "{e}"
    );
}

#[test]
fn rejects_empty_string_section() {
    let mut blob = BtfBuilder::new().build();
    put_u32(&mut blob, 20, 0);
    let e = Btf::parse(&blob).unwrap_err();
    assert!(
        e.to_string().contains("string section at 0x18 is empty"),
        "{e}"
    );
}

#[test]
fn rejects_string_offset_past_end() {
    let mut b = BtfBuilder::new();
    b.add_int("int", 4, 0);
    b.add_struct("s", 4, &[("m", 1, 0)]);
    let mut blob = b.build();
    // Type 2 (struct) starts at 0x18 + 16 = 0x28; its name_off is its first word.
    put_u32(&mut blob, 0x28, 0x500);
    // Type names are range-checked by parse (like the kernel does), naming type and offset.
    let e = Btf::parse(&blob).unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.starts_with("BTF type 2 at offset 0x28: name: string offset 0x500"),
        "{msg}"
    );
}

#[test]
fn rejects_member_name_offset_past_end() {
    let mut b = BtfBuilder::new();
    b.add_int("int", 4, 0);
    b.add_struct("s", 4, &[("m", 1, 0)]);
    let mut blob = b.build();
    put_u32(&mut blob, 0x28 + 12, 0x777);
    let btf = Btf::parse(&blob).unwrap();
    let Type::Struct(s) = btf.type_by_id(2).unwrap() else {
        panic!()
    };
    let mut members = s.members();
    let e = members.next().unwrap().unwrap_err();
    assert!(
        e.to_string()
            .starts_with("BTF type 2 at offset 0x28: member 0 name: string offset 0x777"),
        "{e}"
    );
    assert!(members.next().is_none());
}

#[test]
fn rejects_vlen_past_end() {
    let mut b = BtfBuilder::new();
    b.add_int("int", 4, 0);
    b.add_struct("s", 4, &[("m", 1, 0)]);
    let mut blob = b.build();
    // Set vlen of type 2 to 3: 36 bytes of members but only 12 are there.
    put_u32(&mut blob, 0x28 + 4, (4 << 24) | 3);
    let e = Btf::parse(&blob).unwrap_err();
    assert_eq!(
        e.to_string(),
        "BTF type 2 at offset 0x28: vlen 3 (36 bytes of members) runs past the end of the type section at 0x40"
    );
}

#[test]
fn rejects_truncated_type_header() {
    let mut b = BtfBuilder::new();
    b.add_int("int", 4, 0);
    let mut blob = b.build();
    // Shrink the type section by 8 bytes: the INT's header fits, its extra word does not...
    put_u32(&mut blob, 12, 8);
    let e = Btf::parse(&blob).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("BTF type 1 at offset 0x18: header (12 bytes)"),
        "{e}"
    );
    put_u32(&mut blob, 12, 12);
    let e = Btf::parse(&blob).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("BTF type 1 at offset 0x18: Int data (4 bytes)"),
        "{e}"
    );
}

#[test]
fn rejects_unknown_kind() {
    let mut b = BtfBuilder::new();
    b.add_int("int", 4, 0);
    b.add_ptr(1);
    let mut blob = b.build();
    put_u32(&mut blob, 0x28 + 4, 25 << 24);
    let e = Btf::parse(&blob).unwrap_err();
    assert_eq!(e.to_string(), "BTF type 2 at offset 0x28: unknown kind 25");
    put_u32(&mut blob, 0x28 + 4, 0);
    let e = Btf::parse(&blob).unwrap_err();
    assert_eq!(e.to_string(), "BTF type 2 at offset 0x28: unknown kind 0");
}

#[test]
fn rejects_type_id_out_of_range() {
    let blob = sample().build();
    let btf = Btf::parse(&blob).unwrap();
    let e = btf.type_by_id(22).unwrap_err();
    assert_eq!(
        e.to_string(),
        "BTF type id 22 out of range (the blob has 22 types including void)"
    );
    assert!(btf.type_by_id(u32::MAX).is_err());
    assert!(btf.type_name(1000).is_err());
    // A reference to a missing type surfaces when followed.
    let mut b = BtfBuilder::new();
    b.add_typedef("t", 42);
    let blob = b.build();
    let btf = Btf::parse(&blob).unwrap();
    assert!(matches!(
        btf.resolve_size(1),
        Err(Error::TypeIdOutOfRange { id: 42, count: 2 })
    ));
}

#[test]
fn accepts_empty_btf_and_longer_header() {
    let blob = BtfBuilder::new().build();
    let btf = Btf::parse(&blob).unwrap();
    assert_eq!(btf.len(), 1);
    assert!(btf.is_empty());
    assert_eq!(btf.types().count(), 0);
    // hdr_len 28: 4 extra header bytes, sections shift accordingly.
    let orig = sample().build();
    let mut long = orig[..24].to_vec();
    long.extend_from_slice(&[0; 4]);
    long.extend_from_slice(&orig[24..]);
    put_u32(&mut long, 4, 28);
    let btf = Btf::parse(&long).unwrap();
    check_sample(&btf);
}

#[test]
fn vmlinux_parses_and_task_struct_is_plausible() {
    let path = "/sys/kernel/btf/vmlinux";
    let Ok(data) = std::fs::read(path) else {
        eprintln!("skipping: {path} is not readable on this machine");
        return;
    };
    let start = std::time::Instant::now();
    let btf = Btf::parse(&data).unwrap();
    let parsed = start.elapsed();
    assert!(btf.len() > 10_000, "only {} types", btf.len());
    let mut n = 0usize;
    for t in btf.types() {
        let (id, t) = t.unwrap();
        n += 1;
        match t {
            Type::Struct(c) | Type::Union(c) => {
                for m in c.members() {
                    m.unwrap_or_else(|e| panic!("type {id}: {e}"));
                }
            }
            Type::Enum(e) | Type::Enum64(e) => {
                for v in e.values() {
                    v.unwrap();
                }
            }
            Type::FuncProto(p) => {
                for p in p.params() {
                    p.unwrap();
                }
            }
            Type::Datasec(d) => {
                for v in d.vars() {
                    v.unwrap();
                }
            }
            _ => {}
        }
    }
    assert_eq!(n + 1, btf.len());
    let id = btf
        .find_by_name("task_struct", Kind::Struct)
        .unwrap()
        .expect("task_struct");
    let size = btf.resolve_size(id).unwrap();
    assert!((1024..64 * 1024).contains(&size), "task_struct size {size}");
    let Type::Struct(ts) = btf.type_by_id(id).unwrap() else {
        panic!("not a struct")
    };
    let names: Vec<&str> = ts.members().map(|m| m.unwrap().name).collect();
    for want in ["pid", "tgid", "comm", "mm"] {
        assert!(names.contains(&want), "task_struct lacks {want}");
    }
    let pid = ts
        .members()
        .map(|m| m.unwrap())
        .find(|m| m.name == "pid")
        .unwrap();
    assert_eq!(btf.resolve_size(pid.ty).unwrap(), 4);
    assert_eq!(
        btf.type_name(btf.skip_mods_and_typedefs(pid.ty).unwrap())
            .unwrap(),
        "int"
    );
    eprintln!("vmlinux: {} types, parsed in {parsed:?}", btf.len());
}

mod props {
    use super::*;
    use proptest::prelude::*;

    fn walk(btf: &Btf<'_>) {
        for t in btf.types() {
            let Ok((id, t)) = t else { break };
            let _ = btf.resolve_size(id);
            let _ = btf.skip_mods_and_typedefs(id);
            match t {
                Type::Struct(c) | Type::Union(c) => c.members().for_each(drop),
                Type::Enum(e) | Type::Enum64(e) => e.values().for_each(drop),
                Type::FuncProto(p) => p.params().for_each(drop),
                Type::Datasec(d) => d.vars().for_each(drop),
                _ => {}
            }
        }
        let _ = btf.find_by_name("int", Kind::Int);
        let _ = btf.datasec_by_name(".data");
    }

    proptest! {
        #[test]
        fn never_panics_on_arbitrary_bytes(data in proptest::collection::vec(any::<u8>(), 0..512)) {
            if let Ok(btf) = Btf::parse(&data) {
                walk(&btf);
            }
        }

        #[test]
        fn never_panics_on_arbitrary_bytes_after_valid_header(
            body in proptest::collection::vec(any::<u8>(), 0..512),
            split in 0usize..512,
            big in any::<bool>(),
        ) {
            let e = if big { Endian::Big } else { Endian::Little };
            let split = split.min(body.len()) & !3;
            let mut data = BtfBuilder::new().build_endian(e)[..24].to_vec();
            data[8..12].copy_from_slice(&e.u32_bytes(0));
            data[12..16].copy_from_slice(&e.u32_bytes(split as u32));
            data[16..20].copy_from_slice(&e.u32_bytes(split as u32));
            data[20..24].copy_from_slice(&e.u32_bytes((body.len() - split) as u32));
            data.extend_from_slice(&body);
            if let Ok(btf) = Btf::parse(&data) {
                walk(&btf);
            }
        }

        #[test]
        fn never_panics_on_mutated_valid_blobs(
            muts in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
            big in any::<bool>(),
        ) {
            let e = if big { Endian::Big } else { Endian::Little };
            let mut blob = sample().build_endian(e);
            for (i, v) in muts {
                let i = i.index(blob.len());
                blob[i] = v;
            }
            if let Ok(btf) = Btf::parse(&blob) {
                walk(&btf);
            }
        }
    }
}

#[test]
fn nth_member_and_enumerator_decode_directly_and_agree_with_iteration() {
    let mut b = BtfBuilder::new();
    let int = b.add_int("int", 4, INT_SIGNED);
    let names: Vec<String> = (0..40).map(|i| format!("m{i}")).collect();
    let members: Vec<(&str, TypeId, u32)> = names
        .iter()
        .enumerate()
        .map(|(i, n)| (n.as_str(), int, i as u32 * 32))
        .collect();
    let s = b.add_struct("wide", 160, &members);
    let values: Vec<(&str, i128)> = names.iter().map(|n| (n.as_str(), 7)).collect();
    let e = b.add_enum("e", 4, false, &values);
    let blob = b.build();
    let btf = Btf::parse(&blob).unwrap();
    let (Type::Struct(c), Type::Enum(en)) =
        (btf.type_by_id(s).unwrap(), btf.type_by_id(e).unwrap())
    else {
        panic!("not a struct and an enum")
    };
    let all: Vec<_> = c.members().map(|m| m.unwrap().name).collect();
    for i in [0, 1, 17, 39] {
        assert_eq!(c.members().nth(i).unwrap().unwrap().name, all[i]);
        assert_eq!(en.values().nth(i).unwrap().unwrap().0, all[i]);
    }
    assert!(c.members().nth(40).is_none() && en.values().nth(40).is_none());
    // Iteration goes on after nth as after as many next() calls.
    let mut it = c.members();
    assert_eq!(it.nth(3).unwrap().unwrap().name, "m3");
    assert_eq!(it.next().unwrap().unwrap().name, "m4");
    assert_eq!(it.nth(100).map(|m| m.is_ok()), None);
    assert!(it.next().is_none());
}

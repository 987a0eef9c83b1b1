//! Split BTF (module on top of a base) and the name index.

use super::*;
use crate::types::INT_SIGNED;
use crate::write::BtfBuilder;

/// Base: 1 int, 2 struct point {int x; int y;}.
fn base_blob() -> Vec<u8> {
    let mut b = BtfBuilder::new();
    let int = b.add_int("int", 4, INT_SIGNED);
    b.add_struct("point", 8, &[("x", int, 0), ("y", int, 32)]);
    b.build()
}

/// Offset of `s` (NUL-terminated) in the base's string section.
fn base_str(base: &Btf<'_>, s: &str) -> u32 {
    let want = [s.as_bytes(), &[0]].concat();
    let strs = base.string_section();
    (0..strs.len())
        .find(|&i| strs[i..].starts_with(&want) && (i == 0 || strs[i - 1] == 0))
        .unwrap() as u32
}

fn words(out: &mut Vec<u8>, ws: &[u32]) {
    for w in ws {
        out.extend_from_slice(&w.to_le_bytes());
    }
}

fn info(kind: u32, vlen: u32) -> u32 {
    (kind << 24) | vlen
}

/// A split blob with the given little-endian type words and string section.
fn split_blob(types: &[u32], strs: &[u8]) -> Vec<u8> {
    let mut t = Vec::new();
    words(&mut t, types);
    let mut b = Vec::new();
    b.extend_from_slice(&0xeb9fu16.to_le_bytes());
    b.extend_from_slice(&[1, 0]);
    words(
        &mut b,
        &[24, 0, t.len() as u32, t.len() as u32, strs.len() as u32],
    );
    b.extend_from_slice(&t);
    b.extend_from_slice(strs);
    b
}

/// Split (ids from 3): 3 struct mod_s {struct point x; struct point *p;}, 4 ptr -> point,
/// 5 typedef point -> 2, 6 struct point___mod (size 8, no members). Own strings
/// "mod_s\0p\0point___mod\0" (no leading NUL).
fn module_blob(base: &Btf<'_>) -> Vec<u8> {
    let own = base.string_section().len() as u32;
    let (x, point) = (base_str(base, "x"), base_str(base, "point"));
    #[rustfmt::skip]
    let types = [
        own, info(4, 2), 16, x, 2, 0, own + 6, 4, 64, // 3
        0, info(2, 0), 2,                              // 4
        point, info(8, 0), 2,                          // 5
        own + 8, info(4, 0), 8,                        // 6
    ];
    split_blob(&types, b"mod_s\0p\0point___mod\0")
}

#[test]
fn split_ids_and_strings_continue_the_base() {
    let base_bytes = base_blob();
    let base = Btf::parse(&base_bytes).unwrap();
    let m = module_blob(&base);
    let btf = Btf::parse_split(&m, &base).unwrap();
    assert_eq!(btf.start_id(), 3);
    assert_eq!(btf.len(), 7);
    assert_eq!(btf.start_str_off() as usize, base.string_section().len());
    assert!(btf.base().is_some());

    // Base ids delegate; own ids decode; past the end is an error naming the count.
    assert_eq!(btf.type_name(1).unwrap(), "int");
    assert_eq!(btf.kind(2).unwrap(), Kind::Struct);
    let Type::Struct(s) = btf.type_by_id(3).unwrap() else {
        panic!("type 3 is not a struct")
    };
    assert_eq!(s.name, "mod_s");
    let members: Vec<_> = s.members().map(|m| m.unwrap()).collect();
    // Member "x" is named by a base string, "p" by an own one.
    assert_eq!(members[0].name, "x");
    assert_eq!(members[1].name, "p");
    // The module type references a base type, which resolves.
    assert_eq!(btf.type_name(members[0].ty).unwrap(), "point");
    assert_eq!(btf.resolve_size(members[0].ty).unwrap(), 8);
    assert_eq!(btf.resolve_size(4).unwrap(), 8);
    assert_eq!(btf.skip_mods_and_typedefs(5).unwrap(), 2);
    let e = btf.type_by_id(7).unwrap_err();
    assert!(
        matches!(e, Error::TypeIdOutOfRange { id: 7, count: 7 }),
        "{e}"
    );
    assert_eq!(btf.type_offset(3), Some(24));
    assert_eq!(btf.type_offset(2), base.type_offset(2));

    // Strings: below start in the base, at start and above in the module.
    assert_eq!(btf.str_at(base_str(&base, "y")).unwrap(), "y");
    assert_eq!(btf.str_at(btf.start_str_off()).unwrap(), "mod_s");
    assert!(btf.str_at(btf.start_str_off() + 100).is_err());

    // Iteration: types() covers base and module, own_types() the module only.
    let all: Vec<TypeId> = btf.types().map(|t| t.unwrap().0).collect();
    assert_eq!(all, [1, 2, 3, 4, 5, 6]);
    let own: Vec<TypeId> = btf.own_types().map(|t| t.unwrap().0).collect();
    assert_eq!(own, [3, 4, 5, 6]);
}

#[test]
fn name_lookups_cross_the_split_before_and_after_indexing() {
    let base_bytes = base_blob();
    let base = Btf::parse(&base_bytes).unwrap();
    let m = module_blob(&base);
    let btf = Btf::parse_split(&m, &base).unwrap();
    let check = |btf: &Btf<'_>| {
        assert_eq!(btf.find_by_name("point", Kind::Struct).unwrap(), Some(2));
        assert_eq!(btf.find_by_name("point", Kind::Typedef).unwrap(), Some(5));
        assert_eq!(btf.find_by_name("mod_s", Kind::Struct).unwrap(), Some(3));
        assert_eq!(btf.find_by_name("mod_s", Kind::Union).unwrap(), None);
        assert_eq!(btf.find_by_name("nope", Kind::Struct).unwrap(), None);
        let all: Vec<TypeId> = btf.find_all_by_name("point").collect();
        assert_eq!(all, [2, 5]);
        let ess: Vec<TypeId> = btf.find_by_essential_name("point___local").collect();
        assert_eq!(ess, [2, 5, 6]);
        let ess: Vec<TypeId> = btf.find_by_essential_name("point").collect();
        assert_eq!(ess, [2, 5, 6]);
        assert_eq!(btf.find_all_by_name("").count(), 0);
    };
    assert_eq!(btf.find_by_name("mod_s", Kind::Struct).unwrap(), Some(3));
    assert!(btf.built_index().is_none(), "a single lookup stays linear");
    check(&btf);
    assert!(
        btf.built_index().is_some(),
        "repeated lookups build the index"
    );
    assert!(base.built_index().is_some());
    check(&btf);
    // The explicit index covers named own types only: 3, 5, 6 (4 is an anonymous ptr).
    assert_eq!(btf.index().len(), 3);
}

#[test]
fn split_string_section_may_be_empty_but_must_end_in_nul() {
    let base_bytes = base_blob();
    let base = Btf::parse(&base_bytes).unwrap();
    let point = base_str(&base, "point");
    let ok = split_blob(&[point, info(8, 0), 2], b"");
    let btf = Btf::parse_split(&ok, &base).unwrap();
    assert_eq!(btf.type_name(3).unwrap(), "point");
    let bad = split_blob(&[point, info(8, 0), 2], b"ab");
    let e = Btf::parse_split(&bad, &base).unwrap_err().to_string();
    assert!(e.contains("not NUL-terminated"), "{e}");
    // The same bytes as base BTF still need the leading NUL.
    let e = Btf::parse(&split_blob(&[0, info(1, 0), 4, 32], b"x\0"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("does not start with NUL"), "{e}");
}

#[test]
fn rejects_split_name_offset_past_the_combined_string_space() {
    let base_bytes = base_blob();
    let base = Btf::parse(&base_bytes).unwrap();
    let end = base.string_section().len() as u32 + 2;
    let blob = split_blob(&[end, info(8, 0), 2], b"a\0");
    let e = Btf::parse_split(&blob, &base).unwrap_err().to_string();
    assert!(
        e.starts_with(&format!(
            "BTF type 3 at offset 0x18: name: string offset {end:#x}"
        )),
        "{e}"
    );
}

#[test]
fn rejects_split_of_other_endianness() {
    let base_bytes = base_blob();
    let base = Btf::parse(&base_bytes).unwrap();
    let mut blob = split_blob(&[], b"");
    blob[..2].copy_from_slice(&0xeb9fu16.to_be_bytes());
    // Header words stay little-endian, so also fix them up for a valid big-endian header.
    for i in (4..24).step_by(4) {
        let w = u32::from_le_bytes(blob[i..i + 4].try_into().unwrap());
        blob[i..i + 4].copy_from_slice(&w.to_be_bytes());
    }
    let e = Btf::parse_split(&blob, &base).unwrap_err().to_string();
    assert!(
        e.contains("Big-endian but its base is Little-endian"),
        "{e}"
    );
}

#[test]
fn trailing_tables_agree_with_kind_trailing_len() {
    for raw in 0u8..32 {
        let fixed = usize::from(TRAILING_FIXED[raw as usize]);
        let per = usize::from(TRAILING_PER_VLEN[raw as usize]);
        let valid = VALID_KINDS & (1 << raw) != 0;
        match Kind::from_raw(raw) {
            Some(Kind::Void) | None => assert!(!valid, "kind {raw}"),
            Some(k) => {
                assert!(valid, "kind {raw}");
                for vlen in [0u16, 1, 7] {
                    assert_eq!(
                        fixed + per * usize::from(vlen),
                        k.trailing_len(vlen),
                        "{k:?}"
                    );
                }
            }
        }
    }
}

fn vmlinux() -> Option<Vec<u8>> {
    let path = "/sys/kernel/btf/vmlinux";
    match std::fs::read(path) {
        Ok(d) => Some(d),
        Err(e) => {
            eprintln!("skipping: {path}: {e}");
            None
        }
    }
}

#[test]
fn vmlinux_index_answers_like_the_linear_scan() {
    let Some(data) = vmlinux() else { return };
    let scan = Btf::parse(&data).unwrap();
    let indexed = Btf::parse(&data).unwrap();
    let ix = indexed.index();
    assert!(ix.len() > 10_000 && ix.len() < indexed.len());
    eprintln!("index: {} names, {} bytes", ix.len(), ix.memory_bytes());
    let mut checked = 0;
    for id in (1..scan.len() as TypeId).step_by(37) {
        let t = scan.type_by_id(id).unwrap();
        let name = t.name();
        if name.is_empty() {
            continue;
        }
        let want = scan
            .scan_own(name.as_bytes(), Some(t.kind().to_raw()), 0)
            .map(|i| i as TypeId + 1);
        assert!(want.is_some_and(|w| w <= id));
        assert_eq!(
            indexed.find_by_name(name, t.kind()).unwrap(),
            want,
            "{name}"
        );
        let all: Vec<TypeId> = indexed.find_all_by_name(name).collect();
        assert!(all.contains(&id), "{name}: {all:?} lacks {id}");
        assert!(all.windows(2).all(|w| w[0] < w[1]));
        checked += 1;
    }
    assert!(checked > 1000);
    assert_eq!(
        indexed
            .find_by_name("no_such_type_xyz", Kind::Struct)
            .unwrap(),
        None
    );
}

#[test]
fn host_module_btf_splits_on_vmlinux() {
    let Some(data) = vmlinux() else { return };
    let base = Btf::parse(&data).unwrap();
    let Some(module) = std::fs::read_dir("/sys/kernel/btf")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.file_name().is_some_and(|n| n != "vmlinux"))
        .min()
    else {
        eprintln!("skipping: no module BTF under /sys/kernel/btf (no modules loaded)");
        return;
    };
    let bytes = std::fs::read(&module).unwrap();
    let btf = Btf::parse_split(&bytes, &base).unwrap();
    assert_eq!(btf.start_id() as usize, base.len());
    // Find an own type that references a vmlinux type and resolve it.
    let mut crossed = 0;
    for t in btf.own_types() {
        let (id, t) = t.unwrap();
        if let Some(r) = t.referenced()
            && r != 0
            && (r as usize) < base.len()
        {
            btf.type_by_id(r).unwrap();
            crossed += 1;
        }
        if let Type::Struct(s) | Type::Union(s) = t {
            for m in s.members() {
                m.unwrap_or_else(|e| panic!("{}: type {id}: {e}", module.display()));
            }
        }
    }
    assert!(
        crossed > 0,
        "{}: no type refers to vmlinux",
        module.display()
    );
}

mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn split_never_panics_on_arbitrary_types(
            ws in proptest::collection::vec(any::<u32>(), 0..64),
            strs in proptest::collection::vec(any::<u8>(), 0..32),
        ) {
            let base_bytes = base_blob();
            let base = Btf::parse(&base_bytes).unwrap();
            let blob = split_blob(&ws, &strs);
            if let Ok(btf) = Btf::parse_split(&blob, &base) {
                for t in btf.types() {
                    let Ok((id, _)) = t else { break };
                    let _ = btf.resolve_size(id);
                    let _ = btf.skip_mods_and_typedefs(id);
                }
                for _ in 0..=INDEX_AFTER_LOOKUPS {
                    let _ = btf.find_by_name("point", Kind::Struct);
                    let _ = btf.find_all_by_name("point").count();
                    let _ = btf.find_by_essential_name("a___b").count();
                }
            }
        }
    }
}

#[test]
fn many_essential_names_at_once_cross_the_split() {
    let base_bytes = base_blob();
    let base = Btf::parse(&base_bytes).unwrap();
    let m = module_blob(&base);
    let btf = Btf::parse_split(&m, &base).unwrap();
    let queries: &[(&str, &[Kind])] = &[
        ("point___local", &[Kind::Struct]),
        ("point", &[]),
        ("mod_s", &[Kind::Struct, Kind::Union]),
        ("nope", &[]),
    ];
    let got = btf.find_by_essential_names(queries);
    assert_eq!(got, [vec![2, 6], vec![2, 5, 6], vec![3], vec![]]);
    crate::name_scan::tests::check_against_single_lookups(&btf, queries);
    // Answered from the index once the layers have one.
    let _ = btf.index();
    assert_eq!(btf.find_by_essential_names(queries), got);
}

//! Writer round trips on real BTF: the host's vmlinux and the committed fixtures' `.BTF`
//! (parse → `BtfBuilder::from_btf` → build → parse gives the same types), and the
//! sanitizer on the same inputs.

use std::time::Instant;

use object::{Object, ObjectSection};
use oxbpf_btf::{Btf, BtfBuilder, BtfFeatures, Result, Type, sanitize};

/// Panics unless `a` and `b` hold the same types under the same ids (decoded views).
fn assert_same_types(a: &Btf<'_>, b: &Btf<'_>) {
    assert_eq!(a.len(), b.len());
    for (x, y) in a.types().zip(b.types()) {
        let ((id, x), (id2, y)) = (x.unwrap(), y.unwrap());
        assert_eq!(id, id2);
        assert_eq!(x.kind(), y.kind(), "type {id}");
        assert_eq!(x.name(), y.name(), "type {id}");
        let same = match (x, y) {
            (Type::Void, Type::Void) => true,
            (Type::Int(p), Type::Int(q)) => p == q,
            (Type::Array(p), Type::Array(q)) => p == q,
            (Type::Fwd(p), Type::Fwd(q)) => p == q,
            (Type::Func(p), Type::Func(q)) => p == q,
            (Type::Var(p), Type::Var(q)) => p == q,
            (Type::Float(p), Type::Float(q)) => p == q,
            (Type::DeclTag(p), Type::DeclTag(q)) => p == q,
            (Type::Ptr(p), Type::Ptr(q))
            | (Type::Typedef(p), Type::Typedef(q))
            | (Type::Volatile(p), Type::Volatile(q))
            | (Type::Const(p), Type::Const(q))
            | (Type::Restrict(p), Type::Restrict(q))
            | (Type::TypeTag(p), Type::TypeTag(q)) => p == q,
            (Type::Struct(p), Type::Struct(q)) | (Type::Union(p), Type::Union(q)) => {
                p.size == q.size
                    && p.kind_flag() == q.kind_flag()
                    && p.members()
                        .map(Result::unwrap)
                        .eq(q.members().map(Result::unwrap))
            }
            (Type::Enum(p), Type::Enum(q)) | (Type::Enum64(p), Type::Enum64(q)) => {
                p.size == q.size
                    && p.signed == q.signed
                    && p.values()
                        .map(Result::unwrap)
                        .eq(q.values().map(Result::unwrap))
            }
            (Type::FuncProto(p), Type::FuncProto(q)) => {
                p.ret == q.ret
                    && p.params()
                        .map(Result::unwrap)
                        .eq(q.params().map(Result::unwrap))
            }
            (Type::Datasec(p), Type::Datasec(q)) => {
                p.size == q.size
                    && p.vars()
                        .map(Result::unwrap)
                        .eq(q.vars().map(Result::unwrap))
            }
            _ => false,
        };
        assert!(same, "type {id} differs: {x:?} vs {y:?}");
    }
}

fn round_trip(blob: &[u8]) -> Vec<u8> {
    let btf = Btf::parse(blob).unwrap();
    let out = BtfBuilder::from_btf(&btf)
        .unwrap()
        .build_endian(btf.endian());
    assert_same_types(&btf, &Btf::parse(&out).unwrap());
    out
}

#[test]
fn vmlinux_round_trips_through_the_writer_quickly() {
    let Ok(blob) = std::fs::read("/sys/kernel/btf/vmlinux") else {
        eprintln!("skipping: /sys/kernel/btf/vmlinux not readable");
        return;
    };
    let start = Instant::now();
    let btf = Btf::parse(&blob).unwrap();
    let out = BtfBuilder::from_btf(&btf).unwrap().build();
    let write = start.elapsed();
    assert_same_types(&btf, &Btf::parse(&out).unwrap());
    // vmlinux has a 24-byte header with types then strings: the rebuild is byte-identical.
    assert_eq!(out, blob);
    eprintln!(
        "vmlinux: {} types, parse+from_btf+build {write:?}, with comparison {:?}",
        btf.len(),
        start.elapsed()
    );
    assert!(write.as_secs_f64() < 2.0, "writer took {write:?}");
}

#[test]
fn vmlinux_sanitized_for_an_old_kernel_keeps_every_id() {
    let Ok(blob) = std::fs::read("/sys/kernel/btf/vmlinux") else {
        eprintln!("skipping: /sys/kernel/btf/vmlinux not readable");
        return;
    };
    let btf = Btf::parse(&blob).unwrap();
    let out = sanitize(&btf, &BtfFeatures::none()).unwrap();
    let new = Btf::parse(&out).unwrap();
    let has_enum64 = btf.types().any(|t| matches!(t.unwrap().1, Type::Enum64(_)));
    assert_eq!(new.len(), btf.len() + usize::from(has_enum64));
    for t in new.types() {
        let (id, t) = t.unwrap();
        assert!(
            !matches!(
                t,
                Type::Float(_)
                    | Type::DeclTag(_)
                    | Type::TypeTag(_)
                    | Type::Enum64(_)
                    | Type::Func(_)
                    | Type::FuncProto(_)
                    | Type::Var(_)
                    | Type::Datasec(_)
            ),
            "type {id} still {:?}",
            t.kind()
        );
        // Every sized type keeps its size (a VAR becomes a 1-byte INT, as in libbpf).
        let was_var = matches!(btf.type_by_id(id), Ok(Type::Var(_)));
        if let (Ok(size), false) = (btf.resolve_size(id), was_var) {
            assert_eq!(new.resolve_size(id).unwrap(), size, "size of type {id}");
        }
    }
}

/// The `.BTF` of every committed fixture object.
fn fixture_btfs() -> Vec<(String, Vec<u8>)> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures");
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let path = e.unwrap().path();
        if path.extension().is_none_or(|x| x != "o") {
            continue;
        }
        let data = std::fs::read(&path).unwrap();
        let obj = object::File::parse(&*data).unwrap();
        if let Some(s) = obj.section_by_name(".BTF") {
            out.push((path.display().to_string(), s.data().unwrap().to_vec()));
        }
    }
    assert!(!out.is_empty(), "no fixtures with .BTF in {dir}");
    out
}

#[test]
fn fixture_btf_round_trips_and_sanitizes() {
    for (name, blob) in fixture_btfs() {
        let out = round_trip(&blob);
        assert_eq!(out, blob, "{name}");
        let btf = Btf::parse(&blob).unwrap();
        for f in [BtfFeatures::none(), BtfFeatures::all()] {
            let s = sanitize(&btf, &f).unwrap();
            let new = Btf::parse(&s).unwrap();
            // Strings keep their offsets: line_info and .BTF.ext stay valid.
            assert!(
                new.string_section().starts_with(btf.string_section()),
                "{name}"
            );
            assert!(new.len() >= btf.len(), "{name}");
        }
    }
}

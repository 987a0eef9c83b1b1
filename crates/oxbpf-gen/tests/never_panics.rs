//! Corrupt BTF never panics the generator: a fixture's BTF with random bytes overwritten
//! either fails to parse or generates (types or per-type errors) without panicking.

use proptest::prelude::*;

fn layouts_btf() -> Vec<u8> {
    let p = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/maptypes.bpf.o");
    let spec = oxbpf_obj::ObjectSpec::from_file(p).unwrap();
    spec.btf.clone().expect("fixture has BTF")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    #[test]
    fn corrupt_btf_never_panics(edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..16)) {
        let mut bytes = layouts_btf();
        // Keep the header intact so parsing gets to the type records.
        let len = bytes.len();
        for (i, v) in edits {
            let at = 24 + i % (len - 24);
            bytes[at] = v;
        }
        if let Ok(btf) = oxbpf_btf::Btf::parse(&bytes) {
            let ids: Vec<u32> = (1..btf.len() as u32).collect();
            let _ = oxbpf_gen::generate_types(&btf, &ids, Some("::oxbpf"));
        }
    }
}

#[test]
fn every_type_of_every_fixture_generates_or_errs() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures");
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if !p.to_string_lossy().ends_with(".bpf.o") {
            continue;
        }
        let spec = oxbpf_obj::ObjectSpec::from_file(&p).unwrap();
        let Some(btf) = spec.btf().unwrap() else {
            continue;
        };
        let ids: Vec<u32> = (1..btf.len() as u32).collect();
        oxbpf_gen::generate_types(&btf, &ids, Some("::oxbpf"))
            .unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    }
}

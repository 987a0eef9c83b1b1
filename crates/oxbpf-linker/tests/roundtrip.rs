//! Every committed fixture linked on its own (`oxbpf link x.o -o y.o`) parses with
//! oxbpf-obj into the same programs (instructions, relocations, section definitions) and
//! the same maps and global variables as the original — BTF type ids aside, which the
//! merge renumbers.

use std::path::PathBuf;

fn fixtures() -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures");
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".bpf.o"))
        .collect();
    v.sort();
    v
}

fn without_btf_ids(mut spec: oxbpf_obj::ObjectSpec) -> oxbpf_obj::ObjectSpec {
    for m in spec.maps.iter_mut() {
        m.btf_key_type = None;
        m.btf_value_type = None;
        if let Some(i) = m.inner.as_mut() {
            i.btf_key_type = None;
            i.btf_value_type = None;
        }
        if let Some(s) = m.struct_ops.as_mut() {
            s.btf_type = 0;
        }
    }
    for g in spec.globals.iter_mut() {
        g.btf_type = None;
    }
    spec
}

#[test]
fn every_fixture_linked_alone_parses_to_the_same_programs_maps_and_globals() {
    let mut checked = 0;
    for path in fixtures() {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let bytes = std::fs::read(&path).unwrap();
        let Ok(orig) = oxbpf_obj::ObjectSpec::from_bytes(&bytes) else {
            continue; // objects oxbpf-obj refuses are not this test's business
        };
        let linked =
            oxbpf_linker::link(&[(&name, &bytes)]).unwrap_or_else(|e| panic!("{name}: {e}"));
        let back =
            oxbpf_obj::ObjectSpec::from_bytes(&linked).unwrap_or_else(|e| panic!("{name}: {e}"));
        let (orig, back) = (without_btf_ids(orig), without_btf_ids(back));
        assert_eq!(orig.programs, back.programs, "{name}: programs");
        assert_eq!(orig.subprograms, back.subprograms, "{name}: subprograms");
        assert_eq!(orig.maps, back.maps, "{name}: maps");
        assert_eq!(orig.globals, back.globals, "{name}: globals");
        assert_eq!(orig.license, back.license, "{name}: license");
        let ext = |s: &oxbpf_obj::ObjectSpec| {
            let mut v: Vec<(String, bool)> =
                s.externs.iter().map(|e| (e.name.clone(), e.weak)).collect();
            v.sort();
            v
        };
        assert_eq!(ext(&orig), ext(&back), "{name}: externs");
        checked += 1;
    }
    assert!(checked >= 20, "only {checked} fixtures parsed");
}

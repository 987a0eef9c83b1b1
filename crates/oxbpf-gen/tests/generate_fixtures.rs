//! Generation over every committed fixture: succeeds, and names what crosses the boundary.

use std::path::PathBuf;

fn fixtures() -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures");
    let mut v: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".bpf.o"))
        .collect();
    v.sort();
    v
}

#[test]
fn every_fixture_generates() {
    let dump = std::env::var_os("OXBPF_GEN_DUMP").map(PathBuf::from);
    let list = fixtures();
    assert!(list.len() > 10, "fixtures missing: {list:?}");
    for p in list {
        let spec = oxbpf_obj::ObjectSpec::from_file(&p).unwrap();
        let path = p.to_string_lossy().into_owned();
        let src = oxbpf_gen::generate(&spec, &path, &oxbpf_gen::GenOptions::default())
            .unwrap_or_else(|e| panic!("{path}: {e}"));
        assert!(src.contains("Skel {"), "{path}: no skeleton");
        if let Some(d) = &dump {
            let name = p
                .file_name()
                .unwrap()
                .to_string_lossy()
                .replace(".bpf.o", ".rs");
            std::fs::write(d.join(name), &src).unwrap();
        }
    }
}

#[test]
fn execsnoop_record_type_is_laid_out_from_btf() {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/execsnoop.bpf.o");
    let spec = oxbpf_obj::ObjectSpec::from_file(&p).unwrap();
    let src = oxbpf_gen::generate(&spec, "x.bpf.o", &oxbpf_gen::GenOptions::default()).unwrap();
    assert!(src.contains("pub struct exec_event {"), "{src}");
    assert!(src.contains("pub comm: [i8; 16],"), "{src}");
    assert!(src.contains("size_of::<exec_event>() == 156"), "{src}");
    assert!(
        src.contains("offset_of!(exec_event, filename) == 28"),
        "{src}"
    );
    assert!(
        src.contains("::oxbpf::sys::impl_pod!(exec_event);"),
        "{src}"
    );
}

#[test]
fn globals_sections_become_structs_and_views() {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/globals.bpf.o");
    let spec = oxbpf_obj::ObjectSpec::from_file(&p).unwrap();
    let src = oxbpf_gen::generate(&spec, "x.bpf.o", &oxbpf_gen::GenOptions::default()).unwrap();
    for needle in [
        "pub struct Rodata {",
        "pub target_tgid: u32,",
        "offset_of!(Rodata, step) == 8",
        "pub struct Bss {",
        "pub fn bss_hits(&self)",
        "pub fn set_bss_hits(&self, v: u64)",
        "pub struct DataCustom {",
        "pub fn rodata(&mut self) -> &mut Rodata",
        "pub on_getpid: &'a ::oxbpf::Program,",
    ] {
        assert!(src.contains(needle), "missing {needle:?} in\n{src}");
    }
    assert!(
        !src.contains("pub fn set_target_tgid"),
        "rodata is read-only after load"
    );
}

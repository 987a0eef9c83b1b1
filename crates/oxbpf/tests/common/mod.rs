//! Shared helpers of the kernel tests: fixture paths and the root/BPF probe.

#![allow(dead_code)]

use std::path::PathBuf;

pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures")
        .join(name)
}

/// True if this process may use bpf(); prints why not otherwise (the test then returns).
pub fn have_bpf() -> bool {
    let attr = oxbpf::sys::bpf::MapCreate::new(2, 4, 4, 1);
    match oxbpf::sys::bpf::map_create(&attr) {
        Ok(_) => true,
        Err(e) => {
            eprintln!("skipping: bpf() is not usable here ({e}); run the tests as root");
            false
        }
    }
}

pub fn load(name: &str) -> oxbpf::Collection {
    let spec = oxbpf::ObjectSpec::from_file(fixture(name)).unwrap();
    oxbpf::Collection::load(&spec, &oxbpf::LoadOptions::default())
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

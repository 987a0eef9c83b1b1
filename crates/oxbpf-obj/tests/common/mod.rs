//! Compiling C snippets with clang-19 at test time, for the tests that read real objects
//! back; they skip (with the reason printed) where clang-19 is not installed.

#![allow(dead_code)]

use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The compiler the tests use.
pub const CLANG: &str = "clang-19";

/// True if [`CLANG`] runs; prints `skipping: ...` otherwise.
pub fn clang_available() -> bool {
    match Command::new(CLANG).arg("--version").output() {
        Ok(o) if o.status.success() => true,
        _ => {
            eprintln!("skipping: {CLANG} is not installed (apt-get install clang-19)");
            false
        }
    }
}

/// Compiles C source `src` with `clang -target bpf FLAGS -c` in a fresh temporary
/// directory (named after `tag`, removed afterwards) and returns the object's bytes;
/// panics with clang's stderr if it fails.
pub fn compile_c(tag: &str, src: &str, flags: &[&str]) -> Vec<u8> {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "oxbpf-{tag}-test-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let c = dir.join("prog.c");
    let o = dir.join("prog.o");
    std::fs::write(&c, src).unwrap();
    let out = Command::new(CLANG)
        .args(["-target", "bpf"])
        .args(flags)
        .arg("-c")
        .arg(&c)
        .arg("-o")
        .arg(&o)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "clang failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bytes = std::fs::read(&o).unwrap();
    std::fs::remove_dir_all(&dir).ok();
    bytes
}

//! A stale binding fails the build: generated types-only code compiles as is, and the
//! same code with one member's type changed (as if the C struct had been edited without
//! regenerating) is rejected by rustc with a message naming the type and the member.

use std::path::{Path, PathBuf};
use std::process::Command;

fn rustc() -> Option<String> {
    let r = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    match Command::new(&r).arg("--version").output() {
        Ok(o) if o.status.success() => Some(r),
        _ => None,
    }
}

fn check(rustc: &str, dir: &Path, name: &str, src: &str) -> (bool, String) {
    let file = dir.join(format!("{name}.rs"));
    std::fs::write(&file, src).unwrap();
    let out = Command::new(rustc)
        .args([
            "--edition",
            "2024",
            "--crate-type",
            "lib",
            "--emit",
            "metadata",
        ])
        .arg("--crate-name")
        .arg(name)
        .arg("--out-dir")
        .arg(dir)
        .arg(&file)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn changed_member_type_fails_the_build_naming_type_and_member() {
    let Some(rustc) = rustc() else {
        eprintln!("skipping: rustc is not on PATH (set RUSTC)");
        return;
    };
    let obj = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/execsnoop.bpf.o");
    let spec = oxbpf_obj::ObjectSpec::from_file(&obj).unwrap();
    let opts = oxbpf_gen::GenOptions {
        name: None,
        skeleton: false,
        crate_path: None,
    };
    let src = oxbpf_gen::generate(&spec, "execsnoop.bpf.o", &opts).unwrap();
    let dir = std::env::temp_dir().join(format!("oxbpf-gen-mismatch-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();

    let (ok, err) = check(&rustc, &dir, "fresh", &src);
    assert!(ok, "freshly generated code must compile:\n{err}");

    assert!(src.contains("    pub uid: u32,"), "{src}");
    let stale = src.replacen("    pub uid: u32,", "    pub uid: u16,", 1);
    let (ok, err) = check(&rustc, &dir, "stale", &stale);
    let _ = std::fs::remove_dir_all(&dir);
    assert!(!ok, "a changed layout must not compile");
    assert!(
        err.contains("oxbpf-gen: offset of exec_event.comm differs from BTF (byte 12)"),
        "the error names the type and member:\n{err}"
    );
}

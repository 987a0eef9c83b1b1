//! `Builder` end to end with the real clang: object and bindings written, and the
//! headers the source includes reported as dependencies (for `rerun-if-changed`).

#[test]
fn compiles_and_reports_included_headers() {
    let dir = std::env::temp_dir().join(format!("oxbpf-gen-builder-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("inc")).unwrap();
    std::fs::write(
        dir.join("inc/ev.h"),
        "struct ev { unsigned int pid; char comm[16]; };\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("tiny.bpf.c"),
        r#"#include "ev.h"
#define SEC(n) __attribute__((section(n), used))
struct { int (*type)[27]; int (*max_entries)[4096]; typeof(struct ev) *value; } events SEC(".maps");
SEC("tracepoint/syscalls/sys_enter_getpid") int p(void *ctx) { return 0; }
char LICENSE[] SEC("license") = "GPL";
"#,
    )
    .unwrap();
    let r = oxbpf_gen::Builder::new(dir.join("tiny.bpf.c"))
        .clang_args(["-I", dir.join("inc").to_str().unwrap()])
        .out_dir(&dir)
        .cargo_directives(false)
        .generate();
    let out = match r {
        Err(oxbpf_gen::Error::NoClang(e)) => {
            eprintln!("skipping: {e}");
            return;
        }
        r => r.unwrap(),
    };
    assert!(out.object.is_file());
    let src = std::fs::read_to_string(&out.bindings).unwrap();
    assert!(src.contains("pub struct ev {"), "{src}");
    assert!(src.contains("pub struct TinySkel"), "{src}");
    assert!(
        out.deps.iter().any(|d| d.ends_with("inc/ev.h")),
        "{:?}",
        out.deps
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn clang_errors_carry_the_diagnostics() {
    let dir = std::env::temp_dir().join(format!("oxbpf-gen-builder-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("bad.bpf.c"), "int f( {\n").unwrap();
    let r = oxbpf_gen::Builder::new(dir.join("bad.bpf.c"))
        .out_dir(&dir)
        .cargo_directives(false)
        .generate();
    let _ = std::fs::remove_dir_all(&dir);
    match r {
        Err(oxbpf_gen::Error::NoClang(e)) => eprintln!("skipping: {e}"),
        Err(e @ oxbpf_gen::Error::Clang { .. }) => {
            let s = e.to_string();
            assert!(s.contains("bad.bpf.c") && s.contains("error"), "{s}");
        }
        other => panic!("expected a clang error, got {other:?}"),
    }
}

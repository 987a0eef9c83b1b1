//! Generates bindings for every `fixtures/*.bpf.o` and for `bpf/layouts.bpf.c` (compiled
//! with clang through `oxbpf_gen::Builder`) into `OUT_DIR`.

use std::fmt::Write as _;
use std::path::PathBuf;

fn main() {
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("OUT_DIR"));
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let fixtures = root
        .join("../../fixtures")
        .canonicalize()
        .expect("fixtures/");
    println!("cargo:rerun-if-changed={}", fixtures.display());
    let mut objs: Vec<PathBuf> = std::fs::read_dir(&fixtures)
        .expect("read fixtures/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().ends_with(".bpf.o"))
        .collect();
    objs.sort();
    let mut index = String::new();
    for p in &objs {
        println!("cargo:rerun-if-changed={}", p.display());
        let file = p.file_name().unwrap().to_string_lossy().into_owned();
        let stem = file.trim_end_matches(".bpf.o").replace(['-', '.'], "_");
        let spec = oxbpf_obj::ObjectSpec::from_file(p).unwrap_or_else(|e| panic!("{file}: {e}"));
        let src = oxbpf_gen::generate(
            &spec,
            &p.to_string_lossy(),
            &oxbpf_gen::GenOptions::default(),
        )
        .unwrap_or_else(|e| panic!("{file}: {e}"));
        let dst = out.join(format!("fx_{stem}.rs"));
        std::fs::write(&dst, src).expect("write bindings");
        let _ = writeln!(
            index,
            "/// Bindings of fixtures/{file}.\n#[allow(dead_code)]\npub mod {stem} {{\n    include!(concat!(env!(\"OUT_DIR\"), \"/fx_{stem}.rs\"));\n}}"
        );
    }
    // Bindings of globals.bpf.o embedding another object: what checked-in bindings look
    // like after the object was rebuilt from changed C without regenerating.
    let globals = fixtures.join("globals.bpf.o");
    let spec = oxbpf_obj::ObjectSpec::from_file(&globals).expect("globals.bpf.o");
    let opts = oxbpf_gen::GenOptions {
        name: Some("stale".into()),
        ..oxbpf_gen::GenOptions::default()
    };
    let other = fixtures.join("counter.bpf.o");
    let src = oxbpf_gen::generate(&spec, &other.to_string_lossy(), &opts).expect("generate");
    std::fs::write(out.join("fx_stale.rs"), src).expect("write bindings");
    index.push_str("/// globals.bpf.o's bindings embedding counter.bpf.o (stale on purpose).\n#[allow(dead_code)]\npub mod stale {\n    include!(concat!(env!(\"OUT_DIR\"), \"/fx_stale.rs\"));\n}\n");
    std::fs::write(out.join("fixtures.rs"), index).expect("write index");

    println!("cargo::rustc-check-cfg=cfg(oxbpf_gen_layouts)");
    let src = root.join("bpf/layouts.bpf.c");
    match oxbpf_gen::Builder::new(&src).generate() {
        Ok(_) => println!("cargo::rustc-cfg=oxbpf_gen_layouts"),
        Err(oxbpf_gen::Error::NoClang(e)) => {
            println!("cargo::warning=skipping bpf/layouts.bpf.c: clang not found: {e}");
        }
        Err(e) => panic!("{}: {e}", src.display()),
    }
}

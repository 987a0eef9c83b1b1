//! Golden test for the value formatter on real clang output: the global data of
//! `tests/golden/format/values.c` (compiled object committed as `values.o`) formatted with
//! the object's own BTF, after `fixup_for_load`, compared exactly with `values.txt`.
//!
//! `OXBPF_BLESS=1 cargo test -p oxbpf-btf --test format_golden` rebuilds `values.o` with
//! clang-19 and rewrites `values.txt`; review the diff.
//!
//! The same `.data` bytes dumped by `bpftool map dump` (bpftool on kernel 6.18) agree value
//! for value except where we chose differently: bpftool prints a DATASEC as
//! `{".data": [{"ev": ...}, ...]}` where we print `{"ev": ..., ...}`; it keys anonymous
//! members with `""` where we flatten their fields into the parent; it prints bitfields as
//! raw hex (`"b": 0x1d`, not valid JSON) where we print sign-extended decimals (`"b": -3`);
//! it prints only arrays of `char` (by name or CHAR encoding) that are printable up to a
//! NUL as strings, where we also take `unsigned char`/`signed char` and escape
//! non-printable bytes; and it cannot print floats at all.

use std::path::{Path, PathBuf};
use std::process::Command;

use object::{Object, ObjectSection, ObjectSymbol};
use oxbpf_btf::{Btf, Type, fixup_for_load, to_json};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/format")
}

fn rebuild_object(dir: &Path) {
    let out = Command::new("clang-19")
        .args(["-target", "bpf", "-g", "-O2", "-c"])
        .arg(dir.join("values.c"))
        .arg("-o")
        .arg(dir.join("values.o"))
        .output()
        .expect("run clang-19");
    assert!(
        out.status.success(),
        "clang-19 failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The formatted text: per section, each variable on its own line, then the whole DATASEC.
fn render(elf: &[u8]) -> String {
    let obj = object::File::parse(elf).expect("parse values.o");
    let btf_bytes = obj
        .section_by_name(".BTF")
        .expect(".BTF section")
        .data()
        .expect(".BTF data");
    let btf = Btf::parse(btf_bytes).expect("parse .BTF");
    let size_of = |name: &str| obj.section_by_name(name).map(|s| s.size() as u32);
    let sym_value = |sec: &str, var: &str| {
        obj.symbols()
            .find(|s| {
                s.name() == Ok(var)
                    && s.section_index()
                        .and_then(|i| obj.section_by_index(i).ok())
                        .and_then(|s| s.name().ok().map(|n| n == sec))
                        == Some(true)
            })
            .map(|s| s.address() as u32)
    };
    let fixed = fixup_for_load(&btf, &size_of, &sym_value).expect("fixup_for_load");
    let btf = Btf::parse(&fixed).expect("parse fixed BTF");

    let mut text = String::new();
    for name in [".data", ".bss", ".rodata"] {
        let sec = obj.section_by_name(name).expect("section");
        // .bss has no file bytes: it starts as zeros.
        let bytes = match sec.data() {
            Ok(d) if !d.is_empty() => d.to_vec(),
            _ => vec![0; sec.size() as usize],
        };
        let (sec_id, d) = btf.datasec_by_name(name).unwrap().expect("DATASEC");
        text.push_str(&format!("# {name}\n"));
        for v in d.vars() {
            let v = v.unwrap();
            let Type::Var(var) = btf.type_by_id(v.ty).unwrap() else {
                panic!("{name}: secinfo type {} is not a VAR", v.ty)
            };
            let at = &bytes[v.offset as usize..];
            let json = to_json(&btf, v.ty, at).unwrap_or_else(|e| panic!("{}: {e}", var.name));
            serde_json::from_str::<serde_json::Value>(&json).expect("valid JSON");
            text.push_str(&json);
            text.push('\n');
        }
        let json = to_json(&btf, sec_id, &bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        serde_json::from_str::<serde_json::Value>(&json).expect("valid JSON");
        text.push_str(&json);
        text.push('\n');
    }
    text
}

#[test]
fn formats_clang_global_data_like_the_golden_file() {
    let dir = dir();
    let bless = std::env::var_os("OXBPF_BLESS").is_some();
    if bless {
        rebuild_object(&dir);
    }
    let elf = std::fs::read(dir.join("values.o")).expect("read values.o");
    let got = render(&elf);
    let golden = dir.join("values.txt");
    if bless {
        std::fs::write(&golden, &got).expect("write values.txt");
        return;
    }
    let want = std::fs::read_to_string(&golden).expect("read values.txt (OXBPF_BLESS=1 makes it)");
    assert_eq!(
        got,
        want,
        "formatter output differs from {}",
        golden.display()
    );
}

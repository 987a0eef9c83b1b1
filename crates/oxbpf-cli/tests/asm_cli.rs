//! `oxbpf disasm` against llvm-objdump-19 on every fixture and golden object, and
//! `oxbpf asm` end to end: text → ELF object → kernel load → disassembly.
//!
//! Normalization for the llvm-objdump comparison: none. `oxbpf disasm` prints the same
//! header lines, addresses, `<sym+off>` annotations and (by default) the relocation
//! lines of `llvm-objdump -dr`; we pass llvm-objdump the same path, so even the
//! `file format` line matches. One exception: llvm-objdump's CO-RE relocation lines
//! (from `.BTF.ext`) are dropped before comparing. Skipped (with a message) when llvm-objdump-19 is missing
//! ($LLVM_OBJDUMP overrides the name).

use std::path::{Path, PathBuf};
use std::process::Command;

fn oxbpf() -> Command {
    Command::new(env!("CARGO_BIN_EXE_oxbpf"))
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

fn objdump() -> Option<String> {
    let tool = std::env::var("LLVM_OBJDUMP").unwrap_or_else(|_| "llvm-objdump-19".into());
    match Command::new(&tool).arg("--version").output() {
        Ok(o) if o.status.success() => Some(tool),
        _ => {
            eprintln!("skipping: {tool} not found");
            None
        }
    }
}

fn objects() -> Vec<PathBuf> {
    let mut out = Vec::new();
    for dir in ["fixtures", "crates/oxbpf-asm/tests/golden"] {
        let d = repo().join(dir);
        for e in std::fs::read_dir(&d).expect("dir") {
            let p = e.expect("entry").path();
            if p.extension().is_some_and(|x| x == "o") {
                out.push(p);
            }
        }
    }
    out.sort();
    assert!(out.len() >= 8, "expected the fixtures and golden objects");
    out
}

/// llvm-objdump -dr also prints the CO-RE relocations of `.BTF.ext` (`\t\t<offset>:  CO-RE
/// <byte_off> [7] struct s::f (0:1)`), which `oxbpf disasm` does not yet: those lines are
/// left out of the comparison (every other line still must match).
fn without_core_relo_lines(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let core = line
            .strip_prefix("\t\t")
            .and_then(|l| l.split_once(":  "))
            .is_some_and(|(off, rest)| {
                off.len() == 16
                    && off.bytes().all(|b| b.is_ascii_hexdigit())
                    && rest.starts_with("CO-RE <")
            });
        if !core {
            out.push_str(line);
        }
    }
    out
}

#[test]
fn disasm_prints_what_llvm_objdump_prints_for_every_object() {
    let Some(tool) = objdump() else { return };
    let flavours: [(&[&str], &[&str]); 4] = [
        (&[], &["-dr", "--no-show-raw-insn"]),
        (&["--raw", "--no-relocs"], &["-d"]),
        (
            &["--decimal"],
            &["-dr", "--no-show-raw-insn", "--no-print-imm-hex"],
        ),
        (&["--alu32", "--raw"], &["-dr", "--mattr=+alu32"]),
    ];
    let mut compared = 0;
    for obj in objects() {
        for (ours, theirs) in flavours {
            let got = run(oxbpf().arg("disasm").args(ours).arg(&obj));
            let want = without_core_relo_lines(&run(Command::new(&tool).args(theirs).arg(&obj)));
            if got != want {
                let line = got
                    .lines()
                    .zip(want.lines())
                    .position(|(a, b)| a != b)
                    .unwrap_or(0);
                panic!(
                    "{} {ours:?}: differs from {tool} {theirs:?} at line {}:\n ours: {:?}\nllvm: {:?}",
                    obj.display(),
                    line + 1,
                    got.lines().nth(line),
                    want.lines().nth(line)
                );
            }
            compared += got.lines().count();
        }
    }
    assert!(compared > 5000, "only {compared} lines compared");
}

#[test]
fn disasm_section_filter_names_a_missing_section() {
    let obj = repo().join("fixtures/counter.bpf.o");
    let out = run(oxbpf()
        .args([
            "disasm",
            "--section",
            "tracepoint/syscalls/sys_enter_getpid",
        ])
        .arg(&obj));
    assert!(out.contains("<count_getpid>:"), "{out}");
    let bad = oxbpf()
        .args(["disasm", "--section", "nope"])
        .arg(&obj)
        .output()
        .expect("runs");
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("no program section named \"nope\""));
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("oxbpf-asm-cli-{}", std::process::id()));
    std::fs::create_dir_all(&d).expect("tmp dir");
    d.join(name)
}

fn have_bpf() -> bool {
    match oxbpf::sys::bpf::map_create(&oxbpf::sys::bpf::MapCreate::new(2, 4, 4, 1)) {
        Ok(_) => true,
        Err(e) => {
            eprintln!("skipping the kernel load: bpf() is not usable here ({e})");
            false
        }
    }
}

#[test]
fn asm_writes_a_loadable_object_that_disassembles_back() {
    for section in ["socket", "syscall"] {
        let src = tmp(&format!("{section}.s"));
        let obj = tmp(&format!("{section}.o"));
        std::fs::write(&src, "ret0:\n  r0 = 0 ; the return value\n  exit\n").expect("write");
        run(oxbpf()
            .args(["asm", "--section", section, "--license", "GPL", "-o"])
            .arg(&obj)
            .arg(&src));
        let text = run(oxbpf().args(["disasm", "--raw"]).arg(&obj));
        let want = format!(
            "\n{}:\tfile format elf64-bpf\n\nDisassembly of section {section}:\n\n\
             0000000000000000 <ret0>:\n       0:\tb7 00 00 00 00 00 00 00\tr0 = 0x0\n\
             \x20      1:\t95 00 00 00 00 00 00 00\texit\n",
            obj.display()
        );
        assert_eq!(text, want);
        if let Some(tool) = objdump() {
            let theirs = run(Command::new(&tool).arg("-d").arg(&obj));
            assert_eq!(text, theirs, "llvm-objdump reads our ELF the same way");
        }
        if have_bpf() {
            let out = oxbpf().arg("load").arg(&obj).output().expect("runs");
            assert!(
                out.status.success(),
                "oxbpf load {section}: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

#[test]
fn fixture_listing_reassembles_into_an_object_with_the_same_code_and_relocations() {
    let fixture = repo().join("fixtures/counter.bpf.o");
    let section = "tracepoint/syscalls/sys_enter_getpid";
    let listing = run(oxbpf()
        .args(["disasm", "--lossless", "--raw", "--section", section])
        .arg(&fixture));
    let src = tmp("counter.s");
    let obj = tmp("counter.o");
    std::fs::write(&src, &listing).expect("write");
    run(oxbpf()
        .args(["asm", "--section", section, "-o"])
        .arg(&obj)
        .arg(&src));
    let again = run(oxbpf()
        .args(["disasm", "--lossless", "--raw", "--section", section])
        .arg(&obj));
    // Everything after the `file format` line (which names the file) is identical:
    // code, the function symbol and the `counts` relocations.
    let body = |s: &str| s.lines().skip(2).collect::<Vec<_>>().join("\n");
    assert_eq!(body(&again), body(&listing));
    assert!(listing.contains("R_BPF_64_64\tcounts"), "{listing}");
}

#[test]
fn asm_errors_name_the_file_line_and_column() {
    let src = tmp("bad.s");
    std::fs::write(&src, "r0 = 0\nexit\nr1 += r12\n").expect("write");
    let out = oxbpf()
        .args(["asm", "-o"])
        .arg(tmp("bad.o"))
        .arg(&src)
        .output()
        .expect("runs");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bad.s: line 3, column 7: expected a register, found \"r12\""),
        "{err}"
    );
}

//! `oxbpf btf dump|show|stats` end to end, running the binary.
//!
//! Oracles where installed: bpftool's raw dump (byte-identical for vmlinux; for objects
//! equal except DATASEC sizes/offsets, which we complete from the ELF as the loader does
//! and bpftool leaves at clang's zeros) and clang-19 (the C dump compiles).

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::{fixture_arg, ok, run};

const VMLINUX: &str = "/sys/kernel/btf/vmlinux";

/// The one-line error of a failing command.
fn fails(args: &[&str]) -> String {
    let out = run(args);
    assert!(!out.status.success(), "oxbpf {args:?} succeeded");
    assert!(out.stdout.is_empty(), "oxbpf {args:?} printed to stdout");
    let err = String::from_utf8(out.stderr).expect("UTF-8 stderr");
    assert_eq!(err.lines().count(), 1, "not one line: {err:?}");
    err
}

fn have(tool: &str) -> bool {
    let ok = Command::new(tool).arg("--version").output().is_ok();
    if !ok {
        eprintln!("{tool} not installed: oracle comparison skipped");
    }
    ok
}

fn have_vmlinux() -> bool {
    let ok = std::path::Path::new(VMLINUX).exists();
    if !ok {
        eprintln!("skipped: {VMLINUX} does not exist");
    }
    ok
}

#[test]
fn dump_raw_of_object_lists_every_type_with_completed_datasecs() {
    let obj = fixture_arg("globals.bpf.o");
    let text = ok(&["btf", "dump", &obj]);
    assert!(
        text.contains("[4] FUNC 'on_getpid' type_id=2 linkage=global\n"),
        "{text}"
    );
    assert!(
        text.contains("[3] INT 'int' size=4 bits_offset=0 nr_bits=32 encoding=SIGNED\n"),
        "{text}"
    );
    // Completed from the ELF: clang leaves DATASEC sizes at 0.
    assert!(text.contains("DATASEC '.bss' size=16 vlen=2\n"), "{text}");
    let ids: Vec<u32> = text
        .lines()
        .filter(|l| l.starts_with('['))
        .map(|l| l[1..l.find(']').unwrap()].parse().unwrap())
        .collect();
    assert_eq!(ids, (1..=ids.len() as u32).collect::<Vec<_>>());
    if !have("bpftool") {
        return;
    }
    let out = Command::new("bpftool")
        .args(["btf", "dump", "file", &obj])
        .output()
        .expect("bpftool");
    let theirs = String::from_utf8(out.stdout).unwrap();
    let strip = |s: &str| -> Vec<String> {
        s.lines()
            .filter(|l| {
                !(l.contains("DATASEC") || l.starts_with("\ttype_id=") && l.contains("(VAR "))
            })
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(strip(&text), strip(&theirs));
}

#[test]
fn dump_json_is_one_object_per_type() {
    let obj = fixture_arg("globals.bpf.o");
    let raw = ok(&["btf", "dump", &obj, "--format", "raw"]);
    let text = ok(&["btf", "dump", &obj, "--format", "json"]);
    let n_raw = raw.lines().filter(|l| l.starts_with('[')).count();
    let objs: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect();
    assert_eq!(objs.len(), n_raw);
    for (i, o) in objs.iter().enumerate() {
        assert_eq!(o["id"], i as u64 + 1, "{o}");
    }
    let func = &objs[3];
    assert_eq!(func["kind"], "FUNC");
    assert_eq!(func["name"], "on_getpid");
    assert_eq!(func["linkage"], "global");
    let bss = objs
        .iter()
        .find(|o| o["kind"] == "DATASEC" && o["name"] == ".bss")
        .expect(".bss DATASEC");
    assert_eq!(bss["size"], 16);
    assert_eq!(bss["vars"].as_array().map(Vec::len), Some(2));
}

#[test]
fn dump_c_of_object_is_a_header_that_compiles() {
    let obj = fixture_arg("globals.bpf.o");
    let text = ok(&["btf", "dump", &obj, "--format", "c"]);
    assert!(text.starts_with("#ifndef __VMLINUX_H__\n"), "{text}");
    assert!(text.contains("typedef unsigned int __u32;\n"), "{text}");
    assert!(text.ends_with("#endif /* __VMLINUX_H__ */\n"), "{text}");
    if !have("clang-19") {
        return;
    }
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let file = dir.join("globals_dump.c");
    std::fs::write(&file, &text).unwrap();
    let out = Command::new("clang-19")
        .args(["-target", "bpf", "-fsyntax-only"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn show_exec_event_matches_its_source() {
    let text = ok(&["btf", "show", &fixture_arg("execsnoop.bpf.o"), "exec_event"]);
    // bpf-src/execsnoop.bpf.c: struct exec_event { __u32 pid; __u32 tgid; __u32 uid;
    // char comm[EXEC_COMM_LEN]; char filename[EXEC_FILENAME_LEN]; } with 16 and 128.
    assert_eq!(
        text,
        "typedef unsigned int __u32;\n\n\
         struct exec_event {\n\
         \t__u32 pid;\n\
         \t__u32 tgid;\n\
         \t__u32 uid;\n\
         \tchar comm[16];\n\
         \tchar filename[128];\n\
         };\n\n"
    );
    // The kind can be spelled out.
    assert_eq!(
        ok(&[
            "btf",
            "show",
            &fixture_arg("execsnoop.bpf.o"),
            "struct",
            "exec_event"
        ]),
        text
    );
}

#[test]
fn stats_of_vmlinux_counts_kinds_and_sizes() {
    if !have_vmlinux() {
        return;
    }
    let text = ok(&["btf", "stats", VMLINUX]);
    let first = text.lines().next().unwrap();
    let total: usize = first.strip_prefix("types: ").unwrap().parse().unwrap();
    let per_kind: usize = text
        .lines()
        .filter(|l| l.starts_with("  "))
        .map(|l| {
            l.split_whitespace()
                .nth(1)
                .unwrap()
                .parse::<usize>()
                .unwrap()
        })
        .sum();
    assert_eq!(per_kind, total, "{text}");
    assert!(total > 1000, "{text}");
    assert!(text.contains("\n  STRUCT "), "{text}");
    let size = std::fs::metadata(VMLINUX).unwrap().len();
    assert!(text.contains(&format!("total: {size} bytes\n")), "{text}");
    assert!(text.contains("string section: "), "{text}");
}

#[test]
fn raw_dump_of_vmlinux_is_bpftools() {
    if !have_vmlinux() || !have("bpftool") {
        return;
    }
    let ours = ok(&["btf", "dump", VMLINUX]);
    let out = Command::new("bpftool")
        .args(["btf", "dump", "file", VMLINUX])
        .output()
        .unwrap();
    let theirs = String::from_utf8(out.stdout).unwrap();
    if ours != theirs {
        let (i, (a, b)) = ours
            .lines()
            .zip(theirs.lines())
            .enumerate()
            .find(|(_, (a, b))| a != b)
            .unwrap_or((0, ("", "")));
        panic!(
            "raw dumps differ first at line {}: ours {a:?}, bpftool {b:?}",
            i + 1
        );
    }
}

#[test]
fn show_of_vmlinux_type_by_kernel_object_id() {
    if !have_vmlinux() {
        return;
    }
    // The kernel gives vmlinux's BTF id 1 at boot; other ids may be absent.
    let out = run(&["btf", "show", "id", "1", "task_struct"]);
    if !out.status.success() {
        eprintln!(
            "skipped: BTF object id 1 not readable: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        return;
    }
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("\nstruct task_struct {\n"),
        "{}",
        &text[..200]
    );
}

#[test]
fn missing_file_is_one_clear_error() {
    let err = fails(&["btf", "dump", "/nonexistent/vmlinux"]);
    assert!(err.starts_with("error: /nonexistent/vmlinux: "), "{err}");
    assert!(err.contains("No such file"), "{err}");
}

#[test]
fn unknown_type_name_is_one_clear_error() {
    let obj = fixture_arg("execsnoop.bpf.o");
    let err = fails(&["btf", "show", &obj, "no_such_type"]);
    assert!(err.contains("no type named \"no_such_type\""), "{err}");
    assert!(err.contains("execsnoop.bpf.o"), "{err}");
    let err = fails(&["btf", "show", &obj, "bogus", "exec_event"]);
    assert!(
        err.contains("\"bogus\" is not struct, union, enum or typedef"),
        "{err}"
    );
}

#[test]
fn bad_sources_are_one_clear_error() {
    let err = fails(&["btf", "stats", "id", "x"]);
    assert!(err.contains("not a BTF object id"), "{err}");
    let empty = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("empty.btf");
    std::fs::write(&empty, b"").unwrap();
    let err = fails(&["btf", "dump", empty.to_str().unwrap()]);
    assert!(err.contains("neither raw BTF nor an ELF object"), "{err}");
}

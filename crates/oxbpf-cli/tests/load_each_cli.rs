//! `oxbpf load --each`: one JSON line per program, each program loaded on its own, with
//! the verdict, the error class and errno of a failure and the verifier's instruction count.

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

use common::{fixture, have_bpf};

/// Runs `oxbpf load --each ARGS` and returns its lines parsed, keyed by (object file
/// name, program), checking that every line has all the fields.
fn load_each(args: &[&str]) -> BTreeMap<(String, Option<String>), Value> {
    let out = Command::new(env!("CARGO_BIN_EXE_oxbpf"))
        .args(["load", "--each"])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "oxbpf load --each failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut lines = BTreeMap::new();
    for line in String::from_utf8(out.stdout).unwrap().lines() {
        let v: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{line}: {e}"));
        for field in [
            "object",
            "program",
            "section",
            "prog_type",
            "result",
            "error_class",
            "errno",
            "verified_insns",
        ] {
            assert!(v.get(field).is_some(), "no {field:?} in {line}");
        }
        let object = PathBuf::from(v["object"].as_str().unwrap());
        let name = object.file_name().unwrap().to_str().unwrap().to_owned();
        let program = v["program"].as_str().map(str::to_owned);
        assert!(
            lines.insert((name, program), v).is_none(),
            "two lines for one program: {line}"
        );
    }
    lines
}

fn get<'a>(
    lines: &'a BTreeMap<(String, Option<String>), Value>,
    object: &str,
    program: &str,
) -> &'a Value {
    lines
        .get(&(object.to_owned(), Some(program.to_owned())))
        .unwrap_or_else(|| panic!("no line for {object} {program}: {lines:?}"))
}

#[test]
fn a_rejected_program_is_a_verifier_reject_and_a_good_one_passes_with_its_insn_count() {
    if !have_bpf() {
        return;
    }
    let rejected = fixture("rejected.bpf.o");
    let counter = fixture("counter.bpf.o");
    let lines = load_each(&[rejected.to_str().unwrap(), counter.to_str().unwrap()]);
    assert_eq!(lines.len(), 2, "{lines:?}");

    let bad = get(&lines, "rejected.bpf.o", "bad_deref");
    assert_eq!(bad["object"], rejected.to_str().unwrap());
    assert_eq!(bad["section"], "tracepoint/syscalls/sys_enter_getpid");
    assert_eq!(bad["prog_type"], "BPF_PROG_TYPE_TRACEPOINT");
    assert_eq!(bad["result"], "fail");
    assert_eq!(bad["error_class"], "verifier-reject");
    assert_eq!(bad["errno"], 13, "EACCES");
    assert!(bad["verified_insns"].is_null());
    assert!(
        bad["message"]
            .as_str()
            .unwrap()
            .contains("invalid mem access"),
        "{bad}"
    );

    let good = get(&lines, "counter.bpf.o", "count_getpid");
    assert_eq!(good["section"], "tracepoint/syscalls/sys_enter_getpid");
    assert_eq!(good["result"], "pass");
    assert!(good["error_class"].is_null());
    assert!(good["errno"].is_null());
    let (major, minor) = kernel_release();
    if (major, minor) >= (5, 16) {
        // The kernel counts verified instructions since 5.16: a real program has some.
        let n = good["verified_insns"].as_u64().expect("verified_insns");
        assert!(n > 0, "{good}");
    }
}

#[test]
fn every_program_loads_on_its_own_autoload_off_ones_too() {
    if !have_bpf() {
        return;
    }
    // Three `?` (autoload off) programs: --each loads each of them alone; the fentry one
    // fails on kernels that refuse trampolines without taking the others with it.
    let obj = fixture("ex_opensnoop.bpf.o");
    let lines = load_each(&[obj.to_str().unwrap()]);
    assert_eq!(lines.len(), 3, "{lines:?}");
    let tp = get(&lines, "ex_opensnoop.bpf.o", "open_tp");
    assert_eq!(tp["result"], "pass", "{tp}");
    assert_eq!(tp["section"], "?tracepoint/syscalls/sys_enter_openat");
    let kp = get(&lines, "ex_opensnoop.bpf.o", "open_kprobe");
    assert_eq!(kp["result"], "pass", "{kp}");
    assert_eq!(kp["prog_type"], "BPF_PROG_TYPE_KPROBE");
    let fentry = get(&lines, "ex_opensnoop.bpf.o", "open_fentry");
    match fentry["result"].as_str() {
        Some("pass") => assert!(fentry["error_class"].is_null()),
        Some("fail") => {
            // This host: EPERM with an empty log (HOST.md).
            assert_eq!(fentry["error_class"], "permission", "{fentry}");
            assert_eq!(fentry["errno"], 1);
        }
        other => panic!("result {other:?}"),
    }
}

#[test]
fn a_file_that_is_no_object_gives_one_bad_object_line() {
    // No kernel needed: the object is refused before any load.
    let not_elf = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml");
    let lines = load_each(&[not_elf.to_str().unwrap()]);
    assert_eq!(lines.len(), 1, "{lines:?}");
    let v = &lines[&("Cargo.toml".to_owned(), None)];
    assert!(v["program"].is_null());
    assert!(v["section"].is_null());
    assert_eq!(v["result"], "fail");
    assert_eq!(v["error_class"], "bad-object");
    assert!(v["errno"].is_null());
    assert!(
        v["message"].as_str().unwrap().contains("not an ELF file"),
        "{v}"
    );
}

#[test]
fn jobs_spread_objects_over_threads_with_the_same_verdicts() {
    if !have_bpf() {
        return;
    }
    let objs: Vec<String> = [
        "rejected.bpf.o",
        "counter.bpf.o",
        "xdp_count.bpf.o",
        "tracing.bpf.o",
        "reject_ctx.bpf.o",
        "sock_filter.bpf.o",
    ]
    .iter()
    .map(|n| fixture(n).to_str().unwrap().to_owned())
    .collect();
    let args: Vec<&str> = objs.iter().map(String::as_str).collect();
    let one = load_each(&args);
    let mut two_args = vec!["--jobs", "2"];
    two_args.extend(&args);
    let two = load_each(&two_args);
    let verdicts = |m: &BTreeMap<(String, Option<String>), Value>| {
        m.iter()
            .map(|(k, v)| (k.clone(), v["result"].clone(), v["error_class"].clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(verdicts(&one), verdicts(&two));
    assert!(one.len() >= 10, "{one:?}");
}

fn kernel_release() -> (u32, u32) {
    let s = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap();
    let mut it = s
        .trim()
        .split(|c: char| !c.is_ascii_digit())
        .map(|p| p.parse::<u32>().unwrap_or(0));
    (it.next().unwrap_or(0), it.next().unwrap_or(0))
}

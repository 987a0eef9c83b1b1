//! The `oxbpf` binary end to end: `run` streams decoded records and prints maps on
//! SIGINT, `load` prints the verifier log of a rejected object, errors exit non-zero.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{fixture, have_bpf, oxbpf};

#[test]
fn run_streams_exec_events_as_json_and_prints_maps_on_sigint() {
    if !have_bpf() {
        return;
    }
    let mut child = oxbpf()
        .arg("run")
        .arg(fixture("execsnoop.bpf.o"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    // Wait until it says it is streaming.
    let start = Instant::now();
    while !line.contains("streaming") {
        line.clear();
        assert!(err.read_line(&mut line).unwrap() > 0, "oxbpf exited early");
        assert!(start.elapsed() < Duration::from_secs(20));
    }
    let exec = Command::new("/bin/true").spawn().unwrap();
    let pid = exec.id();
    let mut exec = exec;
    exec.wait().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    Command::new("kill")
        .arg("-INT")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut err, &mut rest).unwrap();
    assert!(
        out.status.success(),
        "exit {:?}; stderr: {rest}",
        out.status
    );
    assert!(rest.contains("detached"), "{rest}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    let ours = stdout
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap_or_else(|e| panic!("{l}: {e}"))
        })
        .find(|v| v["record"]["pid"] == pid)
        .unwrap_or_else(|| panic!("no record for pid {pid} in:\n{stdout}"));
    assert_eq!(ours["map"], "events");
    assert_eq!(ours["record"]["comm"], "true");
    assert_eq!(ours["record"]["tgid"], pid);
}

#[test]
fn run_prints_hash_map_contents_at_the_end() {
    if !have_bpf() {
        return;
    }
    // counter.bpf.o counts getpid() calls per process: this test process makes them
    // (std::process::id() is getpid) while `oxbpf run` is attached.
    let mut child = oxbpf()
        .args(["run", "--duration", "1.5"])
        .arg(fixture("counter.bpf.o"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let me = std::process::id();
    let until = Instant::now() + Duration::from_millis(1200);
    while Instant::now() < until {
        std::hint::black_box(std::process::id());
        std::thread::sleep(Duration::from_millis(1));
    }
    let out = child.wait().unwrap();
    assert!(out.success());
    let mut stdout = String::new();
    std::io::Read::read_to_string(&mut child.stdout.take().unwrap(), &mut stdout).unwrap();
    let dump: String = stdout.lines().collect::<Vec<_>>().join("");
    let v: serde_json::Value =
        serde_json::from_str(&dump).unwrap_or_else(|e| panic!("{dump}: {e}"));
    assert_eq!(v["map"], "counts");
    let entries = v["entries"].as_array().unwrap();
    let mine = entries
        .iter()
        .find(|e| e["key"] == me)
        .unwrap_or_else(|| panic!("{v}"));
    assert!(mine["value"].as_u64().unwrap() > 10, "{mine}");
}

#[test]
fn load_of_a_rejected_object_prints_the_log_and_fails() {
    if !have_bpf() {
        return;
    }
    let out = oxbpf()
        .arg("load")
        .arg(fixture("rejected.bpf.o"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    let first = err.lines().next().unwrap();
    assert!(
        first.starts_with("error: program \"bad_deref\" rejected by the verifier"),
        "{err}"
    );
    assert!(
        err.contains("rejected.bpf.c:28: *val += 1; /* oxbpf-test: rejected here */"),
        "{err}"
    );
    assert!(err.contains("verifier log ("), "{err}");
    assert!(
        err.contains("R0 invalid mem access 'map_value_or_null'"),
        "{err}"
    );
}

#[test]
fn bad_paths_and_arguments_are_one_line_errors() {
    let out = oxbpf()
        .args(["load", "/nonexistent.bpf.o"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.starts_with("error: ") && err.contains("/nonexistent.bpf.o"),
        "{err}"
    );

    let out = oxbpf()
        .arg("load")
        .arg(fixture("globals.bpf.o"))
        .args(["--set", "nope=1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("no global variable \"nope\""), "{err}");

    let out = oxbpf()
        .arg("load")
        .arg(fixture("globals.bpf.o"))
        .args(["--set", "target_tgid=0x1ffffffff"])
        .output()
        .unwrap();
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("is not an integer that fits the variable's 4 bytes"),
        "{err}"
    );
}

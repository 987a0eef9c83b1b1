//! `oxbpf run -v` prints oxbpf-attach's fallback decisions: a kprobe without the kprobe PMU
//! falls back to tracefs (the build host has no kprobes at all), with a debug line naming
//! the hook, the target and the reason; without `-v` the line is absent.

mod common;

use std::process::Command;

use common::fixture;

fn run(verbose: bool) -> String {
    let mut c = Command::new(env!("CARGO_BIN_EXE_oxbpf"));
    c.arg("run");
    if verbose {
        c.arg("-v");
    }
    let out = c
        .args(["--duration", "0.1"])
        .arg(fixture("kprobes.bpf.o"))
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn verbose_run_shows_the_kprobe_fallback_decision() {
    if !is_root() {
        eprintln!("skipping: needs root (loads programs)");
        return;
    }
    let has_pmu = std::path::Path::new("/sys/bus/event_source/devices/kprobe").exists();
    let quiet = run(false);
    let verbose = run(true);
    let line = "debug: kprobe: kprobe vfs_read: falling back to a tracefs kprobe_events probe";
    assert!(!quiet.contains("debug:"), "{quiet}");
    if has_pmu {
        assert!(
            !verbose.contains(line),
            "no fallback with the PMU: {verbose}"
        );
    } else {
        assert!(
            verbose.contains(line) && verbose.contains("no kprobe PMU"),
            "{verbose}"
        );
    }
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .map(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2))
                == Some("0")
        })
        .unwrap_or(false)
}

//! `oxbpf vm-load` end to end: fixtures loaded inside matrix kernels under qemu.
//!
//! Opt-in, because each run boots kernels and builds the runner and a static `oxbpf`:
//! with `OXBPF_VM_LOAD=1` (set by .ci/run after the matrix) the tests need root, qemu
//! with qboot and the kernels prepared in kernel-tests/cache (the matrix leaves them
//! there), and a missing one fails the test; without it each test prints why it skips.
//! The kernel-tests runner (run through cargo by `oxbpf vm-load`) builds the guest.
use std::path::{Path, PathBuf};
use std::process::Command;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Why vm-load cannot run here for `series`, if it cannot.
fn missing(series: &str) -> Option<String> {
    if !nix_is_root() {
        return Some("not root (qemu boots and apt need root)".into());
    }
    if !Path::new("/usr/share/qemu/qboot.rom").is_file()
        || Command::new("qemu-system-x86_64")
            .arg("--version")
            .output()
            .map_or(true, |o| !o.status.success())
    {
        return Some("qemu-system-x86_64 with qboot is not installed".into());
    }
    let Ok(lock) = std::fs::read_to_string(workspace().join("kernel-tests/kernels.lock")) else {
        return Some("kernel-tests/kernels.lock is not readable".into());
    };
    let Some(line) = lock
        .lines()
        .find(|l| l.split_whitespace().next() == Some(series))
    else {
        return Some(format!("kernels.lock pins no {series} kernel"));
    };
    let f: Vec<&str> = line.split_whitespace().collect();
    let (Some(package), Some(version)) = (f.get(2), f.get(3)) else {
        return Some(format!(
            "kernels.lock line of {series} has no package and version"
        ));
    };
    let dir = format!("{package}_{}", version.replace([':', '~'], "_"));
    let prepared = workspace()
        .join("kernel-tests/cache/kernels")
        .join(&dir)
        .join("prepared");
    if !prepared.is_file() {
        return Some(format!(
            "kernel {series} is not prepared in kernel-tests/cache (run the matrix first: cargo run -p kernel-tests -- --kernel {series})"
        ));
    }
    None
}

fn nix_is_root() -> bool {
    std::fs::read_to_string("/proc/self/status").is_ok_and(|s| {
        s.lines()
            .find(|l| l.starts_with("Uid:"))
            .and_then(|l| l.split_whitespace().nth(1))
            == Some("0")
    })
}

/// Runs `oxbpf vm-load <fixture> --kernel <series> [extra]`: (exit code, stdout, stderr).
fn vm_load(fixture: &str, series: &str, extra: &[&str]) -> Option<(i32, String, String)> {
    if std::env::var_os("OXBPF_VM_LOAD").is_none_or(|v| v != "1") {
        println!(
            "skipping: set OXBPF_VM_LOAD=1 to boot kernel {series} under qemu (.ci/run does, after the matrix)"
        );
        return None;
    }
    if let Some(why) = missing(series) {
        panic!("OXBPF_VM_LOAD=1 but vm-load cannot run: {why}");
    }
    let obj = workspace().join("fixtures").join(fixture);
    let out = Command::new(env!("CARGO_BIN_EXE_oxbpf"))
        .arg("vm-load")
        .arg(&obj)
        .args(["--kernel", series])
        .args(extra)
        .env_remove("OXBPF_KERNEL_TESTS")
        .output()
        .expect("running oxbpf vm-load");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    println!("--- stdout\n{stdout}--- stderr\n{stderr}");
    Some((out.status.code().unwrap_or(-1), stdout, stderr))
}

#[test]
fn counter_loads_on_6_1() {
    let Some((code, stdout, stderr)) = vm_load("counter.bpf.o", "6.1", &[]) else {
        return;
    };
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("program count_getpid (tracepoint/syscalls/sys_enter_getpid): loaded"),
        "{stdout}"
    );
    assert!(
        stderr.contains("vm-load: kernel 6.1 (linux-image-6.1."),
        "{stderr}"
    );
}

#[test]
fn globals_is_refused_on_5_10() {
    let Some((code, stdout, stderr)) = vm_load("globals.bpf.o", "5.10", &[]) else {
        return;
    };
    assert_eq!(code, 1, "the guest's oxbpf load fails: {stdout}{stderr}");
    assert!(
        stderr.contains("vm-load: kernel 5.10 (linux-image-5.10."),
        "{stderr}"
    );
    // 5.10 has no bpf_loop: it refuses the callback (a BPF_PSEUDO_FUNC subprogram) at
    // func_info, before any helper is looked at; newer loaders may name the helper.
    assert!(
        stderr.contains("on_getpid")
            && (stderr.contains("bpf_loop")
                || stderr.contains("func_info doesn't match number of subprogs")),
        "{stderr}"
    );
}

#[test]
fn rejected_prints_the_verifier_log_with_the_source_line_on_6_12() {
    let Some((code, stdout, stderr)) = vm_load("rejected.bpf.o", "6.12", &[]) else {
        return;
    };
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert!(
        stderr.contains("R0 invalid mem access 'map_value_or_null'"),
        "{stderr}"
    );
    assert!(
        stderr.contains("rejected.bpf.c:28: *val += 1; /* oxbpf-test: rejected here */"),
        "{stderr}"
    );
}

#[test]
fn counter_attaches_on_6_12() {
    let Some((code, stdout, stderr)) = vm_load("counter.bpf.o", "6.12", &["--attach"]) else {
        return;
    };
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stderr.contains("attached: tracepoint syscalls/sys_enter_getpid")
            && stderr.contains("detached"),
        "{stderr}"
    );
}

//! `oxbpf load --kconfig FILE` (and `load --each`, `run`) read `__kconfig` values from FILE
//! before the system config (externs.bpf.o): a value the file gets wrong fails the load
//! naming the extern and the file; a right one loads even where no system config exists.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::fixture;

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"))
}

/// A config file removed on drop.
struct Config(PathBuf);

impl Config {
    fn new(tag: &str, text: &str) -> Config {
        let p =
            std::env::temp_dir().join(format!("oxbpf-cli-kconfig-{tag}-{}", std::process::id()));
        std::fs::write(&p, text).unwrap();
        Config(p)
    }
}

impl Drop for Config {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn oxbpf(args: &[&str], kconfig: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_oxbpf"))
        .args(args)
        .arg("--kconfig")
        .arg(kconfig)
        .arg(fixture("externs.bpf.o"))
        .output()
        .unwrap()
}

/// The `--each` line of program `name`.
fn line_of(out: &Output, name: &str) -> serde_json::Value {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|v| v["program"] == name)
        .unwrap_or_else(|| {
            panic!(
                "no line for {name}: {}",
                String::from_utf8_lossy(&out.stdout)
            )
        })
}

#[test]
fn load_reads_kconfig_values_from_the_given_file() {
    if !is_root() {
        eprintln!("skipping: needs root (loads programs)");
        return;
    }
    // CONFIG_BPF_SYSCALL is a bool: `m` is refused, naming it and the file.
    let bad = Config::new("bad", "CONFIG_BPF_SYSCALL=m\n");
    let out = oxbpf(&["load"], &bad.0);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("CONFIG_BPF_SYSCALL"), "{err}");
    assert!(err.contains(&bad.0.display().to_string()), "{err}");
    let each = oxbpf(&["load", "--each"], &bad.0);
    let l = line_of(&each, "read_externs");
    assert_eq!(l["result"], "fail", "{l}");
    assert!(
        l["message"]
            .as_str()
            .unwrap()
            .contains("CONFIG_BPF_SYSCALL"),
        "{l}"
    );

    // Every strong kconfig extern set by the file: loads (the system config not needed).
    let good = Config::new(
        "good",
        "CONFIG_BPF_SYSCALL=y\nCONFIG_BPF=y\nCONFIG_NR_CPUS=8\n",
    );
    let each = oxbpf(&["load", "--each"], &good.0);
    let l = line_of(&each, "read_externs");
    assert_eq!(l["result"], "pass", "{l}");
}

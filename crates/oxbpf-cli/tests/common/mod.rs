//! Helpers shared by the end-to-end tests of the `oxbpf` binary: running it, the
//! fixtures' paths, and the probe that skips kernel tests where bpf() is not usable.

#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Output};

/// The `oxbpf` binary under test, without arguments.
pub fn oxbpf() -> Command {
    Command::new(env!("CARGO_BIN_EXE_oxbpf"))
}

/// Runs `oxbpf ARGS` to completion.
pub fn run(args: &[&str]) -> Output {
    oxbpf().args(args).output().expect("run oxbpf")
}

/// Stdout of `oxbpf ARGS`, which must succeed.
pub fn ok(args: &[&str]) -> String {
    let out = run(args);
    assert!(
        out.status.success(),
        "oxbpf {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

/// Path of fixture `name` (fixtures/ at the workspace root).
pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures")
        .join(name)
}

/// [`fixture`] as a command-line argument.
pub fn fixture_arg(name: &str) -> String {
    fixture(name).display().to_string()
}

/// Whether bpf() works for this process; prints `skipping: ...` when it does not.
pub fn have_bpf() -> bool {
    match oxbpf::sys::bpf::map_create(&oxbpf::sys::bpf::MapCreate::new(2, 4, 4, 1)) {
        Ok(_) => true,
        Err(e) => {
            eprintln!("skipping: bpf() is not usable here ({e})");
            false
        }
    }
}

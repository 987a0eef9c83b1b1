//! `oxbpf vm-load <obj> --kernel 6.1 [--attach]`: will this object load (and attach) on
//! a kernel of the matrix? A thin wrapper around the `kernel-tests` runner.
//!
//! Why a wrapper and not a library call: the runner (kernel-tests, not published)
//! downloads Debian kernels with apt, unpacks bzImages (zstd, xz, gzip, LZ4 decoders),
//! builds a static `oxbpf` for the guest with cargo and drives qemu. Linking it here
//! would put all of that into every `oxbpf` binary — also the static one inside the
//! guest — and it would still need the workspace and cargo to build that guest binary.
//! So `oxbpf` runs the runner, passes the arguments on, and exits with its status (the
//! guest command's status, or 125 when no answer came back).
//!
//! The runner is found as: `$OXBPF_KERNEL_TESTS` (a `kernel-tests` executable); else,
//! when this `oxbpf` was built from a checkout that is still there, `cargo run
//! --release -p kernel-tests` in it (rebuilt when stale); else `kernel-tests` next to
//! this executable or on `PATH`.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::ObjectArgs;

type Res = Result<(), Box<dyn std::error::Error>>;

/// Arguments of `oxbpf vm-load`.
#[derive(clap::Args, Debug)]
pub struct VmLoadArgs {
    #[command(flatten)]
    obj: ObjectArgs,
    /// The kernel series of kernel-tests/kernels.lock (e.g. 5.10, 6.1, 6.12).
    #[arg(long)]
    kernel: String,
    /// Attach too: the guest runs `oxbpf run --duration SECS` instead of `oxbpf load`.
    #[arg(long)]
    attach: bool,
    /// How long --attach keeps the programs attached.
    #[arg(long, default_value_t = 1.0, value_name = "SECS")]
    duration: f64,
    /// Kill the guest after this many seconds.
    #[arg(long, default_value_t = 300, value_name = "SECS")]
    boot_timeout: u64,
}

/// The runner's `vm-load` arguments for `a` (the object made absolute, because cargo
/// runs the runner in the workspace).
fn runner_args(a: &VmLoadArgs, cwd: &Path) -> Vec<OsString> {
    let mut v: Vec<OsString> = vec!["vm-load".into(), cwd.join(&a.obj.object).into()];
    v.extend(["--kernel".into(), a.kernel.clone().into()]);
    if a.attach {
        v.extend([
            "--attach".into(),
            "--duration".into(),
            a.duration.to_string().into(),
        ]);
    }
    v.extend(["--boot-timeout".into(), a.boot_timeout.to_string().into()]);
    let mut extra: Vec<OsString> = Vec::new();
    for s in &a.obj.set {
        extra.extend(["--set".into(), s.into()]);
    }
    if a.obj.explain_core {
        extra.push("--explain-core".into());
    }
    if a.obj.log_level != 0 {
        extra.extend(["--log-level".into(), a.obj.log_level.to_string().into()]);
    }
    if !extra.is_empty() {
        v.push("--".into());
        v.extend(extra);
    }
    v
}

/// The checkout this binary was built from, if it is still there with its runner.
fn source_workspace() -> Option<PathBuf> {
    let ws = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    ws.join("kernel-tests/Cargo.toml").is_file().then_some(ws)
}

/// How to start the runner: program and leading arguments.
fn runner() -> Result<(OsString, Vec<OsString>), String> {
    if let Some(p) = std::env::var_os("OXBPF_KERNEL_TESTS") {
        return Ok((p, Vec::new()));
    }
    if let Some(ws) = source_workspace() {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let manifest = ws.join("Cargo.toml");
        let lead: Vec<OsString> = vec![
            "run".into(),
            "-q".into(),
            "--release".into(),
            "--manifest-path".into(),
            manifest.into(),
            "-p".into(),
            "kernel-tests".into(),
            "--".into(),
        ];
        return Ok((cargo, lead));
    }
    let beside = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(|d| d.join("kernel-tests")))
        .filter(|p| p.is_file());
    match beside {
        Some(p) => Ok((p.into(), Vec::new())),
        None => Ok(("kernel-tests".into(), Vec::new())),
    }
}

/// Runs `oxbpf vm-load`; exits the process with the runner's status when it is not 0.
pub fn run(a: VmLoadArgs) -> Res {
    let cwd = std::env::current_dir().map_err(|e| format!("current directory: {e}"))?;
    let (prog, lead) = runner()?;
    let status = Command::new(&prog)
        .args(lead)
        .args(runner_args(&a, &cwd))
        .status()
        .map_err(|e| {
            format!(
                "starting the kernel-matrix runner {}: {e} (set OXBPF_KERNEL_TESTS to a kernel-tests executable, or run from an oxbpf checkout)",
                Path::new(&prog).display()
            )
        })?;
    match status.code() {
        Some(0) => Ok(()),
        Some(c) => std::process::exit(c),
        None => Err(format!("the kernel-matrix runner was killed ({status})").into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct T {
        #[command(flatten)]
        a: VmLoadArgs,
    }

    fn args(argv: &[&str]) -> Vec<String> {
        let t = T::try_parse_from(std::iter::once("oxbpf").chain(argv.iter().copied())).unwrap();
        runner_args(&t.a, Path::new("/w"))
            .into_iter()
            .map(|s| s.to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn forwards_kernel_attach_and_load_options_to_the_runner() {
        assert_eq!(
            args(&["x.o", "--kernel", "6.1"]),
            [
                "vm-load",
                "/w/x.o",
                "--kernel",
                "6.1",
                "--boot-timeout",
                "300"
            ]
        );
        assert_eq!(
            args(&[
                "/abs/x.o",
                "--kernel",
                "5.10",
                "--explain-core",
                "--attach",
                "--set",
                "n=1",
                "--log-level",
                "2"
            ]),
            [
                "vm-load",
                "/abs/x.o",
                "--kernel",
                "5.10",
                "--attach",
                "--duration",
                "1",
                "--boot-timeout",
                "300",
                "--",
                "--set",
                "n=1",
                "--explain-core",
                "--log-level",
                "2"
            ]
        );
    }

    #[test]
    fn requires_a_kernel() {
        assert!(T::try_parse_from(["oxbpf", "x.o"]).is_err());
    }
}

//! The guest's contents: the kernel test binaries and `/init` built for
//! x86_64-unknown-linux-musl, the fixtures, and one initramfs per kernel.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use oxbpf_vminit::{CONFIG_PATH, Config, MODULES_DIR, TESTS_DIR};

use crate::cpio::Cpio;
use crate::kernel::Prepared;

/// The static target the guest runs.
pub const TARGET: &str = "x86_64-unknown-linux-musl";

/// Packages whose `kernel_*` integration tests run in the matrix.
pub const TEST_PACKAGES: &[&str] = &["oxbpf", "oxbpf-sys", "oxbpf-maps", "oxbpf-attach"];

/// A built test binary.
#[derive(Debug, Clone)]
pub struct TestBinary {
    /// The package, e.g. `oxbpf`.
    pub package: String,
    /// The test target, e.g. `kernel_counter`.
    pub target: String,
    /// The executable.
    pub path: PathBuf,
}

/// What every initramfs shares.
#[derive(Debug, Clone)]
pub struct Payload {
    /// The workspace the binaries were built from.
    pub workspace: PathBuf,
    /// `/init`.
    pub init: PathBuf,
    /// Test binaries.
    pub tests: Vec<TestBinary>,
}

/// Adds the musl target with rustup when it is missing (says so).
pub fn ensure_target() -> Result<(), String> {
    let out = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .map_err(|e| format!("running rustup (needed for the {TARGET} target): {e}"))?;
    if String::from_utf8_lossy(&out.stdout)
        .lines()
        .any(|l| l.trim() == TARGET)
    {
        return Ok(());
    }
    eprintln!("kernel-tests: rustup target add {TARGET}");
    let st = Command::new("rustup")
        .args(["target", "add", TARGET])
        .status()
        .map_err(|e| format!("running rustup target add: {e}"))?;
    if !st.success() {
        return Err(format!("rustup target add {TARGET} failed ({st})"));
    }
    Ok(())
}

/// Runs cargo with JSON messages and returns `(package dir name, target name, executable)`
/// of each executable artifact.
fn cargo_executables(workspace: &Path, args: &[&str]) -> Result<Vec<TestBinary>, String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(args)
        .args([
            "--target",
            TARGET,
            "--message-format=json-render-diagnostics",
        ])
        // Debug info would make the binaries ~10x larger, and the initramfs lives in RAM.
        .env("CARGO_PROFILE_DEV_DEBUG", "0")
        .current_dir(workspace)
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("running cargo: {e}"))?;
    if !out.status.success() {
        return Err(format!("cargo {} failed ({})", args.join(" "), out.status));
    }
    let mut v = Vec::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Ok(msg) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if msg["reason"] != "compiler-artifact" {
            continue;
        }
        let Some(exe) = msg["executable"].as_str() else {
            continue;
        };
        let package = Path::new(msg["manifest_path"].as_str().unwrap_or(""))
            .parent()
            .and_then(|p| p.file_name())
            .and_then(|n| n.to_str())
            .unwrap_or("unknown")
            .to_owned();
        v.push(TestBinary {
            package,
            target: msg["target"]["name"]
                .as_str()
                .unwrap_or("unknown")
                .to_owned(),
            path: PathBuf::from(exe),
        });
    }
    Ok(v)
}

/// Builds `/init` and the kernel test binaries of [`TEST_PACKAGES`] for the guest.
pub fn build(workspace: &Path) -> Result<Payload, String> {
    ensure_target()?;
    eprintln!("kernel-tests: building the guest ({TARGET})");
    let init = cargo_executables(
        workspace,
        &["build", "-p", "oxbpf-vminit", "--bin", "oxbpf-vminit"],
    )?
    .into_iter()
    .find(|b| b.target == "oxbpf-vminit")
    .ok_or("cargo built no oxbpf-vminit executable")?
    .path;
    let mut args = vec!["test", "--no-run"];
    for p in TEST_PACKAGES {
        args.extend(["-p", p]);
    }
    args.extend(["--test", "kernel_*"]);
    let tests = cargo_executables(workspace, &args)?;
    if tests.is_empty() {
        return Err("cargo built no kernel_* test binaries".into());
    }
    Ok(Payload {
        workspace: workspace.to_path_buf(),
        init,
        tests,
    })
}

fn read(p: &Path) -> Result<Vec<u8>, String> {
    fs::read(p).map_err(|e| format!("reading {}: {e}", p.display()))
}

/// Adds every file under `host` at the same absolute path in the archive.
fn add_tree(cpio: &mut Cpio, host: &Path) -> Result<(), String> {
    let Ok(rd) = fs::read_dir(host) else {
        return Ok(());
    };
    let mut entries: Vec<PathBuf> = rd.flatten().map(|e| e.path()).collect();
    entries.sort();
    cpio.dir(&host.to_string_lossy());
    for p in entries {
        if p.is_dir() {
            add_tree(cpio, &p)?;
        } else if p.is_file() {
            cpio.file(&p.to_string_lossy(), 0o644, &read(&p)?);
        }
    }
    Ok(())
}

/// The initramfs for one kernel.
///
/// Fixtures are found by the tests through their compile-time `CARGO_MANIFEST_DIR`, so
/// `<workspace>/fixtures` and each test package's `tests/` directory are packed at the
/// same absolute paths as on the host.
pub fn initramfs(payload: &Payload, kernel: &Prepared, config: &Config) -> Result<Vec<u8>, String> {
    let init = read(&payload.init)?;
    let mut c = Cpio::new();
    c.char_dev("/dev/console", 0o600, 5, 1)
        .dir("/proc")
        .dir("/sys")
        .dir("/tmp")
        .file("/init", 0o755, &init)
        // /init is multi-call: the tests exec these.
        .file("/bin/true", 0o755, &init)
        .file("/bin/false", 0o755, &init)
        .file(CONFIG_PATH, 0o644, config.render().as_bytes());
    for t in &payload.tests {
        let path = format!("{TESTS_DIR}/{}/{}", t.package, t.target);
        c.file(&path, 0o755, &read(&t.path)?);
    }
    for m in &kernel.modules {
        let name = m.file_name().and_then(|n| n.to_str()).unwrap_or("m.ko");
        c.file(&format!("{MODULES_DIR}/{name}"), 0o644, &read(m)?);
    }
    if let Some(btf) = &kernel.btf {
        c.file("/oxbpf/vmlinux.btf", 0o644, &read(btf)?);
    }
    add_tree(&mut c, &payload.workspace.join("fixtures"))?;
    for p in TEST_PACKAGES {
        add_tree(
            &mut c,
            &payload.workspace.join("crates").join(p).join("tests"),
        )?;
    }
    Ok(c.finish())
}

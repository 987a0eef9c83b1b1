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
pub const TEST_PACKAGES: &[&str] = &[
    "oxbpf",
    "oxbpf-sys",
    "oxbpf-maps",
    "oxbpf-attach",
    "oxbpf-linker",
];

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
    /// Host programs the tests run ([`HOST_TOOLS`]) and the shared libraries they need,
    /// packed at their host paths.
    pub host_files: Vec<PathBuf>,
}

/// Host programs the network tests run inside the guest (iproute2's `ip` and `tc`, and
/// `bash` for `/dev/udp`), shipped with their dynamic loader and libraries.
pub const HOST_TOOLS: &[&str] = &["ip", "tc", "bash"];

/// Where [`HOST_TOOLS`] are looked for (the guest's `/init` sets the same `PATH`).
const TOOL_DIRS: &[&str] = &["/usr/sbin", "/usr/bin", "/sbin", "/bin"];

/// The absolute paths `ldd` names in its output: `lib => /path (0x…)` and the loader's
/// `/lib64/ld-linux-x86-64.so.2 (0x…)`; `linux-vdso.so.1` and `not found` lines have none.
pub fn ldd_paths(out: &str) -> Vec<PathBuf> {
    out.lines()
        .filter_map(|l| {
            let l = l.trim();
            let p = match l.split_once("=>") {
                Some((_, rhs)) => rhs.trim(),
                None => l,
            };
            let p = p.split_whitespace().next()?;
            p.starts_with('/').then(|| PathBuf::from(p))
        })
        .collect()
}

/// Each found [`HOST_TOOLS`] program and its libraries (per `ldd`); a tool the host lacks
/// is reported and left out (the tests that need it skip, naming it).
pub fn host_tool_files() -> Result<Vec<PathBuf>, String> {
    let mut files: Vec<PathBuf> = Vec::new();
    for tool in HOST_TOOLS {
        let Some(exe) = TOOL_DIRS
            .iter()
            .map(|d| Path::new(d).join(tool))
            .find(|p| p.is_file())
        else {
            eprintln!(
                "kernel-tests: note: `{tool}` not found in {} — tests that need it will skip",
                TOOL_DIRS.join(":")
            );
            continue;
        };
        let out = Command::new("ldd").arg(&exe).output().map_err(|e| {
            format!(
                "running ldd {} (to ship it into the guest): {e}",
                exe.display()
            )
        })?;
        let text = String::from_utf8_lossy(&out.stdout);
        if text.contains("not found") {
            return Err(format!(
                "ldd {}: a library is missing:\n{text}",
                exe.display()
            ));
        }
        // "not a dynamic executable" (static) exits non-zero and names no library.
        for p in std::iter::once(exe).chain(ldd_paths(&text)) {
            if !files.contains(&p) {
                files.push(p);
            }
        }
    }
    Ok(files)
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
        host_files: host_tool_files()?,
    })
}

/// `/init` and a static `oxbpf` CLI for `vm-load`, built for the guest.
#[derive(Debug, Clone)]
pub struct VmLoadPayload {
    /// `/init` (oxbpf-vminit).
    pub init: PathBuf,
    /// The `oxbpf` binary, packed as [`GUEST_OXBPF`].
    pub oxbpf: PathBuf,
}

/// Where `vm-load` packs the `oxbpf` CLI in the guest.
pub const GUEST_OXBPF: &str = "/bin/oxbpf";
/// Directory of the object `vm-load` packs.
pub const GUEST_OBJ_DIR: &str = "/vm";

/// Builds `/init` and the `oxbpf` CLI for the guest (one cargo run, no debug info).
pub fn build_vm_load(workspace: &Path) -> Result<VmLoadPayload, String> {
    ensure_target()?;
    let bins = cargo_executables(
        workspace,
        &[
            "build",
            "-q",
            "-p",
            "oxbpf-vminit",
            "--bin",
            "oxbpf-vminit",
            "-p",
            "oxbpf-cli",
            "--bin",
            "oxbpf",
        ],
    )?;
    let find = |name: &str| {
        bins.iter()
            .find(|b| b.target == name)
            .map(|b| b.path.clone())
            .ok_or_else(|| format!("cargo built no {name} executable for {TARGET}"))
    };
    Ok(VmLoadPayload {
        init: find("oxbpf-vminit")?,
        oxbpf: find("oxbpf")?,
    })
}

/// The initramfs of one `vm-load` boot: `/init`, [`GUEST_OXBPF`], the object under
/// [`GUEST_OBJ_DIR`], the kernel's modules and BTF; `config.exec` names the command.
pub fn vm_load_initramfs(
    payload: &VmLoadPayload,
    kernel: &Prepared,
    object_name: &str,
    object: &[u8],
    config: &Config,
) -> Result<Vec<u8>, String> {
    let init = read(&payload.init)?;
    let mut c = Cpio::new();
    c.char_dev("/dev/console", 0o600, 5, 1)
        .dir("/proc")
        .dir("/sys")
        .dir("/tmp")
        .dir("/run")
        .file("/init", 0o755, &init)
        .file("/bin/true", 0o755, &init)
        .file("/bin/false", 0o755, &init)
        .file(GUEST_OXBPF, 0o755, &read(&payload.oxbpf)?)
        .file(CONFIG_PATH, 0o644, config.render()?.as_bytes())
        .dir(GUEST_OBJ_DIR)
        .file(&format!("{GUEST_OBJ_DIR}/{object_name}"), 0o644, object);
    for m in &kernel.modules {
        let name = m.file_name().and_then(|n| n.to_str()).unwrap_or("m.ko");
        c.file(&format!("{MODULES_DIR}/{name}"), 0o644, &read(m)?);
    }
    if let Some(btf) = &kernel.btf {
        c.file("/oxbpf/vmlinux.btf", 0o644, &read(btf)?);
    }
    add_config(&mut c, kernel)?;
    Ok(c.finish())
}

/// The kernel's config at `/boot/config-<release>`, as a distribution installs it.
fn add_config(c: &mut Cpio, kernel: &Prepared) -> Result<(), String> {
    if let Some((path, release)) = &kernel.config {
        c.dir("/boot")
            .file(&format!("/boot/config-{release}"), 0o644, &read(path)?);
    }
    Ok(())
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
/// `<workspace>/fixtures`, `<workspace>/bpf-src` and each test package's `tests/`
/// directory are packed at the same absolute paths as on the host.
pub fn initramfs(payload: &Payload, kernel: &Prepared, config: &Config) -> Result<Vec<u8>, String> {
    let init = read(&payload.init)?;
    let mut c = Cpio::new();
    c.char_dev("/dev/console", 0o600, 5, 1)
        .dir("/proc")
        .dir("/sys")
        .dir("/tmp")
        // `ip netns add` creates /run/netns.
        .dir("/run")
        .file("/init", 0o755, &init)
        // /init is multi-call: the tests exec these.
        .file("/bin/true", 0o755, &init)
        .file("/bin/false", 0o755, &init)
        .file(CONFIG_PATH, 0o644, config.render()?.as_bytes());
    for t in &payload.tests {
        let path = format!("{TESTS_DIR}/{}/{}", t.package, t.target);
        c.file(&path, 0o755, &read(&t.path)?);
    }
    for f in &payload.host_files {
        // Symlinks (the loader's /lib64 path) are packed as copies of their target.
        c.file(&f.to_string_lossy(), 0o755, &read(f)?);
    }
    for m in &kernel.modules {
        let name = m.file_name().and_then(|n| n.to_str()).unwrap_or("m.ko");
        c.file(&format!("{MODULES_DIR}/{name}"), 0o644, &read(m)?);
    }
    if let Some(btf) = &kernel.btf {
        c.file("/oxbpf/vmlinux.btf", 0o644, &read(btf)?);
    }
    add_config(&mut c, kernel)?;
    add_tree(&mut c, &payload.workspace.join("fixtures"))?;
    // The C sources: tests find a fixture's marked source line there (kernel_explain).
    add_tree(&mut c, &payload.workspace.join("bpf-src"))?;
    for p in TEST_PACKAGES {
        add_tree(
            &mut c,
            &payload.workspace.join("crates").join(p).join("tests"),
        )?;
    }
    Ok(c.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ldd_paths_takes_libraries_and_the_loader_but_not_the_vdso() {
        let out = "\tlinux-vdso.so.1 (0x00007ffd)\n\
                   \tlibtinfo.so.6 => /lib/x86_64-linux-gnu/libtinfo.so.6 (0x00007f61)\n\
                   \tlibgone.so.1 => not found\n\
                   \t/lib64/ld-linux-x86-64.so.2 (0x00007f61)\n";
        assert_eq!(
            ldd_paths(out),
            [
                PathBuf::from("/lib/x86_64-linux-gnu/libtinfo.so.6"),
                PathBuf::from("/lib64/ld-linux-x86-64.so.2")
            ]
        );
        assert!(ldd_paths("\tnot a dynamic executable\n").is_empty());
    }
}

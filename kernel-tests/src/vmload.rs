//! `kernel-tests vm-load <obj> --kernel 6.1 [--attach]`: "will this load on kernel X".
//!
//! Boots one matrix kernel with an initramfs holding `/init`, a static `oxbpf` and the
//! object; the guest runs `oxbpf load` (or `oxbpf run --duration 1` with `--attach`)
//! and echoes its output on the serial console between markers (the protocol of
//! `oxbpf-vminit`), which is printed here as the command's own stdout and stderr.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use oxbpf_vminit::{CommandOutput, Config, parse_command_output};

use crate::apt::Apt;
use crate::guest::{self, GUEST_OBJ_DIR, GUEST_OXBPF};
use crate::kernel;
use crate::lock;
use crate::qemu::{self, BootSpec};

/// Exit status when no answer came back (setup error, crash, hang): 125, as the
/// shell's `timeout`/`env` wrappers use for "the wrapper failed, not the command".
pub const NO_ANSWER: u8 = 125;

/// What to load where.
#[derive(Debug, Clone)]
pub struct VmLoad {
    /// The BPF object on the host.
    pub object: PathBuf,
    /// The kernel series of kernels.lock, e.g. `6.1`.
    pub kernel: String,
    /// Attach too: the guest runs `oxbpf run --duration <attach_secs>`.
    pub attach: bool,
    /// How long `--attach` keeps the programs attached.
    pub attach_secs: f64,
    /// Extra arguments for the guest's `oxbpf load`/`run` (e.g. `--log-level 1`).
    pub extra: Vec<String>,
    /// The workspace whose `oxbpf` is built for the guest.
    pub workspace: PathBuf,
    /// kernels.lock.
    pub lock: PathBuf,
    /// Download and preparation cache.
    pub cache: PathBuf,
    /// Kill the boot after this long.
    pub boot_timeout: Duration,
    /// Guest RAM in MiB.
    pub memory_mib: u32,
}

/// The answer: the guest command's output, its exit, and what was booted.
#[derive(Debug, Clone)]
pub struct Answer {
    /// `<package> <version>` of the kernel booted.
    pub label: String,
    /// The guest command's output and exit.
    pub output: CommandOutput,
    /// Boot wall time.
    pub elapsed: Duration,
}

/// The guest's argv for `oxbpf load`/`run` of the object packed as `name`.
pub fn guest_argv(name: &str, attach: bool, attach_secs: f64, extra: &[String]) -> Vec<String> {
    let mut v = vec![GUEST_OXBPF.to_owned()];
    if attach {
        v.extend([
            "run".to_owned(),
            "--duration".to_owned(),
            attach_secs.to_string(),
        ]);
    } else {
        v.push("load".to_owned());
    }
    v.extend(extra.iter().cloned());
    v.push(format!("{GUEST_OBJ_DIR}/{name}"));
    v
}

/// Prepares the kernel, builds the guest, boots it and reads the command's output back.
/// An `Err` means no answer (the message says why, with the console tail after a boot).
pub fn run(req: &VmLoad) -> Result<Answer, String> {
    let object =
        fs::read(&req.object).map_err(|e| format!("reading {}: {e}", req.object.display()))?;
    let name = req
        .object
        .file_name()
        .and_then(|n| n.to_str())
        .filter(|n| !n.contains(['\t', '\n', '\r']))
        .ok_or_else(|| format!("{}: no usable file name", req.object.display()))?
        .to_owned();
    let text = fs::read_to_string(&req.lock)
        .map_err(|e| format!("reading {}: {e}", req.lock.display()))?;
    let pins = lock::parse(&text).map_err(|e| format!("{}: {e}", req.lock.display()))?;
    let pin = pins
        .iter()
        .find(|p| p.series == req.kernel)
        .ok_or_else(|| {
            format!(
                "--kernel {}: not in {} (series there: {})",
                req.kernel,
                req.lock.display(),
                pins.iter()
                    .map(|p| p.series.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })?;
    qemu::ensure_qemu()?;
    fs::create_dir_all(&req.cache).map_err(|e| format!("creating {}: {e}", req.cache.display()))?;
    let apt = Apt::new(&req.cache);
    let (prepared, payload) = std::thread::scope(|s| {
        let k = s.spawn(|| kernel::prepare(pin, &apt, &req.cache));
        let payload = guest::build_vm_load(&req.workspace);
        let k = k
            .join()
            .unwrap_or_else(|_| Err("kernel preparation panicked".into()));
        (k, payload)
    });
    let k = prepared?;
    let payload = payload?;
    if let Some(n) = &k.note {
        eprintln!("vm-load: note: {n}");
    }
    let config = Config {
        filter: None,
        test_timeout: req.boot_timeout,
        exec: guest_argv(&name, req.attach, req.attach_secs, &req.extra),
    };
    let cpio = guest::vm_load_initramfs(&payload, &k, &name, &object, &config)?;
    let run_dir = req.cache.join("run");
    fs::create_dir_all(&run_dir).map_err(|e| format!("creating {}: {e}", run_dir.display()))?;
    // One file per process, so parallel vm-loads do not share an initramfs.
    let initrd = run_dir.join(format!("vm-load-{}-{}.cpio", k.series, std::process::id()));
    fs::write(&initrd, cpio).map_err(|e| format!("writing {}: {e}", initrd.display()))?;
    let label = format!("{} {}", k.package, k.version);
    eprintln!("vm-load: booting {label} with {}", config.exec.join(" "));
    let started = Instant::now();
    let boot = qemu::boot(
        &BootSpec {
            kernel: k.vmlinux.clone(),
            initrd: initrd.clone(),
            memory_mib: req.memory_mib,
            timeout: req.boot_timeout,
        },
        |_, _, _| {},
    );
    let _ = fs::remove_file(&initrd);
    let boot = boot?;
    let elapsed = started.elapsed();
    let tail = || boot.tail(30);
    let Some(output) = parse_command_output(&boot.console) else {
        return Err(format!(
            "kernel {label}: the guest never started the command{} (qemu {}); console tail:\n{}",
            if boot.timed_out {
                ", boot timed out"
            } else {
                ""
            },
            boot.status,
            tail()
        ));
    };
    if output.exit.is_none() {
        return Err(format!(
            "kernel {label}: the command did not finish{} (qemu {}); its output so far:\n{}{}console tail:\n{}",
            if boot.timed_out {
                ", boot timed out"
            } else {
                ""
            },
            boot.status,
            output.stdout,
            output.stderr,
            tail()
        ));
    }
    Ok(Answer {
        label,
        output,
        elapsed,
    })
}

/// Runs [`run`] and prints the answer: the guest's stdout and stderr as this process's,
/// a summary line on stderr; returns the guest command's exit code, or [`NO_ANSWER`].
pub fn main(req: &VmLoad) -> u8 {
    match run(req) {
        Ok(a) => {
            print!("{}", a.output.stdout);
            eprint!("{}", a.output.stderr);
            let exit = a.output.exit.as_deref().unwrap_or("?");
            eprintln!(
                "vm-load: kernel {} ({}): exit {exit} after {:.1} s",
                req.kernel,
                a.label,
                a.elapsed.as_secs_f64()
            );
            match a.output.code() {
                Some(c) => u8::try_from(c).unwrap_or(NO_ANSWER),
                None => NO_ANSWER,
            }
        }
        Err(e) => {
            eprintln!("vm-load: {e}");
            NO_ANSWER
        }
    }
}

/// Default paths relative to this crate (`kernels.lock`, `cache/`, the workspace).
pub fn default_paths() -> (PathBuf, PathBuf, PathBuf) {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    (
        here.join(".."),
        here.join("kernels.lock"),
        here.join("cache"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guest_argv_loads_or_runs_the_packed_object() {
        assert_eq!(
            guest_argv("c.bpf.o", false, 1.0, &[]),
            ["/bin/oxbpf", "load", "/vm/c.bpf.o"]
        );
        assert_eq!(
            guest_argv("c.bpf.o", true, 1.0, &["--log-level".into(), "1".into()]),
            [
                "/bin/oxbpf",
                "run",
                "--duration",
                "1",
                "--log-level",
                "1",
                "/vm/c.bpf.o"
            ]
        );
    }
}

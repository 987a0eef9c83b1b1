//! One boot: qemu TCG with qboot, the ELF kernel and an initramfs; the serial console is
//! read line by line until the guest powers off or the boot timeout kills it.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use oxbpf_vminit::{DONE, ResultLine, TOTAL, parse_result_line};

/// qemu's firmware for direct ELF boots (package qemu-system-x86).
pub const QBOOT: &str = "/usr/share/qemu/qboot.rom";
/// The emulator.
pub const QEMU: &str = "qemu-system-x86_64";

/// Installs qemu-system-x86 with apt when qemu or qboot is missing (says so).
pub fn ensure_qemu() -> Result<(), String> {
    let have_qemu = Command::new(QEMU)
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if have_qemu && Path::new(QBOOT).is_file() {
        return Ok(());
    }
    eprintln!("kernel-tests: apt-get install -y qemu-system-x86 (qemu or {QBOOT} is missing)");
    let st = Command::new("apt-get")
        .args([
            "install",
            "-y",
            "--no-install-recommends",
            "qemu-system-x86",
        ])
        .env("DEBIAN_FRONTEND", "noninteractive")
        .status()
        .map_err(|e| format!("running apt-get install qemu-system-x86: {e}"))?;
    if !st.success() || !Path::new(QBOOT).is_file() {
        return Err(format!(
            "qemu-system-x86 could not be installed ({st}); {QBOOT} is needed"
        ));
    }
    Ok(())
}

/// What to boot.
#[derive(Debug, Clone)]
pub struct BootSpec {
    /// The ELF vmlinux.
    pub kernel: PathBuf,
    /// The initramfs (uncompressed cpio).
    pub initrd: PathBuf,
    /// Guest RAM in MiB.
    pub memory_mib: u32,
    /// Kill qemu after this long.
    pub timeout: Duration,
}

/// What one boot produced.
#[derive(Debug, Clone)]
pub struct Boot {
    /// The whole console output (and qemu's stderr at the end).
    pub console: String,
    /// The result lines, in order.
    pub results: Vec<ResultLine>,
    /// `OXBPF-TOTAL`, if printed.
    pub total: Option<usize>,
    /// True if `OXBPF-DONE` was printed.
    pub done: bool,
    /// True if the timeout killed qemu.
    pub timed_out: bool,
    /// qemu's exit status as text.
    pub status: String,
    /// Wall time of the boot.
    pub elapsed: Duration,
}

impl Boot {
    /// The last `n` console lines.
    pub fn tail(&self, n: usize) -> String {
        let lines: Vec<&str> = self.console.lines().collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }
}

/// The qemu command line of HOST.md's verified recipe.
pub fn command(spec: &BootSpec) -> Command {
    let mut c = Command::new(QEMU);
    c.args(["-accel", "tcg", "-machine", "pc", "-m"])
        .arg(spec.memory_mib.to_string())
        .args([
            "-smp",
            "1",
            "-display",
            "none",
            "-vga",
            "none",
            "-serial",
            "stdio",
            "-monitor",
            "none",
            "-no-reboot",
            "-nic",
            "none",
            "-bios",
            QBOOT,
            "-kernel",
        ])
        .arg(&spec.kernel)
        .arg("-initrd")
        .arg(&spec.initrd)
        .args([
            "-append",
            // no_timer_check: under software emulation on a loaded host the IO-APIC timer
            // check can miss its window and panic ("IO-APIC + timer doesn't work!").
            "console=ttyS0 panic=-1 quiet no_timer_check",
            "-device",
            "isa-debug-exit,iobase=0xf4,iosize=0x04",
        ]);
    c
}

/// Boots and collects; `progress(done, total, line)` is called for every result line.
pub fn boot(
    spec: &BootSpec,
    mut progress: impl FnMut(usize, Option<usize>, &ResultLine),
) -> Result<Boot, String> {
    let start = Instant::now();
    let mut child = command(spec)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("starting {QEMU}: {e}"))?;
    let stdout = child.stdout.take().ok_or("qemu has no stdout pipe")?;
    let mut stderr = child.stderr.take().ok_or("qemu has no stderr pipe")?;
    let (tx, rx) = mpsc::channel::<String>();
    let reader = std::thread::spawn(move || {
        let mut r = BufReader::new(stdout);
        let mut buf = Vec::new();
        loop {
            buf.clear();
            match r.read_until(b'\n', &mut buf) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    let line = String::from_utf8_lossy(&buf)
                        .trim_end_matches(['\n', '\r'])
                        .to_owned();
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            }
        }
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let deadline = start + spec.timeout;
    let mut b = Boot {
        console: String::new(),
        results: Vec::new(),
        total: None,
        done: false,
        timed_out: false,
        status: String::new(),
        elapsed: Duration::ZERO,
    };
    loop {
        let now = Instant::now();
        if now >= deadline {
            b.timed_out = true;
            let _ = child.kill();
            break;
        }
        match rx.recv_timeout(deadline - now) {
            Ok(line) => {
                if let Some(r) = parse_result_line(&line) {
                    b.results.push(r);
                    if let Some(r) = b.results.last() {
                        progress(b.results.len(), b.total, r);
                    }
                } else if let Some(n) = line.strip_prefix(TOTAL) {
                    b.total = n.trim().parse().ok();
                } else if line.starts_with(DONE) {
                    b.done = true;
                }
                b.console.push_str(&line);
                b.console.push('\n');
            }
            Err(mpsc::RecvTimeoutError::Timeout) => continue,
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    let status = child.wait().map_err(|e| format!("waiting for qemu: {e}"))?;
    let _ = reader.join();
    let err = err_reader.join().unwrap_or_default();
    if !err.trim().is_empty() {
        b.console.push_str("[qemu stderr] ");
        b.console.push_str(err.trim_end());
        b.console.push('\n');
    }
    b.status = status.to_string();
    b.elapsed = start.elapsed();
    Ok(b)
}

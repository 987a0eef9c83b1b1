//! `/init` of a kernel-matrix guest: mount the pseudo file systems, load the modules,
//! run every test of every binary under /tests one by one, print the result block on the
//! console and power off. Run outside a guest it refuses (it is not PID 1).

#![forbid(unsafe_code)]

use std::ffi::CString;
use std::fs::{self, File};
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use nix::kmod::{ModuleInitFlags, finit_module};
use nix::mount::{MsFlags, mount};
use nix::sys::reboot::{RebootMode, reboot};

use oxbpf_vminit::{
    CMD_BEGIN, CMD_END, CMD_ERR, CMD_OUT, CONFIG_PATH, Config, DONE, LOG, MODULES_DIR, ResultLine,
    SETUP, TESTS_DIR, TOTAL, Verdict, classify, parse_test_list,
};

/// The kernel decompresses the module itself (Linux 6.4+, `MODULE_INIT_COMPRESSED_FILE`).
const MODULE_INIT_COMPRESSED_FILE: u32 = 4;
/// Lines of a failed test's output echoed to the console.
const LOG_TAIL_LINES: usize = 60;
/// `PATH` of the tests: the host tools (`ip`, `tc`, `bash`) are packed at their host paths.
const GUEST_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

fn main() {
    // Multi-call: the tests exec /bin/true and /bin/false, which are this binary too.
    let argv0 = std::env::args().next().unwrap_or_default();
    match argv0.rsplit('/').next() {
        Some("true") => std::process::exit(0),
        Some("false") => std::process::exit(1),
        _ => {}
    }
    if std::process::id() != 1 {
        eprintln!("oxbpf-vminit is the /init of a kernel-matrix guest; it runs only as PID 1");
        std::process::exit(2);
    }
    run();
    let _ = std::io::stdout().flush();
    nix::unistd::sync();
    // Powering off makes qemu (-no-reboot) exit; if even that fails, returning from PID 1
    // panics the kernel, which with panic=-1 also ends qemu.
    let Err(e) = reboot(RebootMode::RB_POWER_OFF);
    println!("{SETUP} poweroff {e}");
}

fn run() {
    let release = fs::read_to_string("/proc/sys/kernel/osrelease");
    setup_mounts();
    let release = release
        .or_else(|_| fs::read_to_string("/proc/sys/kernel/osrelease"))
        .unwrap_or_else(|e| format!("unknown ({e})"));
    println!("OXBPF-BEGIN {}", release.trim());
    load_modules();
    loopback_up();
    let config = match fs::read_to_string(CONFIG_PATH) {
        Ok(text) => Config::parse(&text).unwrap_or_else(|e| {
            println!("{SETUP} config {e}");
            Config::default()
        }),
        Err(e) => {
            println!("{SETUP} config {CONFIG_PATH}: {e} (using defaults)");
            Config::default()
        }
    };
    // The tests' output goes through a file under /tmp.
    let _ = fs::create_dir_all("/tmp");
    if !config.exec.is_empty() {
        run_exec(&config.exec, config.test_timeout);
        println!("{DONE}");
        return;
    }
    let plan = plan(&config);
    println!(
        "{TOTAL} {}",
        plan.iter().map(|(_, _, t)| t.len()).sum::<usize>()
    );
    let (mut pass, mut fail, mut skip) = (0usize, 0usize, 0usize);
    for (id, path, tests) in &plan {
        for test in tests {
            let r = run_one(id, path, test, config.test_timeout);
            match r.verdict {
                Verdict::Pass => pass += 1,
                Verdict::Fail | Verdict::Timeout => fail += 1,
                Verdict::Skip | Verdict::Ignored => skip += 1,
            }
        }
    }
    println!("{DONE} passed={pass} failed={fail} skipped={skip}");
}

/// Runs the one command of `vm-load` and echoes its stdout and stderr, line by line
/// with [`CMD_OUT`]/[`CMD_ERR`] prefixes, between [`CMD_BEGIN`] and [`CMD_END`].
fn run_exec(argv: &[String], timeout: Duration) {
    let Some((prog, args)) = argv.split_first() else {
        return;
    };
    println!("{CMD_BEGIN} {}", argv.join(" "));
    let (out_path, err_path) = (
        Path::new("/tmp/oxbpf-cmd-out"),
        Path::new("/tmp/oxbpf-cmd-err"),
    );
    let spawned = File::create(out_path)
        .and_then(|o| File::create(err_path).map(|e| (o, e)))
        .and_then(|(o, e)| {
            Command::new(prog)
                .args(args)
                .env("PATH", GUEST_PATH)
                .env("OXBPF_GUEST", "tcg")
                .current_dir("/")
                .stdin(Stdio::null())
                .stdout(o)
                .stderr(e)
                .spawn()
        });
    let exit = match spawned {
        Err(e) => format!("spawn {prog}: {e}"),
        Ok(mut child) => {
            let deadline = Instant::now() + timeout;
            loop {
                match child.try_wait() {
                    Ok(Some(st)) => {
                        break match (
                            st.code(),
                            std::os::unix::process::ExitStatusExt::signal(&st),
                        ) {
                            (Some(c), _) => c.to_string(),
                            (None, Some(sig)) => format!("signal {sig}"),
                            (None, None) => st.to_string(),
                        };
                    }
                    Ok(None) if Instant::now() >= deadline => {
                        let _ = child.kill();
                        let _ = child.wait();
                        break "timeout".to_owned();
                    }
                    Ok(None) => std::thread::sleep(Duration::from_millis(5)),
                    Err(e) => break format!("wait {e}"),
                }
            }
        }
    };
    for (path, prefix) in [(out_path, CMD_OUT), (err_path, CMD_ERR)] {
        let text = fs::read(path).unwrap_or_default();
        for l in String::from_utf8_lossy(&text).lines() {
            if l.is_empty() {
                println!("{prefix}");
            } else {
                println!("{prefix} {l}");
            }
        }
    }
    println!("{CMD_END} exit={exit}");
}

fn setup_mounts() {
    // No tmpfs on /tmp: the initramfs root is already writable, and the host may have
    // packed the workspace (fixtures) under /tmp.
    let mounts: [(&str, &str, &str); 7] = [
        ("proc", "/proc", "proc"),
        ("sysfs", "/sys", "sysfs"),
        ("devtmpfs", "/dev", "devtmpfs"),
        ("tracefs", "/sys/kernel/tracing", "tracefs"),
        ("debugfs", "/sys/kernel/debug", "debugfs"),
        ("bpf", "/sys/fs/bpf", "bpf"),
        ("cgroup2", "/sys/fs/cgroup", "cgroup2"),
    ];
    for (source, target, fstype) in mounts {
        let _ = fs::create_dir_all(target);
        let res = mount(
            Some(source),
            target,
            Some(fstype),
            MsFlags::empty(),
            None::<&str>,
        );
        match res {
            Ok(()) => println!("{SETUP} mount {fstype} {target} ok"),
            Err(e) => println!("{SETUP} mount {fstype} {target} {e}"),
        }
    }
}

fn load_modules() {
    let mut names: Vec<PathBuf> = match fs::read_dir(MODULES_DIR) {
        Ok(rd) => rd.filter_map(|e| e.ok().map(|e| e.path())).collect(),
        Err(_) => return,
    };
    names.sort();
    for path in names {
        let name = path.display();
        let compressed = path
            .extension()
            .is_some_and(|e| e == "xz" || e == "zst" || e == "gz");
        let flags = if compressed {
            ModuleInitFlags::from_bits_retain(MODULE_INIT_COMPRESSED_FILE)
        } else {
            ModuleInitFlags::empty()
        };
        let res = File::open(&path).map_err(|e| e.to_string()).and_then(|f| {
            let params = CString::default();
            finit_module(&f, &params, flags).map_err(|e| e.to_string())
        });
        match res {
            Ok(()) => println!("{SETUP} module {name} ok"),
            Err(e) if e.contains("EEXIST") => println!("{SETUP} module {name} ok (built in)"),
            Err(e) => println!("{SETUP} module {name} {e}"),
        }
    }
}

/// Brings `lo` up (tests use 127.0.0.1) with the packed `ip`, if there is one.
fn loopback_up() {
    let Some(ip) = GUEST_PATH
        .split(':')
        .map(|d| Path::new(d).join("ip"))
        .find(|p| p.is_file())
    else {
        println!("{SETUP} lo up: no ip in {GUEST_PATH}");
        return;
    };
    let out = Command::new(&ip)
        .args(["link", "set", "dev", "lo", "up"])
        .env("PATH", GUEST_PATH)
        .stdin(Stdio::null())
        .output();
    match out {
        Ok(o) if o.status.success() => println!("{SETUP} lo up ok"),
        Ok(o) => println!(
            "{SETUP} lo up {}: {}",
            o.status,
            String::from_utf8_lossy(&o.stderr).trim()
        ),
        Err(e) => println!("{SETUP} lo up {}: {e}", ip.display()),
    }
}

/// `(id, path, selected tests)` per binary, in path order.
fn plan(config: &Config) -> Vec<(String, PathBuf, Vec<String>)> {
    let mut binaries = Vec::new();
    for pkg in sorted_dir(Path::new(TESTS_DIR)) {
        for bin in sorted_dir(&pkg) {
            let executable = fs::metadata(&bin)
                .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
                .unwrap_or(false);
            if executable {
                let id = format!(
                    "{}/{}",
                    pkg.file_name().unwrap_or_default().to_string_lossy(),
                    bin.file_name().unwrap_or_default().to_string_lossy()
                );
                binaries.push((id, bin));
            }
        }
    }
    let mut plan = Vec::new();
    for (id, bin) in binaries {
        let out = Command::new(&bin)
            .args(["--list", "--format", "terse"])
            .stdin(Stdio::null())
            .stderr(Stdio::inherit())
            .output();
        match out {
            Ok(o) if o.status.success() => {
                let tests: Vec<String> = parse_test_list(&String::from_utf8_lossy(&o.stdout))
                    .into_iter()
                    .filter(|t| config.selects(&id, t))
                    .collect();
                plan.push((id, bin, tests));
            }
            Ok(o) => println!("{SETUP} list {id} exited with {}", o.status),
            Err(e) => println!("{SETUP} list {id} {e}"),
        }
    }
    plan
}

fn sorted_dir(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = fs::read_dir(dir)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    v.sort();
    v
}

fn run_one(id: &str, bin: &Path, test: &str, timeout: Duration) -> ResultLine {
    let start = Instant::now();
    let outcome = spawn_with_timeout(bin, test, timeout);
    let millis = u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX);
    let (verdict, reason, output) = match outcome {
        Ok((Some(status), output)) => {
            let (v, r) = classify(test, status.success(), &output);
            let r = if v == Verdict::Fail && r.is_empty() {
                status.to_string()
            } else {
                r
            };
            (v, r, output)
        }
        Ok((None, output)) => (
            Verdict::Timeout,
            format!("killed after {}s", timeout.as_secs()),
            output,
        ),
        Err(e) => (Verdict::Fail, format!("cannot run: {e}"), String::new()),
    };
    if verdict.is_failure() {
        let lines: Vec<&str> = output.lines().collect();
        let from = lines.len().saturating_sub(LOG_TAIL_LINES);
        for l in &lines[from..] {
            println!("{LOG} {id} {test} | {l}");
        }
    }
    let line = ResultLine {
        binary: id.to_owned(),
        test: test.to_owned(),
        verdict,
        millis,
        reason,
    };
    println!("{line}");
    line
}

/// Runs one test; `None` status means it was killed at the timeout. Output (stdout and
/// stderr interleaved) goes through a file in /tmp, so a chatty test cannot block on a pipe.
fn spawn_with_timeout(
    bin: &Path,
    test: &str,
    timeout: Duration,
) -> std::io::Result<(Option<ExitStatus>, String)> {
    let out_path = Path::new("/tmp/oxbpf-test-output");
    let out = File::create(out_path)?;
    let mut child = Command::new(bin)
        .args(["--exact", test, "--nocapture", "--test-threads=1"])
        .env("RUST_BACKTRACE", "1")
        .env("PATH", GUEST_PATH)
        // Tests with time budgets widen them: qemu TCG emulates every instruction.
        .env("OXBPF_GUEST", "tcg")
        .current_dir("/")
        .stdin(Stdio::null())
        .stdout(out.try_clone()?)
        .stderr(out)
        .spawn()?;
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(s) = child.try_wait()? {
            break Some(s);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let output = String::from_utf8_lossy(&fs::read(out_path)?).into_owned();
    Ok((status, output))
}

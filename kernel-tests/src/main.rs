//! `cargo run -p kernel-tests -- [--kernel 6.1] [--filter substr]`: the kernel matrix;
//! `cargo run -p kernel-tests -- vm-load <obj> --kernel 6.1 [--attach]`: one load.

#![forbid(unsafe_code)]

use std::collections::VecDeque;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use clap::Parser;

use kernel_tests::apt::Apt;
use kernel_tests::bzimage;
use kernel_tests::guest::{self, Payload};
use kernel_tests::kernel::{self, Prepared};
use kernel_tests::lock::{self, Pin};
use kernel_tests::qemu::{self, BootSpec};
use kernel_tests::report::{self, KernelRun};
use oxbpf_vminit::Config;

/// Boot the pinned kernels under qemu and run the kernel tests inside each.
#[derive(Debug, Parser)]
struct Args {
    /// Kernel series to run (repeatable or comma-separated); default: all in kernels.lock.
    #[arg(long, value_delimiter = ',')]
    kernel: Vec<String>,
    /// Run only tests whose `<pkg>/<target>::<test>` contains this.
    #[arg(long)]
    filter: Option<String>,
    /// Boot this image (a bzImage or an ELF vmlinux) instead of the locked kernels.
    #[arg(long)]
    kernel_image: Option<PathBuf>,
    /// The workspace whose tests are built (default: the one this runner belongs to).
    #[arg(long)]
    workspace: Option<PathBuf>,
    /// The lock file (default: kernels.lock next to this crate's Cargo.toml).
    #[arg(long)]
    lock: Option<PathBuf>,
    /// Download and preparation cache (default: kernel-tests/cache).
    #[arg(long)]
    cache: Option<PathBuf>,
    /// Kernels booted at once (default: the number of CPUs).
    #[arg(long)]
    jobs: Option<usize>,
    /// Kill a boot after this many seconds.
    #[arg(long, default_value_t = 600)]
    boot_timeout: u64,
    /// Kill a single test after this many seconds.
    #[arg(long, default_value_t = 120)]
    test_timeout: u64,
    /// Guest memory in MiB (default: enough for the initramfs, which unpacks into RAM:
    /// 4 × its size + 512, at least 1024).
    #[arg(long)]
    memory: Option<u32>,
    /// Rewrite kernels.lock with the kernels actually used when a pin was re-resolved
    /// (its version gone from the archive).
    #[arg(long)]
    update_lock: bool,
}

/// `vm-load`: load (and with --attach, attach) one object inside one matrix kernel and
/// print what the guest's `oxbpf` said; exits with its status (125: no answer).
#[derive(Debug, Parser)]
#[command(name = "kernel-tests vm-load")]
struct VmLoadArgs {
    /// The BPF ELF object.
    object: PathBuf,
    /// The kernel series of kernels.lock (e.g. 5.10, 6.1, 6.12).
    #[arg(long)]
    kernel: String,
    /// Attach too: the guest runs `oxbpf run --duration SECS` instead of `oxbpf load`.
    #[arg(long)]
    attach: bool,
    /// How long --attach keeps the programs attached.
    #[arg(long, default_value_t = 1.0, value_name = "SECS")]
    duration: f64,
    /// The workspace whose `oxbpf` is built for the guest.
    #[arg(long)]
    workspace: Option<PathBuf>,
    /// The lock file (default: kernels.lock next to this crate's Cargo.toml).
    #[arg(long)]
    lock: Option<PathBuf>,
    /// Download and preparation cache (default: kernel-tests/cache).
    #[arg(long)]
    cache: Option<PathBuf>,
    /// Kill the boot after this many seconds.
    #[arg(long, default_value_t = 300)]
    boot_timeout: u64,
    /// Guest memory in MiB.
    #[arg(long, default_value_t = 512)]
    memory: u32,
    /// Passed to the guest's `oxbpf load`/`run` before the object (e.g. -- --log-level 1).
    #[arg(last = true)]
    extra: Vec<String>,
}

fn vm_load(argv: impl Iterator<Item = std::ffi::OsString>) -> ExitCode {
    let a = VmLoadArgs::parse_from(argv);
    let (ws, lock, cache) = kernel_tests::vmload::default_paths();
    let req = kernel_tests::vmload::VmLoad {
        object: a.object,
        kernel: a.kernel,
        attach: a.attach,
        attach_secs: a.duration,
        extra: a.extra,
        workspace: a.workspace.unwrap_or(ws),
        lock: a.lock.unwrap_or(lock),
        cache: a.cache.unwrap_or(cache),
        boot_timeout: Duration::from_secs(a.boot_timeout),
        memory_mib: a.memory,
    };
    ExitCode::from(kernel_tests::vmload::main(&req))
}

fn main() -> ExitCode {
    let mut argv = std::env::args_os();
    if std::env::args_os().nth(1).is_some_and(|a| a == "vm-load") {
        let first = argv.next();
        argv.next();
        return vm_load(first.into_iter().chain(argv));
    }
    let args = Args::parse();
    match run(&args) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("kernel-tests: {e}");
            ExitCode::from(2)
        }
    }
}

fn canonical(p: &Path) -> Result<PathBuf, String> {
    fs::canonicalize(p).map_err(|e| format!("{}: {e}", p.display()))
}

fn run(args: &Args) -> Result<bool, String> {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let workspace = canonical(&args.workspace.clone().unwrap_or_else(|| here.join("..")))?;
    let cache = args.cache.clone().unwrap_or_else(|| here.join("cache"));
    fs::create_dir_all(&cache).map_err(|e| format!("creating {}: {e}", cache.display()))?;
    let cache = canonical(&cache)?;
    let lock_path = args
        .lock
        .clone()
        .unwrap_or_else(|| here.join("kernels.lock"));
    let text = fs::read_to_string(&lock_path)
        .map_err(|e| format!("reading {}: {e}", lock_path.display()))?;
    let mut pins = lock::parse(&text).map_err(|e| format!("{}: {e}", lock_path.display()))?;
    if !args.kernel.is_empty() {
        for k in &args.kernel {
            if !pins.iter().any(|p| &p.series == k) {
                return Err(format!(
                    "--kernel {k}: not in {} (series there: {})",
                    lock_path.display(),
                    pins.iter()
                        .map(|p| p.series.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
        }
        pins.retain(|p| args.kernel.contains(&p.series));
    }
    qemu::ensure_qemu()?;
    let config = Config {
        filter: args.filter.clone(),
        test_timeout: Duration::from_secs(args.test_timeout),
        exec: Vec::new(),
    };
    let apt = Apt::new(&cache);
    let started = Instant::now();

    // Prepare the kernels while cargo builds the guest.
    let (payload, prepared) = std::thread::scope(|s| {
        let handles: Vec<_> = if let Some(img) = &args.kernel_image {
            vec![s.spawn(|| {
                let t = Instant::now();
                (custom_kernel(img, &cache), t.elapsed(), "custom".to_owned())
            })]
        } else {
            pins.iter()
                .map(|pin: &Pin| {
                    let (apt, cache) = (&apt, &cache);
                    s.spawn(move || {
                        let t = Instant::now();
                        (
                            kernel::prepare(pin, apt, cache),
                            t.elapsed(),
                            pin.series.clone(),
                        )
                    })
                })
                .collect()
        };
        let payload = guest::build(&workspace);
        let prepared: Vec<_> = handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    (
                        Err("preparation panicked".into()),
                        Duration::ZERO,
                        "?".into(),
                    )
                })
            })
            .collect();
        (payload, prepared)
    });
    let payload = payload?;
    if args.update_lock {
        update_lock(&lock_path, &text, &prepared)?;
    }
    eprintln!(
        "kernel-tests: {} test binaries, {} kernels prepared in {:.1} s",
        payload.tests.len(),
        prepared.len(),
        started.elapsed().as_secs_f64()
    );

    let runs = boot_all(args, &cache, &payload, &config, prepared);
    print!("{}", report::render(&runs));
    println!("total wall time {:.1} s", started.elapsed().as_secs_f64());
    let ok = runs.iter().all(KernelRun::ok);
    let failed = runs.iter().filter(|r| !r.ok()).count();
    if !ok {
        println!("{failed} of {} kernels failed", runs.len());
    }
    Ok(ok)
}

/// `--update-lock`: writes the kernels actually used (after a re-resolve) into the lock.
fn update_lock(path: &Path, text: &str, prepared: &[PrepResult]) -> Result<(), String> {
    let used: Vec<Pin> = prepared
        .iter()
        .filter_map(|(k, _, _)| k.as_ref().ok())
        .filter(|k| k.series != "custom" && !k.sha256.is_empty())
        .map(|k| Pin {
            series: k.series.clone(),
            suite: String::new(),
            package: k.package.clone(),
            version: k.version.clone(),
            sha256: k.sha256.clone(),
        })
        .collect();
    match lock::update(text, &used).map_err(|e| format!("{}: {e}", path.display()))? {
        None => eprintln!("kernel-tests: --update-lock: {} is current", path.display()),
        Some(new) => {
            fs::write(path, new).map_err(|e| format!("writing {}: {e}", path.display()))?;
            eprintln!(
                "kernel-tests: --update-lock: rewrote {} with the re-resolved kernels",
                path.display()
            );
        }
    }
    Ok(())
}

type PrepResult = (Result<Prepared, String>, Duration, String);

fn boot_all(
    args: &Args,
    cache: &Path,
    payload: &Payload,
    config: &Config,
    prepared: Vec<PrepResult>,
) -> Vec<KernelRun> {
    let jobs = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    let n = prepared.len();
    let queue: Mutex<VecDeque<(usize, PrepResult)>> =
        Mutex::new(prepared.into_iter().enumerate().collect());
    let results: Mutex<Vec<Option<KernelRun>>> = Mutex::new((0..n).map(|_| None).collect());
    std::thread::scope(|s| {
        for _ in 0..jobs.min(n) {
            s.spawn(|| {
                loop {
                    let next = queue.lock().unwrap_or_else(|p| p.into_inner()).pop_front();
                    let Some((i, (prep, prep_time, series))) = next else {
                        break;
                    };
                    let run = boot_one(args, cache, payload, config, prep, prep_time, series);
                    results.lock().unwrap_or_else(|p| p.into_inner())[i] = Some(run);
                }
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_else(|p| p.into_inner())
        .into_iter()
        .flatten()
        .collect()
}

fn boot_one(
    args: &Args,
    cache: &Path,
    payload: &Payload,
    config: &Config,
    prep: Result<Prepared, String>,
    prep_time: Duration,
    series: String,
) -> KernelRun {
    let k = match prep {
        Ok(k) => k,
        Err(e) => {
            return KernelRun {
                series,
                label: String::new(),
                notes: vec![],
                prepare: prep_time,
                boot: Err(e),
            };
        }
    };
    let mut notes: Vec<String> = k.note.iter().cloned().collect();
    if !k.missing_modules.is_empty() {
        notes.push(format!(
            "modules not shipped as .ko (built in or absent): {}",
            k.missing_modules.join(", ")
        ));
    }
    let label = format!("{} {}", k.package, k.version);
    let t = Instant::now();
    let initrd = cache.join("run").join(format!("{}.cpio", k.series));
    let built = guest::initramfs(payload, &k, config).and_then(|bytes| {
        fs::create_dir_all(cache.join("run")).map_err(|e| format!("creating run dir: {e}"))?;
        fs::write(&initrd, bytes).map_err(|e| format!("writing {}: {e}", initrd.display()))
    });
    let prepare = prep_time + t.elapsed();
    if let Err(e) = built {
        return KernelRun {
            series,
            label,
            notes,
            prepare,
            boot: Err(e),
        };
    }
    eprintln!("[{series}] booting {label}");
    let memory_mib = args.memory.unwrap_or_else(|| auto_memory_mib(&initrd));
    let spec = BootSpec {
        kernel: k.vmlinux.clone(),
        initrd,
        memory_mib,
        timeout: Duration::from_secs(args.boot_timeout),
    };
    let boot = qemu::boot(&spec, |done, total, r| {
        let total = total.map_or("?".to_owned(), |t| t.to_string());
        eprintln!(
            "[{series}] {done}/{total} {}::{} {}",
            r.binary,
            r.test,
            r.verdict.word()
        );
    });
    if let Ok(b) = &boot {
        eprintln!("[{series}] finished in {:.1} s", b.elapsed.as_secs_f64());
    }
    KernelRun {
        series,
        label,
        notes,
        prepare,
        boot,
    }
}

/// `--kernel-image`: a bzImage or ELF given by hand, checked before it is booted.
fn custom_kernel(image: &Path, cache: &Path) -> Result<Prepared, String> {
    let bytes = fs::read(image).map_err(|e| format!("reading {}: {e}", image.display()))?;
    let elf = bzimage::extract_vmlinux(&bytes).map_err(|e| format!("{}: {e}", image.display()))?;
    let dir = cache.join("custom");
    fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    let vmlinux = dir.join("vmlinux");
    fs::write(&vmlinux, &elf).map_err(|e| format!("writing {}: {e}", vmlinux.display()))?;
    let btf = bzimage::btf_section(&elf).and_then(|b| {
        let p = dir.join("vmlinux.btf");
        fs::write(&p, b).ok().map(|_| p)
    });
    Ok(Prepared {
        series: "custom".into(),
        package: image.display().to_string(),
        version: String::new(),
        sha256: String::new(),
        vmlinux,
        btf,
        config: None,
        modules: vec![],
        missing_modules: vec![],
        note: Some("--kernel-image: no modules packed".into()),
    })
}

/// Guest memory for an initramfs at `initrd`: the cpio and its unpacked copy both live in
/// RAM until the kernel frees the first, and the tests need room of their own (ring
/// buffers of 64 MiB and more): 4 × the size + 512 MiB, at least 1024 MiB.
fn auto_memory_mib(initrd: &std::path::Path) -> u32 {
    let size_mib = fs::metadata(initrd).map_or(0, |m| m.len() >> 20);
    let want = size_mib.saturating_mul(4).saturating_add(512).max(1024);
    u32::try_from(want).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod memory_tests {
    #[test]
    fn guest_memory_grows_with_the_initramfs() {
        let dir = std::env::temp_dir().join(format!("oxbpf-mem-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let small = dir.join("small.cpio");
        std::fs::write(&small, vec![0u8; 1 << 20]).unwrap();
        assert_eq!(super::auto_memory_mib(&small), 1024);
        let big = dir.join("big.cpio");
        let f = std::fs::File::create(&big).unwrap();
        f.set_len(200 << 20).unwrap();
        assert_eq!(super::auto_memory_mib(&big), 1312);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

//! `oxbpf prog list`, `oxbpf prog show <id | pinned path> [--stats-for SECS]` and
//! `oxbpf prog dump <id | pinned path> [--xlated | --jited-bytes]`: the programs the
//! kernel holds, their run-time statistics, and their code after verification.
//! `oxbpf prog run <obj.o | id:N | pinned path> [program] [--data-hex HEX | --data-in FILE]
//! [--ctx-hex HEX | --ctx-in FILE] [--repeat N] [--cpu N] [--json]` runs one with
//! BPF_PROG_TEST_RUN ([`oxbpf::test_run`]): return value, average duration, and the packet
//! and context it left.
//!
//! Run statistics (`run_cnt`, `run_time_ns`) only count while the kernel's BPF stats are
//! on: `kernel.bpf_stats_enabled=1`, or a `BPF_ENABLE_STATS` descriptor held by anyone
//! (5.8+). `prog show --stats-for SECS` holds one for that window and reports what the
//! program did in it — the quick check that a loaded program runs at all.
//! `recursion_misses` (5.12+) counts runs the kernel skipped because the program was
//! already running on that CPU.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::path::Path;
use std::time::{Duration, Instant};

use clap::Subcommand;
use oxbpf::asm::{DisasmOptions, Insn, disassemble, insns_from_bytes};
use oxbpf::sys::bpf::{self, ProgInfo};
use oxbpf::sys::{Errno, ProgFd};

use crate::output::hex;
use crate::probe_cmd::{emit, short_name};

/// `prog` subcommands.
#[derive(Subcommand, Debug)]
pub enum ProgCmd {
    /// List loaded programs: id, type, name, tag (and run_cnt/run_time_ns when
    /// kernel.bpf_stats_enabled is on or any program has counts).
    List,
    /// Show a loaded program: type, name, tag, sizes, maps, and its run statistics
    /// (run_cnt, run_time_ns, recursion_misses).
    Show {
        /// Program id, or the path of a program pinned on a bpffs.
        program: String,
        /// Enable BPF run-time statistics (BPF_ENABLE_STATS, 5.8+) for this many seconds
        /// and report the runs counted in that window.
        #[arg(long, value_name = "SECS")]
        stats_for: Option<f64>,
    },
    /// Print a loaded program's code as the kernel holds it.
    Dump {
        /// Program id, or the path of a program pinned on a bpffs.
        program: String,
        /// The instructions after verification and rewriting, disassembled (default).
        #[arg(long, conflicts_with = "jited_bytes")]
        xlated: bool,
        /// The JIT's machine code as hex bytes.
        #[arg(long)]
        jited_bytes: bool,
    },
    /// Run a program once (or --repeat times) with BPF_PROG_TEST_RUN and print its return
    /// value, the average duration and the packet / context it left (hex).
    Run(RunArgs),
}

/// `prog run` arguments.
#[derive(clap::Args, Debug)]
pub struct RunArgs {
    /// A BPF ELF object to load, `id:N` of a loaded program, or a pinned program's path.
    pub target: String,
    /// The program to run (of an object; optional when it has only one).
    pub program: Option<String>,
    /// Packet data from a file.
    #[arg(long, value_name = "FILE", conflicts_with = "data_hex")]
    pub data_in: Option<std::path::PathBuf>,
    /// Packet data as hex (`0a0b0c...`; spaces allowed).
    #[arg(long, value_name = "HEX")]
    pub data_hex: Option<String>,
    /// Context (`struct __sk_buff`, `struct xdp_md`, the u64 arguments, ...) from a file.
    #[arg(long, value_name = "FILE", conflicts_with = "ctx_hex")]
    pub ctx_in: Option<std::path::PathBuf>,
    /// Context as hex.
    #[arg(long, value_name = "HEX")]
    pub ctx_hex: Option<String>,
    /// Room for the output packet in bytes (default: the input's size + 4096).
    #[arg(long, value_name = "N")]
    pub data_size_out: Option<usize>,
    /// Room for the output context in bytes (default: the input context's size).
    #[arg(long, value_name = "N")]
    pub ctx_size_out: Option<usize>,
    /// Run this many times; the duration is the average.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub repeat: u32,
    /// Run on this CPU (BPF_F_TEST_RUN_ON_CPU; raw_tp programs).
    #[arg(long, value_name = "N")]
    pub cpu: Option<u32>,
    /// BPF_F_TEST_* flags: `xdp-live-frames`, `run-on-cpu` or a number, comma-separated.
    #[arg(long, value_name = "FLAGS")]
    pub flags: Option<String>,
    /// BPF_F_* load flags for the object's programs (see `oxbpf load --prog-flags`).
    #[arg(long, value_name = "FLAGS")]
    pub prog_flags: Option<String>,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

type CmdResult = Result<(), Box<dyn std::error::Error>>;

/// Runs a `prog` subcommand.
pub fn run(cmd: ProgCmd) -> CmdResult {
    match cmd {
        ProgCmd::List => emit(&list()?),
        ProgCmd::Show { program, stats_for } => {
            let window = stats_for
                .map(|s| {
                    if s.is_finite() && s > 0.0 && s <= 86_400.0 {
                        Ok(Duration::from_secs_f64(s))
                    } else {
                        Err(format!(
                            "--stats-for {s}: give a number of seconds above 0 (at most a day)"
                        ))
                    }
                })
                .transpose()?;
            emit(&show(&program, window)?)
        }
        ProgCmd::Dump {
            program,
            jited_bytes,
            ..
        } => emit(&dump(&program, jited_bytes)?),
        ProgCmd::Run(args) => emit(&run_program(&args)?),
    }
}

/// Bytes from hex text (whitespace and a leading `0x` ignored).
fn parse_hex(what: &str, text: &str) -> Result<Vec<u8>, String> {
    let digits: String = text.split_whitespace().collect();
    let digits = digits.strip_prefix("0x").unwrap_or(&digits);
    if digits.len() % 2 != 0 {
        return Err(format!(
            "{what}: odd number of hex digits ({})",
            digits.len()
        ));
    }
    (0..digits.len())
        .step_by(2)
        .map(|i| {
            digits
                .get(i..i + 2)
                .and_then(|d| u8::from_str_radix(d, 16).ok())
                .ok_or_else(|| format!("{what}: not hex at digit {i}: {:?}", &digits[i..]))
        })
        .collect()
}

/// Input bytes from `--X-in FILE` or `--X-hex HEX` (empty when neither).
fn input(
    what: &str,
    file: Option<&Path>,
    hex_text: Option<&str>,
) -> Result<Vec<u8>, Box<dyn std::error::Error>> {
    if let Some(f) = file {
        return std::fs::read(f).map_err(|e| format!("--{what}-in {}: {e}", f.display()).into());
    }
    match hex_text {
        Some(h) => Ok(parse_hex(&format!("--{what}-hex"), h)?),
        None => Ok(Vec::new()),
    }
}

/// `BPF_F_TEST_*` flags from names or numbers.
fn parse_test_flags(text: &str) -> Result<u32, String> {
    let mut flags = 0;
    for item in text.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        flags |= match item.to_ascii_lowercase().replace('_', "-").as_str() {
            "run-on-cpu" | "bpf-f-test-run-on-cpu" => bpf::TEST_RUN_ON_CPU,
            "xdp-live-frames" | "bpf-f-test-xdp-live-frames" => bpf::TEST_XDP_LIVE_FRAMES,
            other => match other.strip_prefix("0x") {
                Some(h) => u32::from_str_radix(h, 16).ok(),
                None => other.parse().ok(),
            }
            .ok_or_else(|| {
                format!("--flags {item:?}: not a number nor run-on-cpu, xdp-live-frames")
            })?,
        };
    }
    Ok(flags)
}

/// The `prog run` output.
pub fn run_program(args: &RunArgs) -> Result<String, Box<dyn std::error::Error>> {
    let opts = oxbpf::TestRunOptions {
        data_in: input("data", args.data_in.as_deref(), args.data_hex.as_deref())?,
        ctx_in: input("ctx", args.ctx_in.as_deref(), args.ctx_hex.as_deref())?,
        data_size_out: args.data_size_out,
        ctx_size_out: args.ctx_size_out,
        repeat: args.repeat,
        cpu: args.cpu,
        flags: args
            .flags
            .as_deref()
            .map(parse_test_flags)
            .transpose()?
            .unwrap_or(0),
    };
    let is_object = std::fs::read(&args.target)
        .map(|b| b.starts_with(b"\x7fELF"))
        .unwrap_or(false);
    let (name, prog_type, result) = if is_object {
        run_in_object(args, &opts)?
    } else {
        if args.prog_flags.is_some() {
            return Err("--prog-flags: only for an object (the program is loaded already)".into());
        }
        let fd = match args.target.strip_prefix("id:") {
            Some(id) => open(id)?,
            None => open(&args.target)?,
        };
        let info = bpf::prog_info(fd.as_fd())?;
        let name = match c_str(&info.name) {
            n if n.is_empty() => format!("id:{}", info.id),
            n => n,
        };
        let t = oxbpf::obj::ProgramType(info.prog_type);
        let r = oxbpf::test_run::test_run_fd(fd.as_fd(), t, &name, &opts)?;
        (name, t, r)
    };
    let type_text = short_name(prog_type.kernel_name(), "BPF_PROG_TYPE_", prog_type.0);
    if args.json {
        let v = serde_json::json!({
            "program": name,
            "prog_type": type_text,
            "retval": result.retval,
            "duration_ns": result.duration_ns,
            "repeat": args.repeat.max(1),
            "data_out": hex(&result.data_out),
            "ctx_out": hex(&result.ctx_out),
        });
        return Ok(format!("{v}\n"));
    }
    let mut out = String::new();
    let _ = writeln!(out, "program:     {name} ({type_text})");
    let _ = writeln!(out, "retval:      {} ({:#x})", result.retval, result.retval);
    let _ = writeln!(
        out,
        "duration_ns: {} (average of {} runs)",
        result.duration_ns,
        args.repeat.max(1)
    );
    if !result.data_out.is_empty() {
        let _ = writeln!(
            out,
            "data_out:    {} bytes\n{}",
            result.data_out.len(),
            hex_rows(&result.data_out)
        );
    }
    if !result.ctx_out.is_empty() {
        let _ = writeln!(
            out,
            "ctx_out:     {} bytes\n{}",
            result.ctx_out.len(),
            hex_rows(&result.ctx_out)
        );
    }
    Ok(out)
}

/// Loads the program `args.program` of the object `args.target` alone (the others'
/// autoload off) and runs it.
fn run_in_object(
    args: &RunArgs,
    opts: &oxbpf::TestRunOptions,
) -> Result<(String, oxbpf::obj::ProgramType, oxbpf::TestRunResult), Box<dyn std::error::Error>> {
    let mut spec = oxbpf::ObjectSpec::from_file(&args.target)?;
    // Subprograms are UNSPEC: never candidates.
    let candidates: Vec<&str> = spec
        .programs
        .iter()
        .filter(|p| p.def.prog_type != oxbpf::obj::ProgramType::UNSPEC)
        .map(|p| p.name.as_str())
        .collect();
    let name = match (&args.program, candidates.as_slice()) {
        (Some(n), _) => n.clone(),
        (None, [only]) => (*only).to_owned(),
        (None, all) => {
            return Err(format!(
                "{}: name the program to run, one of: {}",
                args.target,
                all.join(", ")
            )
            .into());
        }
    };
    let Some(p) = spec.programs.iter().find(|p| p.name == name) else {
        return Err(format!(
            "{}: no program {name:?} (programs: {})",
            args.target,
            candidates.join(", ")
        )
        .into());
    };
    let prog_type = p.def.prog_type;
    if oxbpf::test_run::test_run_kind(prog_type).is_none() {
        // Said before loading: loading cannot change the answer.
        return Err(oxbpf::TestRunError::Unsupported {
            program: name,
            type_name: short_name(prog_type.kernel_name(), "BPF_PROG_TYPE_", prog_type.0),
        }
        .into());
    }
    for p in &mut spec.programs {
        p.def.autoload = p.name == name;
    }
    let load = oxbpf::LoadOptions {
        prog_flags: crate::run::prog_flags(args.prog_flags.as_deref())?,
        ..Default::default()
    };
    let coll = oxbpf::Collection::load(&spec, &load)?;
    let prog = coll
        .program(&name)
        .ok_or_else(|| format!("{}: program {name:?} was not loaded", args.target))?;
    let r = prog.test_run_with(opts)?;
    Ok((name, prog_type, r))
}

/// `bytes` as rows of 16 hex bytes with their offset.
fn hex_rows(bytes: &[u8]) -> String {
    let rows: Vec<String> = bytes
        .chunks(16)
        .enumerate()
        .map(|(i, c)| {
            let b: Vec<String> = c.iter().map(|b| format!("{b:02x}")).collect();
            format!("  {:>6x}: {}", i * 16, b.join(" "))
        })
        .collect();
    rows.join("\n")
}

fn c_str(bytes: &[u8]) -> String {
    let n = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..n]).into_owned()
}

fn type_name(info: &ProgInfo) -> String {
    let t = oxbpf::obj::ProgramType(info.prog_type);
    short_name(t.kernel_name(), "BPF_PROG_TYPE_", t.0)
}

fn stats_enabled() -> bool {
    std::fs::read_to_string("/proc/sys/kernel/bpf_stats_enabled").is_ok_and(|s| s.trim() == "1")
}

/// Every loaded program's info, in id order (programs unloaded meanwhile are skipped).
fn all_programs() -> Result<Vec<ProgInfo>, oxbpf::sys::Error> {
    all_by_id(
        bpf::prog_get_next_id,
        bpf::prog_get_fd_by_id,
        bpf::prog_info,
    )
}

/// The info of every kernel object of one kind, in id order: `next_id` walks the ids,
/// `open` opens one, `info` reads it; objects freed between the two (`ENOENT`) are skipped.
pub(crate) fn all_by_id<Fd: AsFd, T>(
    next_id: fn(u32) -> Result<Option<u32>, oxbpf::sys::Error>,
    open: fn(u32) -> Result<Fd, oxbpf::sys::Error>,
    info: fn(BorrowedFd<'_>) -> Result<T, oxbpf::sys::Error>,
) -> Result<Vec<T>, oxbpf::sys::Error> {
    let mut out = Vec::new();
    let mut id = 0;
    while let Some(next) = next_id(id)? {
        id = next;
        let fd = match open(id) {
            Ok(fd) => fd,
            Err(e) if e.errno() == Some(Errno::ENOENT) => continue,
            Err(e) => return Err(e),
        };
        out.push(info(fd.as_fd())?);
    }
    Ok(out)
}

/// The `prog list` text.
pub fn list() -> Result<String, Box<dyn std::error::Error>> {
    let progs = all_programs()?;
    let stats = stats_enabled() || progs.iter().any(|p| p.run_cnt > 0);
    let mut out = String::new();
    let _ = write!(
        out,
        "{:>6}  {:<22}  {:<16}  {:<16}",
        "id", "type", "name", "tag"
    );
    if stats {
        let _ = write!(out, "  {:>12}  {:>14}", "run_cnt", "run_time_ns");
    }
    out.push('\n');
    for p in &progs {
        let _ = write!(
            out,
            "{:>6}  {:<22}  {:<16}  {:<16}",
            p.id,
            type_name(p),
            c_str(&p.name),
            hex(&p.tag)
        );
        if stats {
            let _ = write!(out, "  {:>12}  {:>14}", p.run_cnt, p.run_time_ns);
        }
        out.push('\n');
    }
    Ok(out)
}

/// The counts of one program at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct RunStats {
    run_cnt: u64,
    run_time_ns: u64,
    recursion_misses: u64,
}

impl RunStats {
    fn of(p: &ProgInfo) -> Self {
        RunStats {
            run_cnt: p.run_cnt,
            run_time_ns: p.run_time_ns,
            recursion_misses: p.recursion_misses,
        }
    }
}

/// Average nanoseconds per run, or `-` without runs.
fn avg_ns(cnt: u64, ns: u64) -> String {
    if cnt == 0 {
        "-".to_owned()
    } else {
        format!("{:.1}", ns as f64 / cnt as f64)
    }
}

/// The statistics of a `--stats-for` window: what changed between two readings.
fn window_text(before: RunStats, after: RunStats, elapsed: Duration) -> String {
    let runs = after.run_cnt.saturating_sub(before.run_cnt);
    let ns = after.run_time_ns.saturating_sub(before.run_time_ns);
    let misses = after
        .recursion_misses
        .saturating_sub(before.recursion_misses);
    let secs = elapsed.as_secs_f64();
    let rate = if secs > 0.0 { runs as f64 / secs } else { 0.0 };
    let mut out = String::new();
    let _ = writeln!(
        out,
        "window:                  {secs:.3} s with BPF_ENABLE_STATS held"
    );
    let _ = writeln!(out, "window_run_cnt:          {runs}");
    let _ = writeln!(out, "window_run_time_ns:      {ns}");
    let _ = writeln!(out, "window_avg_ns:           {}", avg_ns(runs, ns));
    let _ = writeln!(out, "window_runs_per_s:       {rate:.1}");
    let _ = writeln!(out, "window_recursion_misses: {misses}");
    if runs == 0 {
        let _ = writeln!(
            out,
            "note: the program did not run in the window (is it attached, and does its \
             hook fire?)"
        );
    }
    out
}

/// The `prog show` text; with `window`, BPF stats are enabled for that long and the runs
/// counted in it are reported too.
pub fn show(program: &str, window: Option<Duration>) -> Result<String, Box<dyn std::error::Error>> {
    let fd = open(program)?;
    let info = bpf::prog_info(fd.as_fd())?;
    let mut out = String::new();
    let _ = writeln!(out, "id:                      {}", info.id);
    let _ = writeln!(out, "type:                    {}", type_name(&info));
    let _ = writeln!(out, "name:                    {}", c_str(&info.name));
    let _ = writeln!(out, "tag:                     {}", hex(&info.tag));
    let _ = writeln!(out, "gpl_compatible:          {}", info.gpl_compatible != 0);
    let _ = writeln!(
        out,
        "xlated:                  {} bytes ({} insns)",
        info.xlated_prog_len,
        info.xlated_prog_len / 8
    );
    let _ = writeln!(
        out,
        "jited:                   {} bytes",
        info.jited_prog_len
    );
    if info.verified_insns > 0 {
        let _ = writeln!(out, "verified_insns:          {}", info.verified_insns);
    }
    if info.btf_id > 0 {
        let _ = writeln!(out, "btf_id:                  {}", info.btf_id);
    }
    let _ = writeln!(out, "nr_map_ids:              {}", info.nr_map_ids);
    let _ = writeln!(out, "run_cnt:                 {}", info.run_cnt);
    let _ = writeln!(out, "run_time_ns:             {}", info.run_time_ns);
    let _ = writeln!(
        out,
        "avg_ns:                  {}",
        avg_ns(info.run_cnt, info.run_time_ns)
    );
    let _ = writeln!(out, "recursion_misses:        {}", info.recursion_misses);
    let Some(window) = window else {
        let state = if stats_enabled() {
            "on (kernel.bpf_stats_enabled=1)"
        } else {
            "off: the counts above only grow while kernel.bpf_stats_enabled=1 or a \
             BPF_ENABLE_STATS descriptor is held (--stats-for SECS holds one)"
        };
        let _ = writeln!(out, "stats:                   {state}");
        return Ok(out);
    };
    let stats_fd = bpf::enable_stats(bpf::STATS_RUN_TIME).map_err(|e| {
        let why = if e.errno() == Some(Errno::EINVAL) {
            " (BPF_ENABLE_STATS needs Linux 5.8)"
        } else {
            ""
        };
        format!("--stats-for: BPF_ENABLE_STATS: {e}{why}")
    })?;
    let before = RunStats::of(&bpf::prog_info(fd.as_fd())?);
    let t0 = Instant::now();
    std::thread::sleep(window);
    let after = RunStats::of(&bpf::prog_info(fd.as_fd())?);
    let elapsed = t0.elapsed();
    drop(stats_fd);
    out.push_str(&window_text(before, after, elapsed));
    Ok(out)
}

/// Opens a program by id (all digits) or by pinned path.
fn open(program: &str) -> Result<ProgFd, String> {
    if !program.is_empty() && program.bytes().all(|b| b.is_ascii_digit()) {
        let id: u32 = program
            .parse()
            .map_err(|_| format!("program id {program}: out of range"))?;
        return bpf::prog_get_fd_by_id(id).map_err(|e| format!("program id {id}: {e}"));
    }
    let path = Path::new(program);
    let fd = bpf::obj_get(path).map_err(|e| format!("{}: {e}", path.display()))?;
    // A pinned map or link opens too: fdinfo says what it is.
    let fdinfo = std::fs::read_to_string(format!("/proc/self/fdinfo/{}", fd.as_raw_fd()))
        .unwrap_or_default();
    if !fdinfo.lines().any(|l| l.starts_with("prog_type:")) {
        return Err(format!(
            "{}: pinned object is not a program",
            path.display()
        ));
    }
    Ok(ProgFd::from_owned(fd))
}

/// The `prog dump` text.
pub fn dump(program: &str, jited: bool) -> Result<String, Box<dyn std::error::Error>> {
    let fd = open(program)?;
    let code =
        bpf::prog_code(fd.as_fd(), !jited, jited).map_err(|e| format!("program {program}: {e}"))?;
    let info = &code.info;
    let mut out = format!(
        "prog {} {} name {} tag {}\n",
        info.id,
        type_name(info),
        c_str(&info.name),
        hex(&info.tag)
    );
    if jited {
        if code.jited.is_empty() {
            return Err(format!(
                "program {}: no JITed code (JIT off, or withheld: kernel.kptr_restrict / CAP_SYSLOG)",
                info.id
            )
            .into());
        }
        let _ = writeln!(out, "jited {} bytes", code.jited.len());
        for (i, chunk) in code.jited.chunks(16).enumerate() {
            let bytes: Vec<String> = chunk.iter().map(|b| format!("{b:02x}")).collect();
            let _ = writeln!(out, "{:>6x}: {}", i * 16, bytes.join(" "));
        }
        return Ok(out);
    }
    if code.xlated.is_empty() {
        return Err(format!(
            "program {}: the kernel gave no xlated instructions (needs CAP_SYS_ADMIN or CAP_BPF + CAP_PERFMON)",
            info.id
        )
        .into());
    }
    let insns = insns_from_bytes(&code.xlated)
        .map_err(|e| format!("program {}: xlated code: {e}", info.id))?;
    let _ = writeln!(out, "xlated {} bytes", code.xlated.len());
    out.push_str(&xlated_text(&insns, &KernelSymbols::load()));
    Ok(out)
}

/// Kernel text symbols by address, for the calls of xlated code.
#[derive(Default)]
pub struct KernelSymbols {
    /// Address of `__bpf_call_base`: xlated helper calls hold `func - __bpf_call_base`.
    call_base: Option<u64>,
    by_addr: HashMap<u64, String>,
}

impl KernelSymbols {
    /// Reads /proc/kallsyms (empty when unreadable or addresses are hidden).
    pub fn load() -> Self {
        std::fs::read_to_string("/proc/kallsyms")
            .map(|t| Self::parse(&t))
            .unwrap_or_default()
    }

    /// Parses kallsyms text (`addr type name [module]` lines).
    pub fn parse(text: &str) -> Self {
        let mut s = KernelSymbols::default();
        for line in text.lines() {
            let mut f = line.split_ascii_whitespace();
            let (Some(addr), Some(kind), Some(name)) = (f.next(), f.next(), f.next()) else {
                continue;
            };
            let Ok(addr) = u64::from_str_radix(addr, 16) else {
                continue;
            };
            if addr == 0 {
                continue;
            }
            if name == "__bpf_call_base" {
                s.call_base = Some(addr);
            }
            if matches!(kind, "t" | "T") {
                s.by_addr.entry(addr).or_insert_with(|| name.to_owned());
            }
        }
        s
    }

    /// The function a helper call with `imm` reaches.
    fn call_target(&self, imm: i32) -> Option<&str> {
        let base = self.call_base?;
        let addr = base.wrapping_add_signed(i64::from(imm));
        self.by_addr.get(&addr).map(String::as_str)
    }
}

/// The disassembly of xlated `insns`: helper calls named from kallsyms (the kernel
/// stores `func - __bpf_call_base` in their imm), map references as `map[id:N]`.
pub fn xlated_text(insns: &[Insn], syms: &KernelSymbols) -> String {
    let opts = DisasmOptions {
        unknown_as_data: true,
        ..DisasmOptions::default()
    };
    let mut out = String::new();
    for (slot, text) in disassemble(insns, &opts) {
        let ins = insns[slot];
        let text = match (ins.code, ins.src) {
            // call with src 0: a helper or kernel function
            (0x85, 0) => match syms.call_target(ins.imm) {
                Some(name) => format!("call {name}"),
                None => text,
            },
            // ld_imm64 with a map (BPF_PSEUDO_MAP_FD / _IDX) or map value
            // (BPF_PSEUDO_MAP_VALUE / _IDX_VALUE): the kernel put the map id in imm.
            (0x18, 1 | 5) => format!("r{} = map[id:{}] ll", ins.dst, ins.imm),
            (0x18, 2 | 6) => {
                let off = insns.get(slot + 1).map_or(0, |n| n.imm);
                format!("r{} = map[id:{}][0]+{off} ll", ins.dst, ins.imm)
            }
            _ => text,
        };
        let _ = writeln!(out, "{slot:>5}: {text}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_helper_calls_relative_to_bpf_call_base() {
        let syms = KernelSymbols::parse(
            "ffffffff81000000 T __bpf_call_base\n\
             ffffffff81000100 T bpf_get_current_pid_tgid\n\
             ffffffff81000200 d some_data\n\
             0000000000000000 T hidden\n\
             garbage line\n",
        );
        let prog = [
            Insn::new(0x85, 0, 0, 0, 0x100),
            Insn::new(0x85, 0, 0, 0, 0x200),
            Insn::new(0x18, 1, 1, 0, 7),
            Insn::new(0, 0, 0, 0, 0),
            Insn::exit(),
        ];
        let text = xlated_text(&prog, &syms);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "    0: call bpf_get_current_pid_tgid");
        // Data symbols are not call targets: the raw form stays.
        assert_eq!(lines[1], "    1: call 0x200");
        assert_eq!(lines[2], "    2: r1 = map[id:7] ll");
        assert_eq!(lines[3], "    4: exit");
    }

    #[test]
    fn without_kallsyms_calls_stay_numeric() {
        let text = xlated_text(&[Insn::new(0x85, 0, 0, 0, 5)], &KernelSymbols::default());
        assert_eq!(text, "    0: call 0x5\n");
    }

    #[test]
    fn a_stats_window_reports_the_differences() {
        let before = RunStats {
            run_cnt: 10,
            run_time_ns: 1000,
            recursion_misses: 1,
        };
        let after = RunStats {
            run_cnt: 110,
            run_time_ns: 6000,
            recursion_misses: 1,
        };
        let t = window_text(before, after, Duration::from_secs(2));
        assert!(t.contains("window_run_cnt:          100\n"), "{t}");
        assert!(t.contains("window_run_time_ns:      5000\n"), "{t}");
        assert!(t.contains("window_avg_ns:           50.0\n"), "{t}");
        assert!(t.contains("window_runs_per_s:       50.0\n"), "{t}");
        assert!(t.contains("window_recursion_misses: 0\n"), "{t}");
        assert!(!t.contains("did not run"), "{t}");
        let idle = window_text(after, after, Duration::from_secs(1));
        assert!(idle.contains("window_avg_ns:           -\n"), "{idle}");
        assert!(idle.contains("did not run in the window"), "{idle}");
    }

    #[test]
    fn parses_hex_input_with_spaces_and_prefix() {
        assert_eq!(parse_hex("x", "0x0a0B ff"), Ok(vec![0x0a, 0x0b, 0xff]));
        assert!(parse_hex("x", "abc").unwrap_err().contains("odd number"));
        assert!(
            parse_hex("x", "zz")
                .unwrap_err()
                .contains("not hex at digit 0")
        );
    }

    #[test]
    fn parses_test_run_flags() {
        assert_eq!(
            parse_test_flags("run-on-cpu,xdp_live_frames"),
            Ok(bpf::TEST_RUN_ON_CPU | bpf::TEST_XDP_LIVE_FRAMES)
        );
        assert_eq!(parse_test_flags("0x4"), Ok(4));
        assert!(parse_test_flags("bogus").is_err());
    }

    #[test]
    fn rejects_pinned_paths_that_do_not_exist() {
        let e = open("/nonexistent/oxbpf/prog").unwrap_err();
        assert!(
            e.starts_with("/nonexistent/oxbpf/prog: BPF_OBJ_GET: "),
            "{e}"
        );
    }
}

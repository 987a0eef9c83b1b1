//! `oxbpf`: load, run and inspect BPF objects.
//!
//! A thin layer over the `oxbpf` crates: argument parsing, output formatting and signal
//! handling live here; everything a library user would also want lives in the crates.

mod asm_cmd;
mod btf_cmd;
mod debug_log;
mod doctor_cmd;
mod each_cmd;
mod explain_cmd;
mod gen_cmd;
mod link_cmd;
mod map_cmd;
mod output;
mod probe_cmd;
mod prog_cmd;
mod run;
mod vm_cmd;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "oxbpf",
    version,
    about = "A pure-Rust BPF runtime: load, attach and read BPF objects"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(clap::Args, Debug)]
struct ObjectArgs {
    /// The BPF ELF object (clang -target bpf -g -O2).
    object: PathBuf,
    /// Set a global variable before load (e.g. a `const volatile` in .rodata):
    /// NAME=VALUE, VALUE a decimal or 0x-hex integer sized to the variable.
    #[arg(long = "set", value_name = "NAME=VALUE")]
    set: Vec<String>,
    /// Verifier log level: 0 = log only on failure, 1 = always, 2 = verbose.
    #[arg(long, default_value_t = 0)]
    log_level: u32,
    /// Print what every CO-RE relocation did: the local access (`task_struct::pid`), the
    /// target candidates accepted or rejected and why, and the value patched in.
    #[arg(long)]
    explain_core: bool,
    /// BPF_F_* load flags added to every program's: comma-separated names
    /// (strict-alignment, any-alignment, test-rnd-hi32, test-state-freq, sleepable,
    /// xdp-has-frags, xdp-dev-bound-only, test-reg-invariants) or a number.
    #[arg(long, value_name = "FLAGS")]
    prog_flags: Option<String>,
    /// A kernel config file (plain or gzip, `CONFIG_X=y` lines) for `__kconfig` externs,
    /// read before the system's (/boot/config-$(uname -r), /proc/config.gz).
    #[arg(long, value_name = "FILE")]
    kconfig: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Load an object, attach every program whose section names its hook, stream the
    /// records of every ring buffer and perf event array until Ctrl-C (or --duration),
    /// then print per-source counters and the maps, and detach.
    Run {
        #[command(flatten)]
        obj: ObjectArgs,
        /// Stop after this many seconds.
        #[arg(long, value_name = "SECS")]
        duration: Option<f64>,
        /// Print records as hex even when their type is known.
        #[arg(long)]
        hex: bool,
        /// Stop after this many records.
        #[arg(long, value_name = "N")]
        count: Option<u64>,
        /// Decode records as this BTF type: NAME for every source, MAP=NAME for one
        /// (ring buffers default to their declared value type; otherwise hex).
        #[arg(long = "type", value_name = "[MAP=]NAME")]
        types: Vec<String>,
        /// Print the attach decisions (fallbacks to older mechanisms, with the reason).
        #[arg(short, long)]
        verbose: bool,
    },
    /// Load an object without attaching it; print the verifier log on failure.
    /// With --each: load every program of each object on its own (the others' autoload
    /// off, as veristat does) and print one JSON line per program.
    Load {
        #[command(flatten)]
        obj: ObjectArgs,
        /// More objects (with --each).
        #[arg(requires = "each")]
        more: Vec<PathBuf>,
        /// Load each program on its own: {"object","program","section","prog_type",
        /// "result","error_class","errno","verified_insns","message"} per line.
        #[arg(long)]
        each: bool,
        /// Objects loaded at the same time (with --each).
        #[arg(long, value_name = "N", default_value_t = 1, requires = "each")]
        jobs: usize,
    },
    /// Inspect BTF: dump the types of a file or kernel object, show one type, statistics.
    #[command(subcommand)]
    Btf(btf_cmd::BtfCmd),
    /// Disassemble the programs of an object (the text llvm-objdump -d prints).
    Disasm(asm_cmd::DisasmArgs),
    /// Assemble LLVM-syntax BPF text into a loadable ELF object.
    Asm(asm_cmd::AsmArgs),
    /// Probe what the running kernel supports: program and map types, helpers per
    /// program type, capabilities, BTF kinds.
    Probe(probe_cmd::ProbeArgs),
    /// Inspect loaded programs: list them, dump their xlated or JITed code.
    #[command(subcommand)]
    Prog(prog_cmd::ProgCmd),
    /// Inspect the kernel's maps: list them, dump their entries decoded by BTF.
    #[command(subcommand)]
    Map(map_cmd::MapCmd),
    /// Check this machine for BPF: kernel version and config, BTF, mounts, capabilities,
    /// memlock, sysctls, lockdown; each OK/WARN/FAIL with the fix (exit 1 on FAIL).
    Doctor(doctor_cmd::DoctorArgs),
    /// Explain a saved verifier log: the failure class, the source line, a fix hint.
    Explain(explain_cmd::ExplainArgs),
    /// Generate Rust bindings (layout-checked types and a typed skeleton) for an object.
    Gen(gen_cmd::GenArgs),
    /// Link BPF objects statically into one (`oxbpf link a.o b.o -o c.o`, like `bpftool
    /// gen object`), or list the kernel's bpf_links (`oxbpf link list`).
    Link(link_cmd::LinkArgs),
    /// Load (with --attach, also attach) an object inside a kernel of the matrix under
    /// qemu and print the verifier's answer: will this load on kernel X?
    VmLoad(vm_cmd::VmLoadArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.cmd {
        Cmd::Run {
            obj,
            duration,
            hex,
            count,
            types,
            verbose,
        } => run::run(
            &obj,
            &run::RunOpts {
                duration,
                hex,
                count,
                types,
                verbose,
            },
        ),
        Cmd::Load {
            obj,
            more,
            each: true,
            jobs,
        } => {
            let objects: Vec<PathBuf> = std::iter::once(obj.object.clone()).chain(more).collect();
            each_cmd::run(&objects, jobs, obj.log_level, obj.kconfig.as_deref())
        }
        Cmd::Load { obj, .. } => run::load_only(&obj),
        Cmd::Btf(cmd) => btf_cmd::run(cmd),
        Cmd::Disasm(args) => asm_cmd::disasm(args),
        Cmd::Asm(args) => asm_cmd::asm(args),
        Cmd::Probe(args) => probe_cmd::run(args),
        Cmd::Prog(cmd) => prog_cmd::run(cmd),
        Cmd::Map(cmd) => map_cmd::run(cmd),
        Cmd::Link(cmd) => link_cmd::run(cmd),
        Cmd::Doctor(args) => doctor_cmd::run(args),
        Cmd::Explain(args) => explain_cmd::run(args),
        Cmd::Gen(args) => gen_cmd::run(args),
        Cmd::VmLoad(args) => vm_cmd::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            output::print_error(&*e);
            ExitCode::FAILURE
        }
    }
}

//! `oxbpf prog list` and `oxbpf prog dump <id | pinned path> [--xlated | --jited-bytes]`:
//! the programs the kernel holds, and their code after verification.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::os::fd::AsRawFd;
use std::path::Path;

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
}

type CmdResult = Result<(), Box<dyn std::error::Error>>;

/// Runs a `prog` subcommand.
pub fn run(cmd: ProgCmd) -> CmdResult {
    match cmd {
        ProgCmd::List => emit(&list()?),
        ProgCmd::Dump {
            program,
            jited_bytes,
            ..
        } => emit(&dump(&program, jited_bytes)?),
    }
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
    let mut out = Vec::new();
    let mut id = 0;
    while let Some(next) = bpf::prog_get_next_id(id)? {
        id = next;
        let fd = match bpf::prog_get_fd_by_id(id) {
            Ok(fd) => fd,
            Err(e) if e.errno() == Some(Errno::ENOENT) => continue,
            Err(e) => return Err(e),
        };
        out.push(bpf::prog_info(fd.as_fd())?);
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
    fn rejects_pinned_paths_that_do_not_exist() {
        let e = open("/nonexistent/oxbpf/prog").unwrap_err();
        assert!(
            e.starts_with("/nonexistent/oxbpf/prog: BPF_OBJ_GET: "),
            "{e}"
        );
    }
}

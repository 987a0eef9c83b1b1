//! Metrics of the pure layers: the disassembler and assembler over a 1M-instruction
//! stream (`asm_disasm_1m`, `asm_assemble_1m`) and the C header dump of vmlinux BTF
//! (`btf_dump_c_vmlinux`). No peer has these; they track oxbpf against itself.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Instant;

use oxbpf::asm::{DisasmOptions, Insn, assemble, disassemble_lines, insns_from_bytes};
use oxbpf::btf::Btf;
use oxbpf::btf::c_dump::{CDumpOptions, dump_c};

use super::{Res, out};

/// Slots in the benchmark stream.
const STREAM_SLOTS: usize = 1_000_000;

/// The kernel selftests corpus of oxbpf-asm (`$OXBPF_ASM_CORPUS` overrides).
fn corpus_dir() -> PathBuf {
    std::env::var_os("OXBPF_ASM_CORPUS").map_or_else(
        || {
            PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../oxbpf-asm/tests/golden/selftests"
            ))
        },
        PathBuf::from,
    )
}

/// The corpus' sections repeated to 1M slots, cut at an instruction boundary.
fn stream() -> Res<Vec<Insn>> {
    let dir = corpus_dir();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| Some(e.ok()?.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "bin"))
        .collect();
    files.sort();
    let mut corpus = Vec::new();
    for f in &files {
        let bytes = std::fs::read(f).map_err(|e| format!("{}: {e}", f.display()))?;
        corpus.extend(insns_from_bytes(&bytes).map_err(|e| format!("{}: {e}", f.display()))?);
    }
    if corpus.is_empty() {
        return Err(format!("{}: no .bin instruction files", dir.display()).into());
    }
    let mut insns = Vec::with_capacity(STREAM_SLOTS + corpus.len());
    while insns.len() < STREAM_SLOTS {
        insns.extend_from_slice(&corpus);
    }
    let mut end = 0;
    while end < STREAM_SLOTS {
        let next = end + if insns[end].is_ld_imm64() { 2 } else { 1 };
        if next > STREAM_SLOTS {
            break;
        }
        end = next;
    }
    insns.truncate(end);
    Ok(insns)
}

/// Disassembles `insns` into `text` (cleared first), one line per instruction; returns
/// the number of instructions.
fn disasm_into(text: &mut String, insns: &[Insn], opts: &DisasmOptions) -> Res<usize> {
    text.clear();
    let mut n = 0;
    for line in disassemble_lines(insns, opts) {
        writeln!(text, "{line}")?;
        n += 1;
    }
    Ok(n)
}

/// Disassembly of the stream into one reused `String`, lossless text (the form that
/// reassembles) and, as `asm_disasm_1m_llvm`, llvm-objdump's view; after a warm-up pass
/// that also sizes the buffer.
pub(crate) fn asm_disasm_1m() -> Res<()> {
    let insns = stream()?;
    let mut text = String::new();
    for (metric, opts) in [
        ("asm_disasm_1m", DisasmOptions::default().lossless()),
        ("asm_disasm_1m_llvm", DisasmOptions::default()),
    ] {
        disasm_into(&mut text, &insns, &opts)?;
        let t = Instant::now();
        let n = disasm_into(&mut text, &insns, &opts)?;
        let secs = t.elapsed().as_secs_f64();
        out(metric, n as f64 / secs, "insns/s");
    }
    Ok(())
}

/// Assembling the stream's lossless text back (checked to give the same slots, untimed).
pub(crate) fn asm_assemble_1m() -> Res<()> {
    let insns = stream()?;
    let mut text = String::new();
    let n = disasm_into(&mut text, &insns, &DisasmOptions::default().lossless())?;
    let t = Instant::now();
    let asm = assemble(&text)?;
    let secs = t.elapsed().as_secs_f64();
    if asm.insns != insns {
        return Err("assembled stream differs from the disassembled one".into());
    }
    out("asm_assemble_1m", n as f64 / secs, "insns/s");
    Ok(())
}

/// `dump_c` of /sys/kernel/btf/vmlinux (read and parsed untimed) into a fresh `String`;
/// `_mib` is the size of the header written.
pub(crate) fn btf_dump_c_vmlinux() -> Res<()> {
    let path = "/sys/kernel/btf/vmlinux";
    let data = std::fs::read(path).map_err(|e| format!("{path}: {e}"))?;
    let btf = Btf::parse(&data)?;
    let mut header = String::new();
    let t = Instant::now();
    dump_c(&btf, &mut header, &CDumpOptions::default())?;
    let ms = t.elapsed().as_secs_f64() * 1e3;
    out("btf_dump_c_vmlinux", ms, "ms");
    out(
        "btf_dump_c_vmlinux_mib",
        header.len() as f64 / (1024.0 * 1024.0),
        "MiB",
    );
    Ok(())
}

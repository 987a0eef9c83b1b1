//! The assembler: LLVM-syntax text (what [`crate::disassemble`] and `llvm-objdump -d`
//! print) back to instruction slots.
//!
//! Input is line based. Each line is one of:
//! - an instruction in the syntax of [`crate::disassemble`], hex or decimal, `rN` or
//!   `wN` registers; `.8byte 0x…` (or `.quad`) for a raw slot;
//! - a label `name:` (jump and call target);
//! - blank, or a comment (`#`, `//`, `;` to the end of the line).
//!
//! Symbolic forms: `goto L`, `if r1 == 0 goto L`, `gotol L`, `may_goto L` jump to a
//! label; `call bpf_map_lookup_elem` calls a helper by name; `call f` calls the
//! subprogram at label `f` (a bpf-to-bpf call, `src = 1`), or, when `f` is not defined
//! here, records an [`AsmReloc`] of kind [`RelocKind::Call`] on a `call -1` as clang
//! does; `r1 = my_map ll` loads a map or global, recorded as [`RelocKind::LdImm64`].
//!
//! llvm-objdump listings are accepted as they are: address prefixes (`  12:\t`), the
//! raw-bytes column, function headers (`0000000000000000 <name>:`, a label), jump
//! annotations (`<name+0x10>`), relocation lines (`0000000000000028:  R_BPF_64_64\tmap`,
//! attached to the instruction before) and the file and section header lines.
//!
//! The lossless text form is [`crate::DisasmOptions::lossless`]: assembling it gives
//! back the disassembled bytes for every input. llvm-objdump 19's own text (the
//! default options) loses information for a few encodings — see [`crate::text`].

mod cursor;
mod insn;

use std::fmt;

use crate::{Insn, Instruction};
use cursor::Cursor;
use insn::SymUse;

/// An assembly error: where (1-based line and column, in characters) and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AsmError {
    /// 1-based line number.
    pub line: usize,
    /// 1-based column (characters) of the offending text.
    pub column: usize,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for AsmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {}, column {}: {}",
            self.line, self.column, self.message
        )
    }
}

impl std::error::Error for AsmError {}

/// What a relocation asks the linker/loader to fill in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RelocKind {
    /// The `imm` of an `ld_imm64` gets a map or global-data address (`R_BPF_64_64`).
    LdImm64,
    /// The `imm` of a `call` gets a subprogram offset or kfunc id (`R_BPF_64_32`).
    Call,
}

impl RelocKind {
    /// The ELF relocation type (`R_BPF_64_64` = 1, `R_BPF_64_32` = 10).
    pub const fn elf_type(self) -> u32 {
        match self {
            RelocKind::LdImm64 => 1,
            RelocKind::Call => 10,
        }
    }

    /// The ELF name, as llvm-objdump -r prints it.
    pub const fn elf_name(self) -> &'static str {
        match self {
            RelocKind::LdImm64 => "R_BPF_64_64",
            RelocKind::Call => "R_BPF_64_32",
        }
    }

    /// The kind for an ELF name (`R_BPF_64_64`, `R_BPF_64_32`).
    pub fn from_elf_name(name: &str) -> Option<RelocKind> {
        match name {
            "R_BPF_64_64" => Some(RelocKind::LdImm64),
            "R_BPF_64_32" => Some(RelocKind::Call),
            _ => None,
        }
    }
}

/// A symbolic reference left for the linker or loader.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct AsmReloc {
    /// Slot index of the instruction to patch.
    pub insn: usize,
    /// The referenced symbol (map, global, function).
    pub symbol: String,
    /// What kind of reference.
    pub kind: RelocKind,
}

/// The result of assembling: slots, labels (name → slot) and relocations.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AsmOutput {
    /// The instruction slots.
    pub insns: Vec<Insn>,
    /// Labels in definition order, with the slot each names.
    pub labels: Vec<(String, usize)>,
    /// References to symbols not defined in the text.
    pub relocations: Vec<AsmReloc>,
}

/// One parsed instruction waiting for label resolution.
struct Pending {
    slot: usize,
    ins: Instruction,
    sym: Option<insn::SymRef>,
    line: usize,
    text: String,
}

/// What a cleaned-up line holds.
enum Line<'a> {
    Skip,
    Label(&'a str, usize),
    Reloc(&'a str, &'a str, usize),
    Insn(&'a str, usize),
}

fn strip_comment(s: &str) -> &str {
    let cut = [s.find('#'), s.find("//"), s.find(';')]
        .into_iter()
        .flatten()
        .min();
    cut.map_or(s, |i| &s[..i])
}

fn is_hex_word(w: &str) -> bool {
    !w.is_empty() && w.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Removes llvm-objdump decoration, classifying the line. Offsets are into `raw`.
fn classify(raw: &str) -> Line<'_> {
    let body = strip_comment(raw);
    let lead = body.len() - body.trim_start().len();
    let mut s = body.trim();
    let mut at = lead;
    if s.is_empty() || s.starts_with("Disassembly of section ") || s.contains("file format ") {
        return Line::Skip;
    }
    // `0000000000000000 <name>:` function header.
    if let Some((addr, rest)) = s.split_once(" <")
        && is_hex_word(addr)
        && let Some(name) = rest.strip_suffix(">:")
    {
        return Line::Label(name, at + addr.len() + 2);
    }
    // `ADDR:` prefix: a relocation line (`hex:  R_BPF_...\tsym`) or an address.
    if let Some((addr, rest)) = s.split_once(':')
        && is_hex_word(addr)
    {
        let r = rest.trim_start();
        let off = at + addr.len() + 1 + (rest.len() - r.len());
        if r.starts_with("R_") {
            let mut parts = r.split_whitespace();
            let kind = parts.next().unwrap_or("");
            let sym = parts.next().unwrap_or("");
            return Line::Reloc(kind, sym, off);
        }
        if addr.bytes().all(|b| b.is_ascii_digit()) {
            s = r;
            at = off;
            // The raw-bytes column: two-digit hex words up to a tab.
            if let Some((bytes, text)) = s.split_once('\t')
                && bytes.split(' ').all(|w| w.len() == 2 && is_hex_word(w))
            {
                at += bytes.len() + 1;
                s = text.trim_start();
                at += text.len() - s.len();
            }
        }
    }
    // A trailing jump annotation `<sym+0x10>`.
    if s.ends_with('>')
        && !s.starts_with('<')
        && let Some(p) = s.rfind(" <")
    {
        s = s[..p].trim_end();
    }
    if let Some(name) = s.strip_suffix(':') {
        let name = name.trim_end();
        if !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || b == b'$')
            && !name.as_bytes()[0].is_ascii_digit()
        {
            return Line::Label(name, at);
        }
    }
    Line::Insn(s, at)
}

/// Assembles `text` into slots, labels and relocations.
///
/// ```
/// use oxbpf_asm::{Insn, asm::assemble};
/// let out = assemble("r0 = 0x0\nexit\n").unwrap();
/// assert_eq!(out.insns, [Insn::mov64_imm(0, 0), Insn::exit()]);
/// ```
pub fn assemble(text: &str) -> Result<AsmOutput, AsmError> {
    let mut out = AsmOutput::default();
    let mut pending: Vec<Pending> = Vec::new();
    let mut slot = 0usize;
    let mut label_lines: Vec<usize> = Vec::new();
    for (idx, raw) in text.lines().enumerate() {
        let line = idx + 1;
        match classify(raw) {
            Line::Skip => {}
            Line::Label(name, at) => {
                if let Some(i) = out.labels.iter().position(|(n, _)| n == name) {
                    let c = Cursor::new(raw, line);
                    return Err(c.err_at(
                        at,
                        format!(
                            "label {name:?} defined twice (first on line {})",
                            label_lines[i]
                        ),
                    ));
                }
                out.labels.push((name.to_string(), slot));
                label_lines.push(line);
            }
            Line::Reloc(kind, sym, at) => {
                let c = Cursor::new(raw, line);
                let Some(kind) = RelocKind::from_elf_name(kind) else {
                    return Err(
                        c.err_at(at, format!("unsupported relocation type {kind:?} in code"))
                    );
                };
                let Some(prev) = pending.last_mut() else {
                    return Err(c.err_at(at, "relocation line before any instruction"));
                };
                if sym.is_empty() {
                    return Err(c.err_at(at, "relocation line without a symbol"));
                }
                // clang marks every symbolic call `src = BPF_PSEUDO_CALL`; llvm-objdump
                // prints it as a plain `call -0x1`, and the relocation line says which.
                if let (RelocKind::Call, Instruction::Call { kind, .. }) = (kind, &mut prev.ins) {
                    *kind = crate::CallKind::Local;
                }
                out.relocations.push(AsmReloc {
                    insn: prev.slot,
                    symbol: sym.to_string(),
                    kind,
                });
            }
            Line::Insn(s, at) => {
                // Parse against the raw line so columns are the user's.
                let limit = at + s.len();
                let mut sub = Cursor::new(raw.get(..limit).unwrap_or(raw), line);
                sub.pos = at;
                let (ins, sym) = insn::parse(&mut sub)?;
                pending.push(Pending {
                    slot,
                    ins,
                    sym,
                    line,
                    text: raw.to_string(),
                });
                slot += ins.slots();
            }
        }
    }
    for p in &pending {
        let (ins, reloc) = resolve(p, &out.labels)?;
        if let Some(r) = reloc {
            out.relocations.push(r);
        }
        let (enc, n) = ins.encode();
        out.insns.extend_from_slice(&enc[..n]);
    }
    out.relocations.sort_by_key(|r| r.insn);
    Ok(out)
}

fn resolve(
    p: &Pending,
    labels: &[(String, usize)],
) -> Result<(Instruction, Option<AsmReloc>), AsmError> {
    let Some(sym) = &p.sym else {
        return Ok((p.ins, None));
    };
    let c = Cursor::new(&p.text, p.line);
    let target = labels.iter().find(|(n, _)| *n == sym.name).map(|&(_, s)| s);
    let reloc = |kind| AsmReloc {
        insn: p.slot,
        symbol: sym.name.clone(),
        kind,
    };
    let rel = |t: usize| t as i64 - (p.slot as i64 + 1);
    match sym.kind {
        SymUse::LdImm64 => Ok((p.ins, Some(reloc(RelocKind::LdImm64)))),
        SymUse::Call => match target {
            Some(t) => {
                let imm = i32::try_from(rel(t)).map_err(|_| {
                    c.err_at(sym.pos, format!("call to {:?} out of range", sym.name))
                })?;
                let ins = Instruction::Call {
                    kind: crate::CallKind::Local,
                    imm,
                    off: 0,
                };
                Ok((ins, None))
            }
            None => Ok((p.ins, Some(reloc(RelocKind::Call)))),
        },
        SymUse::Jump16 | SymUse::Jump32 => {
            let Some(t) = target else {
                return Err(c.err_at(sym.pos, format!("undefined label {:?}", sym.name)));
            };
            let d = rel(t);
            let range = |ok: bool| {
                if ok {
                    Ok(())
                } else {
                    Err(c.err_at(
                        sym.pos,
                        format!("jump to {:?} ({d:+} slots) out of range", sym.name),
                    ))
                }
            };
            let ins = match p.ins {
                Instruction::JaLong { .. } => {
                    range(i32::try_from(d).is_ok())?;
                    Instruction::JaLong { imm: d as i32 }
                }
                other => {
                    range(i16::try_from(d).is_ok())?;
                    let off = d as i16;
                    match other {
                        Instruction::Ja { .. } => Instruction::Ja { off },
                        Instruction::MayGoto { .. } => Instruction::MayGoto { off },
                        Instruction::Jmp {
                            width,
                            cond,
                            dst,
                            src,
                            ..
                        } => Instruction::Jmp {
                            width,
                            cond,
                            dst,
                            src,
                            off,
                        },
                        o => o,
                    }
                }
            };
            Ok((ins, None))
        }
    }
}

#[cfg(test)]
mod tests;

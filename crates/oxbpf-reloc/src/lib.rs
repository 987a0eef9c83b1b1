//! oxbpf-reloc: pure instruction rewriting between an [`ObjectSpec`] and the kernel.
//!
//! This crate owns turning an object's functions into loadable instruction streams:
//! [`link_program`] places an entry program and every subprogram it reaches (calls and
//! callback addresses, transitively, each once), patches the relative offsets, re-bases
//! `func_info`/`line_info` from `.BTF.ext`, and carries map/data/extern relocations along;
//! [`resolve_maps`] then writes map fds into `ld_imm64`s (`BPF_PSEUDO_MAP_FD`,
//! `BPF_PSEUDO_MAP_VALUE`).
//!
//! [`core_relo`] applies CO-RE relocations against target BTF (all relocation kinds,
//! candidate search, poisoning, an explanation per relocation).
//!
//! [`resolve_externs`] patches `__kconfig` / `__ksym` / kfunc references with values the
//! caller resolved on the kernel (weak kfuncs that are absent are poisoned as libbpf does).
//!
//! It does not touch the kernel (fds, target BTF and extern values come from the caller)
//! or read ELF (that is `oxbpf-obj`).
//!
//! ```
//! use oxbpf_asm::Insn;
//! use oxbpf_obj::{ObjectSpec, ProgramSpec, SectionDef};
//! use oxbpf_reloc::link_program;
//!
//! let prog = ProgramSpec {
//!     name: "prog".into(),
//!     section: "xdp".into(),
//!     section_offset: 0,
//!     def: SectionDef::from_section_name("xdp")?,
//!     insns: vec![Insn::mov64_imm(0, 2), Insn::exit()],
//!     relocations: vec![],
//! };
//! let spec = ObjectSpec {
//!     license: "GPL".into(), kernel_version: None, programs: vec![prog],
//!     subprograms: vec![], maps: vec![], globals: vec![], btf: None, btf_ext: None,
//!     datasec_layout: Default::default(), externs: vec![],
//! };
//! let linked = link_program(&spec, 0)?;
//! assert_eq!(linked.insns.len(), 2);
//! assert_eq!(linked.functions, [("prog".to_string(), 0)]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]

#[path = "core/mod.rs"]
pub mod core_relo;
mod error;
pub mod externs;
mod link;

pub use core_relo::{
    ReloExplanation, ReloKind, ReloResult, Targets, apply_core, calc_relo, patch_insn,
};
pub use error::{CallKind, Error, Result};
pub use externs::{ExternValue, resolve_externs};
pub use link::{FuncInfo, LineInfo, LinkedProgram, Linker, link_program};
pub use oxbpf_obj::{ObjectSpec, RelocTarget, Relocation};

use oxbpf_asm::{PSEUDO_MAP_FD, PSEUDO_MAP_VALUE};

/// Patches map and data references with fds: a [`RelocTarget::Map`] becomes
/// `BPF_PSEUDO_MAP_FD` (`src = 1, imm = fd`), a [`RelocTarget::Data`] becomes
/// `BPF_PSEUDO_MAP_VALUE` (`src = 2, imm = fd`, second slot `imm = offset`).
/// `map_fd` maps an index into `ObjectSpec::maps` to its fd. Extern relocations are left
/// for the extern resolver.
pub fn resolve_maps(prog: &mut LinkedProgram, map_fd: &dyn Fn(usize) -> Option<i32>) -> Result<()> {
    for r in &prog.relocations {
        let (map, offset) = match r.target {
            RelocTarget::Map { map } => (map, None),
            RelocTarget::Data { map, offset } => (map, Some(offset)),
            _ => continue,
        };
        let function = || {
            prog.functions
                .iter()
                .rev()
                .find(|(_, s)| *s <= r.insn)
                .map_or_else(String::new, |(n, _)| n.clone())
        };
        let program = || {
            prog.functions
                .first()
                .map_or_else(String::new, |(n, _)| n.clone())
        };
        let ok = r.insn + 1 < prog.insns.len() && prog.insns[r.insn].is_ld_imm64();
        if !ok {
            return Err(Error::BadInstruction {
                program: program(),
                function: function(),
                insn: r.insn,
                reason: format!(
                    "map relocation against {:?} is not on an ld_imm64 with two slots",
                    r.symbol
                ),
            });
        }
        let fd = map_fd(map).ok_or_else(|| Error::MissingMapFd {
            insn: r.insn,
            map,
            symbol: r.symbol.clone(),
        })?;
        let insn = &mut prog.insns[r.insn];
        insn.imm = fd;
        match offset {
            None => {
                insn.src = PSEUDO_MAP_FD;
                prog.insns[r.insn + 1].imm = 0;
            }
            Some(off) => {
                insn.src = PSEUDO_MAP_VALUE;
                prog.insns[r.insn + 1].imm = off as i32;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;

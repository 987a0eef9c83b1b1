//! Hand-made ObjectSpec pieces shared by this crate's unit tests (src/tests.rs includes
//! this file with `#[path]`) and its integration tests.

#![allow(dead_code)]

use oxbpf_asm::Insn;
use oxbpf_obj::{AttachPoint, ObjectSpec, ProgramSpec, ProgramType, Relocation, SectionDef};

/// A function at `offset` of `section`: an entry program of that section's kind, or a
/// subprogram (no kind) in `.text`.
pub fn func(
    name: &str,
    section: &str,
    offset: u64,
    insns: Vec<Insn>,
    relocs: Vec<Relocation>,
) -> ProgramSpec {
    let def = if section == ".text" {
        SectionDef {
            prog_type: ProgramType::UNSPEC,
            expected_attach_type: None,
            attach: AttachPoint::None,
            sleepable: false,
            autoload: false,
        }
    } else {
        SectionDef::from_section_name(section).unwrap()
    };
    ProgramSpec {
        name: name.into(),
        section: section.into(),
        section_offset: offset,
        def,
        insns,
        relocations: relocs,
    }
}

/// A GPL object of these programs and subprograms, without maps, globals or BTF.
pub fn spec(programs: Vec<ProgramSpec>, subprograms: Vec<ProgramSpec>) -> ObjectSpec {
    ObjectSpec {
        license: "GPL".into(),
        kernel_version: None,
        programs,
        subprograms,
        maps: vec![],
        globals: vec![],
        btf: None,
        btf_ext: None,
        datasec_layout: Default::default(),
        externs: vec![],
    }
}

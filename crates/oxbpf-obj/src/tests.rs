//! Hand-built ELF inputs: good minimal objects and the ways they go wrong.

use object::elf;
use oxbpf_asm::{Insn, insns_to_bytes};
use proptest::prelude::*;

use crate::{Error, ObjectSpec, RelocTarget};

struct Sec {
    name: String,
    sh_type: u32,
    flags: u64,
    data: Vec<u8>,
    info: u32,
    entsize: u64,
}

struct Sym {
    name: String,
    value: u64,
    size: u64,
    info: u8,
    shndx: u16,
}

/// A section header: (name_off, type, flags, offset, size, link, info, entsize).
type Header = (u32, u32, u64, u64, u64, u32, u32, u64);

/// A minimal ELF64 little-endian relocatable object writer. Section 0 is the null section,
/// user sections are 1..=n, then `.strtab`, `.symtab`, `.shstrtab`.
struct ElfBuilder {
    machine: u16,
    sections: Vec<Sec>,
    symbols: Vec<Sym>,
}

impl ElfBuilder {
    fn new() -> Self {
        ElfBuilder {
            machine: 247,
            sections: Vec::new(),
            symbols: Vec::new(),
        }
    }

    /// Adds a section and returns its index.
    fn section(&mut self, name: &str, sh_type: u32, flags: u32, data: &[u8]) -> u16 {
        self.sections.push(Sec {
            name: name.into(),
            sh_type,
            flags: u64::from(flags),
            data: data.to_vec(),
            info: 0,
            entsize: 0,
        });
        self.sections.len() as u16
    }

    fn code(&mut self, name: &str, insns: &[Insn]) -> u16 {
        self.section(
            name,
            elf::SHT_PROGBITS,
            elf::SHF_ALLOC | elf::SHF_EXECINSTR,
            &insns_to_bytes(insns),
        )
    }

    /// Adds a REL section for section `target`: records (offset, symbol index, type).
    fn rel(&mut self, target: u16, recs: &[(u64, u32, u32)]) {
        let name = format!(".rel{}", self.sections[usize::from(target) - 1].name);
        let mut data = Vec::new();
        for &(off, sym, ty) in recs {
            data.extend_from_slice(&off.to_le_bytes());
            data.extend_from_slice(&((u64::from(sym) << 32) | u64::from(ty)).to_le_bytes());
        }
        self.sections.push(Sec {
            name,
            sh_type: elf::SHT_REL,
            flags: 0,
            data,
            info: u32::from(target),
            entsize: 16,
        });
    }

    /// Adds a symbol and returns its index (index 0 is the null symbol).
    fn symbol(&mut self, name: &str, value: u64, size: u64, kind: u8, bind: u8, shndx: u16) -> u32 {
        self.symbols.push(Sym {
            name: name.into(),
            value,
            size,
            info: (bind << 4) | kind,
            shndx,
        });
        self.symbols.len() as u32
    }

    fn func(&mut self, name: &str, shndx: u16, value: u64, slots: u64) -> u32 {
        self.symbol(
            name,
            value,
            slots * 8,
            elf::STT_FUNC,
            elf::STB_GLOBAL,
            shndx,
        )
    }

    fn license(&mut self) {
        self.section(
            "license",
            elf::SHT_PROGBITS,
            elf::SHF_ALLOC | elf::SHF_WRITE,
            b"GPL\0",
        );
    }

    fn build(&self) -> Vec<u8> {
        let mut out = vec![0u8; 64];
        let mut strtab = vec![0u8];
        let mut shstrtab = vec![0u8];
        let add = |tab: &mut Vec<u8>, s: &str| {
            let off = tab.len() as u32;
            tab.extend_from_slice(s.as_bytes());
            tab.push(0);
            off
        };
        let mut headers: Vec<Header> = vec![(0, 0, 0, 0, 0, 0, 0, 0)];
        let n_user = self.sections.len() as u32;
        let (strtab_idx, symtab_idx) = (n_user + 1, n_user + 2);
        for s in &self.sections {
            while out.len() % 8 != 0 {
                out.push(0);
            }
            let off = out.len() as u64;
            if s.sh_type != elf::SHT_NOBITS {
                out.extend_from_slice(&s.data);
            }
            let link = if s.sh_type == elf::SHT_REL {
                symtab_idx
            } else {
                0
            };
            let name = add(&mut shstrtab, &s.name);
            headers.push((
                name,
                s.sh_type,
                s.flags,
                off,
                s.data.len() as u64,
                link,
                s.info,
                s.entsize,
            ));
        }
        let mut symtab = vec![0u8; 24];
        for s in &self.symbols {
            let name = add(&mut strtab, &s.name);
            symtab.extend_from_slice(&name.to_le_bytes());
            symtab.push(s.info);
            symtab.push(0);
            symtab.extend_from_slice(&s.shndx.to_le_bytes());
            symtab.extend_from_slice(&s.value.to_le_bytes());
            symtab.extend_from_slice(&s.size.to_le_bytes());
        }
        let strtab_name = add(&mut shstrtab, ".strtab");
        let symtab_name = add(&mut shstrtab, ".symtab");
        let shstrtab_name = add(&mut shstrtab, ".shstrtab");
        let place = |out: &mut Vec<u8>, data: &[u8]| {
            while out.len() % 8 != 0 {
                out.push(0);
            }
            let off = out.len() as u64;
            out.extend_from_slice(data);
            (off, data.len() as u64)
        };
        let (o, l) = place(&mut out, &strtab);
        headers.push((strtab_name, elf::SHT_STRTAB, 0, o, l, 0, 0, 0));
        let (o, l) = place(&mut out, &symtab);
        headers.push((symtab_name, elf::SHT_SYMTAB, 0, o, l, strtab_idx, 1, 24));
        let (o, l) = place(&mut out, &shstrtab);
        headers.push((shstrtab_name, elf::SHT_STRTAB, 0, o, l, 0, 0, 0));
        let shstrndx = headers.len() as u16 - 1;
        while out.len() % 8 != 0 {
            out.push(0);
        }
        let shoff = out.len() as u64;
        for h in &headers {
            out.extend_from_slice(&h.0.to_le_bytes());
            out.extend_from_slice(&h.1.to_le_bytes());
            out.extend_from_slice(&h.2.to_le_bytes());
            out.extend_from_slice(&0u64.to_le_bytes()); // addr
            out.extend_from_slice(&h.3.to_le_bytes());
            out.extend_from_slice(&h.4.to_le_bytes());
            out.extend_from_slice(&h.5.to_le_bytes());
            out.extend_from_slice(&h.6.to_le_bytes());
            out.extend_from_slice(&8u64.to_le_bytes()); // align
            out.extend_from_slice(&h.7.to_le_bytes());
        }
        // ELF header.
        out[..4].copy_from_slice(&elf::ELFMAG);
        out[4] = elf::ELFCLASS64;
        out[5] = elf::ELFDATA2LSB;
        out[6] = elf::EV_CURRENT;
        out[16..18].copy_from_slice(&elf::ET_REL.to_le_bytes());
        out[18..20].copy_from_slice(&self.machine.to_le_bytes());
        out[20..24].copy_from_slice(&1u32.to_le_bytes());
        out[40..48].copy_from_slice(&shoff.to_le_bytes());
        out[52..54].copy_from_slice(&64u16.to_le_bytes());
        out[58..60].copy_from_slice(&64u16.to_le_bytes());
        out[60..62].copy_from_slice(&(headers.len() as u16).to_le_bytes());
        out[62..64].copy_from_slice(&shstrndx.to_le_bytes());
        out
    }
}

/// A valid object: `xdp` program `prog` that loads map `m` and calls `.text` function `f`.
fn good() -> ElfBuilder {
    let mut b = ElfBuilder::new();
    let ld = Insn::ld_imm64(1, 0, 0);
    let xdp = b.code(
        "xdp",
        &[
            ld[0],
            ld[1],
            Insn::new(oxbpf_asm::CALL, 0, 1, 0, -1),
            Insn::exit(),
        ],
    );
    let text = b.code(".text", &[Insn::mov64_imm(0, 1), Insn::exit()]);
    let maps = b.section(
        "maps",
        elf::SHT_PROGBITS,
        elf::SHF_ALLOC | elf::SHF_WRITE,
        &[2, 0, 0, 0, 4, 0, 0, 0, 8, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0],
    );
    b.license();
    b.func("prog", xdp, 0, 4);
    let f = b.func("f", text, 0, 2);
    let m = b.symbol("m", 0, 20, elf::STT_OBJECT, elf::STB_GLOBAL, maps);
    b.rel(xdp, &[(0, m, 1), (16, f, 10)]);
    b
}

#[test]
fn reads_a_hand_built_object() {
    let spec = ObjectSpec::from_bytes(&good().build()).unwrap();
    assert_eq!(spec.license, "GPL");
    assert_eq!(spec.programs.len(), 1);
    assert_eq!(spec.subprograms[0].name, "f");
    let p = &spec.programs[0];
    assert_eq!(p.insns.len(), 4);
    assert_eq!(p.relocations.len(), 2);
    assert_eq!(p.relocations[0].target, RelocTarget::Map { map: 0 });
    assert_eq!(
        p.relocations[1].target,
        RelocTarget::Call {
            section: ".text".into(),
            offset: 0
        }
    );
    assert_eq!(spec.maps[0].name, "m");
    assert_eq!(spec.maps[0].value_size, 8);
}

#[test]
fn static_function_in_a_program_section_is_a_subprogram() {
    let mut b = ElfBuilder::new();
    let s = b.code(
        "xdp",
        &[
            pcall_insn(1),
            Insn::exit(),
            Insn::mov64_imm(0, 2),
            Insn::exit(),
        ],
    );
    b.license();
    b.func("prog", s, 0, 2);
    b.symbol("helper", 16, 16, elf::STT_FUNC, elf::STB_LOCAL, s);
    let spec = ObjectSpec::from_bytes(&b.build()).unwrap();
    assert_eq!(spec.programs.len(), 1);
    let h = &spec.subprograms[0];
    assert_eq!(
        (h.name.as_str(), h.section.as_str(), h.section_offset),
        ("helper", "xdp", 16)
    );
    assert_eq!(h.def.prog_type, crate::ProgramType::UNSPEC);
    assert!(!h.def.autoload);
    assert_eq!(spec.programs[0].def.prog_type, crate::ProgramType::XDP);
}

fn pcall_insn(imm: i32) -> Insn {
    Insn::new(oxbpf_asm::CALL, 0, 1, 0, imm)
}

#[test]
fn rejects_truncated_elf() {
    let bytes = good().build();
    let e = ObjectSpec::from_bytes(&bytes[..40]).unwrap_err();
    assert!(matches!(e, Error::NotElf { .. }), "{e}");
    assert!(e.to_string().contains("truncated: 40 bytes"), "{e}");
    // Header intact, section table cut off.
    let e = ObjectSpec::from_bytes(&bytes[..bytes.len() - 10]).unwrap_err();
    assert!(matches!(e, Error::Elf { .. }), "{e}");
    assert!(ObjectSpec::from_bytes(&[]).is_err());
}

#[test]
fn rejects_non_bpf_elf_naming_the_machine() {
    let exe = std::fs::read("/proc/self/exe").unwrap();
    let e = ObjectSpec::from_bytes(&exe).unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, Error::NotBpf { .. }), "{msg}");
    if cfg!(target_arch = "x86_64") {
        assert_eq!(msg, "not a BPF object: e_machine 62 (x86-64)");
    }
    let mut b = good();
    b.machine = 183;
    let e = ObjectSpec::from_bytes(&b.build()).unwrap_err();
    assert_eq!(e.to_string(), "not a BPF object: e_machine 183 (AArch64)");
}

#[test]
fn rejects_big_endian_and_32_bit() {
    let mut bytes = good().build();
    bytes[5] = elf::ELFDATA2MSB;
    assert!(
        ObjectSpec::from_bytes(&bytes)
            .unwrap_err()
            .to_string()
            .contains("big-endian")
    );
    bytes[5] = elf::ELFDATA2LSB;
    bytes[4] = elf::ELFCLASS32;
    assert!(
        ObjectSpec::from_bytes(&bytes)
            .unwrap_err()
            .to_string()
            .contains("32-bit")
    );
}

#[test]
fn unknown_section_opens_with_no_program_type() {
    let mut b = good();
    let s = b.code("bogus/thing", &[Insn::exit()]);
    b.func("bogus", s, 0, 1);
    let spec = ObjectSpec::from_bytes(&b.build()).unwrap();
    let p = spec.programs.iter().find(|p| p.name == "bogus").unwrap();
    assert_eq!(p.section, "bogus/thing");
    assert_eq!(p.def.prog_type, crate::ProgramType::UNSPEC);
    assert!(p.def.autoload);
    assert!(!crate::SectionDef::unknown("?abc").autoload);
}

#[test]
fn a_missing_license_is_the_empty_license_as_in_libbpf() {
    let mut b2 = ElfBuilder::new();
    let s = b2.code("xdp", &[Insn::mov64_imm(0, 2), Insn::exit()]);
    b2.func("prog", s, 0, 2);
    let spec = ObjectSpec::from_bytes(&b2.build()).unwrap();
    assert_eq!(spec.license, "");
    assert_eq!(spec.programs.len(), 1);
}

#[test]
fn rejects_relocation_past_the_end() {
    let mut b = good();
    let xdp = 1;
    b.sections.retain(|s| s.sh_type != elf::SHT_REL);
    b.rel(xdp, &[(64, 3, 1)]);
    let e = ObjectSpec::from_bytes(&b.build()).unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, Error::BadRelocation { .. }), "{msg}");
    assert!(
        msg.starts_with("section \"xdp\": relocation at offset 0x40 against \"m\""),
        "{msg}"
    );
}

#[test]
fn rejects_relocation_on_a_plain_instruction() {
    let mut b = good();
    b.sections.retain(|s| s.sh_type != elf::SHT_REL);
    // Slot 3 is `exit`.
    b.rel(1, &[(24, 3, 1)]);
    let e = ObjectSpec::from_bytes(&b.build()).unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("offset 0x18"), "{msg}");
    assert!(msg.contains("neither ld_imm64 nor call"), "{msg}");
}

#[test]
fn rejects_relocation_to_a_symbol_past_the_table() {
    let mut b = good();
    b.sections.retain(|s| s.sh_type != elf::SHT_REL);
    b.rel(1, &[(0, 999, 1)]);
    let e = ObjectSpec::from_bytes(&b.build()).unwrap_err();
    assert!(e.to_string().contains("symbol index 999"), "{e}");
}

#[test]
fn rejects_function_past_section_end() {
    let mut b = good();
    b.symbols[0].size = 800;
    let e = ObjectSpec::from_bytes(&b.build()).unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.starts_with("section \"xdp\": function \"prog\" at offset 0x0"),
        "{msg}"
    );
}

#[test]
fn rejects_map_relocation_to_nothing() {
    let mut b = good();
    b.sections.retain(|s| s.sh_type != elf::SHT_REL);
    // `maps` section symbol + addend 8: no map is defined there.
    let sec_sym = b.symbol("", 0, 0, elf::STT_SECTION, elf::STB_LOCAL, 3);
    b.sections[0].data[4..8].copy_from_slice(&8i32.to_le_bytes());
    b.rel(1, &[(0, sec_sym, 1)]);
    let e = ObjectSpec::from_bytes(&b.build()).unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("relocation at offset 0x0 against \"maps\""),
        "{msg}"
    );
    assert!(msg.contains("no map is defined"), "{msg}");
}

/// The offset of section header `i` in `bytes` (e_shoff + i × 64).
fn shdr_at(bytes: &[u8], i: usize) -> usize {
    u64::from_le_bytes(bytes[0x28..0x30].try_into().unwrap()) as usize + i * 64
}

#[test]
fn rejects_a_section_name_past_the_name_table() {
    let mut bytes = good().build();
    let h = shdr_at(&bytes, 1);
    bytes[h..h + 4].copy_from_slice(&0xffff_ff00u32.to_le_bytes());
    let msg = ObjectSpec::from_bytes(&bytes).unwrap_err().to_string();
    assert!(
        msg.contains("name of section 1: name offset 0xffffff00 is past the string table"),
        "{msg}"
    );
}

#[test]
fn rejects_a_symbol_name_without_its_nul() {
    let b = good();
    let mut bytes = b.build();
    let shnum = u16::from_le_bytes(bytes[0x3c..0x3e].try_into().unwrap()) as usize;
    let (symtab, strtab) =
        (0..shnum)
            .map(|i| shdr_at(&bytes, i))
            .fold((None, None), |(sy, st), h| {
                match u32::from_le_bytes(bytes[h + 4..h + 8].try_into().unwrap()) {
                    elf::SHT_SYMTAB => (Some(h), st),
                    elf::SHT_STRTAB if st.is_none() => (sy, Some(h)),
                    _ => (sy, st),
                }
            });
    let off = |h: usize| u64::from_le_bytes(bytes[h + 0x18..h + 0x20].try_into().unwrap()) as usize;
    let size =
        |h: usize| u64::from_le_bytes(bytes[h + 0x20..h + 0x28].try_into().unwrap()) as usize;
    let (symtab, strtab) = (symtab.unwrap(), strtab.unwrap());
    // The last byte of .strtab (the first string table: symbol names) loses its NUL, and
    // symbol 1's name points at it.
    let (st_off, st_size, sym1) = (off(strtab), size(strtab), off(symtab) + 24);
    bytes[st_off + st_size - 1] = b'x';
    bytes[sym1..sym1 + 4].copy_from_slice(&(st_size as u32 - 1).to_le_bytes());
    let msg = ObjectSpec::from_bytes(&bytes).unwrap_err().to_string();
    assert!(msg.contains(".symtab"), "{msg}");
    assert!(msg.contains("symbol 1: name at offset"), "{msg}");
    assert!(msg.contains("is not NUL-terminated"), "{msg}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = ObjectSpec::from_bytes(&bytes);
    }

    #[test]
    fn never_panics_on_mutated_objects(
        edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8),
        cut in any::<usize>(),
    ) {
        let mut bytes = good().build();
        for (pos, val) in edits {
            let n = bytes.len();
            bytes[pos % n] = val;
        }
        let len = bytes.len();
        bytes.truncate(len - cut % 64);
        let _ = ObjectSpec::from_bytes(&bytes);
    }
}

//! One input object, read and checked: sections, symbols and REL records copied out of
//! the ELF (the `object` crate's ELF-level API does the bounds checks), `.BTF` and
//! `.BTF.ext` kept as bytes. Little-endian ELF64 `EM_BPF` relocatables only.

use object::LittleEndian as LE;
use object::elf;
use object::read::elf::{FileHeader, SectionHeader, Sym as _};

use crate::error::{Error, Result};

/// `EM_BPF`.
pub(crate) const EM_BPF: u16 = 247;
/// Largest section alignment accepted (the output pads to it).
const MAX_ALIGN: u64 = 4096;
/// `SHT_LLVM_ADDRSIG`.
const SHT_LLVM_ADDRSIG: u32 = 0x6fff_4c03;
/// `R_BPF_64_64`: `ld_imm64` of a map / data / function address.
pub(crate) const R_BPF_64_64: u32 = 1;
/// `R_BPF_64_ABS64`: 8-byte data word.
pub(crate) const R_BPF_64_ABS64: u32 = 2;
/// `R_BPF_64_ABS32`: 4-byte data word.
pub(crate) const R_BPF_64_ABS32: u32 = 3;
/// `R_BPF_64_32`: call instruction.
pub(crate) const R_BPF_64_32: u32 = 10;

/// A section of an input object.
#[derive(Clone, Debug)]
pub(crate) struct InSection {
    pub(crate) name: String,
    pub(crate) sh_type: u32,
    pub(crate) flags: u64,
    pub(crate) align: u64,
    pub(crate) entsize: u64,
    /// `sh_size` (also for NOBITS, whose `data` is empty).
    pub(crate) size: u64,
    pub(crate) data: Vec<u8>,
    /// Not linked: `.BTF`, `.BTF.ext`, symbol/string tables, DWARF, addrsig, an empty
    /// `.text`, relocations of those, and duplicate `license`/`version` sections.
    pub(crate) skipped: bool,
}

impl InSection {
    /// Code: PROGBITS with SHF_EXECINSTR.
    pub(crate) fn is_exec(&self) -> bool {
        self.sh_type == elf::SHT_PROGBITS && self.flags & u64::from(elf::SHF_EXECINSTR) != 0
    }

    /// A section whose bytes go into the output (code or data).
    pub(crate) fn is_data(&self) -> bool {
        !self.skipped && (self.sh_type == elf::SHT_PROGBITS || self.sh_type == elf::SHT_NOBITS)
    }
}

/// A symbol of an input object.
#[derive(Clone, Debug)]
pub(crate) struct InSymbol {
    pub(crate) name: String,
    pub(crate) info: u8,
    pub(crate) other: u8,
    pub(crate) shndx: u16,
    pub(crate) value: u64,
    pub(crate) size: u64,
}

impl InSymbol {
    pub(crate) fn bind(&self) -> u8 {
        self.info >> 4
    }
    pub(crate) fn kind(&self) -> u8 {
        self.info & 0xf
    }
    pub(crate) fn vis(&self) -> u8 {
        self.other & 3
    }
    pub(crate) fn is_undef(&self) -> bool {
        self.shndx == elf::SHN_UNDEF
    }
    /// The section index, for symbols defined in a regular section.
    pub(crate) fn section(&self) -> Option<usize> {
        (self.shndx != elf::SHN_UNDEF && self.shndx < elf::SHN_LORESERVE)
            .then_some(self.shndx as usize)
    }
}

/// One `Elf64_Rel`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct InRel {
    pub(crate) offset: u64,
    pub(crate) sym: u32,
    pub(crate) rtype: u32,
}

/// The REL records for one section.
#[derive(Clone, Debug)]
pub(crate) struct RelSection {
    /// Index of the `.rel*` section itself.
    pub(crate) index: usize,
    /// Index of the section it relocates.
    pub(crate) target: usize,
    pub(crate) rels: Vec<InRel>,
}

/// A parsed input object.
#[derive(Clone, Debug)]
pub(crate) struct Input {
    pub(crate) name: String,
    /// Indexed by ELF section index (0 is the null section).
    pub(crate) sections: Vec<InSection>,
    /// Indexed by symbol index (0 is the null symbol).
    pub(crate) symbols: Vec<InSymbol>,
    pub(crate) rels: Vec<RelSection>,
    pub(crate) btf: Option<Vec<u8>>,
    pub(crate) btf_ext: Option<Vec<u8>>,
}

fn is_dwarf(name: &str) -> bool {
    name.starts_with(".debug_")
}

impl Input {
    /// The section index of `name`.
    pub(crate) fn section_by_name(&self, name: &str) -> Option<usize> {
        self.sections
            .iter()
            .position(|s| s.name == name && s.sh_type != elf::SHT_NULL)
    }

    /// Reads and checks `data`; `name` labels errors.
    pub(crate) fn parse(name: &str, data: &[u8]) -> Result<Input> {
        let bad = |section: Option<&str>, reason: String| Error::elf(name, section, reason);
        if data.len() < 4 || data[..4] != elf::ELFMAG {
            return Err(bad(None, "not an ELF file (no \\x7fELF magic)".into()));
        }
        if data.len() < 64 {
            return Err(bad(
                None,
                format!("truncated: {} bytes, the ELF64 header needs 64", data.len()),
            ));
        }
        if data[4] != elf::ELFCLASS64 {
            return Err(bad(None, format!("ELF class {} (want 64-bit)", data[4])));
        }
        if data[5] != elf::ELFDATA2LSB {
            return Err(bad(
                None,
                "big-endian objects are not supported (little-endian BPF only)".into(),
            ));
        }
        let ehdr = elf::FileHeader64::<LE>::parse(data).map_err(|e| bad(None, e.to_string()))?;
        let machine = ehdr.e_machine(LE);
        if machine != EM_BPF {
            return Err(bad(None, format!("e_machine {machine} (want EM_BPF, 247)")));
        }
        let etype = ehdr.e_type(LE);
        if etype != elf::ET_REL {
            return Err(bad(
                None,
                format!("e_type {etype} (want ET_REL, a relocatable object)"),
            ));
        }
        let table = ehdr
            .sections(LE, data)
            .map_err(|e| bad(None, format!("section headers: {e}")))?;
        let mut sections = Vec::with_capacity(table.len());
        let mut symtab = None;
        for (i, sh) in table.iter().enumerate() {
            let sec_name = table
                .section_name(LE, sh)
                .map_err(|e| bad(None, format!("section {i}: name: {e}")))?;
            let sec_name = std::str::from_utf8(sec_name)
                .map_err(|_| bad(None, format!("section {i}: name is not UTF-8")))?
                .to_string();
            let sh_type = sh.sh_type(LE);
            let size = sh.sh_size(LE);
            let sec_data = if sh_type == elf::SHT_NOBITS || sh_type == elf::SHT_NULL {
                Vec::new()
            } else {
                sh.data(LE, data)
                    .map_err(|e| {
                        bad(
                            Some(&sec_name),
                            format!("data (offset {:#x}, size {size:#x}): {e}", sh.sh_offset(LE)),
                        )
                    })?
                    .to_vec()
            };
            let align = sh.sh_addralign(LE);
            if i > 0 && sh_type != elf::SHT_NULL {
                if sec_name.is_empty() {
                    return Err(bad(None, format!("section {i} has an empty name")));
                }
                if align > 1 && !align.is_power_of_two() && !is_dwarf(&sec_name) {
                    return Err(bad(
                        Some(&sec_name),
                        format!("alignment {align} is not a power of two"),
                    ));
                }
                if align > MAX_ALIGN && !is_dwarf(&sec_name) {
                    return Err(bad(
                        Some(&sec_name),
                        format!("alignment {align} is larger than {MAX_ALIGN}"),
                    ));
                }
                if sh_type == elf::SHT_NOBITS && size > u64::from(u32::MAX) {
                    return Err(bad(
                        Some(&sec_name),
                        format!("size {size:#x} is over 4 GiB"),
                    ));
                }
            }
            let mut skipped = match sh_type {
                elf::SHT_NULL | elf::SHT_STRTAB | SHT_LLVM_ADDRSIG => true,
                elf::SHT_SYMTAB => {
                    if symtab.replace(i).is_some() {
                        return Err(bad(Some(&sec_name), "a second symbol table".into()));
                    }
                    true
                }
                elf::SHT_PROGBITS | elf::SHT_NOBITS | elf::SHT_REL => false,
                _ if is_dwarf(&sec_name) => true,
                t => {
                    return Err(bad(
                        Some(&sec_name),
                        format!("unsupported section type {t:#x}"),
                    ));
                }
            };
            if is_dwarf(&sec_name)
                || sec_name == ".BTF"
                || sec_name == ".BTF.ext"
                || (sec_name == ".text" && sh_type == elf::SHT_PROGBITS && size == 0)
            {
                skipped = true;
            }
            if let Some(t) = sec_name.strip_prefix(".rel") {
                if is_dwarf(t) || t == ".BTF" || t == ".BTF.ext" {
                    skipped = true;
                }
            }
            let sec = InSection {
                name: sec_name,
                sh_type,
                flags: sh.sh_flags(LE),
                align,
                entsize: sh.sh_entsize(LE),
                size,
                data: sec_data,
                skipped,
            };
            if sec.is_exec() && !sec.skipped && size % 8 != 0 {
                return Err(bad(
                    Some(&sec.name),
                    format!("code section size {size:#x} is not a multiple of 8"),
                ));
            }
            sections.push(sec);
        }
        let Some(symtab_idx) = symtab else {
            return Err(bad(None, "no symbol table (SHT_SYMTAB)".into()));
        };
        let symbols = read_symbols(name, data, &table, &sections)?;
        let mut rels = Vec::new();
        for (i, sec) in sections.iter().enumerate() {
            if sec.sh_type != elf::SHT_REL || sec.skipped {
                continue;
            }
            let sh = table
                .section(object::SectionIndex(i))
                .map_err(|e| bad(Some(&sec.name), e.to_string()))?;
            rels.push(read_rels(
                name,
                i,
                sh,
                &sections,
                symtab_idx,
                symbols.len(),
            )?);
        }
        let btf = sections
            .iter()
            .find(|s| s.name == ".BTF" && s.sh_type == elf::SHT_PROGBITS)
            .map(|s| s.data.clone());
        let btf_ext = sections
            .iter()
            .find(|s| s.name == ".BTF.ext" && s.sh_type == elf::SHT_PROGBITS)
            .map(|s| s.data.clone());
        Ok(Input {
            name: name.to_string(),
            sections,
            symbols,
            rels,
            btf,
            btf_ext,
        })
    }
}

fn read_symbols(
    obj: &str,
    data: &[u8],
    table: &object::read::elf::SectionTable<'_, elf::FileHeader64<LE>>,
    sections: &[InSection],
) -> Result<Vec<InSymbol>> {
    let bad = |reason: String| Error::elf(obj, Some(".symtab"), reason);
    let syms = table
        .symbols(LE, data, elf::SHT_SYMTAB)
        .map_err(|e| bad(e.to_string()))?;
    let mut out = Vec::with_capacity(syms.len());
    for (i, s) in syms.symbols().iter().enumerate() {
        let name = syms
            .symbol_name(LE, s)
            .map_err(|e| bad(format!("symbol {i}: name: {e}")))?;
        let name = std::str::from_utf8(name)
            .map_err(|_| bad(format!("symbol {i}: name is not UTF-8")))?
            .to_string();
        let sym = InSymbol {
            name,
            info: s.st_info(),
            other: s.st_other(),
            shndx: s.st_shndx(LE),
            value: s.st_value(LE),
            size: s.st_size(LE),
        };
        let label = || format!("symbol {i} ({:?})", sym.name);
        if i == 0 {
            if sym.info != 0 || sym.shndx != 0 || sym.value != 0 || sym.size != 0 {
                return Err(bad("symbol 0 is not the null symbol".into()));
            }
            out.push(sym);
            continue;
        }
        if !matches!(sym.bind(), elf::STB_LOCAL | elf::STB_GLOBAL | elf::STB_WEAK) {
            return Err(bad(format!(
                "{}: unsupported binding {}",
                label(),
                sym.bind()
            )));
        }
        if !matches!(sym.vis(), elf::STV_DEFAULT | elf::STV_HIDDEN) {
            return Err(bad(format!(
                "{}: unsupported visibility {}",
                label(),
                sym.vis()
            )));
        }
        if sym.is_undef() {
            if sym.kind() != elf::STT_NOTYPE || sym.bind() == elf::STB_LOCAL || sym.value != 0 {
                return Err(bad(format!(
                    "{}: an undefined symbol must be a global NOTYPE extern with value 0",
                    label()
                )));
            }
        } else if let Some(sec) = sym.section() {
            let Some(s) = sections.get(sec) else {
                return Err(bad(format!(
                    "{}: section index {sec} is past the {} sections",
                    label(),
                    sections.len()
                )));
            };
            if sym.kind() == elf::STT_SECTION && sym.value != 0 {
                return Err(bad(format!(
                    "{}: section symbol with value {:#x}",
                    label(),
                    sym.value
                )));
            }
            if !s.skipped
                && sym.kind() != elf::STT_SECTION
                && sym.value.checked_add(sym.size).is_none_or(|e| e > s.size)
            {
                return Err(bad(format!(
                    "{}: {:#x}+{:#x} runs past section {:?} ({:#x} bytes)",
                    label(),
                    sym.value,
                    sym.size,
                    s.name,
                    s.size
                )));
            }
        } else if sym.shndx == elf::SHN_COMMON {
            return Err(bad(format!(
                "{}: a COMMON symbol (an uninitialised global without -fno-common?)",
                label()
            )));
        }
        out.push(sym);
    }
    Ok(out)
}

fn read_rels(
    obj: &str,
    index: usize,
    sh: &elf::SectionHeader64<LE>,
    sections: &[InSection],
    symtab_idx: usize,
    nsyms: usize,
) -> Result<RelSection> {
    let sec = &sections[index];
    let bad = |reason: String| Error::elf(obj, Some(&sec.name), reason);
    if sec.entsize != 16 {
        return Err(bad(format!("entry size {} (want 16)", sec.entsize)));
    }
    if sh.sh_link(LE) as usize != symtab_idx {
        return Err(bad(format!(
            "sh_link {} is not the symbol table",
            sh.sh_link(LE)
        )));
    }
    let target = sh.sh_info(LE) as usize;
    let Some(tsec) = sections.get(target).filter(|_| target != 0) else {
        return Err(bad(format!("sh_info {target} is not a section")));
    };
    if sec.name.strip_prefix(".rel") != Some(tsec.name.as_str()) {
        return Err(bad(format!(
            "relocates section {:?}: the name should be \".rel{}\"",
            tsec.name, tsec.name
        )));
    }
    if tsec.sh_type != elf::SHT_PROGBITS && tsec.sh_type != elf::SHT_NOBITS {
        return Err(bad(format!(
            "relocates {:?}, which is neither code nor data",
            tsec.name
        )));
    }
    if sec.data.len() % 16 != 0 {
        return Err(bad(format!(
            "size {} is not a multiple of 16",
            sec.data.len()
        )));
    }
    let mut rels = Vec::with_capacity(sec.data.len() / 16);
    for (j, c) in sec.data.chunks_exact(16).enumerate() {
        let offset = u64::from_le_bytes(c[0..8].try_into().unwrap_or_default());
        let info = u64::from_le_bytes(c[8..16].try_into().unwrap_or_default());
        let sym = (info >> 32) as u32;
        let rtype = info as u32;
        let width = match rtype {
            R_BPF_64_64 => 16,
            R_BPF_64_32 => 8,
            R_BPF_64_ABS64 => 8,
            R_BPF_64_ABS32 => 4,
            t => {
                return Err(bad(format!(
                    "relocation {j} at {offset:#x}: unsupported type {t}"
                )));
            }
        };
        if sym == 0 || sym as usize >= nsyms {
            return Err(bad(format!(
                "relocation {j} at {offset:#x}: symbol {sym} is not in the symbol table ({nsyms} symbols)"
            )));
        }
        if tsec.is_exec() && offset % 8 != 0 {
            return Err(bad(format!(
                "relocation {j} at {offset:#x}: not at an instruction boundary"
            )));
        }
        if offset.checked_add(width).is_none_or(|e| e > tsec.size) {
            return Err(bad(format!(
                "relocation {j} at {offset:#x}: runs past {:?} ({:#x} bytes)",
                tsec.name, tsec.size
            )));
        }
        rels.push(InRel { offset, sym, rtype });
    }
    Ok(RelSection {
        index,
        target,
        rels,
    })
}

//! A small checked view of a little-endian ELF64 BPF object: sections, symbols and REL
//! records, read with the `object` crate's ELF-level API. Everything borrows the input.

use object::LittleEndian as LE;
use object::elf;
use object::read::elf::{FileHeader, Rel as _, SectionHeader, Sym as _};

use crate::error::{Error, Result};

/// `EM_BPF`.
pub(crate) const EM_BPF: u16 = 247;

/// Where a symbol is defined.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SymSection {
    /// `SHN_UNDEF`: an extern.
    Undefined,
    /// A regular section index.
    Section(usize),
    /// `SHN_ABS`, `SHN_COMMON` and other reserved indices.
    Special(u32),
}

/// One section header, decoded.
#[derive(Clone, Debug)]
pub(crate) struct Section<'a> {
    pub(crate) name: &'a str,
    pub(crate) sh_type: u32,
    pub(crate) flags: u64,
    /// `sh_size` (also for `SHT_NOBITS`, whose `data` is empty).
    pub(crate) size: u64,
    pub(crate) info: u32,
    pub(crate) entsize: u64,
    pub(crate) data: &'a [u8],
}

impl Section<'_> {
    pub(crate) fn is_exec(&self) -> bool {
        self.sh_type == elf::SHT_PROGBITS && self.flags & u64::from(elf::SHF_EXECINSTR) != 0
    }
}

/// One symbol, decoded.
#[derive(Clone, Debug)]
pub(crate) struct Symbol<'a> {
    pub(crate) name: &'a str,
    pub(crate) value: u64,
    pub(crate) size: u64,
    pub(crate) kind: u8,
    pub(crate) bind: u8,
    /// `STV_*` (the low bits of `st_other`).
    pub(crate) visibility: u8,
    pub(crate) section: SymSection,
}

/// One `Elf64_Rel`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Rel {
    pub(crate) offset: u64,
    pub(crate) sym: u32,
    pub(crate) rtype: u32,
}

/// The parsed object.
#[derive(Debug)]
pub(crate) struct Elf<'a> {
    pub(crate) sections: Vec<Section<'a>>,
    pub(crate) symbols: Vec<Symbol<'a>>,
}

fn machine_name(m: u16) -> &'static str {
    match m {
        0 => "none",
        3 => "i386",
        8 => "MIPS",
        20 => "PowerPC",
        21 => "PowerPC64",
        22 => "s390",
        40 => "ARM",
        62 => "x86-64",
        183 => "AArch64",
        243 => "RISC-V",
        258 => "LoongArch",
        _ => "unknown machine",
    }
}

/// The NUL-terminated name at `offset` of string table `strtab`, or why there is none.
/// A plain byte loop: ELF names are short, and the `memchr` that `object`'s string
/// tables use detects CPU features on first use (`cpuid`, ~0.1 ms under virtualisation).
fn name_at(strtab: &[u8], offset: u32) -> std::result::Result<&[u8], String> {
    let rest = strtab.get(offset as usize..).ok_or_else(|| {
        format!(
            "name offset {offset:#x} is past the string table ({:#x} bytes)",
            strtab.len()
        )
    })?;
    let end = rest
        .iter()
        .position(|&b| b == 0)
        .ok_or_else(|| format!("name at offset {offset:#x} is not NUL-terminated"))?;
    Ok(&rest[..end])
}

fn utf8(bytes: &[u8], what: impl FnOnce() -> String) -> Result<&str> {
    std::str::from_utf8(bytes).map_err(|_| Error::elf(None, format!("{} is not UTF-8", what())))
}

impl<'a> Elf<'a> {
    pub(crate) fn parse(data: &'a [u8]) -> Result<Elf<'a>> {
        const EHDR: usize = 64;
        if data.len() < 4 || data[..4] != elf::ELFMAG {
            let reason = if data.len() < 4 {
                format!("{} bytes is too short for the ELF magic", data.len())
            } else {
                format!("bad magic {:02x?} at offset 0", &data[..4])
            };
            return Err(Error::NotElf { reason });
        }
        if data.len() < EHDR {
            return Err(Error::NotElf {
                reason: format!(
                    "truncated: {} bytes, the ELF64 header needs {EHDR}",
                    data.len()
                ),
            });
        }
        match data[4] {
            elf::ELFCLASS64 => {}
            elf::ELFCLASS32 => {
                return Err(Error::NotBpf {
                    reason: "ELF class 32-bit (BPF objects are ELF64)".into(),
                });
            }
            c => {
                return Err(Error::NotElf {
                    reason: format!("unknown ELF class {c} at offset 4"),
                });
            }
        }
        match data[5] {
            elf::ELFDATA2LSB => {}
            elf::ELFDATA2MSB => {
                return Err(Error::NotBpf {
                    reason: "big-endian object (only little-endian BPF objects are supported)"
                        .into(),
                });
            }
            d => {
                return Err(Error::NotElf {
                    reason: format!("unknown ELF data encoding {d} at offset 5"),
                });
            }
        }
        let hdr = elf::FileHeader64::<LE>::parse(data).map_err(|e| Error::NotElf {
            reason: e.to_string(),
        })?;
        let e = LE;
        let machine = hdr.e_machine(e);
        if machine != EM_BPF {
            return Err(Error::NotBpf {
                reason: format!("e_machine {machine} ({})", machine_name(machine)),
            });
        }
        let e_type = hdr.e_type(e);
        if e_type != elf::ET_REL {
            return Err(Error::NotBpf {
                reason: format!("e_type {e_type} (expected ET_REL, a relocatable object)"),
            });
        }
        let table = hdr
            .sections(e, data)
            .map_err(|err| Error::elf(None, format!("section table: {err}")))?;

        let shstrndx = hdr
            .shstrndx(e, data)
            .map_err(|err| Error::elf(None, format!("section name table index: {err}")))?;
        let shstrtab: &[u8] = match shstrndx {
            0 => &[],
            i => table
                .section(object::SectionIndex(i as usize))
                .and_then(|sh| sh.data(e, data))
                .map_err(|err| Error::elf(None, format!("section name table {i}: {err}")))?,
        };
        let mut sections = Vec::with_capacity(table.len());
        for (index, sh) in table.enumerate() {
            let name_bytes = name_at(shstrtab, sh.sh_name(e))
                .map_err(|err| Error::elf(None, format!("name of section {}: {err}", index.0)))?;
            let name = utf8(name_bytes, || format!("name of section {}", index.0))?;
            let sec_data = sh.data(e, data).map_err(|err| {
                Error::elf(
                    Some(name),
                    format!(
                        "{err} (offset {:#x}, size {:#x}, file is {:#x} bytes)",
                        sh.sh_offset(e),
                        sh.sh_size(e),
                        data.len()
                    ),
                )
            })?;
            sections.push(Section {
                name,
                sh_type: sh.sh_type(e),
                flags: sh.sh_flags(e),
                size: sh.sh_size(e),
                info: sh.sh_info(e),
                entsize: sh.sh_entsize(e),
                data: sec_data,
            });
        }

        let symtab = table
            .symbols(e, data, elf::SHT_SYMTAB)
            .map_err(|err| Error::elf(Some(".symtab"), err))?;
        let strtab: &[u8] = match symtab.string_section().0 {
            0 => &[],
            i => sections
                .get(i)
                .map(|s| s.data)
                .ok_or_else(|| Error::elf(Some(".symtab"), format!("string table {i} missing")))?,
        };
        let mut symbols = Vec::with_capacity(symtab.len());
        for (index, sym) in symtab.enumerate() {
            let name_bytes = name_at(strtab, sym.st_name(e))
                .map_err(|err| Error::elf(Some(".symtab"), format!("symbol {}: {err}", index.0)))?;
            let name = utf8(name_bytes, || format!("name of symbol {}", index.0))?;
            let section = match sym.st_shndx(e) {
                elf::SHN_UNDEF => SymSection::Undefined,
                elf::SHN_XINDEX => match symtab.shndx(e, index) {
                    Some(0) => SymSection::Undefined,
                    Some(i) => SymSection::Section(i as usize),
                    None => {
                        return Err(Error::elf(
                            Some(".symtab"),
                            format!(
                                "symbol {} ({name:?}) has no extended section index",
                                index.0
                            ),
                        ));
                    }
                },
                i if i < elf::SHN_LORESERVE => SymSection::Section(usize::from(i)),
                i => SymSection::Special(u32::from(i)),
            };
            if let SymSection::Section(i) = section {
                if i >= sections.len() {
                    return Err(Error::elf(
                        Some(".symtab"),
                        format!(
                            "symbol {} ({name:?}) refers to section {i}, but there are {}",
                            index.0,
                            sections.len()
                        ),
                    ));
                }
            }
            symbols.push(Symbol {
                name,
                value: sym.st_value(e),
                size: sym.st_size(e),
                kind: sym.st_type(),
                bind: sym.st_bind(),
                visibility: sym.st_visibility(),
                section,
            });
        }
        Ok(Elf { sections, symbols })
    }

    /// The first section with this name.
    pub(crate) fn section_by_name(&self, name: &str) -> Option<(usize, &Section<'a>)> {
        self.sections
            .iter()
            .enumerate()
            .find(|(_, s)| s.name == name)
    }

    /// The `Elf64_Rel` records of a `SHT_REL` section.
    pub(crate) fn rels(&self, index: usize) -> Result<Vec<Rel>> {
        let sec = &self.sections[index];
        const REL_SIZE: usize = 16;
        if sec.entsize != REL_SIZE as u64 {
            return Err(Error::elf(
                Some(sec.name),
                format!("SHT_REL entry size {} (expected {REL_SIZE})", sec.entsize),
            ));
        }
        let recs: &[elf::Rel64<LE>] =
            object::pod::slice_from_all_bytes(sec.data).map_err(|()| {
                Error::elf(
                    Some(sec.name),
                    format!("size {:#x} is not a multiple of {REL_SIZE}", sec.data.len()),
                )
            })?;
        let e = LE;
        Ok(recs
            .iter()
            .map(|r| Rel {
                offset: r.r_offset(e),
                sym: r.r_sym(e),
                rtype: r.r_type(e),
            })
            .collect())
    }
}

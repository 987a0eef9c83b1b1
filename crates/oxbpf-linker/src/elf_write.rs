//! A small writer of little-endian ELF64 `EM_BPF` relocatable objects: the sections
//! given, then `.symtab` and `.strtab` (which also holds the section names, as in the
//! objects libbpf's linker writes). Owned data; used for the output and by the tests to
//! build input objects.

use std::collections::HashMap;

use object::elf;

use crate::input::EM_BPF;

/// A string table under construction (deduplicated, starts with the empty string).
#[derive(Debug, Clone)]
pub(crate) struct StrTab {
    data: Vec<u8>,
    index: HashMap<String, u32>,
}

impl StrTab {
    pub(crate) fn new() -> StrTab {
        let mut index = HashMap::new();
        index.insert(String::new(), 0);
        StrTab {
            data: vec![0],
            index,
        }
    }

    /// Adds `s` (once) and returns its offset.
    pub(crate) fn add(&mut self, s: &str) -> u32 {
        if let Some(&o) = self.index.get(s) {
            return o;
        }
        let o = self.data.len() as u32;
        self.data.extend_from_slice(s.as_bytes());
        self.data.push(0);
        self.index.insert(s.to_string(), o);
        o
    }
}

/// One output section (not the symbol or string table).
#[derive(Debug, Clone)]
pub(crate) struct WSection {
    pub(crate) name: String,
    pub(crate) sh_type: u32,
    pub(crate) flags: u64,
    pub(crate) align: u64,
    pub(crate) entsize: u64,
    /// For `SHT_REL`: the index (among these sections, from 0) of the relocated section;
    /// the writer turns it into the ELF index and points `sh_link` at `.symtab`.
    pub(crate) rel_target: Option<usize>,
    /// Bytes (empty for NOBITS).
    pub(crate) data: Vec<u8>,
    /// `sh_size` for NOBITS.
    pub(crate) nobits_size: u64,
}

/// One `Elf64_Sym`, with the section given as an index among the written sections.
#[derive(Debug, Clone)]
pub(crate) struct WSymbol {
    pub(crate) name: String,
    pub(crate) info: u8,
    pub(crate) other: u8,
    /// `Ok(i)`: section `i` of the written sections; `Err(raw)`: a raw st_shndx (UNDEF,
    /// ABS).
    pub(crate) section: Result<usize, u16>,
    pub(crate) value: u64,
    pub(crate) size: u64,
}

/// ELF index of written section `i` (the null section is 0).
pub(crate) fn elf_index(i: usize) -> u32 {
    i as u32 + 1
}

/// Encodes an `Elf64_Rel`.
pub(crate) fn rel_bytes(offset: u64, sym: u32, rtype: u32) -> [u8; 16] {
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&offset.to_le_bytes());
    b[8..].copy_from_slice(&((u64::from(sym) << 32) | u64::from(rtype)).to_le_bytes());
    b
}

fn align_to(v: usize, a: u64) -> usize {
    let a = a.max(1) as usize;
    v.div_ceil(a) * a
}

/// Writes the object. `symbols` must list locals first (index 0, the null symbol, is
/// added here, so `symbols[i]` gets index `i + 1`).
pub(crate) fn write(sections: &[WSection], symbols: &[WSymbol]) -> Vec<u8> {
    let mut strtab = StrTab::new();
    let n = sections.len();
    let symtab_idx = elf_index(n);
    let strtab_idx = symtab_idx + 1;
    let mut symtab = vec![0u8; 24];
    let mut first_global = symbols.len() + 1;
    for (i, s) in symbols.iter().enumerate() {
        if s.info >> 4 != elf::STB_LOCAL && first_global > symbols.len() {
            first_global = i + 1;
        }
        let shndx = match s.section {
            Ok(i) => elf_index(i) as u16,
            Err(raw) => raw,
        };
        symtab.extend_from_slice(&strtab.add(&s.name).to_le_bytes());
        symtab.push(s.info);
        symtab.push(s.other);
        symtab.extend_from_slice(&shndx.to_le_bytes());
        symtab.extend_from_slice(&s.value.to_le_bytes());
        symtab.extend_from_slice(&s.size.to_le_bytes());
    }
    let names: Vec<u32> = sections.iter().map(|s| strtab.add(&s.name)).collect();
    let symtab_name = strtab.add(".symtab");
    let strtab_name = strtab.add(".strtab");

    let mut out = vec![0u8; 64];
    // (name, type, flags, offset, size, link, info, align, entsize)
    let mut headers: Vec<[u64; 9]> = vec![[0; 9]];
    for (i, s) in sections.iter().enumerate() {
        let off = align_to(out.len(), s.align);
        out.resize(off, 0);
        out.extend_from_slice(&s.data);
        let size = if s.sh_type == elf::SHT_NOBITS {
            s.nobits_size
        } else {
            s.data.len() as u64
        };
        let (link, info) = match s.rel_target {
            Some(t) => (u64::from(symtab_idx), u64::from(elf_index(t))),
            None => (0, 0),
        };
        headers.push([
            u64::from(names[i]),
            u64::from(s.sh_type),
            s.flags,
            off as u64,
            size,
            link,
            info,
            s.align,
            s.entsize,
        ]);
    }
    let off = align_to(out.len(), 8);
    out.resize(off, 0);
    out.extend_from_slice(&symtab);
    headers.push([
        u64::from(symtab_name),
        u64::from(elf::SHT_SYMTAB),
        0,
        off as u64,
        symtab.len() as u64,
        u64::from(strtab_idx),
        first_global as u64,
        8,
        24,
    ]);
    let off = out.len();
    out.extend_from_slice(&strtab.data);
    headers.push([
        u64::from(strtab_name),
        u64::from(elf::SHT_STRTAB),
        0,
        off as u64,
        strtab.data.len() as u64,
        0,
        0,
        1,
        0,
    ]);
    let shoff = align_to(out.len(), 8);
    out.resize(shoff, 0);
    for h in &headers {
        out.extend_from_slice(&(h[0] as u32).to_le_bytes());
        out.extend_from_slice(&(h[1] as u32).to_le_bytes());
        out.extend_from_slice(&h[2].to_le_bytes());
        out.extend_from_slice(&0u64.to_le_bytes()); // sh_addr
        out.extend_from_slice(&h[3].to_le_bytes());
        out.extend_from_slice(&h[4].to_le_bytes());
        out.extend_from_slice(&(h[5] as u32).to_le_bytes());
        out.extend_from_slice(&(h[6] as u32).to_le_bytes());
        out.extend_from_slice(&h[7].to_le_bytes());
        out.extend_from_slice(&h[8].to_le_bytes());
    }
    // ELF header.
    let mut h = Vec::with_capacity(64);
    h.extend_from_slice(&elf::ELFMAG);
    h.extend_from_slice(&[elf::ELFCLASS64, elf::ELFDATA2LSB, elf::EV_CURRENT, 0]);
    h.extend_from_slice(&[0u8; 8]);
    h.extend_from_slice(&elf::ET_REL.to_le_bytes());
    h.extend_from_slice(&EM_BPF.to_le_bytes());
    h.extend_from_slice(&u32::from(elf::EV_CURRENT).to_le_bytes());
    h.extend_from_slice(&0u64.to_le_bytes()); // e_entry
    h.extend_from_slice(&0u64.to_le_bytes()); // e_phoff
    h.extend_from_slice(&(shoff as u64).to_le_bytes());
    h.extend_from_slice(&0u32.to_le_bytes()); // e_flags
    h.extend_from_slice(&64u16.to_le_bytes()); // e_ehsize
    h.extend_from_slice(&0u16.to_le_bytes()); // e_phentsize
    h.extend_from_slice(&0u16.to_le_bytes()); // e_phnum
    h.extend_from_slice(&64u16.to_le_bytes()); // e_shentsize
    h.extend_from_slice(&(headers.len() as u16).to_le_bytes());
    h.extend_from_slice(&(strtab_idx as u16).to_le_bytes());
    out[..64].copy_from_slice(&h);
    out
}

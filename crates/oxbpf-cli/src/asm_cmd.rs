//! `oxbpf disasm` (program sections of an object, as `llvm-objdump -dr` prints them) and
//! `oxbpf asm` (LLVM-syntax text to a loadable, BTF-less BPF ELF object).

use std::fmt::Write as _;
use std::path::PathBuf;

use object::{Object, ObjectSection, ObjectSymbol, RelocationFlags, SectionKind, SymbolKind};
use oxbpf::asm::listing::{Listing, ListingOptions, Symbol};
use oxbpf::asm::{AsmReloc, DisasmOptions, Insn, RelocKind, assemble};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// Arguments of `oxbpf disasm`.
#[derive(clap::Args, Debug)]
pub struct DisasmArgs {
    /// The BPF ELF object.
    pub object: PathBuf,
    /// Only this section.
    #[arg(long, value_name = "NAME")]
    pub section: Option<String>,
    /// Show the raw bytes of each instruction (llvm-objdump without --no-show-raw-insn).
    #[arg(long)]
    pub raw: bool,
    /// Decimal immediates (llvm-objdump --no-print-imm-hex).
    #[arg(long)]
    pub decimal: bool,
    /// The alu32 view of sub-64-bit memory accesses (llvm-objdump --mattr=+alu32).
    #[arg(long)]
    pub alu32: bool,
    /// Helper calls by name (`call bpf_map_lookup_elem`).
    #[arg(long)]
    pub helper_names: bool,
    /// Text that `oxbpf asm` turns back into the same bytes (strict decoding, `.8byte`
    /// for anything unknown), rather than llvm-objdump 19's.
    #[arg(long)]
    pub lossless: bool,
    /// Leave out the relocation lines (then the text is that of llvm-objdump -d).
    #[arg(long)]
    pub no_relocs: bool,
}

/// Arguments of `oxbpf asm`.
#[derive(clap::Args, Debug)]
pub struct AsmArgs {
    /// The assembly text (LLVM syntax, as `oxbpf disasm` prints it).
    pub input: PathBuf,
    /// The ELF object to write.
    #[arg(short, long, value_name = "FILE")]
    pub output: PathBuf,
    /// The program's section name (its type and hook, e.g. `socket`, `xdp`, `syscall`).
    #[arg(long, default_value = "socket")]
    pub section: String,
    /// The license string of the `license` section.
    #[arg(long, default_value = "GPL")]
    pub license: String,
    /// The program's (function symbol's) name; default: a label at slot 0, else `prog`.
    #[arg(long)]
    pub name: Option<String>,
}

/// `oxbpf disasm`.
pub fn disasm(args: DisasmArgs) -> Result<()> {
    let data =
        std::fs::read(&args.object).map_err(|e| format!("{}: {e}", args.object.display()))?;
    let text = disasm_text(&data, &args).map_err(|e| format!("{}: {e}", args.object.display()))?;
    let mut out = format!("\n{}:\tfile format elf64-bpf\n", args.object.display());
    out.push_str(&text);
    print!("{out}");
    Ok(())
}

fn reloc_kind(flags: RelocationFlags) -> Option<RelocKind> {
    match flags {
        RelocationFlags::Elf { r_type: 1 } => Some(RelocKind::LdImm64),
        RelocationFlags::Elf { r_type: 10 } => Some(RelocKind::Call),
        _ => None,
    }
}

fn disasm_text(data: &[u8], args: &DisasmArgs) -> Result<String> {
    let file = object::File::parse(data)?;
    let mut text = DisasmOptions::default();
    if args.decimal {
        text = text.decimal();
    }
    if args.alu32 {
        text = text.with_alu32();
    }
    if args.helper_names {
        text = text.with_helper_names();
    }
    if args.lossless {
        text = text.lossless();
    }
    let opts = ListingOptions {
        text,
        raw_bytes: args.raw,
        jump_annotations: true,
        relocations: !args.no_relocs,
    };
    let mut out = String::new();
    let mut found = false;
    for section in file.sections() {
        let name = section.name()?;
        if section.kind() != SectionKind::Text {
            continue;
        }
        if args.section.as_deref().is_some_and(|s| s != name) {
            continue;
        }
        found = true;
        let bytes = section.data()?;
        if bytes.is_empty() {
            continue;
        }
        if bytes.len() % 8 != 0 {
            return Err(format!(
                "section {name:?}: size {} is not a multiple of 8",
                bytes.len()
            )
            .into());
        }
        let insns: Vec<Insn> = bytes
            .chunks_exact(8)
            .map(|c| {
                let mut b = [0u8; 8];
                b.copy_from_slice(c);
                Insn::from_bytes(b)
            })
            .collect();
        let mut symbols = Vec::new();
        for sym in file.symbols() {
            if sym.section_index() != Some(section.index()) || sym.address() % 8 != 0 {
                continue;
            }
            let slot = (sym.address() / 8) as usize;
            let sname = sym.name()?;
            // llvm-objdump starts a block at every named symbol of the section.
            if !sname.is_empty() && !matches!(sym.kind(), SymbolKind::Section | SymbolKind::File) {
                symbols.push(Symbol::function(sname, slot));
            }
        }
        let mut relocs = Vec::new();
        for (offset, r) in section.relocations() {
            let (Some(kind), object::RelocationTarget::Symbol(idx)) =
                (reloc_kind(r.flags()), r.target())
            else {
                continue;
            };
            let sym = file.symbol_by_index(idx)?;
            let symbol = if sym.kind() == SymbolKind::Section {
                match sym.section_index() {
                    Some(i) => file.section_by_index(i)?.name()?.to_string(),
                    None => String::new(),
                }
            } else {
                sym.name()?.to_string()
            };
            relocs.push(AsmReloc {
                insn: (offset / 8) as usize,
                symbol,
                kind,
            });
        }
        let _ = write!(out, "\nDisassembly of section {name}:\n");
        let _ = write!(out, "{}", Listing::new(&insns, &symbols, &relocs, opts));
    }
    if let (Some(s), false) = (&args.section, found) {
        return Err(format!("no program section named {s:?}").into());
    }
    Ok(out)
}

/// `oxbpf asm`.
pub fn asm(args: AsmArgs) -> Result<()> {
    let src = std::fs::read_to_string(&args.input)
        .map_err(|e| format!("{}: {e}", args.input.display()))?;
    let out = assemble(&src).map_err(|e| format!("{}: {e}", args.input.display()))?;
    if out.insns.is_empty() {
        return Err(format!("{}: no instructions", args.input.display()).into());
    }
    let name = args
        .name
        .clone()
        .or_else(|| {
            out.labels
                .iter()
                .find(|(_, s)| *s == 0)
                .map(|(n, _)| n.clone())
        })
        .unwrap_or_else(|| "prog".to_string());
    let elf = write_elf(
        &args.section,
        &name,
        &args.license,
        &out.insns,
        &out.relocations,
    );
    std::fs::write(&args.output, elf).map_err(|e| format!("{}: {e}", args.output.display()))?;
    Ok(())
}

/// String table builder (offset 0 is the empty string).
struct Strtab(Vec<u8>);

impl Strtab {
    fn add(&mut self, s: &str) -> u32 {
        let off = self.0.len() as u32;
        self.0.extend_from_slice(s.as_bytes());
        self.0.push(0);
        off
    }
}

struct Shdr {
    name: u32,
    kind: u32,
    flags: u64,
    offset: u64,
    size: u64,
    link: u32,
    info: u32,
    align: u64,
    entsize: u64,
}

const SHT_PROGBITS: u32 = 1;
const SHT_SYMTAB: u32 = 2;
const SHT_STRTAB: u32 = 3;
const SHT_REL: u32 = 9;
const SHF_WRITE: u64 = 1;
const SHF_ALLOC: u64 = 2;
const SHF_EXECINSTR: u64 = 4;
const SHF_INFO_LINK: u64 = 0x40;
const EM_BPF: u16 = 247;

fn sym(buf: &mut Vec<u8>, name: u32, info: u8, shndx: u16, value: u64, size: u64) {
    buf.extend_from_slice(&name.to_le_bytes());
    buf.push(info);
    buf.push(0);
    buf.extend_from_slice(&shndx.to_le_bytes());
    buf.extend_from_slice(&value.to_le_bytes());
    buf.extend_from_slice(&size.to_le_bytes());
}

/// A relocatable ELF64 (EM_BPF) with one program section, its relocations, `license`
/// and a symbol table — what clang emits for a BTF-less object.
fn write_elf(
    section: &str,
    func: &str,
    license: &str,
    insns: &[Insn],
    relocs: &[AsmReloc],
) -> Vec<u8> {
    const STB_LOCAL: u8 = 0;
    const STB_GLOBAL: u8 = 1 << 4;
    const STT_NOTYPE: u8 = 0;
    const STT_OBJECT: u8 = 1;
    const STT_FUNC: u8 = 2;
    const STT_SECTION: u8 = 3;
    // Section indices: 1 .strtab, 2 program, 3 license, 4 .symtab, 5 .rel<program>.
    let (prog_idx, lic_idx, symtab_idx) = (2u16, 3u16, 4u32);
    let mut strtab = Strtab(vec![0]);
    let n_strtab = strtab.add(".strtab");
    let n_prog = strtab.add(section);
    let n_lic = strtab.add("license");
    let n_symtab = strtab.add(".symtab");
    let n_rel = strtab.add(&format!(".rel{section}"));

    let code: Vec<u8> = insns.iter().flat_map(|i| i.to_bytes()).collect();
    let mut lic = license.as_bytes().to_vec();
    lic.push(0);

    // Symbols: null, section (locals), then the function, LICENSE, undefined externs.
    let mut syms = Vec::new();
    sym(&mut syms, 0, 0, 0, 0, 0);
    sym(&mut syms, 0, STB_LOCAL | STT_SECTION, prog_idx, 0, 0);
    let n_locals = 2u32;
    let n_func = strtab.add(func);
    sym(
        &mut syms,
        n_func,
        STB_GLOBAL | STT_FUNC,
        prog_idx,
        0,
        code.len() as u64,
    );
    let n_license = strtab.add("LICENSE");
    sym(
        &mut syms,
        n_license,
        STB_GLOBAL | STT_OBJECT,
        lic_idx,
        0,
        lic.len() as u64,
    );
    let mut externs: Vec<&str> = Vec::new();
    let mut rel = Vec::new();
    for r in relocs {
        let k = match externs.iter().position(|e| *e == r.symbol) {
            Some(k) => k,
            None => {
                externs.push(&r.symbol);
                let n = strtab.add(&r.symbol);
                sym(&mut syms, n, STB_GLOBAL | STT_NOTYPE, 0, 0, 0);
                externs.len() - 1
            }
        };
        let idx = n_locals as u64 + 2 + k as u64;
        rel.extend_from_slice(&(r.insn as u64 * 8).to_le_bytes());
        rel.extend_from_slice(&((idx << 32) | u64::from(r.kind.elf_type())).to_le_bytes());
    }

    let mut file = vec![0u8; 64];
    let place = |file: &mut Vec<u8>, data: &[u8], align: usize| -> u64 {
        while file.len() % align != 0 {
            file.push(0);
        }
        let off = file.len() as u64;
        file.extend_from_slice(data);
        off
    };
    let o_prog = place(&mut file, &code, 8);
    let o_lic = place(&mut file, &lic, 1);
    let o_syms = place(&mut file, &syms, 8);
    let o_rel = place(&mut file, &rel, 8);
    let o_str = place(&mut file, &strtab.0, 1);
    let mut shdrs = vec![
        Shdr {
            name: 0,
            kind: 0,
            flags: 0,
            offset: 0,
            size: 0,
            link: 0,
            info: 0,
            align: 0,
            entsize: 0,
        },
        Shdr {
            name: n_strtab,
            kind: SHT_STRTAB,
            flags: 0,
            offset: o_str,
            size: strtab.0.len() as u64,
            link: 0,
            info: 0,
            align: 1,
            entsize: 0,
        },
        Shdr {
            name: n_prog,
            kind: SHT_PROGBITS,
            flags: SHF_ALLOC | SHF_EXECINSTR,
            offset: o_prog,
            size: code.len() as u64,
            link: 0,
            info: 0,
            align: 8,
            entsize: 0,
        },
        Shdr {
            name: n_lic,
            kind: SHT_PROGBITS,
            flags: SHF_ALLOC | SHF_WRITE,
            offset: o_lic,
            size: lic.len() as u64,
            link: 0,
            info: 0,
            align: 1,
            entsize: 0,
        },
        Shdr {
            name: n_symtab,
            kind: SHT_SYMTAB,
            flags: 0,
            offset: o_syms,
            size: syms.len() as u64,
            link: 1,
            info: n_locals,
            align: 8,
            entsize: 24,
        },
    ];
    if !rel.is_empty() {
        shdrs.push(Shdr {
            name: n_rel,
            kind: SHT_REL,
            flags: SHF_INFO_LINK,
            offset: o_rel,
            size: rel.len() as u64,
            link: symtab_idx,
            info: u32::from(prog_idx),
            align: 8,
            entsize: 16,
        });
    }
    while file.len() % 8 != 0 {
        file.push(0);
    }
    let shoff = file.len() as u64;
    for s in &shdrs {
        file.extend_from_slice(&s.name.to_le_bytes());
        file.extend_from_slice(&s.kind.to_le_bytes());
        file.extend_from_slice(&s.flags.to_le_bytes());
        file.extend_from_slice(&0u64.to_le_bytes());
        file.extend_from_slice(&s.offset.to_le_bytes());
        file.extend_from_slice(&s.size.to_le_bytes());
        file.extend_from_slice(&s.link.to_le_bytes());
        file.extend_from_slice(&s.info.to_le_bytes());
        file.extend_from_slice(&s.align.to_le_bytes());
        file.extend_from_slice(&s.entsize.to_le_bytes());
    }
    let mut h = Vec::with_capacity(64);
    h.extend_from_slice(&[0x7f, b'E', b'L', b'F', 2, 1, 1, 0]);
    h.extend_from_slice(&[0; 8]);
    h.extend_from_slice(&1u16.to_le_bytes()); // ET_REL
    h.extend_from_slice(&EM_BPF.to_le_bytes());
    h.extend_from_slice(&1u32.to_le_bytes());
    h.extend_from_slice(&0u64.to_le_bytes()); // entry
    h.extend_from_slice(&0u64.to_le_bytes()); // phoff
    h.extend_from_slice(&shoff.to_le_bytes());
    h.extend_from_slice(&0u32.to_le_bytes()); // flags
    h.extend_from_slice(&64u16.to_le_bytes()); // ehsize
    h.extend_from_slice(&0u16.to_le_bytes()); // phentsize
    h.extend_from_slice(&0u16.to_le_bytes()); // phnum
    h.extend_from_slice(&64u16.to_le_bytes()); // shentsize
    h.extend_from_slice(&(shdrs.len() as u16).to_le_bytes());
    h.extend_from_slice(&1u16.to_le_bytes()); // shstrndx: .strtab
    file[..64].copy_from_slice(&h);
    file
}

//! ELF → [`ObjectSpec`]: functions, maps, globals and relocations.

use std::collections::HashMap;

use object::elf;
use oxbpf_asm::{Insn, PSEUDO_CALL, PSEUDO_FUNC};
use oxbpf_btf::{Btf, Type};

use crate::ObjectSpec;
use crate::elf::{Elf, Rel, SymSection, Symbol};
use crate::error::{Error, Result};
use crate::kinds::ProgramType;
use crate::maps::{self, FoundMap};
use crate::section::{AttachPoint, SectionDef};
use crate::spec::{GlobalVar, MapKind, ProgramSpec, RelocTarget, Relocation};

/// `R_BPF_64_64`: ld_imm64 relocation.
const R_BPF_64_64: u32 = 1;
/// `R_BPF_64_32`: call relocation.
const R_BPF_64_32: u32 = 10;
/// `R_BPF_NONE`.
const R_BPF_NONE: u32 = 0;

/// Which list a function went into.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FuncRef {
    Prog(usize),
    Sub(usize),
}

/// The definition used for `.text` subprograms: never loaded on their own, so no program
/// type (`UNSPEC`) and no attach point.
fn subprog_def() -> SectionDef {
    SectionDef {
        prog_type: ProgramType::UNSPEC,
        expected_attach_type: None,
        attach: AttachPoint::None,
        sleepable: false,
        autoload: false,
    }
}

/// The `license` string. An object without one (or with an empty one) has the empty
/// license, as in libbpf: the kernel then loads its programs as non-GPL, and the verifier
/// names any GPL-only helper they call.
fn read_license(elf: &Elf<'_>) -> Result<String> {
    let Some((_, sec)) = elf.section_by_name("license") else {
        return Ok(String::new());
    };
    let bytes = match sec.data.iter().position(|&b| b == 0) {
        Some(n) => &sec.data[..n],
        None => sec.data,
    };
    let s = std::str::from_utf8(bytes).map_err(|_| Error::BadSection {
        section: "license".into(),
        reason: "license string is not UTF-8".into(),
    })?;
    Ok(s.to_string())
}

fn read_version(elf: &Elf<'_>) -> Result<Option<u32>> {
    let Some((_, sec)) = elf.section_by_name("version") else {
        return Ok(None);
    };
    let b: [u8; 4] = sec.data.try_into().map_err(|_| Error::BadSection {
        section: "version".into(),
        reason: format!("size is {} bytes, expected 4", sec.data.len()),
    })?;
    Ok(Some(u32::from_le_bytes(b)))
}

fn bad_func(sec: &str, sym: &Symbol<'_>, reason: impl Into<String>) -> Error {
    Error::BadFunction {
        section: sec.to_string(),
        name: sym.name.to_string(),
        offset: sym.value,
        reason: reason.into(),
    }
}

/// Finds the function symbols, builds `programs` and `subprograms`, and returns, for every
/// executable section, its functions as `(start, end, FuncRef)` sorted by start.
#[allow(clippy::type_complexity)]
fn collect_functions(
    elf: &Elf<'_>,
) -> Result<(
    Vec<ProgramSpec>,
    Vec<ProgramSpec>,
    HashMap<usize, Vec<(u64, u64, FuncRef)>>,
)> {
    // Section definitions, one per executable section with code.
    let mut defs: HashMap<usize, SectionDef> = HashMap::new();
    for (i, sec) in elf.sections.iter().enumerate() {
        if sec.is_exec() && sec.size > 0 && sec.name != ".text" {
            // An unknown section opens, as in libbpf (custom section handlers, a type set
            // by the user); loading such a program without a type is the loader's error.
            let def = match SectionDef::from_section_name(sec.name) {
                Err(Error::UnknownSection { .. }) => SectionDef::unknown(sec.name),
                other => other?,
            };
            defs.insert(i, def);
        }
    }
    let mut programs = Vec::new();
    let mut subprograms = Vec::new();
    let mut by_section: HashMap<usize, Vec<(u64, u64, FuncRef)>> = HashMap::new();
    for sym in &elf.symbols {
        if sym.kind != elf::STT_FUNC {
            continue;
        }
        let SymSection::Section(shndx) = sym.section else {
            continue;
        };
        let sec = &elf.sections[shndx];
        if !sec.is_exec() {
            continue;
        }
        if sym.name.is_empty() {
            return Err(bad_func(sec.name, sym, "function symbol has no name"));
        }
        let end = sym.value.checked_add(sym.size).filter(|&e| e <= sec.size);
        let Some(end) = end else {
            return Err(bad_func(
                sec.name,
                sym,
                format!(
                    "size {:#x} runs past the section end ({:#x})",
                    sym.size, sec.size
                ),
            ));
        };
        if sym.size == 0 || sym.size % 8 != 0 || sym.value % 8 != 0 {
            return Err(bad_func(
                sec.name,
                sym,
                format!(
                    "offset and size ({:#x}) must be non-zero multiples of 8",
                    sym.size
                ),
            ));
        }
        // `end <= sec.size` and `sec.data.len() == sec.size` for PROGBITS.
        let bytes = sec
            .data
            .get(sym.value as usize..end as usize)
            .ok_or_else(|| {
                bad_func(sec.name, sym, "function bytes are outside the section data")
            })?;
        let insns = oxbpf_asm::insns_from_bytes(bytes)
            .map_err(|e| bad_func(sec.name, sym, e.to_string()))?;
        let global = sym.bind == elf::STB_GLOBAL || sym.bind == elf::STB_WEAK;
        let is_text = sec.name == ".text";
        // Callees never load on their own: static functions in program sections are
        // subprograms like `.text` ones.
        let is_sub = is_text || !global;
        let def = match defs.get(&shndx) {
            Some(d) if !is_sub => d.clone(),
            _ => subprog_def(),
        };
        let spec = ProgramSpec {
            name: sym.name.to_string(),
            section: sec.name.to_string(),
            section_offset: sym.value,
            def,
            insns,
            relocations: Vec::new(),
        };
        let r = if is_sub {
            subprograms.push(spec);
            FuncRef::Sub(subprograms.len() - 1)
        } else {
            programs.push(spec);
            FuncRef::Prog(programs.len() - 1)
        };
        by_section
            .entry(shndx)
            .or_default()
            .push((sym.value, end, r));
    }
    for (shndx, funcs) in by_section.iter_mut() {
        funcs.sort_by_key(|f| f.0);
        for w in funcs.windows(2) {
            if w[1].0 < w[0].1 {
                let name = |r: FuncRef| match r {
                    FuncRef::Prog(i) => programs[i].name.clone(),
                    FuncRef::Sub(i) => subprograms[i].name.clone(),
                };
                return Err(Error::BadFunction {
                    section: elf.sections[*shndx].name.to_string(),
                    name: name(w[1].2),
                    offset: w[1].0,
                    reason: format!(
                        "overlaps function {:?} at {:#x}..{:#x}",
                        name(w[0].2),
                        w[0].0,
                        w[0].1
                    ),
                });
            }
        }
    }
    Ok((programs, subprograms, by_section))
}

fn globals(elf: &Elf<'_>, maps: &[FoundMap], btf: Option<&Btf<'_>>) -> Result<Vec<GlobalVar>> {
    let mut by_shndx: HashMap<usize, usize> = HashMap::new();
    for (i, m) in maps.iter().enumerate() {
        if matches!(m.spec.kind, MapKind::Data(_)) {
            by_shndx.insert(m.shndx, i);
        }
        if let Some(shndx) = m.arena_shndx {
            by_shndx.insert(shndx, i);
        }
    }
    let mut out = Vec::new();
    for sym in &elf.symbols {
        if sym.kind != elf::STT_OBJECT || sym.name.is_empty() {
            continue;
        }
        let SymSection::Section(shndx) = sym.section else {
            continue;
        };
        let Some(&map) = by_shndx.get(&shndx) else {
            continue;
        };
        let value_size = maps[map]
            .spec
            .data
            .as_ref()
            .map_or(u64::from(maps[map].spec.value_size), |d| d.len() as u64);
        let in_bounds = sym
            .value
            .checked_add(sym.size)
            .is_some_and(|e| e <= value_size);
        if !in_bounds {
            return Err(Error::Global {
                name: sym.name.to_string(),
                reason: format!(
                    "offset {:#x} + size {:#x} runs past section {:?} ({value_size:#x} bytes)",
                    sym.value, sym.size, maps[map].spec.section
                ),
            });
        }
        let btf_type = match btf {
            Some(btf) => {
                let section = if maps[map].arena_shndx == Some(shndx) {
                    maps::ARENA_SEC
                } else {
                    &maps[map].spec.section
                };
                var_type(btf, section, sym.name)?
            }
            None => None,
        };
        out.push(GlobalVar {
            name: sym.name.to_string(),
            map,
            // Both fit: bounded by value_size, a u32.
            offset: sym.value as u32,
            size: sym.size as u32,
            btf_type,
        });
    }
    Ok(out)
}

/// The type of variable `name` in DATASEC `section`, if the BTF describes it.
fn var_type(btf: &Btf<'_>, section: &str, name: &str) -> Result<Option<u32>> {
    let ctx = || format!("DATASEC {section:?}");
    let Some((_, ds)) = btf
        .datasec_by_name(section)
        .map_err(|e| Error::btf(ctx(), e))?
    else {
        return Ok(None);
    };
    for v in ds.vars() {
        let v = v.map_err(|e| Error::btf(ctx(), e))?;
        if let Type::Var(var) = btf.type_by_id(v.ty).map_err(|e| Error::btf(ctx(), e))? {
            if var.name == name {
                return Ok(Some(var.ty));
            }
        }
    }
    Ok(None)
}

struct RelocCtx<'e, 'a> {
    elf: &'e Elf<'a>,
    maps: &'e [FoundMap],
    map_by_def: HashMap<(usize, u64), usize>,
    data_by_shndx: HashMap<usize, usize>,
    /// ELF symbol index → index into `ObjectSpec::externs`.
    extern_by_sym: &'e HashMap<u32, usize>,
}

impl RelocCtx<'_, '_> {
    fn classify(
        &self,
        rel: &Rel,
        insn: &Insn,
    ) -> std::result::Result<(RelocTarget, String), (String, String)> {
        let sym = self.elf.symbols.get(rel.sym as usize).ok_or_else(|| {
            (
                format!("#{}", rel.sym),
                format!(
                    "symbol index {} is past the symbol table ({} symbols)",
                    rel.sym,
                    self.elf.symbols.len()
                ),
            )
        })?;
        let sym_name = match (sym.kind, sym.section) {
            (elf::STT_SECTION, SymSection::Section(i)) => self.elf.sections[i].name.to_string(),
            _ => sym.name.to_string(),
        };
        let fail = |reason: String| (sym_name.clone(), reason);
        if !insn.is_ld_imm64() && !insn.is_call() {
            return Err(fail(format!(
                "instruction (opcode {:#04x}) is neither ld_imm64 nor call",
                insn.code
            )));
        }
        match (rel.rtype, insn.is_call()) {
            (R_BPF_64_64, false) | (R_BPF_64_32, true) => {}
            (t, _) => {
                return Err(fail(format!(
                    "relocation type {t} does not fit a {} instruction (expected {})",
                    if insn.is_call() { "call" } else { "ld_imm64" },
                    if insn.is_call() {
                        "R_BPF_64_32 (10)"
                    } else {
                        "R_BPF_64_64 (1)"
                    }
                )));
            }
        }
        let shndx = match sym.section {
            SymSection::Undefined => {
                if sym.name.is_empty() {
                    return Err(fail("undefined symbol without a name".into()));
                }
                let Some(&index) = self.extern_by_sym.get(&rel.sym) else {
                    return Err(fail(
                        "undefined symbol is not an extern (binding GLOBAL or WEAK, type NOTYPE)"
                            .into(),
                    ));
                };
                return Ok((
                    RelocTarget::Extern {
                        name: sym.name.to_string(),
                        index,
                    },
                    sym_name,
                ));
            }
            SymSection::Special(n) => {
                return Err(fail(format!(
                    "symbol is in special section {n:#x} (an uninitialised global? give it an initial value)"
                )));
            }
            SymSection::Section(i) => i,
        };
        let target_sec = &self.elf.sections[shndx];
        let imm = i64::from(insn.imm);
        let value = i64::try_from(sym.value).map_err(|_| fail("symbol value overflows".into()))?;
        if insn.is_call() {
            if insn.src != PSEUDO_CALL {
                return Err(fail(format!(
                    "call with src {} has a relocation (expected a bpf-to-bpf call, src 1)",
                    insn.src
                )));
            }
            if !target_sec.is_exec() {
                return Err(fail(format!(
                    "call target is in non-executable section {:?}",
                    target_sec.name
                )));
            }
            // Section symbol: imm is the slot offset from the symbol; function symbol:
            // imm is -1. Either way the target is value + (imm + 1) * 8 (libbpf's rule).
            let off = value + (imm + 1) * 8;
            return self
                .code_offset(target_sec, off)
                .map(|offset| {
                    (
                        RelocTarget::Call {
                            section: target_sec.name.to_string(),
                            offset,
                        },
                        sym_name.clone(),
                    )
                })
                .map_err(fail);
        }
        if target_sec.is_exec() {
            // clang emits src 0 here; the linker marks it BPF_PSEUDO_FUNC (as libbpf does).
            if insn.src != 0 && insn.src != PSEUDO_FUNC {
                return Err(fail(format!(
                    "ld_imm64 of a code address has src {} (expected 0 or {PSEUDO_FUNC}, BPF_PSEUDO_FUNC)",
                    insn.src
                )));
            }
            return self
                .code_offset(target_sec, value + imm)
                .map(|offset| {
                    (
                        RelocTarget::Func {
                            section: target_sec.name.to_string(),
                            offset,
                        },
                        sym_name.clone(),
                    )
                })
                .map_err(fail);
        }
        if let Some(&map) = self.data_by_shndx.get(&shndx) {
            let off = value + imm;
            // Data maps hold their section in the value; the arena holds `.addr_space.1`.
            let spec = &self.maps[map].spec;
            let size = spec
                .data
                .as_ref()
                .map_or(i64::from(spec.value_size), |d| d.len() as i64);
            if !(0..=size).contains(&off) {
                return Err(fail(format!(
                    "data offset {off} (symbol {value:#x} + addend {imm}) is outside {:?} ({size} bytes)",
                    target_sec.name
                )));
            }
            return Ok((
                RelocTarget::Data {
                    map,
                    offset: off as u32,
                },
                sym_name,
            ));
        }
        if target_sec.name == ".maps" || target_sec.name == "maps" {
            let key_off = if sym.kind == elf::STT_SECTION {
                u64::try_from(value + imm).ok()
            } else {
                Some(sym.value)
            };
            return match key_off.and_then(|o| self.map_by_def.get(&(shndx, o))) {
                Some(&map) => Ok((RelocTarget::Map { map }, sym_name)),
                None => Err(fail(format!(
                    "no map is defined at offset {} of {:?}",
                    key_off.map_or_else(|| format!("{}", value + imm), |o| format!("{o:#x}")),
                    target_sec.name
                ))),
            };
        }
        let why = if maps::data_section_kind(target_sec.name).is_some() {
            " (empty data section)"
        } else {
            ""
        };
        Err(fail(format!(
            "symbol is in section {:?}, which is neither a map, data nor code section{why}",
            target_sec.name
        )))
    }

    fn code_offset(
        &self,
        sec: &crate::elf::Section<'_>,
        off: i64,
    ) -> std::result::Result<u64, String> {
        match u64::try_from(off) {
            Ok(o) if o % 8 == 0 && o < sec.size => Ok(o),
            _ => Err(format!(
                "target offset {off} is not an instruction of {:?} ({:#x} bytes)",
                sec.name, sec.size
            )),
        }
    }
}

fn apply_relocations(
    elf: &Elf<'_>,
    maps: &[FoundMap],
    programs: &mut [ProgramSpec],
    subprograms: &mut [ProgramSpec],
    funcs: &HashMap<usize, Vec<(u64, u64, FuncRef)>>,
    extern_by_sym: &HashMap<u32, usize>,
) -> Result<()> {
    let mut ctx = RelocCtx {
        elf,
        maps,
        map_by_def: HashMap::new(),
        data_by_shndx: HashMap::new(),
        extern_by_sym,
    };
    for (i, m) in maps.iter().enumerate() {
        match m.spec.kind {
            MapKind::Data(_) => {
                ctx.data_by_shndx.insert(m.shndx, i);
            }
            MapKind::Btf | MapKind::Legacy => {
                ctx.map_by_def.insert((m.shndx, m.offset), i);
            }
            MapKind::StructOps => {}
        }
        if let Some(shndx) = m.arena_shndx {
            ctx.data_by_shndx.insert(shndx, i);
        }
    }
    for (rel_idx, rel_sec) in elf.sections.iter().enumerate() {
        if rel_sec.sh_type != elf::SHT_REL {
            continue;
        }
        let target = rel_sec.info as usize;
        let Some(sec) = elf.sections.get(target) else {
            return Err(Error::elf(
                Some(rel_sec.name),
                format!("sh_info {target} is not a section index"),
            ));
        };
        if !sec.is_exec() {
            continue;
        }
        let empty = Vec::new();
        let sec_funcs = funcs.get(&target).unwrap_or(&empty);
        for rel in elf.rels(rel_idx)? {
            if rel.rtype == R_BPF_NONE {
                continue;
            }
            let bad = |symbol: String, reason: String| Error::BadRelocation {
                section: sec.name.to_string(),
                offset: rel.offset,
                symbol,
                reason,
            };
            let sym_label = || {
                elf.symbols
                    .get(rel.sym as usize)
                    .map_or_else(|| format!("#{}", rel.sym), |s| s.name.to_string())
            };
            if rel.offset % 8 != 0 || rel.offset.checked_add(8).is_none_or(|e| e > sec.size) {
                return Err(bad(
                    sym_label(),
                    format!(
                        "offset is not an instruction of the section ({:#x} bytes)",
                        sec.size
                    ),
                ));
            }
            let Some(&(start, _, fref)) = sec_funcs
                .iter()
                .find(|(s, e, _)| *s <= rel.offset && rel.offset < *e)
            else {
                return Err(bad(sym_label(), "offset is not inside any function".into()));
            };
            let func = match fref {
                FuncRef::Prog(i) => &mut programs[i],
                FuncRef::Sub(i) => &mut subprograms[i],
            };
            let slot = ((rel.offset - start) / 8) as usize;
            let insn = func.insns[slot];
            let (target, symbol) = ctx.classify(&rel, &insn).map_err(|(s, r)| bad(s, r))?;
            func.relocations.push(Relocation {
                insn: slot,
                target,
                symbol,
            });
        }
    }
    for f in programs.iter_mut().chain(subprograms.iter_mut()) {
        f.relocations.sort_by_key(|r| r.insn);
    }
    Ok(())
}

pub(crate) fn parse(data: &[u8]) -> Result<ObjectSpec> {
    let elf = Elf::parse(data)?;
    let license = read_license(&elf)?;
    let kernel_version = read_version(&elf)?;
    let btf_bytes = elf.section_by_name(".BTF").map(|(_, s)| s.data.to_vec());
    let btf_ext = elf
        .section_by_name(".BTF.ext")
        .map(|(_, s)| s.data.to_vec());
    let btf = match &btf_bytes {
        // With offsets in the same walk: maps, globals and externs read types by id.
        Some(b) => Some(Btf::parse_with_offsets(b).map_err(|e| Error::btf("parsing .BTF", e))?),
        None => None,
    };

    let (mut programs, mut subprograms, funcs) = collect_functions(&elf)?;

    let mut found = maps::btf_maps(&elf, btf.as_ref())?;
    found.extend(maps::legacy_maps(&elf)?);
    found.extend(maps::data_maps(&elf)?);
    maps::initial_slots(&elf, &mut found, &programs)?;
    maps::arena_data(&elf, &mut found)?;
    found.extend(crate::struct_ops::struct_ops_maps(
        &elf,
        btf.as_ref(),
        &programs,
    )?);

    let globals = globals(&elf, &found, btf.as_ref())?;
    let (externs, extern_by_sym) = crate::externs::collect(&elf, btf.as_ref())?;
    apply_relocations(
        &elf,
        &found,
        &mut programs,
        &mut subprograms,
        &funcs,
        &extern_by_sym,
    )?;

    let datasec_layout = datasec_layout(&elf);
    Ok(ObjectSpec {
        datasec_layout,
        license,
        kernel_version,
        programs,
        subprograms,
        maps: found
            .into_iter()
            .map(|m| m.spec)
            .chain(crate::externs::kconfig_map(&externs))
            .collect(),
        externs,
        globals,
        btf: btf_bytes,
        btf_ext,
    })
}

/// Section sizes and named object symbols, for completing DATASECs.
fn datasec_layout(elf: &Elf<'_>) -> crate::DatasecLayout {
    let sections = elf
        .sections
        .iter()
        .map(|s| (s.name.to_owned(), s.size))
        .collect();
    let symbols = elf
        .symbols
        .iter()
        .filter(|s| s.kind == elf::STT_OBJECT && !s.name.is_empty())
        .filter_map(|s| match s.section {
            SymSection::Section(i) => elf
                .sections
                .get(i)
                .map(|sec| (sec.name.to_owned(), s.name.to_owned(), s.value)),
            _ => None,
        })
        .collect();
    let hidden_funcs = elf
        .symbols
        .iter()
        .filter(|s| {
            s.kind == elf::STT_FUNC
                && matches!(s.bind, elf::STB_GLOBAL | elf::STB_WEAK)
                && matches!(s.visibility, elf::STV_HIDDEN | elf::STV_INTERNAL)
                && matches!(s.section, SymSection::Section(_))
        })
        .map(|s| s.name.to_owned())
        .collect();
    crate::DatasecLayout {
        sections,
        symbols,
        hidden_funcs,
    }
}

//! Linking one entry program: append reached subprograms, patch call / callback offsets,
//! re-base func_info / line_info and the remaining relocations.

use std::collections::HashMap;

use oxbpf_asm::{Insn, PSEUDO_CALL, PSEUDO_FUNC};
use oxbpf_btf::{Btf, BtfExt, Kind, Type};
use oxbpf_obj::{ObjectSpec, ProgramSpec, RelocTarget, Relocation};

use crate::error::{CallKind, Error, Result};

/// A `bpf_func_info` record of a linked program.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FuncInfo {
    /// Slot index in [`LinkedProgram::insns`] where the function starts.
    pub insn: u32,
    /// The BTF `FUNC` type id in the object's `.BTF`.
    pub type_id: u32,
}

/// A `bpf_line_info` record of a linked program.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LineInfo {
    /// Slot index in [`LinkedProgram::insns`].
    pub insn: u32,
    /// String offset of the file name in the object's `.BTF`.
    pub file_name_off: u32,
    /// String offset of the source line in the object's `.BTF`.
    pub line_off: u32,
    /// Line number.
    pub line: u32,
    /// Column.
    pub col: u32,
}

/// One program ready for loading: the entry function followed by every subprogram it
/// reaches (transitively, through calls and callback addresses), each placed once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkedProgram {
    /// The instructions; calls and callback `ld_imm64`s already carry relative offsets.
    pub insns: Vec<Insn>,
    /// One record per function placed, sorted, `func_info[0].insn == 0` (empty without
    /// `.BTF.ext`).
    pub func_info: Vec<FuncInfo>,
    /// Line records of all functions placed, sorted by `insn` (empty without `.BTF.ext`).
    pub line_info: Vec<LineInfo>,
    /// Map, data and extern relocations; `insn` is a slot index in `insns`.
    pub relocations: Vec<Relocation>,
    /// Name and start slot of each function placed, entry first.
    pub functions: Vec<(String, usize)>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum FuncId {
    Prog(usize),
    Sub(usize),
}

fn get(spec: &ObjectSpec, id: FuncId) -> &ProgramSpec {
    match id {
        FuncId::Prog(i) => &spec.programs[i],
        FuncId::Sub(i) => &spec.subprograms[i],
    }
}

/// Links entry program `program` (an index into `spec.programs`). Parses the object's
/// BTF and `.BTF.ext` for this one call: to link several programs of one object, make a
/// [`Linker`] once and call [`Linker::link`] for each.
pub fn link_program(spec: &ObjectSpec, program: usize) -> Result<LinkedProgram> {
    Linker::new(spec).link(program)
}

/// What linking needs of an object, read once for all its programs: the functions by
/// start, the exception callbacks of the BTF's decl tags and the `.BTF.ext` func_info /
/// line_info by section.
#[derive(Debug)]
pub struct Linker<'s> {
    spec: &'s ObjectSpec,
    by_start: HashMap<(&'s str, u64), FuncId>,
    /// `None` when the BTF or `.BTF.ext` did not parse: each [`Linker::link`] then reads
    /// them again itself, to report the error against its program.
    parsed: Option<Parsed<'s>>,
}

/// The BTF-derived tables of a [`Linker`].
#[derive(Debug)]
struct Parsed<'s> {
    /// The object's BTF (with its offset table) and `.BTF.ext`, kept for CO-RE.
    btf: Option<(Btf<'s>, Option<BtfExt<'s>>)>,
    /// Entry FUNC name → the name in its `exception_callback:<name>` decl tag (the first).
    exception_cbs: HashMap<&'s str, &'s str>,
    /// func_info / line_info by ELF section (`None` without BTF or `.BTF.ext`).
    ext: Option<ExtTables<'s>>,
}

/// `.BTF.ext` func_info and line_info records, grouped by ELF section.
#[derive(Debug)]
struct ExtTables<'s> {
    funcs: HashMap<&'s str, Vec<oxbpf_btf::FuncInfo>>,
    lines: HashMap<&'s str, Vec<oxbpf_btf::LineInfo>>,
}

impl<'s> Linker<'s> {
    /// Reads what linking needs of `spec` once (never fails: an unreadable BTF is
    /// reported by [`Linker::link`], naming the program).
    pub fn new(spec: &'s ObjectSpec) -> Linker<'s> {
        let mut by_start = HashMap::with_capacity(spec.programs.len() + spec.subprograms.len());
        for (i, f) in spec.programs.iter().enumerate() {
            by_start.insert((f.section.as_str(), f.section_offset), FuncId::Prog(i));
        }
        for (i, f) in spec.subprograms.iter().enumerate() {
            by_start.insert((f.section.as_str(), f.section_offset), FuncId::Sub(i));
        }
        // One parse of the BTF for both tables.
        let btf = match &spec.btf {
            // With offsets in the same walk: the decl-tag scan reads types by id.
            Some(b) => Btf::parse_with_offsets(b).ok().map(Some),
            None => Some(None),
        };
        let parsed = btf.and_then(|btf| {
            let ext = match (&btf, &spec.btf_ext) {
                (Some(b), Some(e)) => Some(BtfExt::parse(e, b).ok()?),
                _ => None,
            };
            let tables = match &ext {
                Some(e) => Some(ext_tables_of(e, "").ok()?),
                None => None,
            };
            Some(Parsed {
                exception_cbs: exception_callbacks(btf.as_ref())?,
                ext: tables,
                btf: btf.map(|b| (b, ext)),
            })
        });
        Linker {
            spec,
            by_start,
            parsed,
        }
    }

    /// The object this linker links programs of.
    pub fn spec(&self) -> &'s ObjectSpec {
        self.spec
    }

    /// Links entry program `program` (an index into the object's programs), as
    /// [`link_program`] does.
    pub fn link(&self, program: usize) -> Result<LinkedProgram> {
        link_with(self, program)
    }

    /// [`crate::apply_core`] on a program this linker linked, with the object's BTF and
    /// `.BTF.ext` it already read.
    pub fn apply_core(
        &self,
        prog: &mut LinkedProgram,
        targets: &crate::core_relo::Targets<'_, '_>,
    ) -> Result<Vec<crate::core_relo::ReloExplanation>> {
        match self.parsed.as_ref().and_then(|p| p.btf.as_ref()) {
            Some((btf, Some(ext))) => {
                crate::core_relo::apply_core_parsed(self.spec, btf, ext, prog, targets)
            }
            Some((_, None)) => Ok(Vec::new()),
            // Unreadable: parsed again to report the error against the program.
            None => crate::core_relo::apply_core(self.spec, prog, targets),
        }
    }

    /// [`crate::core_relo::has_core_relos`] of the object, from what this linker read.
    pub fn has_core_relos(&self) -> bool {
        match self.parsed.as_ref().and_then(|p| p.btf.as_ref()) {
            Some((_, Some(ext))) => crate::core_relo::ext_has_core_relos(ext),
            Some((_, None)) => false,
            None => crate::core_relo::has_core_relos(self.spec),
        }
    }
}

/// Every `exception_callback:<name>` decl tag on a FUNC: FUNC name → `<name>` (the first
/// tag per FUNC). `None` if the BTF does not parse or has a bad type on the way.
fn exception_callbacks<'s>(btf: Option<&Btf<'s>>) -> Option<HashMap<&'s str, &'s str>> {
    let mut out = HashMap::new();
    let Some(btf) = btf else {
        return Some(out);
    };
    // Only decl tags are decoded: the kind is read from the record's header.
    for id in btf.start_id()..btf.len() as u32 {
        if btf.kind(id).ok()? != Kind::DeclTag {
            continue;
        }
        let Type::DeclTag(tag) = btf.type_by_id(id).ok()? else {
            continue;
        };
        let Some(cb) = tag.name.strip_prefix("exception_callback:") else {
            continue;
        };
        if tag.component_idx != -1 {
            continue;
        }
        if let Type::Func(f) = btf.type_by_id(tag.ty).ok()? {
            out.entry(f.name).or_insert(cb);
        }
    }
    Some(out)
}

fn link_with(linker: &Linker<'_>, program: usize) -> Result<LinkedProgram> {
    let spec = linker.spec;
    let by_start = &linker.by_start;
    let entry = spec.programs.get(program).ok_or(Error::NoSuchProgram {
        index: program,
        count: spec.programs.len(),
    })?;
    let pname = entry.name.as_str();

    let mut insns: Vec<Insn> = entry.insns.clone();
    let mut placed: Vec<(FuncId, usize)> = vec![(FuncId::Prog(program), 0)];
    let mut start_of: HashMap<FuncId, usize> = HashMap::from([(FuncId::Prog(program), 0)]);
    // The exception callback goes with the program even where nothing calls it, as in
    // libbpf (the verifier finds it through the decl tag and func_info).
    let cb = match &linker.parsed {
        Some(p) => p.exception_cbs.get(pname).and_then(|&cb| {
            spec.subprograms
                .iter()
                .map(|f| f.name.as_str())
                .find(|&n| n == cb)
        }),
        None => exception_callback(spec, pname)?,
    };
    if let Some(cb) = cb {
        if let Some(i) = spec.subprograms.iter().position(|f| f.name == cb) {
            let s = insns.len();
            insns.extend_from_slice(&spec.subprograms[i].insns);
            placed.push((FuncId::Sub(i), s));
            start_of.insert(FuncId::Sub(i), s);
        }
    }

    let mut next = 0;
    while next < placed.len() {
        let (id, start) = placed[next];
        next += 1;
        let f = get(spec, id);
        let bad = |insn: usize, reason: String| Error::BadInstruction {
            program: pname.to_string(),
            function: f.name.clone(),
            insn,
            reason,
        };
        let mut reloc_at: HashMap<usize, &Relocation> = HashMap::new();
        for r in &f.relocations {
            if r.insn >= f.insns.len() {
                return Err(bad(
                    r.insn,
                    format!(
                        "relocation against {:?} is past the function's {} instructions",
                        r.symbol,
                        f.insns.len()
                    ),
                ));
            }
            reloc_at.insert(r.insn, r);
        }
        let mut slot = 0;
        while slot < f.insns.len() {
            let insn = f.insns[slot];
            let here = slot;
            slot += if insn.is_ld_imm64() { 2 } else { 1 };
            let reloc = reloc_at.get(&here).copied();
            let what = if insn.is_call() {
                CallKind::Call
            } else if insn.is_ld_imm64() {
                CallKind::Callback
            } else {
                continue;
            };
            // Where the target function starts: (section, byte offset, symbol).
            let target: (&str, u64, Option<&str>) = match (what, reloc.map(|r| &r.target)) {
                (_, Some(RelocTarget::Call { section, offset }))
                | (_, Some(RelocTarget::Func { section, offset })) => {
                    (section.as_str(), *offset, reloc.map(|r| r.symbol.as_str()))
                }
                // Map / data / extern references are carried along, not linked here.
                (_, Some(_)) => continue,
                (CallKind::Call, None) if insn.src == PSEUDO_CALL => {
                    // Same-section call without a relocation: imm is pc-relative.
                    let rel = i64::from(insn.imm) + 1;
                    let abs = i64::try_from(f.section_offset / 8)
                        .ok()
                        .and_then(|base| base.checked_add(here as i64)?.checked_add(rel))
                        .filter(|&t| t >= 0)
                        .ok_or_else(|| {
                            bad(
                                here,
                                format!("call offset {} points before its section", insn.imm),
                            )
                        })?;
                    (f.section.as_str(), abs as u64 * 8, None)
                }
                (CallKind::Callback, None) if insn.src == PSEUDO_FUNC => {
                    return Err(bad(
                        here,
                        "ld_imm64 with BPF_PSEUDO_FUNC has no relocation naming its target".into(),
                    ));
                }
                // Helper calls and plain 64-bit constants.
                _ => continue,
            };
            if what == CallKind::Callback && here + 1 >= f.insns.len() {
                return Err(bad(here, "ld_imm64 is missing its second slot".into()));
            }
            let Some(&tid) = by_start.get(&(target.0, target.1)) else {
                return Err(Error::MissingFunction {
                    program: pname.to_string(),
                    function: f.name.clone(),
                    insn: here,
                    what,
                    section: target.0.to_string(),
                    offset: target.1,
                    symbol: target.2.map(str::to_string),
                });
            };
            if let FuncId::Prog(i) = tid {
                return Err(Error::CallToEntryProgram {
                    program: pname.to_string(),
                    function: f.name.clone(),
                    insn: here,
                    what,
                    target: spec.programs[i].name.clone(),
                });
            }
            let tstart = match start_of.get(&tid) {
                Some(&s) => s,
                None => {
                    let s = insns.len();
                    insns.extend_from_slice(&get(spec, tid).insns);
                    placed.push((tid, s));
                    start_of.insert(tid, s);
                    s
                }
            };
            let abs = start + here;
            let imm = i32::try_from(tstart as i64 - (abs as i64 + 1))
                .map_err(|_| bad(here, "program too large for a relative call".into()))?;
            insns[abs].imm = imm;
            if what == CallKind::Callback {
                insns[abs].src = PSEUDO_FUNC;
                insns[abs + 1].imm = 0;
            }
        }
    }

    let mut relocations = Vec::new();
    for &(id, start) in &placed {
        for r in &get(spec, id).relocations {
            if matches!(
                r.target,
                RelocTarget::Map { .. } | RelocTarget::Data { .. } | RelocTarget::Extern { .. }
            ) {
                relocations.push(Relocation {
                    insn: start + r.insn,
                    target: r.target.clone(),
                    symbol: r.symbol.clone(),
                });
            }
        }
    }

    let (func_info, line_info) = match &linker.parsed {
        Some(p) => match &p.ext {
            Some(t) => ext_info(spec, pname, t, &placed)?,
            None => (Vec::new(), Vec::new()),
        },
        None => match ext_tables(spec, pname)? {
            Some(t) => ext_info(spec, pname, &t, &placed)?,
            None => (Vec::new(), Vec::new()),
        },
    };
    let functions = placed
        .iter()
        .map(|&(id, s)| (get(spec, id).name.clone(), s))
        .collect();
    Ok(LinkedProgram {
        insns,
        func_info,
        line_info,
        relocations,
        functions,
    })
}

/// The exception callback of entry program `program`: the `<name>` of a decl tag
/// `exception_callback:<name>` on the program's BTF FUNC (`__exception_cb(name)`).
fn exception_callback<'s>(spec: &'s ObjectSpec, program: &str) -> Result<Option<&'s str>> {
    let Some(bytes) = &spec.btf else {
        return Ok(None);
    };
    let btf_err = |source| Error::Btf {
        program: program.to_string(),
        context: "looking for the exception callback".to_string(),
        source,
    };
    let btf = Btf::parse(bytes).map_err(btf_err)?;
    for t in btf.types() {
        let (_, t) = t.map_err(btf_err)?;
        let Type::DeclTag(tag) = t else { continue };
        let Some(cb) = tag.name.strip_prefix("exception_callback:") else {
            continue;
        };
        if tag.component_idx != -1 {
            continue;
        }
        if matches!(btf.type_by_id(tag.ty).map_err(btf_err)?, Type::Func(f) if f.name == program) {
            // `cb` borrows from `bytes`, which `spec` owns.
            return Ok(spec
                .subprograms
                .iter()
                .map(|f| f.name.as_str())
                .find(|&n| n == cb));
        }
    }
    Ok(None)
}

/// The `.BTF.ext` func_info / line_info records by ELF section; `None` without `.BTF` or
/// `.BTF.ext`. Errors name `program`.
fn ext_tables<'s>(spec: &'s ObjectSpec, program: &str) -> Result<Option<ExtTables<'s>>> {
    let (Some(btf_bytes), Some(ext_bytes)) = (&spec.btf, &spec.btf_ext) else {
        return Ok(None);
    };
    let btf_err = |context: &str| crate::core_relo::btf_error(program, context);
    let btf = Btf::parse(btf_bytes).map_err(btf_err("parsing .BTF"))?;
    let ext = BtfExt::parse(ext_bytes, &btf).map_err(btf_err("parsing .BTF.ext"))?;
    ext_tables_of(&ext, program).map(Some)
}

/// [`ext_tables`] of the parsed `.BTF.ext` `ext`.
fn ext_tables_of<'s>(ext: &BtfExt<'s>, program: &str) -> Result<ExtTables<'s>> {
    let btf_err = |context: &str| crate::core_relo::btf_error(program, context);

    let mut funcs: HashMap<&str, Vec<oxbpf_btf::FuncInfo>> = HashMap::new();
    for sec in ext.func_info() {
        let sec = sec.map_err(btf_err(".BTF.ext func_info"))?;
        let recs = funcs.entry(sec.section).or_default();
        for r in sec.records() {
            recs.push(r.map_err(btf_err(".BTF.ext func_info"))?);
        }
    }
    let mut lines: HashMap<&str, Vec<oxbpf_btf::LineInfo>> = HashMap::new();
    for sec in ext.line_info() {
        let sec = sec.map_err(btf_err(".BTF.ext line_info"))?;
        let recs = lines.entry(sec.section).or_default();
        for r in sec.records() {
            recs.push(r.map_err(btf_err(".BTF.ext line_info"))?);
        }
    }
    Ok(ExtTables { funcs, lines })
}

/// Re-bases `.BTF.ext` func_info / line_info (byte offsets per ELF section) onto the
/// slots of the linked program.
fn ext_info(
    spec: &ObjectSpec,
    program: &str,
    tables: &ExtTables<'_>,
    placed: &[(FuncId, usize)],
) -> Result<(Vec<FuncInfo>, Vec<LineInfo>)> {
    let (funcs, lines) = (&tables.funcs, &tables.lines);
    let have_func_info = funcs.values().any(|v| !v.is_empty());

    let mut func_info = Vec::new();
    let mut line_info = Vec::new();
    for &(id, start) in placed {
        let f = get(spec, id);
        let lo = f.section_offset;
        let hi = lo + f.insns.len() as u64 * 8;
        let in_range = |off: u32| (lo..hi).contains(&u64::from(off));
        let ext_err = |reason: String| Error::ExtInfo {
            program: program.to_string(),
            function: f.name.clone(),
            reason,
        };
        let slot = |off: u32| -> Result<u32> {
            if off % 8 != 0 {
                return Err(ext_err(format!(
                    "record at section offset {off:#x} is not instruction-aligned"
                )));
            }
            u32::try_from(start as u64 + (u64::from(off) - lo) / 8)
                .map_err(|_| ext_err("instruction index overflows u32".into()))
        };
        if have_func_info {
            let recs: Vec<&oxbpf_btf::FuncInfo> = funcs
                .get(f.section.as_str())
                .into_iter()
                .flatten()
                .filter(|r| in_range(r.insn_off))
                .collect();
            match recs.as_slice() {
                [r] if u64::from(r.insn_off) == lo => func_info.push(FuncInfo {
                    insn: slot(r.insn_off)?,
                    type_id: r.type_id,
                }),
                [] => {
                    return Err(ext_err(format!(
                        "no func_info record for {:?}+{lo:#x}",
                        f.section
                    )));
                }
                rs => {
                    return Err(ext_err(format!(
                        "expected one func_info record at {:?}+{lo:#x}, found {} at {:x?}",
                        f.section,
                        rs.len(),
                        rs.iter().map(|r| r.insn_off).collect::<Vec<_>>()
                    )));
                }
            }
        }
        for r in lines.get(f.section.as_str()).into_iter().flatten() {
            if in_range(r.insn_off) {
                line_info.push(LineInfo {
                    insn: slot(r.insn_off)?,
                    file_name_off: r.file_name_off,
                    line_off: r.line_off,
                    line: r.line,
                    col: r.col,
                });
            }
        }
    }
    // Placement order already gives ascending func_info; line records of one function
    // may come in any order from the object.
    line_info.sort_by_key(|l| l.insn);
    Ok((func_info, line_info))
}

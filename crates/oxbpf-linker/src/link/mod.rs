//! The link itself: sections, symbols, relocations, BTF, BTF.ext, output.

use std::collections::{HashMap, HashSet};

use object::elf;
use oxbpf_btf::{Btf, BtfExt, CoreRelo, FuncInfo, LineInfo, TypeId};

use crate::btf_types::{ObjBtf, map_def, map_defs_match, types_match};
use crate::elf_write::{self, WSection, WSymbol};
use crate::error::{Error, MapMismatch, Result};
use crate::input::Input;

mod btf;

/// `BPF_JMP | BPF_CALL`.
const CALL: u8 = 0x85;

/// Checks that `.BTF.ext` parses against its `.BTF`.
pub(crate) fn check_ext(obj: &str, btf: &[u8], ext: &[u8]) -> Result<()> {
    let err = |what: &str, source| Error::Btf {
        object: obj.to_string(),
        what: what.to_string(),
        source,
    };
    let btf = Btf::parse(btf).map_err(|e| err("parsing .BTF", e))?;
    BtfExt::parse(ext, &btf).map_err(|e| err("parsing .BTF.ext", e))?;
    Ok(())
}

#[derive(Debug)]
struct OutSec {
    name: String,
    sh_type: u32,
    flags: u64,
    align: u64,
    entsize: u64,
    data: Vec<u8>,
    size: u64,
    /// The object that brought the section first.
    first: usize,
    /// Its STT_SECTION symbol.
    sym: Option<usize>,
    /// (offset, output symbol, type).
    rels: Vec<(u64, usize, u32)>,
    func_info: Vec<FuncInfo>,
    line_info: Vec<LineInfo>,
    core_relos: Vec<CoreRelo>,
}

#[derive(Debug)]
struct OutSym {
    name: String,
    info: u8,
    other: u8,
    section: std::result::Result<usize, u16>,
    value: u64,
    size: u64,
}

/// A global symbol being resolved.
#[derive(Debug)]
struct Glob {
    sym: usize,
    is_extern: bool,
    is_weak: bool,
    /// The object of the current definition (or of the first declaration).
    obj: usize,
    /// Where the current definition is: (object, section index, value, size).
    def: Option<(usize, usize, u64, u64)>,
    /// The BTF VAR/FUNC standing for the symbol: (object, type id).
    btf: Option<(usize, TypeId)>,
    /// The DATASEC an extern was declared in (".maps", ".kconfig", ...).
    decl_sec: Option<(usize, String)>,
}

/// Per input: where its sections went and what its symbols became.
#[derive(Debug, Default)]
struct ObjMap {
    /// Section index → (output section, offset of this piece).
    sec: Vec<Option<(usize, u64)>>,
    /// Sections dropped as duplicates (`license`, `version`).
    dup: HashSet<usize>,
    /// Symbol index → output symbol.
    sym: Vec<Option<usize>>,
    /// Code ranges of weak functions that lost to another definition: (section, start, end).
    dead: Vec<(usize, u64, u64)>,
}

impl ObjMap {
    fn is_dead(&self, sec: usize, off: u64) -> bool {
        self.dead
            .iter()
            .any(|&(s, a, e)| s == sec && a <= off && off < e)
    }
}

/// The output `.BTF` and `.BTF.ext`.
struct BtfOut {
    btf: Vec<u8>,
    ext: Option<Vec<u8>>,
}

/// One output DATASEC: name, output section (None for ephemeral ones such as
/// `.kconfig`), (type, offset, size) of its variables.
type DatasecOut = (String, Option<usize>, Vec<(TypeId, u32, u32)>);

struct State<'a> {
    inputs: &'a [Input],
    btfs: &'a [Option<ObjBtf>],
    secs: Vec<OutSec>,
    syms: Vec<OutSym>,
    globs: HashMap<String, Glob>,
    maps: Vec<ObjMap>,
}

pub(crate) fn link(inputs: &[Input], btfs: &[Option<ObjBtf>]) -> Result<Vec<u8>> {
    let mut st = State {
        inputs,
        btfs,
        secs: Vec::new(),
        syms: Vec::new(),
        globs: HashMap::new(),
        maps: inputs.iter().map(|_| ObjMap::default()).collect(),
    };
    for oi in 0..inputs.len() {
        st.append_sections(oi)?;
    }
    for oi in 0..inputs.len() {
        st.append_symbols(oi)?;
    }
    for oi in 0..inputs.len() {
        st.append_relocations(oi)?;
    }
    // ELF section indices are 16-bit (below SHN_LORESERVE without extended numbering).
    let nsecs = st.secs.len() + st.secs.iter().filter(|s| !s.rels.is_empty()).count() + 5;
    if nsecs >= usize::from(elf::SHN_LORESERVE) {
        return Err(Error::TooLarge {
            what: format!(
                "{nsecs} sections (ELF allows {} without extended numbering)",
                elf::SHN_LORESERVE
            ),
        });
    }
    let btf = st.merge_btf()?;
    Ok(st.write(btf))
}

fn align_up(v: u64, a: u64) -> u64 {
    let a = a.max(1);
    v.div_ceil(a) * a
}

impl State<'_> {
    fn obj(&self, oi: usize) -> &str {
        &self.inputs[oi].name
    }

    fn append_sections(&mut self, oi: usize) -> Result<()> {
        let inputs = self.inputs;
        let inp = &inputs[oi];
        let mut map = vec![None; inp.sections.len()];
        for (si, s) in inp.sections.iter().enumerate() {
            if !s.is_data() {
                continue;
            }
            let existing = self.secs.iter().position(|o| o.name == s.name);
            let Some(di) = existing else {
                self.secs.push(OutSec {
                    name: s.name.clone(),
                    sh_type: s.sh_type,
                    flags: s.flags,
                    align: s.align.max(1),
                    entsize: s.entsize,
                    data: s.data.clone(),
                    size: s.size,
                    first: oi,
                    sym: None,
                    rels: Vec::new(),
                    func_info: Vec::new(),
                    line_info: Vec::new(),
                    core_relos: Vec::new(),
                });
                map[si] = Some((self.secs.len() - 1, 0));
                continue;
            };
            let d = &mut self.secs[di];
            let mismatch = |reason: String| Error::SectionMismatch {
                section: s.name.clone(),
                first: inputs[d.first].name.clone(),
                second: inp.name.clone(),
                reason,
            };
            if d.sh_type != s.sh_type {
                return Err(mismatch(format!(
                    "section type {:#x} vs {:#x}",
                    d.sh_type, s.sh_type
                )));
            }
            if d.flags != s.flags {
                return Err(mismatch(format!("flags {:#x} vs {:#x}", d.flags, s.flags)));
            }
            if d.entsize != s.entsize {
                return Err(mismatch(format!(
                    "entry size {} vs {}",
                    d.entsize, s.entsize
                )));
            }
            if s.name == "license" || s.name == "version" {
                if d.size != s.size || d.data != s.data {
                    let show = |b: &[u8]| {
                        let t: Vec<u8> = b.iter().copied().take_while(|&c| c != 0).collect();
                        String::from_utf8_lossy(&t).into_owned()
                    };
                    return Err(mismatch(format!(
                        "contents differ ({:?} vs {:?}); they must be identical",
                        show(&d.data),
                        show(&s.data)
                    )));
                }
                map[si] = Some((di, 0));
                self.maps[oi].dup.insert(si);
                continue;
            }
            // Like libbpf: the piece starts at the larger of both alignments.
            let align = d.align.max(s.align).max(1);
            let off = align_up(d.size, align);
            let end = off
                .checked_add(s.size)
                .filter(|&e| e <= u64::from(u32::MAX));
            let Some(end) = end else {
                return Err(mismatch(format!(
                    "the linked section would be larger than 4 GiB ({:#x} + {:#x})",
                    off, s.size
                )));
            };
            if s.sh_type != elf::SHT_NOBITS {
                d.data.resize(off as usize, 0);
                d.data.extend_from_slice(&s.data);
            }
            d.size = end;
            d.align = align;
            map[si] = Some((di, off));
        }
        self.maps[oi].sec = map;
        Ok(())
    }

    fn btf_of(&self, oi: usize, name: &str) -> Option<(TypeId, Option<String>)> {
        self.btfs[oi].as_ref()?.globals.get(name).cloned()
    }

    fn append_symbols(&mut self, oi: usize) -> Result<()> {
        let inputs = self.inputs;
        let inp = &inputs[oi];
        let mut sym_map = vec![None; inp.symbols.len()];
        for (i, s) in inp.symbols.iter().enumerate().skip(1) {
            let mut placed = None;
            if let Some(si) = s.section() {
                if self.maps[oi].dup.contains(&si) {
                    continue;
                }
                let Some(p) = self.maps[oi].sec.get(si).copied().flatten() else {
                    continue; // a symbol of a section that is not linked
                };
                placed = Some(p);
            }
            if s.kind() == elf::STT_SECTION {
                let Some((di, _)) = placed else { continue };
                let idx = match self.secs[di].sym {
                    Some(x) => x,
                    None => {
                        self.syms.push(OutSym {
                            name: String::new(),
                            info: s.info,
                            other: s.other,
                            section: Ok(di),
                            value: 0,
                            size: 0,
                        });
                        self.secs[di].sym = Some(self.syms.len() - 1);
                        self.syms.len() - 1
                    }
                };
                sym_map[i] = Some(idx);
                continue;
            }
            let section = match placed {
                Some((di, _)) => Ok(di),
                None => Err(s.shndx),
            };
            let value = s.value + placed.map_or(0, |p| p.1);
            if s.bind() == elf::STB_LOCAL {
                self.syms.push(OutSym {
                    name: s.name.clone(),
                    info: s.info,
                    other: s.other,
                    section,
                    value,
                    size: s.size,
                });
                sym_map[i] = Some(self.syms.len() - 1);
                continue;
            }
            sym_map[i] = Some(self.resolve_global(oi, i, section, value)?);
        }
        self.maps[oi].sym = sym_map;
        Ok(())
    }

    /// Resolves global/weak symbol `i` of object `oi`; returns its output symbol.
    fn resolve_global(
        &mut self,
        oi: usize,
        i: usize,
        section: std::result::Result<usize, u16>,
        value: u64,
    ) -> Result<usize> {
        let inputs = self.inputs;
        let s = &inputs[oi].symbols[i];
        let is_extern = s.is_undef();
        let weak = s.bind() == elf::STB_WEAK;
        let btf = self.btf_of(oi, &s.name);
        if is_extern && self.btfs[oi].is_none() {
            return Err(Error::elf(
                self.obj(oi),
                Some(".symtab"),
                format!(
                    "extern symbol {:?} needs BTF to be resolved, and the object has no .BTF",
                    s.name
                ),
            ));
        }
        let decl_sec = btf
            .as_ref()
            .and_then(|(_, d)| d.clone())
            .filter(|d| is_extern && d != ".extern");
        // Taken out while it is updated, put back before returning.
        let Some(mut g) = self.globs.remove(&s.name) else {
            self.syms.push(OutSym {
                name: s.name.clone(),
                info: s.info,
                other: s.other,
                section,
                value,
                size: s.size,
            });
            let sym = self.syms.len() - 1;
            self.globs.insert(
                s.name.clone(),
                Glob {
                    sym,
                    is_extern,
                    is_weak: weak,
                    obj: oi,
                    def: s
                        .section()
                        .filter(|_| !is_extern)
                        .map(|si| (oi, si, s.value, s.size)),
                    btf: btf.as_ref().map(|(id, _)| (oi, *id)),
                    decl_sec: decl_sec.map(|d| (oi, d)),
                },
            );
            return Ok(sym);
        };
        if !is_extern && !g.is_extern && !g.is_weak && !weak {
            return Err(Error::DuplicateSymbol {
                symbol: s.name.clone(),
                first: self.obj(g.obj).to_string(),
                second: self.obj(oi).to_string(),
            });
        }
        // Types must agree.
        if let (Some((go, gid)), Some((id, _))) = (g.btf, &btf) {
            let (a, b) = (self.btfs[go].as_ref(), self.btfs[oi].as_ref());
            if let (Some(a), Some(b)) = (a, b) {
                let is_map = self.glob_is_map(&g)
                    || btf.as_ref().and_then(|(_, d)| d.as_deref()) == Some(".maps");
                if is_map {
                    let da =
                        map_def(a, gid).map_err(|e| self.type_err(&s.name, go, gid, oi, *id, e))?;
                    let db =
                        map_def(b, *id).map_err(|e| self.type_err(&s.name, go, gid, oi, *id, e))?;
                    if let Err((field, x, y)) = map_defs_match(a, &da, b, &db) {
                        return Err(Error::MapMismatch(Box::new(MapMismatch {
                            map: s.name.clone(),
                            field,
                            first: self.obj(go).to_string(),
                            first_value: x,
                            second: self.obj(oi).to_string(),
                            second_value: y,
                        })));
                    }
                } else if let Err(e) = types_match(a, gid, b, *id, true) {
                    return Err(self.type_err(&s.name, go, gid, oi, *id, e));
                }
            }
        }
        // Where an extern was declared must be where it is defined.
        let def_sec_name = |st: &Self, sec: std::result::Result<usize, u16>| match sec {
            Ok(di) => Some(st.secs[di].name.clone()),
            Err(_) => None,
        };
        let g_sec_name = def_sec_name(self, self.syms[g.sym].section);
        let (g_sym, g_is_extern, g_decl) = (g.sym, g.is_extern, g.decl_sec.clone());
        let check_sec = |decl: &Option<(usize, String)>, def: Option<String>| -> Result<()> {
            if let (Some((dobj, d)), Some(def)) = (decl, def) {
                if *d != def {
                    return Err(Error::TypeMismatch {
                        symbol: s.name.clone(),
                        first: self.obj(*dobj).to_string(),
                        first_type: 0,
                        second: self.obj(oi).to_string(),
                        second_type: 0,
                        reason: format!("declared in section {d:?}, defined in {def:?}"),
                    });
                }
            }
            Ok(())
        };
        if is_extern {
            if !g_is_extern {
                check_sec(&decl_sec.clone().map(|d| (oi, d)), g_sec_name)?;
            }
        } else {
            check_sec(&g_decl, def_sec_name(self, section))?;
        }
        let out = &mut self.syms[g_sym];
        // A strong declaration or definition makes the symbol strong (as in libbpf: a
        // weak and a strong extern give a strong one); only a strong definition stops
        // weak definitions from being overridden.
        if !weak {
            out.info = (elf::STB_GLOBAL << 4) | (out.info & 0xf);
            if !is_extern {
                g.is_weak = false;
            }
        }
        if s.vis() > out.other & 3 {
            out.other = (out.other & !3) | s.vis();
        }
        if is_extern {
            if g.decl_sec.is_none() {
                g.decl_sec = decl_sec.map(|d| (oi, d));
            }
            if g.btf.is_none() {
                g.btf = btf.map(|(id, _)| (oi, id));
            }
            self.globs.insert(s.name.clone(), g);
            return Ok(g_sym);
        }
        if !g.is_extern && weak {
            // A weak definition losing to the one already there.
            if let Some(si) = s.section() {
                self.maps[oi].dead.push((si, s.value, s.value + s.size));
            }
            self.globs.insert(s.name.clone(), g);
            return Ok(g_sym);
        }
        // This definition wins (over an extern, or a weak one).
        if let Some((lo, lsi, lv, ls)) = g.def {
            if lo < self.maps.len() {
                self.maps[lo].dead.push((lsi, lv, lv + ls));
            }
        }
        if !weak {
            out.info = (elf::STB_GLOBAL << 4) | (s.info & 0xf);
        } else {
            out.info = (out.info & 0xf0) | (s.info & 0xf);
        }
        out.section = section;
        out.value = value;
        out.size = s.size;
        g.is_extern = false;
        g.obj = oi;
        g.def = s.section().map(|si| (oi, si, s.value, s.size));
        if let Some((id, _)) = btf {
            g.btf = Some((oi, id));
        }
        self.globs.insert(s.name.clone(), g);
        Ok(g_sym)
    }

    fn glob_is_map(&self, g: &Glob) -> bool {
        matches!(self.syms[g.sym].section, Ok(di) if self.secs[di].name == ".maps")
            || g.decl_sec.as_ref().is_some_and(|(_, d)| d == ".maps")
    }

    fn type_err(
        &self,
        sym: &str,
        go: usize,
        gid: TypeId,
        oi: usize,
        id: TypeId,
        reason: String,
    ) -> Error {
        Error::TypeMismatch {
            symbol: sym.to_string(),
            first: self.obj(go).to_string(),
            first_type: gid,
            second: self.obj(oi).to_string(),
            second_type: id,
            reason,
        }
    }

    fn append_relocations(&mut self, oi: usize) -> Result<()> {
        let inputs = self.inputs;
        let inp = &inputs[oi];
        for rs in &inp.rels {
            let tsec = &inp.sections[rs.target];
            if tsec.skipped || self.maps[oi].dup.contains(&rs.target) {
                continue;
            }
            let Some((dt, toff)) = self.maps[oi].sec.get(rs.target).copied().flatten() else {
                continue;
            };
            let rel_name = &inp.sections[rs.index].name;
            for (j, r) in rs.rels.iter().enumerate() {
                let bad = |reason: String| Error::BadRelocation {
                    object: inp.name.clone(),
                    section: rel_name.clone(),
                    index: j,
                    offset: r.offset,
                    reason,
                };
                // In the code of a weak function another definition overrides: dead code,
                // in no program. Its instructions are patched like the rest (the bytes stay
                // those libbpf writes), but the record is dropped: a loader would find it
                // outside every function.
                let dead = tsec.is_exec() && self.maps[oi].is_dead(rs.target, r.offset);
                let sym = &inp.symbols[r.sym as usize];
                let Some(out_sym) = self.maps[oi].sym.get(r.sym as usize).copied().flatten() else {
                    return Err(bad(format!(
                        "symbol {} ({:?}) is in a section that is not linked",
                        r.sym, sym.name
                    )));
                };
                if sym.kind() == elf::STT_SECTION {
                    let soff = sym
                        .section()
                        .and_then(|si| self.maps[oi].sec.get(si).copied().flatten())
                        .map_or(0, |p| p.1);
                    if soff != 0 {
                        if !tsec.is_exec() {
                            return Err(bad(format!(
                                "relocation of data against section symbol {:?} at a non-zero offset is not supported",
                                inp.sections[sym.section().unwrap_or(0)].name
                            )));
                        }
                        let at = (toff + r.offset) as usize;
                        let d = &mut self.secs[dt].data;
                        let Some(insn) = d.get_mut(at..at + 8) else {
                            return Err(bad("instruction is outside the section data".into()));
                        };
                        let imm = i32::from_le_bytes([insn[4], insn[5], insn[6], insn[7]]);
                        let add = if insn[0] == CALL { soff / 8 } else { soff };
                        let new = i32::try_from(add)
                            .ok()
                            .and_then(|a| imm.checked_add(a))
                            .ok_or_else(|| bad(format!("immediate {imm} + {add} overflows")))?;
                        insn[4..8].copy_from_slice(&new.to_le_bytes());
                    }
                }
                if !dead {
                    self.secs[dt].rels.push((toff + r.offset, out_sym, r.rtype));
                }
            }
        }
        Ok(())
    }

    fn write(self, btf: Option<BtfOut>) -> Vec<u8> {
        // Locals first, as ELF wants.
        let mut order: Vec<usize> = (0..self.syms.len())
            .filter(|&i| self.syms[i].info >> 4 == elf::STB_LOCAL)
            .collect();
        order.extend((0..self.syms.len()).filter(|&i| self.syms[i].info >> 4 != elf::STB_LOCAL));
        let mut new_index = vec![0u32; self.syms.len()];
        for (n, &i) in order.iter().enumerate() {
            new_index[i] = n as u32 + 1;
        }
        let symbols: Vec<WSymbol> = order
            .iter()
            .map(|&i| {
                let s = &self.syms[i];
                WSymbol {
                    name: s.name.clone(),
                    info: s.info,
                    other: s.other,
                    section: s.section,
                    value: s.value,
                    size: s.size,
                }
            })
            .collect();
        let mut sections: Vec<WSection> = self
            .secs
            .iter()
            .map(|s| WSection {
                name: s.name.clone(),
                sh_type: s.sh_type,
                flags: s.flags,
                align: s.align,
                entsize: s.entsize,
                rel_target: None,
                data: if s.sh_type == elf::SHT_NOBITS {
                    Vec::new()
                } else {
                    s.data.clone()
                },
                nobits_size: s.size,
            })
            .collect();
        for (i, s) in self.secs.iter().enumerate() {
            if s.rels.is_empty() {
                continue;
            }
            let mut data = Vec::with_capacity(s.rels.len() * 16);
            for &(off, sym, t) in &s.rels {
                data.extend_from_slice(&elf_write::rel_bytes(off, new_index[sym], t));
            }
            sections.push(WSection {
                name: format!(".rel{}", s.name),
                sh_type: elf::SHT_REL,
                flags: u64::from(elf::SHF_INFO_LINK),
                align: 8,
                entsize: 16,
                rel_target: Some(i),
                data,
                nobits_size: 0,
            });
        }
        if let Some(BtfOut { btf, ext }) = btf {
            for (name, data) in [(".BTF", Some(btf)), (".BTF.ext", ext)] {
                let Some(data) = data else { continue };
                sections.push(WSection {
                    name: name.to_string(),
                    sh_type: elf::SHT_PROGBITS,
                    flags: 0,
                    align: 8,
                    entsize: 0,
                    rel_target: None,
                    data,
                    nobits_size: 0,
                });
            }
        }
        elf_write::write(&sections, &symbols)
    }
}

//! The BTF side of the link: merged types, DATASECs rebuilt per output section, and
//! `.BTF.ext` records re-based to the new section offsets.

use std::collections::{HashMap, HashSet};

use oxbpf_btf::{Btf, BtfExt, BtfExtBuilder, CoreRelo, Endian, FuncInfo, LineInfo, TypeId};

use super::{BtfOut, DatasecOut, State};
use crate::btf_merge::{self, Aliases};
use crate::btf_types::ObjBtf;
use crate::error::{Error, Result};

impl State<'_> {
    pub(super) fn merge_btf(&mut self) -> Result<Option<BtfOut>> {
        if self.btfs.iter().all(Option::is_none) {
            return Ok(None);
        }
        // One VAR/FUNC per global symbol.
        let mut aliases: Aliases = HashMap::new();
        for (oi, o) in self.btfs.iter().enumerate() {
            let Some(o) = o else { continue };
            for (name, &(id, _)) in &o.globals {
                if let Some(canon) = self.globs.get(name).and_then(|g| g.btf) {
                    aliases.insert((oi, id), canon);
                }
            }
        }
        // Non-static VARs without a symbol belong to dropped duplicate sections (the
        // second object's `license`, `version`): left out, as libbpf does.
        let mut dropped = HashSet::new();
        for (oi, o) in self.btfs.iter().enumerate() {
            let Some(o) = o else { continue };
            for (name, &(id, _)) in &o.globals {
                if o.kind(id) == oxbpf_btf::Kind::Var && !self.globs.contains_key(name) {
                    dropped.insert((oi, id));
                }
            }
        }
        let objs: Vec<Option<&ObjBtf>> = self.btfs.iter().map(Option::as_ref).collect();
        let mut merged = btf_merge::merge(&objs, &aliases, &dropped);

        // DATASECs: (name, output section or None for ephemeral ones, vars).
        let mut datasecs: Vec<DatasecOut> = Vec::new();
        let mut emitted: HashSet<String> = HashSet::new();
        for (oi, o) in self.btfs.iter().enumerate() {
            let Some(o) = o else { continue };
            for id in 1..o.count {
                let Some(rec) = o.rec(id).filter(|r| r.kind() == oxbpf_btf::Kind::Datasec) else {
                    continue;
                };
                let name = o.name(id).to_string();
                let placed = match self.inputs[oi].section_by_name(&name) {
                    Some(si) => {
                        if self.maps[oi].dup.contains(&si) {
                            continue;
                        }
                        match self.maps[oi].sec.get(si).copied().flatten() {
                            Some(p) => Some(p),
                            None => continue,
                        }
                    }
                    None => None,
                };
                let di = match datasecs.iter().position(|d| d.0 == name) {
                    Some(i) => i,
                    None => {
                        datasecs.push((name.clone(), placed.map(|p| p.0), Vec::new()));
                        datasecs.len() - 1
                    }
                };
                if datasecs[di].1.is_none() {
                    datasecs[di].1 = placed.map(|p| p.0);
                }
                for v in rec.trailing().chunks_exact(3) {
                    let (vt, voff, vsize) = (v[0], v[1], v[2]);
                    let out_t = merged.map[oi].get(vt as usize).copied().unwrap_or(0);
                    if out_t == 0 {
                        continue; // a dropped or invalid variable
                    }
                    if !o.is_non_static(vt) {
                        let off = placed.map_or(0, |p| p.1) + u64::from(voff);
                        datasecs[di].2.push((out_t, off as u32, vsize));
                        continue;
                    }
                    let gname = o.name(vt);
                    let Some(g) = self.globs.get(gname) else {
                        let off = placed.map_or(0, |p| p.1) + u64::from(voff);
                        datasecs[di].2.push((out_t, off as u32, vsize));
                        continue;
                    };
                    if emitted.contains(gname) {
                        continue;
                    }
                    if g.is_extern {
                        datasecs[di].2.push((out_t, voff, vsize));
                        emitted.insert(gname.to_string());
                        continue;
                    }
                    let this_is_extern = o.linkage(vt) == Some(2);
                    if this_is_extern || g.obj != oi || placed.is_none() {
                        continue;
                    }
                    let value = self.syms[g.sym].value as u32;
                    let size = o.size(vt).map_or(vsize, |s| s as u32);
                    datasecs[di].2.push((out_t, value, size));
                    emitted.insert(gname.to_string());
                }
            }
        }
        for (name, sec, mut vars) in datasecs {
            if sec.is_none() && vars.is_empty() {
                // An ephemeral DATASEC (`.extern`, `.kconfig`, ...) whose externs were
                // all resolved: nothing left to describe.
                continue;
            }
            if vars.len() > usize::from(u16::MAX) {
                return Err(Error::BadBtf {
                    object: self.obj(0).to_string(),
                    type_id: 0,
                    reason: format!(
                        "the linked DATASEC {name:?} would have {} variables (at most 65535)",
                        vars.len()
                    ),
                });
            }
            vars.sort_by_key(|v| v.1);
            let size = sec.map_or(0, |s| self.secs[s].size as u32);
            merged.builder.add_datasec(&name, size, &vars);
        }

        // BTF.ext, re-based.
        let mut any_ext = false;
        for oi in 0..self.inputs.len() {
            let (Some(ext), Some(btf)) = (&self.inputs[oi].btf_ext, &self.inputs[oi].btf) else {
                continue;
            };
            any_ext = true;
            let name = &self.inputs[oi].name;
            let berr = |what: &str, source| Error::Btf {
                object: name.clone(),
                what: what.to_string(),
                source,
            };
            let btf = Btf::parse(btf).map_err(|e| berr("parsing .BTF", e))?;
            let ext = BtfExt::parse(ext, &btf).map_err(|e| berr("parsing .BTF.ext", e))?;
            let map = &merged.map[oi];
            let ty = |t: TypeId, what: &str| -> Result<TypeId> {
                map.get(t as usize).copied().ok_or_else(|| Error::BadBtf {
                    object: name.clone(),
                    type_id: t,
                    reason: format!("{what} refers to a type past the last one"),
                })
            };
            let s = |off: u32| btf.str_at(off).map_err(|e| berr(".BTF.ext string", e));
            for sec in ext.func_info() {
                let sec = sec.map_err(|e| berr("func_info", e))?;
                let Some((si, (dt, off))) = self.ext_target(oi, sec.section)? else {
                    continue;
                };
                for r in sec.records() {
                    let r = r.map_err(|e| berr("func_info", e))?;
                    if self.maps[oi].is_dead(si, u64::from(r.insn_off)) {
                        continue;
                    }
                    let rec = FuncInfo {
                        insn_off: (off + u64::from(r.insn_off)) as u32,
                        type_id: ty(r.type_id, "func_info")?,
                    };
                    self.secs[dt].func_info.push(rec);
                }
            }
            for sec in ext.line_info() {
                let sec = sec.map_err(|e| berr("line_info", e))?;
                let Some((si, (dt, off))) = self.ext_target(oi, sec.section)? else {
                    continue;
                };
                for r in sec.records() {
                    let r = r.map_err(|e| berr("line_info", e))?;
                    if self.maps[oi].is_dead(si, u64::from(r.insn_off)) {
                        continue;
                    }
                    let rec = LineInfo {
                        insn_off: (off + u64::from(r.insn_off)) as u32,
                        file_name_off: merged.builder.add_str(s(r.file_name_off)?),
                        line_off: merged.builder.add_str(s(r.line_off)?),
                        line: r.line,
                        col: r.col,
                    };
                    self.secs[dt].line_info.push(rec);
                }
            }
            for sec in ext.core_relos() {
                let sec = sec.map_err(|e| berr("core_relo", e))?;
                let Some((si, (dt, off))) = self.ext_target(oi, sec.section)? else {
                    continue;
                };
                for r in sec.records() {
                    let r = r.map_err(|e| berr("core_relo", e))?;
                    if self.maps[oi].is_dead(si, u64::from(r.insn_off)) {
                        continue;
                    }
                    let rec = CoreRelo {
                        insn_off: (off + u64::from(r.insn_off)) as u32,
                        type_id: ty(r.type_id, "core_relo")?,
                        access_str_off: merged.builder.add_str(s(r.access_str_off)?),
                        kind: r.kind,
                    };
                    self.secs[dt].core_relos.push(rec);
                }
            }
        }
        let ext = any_ext.then(|| {
            let mut eb = BtfExtBuilder::new();
            for s in &self.secs {
                let name_off = merged.builder.add_str(&s.name);
                if !s.func_info.is_empty() {
                    eb.add_func_info(name_off, &s.func_info);
                }
                if !s.line_info.is_empty() {
                    eb.add_line_info(name_off, &s.line_info);
                }
                if !s.core_relos.is_empty() {
                    eb.add_core_relos(name_off, &s.core_relos);
                }
            }
            eb.build(Endian::Little)
        });
        Ok(Some(BtfOut {
            btf: merged.builder.build_endian(Endian::Little),
            ext,
        }))
    }

    /// The section a `.BTF.ext` block names: (section index, (output section, offset)).
    #[allow(clippy::type_complexity)]
    fn ext_target(&self, oi: usize, name: &str) -> Result<Option<(usize, (usize, u64))>> {
        let Some(si) = self.inputs[oi].section_by_name(name) else {
            return Err(Error::elf(
                self.obj(oi),
                Some(".BTF.ext"),
                format!("records for section {name:?}, which the object does not have"),
            ));
        };
        Ok(self.maps[oi]
            .sec
            .get(si)
            .copied()
            .flatten()
            .map(|p| (si, p)))
    }
}

//! struct_ops variables: `SEC(".struct_ops")` / `SEC(".struct_ops.link")` globals of a
//! kernel ops type (`struct tcp_congestion_ops`), each a `BPF_MAP_TYPE_STRUCT_OPS` map whose
//! shadow data is the variable's bytes and whose function-pointer members point (through
//! `.rel.struct_ops*` records) at `SEC("struct_ops/...")` programs.

use oxbpf_btf::{Btf, Kind, Type};

use crate::elf::{Elf, SymSection};
use crate::error::{Error, Result};
use crate::kinds::{MapType, ProgramType};
use crate::maps::{FoundMap, symbols_in};
use crate::spec::{MapKind, MapSpec, ProgramSpec, StructOpsMember, StructOpsSpec};

/// `BPF_F_LINK`: the struct_ops map is registered through a `bpf_link`.
pub(crate) const BPF_F_LINK: u32 = 1 << 13;

/// `R_BPF_NONE`.
const R_BPF_NONE: u32 = 0;

/// Whether `name` is a struct_ops section, and if so whether it is the `.link` flavour.
fn struct_ops_section(name: &str) -> Option<bool> {
    match name.strip_prefix('?').unwrap_or(name) {
        ".struct_ops" => Some(false),
        ".struct_ops.link" => Some(true),
        _ => None,
    }
}

/// True if BTF type `ty` is a pointer to a function prototype (through modifiers).
fn is_func_ptr(btf: &Btf<'_>, ty: u32) -> std::result::Result<bool, oxbpf_btf::Error> {
    let id = btf.skip_mods_and_typedefs(ty)?;
    let Type::Ptr(p) = btf.type_by_id(id)? else {
        return Ok(false);
    };
    let target = btf.skip_mods_and_typedefs(p.ty)?;
    Ok(btf.kind(target)? == Kind::FuncProto)
}

/// Every struct_ops variable of the object, as a map with its shadow data and the
/// program each function-pointer member is set to.
pub(crate) fn struct_ops_maps(
    elf: &Elf<'_>,
    btf: Option<&Btf<'_>>,
    programs: &[ProgramSpec],
) -> Result<Vec<FoundMap>> {
    let mut out = Vec::new();
    for (shndx, sec) in elf.sections.iter().enumerate() {
        let Some(link) = struct_ops_section(sec.name) else {
            continue;
        };
        let bad_sec = |reason: String| Error::BadSection {
            section: sec.name.to_string(),
            reason,
        };
        let Some(btf) = btf else {
            return Err(bad_sec(
                "struct_ops variables need the object's .BTF".into(),
            ));
        };
        let ctx = || format!("DATASEC {:?}", sec.name);
        let Some((_, datasec)) = btf
            .datasec_by_name(sec.name)
            .map_err(|e| Error::btf(ctx(), e))?
        else {
            return Err(bad_sec(format!(
                "no DATASEC {:?} in the object's BTF",
                sec.name
            )));
        };
        if sec.sh_type != object::elf::SHT_PROGBITS {
            return Err(bad_sec("the section has no data (SHT_NOBITS)".into()));
        }
        let syms = symbols_in(elf, shndx);
        let first = out.len();
        for (i, vsi) in datasec.vars().enumerate() {
            let vsi = vsi.map_err(|e| Error::btf(ctx(), e))?;
            let Type::Var(var) = btf.type_by_id(vsi.ty).map_err(|e| Error::btf(ctx(), e))? else {
                return Err(bad_sec(format!(
                    "DATASEC entry {i} is type {}, not a VAR",
                    vsi.ty
                )));
            };
            let name = var.name.to_string();
            let bad = |reason: String| Error::BadMap {
                name: name.clone(),
                section: sec.name.to_string(),
                reason,
            };
            let type_id = btf
                .skip_mods_and_typedefs(var.ty)
                .map_err(|e| Error::btf(format!("struct_ops {name:?}"), e))?;
            let Type::Struct(ty) = btf
                .type_by_id(type_id)
                .map_err(|e| Error::btf(format!("struct_ops {name:?}"), e))?
            else {
                return Err(bad(format!(
                    "type {type_id} is not a struct (struct_ops variables are kernel ops structs)"
                )));
            };
            if ty.name.is_empty() {
                return Err(bad(
                    "the struct is anonymous: its name must be the kernel ops type's".into(),
                ));
            }
            let offset = syms
                .iter()
                .find(|s| s.0 == name)
                .map_or(u64::from(vsi.offset), |s| s.1);
            let end = offset.checked_add(u64::from(ty.size));
            let Some(shadow) = end
                .filter(|&e| e <= sec.data.len() as u64)
                .and_then(|e| sec.data.get(offset as usize..e as usize))
            else {
                return Err(bad(format!(
                    "{} bytes at offset {offset:#x} run past the section end ({:#x})",
                    ty.size,
                    sec.data.len()
                )));
            };
            let mut members = Vec::new();
            for m in ty.members() {
                let m = m.map_err(|e| Error::btf(format!("struct_ops {name:?} members"), e))?;
                if m.bitfield_size != 0 {
                    return Err(bad(format!(
                        "member {:?} is a bitfield: not supported in struct_ops",
                        m.name
                    )));
                }
                let size = btf.resolve_size(m.ty).map_err(|e| {
                    Error::btf(format!("struct_ops {name:?} member {:?}", m.name), e)
                })?;
                let is_func = is_func_ptr(btf, m.ty).map_err(|e| {
                    Error::btf(format!("struct_ops {name:?} member {:?}", m.name), e)
                })?;
                members.push(StructOpsMember {
                    name: m.name.to_string(),
                    offset: m.bit_offset / 8,
                    size,
                    is_func,
                    program: None,
                });
            }
            let spec = MapSpec {
                name: name.clone(),
                map_type: MapType::STRUCT_OPS,
                key_size: 4,
                value_size: ty.size,
                max_entries: 1,
                flags: if link { BPF_F_LINK } else { 0 },
                pinning: 0,
                map_extra: 0,
                numa_node: None,
                btf_key_type: None,
                btf_value_type: Some(type_id),
                kind: MapKind::StructOps,
                section: sec.name.to_string(),
                data: Some(shadow.to_vec()),
                inner: None,
                initial_slots: Vec::new(),
                struct_ops: Some(StructOpsSpec {
                    type_name: ty.name.to_string(),
                    btf_type: type_id,
                    link,
                    members,
                }),
                // `?.struct_ops*`: created only if asked (libbpf's autocreate off).
                autocreate: !sec.name.starts_with('?'),
            };
            let mut found = FoundMap::new(spec, shndx, offset);
            found.size = u64::from(ty.size);
            out.push(found);
        }
        func_pointers(elf, shndx, &mut out[first..], programs)?;
    }
    Ok(out)
}

/// Applies the `.rel.struct_ops*` records of section `shndx`: each sets one
/// function-pointer member of one variable to an entry program.
fn func_pointers(
    elf: &Elf<'_>,
    shndx: usize,
    maps: &mut [FoundMap],
    programs: &[ProgramSpec],
) -> Result<()> {
    let sec_name = elf.sections[shndx].name;
    for (rel_idx, rel_sec) in elf.sections.iter().enumerate() {
        if rel_sec.sh_type != object::elf::SHT_REL || rel_sec.info as usize != shndx {
            continue;
        }
        for rel in elf.rels(rel_idx)? {
            if rel.rtype == R_BPF_NONE {
                continue;
            }
            let sym = elf.symbols.get(rel.sym as usize);
            let sym_name = sym.map_or_else(|| format!("#{}", rel.sym), |s| s.name.to_string());
            let bad = |reason: String| Error::BadRelocation {
                section: sec_name.to_string(),
                offset: rel.offset,
                symbol: sym_name.clone(),
                reason,
            };
            let Some(sym) = sym else {
                return Err(bad("symbol index is past the symbol table".into()));
            };
            let Some(map) = maps
                .iter_mut()
                .find(|m| m.offset <= rel.offset && rel.offset < m.offset + m.size)
            else {
                return Err(bad("the offset is inside no struct_ops variable".into()));
            };
            let moff = (rel.offset - map.offset) as u32;
            let Some(ops) = map.spec.struct_ops.as_mut() else {
                return Err(bad("not a struct_ops variable".into()));
            };
            let Some(member) = ops.members.iter_mut().find(|m| m.offset == moff) else {
                return Err(bad(format!(
                    "offset {moff} of {:?} is the start of no member of struct {}",
                    map.spec.name, ops.type_name
                )));
            };
            if !member.is_func {
                return Err(bad(format!(
                    "member {:?} of struct {} is not a function pointer",
                    member.name, ops.type_name
                )));
            }
            let SymSection::Section(target) = sym.section else {
                return Err(bad(format!(
                    "member {:?} points at a symbol defined in no section (a non-static function?)",
                    member.name
                )));
            };
            let target_name = elf.sections.get(target).map_or("", |s| s.name);
            let Some(prog) = programs
                .iter()
                .find(|p| p.section == target_name && p.section_offset == sym.value)
            else {
                return Err(bad(format!(
                    "member {:?} points at no entry program (section {target_name:?} offset {:#x})",
                    member.name, sym.value
                )));
            };
            if prog.def.prog_type != ProgramType::STRUCT_OPS {
                return Err(bad(format!(
                    "member {:?} points at program {:?} in section {:?}, which is not a \
                     struct_ops program (SEC(\"struct_ops/...\"))",
                    member.name, prog.name, prog.section
                )));
            }
            member.program = Some(prog.name.clone());
        }
    }
    Ok(())
}

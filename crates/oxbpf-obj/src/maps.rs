//! Map definitions: BTF-defined maps in `.maps`, legacy `struct bpf_map_def`s in `maps`,
//! and the array maps backing global-data sections.

use oxbpf_btf::{Btf, Type, TypeId};

use crate::elf::{Elf, SymSection};
use crate::error::{Error, Result};
use crate::kinds::MapType;
use crate::spec::{DataSection, MapKind, MapSlot, MapSpec, ProgramSpec};

/// A map plus where its definition sits in the ELF file (for relocation lookups).
#[derive(Debug)]
pub(crate) struct FoundMap {
    pub(crate) spec: MapSpec,
    /// ELF section index of the definition.
    pub(crate) shndx: usize,
    /// Offset of the definition in that section (the map symbol's value); 0 for data maps.
    pub(crate) offset: u64,
    /// Size of the definition (the BTF variable's size); 0 where unknown.
    pub(crate) size: u64,
    /// Byte offset of the `values` member in a BTF definition (map-in-map, prog array).
    pub(crate) values_offset: Option<u64>,
    /// For the arena map: the `.addr_space.1` section its globals live in.
    pub(crate) arena_shndx: Option<usize>,
}

impl FoundMap {
    pub(crate) fn new(spec: MapSpec, shndx: usize, offset: u64) -> FoundMap {
        FoundMap {
            spec,
            shndx,
            offset,
            size: 0,
            values_offset: None,
            arena_shndx: None,
        }
    }
}

pub(crate) fn empty_spec(name: &str, section: &str, kind: MapKind) -> MapSpec {
    MapSpec {
        name: name.to_string(),
        map_type: MapType::UNSPEC,
        key_size: 0,
        value_size: 0,
        max_entries: 0,
        flags: 0,
        pinning: 0,
        map_extra: 0,
        numa_node: None,
        btf_key_type: None,
        btf_value_type: None,
        kind,
        section: section.to_string(),
        data: None,
        inner: None,
        initial_slots: Vec::new(),
        struct_ops: None,
        autocreate: true,
    }
}

/// Which data section a section name is, if any (libbpf's naming rules).
pub(crate) fn data_section_kind(name: &str) -> Option<DataSection> {
    let is =
        |base: &str| name == base || name.strip_prefix(base).is_some_and(|r| r.starts_with('.'));
    if is(".data") {
        Some(DataSection::Data)
    } else if is(".rodata") {
        Some(DataSection::Rodata)
    } else if is(".bss") {
        Some(DataSection::Bss)
    } else {
        None
    }
}

/// Data maps: one `BPF_MAP_TYPE_ARRAY` with one entry per non-empty data section.
pub(crate) fn data_maps(elf: &Elf<'_>) -> Result<Vec<FoundMap>> {
    let mut out = Vec::new();
    for (i, sec) in elf.sections.iter().enumerate() {
        let Some(kind) = data_section_kind(sec.name) else {
            continue;
        };
        let wanted_type = if kind == DataSection::Bss {
            object::elf::SHT_NOBITS
        } else {
            object::elf::SHT_PROGBITS
        };
        if sec.sh_type != wanted_type || sec.size == 0 {
            continue;
        }
        let size = u32::try_from(sec.size).map_err(|_| Error::BadMap {
            name: sec.name.to_string(),
            section: sec.name.to_string(),
            reason: format!("section size {:#x} does not fit a map value", sec.size),
        })?;
        let data = if kind == DataSection::Bss {
            vec![0; size as usize]
        } else {
            sec.data.to_vec()
        };
        let mut spec = empty_spec(sec.name, sec.name, MapKind::Data(kind));
        spec.map_type = MapType::ARRAY;
        spec.key_size = 4;
        spec.value_size = size;
        spec.max_entries = 1;
        spec.data = Some(data);
        out.push(FoundMap::new(spec, i, 0));
    }
    Ok(out)
}

/// Symbols defined in section `shndx`, sorted by value, skipping section/file symbols.
pub(crate) fn symbols_in(elf: &Elf<'_>, shndx: usize) -> Vec<(String, u64, u64)> {
    let mut v: Vec<(String, u64, u64)> = elf
        .symbols
        .iter()
        .filter(|s| {
            s.section == SymSection::Section(shndx)
                && s.kind != object::elf::STT_SECTION
                && s.kind != object::elf::STT_FILE
                && !s.name.is_empty()
        })
        .map(|s| (s.name.to_string(), s.value, s.size))
        .collect();
    v.sort_by_key(|s| s.1);
    v
}

/// Legacy `maps` section: an array of `struct bpf_map_def { type, key_size, value_size,
/// max_entries, map_flags, ... }`, one symbol per map; the record size is the section size
/// divided by the number of symbols (as libbpf did), at least the five `u32` fields.
pub(crate) fn legacy_maps(elf: &Elf<'_>) -> Result<Vec<FoundMap>> {
    let Some((shndx, sec)) = elf.section_by_name("maps") else {
        return Ok(Vec::new());
    };
    let syms = symbols_in(elf, shndx);
    if syms.is_empty() {
        return Ok(Vec::new());
    }
    let def_size = sec.data.len() / syms.len();
    const MIN: usize = 20;
    let mut out = Vec::new();
    for (name, value, _) in syms {
        let bad = |reason: String| Error::BadMap {
            name: name.clone(),
            section: "maps".into(),
            reason,
        };
        if def_size < MIN {
            return Err(bad(format!(
                "section is {} bytes for {} maps: {def_size} bytes each, struct bpf_map_def needs {MIN}",
                sec.data.len(),
                sec.data.len() / def_size.max(1)
            )));
        }
        let start = usize::try_from(value)
            .ok()
            .filter(|s| s.checked_add(MIN).is_some_and(|e| e <= sec.data.len()))
            .ok_or_else(|| {
                bad(format!(
                    "definition at offset {value:#x} runs past the section end ({:#x})",
                    sec.data.len()
                ))
            })?;
        let field = |i: usize| {
            let o = start + i * 4;
            u32::from_le_bytes([
                sec.data[o],
                sec.data[o + 1],
                sec.data[o + 2],
                sec.data[o + 3],
            ])
        };
        let mut spec = empty_spec(&name, "maps", MapKind::Legacy);
        spec.map_type = MapType(field(0));
        spec.key_size = field(1);
        spec.value_size = field(2);
        spec.max_entries = field(3);
        spec.flags = field(4);
        out.push(FoundMap::new(spec, shndx, value));
    }
    Ok(out)
}

/// Reads a numeric map field: `int (*name)[N]` (`__uint`) → N, or a one-value enum
/// (`__ulong(name, V)`, an `enum { x = V } name`, 64-bit for large values) → V.
fn field_value(btf: &Btf<'_>, ty: TypeId) -> std::result::Result<u64, String> {
    let id = btf.skip_mods_and_typedefs(ty).map_err(|e| e.to_string())?;
    match btf.type_by_id(id).map_err(|e| e.to_string())? {
        Type::Ptr(p) => {
            let arr = btf
                .skip_mods_and_typedefs(p.ty)
                .map_err(|e| e.to_string())?;
            match btf.type_by_id(arr).map_err(|e| e.to_string())? {
                Type::Array(a) => Ok(u64::from(a.nelems)),
                t => Err(format!(
                    "pointer target {arr} is a {:?}, not an array (expected `int (*)[N]`)",
                    t.kind()
                )),
            }
        }
        Type::Enum(e) | Type::Enum64(e) => {
            let mut values = e.values();
            match (values.next(), values.next()) {
                (Some(v), None) => {
                    let (_, v) = v.map_err(|e| e.to_string())?;
                    u64::try_from(v).map_err(|_| format!("enum value {v} is negative"))
                }
                _ => Err(format!(
                    "enum type {id} has {} values (`__ulong` gives exactly one)",
                    e.vlen()
                )),
            }
        }
        t => Err(format!(
            "type {id} is a {:?}, not a pointer (`int (*)[N]`) or an enum (`__ulong`)",
            t.kind()
        )),
    }
}

/// A 32-bit numeric map field.
fn field_u32(btf: &Btf<'_>, ty: TypeId) -> std::result::Result<u32, String> {
    let v = field_value(btf, ty)?;
    u32::try_from(v).map_err(|_| format!("value {v:#x} does not fit 32 bits"))
}

/// Reads `T *name` → the id of T.
fn ptr_target(btf: &Btf<'_>, ty: TypeId) -> std::result::Result<TypeId, String> {
    let id = btf.skip_mods_and_typedefs(ty).map_err(|e| e.to_string())?;
    match btf.type_by_id(id).map_err(|e| e.to_string())? {
        Type::Ptr(p) => Ok(p.ty),
        t => Err(format!("type {id} is a {:?}, not a pointer", t.kind())),
    }
}

fn is_map_in_map(t: MapType) -> bool {
    t == MapType::ARRAY_OF_MAPS || t == MapType::HASH_OF_MAPS
}

/// One BTF map definition (a struct whose members encode the attributes). `outer` is the
/// name of the map this is the inner template of, if it is one. Returns the spec and
/// the byte offset of its `values` member.
fn parse_def(
    btf: &Btf<'_>,
    name: &str,
    def_id: TypeId,
    outer: Option<&str>,
) -> Result<(MapSpec, Option<u64>)> {
    let bad = |reason: String| Error::BadMap {
        name: name.to_string(),
        section: ".maps".into(),
        reason,
    };
    let Type::Struct(def) = btf
        .type_by_id(def_id)
        .map_err(|e| Error::btf(format!("map {name:?}"), e))?
    else {
        return Err(bad(format!(
            "definition type {def_id} is not a struct (BTF maps are `struct {{ __uint(type, ...); ... }}`)"
        )));
    };
    let mut spec = empty_spec(name, ".maps", MapKind::Btf);
    let mut key_size = None;
    let mut value_size = None;
    // (member index, type, byte offset) of `values`.
    let mut values = None;
    let vlen = usize::from(def.vlen());
    for (i, m) in def.members().enumerate() {
        let m = m.map_err(|e| Error::btf(format!("map {name:?} members"), e))?;
        let field = |r: std::result::Result<u32, String>| {
            r.map_err(|e| bad(format!("field {:?}: {e}", m.name)))
        };
        match m.name {
            "type" => spec.map_type = MapType(field(field_u32(btf, m.ty))?),
            "max_entries" => spec.max_entries = field(field_u32(btf, m.ty))?,
            "map_flags" => spec.flags = field(field_u32(btf, m.ty))?,
            "pinning" if outer.is_some() => {
                return Err(bad("an inner map template cannot be pinned".into()));
            }
            "pinning" => spec.pinning = field(field_u32(btf, m.ty))?,
            "map_extra" => {
                spec.map_extra =
                    field_value(btf, m.ty).map_err(|e| bad(format!("field \"map_extra\": {e}")))?;
            }
            "numa_node" => spec.numa_node = Some(field(field_u32(btf, m.ty))?),
            "key_size" => key_size = Some(field(field_u32(btf, m.ty))?),
            "value_size" => value_size = Some(field(field_u32(btf, m.ty))?),
            "key" | "value" => {
                let target = field(ptr_target(btf, m.ty))?;
                let size = btf
                    .resolve_size(target)
                    .map_err(|e| bad(format!("field {:?}: size of type {target}: {e}", m.name)))?;
                if m.name == "key" {
                    spec.btf_key_type = Some(target);
                    spec.key_size = size;
                } else {
                    spec.btf_value_type = Some(target);
                    spec.value_size = size;
                }
            }
            "values" => {
                if let Some(o) = outer {
                    return Err(bad(format!(
                        "inner map of {o:?} has `values`: multi-level inner maps are not supported"
                    )));
                }
                if i + 1 != vlen {
                    return Err(bad("`values` must be the last member".into()));
                }
                if m.bit_offset % 64 != 0 {
                    return Err(bad(format!(
                        "`values` is at bit offset {}, not 8-byte aligned",
                        m.bit_offset
                    )));
                }
                values = Some((m.ty, u64::from(m.bit_offset / 8)));
            }
            other => return Err(bad(format!("unknown field {other:?}"))),
        }
    }
    for (explicit, from_type, what) in [
        (key_size, spec.btf_key_type.map(|_| spec.key_size), "key"),
        (
            value_size,
            spec.btf_value_type.map(|_| spec.value_size),
            "value",
        ),
    ] {
        if let (Some(e), Some(t)) = (explicit, from_type) {
            if e != t {
                return Err(bad(format!(
                    "{what}_size {e} disagrees with the size of the {what} type ({t})"
                )));
            }
        }
    }
    if let Some(k) = key_size {
        spec.key_size = k;
    }
    if let Some(v) = value_size {
        spec.value_size = v;
    }
    let Some((values_ty, values_offset)) = values else {
        return Ok((spec, None));
    };
    let prog_array = spec.map_type == MapType::PROG_ARRAY;
    if !prog_array && !is_map_in_map(spec.map_type) {
        return Err(bad(format!(
            "`values` needs a map-in-map or prog-array type, not {}",
            spec.map_type.0
        )));
    }
    let explicit_value = value_size.or(spec.btf_value_type.map(|_| spec.value_size));
    if let Some(v) = explicit_value.filter(|&v| v != 4) {
        return Err(bad(format!(
            "value size {v} conflicts with `values` (slots hold 4-byte fds)"
        )));
    }
    spec.value_size = 4;
    let what = if prog_array {
        "prog-array value"
    } else {
        "map-in-map inner"
    };
    let btf_err = |e| Error::btf(format!("map {name:?} field \"values\""), e);
    let elem = match btf.type_by_id(values_ty).map_err(btf_err)? {
        Type::Array(a) if a.nelems == 0 => a.elem,
        _ => {
            return Err(bad(format!(
                "{what} spec (type {values_ty}) is not a zero-sized array (`__array(values, ...)`)"
            )));
        }
    };
    let elem = btf.skip_mods_and_typedefs(elem).map_err(btf_err)?;
    let Type::Ptr(p) = btf.type_by_id(elem).map_err(btf_err)? else {
        return Err(bad(format!(
            "{what} element (type {elem}) is not a pointer"
        )));
    };
    let target = btf.skip_mods_and_typedefs(p.ty).map_err(btf_err)?;
    let kind = btf.kind(target).map_err(btf_err)?;
    if prog_array {
        if kind != oxbpf_btf::Kind::FuncProto {
            return Err(bad(format!(
                "prog-array values point to type {target}, a {kind:?}, not a function"
            )));
        }
    } else {
        if kind != oxbpf_btf::Kind::Struct {
            return Err(bad(format!(
                "map-in-map values point to type {target}, a {kind:?}, not a map definition struct"
            )));
        }
        let (inner, _) = parse_def(btf, &format!("{name}.inner"), target, Some(name))?;
        if inner.map_type == MapType::UNSPEC {
            return Err(bad("the inner map definition has no `type`".into()));
        }
        spec.inner = Some(Box::new(inner));
    }
    Ok((spec, Some(values_offset)))
}

/// BTF-defined maps: the `.maps` DATASEC's variables, each a struct whose members encode the
/// map's attributes (`__uint(type, ...)`, `__type(key, ...)`, ...).
pub(crate) fn btf_maps(elf: &Elf<'_>, btf: Option<&Btf<'_>>) -> Result<Vec<FoundMap>> {
    let Some((shndx, _)) = elf.section_by_name(".maps") else {
        return Ok(Vec::new());
    };
    let syms = symbols_in(elf, shndx);
    let Some(btf) = btf else {
        if syms.is_empty() {
            return Ok(Vec::new());
        }
        return Err(Error::BadMap {
            name: syms[0].0.clone(),
            section: ".maps".into(),
            reason: "the object has a .maps section but no .BTF to describe it".into(),
        });
    };
    let Some((_, datasec)) = btf
        .datasec_by_name(".maps")
        .map_err(|e| Error::btf("looking up DATASEC .maps", e))?
    else {
        if syms.is_empty() {
            return Ok(Vec::new());
        }
        return Err(Error::BadMap {
            name: syms[0].0.clone(),
            section: ".maps".into(),
            reason: "no DATASEC \".maps\" in the object's BTF".into(),
        });
    };
    let mut out = Vec::new();
    for (i, vsi) in datasec.vars().enumerate() {
        let vsi = vsi.map_err(|e| Error::btf(format!("DATASEC .maps variable {i}"), e))?;
        let Type::Var(var) = btf
            .type_by_id(vsi.ty)
            .map_err(|e| Error::btf(format!("DATASEC .maps variable {i}"), e))?
        else {
            return Err(Error::BadMap {
                name: format!("#{i}"),
                section: ".maps".into(),
                reason: format!("DATASEC entry {i} is type {}, not a VAR", vsi.ty),
            });
        };
        let name = var.name.to_string();
        let def_id = btf
            .skip_mods_and_typedefs(var.ty)
            .map_err(|e| Error::btf(format!("map {name:?}"), e))?;
        let (spec, values_offset) = parse_def(btf, &name, def_id, None)?;
        // The ELF symbol is authoritative for the offset and size (clang may leave DATASEC
        // offsets for the loader); fall back to the DATASEC entry.
        let sym = syms.iter().find(|s| s.0 == name);
        let offset = sym.map_or(u64::from(vsi.offset), |s| s.1);
        let size = match sym {
            Some(s) if s.2 != 0 => s.2,
            _ => u64::from(vsi.size),
        };
        out.push(FoundMap {
            spec,
            shndx,
            offset,
            size,
            values_offset,
            arena_shndx: None,
        });
    }
    Ok(out)
}

/// `R_BPF_NONE`.
const R_BPF_NONE: u32 = 0;

/// Initial slots of map-in-map and prog-array maps: the `.rel.maps` records pointing from
/// a map's `values` member at another map (`[1] = &inner`) or at an entry program
/// (`[0] = &prog`).
pub(crate) fn initial_slots(
    elf: &Elf<'_>,
    found: &mut [FoundMap],
    programs: &[ProgramSpec],
) -> Result<()> {
    let Some((maps_shndx, _)) = elf.section_by_name(".maps") else {
        return Ok(());
    };
    for (rel_idx, rel_sec) in elf.sections.iter().enumerate() {
        if rel_sec.sh_type != object::elf::SHT_REL || rel_sec.info as usize != maps_shndx {
            continue;
        }
        for rel in elf.rels(rel_idx)? {
            if rel.rtype == R_BPF_NONE {
                continue;
            }
            let sym = elf.symbols.get(rel.sym as usize);
            let sym_name = sym.map_or_else(|| format!("#{}", rel.sym), |s| s.name.to_string());
            let bad_rel = |reason: String| Error::BadRelocation {
                section: ".maps".into(),
                offset: rel.offset,
                symbol: sym_name.clone(),
                reason,
            };
            let Some(sym) = sym else {
                return Err(bad_rel(format!(
                    "symbol index {} is past the symbol table ({} symbols)",
                    rel.sym,
                    elf.symbols.len()
                )));
            };
            let Some(owner) = found.iter().position(|m| {
                m.spec.kind == MapKind::Btf
                    && m.offset <= rel.offset
                    && rel
                        .offset
                        .checked_add(8)
                        .is_some_and(|e| e <= m.offset + m.size)
            }) else {
                return Err(bad_rel("the offset is inside no map definition".into()));
            };
            let map = &found[owner];
            let bad = |reason: String| Error::BadMap {
                name: map.spec.name.clone(),
                section: ".maps".into(),
                reason: format!(
                    "relocation at offset {:#x} against {sym_name:?}: {reason}",
                    rel.offset
                ),
            };
            let Some(values_offset) = map.values_offset else {
                return Err(bad("the map has no `values` member to initialise".into()));
            };
            let moff = (rel.offset - map.offset)
                .checked_sub(values_offset)
                .ok_or_else(|| bad("points before the `values` member".into()))?;
            if moff % 8 != 0 {
                return Err(bad(format!(
                    "offset {moff} into `values` is not a multiple of 8 (one pointer per slot)"
                )));
            }
            let index = moff / 8;
            if index >= u64::from(map.spec.max_entries) {
                return Err(bad(format!(
                    "slot {index} is past max_entries ({})",
                    map.spec.max_entries
                )));
            }
            let slot = if map.spec.map_type == MapType::PROG_ARRAY {
                let SymSection::Section(shndx) = sym.section else {
                    return Err(bad("the target is not a program of this object".into()));
                };
                let sec_name = elf.sections.get(shndx).map_or("", |s| s.name);
                let prog = programs
                    .iter()
                    .find(|p| p.section == sec_name && p.section_offset == sym.value);
                match prog {
                    Some(p) if p.name == sym.name || sym.kind == object::elf::STT_SECTION => {
                        MapSlot::Program(p.name.clone())
                    }
                    _ => {
                        return Err(bad(format!(
                            "the target is not an entry program (section {sec_name:?} offset {:#x})",
                            sym.value
                        )));
                    }
                }
            } else {
                if map.spec.map_type == MapType::HASH_OF_MAPS && map.spec.key_size != 4 {
                    return Err(bad(format!(
                        "a hash of maps with initial values needs 4-byte keys (the slot index), not {}",
                        map.spec.key_size
                    )));
                }
                let target = (sym.section == SymSection::Section(maps_shndx))
                    .then(|| {
                        found
                            .iter()
                            .position(|m| m.spec.kind == MapKind::Btf && m.offset == sym.value)
                    })
                    .flatten();
                match target {
                    Some(t) => MapSlot::Map(t),
                    None => return Err(bad("the target is not a map defined in .maps".into())),
                }
            };
            let slots = &mut found[owner].spec.initial_slots;
            let index = index as u32;
            if slots.iter().any(|(i, _)| *i == index) {
                return Err(Error::BadMap {
                    name: found[owner].spec.name.clone(),
                    section: ".maps".into(),
                    reason: format!("slot {index} is initialised twice"),
                });
            }
            slots.push((index, slot));
        }
    }
    for m in found.iter_mut() {
        m.spec.initial_slots.sort_by_key(|s| s.0);
    }
    Ok(())
}

/// The section of global `__arena` variables.
pub(crate) const ARENA_SEC: &str = ".addr_space.1";

/// Arena globals: the `.addr_space.1` section becomes the initial contents of the object's
/// one arena map (placed at the arena's start), and its relocations point into that map.
pub(crate) fn arena_data(elf: &Elf<'_>, found: &mut [FoundMap]) -> Result<()> {
    let mut arenas = found
        .iter()
        .enumerate()
        .filter(|(_, m)| m.spec.map_type == MapType::ARENA)
        .map(|(i, _)| i);
    let (first, second) = (arenas.next(), arenas.next());
    if let (Some(a), Some(b)) = (first, second) {
        return Err(Error::BadMap {
            name: found[b].spec.name.clone(),
            section: ".maps".into(),
            reason: format!(
                "only one arena map per object is supported ({:?} is one too)",
                found[a].spec.name
            ),
        });
    }
    let Some((shndx, sec)) = elf.section_by_name(ARENA_SEC) else {
        return Ok(());
    };
    let Some(arena) = first else {
        return Err(Error::BadSection {
            section: ARENA_SEC.into(),
            reason: "global __arena variables need an arena map (BPF_MAP_TYPE_ARENA) in .maps"
                .into(),
        });
    };
    // Pages of 4 KiB at least: the loader checks against the real page size again.
    let room = u64::from(found[arena].spec.max_entries) * 4096;
    if sec.size > room {
        return Err(Error::BadMap {
            name: found[arena].spec.name.clone(),
            section: ".maps".into(),
            reason: format!(
                "{} pages ({room} bytes) cannot hold the {} bytes of {ARENA_SEC}",
                found[arena].spec.max_entries, sec.size
            ),
        });
    }
    let data = if sec.sh_type == object::elf::SHT_NOBITS {
        // Bounded by `room` (checked above).
        vec![0; sec.size as usize]
    } else {
        sec.data.to_vec()
    };
    found[arena].spec.data = Some(data);
    found[arena].arena_shndx = Some(shndx);
    Ok(())
}

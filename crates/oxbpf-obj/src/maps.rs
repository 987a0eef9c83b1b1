//! Map definitions: BTF-defined maps in `.maps`, legacy `struct bpf_map_def`s in `maps`,
//! and the array maps backing global-data sections.

use oxbpf_btf::{Btf, Type, TypeId};

use crate::elf::{Elf, SymSection};
use crate::error::{Error, Result};
use crate::kinds::MapType;
use crate::spec::{DataSection, MapKind, MapSpec};

/// A map plus where its definition sits in the ELF file (for relocation lookups).
#[derive(Debug)]
pub(crate) struct FoundMap {
    pub(crate) spec: MapSpec,
    /// ELF section index of the definition.
    pub(crate) shndx: usize,
    /// Offset of the definition in that section (the map symbol's value); 0 for data maps.
    pub(crate) offset: u64,
}

fn empty_spec(name: &str, section: &str, kind: MapKind) -> MapSpec {
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
        out.push(FoundMap {
            spec,
            shndx: i,
            offset: 0,
        });
    }
    Ok(out)
}

/// Symbols defined in section `shndx`, sorted by value, skipping section/file symbols.
fn symbols_in(elf: &Elf<'_>, shndx: usize) -> Vec<(String, u64, u64)> {
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
        out.push(FoundMap {
            spec,
            shndx,
            offset: value,
        });
    }
    Ok(out)
}

/// Reads `int (*name)[N]` → N: a pointer to an array whose element count encodes a value.
fn ptr_array_value(btf: &Btf<'_>, ty: TypeId) -> std::result::Result<u32, String> {
    let id = btf.skip_mods_and_typedefs(ty).map_err(|e| e.to_string())?;
    let Type::Ptr(p) = btf.type_by_id(id).map_err(|e| e.to_string())? else {
        return Err(format!(
            "type {id} is not a pointer (expected `int (*)[N]`)"
        ));
    };
    let arr = btf
        .skip_mods_and_typedefs(p.ty)
        .map_err(|e| e.to_string())?;
    match btf.type_by_id(arr).map_err(|e| e.to_string())? {
        Type::Array(a) => Ok(a.nelems),
        t => Err(format!(
            "pointer target {arr} is a {:?}, not an array (expected `int (*)[N]`)",
            t.kind()
        )),
    }
}

/// Reads `T *name` → the id of T.
fn ptr_target(btf: &Btf<'_>, ty: TypeId) -> std::result::Result<TypeId, String> {
    let id = btf.skip_mods_and_typedefs(ty).map_err(|e| e.to_string())?;
    match btf.type_by_id(id).map_err(|e| e.to_string())? {
        Type::Ptr(p) => Ok(p.ty),
        t => Err(format!("type {id} is a {:?}, not a pointer", t.kind())),
    }
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
        let bad = |reason: String| Error::BadMap {
            name: name.clone(),
            section: ".maps".into(),
            reason,
        };
        let def_id = btf
            .skip_mods_and_typedefs(var.ty)
            .map_err(|e| Error::btf(format!("map {name:?}"), e))?;
        let Type::Struct(def) = btf
            .type_by_id(def_id)
            .map_err(|e| Error::btf(format!("map {name:?}"), e))?
        else {
            return Err(bad(format!(
                "variable type {def_id} is not a struct (BTF maps are `struct {{ __uint(type, ...); ... }}`)"
            )));
        };
        let mut spec = empty_spec(&name, ".maps", MapKind::Btf);
        let mut key_size = None;
        let mut value_size = None;
        for m in def.members() {
            let m = m.map_err(|e| Error::btf(format!("map {name:?} members"), e))?;
            let field = |r: std::result::Result<u32, String>| {
                r.map_err(|e| bad(format!("field {:?}: {e}", m.name)))
            };
            match m.name {
                "type" => spec.map_type = MapType(field(ptr_array_value(btf, m.ty))?),
                "max_entries" => spec.max_entries = field(ptr_array_value(btf, m.ty))?,
                "map_flags" => spec.flags = field(ptr_array_value(btf, m.ty))?,
                "pinning" => spec.pinning = field(ptr_array_value(btf, m.ty))?,
                "map_extra" => spec.map_extra = u64::from(field(ptr_array_value(btf, m.ty))?),
                "numa_node" => spec.numa_node = Some(field(ptr_array_value(btf, m.ty))?),
                "key_size" => key_size = Some(field(ptr_array_value(btf, m.ty))?),
                "value_size" => value_size = Some(field(ptr_array_value(btf, m.ty))?),
                "key" | "value" => {
                    let target = field(ptr_target(btf, m.ty))?;
                    let size = btf.resolve_size(target).map_err(|e| {
                        bad(format!("field {:?}: size of type {target}: {e}", m.name))
                    })?;
                    if m.name == "key" {
                        spec.btf_key_type = Some(target);
                        spec.key_size = size;
                    } else {
                        spec.btf_value_type = Some(target);
                        spec.value_size = size;
                    }
                }
                // Initial values of map-in-map / prog-array slots: not modelled yet.
                "values" => {}
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
        // The ELF symbol is authoritative for the offset (clang may leave DATASEC offsets
        // for the loader); fall back to the DATASEC entry.
        let offset = syms
            .iter()
            .find(|s| s.0 == name)
            .map_or(u64::from(vsi.offset), |s| s.1);
        out.push(FoundMap {
            spec,
            shndx,
            offset,
        });
    }
    Ok(out)
}

//! Initial slots of map-in-map and prog-array maps (`.values = { [i] = &x }` in the
//! object, [`oxbpf_obj::MapSpec::initial_slots`]): map slots are filled once every map
//! exists, program slots once the programs are loaded (as libbpf does).

use oxbpf_maps::Map;
use oxbpf_obj::{MapSlot, ObjectSpec};

use crate::error::{Error, Result};
use crate::program::Program;

fn slot_error(map: &str, index: u32, what: String) -> Error {
    Error::Map {
        map: map.to_owned(),
        source: oxbpf_sys::Error::Invalid(format!("initial slot [{index}]: {what}")),
    }
}

/// Writes the map fd of every `MapSlot::Map` slot into its map-in-map.
pub(crate) fn fill_map_slots(spec: &ObjectSpec, maps: &[Map]) -> Result<()> {
    for (m, outer) in spec.maps.iter().zip(maps) {
        for (index, slot) in &m.initial_slots {
            let MapSlot::Map(target) = slot else { continue };
            let inner = maps.get(*target).ok_or_else(|| {
                slot_error(&m.name, *index, format!("map #{target} does not exist"))
            })?;
            let fd = inner.map_fd().raw() as u32;
            oxbpf_sys::bpf::map_update_elem(outer.fd(), &index.to_ne_bytes(), &fd.to_ne_bytes(), 0)
                .map_err(|e| slot_error(&m.name, *index, format!("map {:?}: {e}", inner.name())))?;
        }
    }
    Ok(())
}

/// Writes the program fd of every `MapSlot::Program` slot into its prog array. A slot
/// whose program was not loaded (autoload off) stays empty, with a warning (libbpf fails
/// the whole load there; loading one program of an object at a time needs this).
pub(crate) fn fill_prog_slots(
    spec: &ObjectSpec,
    maps: &[Map],
    programs: &[Program],
    warnings: &mut Vec<String>,
) -> Result<()> {
    for (m, array) in spec.maps.iter().zip(maps) {
        for (index, slot) in &m.initial_slots {
            let MapSlot::Program(name) = slot else {
                continue;
            };
            let Some(prog) = programs.iter().find(|p| p.name() == name) else {
                warnings.push(format!(
                    "map {:?}: initial slot [{index}] left empty: program {name:?} was not \
                     loaded (autoload off)",
                    m.name
                ));
                continue;
            };
            let fd = prog.fd().raw() as u32;
            oxbpf_sys::bpf::map_update_elem(array.fd(), &index.to_ne_bytes(), &fd.to_ne_bytes(), 0)
                .map_err(|e| slot_error(&m.name, *index, format!("program {name:?}: {e}")))?;
        }
    }
    Ok(())
}

//! Arena maps of an object: each `BPF_MAP_TYPE_ARENA` map is mapped into this process at
//! the user address the object asked for (`map_extra`; the kernel's choice when 0) right
//! after it is created, and its `.addr_space.1` globals (the map's initial data) are
//! written at the arena's start, as libbpf does when the kernel lacks full-range ld_imm64
//! offsets. Programs reach those globals through `BPF_PSEUDO_MAP_VALUE` loads of the arena
//! (the kernel turns them into user addresses) and `addr_space_cast`, which pass through
//! unchanged.

use oxbpf_maps::{Arena, Map};
use oxbpf_obj::{MapType, ObjectSpec};

use crate::error::{Error, Result};

/// Maps every arena of `spec` (indices into `maps`) and writes its initial data.
pub(crate) fn map_arenas(spec: &ObjectSpec, maps: &[Map]) -> Result<Vec<Arena>> {
    let mut out = Vec::new();
    for (m, map) in spec.maps.iter().zip(maps) {
        if m.map_type != MapType::ARENA {
            continue;
        }
        let arena = Arena::map(map, m.map_extra).map_err(|e| Error::Maps(Box::new(e)))?;
        if let Some(data) = m.data.as_deref() {
            if data.len() > arena.len() {
                return Err(Error::Map {
                    map: m.name.clone(),
                    source: oxbpf_sys::Error::Invalid(format!(
                        "{} pages ({} bytes) cannot hold the {} bytes of .addr_space.1",
                        m.max_entries,
                        arena.len(),
                        data.len()
                    )),
                });
            }
            arena.write(0, data).map_err(|e| Error::Maps(Box::new(e)))?;
        }
        out.push(arena);
    }
    Ok(out)
}

//! `oxbpf map list` and `oxbpf map dump <id N | N | pinned path>`: the maps the kernel
//! holds, and their entries as JSON lines decoded by the map's BTF (hex without BTF;
//! per-CPU values as one element per possible CPU).

use std::fmt::Write as _;
use std::os::fd::AsRawFd;
use std::path::Path;

use clap::Subcommand;
use oxbpf::maps::{Map, is_per_cpu, map_type_name};
use oxbpf::sys::MapFd;
use oxbpf::sys::bpf::{self, MapInfo};

use crate::output;
use crate::probe_cmd::emit;

/// `map` subcommands.
#[derive(Subcommand, Debug)]
pub enum MapCmd {
    /// List the kernel's maps: id, type, name, key/value sizes, max_entries, flags, BTF id.
    List,
    /// Print a map's entries, one JSON object per line: {"key":..,"value":..}.
    Dump {
        /// `id N`, a bare id `N`, or the path of a map pinned on a bpffs.
        #[arg(num_args = 1..=2, value_names = ["id | PATH", "N"])]
        map: Vec<String>,
    },
}

type CmdResult = Result<(), Box<dyn std::error::Error>>;

/// Runs a `map` subcommand.
pub fn run(cmd: MapCmd) -> CmdResult {
    match cmd {
        MapCmd::List => emit(&list()?),
        MapCmd::Dump { map } => {
            let (fd, what) = open(&map)?;
            dump(fd, &what, &mut std::io::stdout().lock())
        }
    }
}

fn c_str(bytes: &[u8]) -> String {
    let n = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..n]).into_owned()
}

/// Every map's info, in id order (maps freed meanwhile are skipped).
fn all_maps() -> Result<Vec<MapInfo>, oxbpf::sys::Error> {
    crate::prog_cmd::all_by_id(bpf::map_get_next_id, bpf::map_get_fd_by_id, bpf::map_info)
}

/// The `map list` text.
pub fn list() -> Result<String, Box<dyn std::error::Error>> {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:>6}  {:<22}  {:<16}  {:>5}  {:>7}  {:>11}  {:>8}  {:>6}",
        "id", "type", "name", "key", "value", "max_entries", "flags", "btf_id"
    );
    for m in all_maps()? {
        let _ = writeln!(
            out,
            "{:>6}  {:<22}  {:<16}  {:>5}  {:>7}  {:>11}  {:>#8x}  {:>6}",
            m.id,
            map_type_name(m.map_type),
            c_str(&m.name),
            m.key_size,
            m.value_size,
            m.max_entries,
            m.map_flags,
            m.btf_id
        );
    }
    Ok(out)
}

/// Opens a map from `id N`, `N` or a pinned path; also returns how to name it in errors.
fn open(args: &[String]) -> Result<(MapFd, String), String> {
    let id_arg = match args {
        [kw, n] if kw == "id" => Some(n.as_str()),
        [n] if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => Some(n.as_str()),
        [path] => {
            let path = Path::new(path);
            let fd = bpf::obj_get(path).map_err(|e| format!("{}: {e}", path.display()))?;
            let fdinfo = std::fs::read_to_string(format!("/proc/self/fdinfo/{}", fd.as_raw_fd()))
                .unwrap_or_default();
            if !fdinfo.lines().any(|l| l.starts_with("map_type:")) {
                return Err(format!("{}: pinned object is not a map", path.display()));
            }
            return Ok((MapFd::from_owned(fd), path.display().to_string()));
        }
        _ => {
            return Err(format!(
                "map dump {args:?}: expected `id N`, `N` or a pinned path"
            ));
        }
    };
    let n = id_arg.unwrap_or_default();
    let id: u32 = n
        .parse()
        .map_err(|_| format!("map id {n:?}: not a map id"))?;
    let fd = bpf::map_get_fd_by_id(id).map_err(|e| format!("map id {id}: {e}"))?;
    Ok((fd, format!("map id {id}")))
}

/// Map types whose contents are not key/value entries that lookup can read.
fn has_no_entries(map_type: u32) -> bool {
    matches!(
        map_type_name(map_type),
        "ringbuf"
            | "user_ringbuf"
            | "perf_event_array"
            | "queue"
            | "stack"
            | "bloom_filter"
            | "struct_ops"
            | "arena"
    )
}

/// Writes the entries of map `fd` as JSON lines to `out`.
pub fn dump(fd: MapFd, what: &str, out: &mut impl std::io::Write) -> CmdResult {
    let info = bpf::map_info(fd.as_fd()).map_err(|e| format!("{what}: {e}"))?;
    let name = c_str(&info.name);
    if has_no_entries(info.map_type) {
        return Err(format!(
            "{what} ({name:?}) is a {} map: it has no entries to dump",
            map_type_name(info.map_type)
        )
        .into());
    }
    let btf_owned = if info.btf_id != 0 {
        Some(
            oxbpf::kernel_btf::by_id(info.btf_id)
                .map_err(|e| format!("{what}: BTF id {}: {e}", info.btf_id))?,
        )
    } else {
        None
    };
    let btf = match &btf_owned {
        Some(b) => Some(
            b.btf()
                .map_err(|e| format!("{what}: BTF id {}: {e}", info.btf_id))?,
        ),
        None => None,
    };
    let nz = |t: u32| (t != 0).then_some(t);
    let (kt, vt) = (nz(info.btf_key_type_id), nz(info.btf_value_type_id));
    let per_cpu = is_per_cpu(info.map_type);
    let slot = (info.value_size as usize).div_ceil(8) * 8;
    let map = Map::from_fd(
        if name.is_empty() {
            what.to_owned()
        } else {
            name
        },
        fd,
    )?;
    for e in map.entries() {
        let (k, v) = e?;
        let key = output::value(btf.as_ref(), kt, &k);
        let value = if per_cpu && slot > 0 {
            let cpus: Vec<String> = v
                .chunks(slot)
                .map(|c| {
                    let c = c.get(..info.value_size as usize).unwrap_or(c);
                    output::value(btf.as_ref(), vt, c)
                })
                .collect();
            format!("[{}]", cpus.join(","))
        } else {
            output::value(btf.as_ref(), vt, &v)
        };
        match writeln!(out, "{{\"key\":{key},\"value\":{value}}}") {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(()),
            r => r?,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_rejects_malformed_arguments() {
        let e = open(&["id".into(), "x".into()]).unwrap_err();
        assert!(e.contains("not a map id"), "{e}");
        let e = open(&["a".into(), "b".into()]).unwrap_err();
        assert!(e.contains("expected `id N`"), "{e}");
    }

    #[test]
    fn streaming_maps_have_no_entries() {
        assert!(has_no_entries(27));
        assert!(has_no_entries(4));
        assert!(!has_no_entries(1));
        assert!(!has_no_entries(6));
    }
}

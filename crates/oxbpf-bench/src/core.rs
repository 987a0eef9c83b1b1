//! `core_object_load`: from the bytes of `$PEERBENCH_BPF/core10.bpf.o` in memory to all 10
//! programs loaded (4 maps created, CO-RE relocated against vmlinux) in this fresh process
//! (bench-peers `core_load`). The file read is not timed; the vmlinux BTF parse is.

use std::path::PathBuf;
use std::time::Instant;

use oxbpf::{Collection, LoadOptions, ObjectSpec};

use super::{Res, out};

/// `$PEERBENCH_BPF/core10.bpf.o`, default `/work/shared/peerbench/bpf/core10.bpf.o`.
fn object_path() -> PathBuf {
    std::env::var_os("PEERBENCH_BPF")
        .map_or_else(
            || PathBuf::from("/work/shared/peerbench/bpf"),
            PathBuf::from,
        )
        .join("core10.bpf.o")
}

/// Parse, create maps, CO-RE relocate and load every program; the time from bytes to loaded.
pub fn core_object_load() -> Res<()> {
    let path = object_path();
    let bytes = std::fs::read(&path).map_err(|e| format!("reading {}: {e}", path.display()))?;
    let t = Instant::now();
    let spec = ObjectSpec::from_bytes(&bytes)?;
    let coll = Collection::load(&spec, &LoadOptions::default())?;
    let n = coll.programs().count();
    let ms = t.elapsed().as_secs_f64() * 1e3;
    std::hint::black_box(&coll);
    if n != 10 {
        return Err(format!("loaded {n} programs, expected 10").into());
    }
    out("core_object_load", ms, "ms");
    out(
        "core_object_load_relos",
        coll.core_relocations().len() as f64,
        "relos",
    );
    Ok(())
}

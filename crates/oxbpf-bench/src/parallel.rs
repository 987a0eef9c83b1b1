//! `collection_load_parallel` / `collection_load_sequential`: `Collection::load` of
//! fixtures/many_progs.bpf.o (64 syscall programs whose verification dominates, two shared
//! maps) with `LoadOptions::jobs` 0 (a thread per CPU) and 1 (one after the other). One
//! untimed warm-up load first (BTF, memlock probe, page cache), then one timed load from
//! the parsed spec to all 64 programs loaded.

use std::time::Instant;

use oxbpf::{Collection, LoadOptions, ObjectSpec};

use super::{Res, out};

/// The object, built by `scripts/fixtures` from bpf-src/many_progs.bpf.c.
const MANY_PROGS: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../fixtures/many_progs.bpf.o"
));

/// Runs `metric`: `collection_load_parallel` or `collection_load_sequential`.
pub fn run(metric: &str) -> Res<()> {
    match metric {
        "collection_load_parallel" => collection_load(metric, 0),
        "collection_load_sequential" => collection_load(metric, 1),
        other => Err(format!("unknown metric {other:?}").into()),
    }
}

fn collection_load(metric: &str, jobs: usize) -> Res<()> {
    let spec = ObjectSpec::from_bytes(MANY_PROGS)?;
    let opts = LoadOptions {
        jobs,
        ..Default::default()
    };
    drop(Collection::load(&spec, &opts)?);
    let t = Instant::now();
    let coll = Collection::load(&spec, &opts)?;
    let ms = t.elapsed().as_secs_f64() * 1e3;
    let n = coll.programs().count();
    drop(coll);
    if n != 64 {
        return Err(format!("loaded {n} programs, expected 64").into());
    }
    out(metric, ms, "ms");
    let threads = if jobs == 0 {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        jobs
    };
    out(&format!("{metric}_threads"), threads as f64, "threads");
    Ok(())
}

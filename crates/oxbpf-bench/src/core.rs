//! `core_object_load`: from the bytes of `$PEERBENCH_BPF/core10.bpf.o` in memory to all 10
//! programs loaded (4 maps created, CO-RE relocated against vmlinux) in this fresh process
//! (bench-peers `core_load`). The file read is not timed; the vmlinux BTF parse is.
//!
//! After the timed load, the same kernel work is replayed alone — `BPF_BTF_LOAD` of the
//! object's BTF, its `BPF_MAP_CREATE`s and the `BPF_PROG_LOAD`s of the final instructions,
//! everything else prepared untimed — and printed as `core_object_load_floor`: what no
//! loader can go below on this kernel.
//!
//! `oxbpf-bench core_object_load --breakdown` instead times the phases of a load one
//! after the other in this fresh process, each through the public API that
//! `Collection::load` uses, and prints them to stderr (see [`breakdown`]).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use oxbpf::reloc::{Linker, Targets, apply_core, resolve_maps};
use oxbpf::{Collection, LoadOptions, ObjectSpec};
use oxbpf_sys::bpf::{self, MapCreate, ProgLoad};
use oxbpf_sys::{BtfFd, MapFd, ProgFd};

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

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Parse, create maps, CO-RE relocate and load every program; the time from bytes to
/// loaded. Then the kernel-only floor of the same load.
pub fn core_object_load() -> Res<()> {
    let path = object_path();
    let bytes = std::fs::read(&path).map_err(|e| format!("reading {}: {e}", path.display()))?;
    if std::env::args().any(|a| a == "--breakdown") {
        return breakdown(&bytes);
    }
    // `OXBPF_BENCH_JOBS=N`: `LoadOptions::jobs` for the timed load (to compare the
    // default against N; the metric itself is the default's).
    let opts = LoadOptions {
        jobs: std::env::var("OXBPF_BENCH_JOBS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(LoadOptions::default().jobs),
        ..Default::default()
    };
    let t = Instant::now();
    let spec = ObjectSpec::from_bytes(&bytes)?;
    let coll = Collection::load(&spec, &opts)?;
    let n = coll.programs().count();
    let elapsed = t.elapsed();
    std::hint::black_box(&coll);
    if n != 10 {
        return Err(format!("loaded {n} programs, expected 10").into());
    }
    out("core_object_load", ms(elapsed), "ms");
    out(
        "core_object_load_relos",
        coll.core_relocations().len() as f64,
        "relos",
    );
    drop(coll);
    let floor = Floor::replay(&spec)?;
    out("core_object_load_floor", ms(floor.total()), "ms");
    Ok(())
}

/// The kernel's share of a load, replayed with inputs prepared untimed.
struct Floor {
    btf_load: Duration,
    map_create: Duration,
    prog_load: Duration,
    maps: usize,
    progs: usize,
}

impl Floor {
    fn total(&self) -> Duration {
        self.btf_load + self.map_create + self.prog_load
    }

    /// `BPF_BTF_LOAD`, then every `BPF_MAP_CREATE`, then every `BPF_PROG_LOAD` of `spec`,
    /// each group timed alone.
    fn replay(spec: &ObjectSpec) -> Res<Floor> {
        let btf = spec.btf_for_load()?.ok_or("the object has no BTF")?;
        let t = Instant::now();
        let btf_fd: BtfFd = bpf::btf_load(&btf, &mut [])?;
        let btf_load = t.elapsed();

        let attrs = spec
            .maps
            .iter()
            .map(|m| map_attr(m, &btf_fd))
            .collect::<Res<Vec<_>>>()?;
        let t = Instant::now();
        let maps = attrs
            .iter()
            .map(bpf::map_create)
            .collect::<Result<Vec<MapFd>, _>>()?;
        let map_create = t.elapsed();

        // Final instructions for these maps, prepared as Collection::load does.
        let main = oxbpf::kernel_btf::vmlinux()?;
        let targets = Targets::new("vmlinux", main);
        let mut prepared = Vec::with_capacity(spec.programs.len());
        let linker = Linker::new(spec);
        for (i, p) in spec.programs.iter().enumerate() {
            let mut linked = linker.link(i)?;
            apply_core(spec, &mut linked, &targets)?;
            resolve_maps(&mut linked, &|idx| maps.get(idx).map(MapFd::raw))?;
            let func_info: Vec<u8> = linked
                .func_info
                .iter()
                .flat_map(|f| [f.insn, f.type_id].into_iter().flat_map(u32::to_ne_bytes))
                .collect();
            let line_info: Vec<u8> = linked
                .line_info
                .iter()
                .flat_map(|l| {
                    [
                        l.insn,
                        l.file_name_off,
                        l.line_off,
                        (l.line << 10) | (l.col & 0x3ff),
                    ]
                    .into_iter()
                    .flat_map(u32::to_ne_bytes)
                })
                .collect();
            let insns = oxbpf::asm::insns_to_bytes(&linked.insns);
            prepared.push((p, insns, func_info, line_info));
        }
        let loads: Vec<ProgLoad<'_>> = prepared
            .iter()
            .map(|(p, insns, fi, li)| ProgLoad {
                prog_type: p.def.prog_type.0,
                insns,
                license: &spec.license,
                name: &p.name,
                expected_attach_type: p.def.expected_attach_type.map_or(0, |a| a.0),
                btf_fd: Some(btf_fd.as_fd()),
                func_info: fi,
                func_info_rec_size: 8,
                line_info: li,
                line_info_rec_size: 16,
                ..Default::default()
            })
            .collect();
        let t = Instant::now();
        let progs = loads
            .iter()
            .map(|l| bpf::prog_load(l, 0, &mut []).result)
            .collect::<Result<Vec<ProgFd>, _>>()?;
        let prog_load = t.elapsed();
        Ok(Floor {
            btf_load,
            map_create,
            prog_load,
            maps: maps.len(),
            progs: progs.len(),
        })
    }
}

/// The `BPF_MAP_CREATE` attr of one of the object's maps (BTF-defined ones only, as in
/// core10: no data sections), as `Collection::load` builds it.
fn map_attr(m: &oxbpf::obj::MapSpec, btf: &BtfFd) -> Res<MapCreate> {
    use oxbpf::obj::{MapKind, MapType};
    if matches!(m.kind, MapKind::Data(_)) {
        return Err(format!("map {:?}: data sections are not replayed", m.name).into());
    }
    let mut a = MapCreate {
        map_type: m.map_type.0,
        key_size: m.key_size,
        value_size: m.value_size,
        max_entries: m.max_entries,
        map_flags: m.flags,
        map_name: bpf::object_name(&m.name),
        map_extra: m.map_extra,
        ..Default::default()
    };
    if m.map_type == MapType::RINGBUF {
        (a.key_size, a.value_size) = (0, 0);
    } else if m.btf_key_type.is_some() || m.btf_value_type.is_some() {
        a.btf_fd = btf.raw() as u32;
        a.btf_key_type_id = m.btf_key_type.unwrap_or(0);
        a.btf_value_type_id = m.btf_value_type.unwrap_or(0);
    }
    Ok(a)
}

/// One phase after the other in this fresh process, each timed alone and printed to
/// stderr: parsing the object; the BTF feature probes; the memcg-accounting probe (which
/// decides whether RLIMIT_MEMLOCK is raised); the vmlinux parse CO-RE uses; the one-pass
/// candidate search for the object's local types; linking and CO-RE relocating every
/// program; then the kernel floor (BTF, maps, programs). Each of the cached steps is what
/// `Collection::load` does on its first call in a process; a whole `Collection::load`
/// after them (with everything cached) is printed last for comparison.
pub fn breakdown(bytes: &[u8]) -> Res<()> {
    let mut rows: Vec<(&str, Duration)> = Vec::new();
    let t = Instant::now();
    let spec = ObjectSpec::from_bytes(bytes)?;
    rows.push(("ObjectSpec::from_bytes", t.elapsed()));
    // The same parse again, code and allocator warm (not in the sum): median of 51.
    let mut again = Vec::with_capacity(51);
    for _ in 0..51 {
        let t = Instant::now();
        std::hint::black_box(ObjectSpec::from_bytes(bytes)?);
        again.push(t.elapsed());
    }
    again.sort();
    let parse_again = again[again.len() / 2];
    let t = Instant::now();
    std::hint::black_box(oxbpf::features::btf_features());
    rows.push(("BTF feature probes (cached per process)", t.elapsed()));
    let t = Instant::now();
    let _ = oxbpf::features::capability_supported(oxbpf::features::Capability::MemcgAccounting);
    rows.push(("memcg accounting probe (memlock)", t.elapsed()));
    let opts = LoadOptions::default();
    let t = Instant::now();
    let main = oxbpf::kernel_btf::target(&opts)?;
    rows.push(("vmlinux parse + offset table", t.elapsed()));
    let t = Instant::now();
    let queries = oxbpf::reloc::core_relo::CandidateQueries::of_object(&spec);
    let found = queries.run(main);
    rows.push(("CO-RE candidates, one pass", t.elapsed()));
    let targets = Targets::new("vmlinux", main).with_main_candidates(found);
    let t = Instant::now();
    let linker = Linker::new(&spec);
    let mut linked = (0..spec.programs.len())
        .map(|i| linker.link(i))
        .collect::<Result<Vec<_>, _>>()?;
    rows.push(("link all programs", t.elapsed()));
    let t = Instant::now();
    let mut relos = 0;
    for l in &mut linked {
        relos += apply_core(&spec, l, &targets)?.len();
    }
    rows.push(("CO-RE relocate all programs", t.elapsed()));
    let floor = Floor::replay(&spec)?;
    rows.push(("kernel: BPF_BTF_LOAD", floor.btf_load));
    rows.push(("kernel: BPF_MAP_CREATE (all)", floor.map_create));
    rows.push(("kernel: BPF_PROG_LOAD (all)", floor.prog_load));
    let sum: Duration = rows.iter().map(|r| r.1).sum();
    eprintln!(
        "core_object_load phases ({} programs, {} maps, {relos} CO-RE relocations, {} queries):",
        floor.progs,
        floor.maps,
        queries.len()
    );
    for (what, d) in &rows {
        eprintln!("  {:>8.3} ms  {what}", ms(*d));
    }
    eprintln!("  {:>8.3} ms  sum", ms(sum));
    eprintln!("  {:>8.3} ms  of which kernel floor", ms(floor.total()));
    eprintln!(
        "  {:>8.3} ms  ObjectSpec::from_bytes again in this process (median of 51)",
        ms(parse_again)
    );
    // Sequential against the default (jobs 0), interleaved, medians of many rounds.
    let rounds: usize = std::env::var("OXBPF_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(15);
    let mut times: [Vec<Duration>; 2] = [Vec::new(), Vec::new()];
    for _ in 0..rounds {
        for (k, jobs) in [1, 0].into_iter().enumerate() {
            let opts = LoadOptions {
                jobs,
                ..Default::default()
            };
            let t = Instant::now();
            let coll = Collection::load(&spec, &opts)?;
            times[k].push(t.elapsed());
            drop(coll);
        }
    }
    for (k, jobs) in [1, 0].into_iter().enumerate() {
        times[k].sort();
        let med = times[k].get(rounds / 2).copied().unwrap_or_default();
        eprintln!(
            "  {:>8.3} ms  Collection::load again in this process (probes, vmlinux cached), jobs {jobs}, median of {rounds}",
            ms(med)
        );
    }
    Ok(())
}

//! oxbpf-bench: oxbpf's side of the peerbench contract (/work/shared/peerbench/README.md).
//!
//! `oxbpf-bench --list` prints the metrics; `oxbpf-bench METRIC` runs one measurement in
//! this fresh process and prints `metric<TAB>oxbpf<TAB>value<TAB>unit`; an unknown metric
//! exits 2, a failed run exits 1. Each metric times the same work as the peers in
//! `bench-peers` (aya, libbpf-rs, raw floors), through oxbpf's public API.
#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::time::Instant;

use oxbpf::btf::{Kind, Type};
use oxbpf_maps::{HashMap, Map, PerfBuffer, PerfBufferOptions, RingBuf, Wakeup};
use oxbpf_sys::bpf::{self, MapCreate};

mod attach;
mod core;
mod extra;
mod parallel;

type Res<T> = Result<T, Box<dyn std::error::Error>>;

/// The metrics, the shared ones in bench-peers' `--list` order: run.sh runs each side's
/// list in turn, so a metric follows the same kind of run on both sides (a batch lookup
/// right after a 128 MiB perf ring was freed ran ~2x slower than after a hash map test).
const METRICS: &[&str] = &[
    "btf_parse_vmlinux",
    "core_object_load",
    "ringbuf_drain_64",
    "ringbuf_drain_1k",
    "hash_map_update",
    "hash_map_lookup",
    "hash_map_batch_lookup",
    "perf_drain_64",
    "attach_tracepoints_100",
    "btf_iterate_vmlinux",
    "btf_lookup_1k",
    "asm_disasm_1m",
    "asm_assemble_1m",
    "btf_dump_c_vmlinux",
    "collection_load_parallel",
    "collection_load_sequential",
];

const IMPL: &str = "oxbpf";
const N_OPS: u32 = 100_000;
const BPF_MAP_TYPE_HASH: u32 = 1;

fn out(metric: &str, value: f64, unit: &str) {
    println!("{metric}\t{IMPL}\t{value:.3}\t{unit}");
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("--list") => {
            // A closed pipe (`--list | head`) ends the listing, not in a panic.
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            for m in METRICS {
                if writeln!(out, "{m}\t{IMPL}").is_err() {
                    break;
                }
            }
        }
        Some(m) if METRICS.contains(&m) => {
            if let Err(e) = run(m) {
                eprintln!("{m}: {e}");
                std::process::exit(1);
            }
        }
        Some(m) => {
            eprintln!("unknown metric {m:?}; --list prints the supported ones");
            std::process::exit(2);
        }
        None => {
            eprintln!("usage: oxbpf-bench --list | METRIC");
            std::process::exit(2);
        }
    }
}

/// One metric. Each metric function is `#[inline(never)]`: inlined into this dispatch they
/// share one inlining budget, and whether the harness's own code (a std HashMap insert)
/// is inlined then changes with unrelated code elsewhere.
fn run(metric: &str) -> Res<()> {
    match metric {
        "btf_parse_vmlinux" => btf_parse(),
        "btf_iterate_vmlinux" => btf_iterate(),
        "btf_lookup_1k" => btf_lookup_1k(),
        "hash_map_update" => hash_ops(metric, true),
        "hash_map_lookup" => hash_ops(metric, false),
        "ringbuf_drain_64" => ringbuf_drain(metric, 64),
        "ringbuf_drain_1k" => ringbuf_drain(metric, 1024),
        "perf_drain_64" => perf_drain(),
        "hash_map_batch_lookup" => hash_batch(),
        "asm_disasm_1m" => extra::asm_disasm_1m(),
        "asm_assemble_1m" => extra::asm_assemble_1m(),
        "btf_dump_c_vmlinux" => extra::btf_dump_c_vmlinux(),
        "attach_tracepoints_100" => attach::attach_tracepoints_100(),
        "core_object_load" => core::core_object_load(),
        "collection_load_parallel" | "collection_load_sequential" => parallel::run(metric),
        other => Err(format!("unknown metric {other:?}").into()),
    }
}

/// VmRSS of this process in MiB (bench-peers `rss_mib`).
fn rss_mib() -> f64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// Open + parse /sys/kernel/btf/vmlinux through `kernel_btf::vmlinux` (mmap'd once) and look
/// up struct task_struct by name; VmRSS growth across it (bench-peers `btf_parse`).
#[inline(never)]
fn btf_parse() -> Res<()> {
    let before = rss_mib();
    let t = Instant::now();
    let btf = oxbpf::kernel_btf::vmlinux()?;
    let found = btf.find_by_name("task_struct", Kind::Struct)?;
    let ms = t.elapsed().as_secs_f64() * 1e3;
    let grew = rss_mib() - before;
    if found.is_none() {
        return Err("task_struct not found".into());
    }
    out("btf_parse_vmlinux", ms, "ms");
    out("btf_parse_vmlinux_rss", grew, "MiB");
    Ok(())
}

/// After parsing (untimed): decode every type and every member / param / enum value /
/// datasec entry once, touching each name.
#[inline(never)]
fn btf_iterate() -> Res<()> {
    let btf = oxbpf::kernel_btf::vmlinux()?;
    let t = Instant::now();
    let mut sum = 0usize;
    for ty in btf.types() {
        let (_, ty) = ty?;
        sum += ty.name().len();
        match ty {
            Type::Struct(c) | Type::Union(c) => {
                for m in c.members() {
                    sum += m?.name.len();
                }
            }
            Type::Enum(e) | Type::Enum64(e) => {
                for v in e.values() {
                    sum += v?.0.len();
                }
            }
            Type::FuncProto(p) => {
                for p in p.params() {
                    sum += p?.0.len();
                }
            }
            Type::Datasec(d) => {
                for v in d.vars() {
                    sum += v?.size as usize;
                }
            }
            _ => {}
        }
    }
    let ms = t.elapsed().as_secs_f64() * 1e3;
    std::hint::black_box(sum);
    out("btf_iterate_vmlinux", ms, "ms");
    Ok(())
}

/// After parsing (untimed): 1000 `find_by_name` lookups of distinct struct names; the
/// first few scan, then the lazy name index is built (its build is inside the timing).
#[inline(never)]
fn btf_lookup_1k() -> Res<()> {
    let btf = oxbpf::kernel_btf::vmlinux()?;
    let mut seen = std::collections::HashSet::new();
    let mut names = Vec::with_capacity(1000);
    for ty in btf.types() {
        if let (_, Type::Struct(c)) = ty?
            && !c.name.is_empty()
            && seen.insert(c.name)
        {
            names.push(c.name);
            if names.len() == 1000 {
                break;
            }
        }
    }
    // Spread over the whole id range rather than the first structs only.
    names.reverse();
    let t = Instant::now();
    let mut found = 0;
    for n in &names {
        found += usize::from(btf.find_by_name(n, Kind::Struct)?.is_some());
    }
    let us = t.elapsed().as_secs_f64() * 1e6 / names.len() as f64;
    if found != names.len() {
        return Err(format!("found {found} of {} structs", names.len()).into());
    }
    out("btf_lookup_1k", us, "us/lookup");
    Ok(())
}

/// 100k single-element updates or lookups on a u32 → u64 BPF_MAP_TYPE_HASH through the
/// typed `HashMap` (bench-peers `hash_ops`).
#[inline(never)]
fn hash_ops(metric: &str, update: bool) -> Res<()> {
    let mut attr = MapCreate::new(BPF_MAP_TYPE_HASH, 4, 8, N_OPS);
    attr.map_name = bpf::object_name("pb_hash");
    let map = Map::from_fd("pb_hash", bpf::map_create(&attr)?)?;
    let h: HashMap<'_, u32, u64> = HashMap::new(&map)?;
    if !update {
        for k in 0..N_OPS {
            h.insert(&k, &u64::from(k), 0)?;
        }
    }
    let mut found = 0u32;
    let t = Instant::now();
    for k in 0..N_OPS {
        if update {
            h.insert(&k, &u64::from(k), 0)?;
        } else if h.get(&k)?.is_some() {
            found += 1;
        }
    }
    let ns = t.elapsed().as_secs_f64() * 1e9 / f64::from(N_OPS);
    if !update && found != N_OPS {
        return Err(format!("lookup found {found}/{N_OPS}").into());
    }
    out(metric, ns, "ns/op");
    Ok(())
}

/// The fill object: `$PEERBENCH_BPF/fill.bpf.o` if set, else the project's fixture
/// `fixtures/ringfill.bpf.o` (same map `rb`, same program `fill`, same arguments).
fn fill_object() -> PathBuf {
    if let Some(dir) = std::env::var_os("PEERBENCH_BPF") {
        let p = PathBuf::from(dir).join("fill.bpf.o");
        if p.exists() {
            return p;
        }
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/ringfill.bpf.o")
}

/// bpf_loop's iteration limit (`BPF_MAX_LOOPS`).
const MAX_LOOPS: u32 = (1 << 23) - 1;

/// Loads the fill object through the facade and runs `fill` (count = the loop limit,
/// i.e. until full). Returns the collection, which owns the map `rb`.
fn fill_with_facade(size: u32) -> Res<oxbpf::Collection> {
    let spec = oxbpf::ObjectSpec::from_file(fill_object())?;
    let coll = oxbpf::Collection::load(&spec, &oxbpf::LoadOptions::default())?;
    coll.map("rb").ok_or("map rb missing")?;
    let prog = coll.program("fill").ok_or("program fill missing")?;
    let mut ctx = [MAX_LOOPS.to_ne_bytes(), size.to_ne_bytes()].concat();
    let ret = prog.test_run(&mut ctx)?;
    if std::env::var_os("PB_DEBUG").is_some() {
        eprintln!("fill retval {ret}");
    }
    Ok(coll)
}

/// Fills the 64 MiB ring with `size`-byte records (untimed), then times draining it with
/// `RingBuf::consume`, reading each record's first byte (bench-peers `ringbuf_drain`; the
/// reader's construction and teardown are inside the timed part there too).
#[inline(never)]
fn ringbuf_drain(metric: &str, size: u32) -> Res<()> {
    let coll = fill_with_facade(size)?;
    let map: &Map = coll.map("rb").ok_or("map rb missing")?;
    let expect = (64u64 << 20) / ((u64::from(size) + 8 + 7) & !7);

    let t = Instant::now();
    let mut rb = RingBuf::new(map)?;
    let setup = t.elapsed();
    let mut sum = 0u64;
    let count = rb.consume(|d| sum += u64::from(d[0]))? as u64;
    // The peers drop their readers (munmap) inside the timed part: so do we.
    drop(rb);
    let secs = t.elapsed().as_secs_f64();
    if std::env::var_os("PB_DEBUG").is_some() {
        eprintln!("{metric}: reader setup (mmaps, epoll) {setup:?}, total {secs:.4} s");
    }
    std::hint::black_box(sum);
    if count + 2 < expect {
        return Err(format!("drained {count} records, expected about {expect}").into());
    }
    out(metric, count as f64 / secs / 1e6, "Mrec/s");
    Ok(())
}

/// 100k u32 → u64 elements (inserted untimed), then all of them read back with
/// `BPF_MAP_LOOKUP_BATCH`, 4096 per call, into a std `HashMap` (bench-peers `hash_batch`).
/// `_ok` is 1 only if every element came back with its value.
#[inline(never)]
fn hash_batch() -> Res<()> {
    let mut attr = MapCreate::new(BPF_MAP_TYPE_HASH, 4, 8, N_OPS);
    attr.map_name = bpf::object_name("pb_hash");
    let map = Map::from_fd("pb_hash", bpf::map_create(&attr)?)?;
    let h: HashMap<'_, u32, u64> = HashMap::new(&map)?;
    for k in 0..N_OPS {
        h.insert(&k, &u64::from(k), 0)?;
    }
    let t = Instant::now();
    let mut got: std::collections::HashMap<u32, u64> =
        std::collections::HashMap::with_capacity(N_OPS as usize);
    collect_batches(&map, &mut got)?;
    let ns = t.elapsed().as_secs_f64() * 1e9 / f64::from(N_OPS);
    let ok = got.len() == N_OPS as usize && got.iter().all(|(k, v)| u64::from(*k) == *v);
    out(
        "hash_map_batch_lookup_ok",
        if ok { 1.0 } else { 0.0 },
        "bool",
    );
    out("hash_map_batch_lookup_returned", got.len() as f64, "elems");
    if ok {
        out("hash_map_batch_lookup", ns, "ns/elem");
    }
    Ok(())
}

/// Every entry of `map` into `got`, 4096 per `BPF_MAP_LOOKUP_BATCH`: the timed loop, in a
/// function of its own as bench-peers' `raw_batch` is (inside a larger one, the std
/// HashMap insert's hashing was compiled out of line: ~25 ns/elem of harness).
#[inline(never)]
fn collect_batches(map: &Map, got: &mut std::collections::HashMap<u32, u64>) -> Res<()> {
    let mut batches = map.batches(4096);
    while let Some(e) = batches.next_typed::<u32, u64>() {
        let (k, v) = e?;
        got.insert(k, v);
    }
    Ok(())
}

/// Data pages of the perf ring: 64 MiB (bench-peers `PERF_PAGES`).
const PERF_PAGES: usize = 16384;

/// The perf object: `$PEERBENCH_BPF/perf.bpf.o` (map `pb`, raw_tp `perf_fill`, 4096
/// samples of 64 B per run, zero context) if present, else the project's
/// `fixtures/perfout.bpf.o` (map `events`, raw_tp `emit` with count 2048, size 64).
fn perf_object() -> (PathBuf, &'static str, &'static str, u64, Vec<u8>) {
    if let Some(dir) = std::env::var_os("PEERBENCH_BPF") {
        let p = PathBuf::from(dir).join("perf.bpf.o");
        if p.exists() {
            return (p, "pb", "perf_fill", 4096, vec![0u8; 32]);
        }
    }
    let ctx = [2048u64, 64, 0]
        .iter()
        .flat_map(|v| v.to_ne_bytes())
        .collect();
    (
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/perfout.bpf.o"),
        "events",
        "emit",
        2048,
        ctx,
    )
}

/// Pinned to CPU 0: the raw_tp program, run with BPF_PROG_TEST_RUN on CPU 0, fills CPU
/// 0's 64 MiB perf ring with 64-byte samples (untimed, staying below full); then the
/// time to consume them all with `PerfBuffer::consume`, reading each sample's first byte
/// (bench-peers `perf_drain`: the reader is built before the fill there too).
#[inline(never)]
fn perf_drain() -> Res<()> {
    oxbpf_sys::sched::pin_to_cpu(0)?;
    let (path, map_name, prog_name, per_run, mut ctx) = perf_object();
    let spec = oxbpf::ObjectSpec::from_file(&path)?;
    let coll = oxbpf::Collection::load(&spec, &oxbpf::LoadOptions::default())?;
    let map = coll.map(map_name).ok_or("perf map missing")?;
    let prog = coll.program(prog_name).ok_or("perf program missing")?;
    let opts = PerfBufferOptions {
        pages_per_cpu: PERF_PAGES,
        wakeup: Wakeup::Events(1),
    };
    let mut pb = PerfBuffer::new(map, opts)?;
    // 80 bytes per sample; stay below full as bench-peers does.
    let records = (PERF_PAGES as u64 * 4096) / 80 / 4096 * 4096 - 2 * 4096;
    let runs = records / per_run;
    for _ in 0..runs {
        let r = bpf::prog_test_run_on_cpu(prog.fd().as_fd(), &mut ctx, Some(0))?;
        if r.retval != 0 {
            break;
        }
    }
    let expect = runs * per_run;
    let t = Instant::now();
    let mut sum = 0u64;
    let count = pb.consume(|_, d| sum += u64::from(d[0]))? as u64;
    let secs = t.elapsed().as_secs_f64();
    std::hint::black_box(sum);
    let lost = pb.stats().lost;
    if count + lost < expect {
        return Err(format!("drained {count} (+{lost} lost), expected {expect}").into());
    }
    out("perf_drain_64", count as f64 / secs / 1e6, "Mrec/s");
    out("perf_drain_64_lost", lost as f64, "records");
    Ok(())
}

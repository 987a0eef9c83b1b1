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
use oxbpf_maps::{HashMap, Map, RingBuf};
use oxbpf_sys::bpf::{self, MapCreate};

type Res<T> = Result<T, Box<dyn std::error::Error>>;

const METRICS: &[&str] = &[
    "btf_parse_vmlinux",
    "btf_iterate_vmlinux",
    "btf_lookup_1k",
    "hash_map_update",
    "hash_map_lookup",
    "ringbuf_drain_64",
    "ringbuf_drain_1k",
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
            for m in METRICS {
                println!("{m}\t{IMPL}");
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

fn run(metric: &str) -> Res<()> {
    match metric {
        "btf_parse_vmlinux" => btf_parse(),
        "btf_iterate_vmlinux" => btf_iterate(),
        "btf_lookup_1k" => btf_lookup_1k(),
        "hash_map_update" => hash_ops(metric, true),
        "hash_map_lookup" => hash_ops(metric, false),
        "ringbuf_drain_64" => ringbuf_drain(metric, 64),
        "ringbuf_drain_1k" => ringbuf_drain(metric, 1024),
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
/// reader's construction is inside the timed part there too).
fn ringbuf_drain(metric: &str, size: u32) -> Res<()> {
    let coll = fill_with_facade(size)?;
    let map: &Map = coll.map("rb").ok_or("map rb missing")?;
    let expect = (64u64 << 20) / ((u64::from(size) + 8 + 7) & !7);

    let t = Instant::now();
    let mut rb = RingBuf::new(map)?;
    let mut sum = 0u64;
    let count = rb.consume(|d| sum += u64::from(d[0]))? as u64;
    let secs = t.elapsed().as_secs_f64();
    std::hint::black_box(sum);
    if count + 2 < expect {
        return Err(format!("drained {count} records, expected about {expect}").into());
    }
    out(metric, count as f64 / secs / 1e6, "Mrec/s");
    Ok(())
}

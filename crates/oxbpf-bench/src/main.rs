//! oxbpf-bench: oxbpf's side of the peerbench contract (/work/shared/peerbench/README.md).
//!
//! `oxbpf-bench --list` prints the metrics; `oxbpf-bench METRIC` runs one measurement in
//! this fresh process and prints `metric<TAB>oxbpf<TAB>value<TAB>unit`; an unknown metric
//! exits 2, a failed run exits 1. Each metric times the same work as the peers in
//! `bench-peers` (aya, libbpf-rs, raw floors), through oxbpf's public API.
#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::time::Instant;

use oxbpf_maps::{HashMap, Map, RingBuf};
use oxbpf_sys::bpf::{self, MapCreate};

type Res<T> = Result<T, Box<dyn std::error::Error>>;

const METRICS: &[&str] = &[
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
        "hash_map_update" => hash_ops(metric, true),
        "hash_map_lookup" => hash_ops(metric, false),
        "ringbuf_drain_64" => ringbuf_drain(metric, 64),
        "ringbuf_drain_1k" => ringbuf_drain(metric, 1024),
        other => Err(format!("unknown metric {other:?}").into()),
    }
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
    if std::env::var_os("OXBPF_BENCH_BUILTIN_FILL").is_some() {
        return Err("OXBPF_BENCH_BUILTIN_FILL is set".into());
    }
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
///
/// The ring is filled by the fill object loaded through the facade; if the facade cannot
/// load or run it, by [`fill::fill_builtin`], which leaves the same records in an
/// identical ring (the fill is not timed). `OXBPF_BENCH_BUILTIN_FILL=1` forces the latter.
fn ringbuf_drain(metric: &str, size: u32) -> Res<()> {
    let coll;
    let own;
    let map: &Map = match fill_with_facade(size) {
        Ok(c) => {
            coll = c;
            coll.map("rb").ok_or("map rb missing")?
        }
        Err(e) => {
            eprintln!(
                "{metric}: filling through the facade failed ({e}); using the built-in fill program"
            );
            own = fill::fill_builtin(size)?;
            &own
        }
    };
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

/// A hand-assembled stand-in for the fill object, writing records the same way: an XDP
/// program (its test runs accept the attr oxbpf-sys sends; a bpf_loop callback would need
/// BTF func_info) that copies `size` bytes from a 1 KiB array-map value (the object's
/// `.bss` payload) with bpf_ringbuf_output and BPF_RB_NO_WAKEUP, the first 8 bytes a
/// sequence number, up to [`fill::PER_RUN`] records per run (unrolled: no loop to
/// verify); it is run until the ring is full.
mod fill {
    use oxbpf_asm::{CLASS_ALU64, CLASS_JMP, Insn, SRC_K, SRC_X, insns_to_bytes};
    use oxbpf_maps::Map;
    use oxbpf_sys::bpf::{self, MapCreate, ProgLoad};

    use super::Res;

    const BPF_MAP_TYPE_ARRAY: u32 = 2;
    const BPF_MAP_TYPE_RINGBUF: u32 = 27;
    const BPF_PROG_TYPE_XDP: u32 = 6;
    const BPF_PSEUDO_MAP_FD: u8 = 1;
    const BPF_PSEUDO_MAP_VALUE: u8 = 2;
    const BPF_RB_NO_WAKEUP: i32 = 1;
    const OUTPUT: i32 = 130;
    /// Records written per test run.
    pub const PER_RUN: usize = 64;
    const SLOTS_PER_RECORD: usize = 9;

    fn mov_reg(dst: u8, src: u8) -> Insn {
        Insn::new(CLASS_ALU64 | 0xb0 | SRC_X, dst, src, 0, 0)
    }

    fn program(rb: &Map, payload: &Map, size: u32) -> Vec<Insn> {
        // r6 = &payload[0]; r7 = records written
        let mut p = Insn::ld_imm64(
            6,
            BPF_PSEUDO_MAP_VALUE,
            payload.map_fd().raw() as u32 as u64,
        )
        .to_vec();
        p.push(Insn::mov64_imm(7, 0));
        let end = p.len() + SLOTS_PER_RECORD * PER_RUN;
        for _ in 0..PER_RUN {
            p.push(Insn::new(0x7b, 6, 7, 0, 0)); // *(u64 *)(r6 + 0) = r7
            p.extend(Insn::ld_imm64(
                1,
                BPF_PSEUDO_MAP_FD,
                rb.map_fd().raw() as u64,
            ));
            p.extend([
                mov_reg(2, 6),
                Insn::mov64_imm(3, size as i32),
                Insn::mov64_imm(4, BPF_RB_NO_WAKEUP),
                Insn::call_helper(OUTPUT),
            ]);
            // if r0 != 0 goto end (the ring is full)
            let off = (end - p.len() - 1) as i16;
            p.push(Insn::new(CLASS_JMP | 0x50 | SRC_K, 0, 0, off, 0));
            p.push(Insn::new(CLASS_ALU64 | SRC_K, 7, 0, 0, 1)); // r7 += 1
        }
        debug_assert_eq!(p.len(), end);
        p.push(mov_reg(0, 7));
        p.push(Insn::exit());
        p
    }

    /// Creates a 64 MiB ring `rb` and fills it with `size`-byte records.
    pub fn fill_builtin(size: u32) -> Res<Map> {
        let mut attr = MapCreate::new(BPF_MAP_TYPE_RINGBUF, 0, 0, 64 << 20);
        attr.map_name = bpf::object_name("rb");
        let rb = Map::from_fd("rb", bpf::map_create(&attr)?)?;
        let mut attr = MapCreate::new(BPF_MAP_TYPE_ARRAY, 4, 1024, 1);
        attr.map_name = bpf::object_name("payload");
        let payload = Map::from_fd("payload", bpf::map_create(&attr)?)?;
        let insns = insns_to_bytes(&program(&rb, &payload, size));
        let mut log = vec![0u8; 1 << 20];
        let out = bpf::prog_load(
            &ProgLoad {
                prog_type: BPF_PROG_TYPE_XDP,
                insns: &insns,
                license: "GPL",
                name: "fill",
                ..Default::default()
            },
            1,
            &mut log,
        );
        let prog = out
            .result
            .map_err(|e| format!("{e}\n{}", String::from_utf8_lossy(&log[..out.log_len])))?;
        let mut total = 0u64;
        loop {
            let r = bpf::prog_test_run(prog.as_fd(), &mut [], &[0u8; 64])?;
            total += u64::from(r.retval);
            if r.retval as usize != PER_RUN {
                break;
            }
        }
        if std::env::var_os("PB_DEBUG").is_some() {
            eprintln!("built-in fill wrote {total} records");
        }
        Ok(rb)
    }
}

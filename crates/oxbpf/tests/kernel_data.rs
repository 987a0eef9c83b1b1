//! The data path against the kernel: perf buffers (perfout.bpf.o), batch operations,
//! mmap'd global data (globals.bpf.o) and pinning by name (pinned.bpf.o).

mod common;

use std::time::Duration;

use oxbpf::maps::{PerfBuffer, PerfBufferOptions, Wakeup};
use oxbpf::sys::bpf;

/// BPF_F_TEST_RUN_ON_CPU for raw_tp programs arrived in 5.10.
fn have_perfout() -> bool {
    if !common::have_bpf() || !common::have_prog_type(oxbpf::obj::ProgramType::RAW_TRACEPOINT) {
        return false;
    }
    if common::kernel_release() < (5, 10) {
        eprintln!("skipping: BPF_F_TEST_RUN_ON_CPU for raw_tp needs 5.10");
        return false;
    }
    true
}

/// Runs `emit` on `cpu`: `count` samples of `size` bytes numbered from `first`; returns
/// how many the kernel refused.
fn emit(coll: &oxbpf::Collection, cpu: u32, count: u64, size: u64, first: u64) -> u32 {
    let prog = coll.program("emit").unwrap();
    let mut ctx: Vec<u8> = [count, size, first]
        .iter()
        .flat_map(|v| v.to_ne_bytes())
        .collect();
    bpf::prog_test_run_on_cpu(prog.fd().as_fd(), &mut ctx, Some(cpu))
        .unwrap()
        .retval
}

fn seq_of(d: &[u8]) -> u64 {
    u64::from_ne_bytes(d[..8].try_into().unwrap())
}

fn cpu_of(d: &[u8]) -> u32 {
    u32::from_ne_bytes(d[8..12].try_into().unwrap())
}

/// The raw size the kernel gives a `size`-byte output: u32 size + data padded to 8.
fn raw_len(size: usize) -> usize {
    (size + 4).div_ceil(8) * 8 - 4
}

#[test]
fn perf_samples_arrive_in_order_per_cpu_with_their_contents() {
    if !have_perfout() {
        return;
    }
    let coll = common::load("perfout.bpf.o");
    let map = coll.map("events").unwrap();
    let mut pb = PerfBuffer::new(map, PerfBufferOptions::default()).unwrap();
    let cpus: Vec<u32> = pb.cpus().take(2).collect();
    assert!(!cpus.is_empty());
    for &cpu in &cpus {
        assert_eq!(emit(&coll, cpu, 100, 40, u64::from(cpu) * 1000), 0);
    }
    let mut seen: std::collections::HashMap<u32, Vec<u64>> = Default::default();
    let n = pb
        .consume(|cpu, d| {
            assert_eq!(d.len(), raw_len(40));
            assert_eq!(cpu_of(d), cpu, "sample from ring of cpu {cpu}");
            assert_eq!(u32::from_ne_bytes(d[12..16].try_into().unwrap()), 40);
            assert_eq!(d[16], (seq_of(d) & 0xff) as u8);
            seen.entry(cpu).or_default().push(seq_of(d));
        })
        .unwrap();
    assert_eq!(n, 100 * cpus.len());
    for &cpu in &cpus {
        let want: Vec<u64> = (0..100).map(|i| u64::from(cpu) * 1000 + i).collect();
        assert_eq!(seen[&cpu], want, "cpu {cpu}");
        let s = pb.cpu_stats(cpu).unwrap();
        assert_eq!((s.records, s.lost), (100, 0));
    }
    assert_eq!(pb.pending_bytes(), 0);
    // poll: a sample wakes the reader (wakeup_events = 1).
    assert_eq!(emit(&coll, cpus[0], 1, 16, 7), 0);
    let mut got = Vec::new();
    let n = pb
        .poll(Some(Duration::from_secs(5)), |_, d| got.push(seq_of(d)))
        .unwrap();
    assert_eq!((n, got), (1, vec![7]));
    // Dropping the reader removes its events from the map.
    drop(pb);
    let mut v = [0u8; 4];
    assert!(!bpf::map_lookup_elem(map.fd(), &cpus[0].to_ne_bytes(), &mut v, 0).unwrap_or(false));
}

#[test]
fn overrun_perf_ring_counts_every_lost_sample() {
    if !have_perfout() {
        return;
    }
    let coll = common::load("perfout.bpf.o");
    let opts = PerfBufferOptions {
        pages_per_cpu: 1,
        wakeup: Wakeup::Bytes(2048),
    };
    let mut pb = PerfBuffer::new(coll.map("events").unwrap(), opts).unwrap();
    let cpu = pb.cpus().next().unwrap();
    let produced = 2048u64;
    let refused = emit(&coll, cpu, produced, 64, 0);
    assert!(
        refused > 0,
        "a 1-page ring cannot hold 2048 samples of 64 bytes"
    );
    let mut delivered = Vec::new();
    pb.consume(|_, d| delivered.push(seq_of(d))).unwrap();
    // The kernel writes PERF_RECORD_LOST before the next sample that fits: one more.
    assert_eq!(emit(&coll, cpu, 1, 64, produced), 0);
    pb.consume(|_, d| delivered.push(seq_of(d))).unwrap();
    let s = pb.cpu_stats(cpu).unwrap();
    assert_eq!(
        s.lost,
        u64::from(refused),
        "lost records match refused outputs"
    );
    assert_eq!(s.records + s.lost, produced + 1);
    assert_eq!(s.records, delivered.len() as u64);
    assert!(delivered.windows(2).all(|w| w[0] < w[1]), "in order");
    assert_eq!(delivered.last(), Some(&produced));
    assert_eq!(pb.stats().lost, s.lost);
}

#[test]
fn perf_samples_that_wrap_the_ring_end_arrive_whole() {
    if !have_perfout() {
        return;
    }
    let coll = common::load("perfout.bpf.o");
    let opts = PerfBufferOptions {
        pages_per_cpu: 1,
        wakeup: Wakeup::Events(1),
    };
    let mut pb = PerfBuffer::new(coll.map("events").unwrap(), opts).unwrap();
    let cpu = pb.cpus().next().unwrap();
    let mut next = 0u64;
    for round in 0..8 {
        // 216-byte records do not divide the 4096-byte ring: some straddle its end.
        assert_eq!(emit(&coll, cpu, 15, 200, next), 0, "round {round}");
        let n = pb
            .consume(|_, d| {
                assert_eq!(d.len(), raw_len(200));
                assert_eq!(seq_of(d), next);
                assert_eq!(d[16], (next & 0xff) as u8);
                assert_eq!(u32::from_ne_bytes(d[12..16].try_into().unwrap()), 200);
                next += 1;
            })
            .unwrap();
        assert_eq!(n, 15);
    }
    let s = pb.stats();
    assert_eq!((s.records, s.lost), (120, 0));
    assert!(
        s.wrapped > 0,
        "some of 120 samples of 216 bytes wrapped: {s:?}"
    );
}

#[test]
fn perf_buffer_refuses_other_map_types_and_bad_page_counts() {
    if !have_perfout() {
        return;
    }
    let coll = common::load("perfout.bpf.o");
    let e = PerfBuffer::new(coll.map(".bss").unwrap(), PerfBufferOptions::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("perf_event_array"), "{e}");
    let opts = PerfBufferOptions {
        pages_per_cpu: 3,
        wakeup: Wakeup::Events(1),
    };
    let e = PerfBuffer::new(coll.map("events").unwrap(), opts)
        .unwrap_err()
        .to_string();
    assert!(e.contains("power of two"), "{e}");
}

// ---- global data as mmap'd views (globals.bpf.o) ----

#[test]
fn global_data_is_read_and_steered_through_the_mapping() {
    if !common::have_bpf()
        || !common::have(oxbpf::features::Capability::BpfLoop)
        || !common::have(oxbpf::features::Capability::MmapableArray)
    {
        return;
    }
    let mut spec = oxbpf::ObjectSpec::from_file(common::fixture("globals.bpf.o")).unwrap();
    spec.set_global("target_tgid", &std::process::id().to_ne_bytes())
        .unwrap();
    spec.set_global("step", &3u64.to_ne_bytes()).unwrap();
    let coll = oxbpf::Collection::load(&spec, &oxbpf::LoadOptions::default()).unwrap();
    let bss = coll.global_data(".bss").unwrap();
    let data = coll.global_data(".data").unwrap();
    let rodata = coll.global_data(".rodata").unwrap();
    assert_eq!(bss.get::<u64>("bss_hits").unwrap(), 0);
    assert_eq!(data.get::<u64>("data_counter").unwrap(), 100);
    let _links = coll.attach_all().unwrap();
    for _ in 0..4 {
        std::hint::black_box(std::process::id());
    }
    // Written by the program, seen through the mapping (no lookup syscall).
    assert_eq!(bss.get::<u64>("bss_hits").unwrap(), 12);
    assert_eq!(bss.get::<u64>("bss_last_sum").unwrap(), 6);
    assert_eq!(data.get::<u64>("data_counter").unwrap(), 112);
    // Set from user space, used by the program at its next run.
    data.set("data_counter", &5u64).unwrap();
    bss.set("bss_hits", &1000u64).unwrap();
    std::hint::black_box(std::process::id());
    assert_eq!(data.get::<u64>("data_counter").unwrap(), 8);
    assert_eq!(bss.get::<u64>("bss_hits").unwrap(), 1003);
    let custom = coll.global_data(".data.custom").unwrap();
    assert_eq!(custom.get::<u32>("custom_counter").unwrap(), 7 + 5);
    // The kernel's copy agrees with the mapping.
    let v = coll
        .map(".data")
        .unwrap()
        .lookup(&0u32.to_ne_bytes())
        .unwrap()
        .unwrap();
    assert_eq!(u64::from_ne_bytes(v[..8].try_into().unwrap()), 8);

    // .rodata: readable, frozen.
    assert!(!rodata.is_writable());
    assert_eq!(rodata.get::<u64>("step").unwrap(), 3);
    let e = rodata.set("step", &1u64).unwrap_err().to_string();
    assert!(e.contains("read-only") && e.contains("step"), "{e}");
    // Sizes are those of the variables; unknown names are named.
    let e = bss.get::<u32>("bss_hits").unwrap_err().to_string();
    assert!(
        e.contains("\"bss_hits\" is 8 bytes, the type given is 4"),
        "{e}"
    );
    let e = bss.get::<u64>("nope").unwrap_err().to_string();
    assert!(e.contains("no variable \"nope\""), "{e}");
    let e = coll.global_data(".nodata").unwrap_err().to_string();
    assert!(e.contains(".nodata"), "{e}");
}

// ---- pinning by name (pinned.bpf.o) ----

/// A fresh directory on bpffs for this test's pins, removed with its pins on drop.
struct PinDir(std::path::PathBuf);

impl PinDir {
    fn new(tag: &str) -> Option<PinDir> {
        let root = match oxbpf::sys::fs::bpffs() {
            Ok(r) => r,
            Err(e) => {
                eprintln!("skipping: no bpffs ({e})");
                return None;
            }
        };
        let dir = root.join(format!("oxbpf-test-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir(&dir).unwrap();
        Some(PinDir(dir))
    }
}

impl Drop for PinDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn load_pinned(dir: &PinDir) -> oxbpf::Result<oxbpf::Collection> {
    let spec = oxbpf::ObjectSpec::from_file(common::fixture("pinned.bpf.o")).unwrap();
    let opts = oxbpf::LoadOptions {
        pin_root: Some(dir.0.clone()),
        ..Default::default()
    };
    oxbpf::Collection::load(&spec, &opts)
}

#[test]
fn two_loads_share_a_map_pinned_by_name() {
    if !common::have_bpf() || !common::have_prog_type(oxbpf::obj::ProgramType::SYSCALL) {
        return;
    }
    let Some(dir) = PinDir::new("share") else {
        return;
    };
    let a = load_pinned(&dir).unwrap();
    let path = dir.0.join("shared");
    assert_eq!(a.pin_path("shared"), Some(path.as_path()));
    assert!(path.exists());
    assert_eq!(a.pin_path("local"), None);
    let b = load_pinned(&dir).unwrap();
    let ha = oxbpf::maps::HashMap::<u32, u64>::new(a.map("shared").unwrap()).unwrap();
    let hb = oxbpf::maps::HashMap::<u32, u64>::new(b.map("shared").unwrap()).unwrap();
    ha.insert(&1, &42, 0).unwrap();
    assert_eq!(
        hb.get(&1).unwrap(),
        Some(42),
        "written via one, read via the other"
    );
    // b's program works on the same map: it copies key 1 to key 2.
    assert_eq!(b.program("copy_one").unwrap().test_run(&mut []).unwrap(), 0);
    assert_eq!(ha.get(&2).unwrap(), Some(42));
    // Not pinned maps stay apart.
    let la = a.map("local").unwrap();
    let lb = b.map("local").unwrap();
    la.update(&0u32.to_ne_bytes(), &9u64.to_ne_bytes(), 0)
        .unwrap();
    assert_eq!(
        lb.lookup(&0u32.to_ne_bytes()).unwrap().unwrap(),
        0u64.to_ne_bytes()
    );
    // The pin outlives both collections.
    drop((a, b));
    let m = oxbpf::maps::Map::from_pin(&path).unwrap();
    assert_eq!(
        m.lookup(&1u32.to_ne_bytes()).unwrap().unwrap(),
        42u64.to_ne_bytes()
    );
}

#[test]
fn an_incompatible_pin_is_refused_naming_map_path_and_field() {
    if !common::have_bpf() {
        return;
    }
    let Some(dir) = PinDir::new("incompat") else {
        return;
    };
    let path = dir.0.join("shared");
    // value_size 4 where the object says 8.
    let fd = bpf::map_create(&bpf::MapCreate::new(1, 4, 4, 64)).unwrap();
    bpf::obj_pin(fd.as_fd(), &path).unwrap();
    let e = load_pinned(&dir).unwrap_err().to_string();
    assert!(e.contains("\"shared\""), "{e}");
    assert!(e.contains(&path.display().to_string()), "{e}");
    assert!(e.contains("value_size is 4, the object's is 8"), "{e}");
    // max_entries differs: also refused, by that field.
    std::fs::remove_file(&path).unwrap();
    let fd = bpf::map_create(&bpf::MapCreate::new(1, 4, 8, 65)).unwrap();
    bpf::obj_pin(fd.as_fd(), &path).unwrap();
    let e = load_pinned(&dir).unwrap_err().to_string();
    assert!(e.contains("max_entries is 65, the object's is 64"), "{e}");
}

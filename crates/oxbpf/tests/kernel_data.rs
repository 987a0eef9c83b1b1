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

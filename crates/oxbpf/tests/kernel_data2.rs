//! Kernel tests of the data path that need fixture programs: a ring buffer overrun with
//! every record delivered or counted as dropped by the program (overrun.bpf.o), run-time
//! statistics (counter.bpf.o), tail calls through a prog array and stack ids
//! (maptypes.bpf.o), and the user ring buffer producer drained by a program
//! (userring.bpf.o).

mod common;

use common::{have_bpf, have_map_type, have_prog_type, load};
use oxbpf::maps::RingBuf;
use oxbpf::obj::{MapType, ProgramType};

/// raw_tp programs run with BPF_PROG_TEST_RUN (5.10+): ctx is the __u64 arguments.
fn run_raw_tp(coll: &oxbpf::Collection, prog: &str, args: &[u64]) -> u32 {
    let mut ctx: Vec<u8> = args.iter().flat_map(|a| a.to_ne_bytes()).collect();
    coll.program(prog)
        .unwrap()
        .test_run(&mut ctx)
        .unwrap_or_else(|e| panic!("{prog}: {e}"))
}

fn have_raw_tp_test_run() -> bool {
    if !have_prog_type(ProgramType::RAW_TRACEPOINT) {
        return false;
    }
    if !common::release_at_least("5.10") {
        eprintln!("skipping: BPF_PROG_TEST_RUN of raw_tp programs needs 5.10");
        return false;
    }
    true
}

#[test]
fn ring_overrun_delivers_or_counts_every_record_exactly() {
    if !have_bpf() || !have_map_type(MapType::RINGBUF) || !have_raw_tp_test_run() {
        return;
    }
    let coll = load("overrun.bpf.o");
    let mut ring = RingBuf::new(coll.map("small_rb").unwrap()).unwrap();
    let bss = coll.global_data(".bss").unwrap();
    let mut delivered: Vec<u64> = Vec::new();
    let drain = |ring: &mut RingBuf, delivered: &mut Vec<u64>| {
        ring.consume(|d| {
            assert_eq!(d.len(), 48);
            delivered.push(u64::from_ne_bytes(d[..8].try_into().unwrap()));
        })
        .unwrap()
    };

    // Not draining for a while: three runs of 200 into a 4 KiB ring. Records take 56
    // bytes (8 header + 48), so exactly 73 fit and the other 527 are refused.
    let mut refused = 0u64;
    for _ in 0..3 {
        refused += u64::from(run_raw_tp(&coll, "overrun", &[200]));
    }
    assert_eq!(drain(&mut ring, &mut delivered), 73);
    assert_eq!(refused, 600 - 73);
    assert_eq!(delivered, (0..73).collect::<Vec<_>>());

    // Then a reader that drains between bursts of various sizes.
    for burst in [10u64, 73, 74, 150, 1, 256] {
        refused += u64::from(run_raw_tp(&coll, "overrun", &[burst]));
        drain(&mut ring, &mut delivered);
    }
    // And a last overrun that is only drained at the end.
    refused += u64::from(run_raw_tp(&coll, "overrun", &[256]));
    refused += u64::from(run_raw_tp(&coll, "overrun", &[256]));
    drain(&mut ring, &mut delivered);

    let produced: u64 = bss.get("produced").unwrap();
    let dropped: u64 = bss.get("dropped").unwrap();
    assert_eq!(produced, 600 + 10 + 73 + 74 + 150 + 1 + 256 + 512);
    assert_eq!(
        dropped, refused,
        "the program's counter and its return values agree"
    );
    assert!(dropped > 0);
    assert_eq!(delivered.len() as u64 + dropped, produced);
    assert!(
        delivered.windows(2).all(|w| w[0] < w[1]),
        "records arrive in order, each once"
    );
    let stats = ring.stats();
    assert_eq!(stats.records, delivered.len() as u64);
    assert_eq!(stats.bytes, 48 * delivered.len() as u64);
    assert_eq!(stats.discarded, 0);
}

#[test]
fn run_stats_count_runs_while_stats_are_enabled() {
    if !have_bpf() {
        return;
    }
    let stats = match oxbpf::sys::bpf::enable_stats(oxbpf::sys::bpf::STATS_RUN_TIME) {
        Ok(fd) => fd,
        Err(e) => {
            eprintln!("skipping: BPF_ENABLE_STATS is not available here ({e}; since 5.8)");
            return;
        }
    };
    let coll = load("counter.bpf.o");
    let prog = coll.program("count_getpid").unwrap();
    assert_eq!(prog.run_stats().unwrap(), (0, 0));
    let links = coll.attach_all().unwrap();
    for _ in 0..25 {
        std::hint::black_box(std::process::id());
    }
    let (cnt, ns) = prog.run_stats().unwrap();
    // Other threads of the machine call getpid too: at least our 25.
    assert!(cnt >= 25, "run_cnt {cnt}");
    assert!(ns > 0, "run_time_ns {ns}");
    drop(stats);
    drop(links);
}

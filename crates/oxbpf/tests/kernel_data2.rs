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

/// Tests that drive getpid() of this process (which every such test's programs see).
static GETPID: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[test]
fn run_stats_count_runs_while_stats_are_enabled() {
    if !have_bpf() {
        return;
    }
    let _serial = GETPID.lock().unwrap_or_else(|e| e.into_inner());
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

#[test]
fn prog_array_tail_call_runs_the_target_until_cleared() {
    if !have_bpf() || !have_map_type(MapType::PROG_ARRAY) || !have_raw_tp_test_run() {
        return;
    }
    let coll = load("maptypes.bpf.o");
    let jmp = oxbpf::maps::ProgArray::new(coll.map("jmp").unwrap()).unwrap();
    let bss = coll.global_data(".bss").unwrap();
    let target = coll.program("target").unwrap();

    // Empty slot: bpf_tail_call falls through.
    assert_eq!(run_raw_tp(&coll, "entry", &[]), 1);
    assert_eq!(bss.get::<u64>("target_runs").unwrap(), 0);

    jmp.set(0, target.fd()).unwrap();
    let target_id = oxbpf::sys::bpf::prog_info(target.fd().as_fd()).unwrap().id;
    assert_eq!(jmp.get(0).unwrap(), Some(target_id));
    assert_eq!(jmp.get(1).unwrap(), None);
    assert_eq!(
        run_raw_tp(&coll, "entry", &[]),
        42,
        "the target's return value"
    );
    assert_eq!(run_raw_tp(&coll, "entry", &[]), 42);
    assert_eq!(bss.get::<u64>("target_runs").unwrap(), 2);

    assert!(jmp.clear(0).unwrap());
    assert!(!jmp.clear(0).unwrap());
    assert_eq!(run_raw_tp(&coll, "entry", &[]), 1);
    assert_eq!(bss.get::<u64>("target_runs").unwrap(), 2);
    let e = jmp.set(4, target.fd()).unwrap_err().to_string();
    assert!(e.contains(r#"map "jmp": index 4 is out of bounds"#), "{e}");
}

#[test]
fn stack_trace_map_returns_the_kernel_frames_of_a_stack_id() {
    if !have_bpf() || !have_map_type(MapType::STACK_TRACE) || !have_raw_tp_test_run() {
        return;
    }
    let coll = load("maptypes.bpf.o");
    let stacks = oxbpf::maps::StackTraceMap::new(coll.map("stacks").unwrap()).unwrap();
    assert_eq!(stacks.max_depth(), 127);
    // last_stackid starts at -1: it lives in .data.
    let bss = coll.global_data(".data").unwrap();
    assert_eq!(bss.get::<i64>("last_stackid").unwrap(), -1);
    run_raw_tp(&coll, "stack", &[]);
    let id = bss.get::<i64>("last_stackid").unwrap();
    assert!(id >= 0, "bpf_get_stackid failed: {id}");
    let id = id as u32;
    let frames = stacks.frames(id).unwrap().expect("stored stack");
    assert!(!frames.is_empty());
    assert!(frames.len() <= 127);
    assert!(
        frames.iter().all(|&ip| ip >= 0xffff_8000_0000_0000),
        "kernel addresses: {frames:x?}"
    );
    // The same call path gives the same id.
    run_raw_tp(&coll, "stack", &[]);
    assert_eq!(bss.get::<i64>("last_stackid").unwrap(), i64::from(id));
    let ids: Vec<u32> = stacks.ids().map(|i| i.unwrap()).collect();
    assert!(ids.contains(&id), "{ids:?}");
    assert!(stacks.remove(id).unwrap());
    assert_eq!(stacks.frames(id).unwrap(), None);
}

fn have_user_ringbuf() -> bool {
    have_map_type(MapType::USER_RINGBUF) && have_prog_type(ProgramType::SYSCALL)
}

fn sample(
    ring: &mut oxbpf::maps::UserRingBuf,
    seq: u32,
    len: usize,
    tag: u64,
) -> oxbpf::maps::Sample<'_> {
    let mut s = ring.reserve(len).unwrap().expect("room in the ring");
    let mut b = vec![0u8; len];
    b[..4].copy_from_slice(&seq.to_ne_bytes());
    b[4..8].copy_from_slice(&(len as u32).to_ne_bytes());
    b[8..16].copy_from_slice(&tag.to_ne_bytes());
    for (i, x) in b[16..].iter_mut().enumerate() {
        *x = i as u8;
    }
    s.write(0, &b).unwrap();
    s
}

#[test]
fn user_ringbuf_samples_reach_the_program_in_order_and_discards_do_not() {
    if !have_bpf() || !have_user_ringbuf() {
        return;
    }
    let coll = load("userring.bpf.o");
    let mut ring = oxbpf::maps::UserRingBuf::new(coll.map("urb").unwrap()).unwrap();
    let bss = coll.global_data(".bss").unwrap();
    let drain = coll.program("drain").unwrap();

    sample(&mut ring, 0, 16, 0xa0).submit().unwrap();
    sample(&mut ring, 1, 24, 0xa1).discard().unwrap();
    drop(sample(&mut ring, 2, 40, 0xa2)); // dropped unsubmitted: discarded
    sample(&mut ring, 3, 17, 0xa3).submit().unwrap();
    sample(&mut ring, 4, 100, 0xa4).submit().unwrap();
    assert_eq!(drain.test_run(&mut []).unwrap(), 3, "samples drained");
    assert_eq!(bss.get::<u32>("seen").unwrap(), 3);
    assert_eq!(bss.get::<u32>("short_samples").unwrap(), 0);
    let seqs: [u32; 64] = bss.get("seen_seq").unwrap();
    let lens: [u32; 64] = bss.get("seen_len").unwrap();
    let tags: [u64; 64] = bss.get("seen_tag").unwrap();
    assert_eq!(&seqs[..3], &[0, 3, 4]);
    assert_eq!(&lens[..3], &[16, 17, 100]);
    assert_eq!(&tags[..3], &[0xa0, 0xa3, 0xa4]);
    // Everything was consumed, discarded samples included.
    assert_eq!(ring.free_bytes().unwrap(), 4096);

    let e = ring.reserve(4096).unwrap_err().to_string();
    assert!(e.contains(r#"map "urb": a sample of 4096 bytes"#), "{e}");
    assert!(ring.reserve(0).is_err());
}

#[test]
fn user_ringbuf_full_ring_refuses_until_the_program_drains() {
    if !have_bpf() || !have_user_ringbuf() {
        return;
    }
    let coll = load("userring.bpf.o");
    let mut ring = oxbpf::maps::UserRingBuf::new(coll.map("urb").unwrap()).unwrap();
    let bss = coll.global_data(".bss").unwrap();
    let drain = coll.program("drain").unwrap();

    // 16-byte samples take 24 bytes with their header: 170 fit in 4096 (16 bytes left).
    let mut n = 0u32;
    while let Some(mut s) = ring.reserve(16).unwrap() {
        let mut b = [0u8; 16];
        b[..4].copy_from_slice(&n.to_ne_bytes());
        b[4..8].copy_from_slice(&16u32.to_ne_bytes());
        s.write(0, &b).unwrap();
        s.submit().unwrap();
        n += 1;
        assert!(n <= 170, "more samples than the ring holds");
    }
    assert_eq!(n, 170);
    assert_eq!(ring.free_bytes().unwrap(), 16);
    assert!(ring.reserve(16).unwrap().is_none(), "still full");

    assert_eq!(drain.test_run(&mut []).unwrap(), 170);
    assert_eq!(bss.get::<u32>("total").unwrap(), 170);
    let seqs: [u32; 64] = bss.get("seen_seq").unwrap();
    assert_eq!(seqs.to_vec(), (0..64).collect::<Vec<u32>>());
    // Room again, and the next samples wrap around the ring's end.
    for k in 0..10 {
        sample(&mut ring, 1000 + k, 40, 0).submit().unwrap();
    }
    assert_eq!(drain.test_run(&mut []).unwrap(), 10);
    assert_eq!(bss.get::<u32>("total").unwrap(), 180);
    assert_eq!(drain.test_run(&mut []).unwrap(), 0, "nothing left");
}

#[test]
fn event_poller_reads_a_ring_buffer_and_a_perf_buffer_on_one_epoll() {
    if !have_bpf() || !have_map_type(MapType::RINGBUF) {
        return;
    }
    let _serial = GETPID.lock().unwrap_or_else(|e| e.into_inner());
    let mut spec = oxbpf::ObjectSpec::from_file(common::fixture("evmix.bpf.o")).unwrap();
    spec.set_global("target_tgid", &std::process::id().to_ne_bytes())
        .unwrap();
    let coll = oxbpf::Collection::load(&spec, &oxbpf::LoadOptions::default()).unwrap();
    let mut poller = oxbpf::maps::EventPoller::new().unwrap();
    let r = poller
        .add_ringbuf(RingBuf::new(coll.map("ring_events").unwrap()).unwrap())
        .unwrap();
    let p = poller
        .add_perf(
            oxbpf::maps::PerfBuffer::new(
                coll.map("perf_events").unwrap(),
                oxbpf::maps::PerfBufferOptions::default(),
            )
            .unwrap(),
        )
        .unwrap();
    assert_eq!((r, p), (0, 1));
    let links = coll.attach_all().unwrap();
    for _ in 0..8 {
        std::hint::black_box(std::process::id());
    }
    drop(links);
    let (mut ring, mut perf) = (Vec::new(), Vec::new());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while (ring.len() < 8 || perf.len() < 8) && std::time::Instant::now() < deadline {
        poller
            .poll(
                Some(std::time::Duration::from_millis(100)),
                |src, cpu, rec| {
                    let seq = u32::from_ne_bytes(rec[4..8].try_into().unwrap());
                    match src {
                        "ring_events" => {
                            assert_eq!(cpu, None);
                            assert_eq!(rec.len(), 16);
                            ring.push(seq);
                        }
                        "perf_events" => {
                            assert!(cpu.is_some());
                            // Raw perf samples are padded to 8 bytes with their u32 size.
                            assert!(rec.len() >= 16, "{}", rec.len());
                            perf.push(seq);
                        }
                        other => panic!("unknown source {other}"),
                    }
                },
            )
            .unwrap();
    }
    assert_eq!(ring, (0..8).collect::<Vec<u32>>());
    perf.sort();
    assert_eq!(perf, (0..8).collect::<Vec<u32>>());
    let stats = poller.stats();
    assert_eq!(stats.len(), 2);
    assert_eq!(stats[0].name, "ring_events");
    assert_eq!(stats[0].kind, oxbpf::maps::SourceKind::RingBuf);
    assert_eq!((stats[0].records, stats[0].bytes), (8, 128));
    assert_eq!(stats[1].kind, oxbpf::maps::SourceKind::PerfBuffer);
    assert_eq!((stats[1].records, stats[1].lost), (8, 0));
}

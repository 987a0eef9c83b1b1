//! Kernel tests of the async readers (feature `tokio`): a tokio current-thread runtime
//! waits on a ring buffer and on a perf buffer while another thread runs a program that
//! writes records (BPF_PROG_TEST_RUN of hand-assembled XDP programs), and the awaiting
//! reader is woken with every record, in order. Run with
//! `cargo test -p oxbpf-maps --features tokio --test kernel_async`.
#![cfg(feature = "tokio")]

use std::time::Duration;

mod common;

use oxbpf_asm::Insn;
use oxbpf_maps::{
    AsyncPerfBuffer, AsyncRingBuf, Map, PerfBuffer, PerfBufferOptions, RingBuf, map_type,
};
use oxbpf_sys::ProgFd;

use common::{add_imm, create, ld_map, load, mov_reg, read_packet, run, stx_dw};

const PERF_EVENT_OUTPUT: i32 = 25;
const RINGBUF_OUTPUT: i32 = 130;

/// `w{dst} = imm` (BPF_ALU | BPF_MOV | BPF_K): zero-extends.
fn mov32_imm(dst: u8, imm: i32) -> Insn {
    Insn::new(0x04 | 0xb0, dst, 0, 0, imm)
}

/// r6, r7 = the packet's first two u64s, the packet's 16 bytes at r10-16, r2 = `map`,
/// then `output`; a short packet jumps to the last two slots (return -1).
fn program(name: &str, map: &Map, output: &[Insn]) -> ProgFd {
    // read_packet, two stores, ld_map (two slots), output, exit: then the failure exit.
    let fail = (7 + 2 + 2 + output.len() + 1) as i16;
    let mut p = read_packet(fail).to_vec();
    p.extend([stx_dw(10, -16, 6), stx_dw(10, -8, 7)]);
    p.extend(ld_map(2, map));
    p.extend_from_slice(output);
    p.push(Insn::exit());
    assert_eq!(p.len() as i16, fail, "failure exit slot");
    p.extend([Insn::mov64_imm(0, -1), Insn::exit()]);
    load(name, &p)
}

/// bpf_ringbuf_output(map, r10-16, 16, 0).
fn ring_prog(map: &Map) -> ProgFd {
    let out = [
        mov_reg(1, 2),
        mov_reg(2, 10),
        add_imm(2, -16),
        Insn::mov64_imm(3, 16),
        Insn::mov64_imm(4, 0),
        Insn::call_helper(RINGBUF_OUTPUT),
    ];
    program("async_rb", map, &out)
}

/// bpf_perf_event_output(ctx, map, BPF_F_CURRENT_CPU, r10-16, 16).
fn perf_prog(map: &Map) -> ProgFd {
    let out = [
        mov32_imm(3, -1), // 0xffffffff, BPF_F_CURRENT_CPU
        mov_reg(4, 10),
        add_imm(4, -16),
        Insn::mov64_imm(5, 16),
        Insn::call_helper(PERF_EVENT_OUTPUT),
    ];
    program("async_perf", map, &out)
}

fn rec(d: &[u8]) -> (u64, u64) {
    assert!(d.len() >= 16, "record of {} bytes", d.len());
    (
        u64::from_ne_bytes(d[..8].try_into().unwrap()),
        u64::from_ne_bytes(d[8..16].try_into().unwrap()),
    )
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()
        .unwrap()
}

/// Runs `prog` for seq 0..n from another thread, after `delay` (the reader is waiting by
/// then).
fn produce_later(prog: ProgFd, n: u64, delay: Duration) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        std::thread::sleep(delay);
        for seq in 0..n {
            assert_eq!(run(&prog, seq, 0xa5), 0, "output of record {seq}");
            if seq % 8 == 7 {
                std::thread::sleep(Duration::from_millis(5));
            }
        }
    })
}

#[test]
fn async_ring_buf_is_woken_by_records_a_program_writes() {
    let Some(map) = create("async_rb", map_type::RINGBUF, 0, 0, 4096 * 4) else {
        return;
    };
    let prog = ring_prog(&map);
    runtime().block_on(async {
        let mut rb = AsyncRingBuf::new(RingBuf::new(&map).unwrap()).unwrap();
        let idle = tokio::time::timeout(
            Duration::from_millis(50),
            rb.consume(|_| panic!("nothing was written")),
        )
        .await;
        assert!(idle.is_err(), "an empty ring does not complete the wait");

        let producer = produce_later(prog, 40, Duration::from_millis(50));
        let mut got = Vec::new();
        let mut wakeups = 0;
        while got.len() < 40 {
            let n = tokio::time::timeout(Duration::from_secs(5), rb.consume(|d| got.push(rec(d))))
                .await
                .expect("woken within 5 s")
                .unwrap();
            assert!(n >= 1);
            wakeups += 1;
        }
        producer.join().unwrap();
        assert_eq!(got, (0..40).map(|s| (s, 0xa5)).collect::<Vec<_>>());
        assert!(wakeups >= 2, "records came in several bursts: {wakeups}");
        assert_eq!(rb.get_ref().stats().records, 40);
    });
}

#[test]
fn async_perf_buffer_is_woken_by_samples_a_program_writes() {
    let Ok(cpus) = oxbpf_sys::possible_cpus() else {
        return;
    };
    let Some(map) = create("async_perf", map_type::PERF_EVENT_ARRAY, 4, 4, cpus as u32) else {
        return;
    };
    let prog = perf_prog(&map);
    runtime().block_on(async {
        let perf = PerfBuffer::new(&map, PerfBufferOptions::default()).unwrap();
        let mut pb = AsyncPerfBuffer::new(perf).unwrap();
        let idle = tokio::time::timeout(
            Duration::from_millis(50),
            pb.consume(|_, _| panic!("empty")),
        )
        .await;
        assert!(idle.is_err(), "empty rings do not complete the wait");

        let producer = produce_later(prog, 24, Duration::from_millis(50));
        let mut got = Vec::new();
        while got.len() < 24 {
            tokio::time::timeout(
                Duration::from_secs(5),
                pb.consume(|_cpu, d| got.push(rec(d))),
            )
            .await
            .expect("woken within 5 s")
            .unwrap();
        }
        producer.join().unwrap();
        // One producing thread: per CPU in order; sorted, every sample exactly once.
        got.sort_unstable();
        assert_eq!(got, (0..24).map(|s| (s, 0xa5)).collect::<Vec<_>>());
        let st = pb.get_ref().stats();
        assert_eq!((st.records, st.lost), (24, 0));
    });
}

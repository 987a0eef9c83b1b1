//! ringfill.bpf.o: a syscall program run with BPF_PROG_TEST_RUN fills the ring buffer;
//! every record comes back once, in order.

mod common;

use oxbpf::maps::RingBuf;

#[test]
fn every_record_arrives_once_in_order() {
    if !common::have_bpf()
        || !common::have(oxbpf::features::Capability::BpfLoop)
        || !common::have_prog_type(oxbpf::obj::ProgramType::SYSCALL)
    {
        return;
    }
    let coll = common::load("ringfill.bpf.o");
    let prog = coll.program("fill").unwrap();
    let mut rb = RingBuf::new(coll.map("rb").unwrap()).unwrap();
    let mut next = 0u64;
    for round in 0..3 {
        let mut args = [10_000u32.to_ne_bytes(), 64u32.to_ne_bytes()].concat();
        let written = prog.test_run(&mut args).unwrap();
        assert_eq!(written, 10_000, "round {round}");
        let n = rb
            .consume(|rec| {
                assert_eq!(rec.len(), 64);
                assert_eq!(
                    u64::from_ne_bytes(rec[..8].try_into().unwrap()),
                    next % 10_000
                );
                next += 1;
            })
            .unwrap();
        assert_eq!(n, 10_000);
    }
    assert_eq!(rb.stats().records, 30_000);
}

#[test]
fn bad_size_argument_is_reported_by_the_program() {
    if !common::have_bpf()
        || !common::have(oxbpf::features::Capability::BpfLoop)
        || !common::have_prog_type(oxbpf::obj::ProgramType::SYSCALL)
    {
        return;
    }
    let coll = common::load("ringfill.bpf.o");
    let mut args = [1u32.to_ne_bytes(), 7u32.to_ne_bytes()].concat();
    let ret = coll.program("fill").unwrap().test_run(&mut args).unwrap();
    assert_eq!(ret as i32, -22);
}

//! counter.bpf.o: a hash map counting getpid() calls per process.

mod common;

use oxbpf::maps::HashMap;

#[test]
fn counts_exactly_our_getpid_calls() {
    if !common::have_bpf() {
        return;
    }
    let coll = common::load("counter.bpf.o");
    let _links = coll.attach_all().unwrap();
    let counts = HashMap::<u32, u64>::new(coll.map("counts").unwrap()).unwrap();
    let me = std::process::id();
    let before = counts.get(&me).unwrap().unwrap_or(0);
    for _ in 0..25 {
        // std::process::id() is getpid(2): glibc does not cache it.
        std::hint::black_box(std::process::id());
    }
    let after = counts.get(&me).unwrap().unwrap_or(0);
    assert_eq!(after - before, 25);
    let keys: Vec<u32> = counts.keys().map(Result::unwrap).collect();
    assert!(keys.contains(&me));
}

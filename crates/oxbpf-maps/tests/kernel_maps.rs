//! Integration tests against the running kernel (need root / CAP_BPF). Each test probes
//! first and returns early with a printed reason when the kernel cannot run it.

mod common;

use std::collections::HashSet;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use oxbpf_asm::Insn;
use oxbpf_maps::{Array, Error, HashMap, Map, RingBuf, RingBufPoller, map_type};
use oxbpf_sys::bpf;
use oxbpf_sys::{Errno, ProgFd};

use common::{
    add_imm, create, ja, jeq_imm, jne_imm, ld_map, load, mov_reg, read_packet, run, stx_dw,
};

const RINGBUF_OUTPUT: i32 = 130;
const RINGBUF_RESERVE: i32 = 131;
const RINGBUF_SUBMIT: i32 = 132;
const RINGBUF_DISCARD: i32 = 133;

/// Packet `{ u64 seq; u64 marker }`: writes one 16-byte record `{seq, marker}` with
/// bpf_ringbuf_output; returns the helper's result.
fn output_prog(map: &Map) -> ProgFd {
    let mut p = read_packet(17).to_vec();
    p.extend([stx_dw(10, -16, 6), stx_dw(10, -8, 7)]);
    p.extend(ld_map(1, map));
    p.extend([
        mov_reg(2, 10),
        add_imm(2, -16),
        Insn::mov64_imm(3, 16),
        Insn::mov64_imm(4, 0),
        Insn::call_helper(RINGBUF_OUTPUT),
        Insn::exit(),
        Insn::mov64_imm(0, -1), // short packet
        Insn::exit(),
    ]);
    load("rb_output", &p)
}

/// Packet `{ u64 seq; u64 discard }`: reserves 16 bytes, writes `{seq, discard}`, then
/// discards (discard != 0) or submits; returns 1, or 0 if the reservation failed (or the
/// packet is short).
fn reserve_prog(map: &Map) -> ProgFd {
    let mut p = read_packet(23).to_vec(); // 0..=6
    p.extend(ld_map(1, map)); // 7, 8
    p.extend([
        Insn::mov64_imm(2, 16),             // 9
        Insn::mov64_imm(3, 0),              // 10
        Insn::call_helper(RINGBUF_RESERVE), // 11
        jeq_imm(0, 0, 10),                  // 12 -> 23
        stx_dw(0, 0, 6),                    // 13
        stx_dw(0, 8, 7),                    // 14
        mov_reg(1, 0),                      // 15
        Insn::mov64_imm(2, 0),              // 16
        jne_imm(7, 0, 2),                   // 17 -> 20
        Insn::call_helper(RINGBUF_SUBMIT),  // 18
        ja(1),                              // 19 -> 21
        Insn::call_helper(RINGBUF_DISCARD), // 20
        Insn::mov64_imm(0, 1),              // 21
        Insn::exit(),                       // 22
        Insn::mov64_imm(0, 0),              // 23
        Insn::exit(),                       // 24
    ]);
    load("rb_reserve", &p)
}

fn rec(d: &[u8]) -> (u64, u64) {
    assert_eq!(d.len(), 16, "record length");
    (
        u64::from_ne_bytes(d[..8].try_into().unwrap()),
        u64::from_ne_bytes(d[8..].try_into().unwrap()),
    )
}

const PAGE: u32 = 4096;

// ---------------------------------------------------------------- hash / array

#[test]
fn hash_map_typed_ops() {
    let Some(map) = create("counts", map_type::HASH, 4, 8, 64) else {
        return;
    };
    let h: HashMap<'_, u32, u64> = HashMap::new(&map).unwrap();
    assert_eq!(h.get(&1).unwrap(), None);
    h.insert(&1, &100, 0).unwrap();
    h.insert(&2, &200, 0).unwrap();
    assert_eq!(h.get(&1).unwrap(), Some(100));
    // BPF_NOEXIST on a present key fails with EEXIST, and the error names the map.
    let e = h.insert(&1, &5, 1).unwrap_err();
    assert_eq!(e.errno(), Some(Errno::EEXIST));
    assert!(
        e.to_string()
            .starts_with(r#"map "counts": BPF_MAP_UPDATE_ELEM: "#),
        "{e}"
    );
    // Raw bytes agree with the typed view.
    assert_eq!(
        map.lookup(&2u32.to_ne_bytes()).unwrap(),
        Some(200u64.to_ne_bytes().to_vec())
    );
    let mut all: Vec<(u32, u64)> = h.iter().map(|r| r.unwrap()).collect();
    all.sort();
    assert_eq!(all, [(1, 100), (2, 200)]);
    let mut keys: Vec<u32> = h.keys().map(|r| r.unwrap()).collect();
    keys.sort();
    assert_eq!(keys, [1, 2]);
    assert!(h.remove(&1).unwrap());
    assert!(!h.remove(&1).unwrap());
    assert_eq!(h.get(&1).unwrap(), None);
    assert!(!map.delete(&1u32.to_ne_bytes()).unwrap());
}

#[test]
fn array_typed_ops() {
    let Some(map) = create("arr", map_type::ARRAY, 4, 8, 4) else {
        return;
    };
    let a: Array<'_, [u32; 2]> = Array::new(&map).unwrap();
    assert_eq!(a.len(), 4);
    assert_eq!(a.get(3).unwrap(), [0, 0]);
    a.set(3, &[7, 8]).unwrap();
    assert_eq!(a.get(3).unwrap(), [7, 8]);
    let e = a.get(4).unwrap_err();
    assert_eq!(
        e.to_string(),
        r#"map "arr": index 4 is out of bounds (max_entries 4)"#
    );
    assert!(a.set(9, &[1, 1]).is_err());
    let keys: Vec<Vec<u8>> = map.keys().map(|k| k.unwrap()).collect();
    assert_eq!(keys.len(), 4);
    let entries: Vec<_> = map.entries().map(|e| e.unwrap()).collect();
    assert_eq!(
        entries[3].1,
        [7u32.to_ne_bytes(), 8u32.to_ne_bytes()].concat()
    );
}

#[test]
fn size_and_type_mismatches_are_errors_naming_the_map() {
    let Some(map) = create("counts", map_type::HASH, 4, 8, 8) else {
        return;
    };
    let e = HashMap::<u64, u64>::new(&map).unwrap_err();
    assert_eq!(e.to_string(), r#"map "counts": key is 8 bytes, map has 4"#);
    let e = HashMap::<u32, u32>::new(&map).unwrap_err();
    assert_eq!(
        e.to_string(),
        r#"map "counts": value is 4 bytes, map has 8"#
    );
    let e = map.lookup(&[0u8; 8]).unwrap_err();
    assert_eq!(e.to_string(), r#"map "counts": key is 8 bytes, map has 4"#);
    let e = map.update(&[0u8; 4], &[0u8; 3], 0).unwrap_err();
    assert_eq!(
        e.to_string(),
        r#"map "counts": value is 3 bytes, map has 8"#
    );
    let e = Array::<u64>::new(&map).unwrap_err();
    assert!(matches!(e, Error::WrongType { got: 1, .. }), "{e}");
    assert!(RingBuf::new(&map).is_err());
}

#[test]
fn per_cpu_values_are_rounded_up_per_possible_cpu() {
    let Some(map) = create("pcpu", map_type::PERCPU_ARRAY, 4, 4, 2) else {
        return;
    };
    let cpus = oxbpf_sys::possible_cpus().unwrap();
    assert_eq!(map.value_len(), 8 * cpus);
    let v = map.lookup(&0u32.to_ne_bytes()).unwrap().unwrap();
    assert_eq!(v.len(), 8 * cpus);
    let e = map.update(&0u32.to_ne_bytes(), &[0u8; 4], 0).unwrap_err();
    assert!(
        matches!(e, Error::SizeMismatch { what: "value", .. }),
        "{e}"
    );
}

#[test]
fn iterating_1000_keys_while_deleting_yields_each_surviving_key_once() {
    let Some(map) = create("iter", map_type::HASH, 4, 8, 1000) else {
        return;
    };
    let h: HashMap<'_, u32, u64> = HashMap::new(&map).unwrap();
    for k in 0..1000u32 {
        h.insert(&k, &u64::from(k), 0).unwrap();
    }
    let mut yielded = Vec::new();
    let mut deleted = HashSet::new();
    for k in h.keys() {
        let k = k.unwrap();
        yielded.push(k);
        // Delete the current key (the kernel then restarts GET_NEXT_KEY from the first
        // key) and sometimes another one that may not have been reached yet.
        if k % 3 == 0 {
            assert!(h.remove(&k).unwrap());
            deleted.insert(k);
        }
        let other = (k * 7 + 1) % 1000;
        if k % 5 == 0 && !deleted.contains(&other) && !yielded.contains(&other) {
            assert!(h.remove(&other).unwrap());
            deleted.insert(other);
        }
    }
    let unique: HashSet<u32> = yielded.iter().copied().collect();
    assert_eq!(unique.len(), yielded.len(), "a key was yielded twice");
    for k in 0..1000u32 {
        if !deleted.contains(&k) {
            assert!(unique.contains(&k), "surviving key {k} was not yielded");
        }
    }
    // Every key deleted as the current key was yielded (it was deleted after).
    assert!(
        (0..1000)
            .filter(|k| k % 3 == 0)
            .all(|k| unique.contains(&k) || deleted.contains(&k))
    );
    // Entries of what is left agree with the values written.
    let left: Vec<(u32, u64)> = h.iter().map(|e| e.unwrap()).collect();
    assert_eq!(left.len(), 1000 - deleted.len());
    assert!(left.iter().all(|&(k, v)| u64::from(k) == v));
}

#[test]
fn naive_get_next_key_walk_repeats_keys_after_deleting_the_current_one() {
    // The kernel behaviour the Keys iterator guards against: GET_NEXT_KEY of a deleted
    // key restarts at the first key, so a plain walk yields keys again.
    let Some(map) = create("naive", map_type::HASH, 4, 8, 1000) else {
        return;
    };
    for k in 0..1000u32 {
        map.update(&k.to_ne_bytes(), &[0u8; 8], 0).unwrap();
    }
    let mut prev: Option<Vec<u8>> = None;
    let mut seen = HashSet::new();
    let mut repeats = 0;
    let mut next = vec![0u8; 4];
    for _ in 0..5000 {
        if !bpf::map_get_next_key(map.fd(), prev.as_deref(), &mut next).unwrap() {
            break;
        }
        let k = u32::from_ne_bytes(next[..4].try_into().unwrap());
        if !seen.insert(k) {
            repeats += 1;
        } else if k % 3 == 0 {
            map.delete(&next).unwrap();
        }
        prev = Some(next.clone());
    }
    assert!(
        repeats > 0,
        "the kernel no longer restarts after a deleted key"
    );
}

#[test]
fn draining_a_map_while_iterating_visits_every_key() {
    let Some(map) = create("drain", map_type::HASH, 4, 8, 256) else {
        return;
    };
    for k in 0..256u32 {
        map.update(&k.to_ne_bytes(), &[0u8; 8], 0).unwrap();
    }
    let mut n = 0;
    for e in map.entries() {
        let (k, _) = e.unwrap();
        assert!(map.delete(&k).unwrap());
        n += 1;
    }
    assert_eq!(n, 256);
    assert_eq!(map.keys().count(), 0);
}

#[test]
fn pin_and_reopen_from_bpffs() {
    let Some(map) = create("pinned", map_type::HASH, 4, 8, 8) else {
        return;
    };
    let root = match oxbpf_sys::fs::bpffs() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("skipping: no bpffs: {e}");
            return;
        }
    };
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let path: PathBuf = root.join(format!("oxbpf-maps-test-{}-{nanos}", std::process::id()));
    map.update(&3u32.to_ne_bytes(), &9u64.to_ne_bytes(), 0)
        .unwrap();
    map.pin(&path).unwrap();
    let result = std::panic::catch_unwind(|| {
        let again = Map::from_pin(&path).unwrap();
        assert_eq!(again.name(), "pinned");
        assert_eq!(again.def(), map.def());
        let h: HashMap<'_, u32, u64> = HashMap::new(&again).unwrap();
        assert_eq!(h.get(&3).unwrap(), Some(9));
        // Pinning twice at one path fails and names the path.
        let e = map.pin(&path).unwrap_err();
        assert_eq!(e.errno(), Some(Errno::EEXIST));
        assert!(e.to_string().contains(&path.display().to_string()), "{e}");
    });
    std::fs::remove_file(&path).unwrap();
    let e = Map::from_pin(&path).unwrap_err();
    assert_eq!(e.errno(), Some(Errno::ENOENT));
    result.unwrap();
}

// ---------------------------------------------------------------- ring buffer

#[test]
fn ring_buffer_delivers_records_in_order_with_stats() {
    let Some(map) = create("events", map_type::RINGBUF, 0, 0, 4 * PAGE) else {
        return;
    };
    let prog = output_prog(&map);
    let mut rb = RingBuf::new(&map).unwrap();
    assert_eq!(rb.consume(|_| panic!("empty ring")).unwrap(), 0);
    for seq in 0..10 {
        assert_eq!(run(&prog, seq, 0xabcd), 0);
    }
    assert_eq!(rb.pending_bytes(), 10 * 24);
    let mut got = Vec::new();
    assert_eq!(rb.consume(|d| got.push(rec(d))).unwrap(), 10);
    assert_eq!(got, (0..10).map(|s| (s, 0xabcd)).collect::<Vec<_>>());
    assert_eq!(rb.pending_bytes(), 0);
    let s = rb.stats();
    assert_eq!((s.records, s.bytes, s.discarded), (10, 160, 0));

    // Zero-copy records: the space is released as each one is dropped.
    for seq in 10..13 {
        run(&prog, seq, 1);
    }
    let mut seqs = Vec::new();
    while let Some(r) = rb.next() {
        seqs.push(rec(&r).0);
    }
    assert_eq!(seqs, [10, 11, 12]);
    assert_eq!(rb.stats().records, 13);
    assert!(rb.next().is_none());
}

#[test]
fn ring_buffer_skips_discarded_records() {
    let Some(map) = create("events", map_type::RINGBUF, 0, 0, 4 * PAGE) else {
        return;
    };
    let prog = reserve_prog(&map);
    let mut rb = RingBuf::new(&map).unwrap();
    for seq in 0..20 {
        assert_eq!(run(&prog, seq, seq % 2), 1);
    }
    let mut got = Vec::new();
    assert_eq!(rb.consume(|d| got.push(rec(d))).unwrap(), 10);
    assert_eq!(got, (0..20).step_by(2).map(|s| (s, 0)).collect::<Vec<_>>());
    assert_eq!(rb.stats().discarded, 10);
    // The record API skips discarded ones too.
    for seq in 20..24 {
        run(&prog, seq, u64::from(seq != 23));
    }
    let r = rb.next().expect("one submitted record");
    assert_eq!(rec(&r), (23, 0));
    drop(r);
    assert!(rb.next().is_none());
    assert_eq!(rb.stats().discarded, 13);
}

#[test]
fn ring_buffer_wraps_around_over_many_drains() {
    let Some(map) = create("wrap", map_type::RINGBUF, 0, 0, 4 * PAGE) else {
        return;
    };
    let prog = output_prog(&map);
    let mut rb = RingBuf::new(&map).unwrap();
    // 24 bytes per record: 16384 is not a multiple, so records straddle the end of the
    // data area and are read through the second mapping.
    let mut next_seq = 0u64;
    let mut expect = 0u64;
    for round in 0..20 {
        let n = 300 + round * 7;
        for _ in 0..n {
            assert_eq!(run(&prog, next_seq, !next_seq), 0);
            next_seq += 1;
        }
        rb.consume(|d| {
            assert_eq!(rec(d), (expect, !expect));
            expect += 1;
        })
        .unwrap();
        assert_eq!(expect, next_seq);
    }
    assert!(
        next_seq * 24 > 8 * u64::from(4 * PAGE),
        "wrapped several times"
    );
    assert_eq!(rb.stats().records, next_seq);
}

#[test]
fn full_ring_rejects_writes_until_consumed() {
    let Some(map) = create("full", map_type::RINGBUF, 0, 0, PAGE) else {
        return;
    };
    let prog = output_prog(&map);
    let mut rb = RingBuf::new(&map).unwrap();
    let mut ok = 0u64;
    while run(&prog, ok, 0) == 0 {
        ok += 1;
        assert!(ok < 1000, "a 4 KiB ring never filled");
    }
    assert_eq!(ok, u64::from(PAGE) / 24);
    assert_eq!(rb.consume(|_| {}).unwrap() as u64, ok);
    assert_eq!(run(&prog, 0, 0), 0, "space was released");
}

#[test]
fn poll_times_out_on_an_empty_ring_and_wakes_for_records() {
    let Some(map) = create("poll", map_type::RINGBUF, 0, 0, PAGE) else {
        return;
    };
    let prog = output_prog(&map);
    let mut rb = RingBuf::new(&map).unwrap();
    let t = Instant::now();
    assert_eq!(rb.poll(Some(Duration::from_millis(20)), |_| {}).unwrap(), 0);
    assert!(
        t.elapsed() >= Duration::from_millis(15),
        "{:?}",
        t.elapsed()
    );
    run(&prog, 5, 0);
    let mut seen = 0;
    assert_eq!(
        rb.poll(Some(Duration::from_secs(5)), |d| seen = rec(d).0)
            .unwrap(),
        1
    );
    assert_eq!(seen, 5);
}

#[test]
fn poller_reads_many_rings_by_name() {
    let (Some(a), Some(b)) = (
        create("ring_a", map_type::RINGBUF, 0, 0, PAGE),
        create("ring_b", map_type::RINGBUF, 0, 0, PAGE),
    ) else {
        return;
    };
    let (pa, pb) = (output_prog(&a), output_prog(&b));
    let mut poller = RingBufPoller::new().unwrap();
    let ta = poller.add("a", RingBuf::new(&a).unwrap()).unwrap();
    let tb = poller.add("b", RingBuf::new(&b).unwrap()).unwrap();
    assert_eq!((ta, tb, poller.len()), (0, 1, 2));
    run(&pa, 1, 0);
    run(&pb, 2, 0);
    run(&pb, 3, 0);
    let mut got = Vec::new();
    let n = poller
        .poll(Some(Duration::from_secs(1)), |name, d| {
            got.push((name.to_owned(), rec(d).0))
        })
        .unwrap();
    assert_eq!(n, 3);
    got.sort();
    assert_eq!(got, [("a".into(), 1), ("b".into(), 2), ("b".into(), 3)]);
    assert_eq!(poller.ring(tb).unwrap().stats().records, 2);
    assert_eq!(
        poller
            .poll(Some(Duration::from_millis(1)), |_, _| {})
            .unwrap(),
        0
    );
}

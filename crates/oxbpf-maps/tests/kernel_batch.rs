//! Batch operations against the running kernel (need root / CAP_BPF and 5.6+); each test
//! probes first and returns early with a printed `skipping:` reason.

mod common;

use std::collections::HashMap as StdHashMap;

use oxbpf_maps::{Error, HashMap, Map, map_type};
use oxbpf_sys::Errno;

use common::create;

/// A hash map of `n` u32 → u64 (k → k * 3) entries, if the kernel has batch operations.
fn filled_hash(n: u32) -> Option<Map> {
    let map = create("batch_hash", map_type::HASH, 4, 8, n.max(1))?;
    let keys: Vec<u8> = (0..n).flat_map(u32::to_ne_bytes).collect();
    let values: Vec<u8> = (0..n)
        .flat_map(|k| (u64::from(k) * 3).to_ne_bytes())
        .collect();
    match map.update_batch(&keys, &values, 0) {
        Ok(c) => assert_eq!(c, n as usize),
        Err(e)
            if matches!(
                e.errno(),
                Some(Errno::EINVAL | Errno::ENOTSUPP | Errno::ENOTSUP)
            ) =>
        {
            println!("skipping: no BPF_MAP_UPDATE_BATCH here ({e}; since 5.6)");
            return None;
        }
        Err(e) => panic!("{e}"),
    }
    Some(map)
}

#[test]
fn batched_iteration_returns_every_hash_entry_once() {
    let Some(map) = filled_hash(10_000) else {
        return;
    };
    let mut got = StdHashMap::new();
    let mut b = map.batches(4096);
    while let Some(e) = b.next_typed::<u32, u64>() {
        let (k, v) = e.unwrap();
        assert!(got.insert(k, v).is_none(), "key {k} twice");
    }
    assert_eq!(got.len(), 10_000);
    assert!(got.iter().all(|(k, v)| *v == u64::from(*k) * 3));
    // The typed view's iterator agrees.
    let h: HashMap<'_, u32, u64> = HashMap::new(&map).unwrap();
    assert_eq!(h.iter_batched(333).count(), 10_000);
}

#[test]
fn typed_and_raw_entries_mix_across_batch_ends_and_wrong_sizes_are_errors() {
    let Some(map) = filled_hash(100) else { return };
    // Wrong key or value type: an error naming which, on the first entry.
    let mut b = map.batches(7);
    match b.next_typed::<u64, u64>() {
        Some(Err(Error::SizeMismatch {
            what, got, want, ..
        })) => {
            assert_eq!((what, got, want), ("key", 8, 4));
        }
        other => panic!("{other:?}"),
    }
    let mut b = map.batches(7);
    assert!(matches!(
        b.next_typed::<u32, u32>(),
        Some(Err(Error::SizeMismatch { what: "value", .. }))
    ));
    // Batches of 7: typed and raw reads alternate over 15 batch ends, none lost.
    let mut b = map.batches(7);
    let mut got = StdHashMap::new();
    for n in 0.. {
        let (k, v) = if n % 2 == 0 {
            match b.next_typed::<u32, u64>() {
                Some(e) => e.unwrap(),
                None => break,
            }
        } else {
            match b.next_entry() {
                Some(e) => {
                    let (k, v) = e.unwrap();
                    (
                        u32::from_ne_bytes(k.try_into().unwrap()),
                        u64::from_ne_bytes(v.try_into().unwrap()),
                    )
                }
                None => break,
            }
        };
        assert!(got.insert(k, v).is_none(), "key {k} twice");
    }
    assert_eq!(got.len(), 100);
    assert!(got.iter().all(|(k, v)| *v == u64::from(*k) * 3));
}

#[test]
fn one_element_batches_grow_past_full_buckets() {
    let Some(map) = filled_hash(2000) else { return };
    let keys: std::collections::HashSet<Vec<u8>> = map.batches(1).map(|e| e.unwrap().0).collect();
    assert_eq!(keys.len(), 2000);
}

#[test]
fn last_array_batch_is_enoent_with_a_valid_count() {
    let Some(map) = create("batch_arr", map_type::ARRAY, 4, 8, 1000) else {
        return;
    };
    let keys: Vec<u8> = (0..1000u32).flat_map(u32::to_ne_bytes).collect();
    let values: Vec<u8> = (0..1000u64).flat_map(|v| (v + 1).to_ne_bytes()).collect();
    if let Err(e) = map.update_batch(&keys, &values, 0) {
        println!("skipping: no batch operations here ({e}; since 5.6)");
        return;
    }
    let mut k = vec![0u8; 300 * 4];
    let mut v = vec![0u8; 300 * 8];
    let mut from = None;
    let mut counts = Vec::new();
    let mut sum = 0u64;
    loop {
        let o = map.lookup_batch(from.as_ref(), &mut k, &mut v).unwrap();
        for i in 0..o.count {
            sum += u64::from_ne_bytes(v[i * 8..i * 8 + 8].try_into().unwrap());
        }
        counts.push(o.count);
        if o.done() {
            break;
        }
        from = o.next;
    }
    assert_eq!(
        counts,
        vec![300, 300, 300, 100],
        "the ENOENT batch carries 100"
    );
    assert_eq!(sum, (1..=1000u64).sum::<u64>());
}

#[test]
fn lookup_and_delete_batch_drains_and_delete_batch_counts() {
    let Some(map) = filled_hash(3000) else { return };
    // delete_batch: 10 present keys, then a missing one stops it.
    let keys: Vec<u8> = (0..10u32).flat_map(u32::to_ne_bytes).collect();
    assert_eq!(map.delete_batch(&keys).unwrap(), 10);
    let mut bad: Vec<u8> = (10..15u32).flat_map(u32::to_ne_bytes).collect();
    bad.extend(5u32.to_ne_bytes()); // deleted above
    match map.delete_batch(&bad) {
        Err(Error::Batch { processed, .. }) => assert_eq!(processed, 5),
        other => panic!("expected a partial batch error, got {other:?}"),
    }
    let drained: Vec<_> = map.drain_batches(512).map(|e| e.unwrap()).collect();
    assert_eq!(drained.len(), 3000 - 15);
    assert_eq!(map.keys().count(), 0, "drained");
}

#[test]
fn batch_buffers_of_the_wrong_size_are_refused() {
    let Some(map) = create("batch_sz", map_type::HASH, 4, 8, 16) else {
        return;
    };
    let mut k = vec![0u8; 10];
    let mut v = vec![0u8; 16];
    let e = map
        .lookup_batch(None, &mut k, &mut v)
        .unwrap_err()
        .to_string();
    assert!(e.contains("keys buffer is 10 bytes, map has 4"), "{e}");
    let mut k = vec![0u8; 8];
    let mut v = vec![0u8; 8];
    let e = map
        .lookup_batch(None, &mut k, &mut v)
        .unwrap_err()
        .to_string();
    assert!(e.contains("values buffer is 8 bytes, map has 16"), "{e}");
}

#[test]
fn per_cpu_hash_batches_carry_a_value_per_cpu() {
    let Some(map) = create("batch_pcpu", map_type::PERCPU_HASH, 4, 8, 64) else {
        return;
    };
    let vl = map.value_len();
    let cpus = vl / 8;
    let keys: Vec<u8> = (0..50u32).flat_map(u32::to_ne_bytes).collect();
    let mut values = Vec::new();
    for k in 0..50u64 {
        for c in 0..cpus as u64 {
            values.extend((k * 100 + c).to_ne_bytes());
        }
    }
    if let Err(e) = map.update_batch(&keys, &values, 0) {
        println!("skipping: no batch operations here ({e}; since 5.6)");
        return;
    }
    let mut n = 0;
    for e in map.batches(16) {
        let (k, v) = e.unwrap();
        let k = u64::from(u32::from_ne_bytes(k.try_into().unwrap()));
        assert_eq!(v.len(), vl);
        for c in 0..cpus {
            let x = u64::from_ne_bytes(v[c * 8..c * 8 + 8].try_into().unwrap());
            assert_eq!(x, k * 100 + c as u64);
        }
        n += 1;
    }
    assert_eq!(n, 50);
}

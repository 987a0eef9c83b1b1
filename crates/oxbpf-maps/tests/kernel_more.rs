//! LPM trie, bloom filter and map-in-map views against the running kernel (root /
//! CAP_BPF); each test returns early with a printed `skipping:` reason where the kernel
//! cannot create the map (bloom filters are 5.16+).

use oxbpf_maps::{ArrayOfMaps, BloomFilter, HashMap, HashOfMaps, LpmTrie, Map, map_type};
use oxbpf_sys::bpf::{self, MapCreate, map_flags};

fn create_with(name: &str, mut attr: MapCreate, since: &str) -> Option<Map> {
    attr.map_name = bpf::object_name(name);
    match bpf::map_create(&attr) {
        Ok(fd) => Some(Map::from_fd(name, fd).expect("map info")),
        Err(e) => {
            println!(
                "skipping: cannot create map {name:?} ({}): {e} (needs root / CAP_BPF, kernel {since}+)",
                oxbpf_maps::map_type_name(attr.map_type)
            );
            None
        }
    }
}

fn map_id(m: &Map) -> u32 {
    bpf::map_info(m.fd()).unwrap().id
}

#[test]
fn lpm_trie_finds_the_longest_matching_prefix() {
    let mut attr = MapCreate::new(map_type::LPM_TRIE, 4 + 4, 8, 16);
    attr.map_flags = map_flags::NO_PREALLOC;
    let Some(map) = create_with("lpm4", attr, "4.11") else {
        return;
    };
    let t: LpmTrie<'_, [u8; 4], u64> = LpmTrie::new(&map).unwrap();
    t.insert(8, &[10, 0, 0, 0], &8, 0).unwrap();
    t.insert(16, &[10, 1, 0, 0], &16, 0).unwrap();
    t.insert(24, &[10, 1, 2, 0], &24, 0).unwrap();
    t.insert(0, &[0, 0, 0, 0], &0, 0).unwrap();

    assert_eq!(t.longest_match(&[10, 1, 2, 3]).unwrap(), Some(24));
    assert_eq!(t.longest_match(&[10, 1, 3, 3]).unwrap(), Some(16));
    assert_eq!(t.longest_match(&[10, 9, 9, 9]).unwrap(), Some(8));
    assert_eq!(t.longest_match(&[192, 168, 0, 1]).unwrap(), Some(0));
    // A lookup limited to 16 bits does not see the /24.
    assert_eq!(t.get(16, &[10, 1, 2, 3]).unwrap(), Some(16));

    assert!(t.remove(24, &[10, 1, 2, 0]).unwrap());
    assert!(!t.remove(24, &[10, 1, 2, 0]).unwrap());
    assert_eq!(t.longest_match(&[10, 1, 2, 3]).unwrap(), Some(16));
    assert!(t.remove(0, &[0, 0, 0, 0]).unwrap());
    assert_eq!(t.longest_match(&[192, 168, 0, 1]).unwrap(), None);

    let mut keys: Vec<(u32, [u8; 4])> = t.keys().map(|k| k.unwrap()).collect();
    keys.sort();
    assert_eq!(keys, vec![(8, [10, 0, 0, 0]), (16, [10, 1, 0, 0])]);

    let e = t.insert(33, &[1, 2, 3, 4], &1, 0).unwrap_err().to_string();
    assert_eq!(
        e,
        r#"map "lpm4": prefix length 33 is longer than the key's 32 bits"#
    );
    let e = LpmTrie::<[u8; 16], u64>::new(&map).unwrap_err().to_string();
    assert!(
        e.contains(r#"map "lpm4": key (u32 prefix length + data) is 20 bytes, map has 8"#),
        "{e}"
    );
    let e = HashMap::<u64, u64>::new(&map).unwrap_err().to_string();
    assert!(e.contains("lpm_trie"), "{e}");
}

#[test]
fn bloom_filter_contains_what_was_pushed() {
    let mut attr = MapCreate::new(map_type::BLOOM_FILTER, 0, 8, 256);
    attr.map_extra = 3; // hash functions
    let Some(map) = create_with("bloom", attr, "5.16") else {
        return;
    };
    let b: BloomFilter<'_, u64> = BloomFilter::new(&map).unwrap();
    for v in (0..50u64).map(|i| i * 7919) {
        b.push(&v).unwrap();
    }
    for v in (0..50u64).map(|i| i * 7919) {
        assert!(b.contains(&v).unwrap(), "{v} was pushed");
    }
    // No false negatives above; false positives are possible but with 256 entries, 3
    // hashes and 50 values, most absent values must be reported absent.
    let absent = (0..200u64)
        .map(|i| 1_000_003 + i * 13)
        .filter(|v| !b.contains(v).unwrap())
        .count();
    assert!(
        absent > 150,
        "only {absent} of 200 absent values reported absent"
    );
    let e = BloomFilter::<u32>::new(&map).unwrap_err().to_string();
    assert_eq!(e, r#"map "bloom": value is 4 bytes, map has 8"#);
}

#[test]
fn array_and_hash_of_maps_hold_inner_maps_of_the_template() {
    // The inner map template: an array of 4 u64.
    let Some(template) = create_with(
        "inner_tmpl",
        MapCreate::new(map_type::ARRAY, 4, 8, 4),
        "4.12",
    ) else {
        return;
    };
    let mut attr = MapCreate::new(map_type::ARRAY_OF_MAPS, 4, 4, 3);
    attr.inner_map_fd = template.fd_raw();
    let Some(outer) = create_with("outer_arr", attr, "4.12") else {
        return;
    };
    let aom = ArrayOfMaps::new(&outer).unwrap();
    let a = create_with("inner_a", MapCreate::new(map_type::ARRAY, 4, 8, 4), "4.12").unwrap();
    let b = create_with("inner_b", MapCreate::new(map_type::ARRAY, 4, 8, 4), "4.12").unwrap();
    aom.set(0, a.fd()).unwrap();
    aom.set(2, b.fd()).unwrap();
    assert_eq!(aom.get(0).unwrap(), Some(map_id(&a)));
    assert_eq!(aom.get(1).unwrap(), None);
    assert_eq!(aom.get(2).unwrap(), Some(map_id(&b)));
    // A map that does not match the template is refused by the kernel, named.
    let wrong = create_with(
        "inner_bad",
        MapCreate::new(map_type::ARRAY, 4, 4, 4),
        "4.12",
    )
    .unwrap();
    let e = aom.set(1, wrong.fd()).unwrap_err().to_string();
    assert!(
        e.starts_with(r#"map "outer_arr": BPF_MAP_UPDATE_ELEM"#),
        "{e}"
    );
    assert!(aom.clear(0).unwrap());
    assert_eq!(aom.get(0).unwrap(), None);
    let e = aom.set(3, a.fd()).unwrap_err().to_string();
    assert!(
        e.contains("index 3 is out of bounds (max_entries 3)"),
        "{e}"
    );

    let mut attr = MapCreate::new(map_type::HASH_OF_MAPS, 8, 4, 8);
    attr.inner_map_fd = template.fd_raw();
    let outer = create_with("outer_hash", attr, "4.12").unwrap();
    let hom: HashOfMaps<'_, u64> = HashOfMaps::new(&outer).unwrap();
    hom.insert(&77, a.fd(), 0).unwrap();
    assert_eq!(hom.get(&77).unwrap(), Some(map_id(&a)));
    assert_eq!(hom.get(&78).unwrap(), None);
    assert!(hom.remove(&77).unwrap());
    assert!(HashOfMaps::<u32>::new(&outer).is_err(), "key is 8 bytes");
    assert!(ArrayOfMaps::new(&outer).is_err(), "hash, not array");
}

trait RawFd {
    fn fd_raw(&self) -> u32;
}

impl RawFd for Map {
    fn fd_raw(&self) -> u32 {
        use std::os::fd::AsRawFd;
        self.fd().as_raw_fd() as u32
    }
}

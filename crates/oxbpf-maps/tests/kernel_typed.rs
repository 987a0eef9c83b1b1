//! Per-CPU and queue/stack typed views against the running kernel (root / CAP_BPF);
//! each test returns early with a printed `skipping:` reason where it cannot run.

use oxbpf_maps::{Map, PerCpuArray, PerCpuHashMap, Queue, map_type};
use oxbpf_sys::bpf::{self, MapCreate};

fn create(name: &str, t: u32, k: u32, v: u32, n: u32) -> Option<Map> {
    let mut attr = MapCreate::new(t, k, v, n);
    attr.map_name = bpf::object_name(name);
    match bpf::map_create(&attr) {
        Ok(fd) => Some(Map::from_fd(name, fd).expect("map info")),
        Err(e) => {
            println!("skipping: cannot create map {name:?}: {e} (needs root / CAP_BPF)");
            None
        }
    }
}

#[test]
fn per_cpu_hash_holds_one_value_per_possible_cpu() {
    let Some(map) = create("pc_hash", map_type::PERCPU_HASH, 4, 4, 8) else {
        return;
    };
    let cpus = oxbpf_sys::possible_cpus().unwrap();
    let h: PerCpuHashMap<'_, u32, u32> = PerCpuHashMap::new(&map).unwrap();
    let vals: Vec<u32> = (0..cpus as u32).map(|c| c * 10 + 1).collect();
    h.insert(&3, &vals, 0).unwrap();
    assert_eq!(h.get(&3).unwrap(), Some(vals));
    assert_eq!(h.get(&4).unwrap(), None);
    if cpus != 1 {
        let e = h.insert(&3, &[1], 0).unwrap_err().to_string();
        assert!(
            e.contains("per-CPU values (8-byte slots) is 8 bytes"),
            "{e}"
        );
    }
    assert!(h.remove(&3).unwrap());
    assert!(
        PerCpuHashMap::<u32, u64>::new(&map).is_err(),
        "value size 4, not 8"
    );
}

#[test]
fn per_cpu_array_reads_back_every_cpu_slot() {
    let Some(map) = create("pc_arr", map_type::PERCPU_ARRAY, 4, 8, 2) else {
        return;
    };
    let cpus = oxbpf_sys::possible_cpus().unwrap();
    let a: PerCpuArray<'_, u64> = PerCpuArray::new(&map).unwrap();
    assert_eq!(a.get(1).unwrap(), vec![0; cpus]);
    let vals: Vec<u64> = (0..cpus as u64).map(|c| c << 32 | 7).collect();
    a.set(1, &vals).unwrap();
    assert_eq!(a.get(1).unwrap(), vals);
    assert!(a.get(2).unwrap_err().to_string().contains("out of bounds"));
}

#[test]
fn queue_is_fifo_and_stack_is_lifo() {
    let Some(q) = create("q", map_type::QUEUE, 0, 8, 4) else {
        return;
    };
    let Some(s) = create("s", map_type::STACK, 0, 8, 4) else {
        return;
    };
    let q: Queue<'_, u64> = Queue::new(&q).unwrap();
    let st: Queue<'_, u64> = Queue::new(&s).unwrap();
    for v in 1..=3u64 {
        q.push(&v, 0).unwrap();
        st.push(&v, 0).unwrap();
    }
    assert_eq!(q.peek().unwrap(), Some(1));
    assert_eq!(st.peek().unwrap(), Some(3));
    let qs: Vec<u64> = std::iter::from_fn(|| q.pop().unwrap()).collect();
    let ss: Vec<u64> = std::iter::from_fn(|| st.pop().unwrap()).collect();
    assert_eq!((qs, ss), (vec![1, 2, 3], vec![3, 2, 1]));
    assert_eq!(q.pop().unwrap(), None);
    // Full: BPF_EXIST drops the oldest element instead of failing.
    for v in 10..14u64 {
        q.push(&v, 0).unwrap();
    }
    assert!(q.push(&14, 0).is_err());
    q.push(&14, 2).unwrap();
    assert_eq!(q.pop().unwrap(), Some(11));
}

//! The generated skeletons against the kernel: globals.bpf.o (typed .rodata before load,
//! typed .bss after) and execsnoop.bpf.o (typed ring buffer records).

use std::time::{Duration, Instant};

use oxbpf::sys::pod::from_bytes;
use oxbpf_gen_test::fixtures::{counter, execsnoop, globals};

fn have_bpf() -> bool {
    let _ = oxbpf::features::map_type_supported(oxbpf::obj::MapType::ARRAY);
    let attr = oxbpf::sys::bpf::MapCreate::new(2, 4, 4, 1);
    match oxbpf::sys::bpf::map_create(&attr) {
        Ok(_) => true,
        Err(e) => {
            eprintln!("skipping: bpf() is not usable here ({e}); run the tests as root");
            false
        }
    }
}

#[test]
fn globals_skeleton_sets_rodata_and_reads_bss_typed() {
    if !have_bpf() {
        return;
    }
    if !oxbpf::features::capability_supported(oxbpf::features::Capability::BpfLoop).unwrap_or(false)
    {
        eprintln!("skipping: the kernel has no bpf_loop");
        return;
    }
    let mut b = globals::GlobalsSkel::open().unwrap();
    b.rodata().target_tgid = std::process::id();
    b.rodata().step = 5;
    let skel = b.load().unwrap();
    let progs = skel.progs().unwrap();
    assert_eq!(progs.on_getpid.name(), "on_getpid");
    let _links = skel.attach_all().unwrap();
    for _ in 0..3 {
        std::hint::black_box(std::process::id());
    }
    let bss = skel.bss().unwrap();
    assert_eq!(bss.bss_hits().unwrap(), 15, "3 × step 5");
    let all: globals::Bss = bss.read().unwrap();
    assert_eq!((all.bss_hits, all.bss_last_sum), (15, 6));
    assert_eq!(skel.data().unwrap().data_counter().unwrap(), 115);
    assert_eq!(skel.data_custom().unwrap().custom_counter().unwrap(), 10);
    assert_eq!(skel.rodata().unwrap().step().unwrap(), 5);
    bss.set_bss_hits(0).unwrap();
    assert_eq!(bss.read().unwrap().bss_hits, 0);
}

fn cstr(b: &[i8]) -> String {
    let bytes: Vec<u8> = b.iter().map(|&c| c as u8).take_while(|&c| c != 0).collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

#[test]
fn execsnoop_skeleton_reads_typed_ring_buffer_records() {
    if !have_bpf() {
        return;
    }
    let skel = execsnoop::ExecsnoopSkel::open().unwrap().load().unwrap();
    let _links = skel.attach_all().unwrap();
    let maps = skel.maps().unwrap();
    let mut rb = maps.events_ring().unwrap();
    let mut child = std::process::Command::new("/bin/true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut found: Option<execsnoop::exec_event> = None;
    while found.is_none() && Instant::now() < deadline {
        rb.poll(Some(Duration::from_millis(100)), |rec| {
            let ev = execsnoop::ExecsnoopMaps::events_record(rec).expect("one exec_event");
            assert_eq!(
                from_bytes::<execsnoop::exec_event>(rec).map(|e| e.pid),
                Some(ev.pid)
            );
            if ev.pid == pid {
                found = Some(ev);
            }
        })
        .unwrap();
    }
    let ev = found.unwrap_or_else(|| panic!("no exec event for pid {pid} within 10 s"));
    assert_eq!(ev.tgid, pid);
    assert_eq!(cstr(&ev.comm), "true");
    assert!(cstr(&ev.filename).ends_with("/true"), "{ev:?}");
}

#[test]
fn counter_skeleton_gives_a_typed_hash_map() {
    if !have_bpf() {
        return;
    }
    let skel = counter::CounterSkel::open().unwrap().load().unwrap();
    let maps = skel.maps().unwrap();
    let counts = maps.counts_typed().unwrap();
    counts.insert(&7, &42, 0).unwrap();
    assert_eq!(counts.get(&7).unwrap(), Some(42));
}

//! Maps an object fills in itself: map-in-map and prog-array initial slots (mapinmap),
//! struct_ops maps built from `.struct_ops` / `.struct_ops.link` variables
//! (struct_ops_obj, struct_ops_link: TCP congestion controls used by a real TCP
//! connection in a network namespace), and an
//! arena with `__arena` globals shared through a fixed-address mapping (arena, 6.9+).

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::AsFd;
use std::process::Command;

use oxbpf::attach::LinkMechanism;
use oxbpf::maps::Map;
use oxbpf::obj::{MapType, ObjectSpec};
use oxbpf::sys::bpf::{self, MapCreate};
use oxbpf::{Collection, LoadOptions};

fn load(name: &str) -> (ObjectSpec, Collection) {
    let spec = ObjectSpec::from_file(common::fixture(name)).unwrap();
    let coll = Collection::load(&spec, &LoadOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    (spec, coll)
}

/// Runs a socket filter once on a 64-byte packet and returns its return value.
fn run_skb(coll: &Collection, prog: &str) -> u32 {
    let p = coll.program(prog).unwrap();
    bpf::prog_test_run(p.fd().as_fd(), &mut [], &[0u8; 64])
        .unwrap_or_else(|e| panic!("running {prog}: {e}"))
        .retval
}

fn set_u32(map: &Map, key: u32, value: u32) {
    map.update(&key.to_ne_bytes(), &value.to_ne_bytes(), 0)
        .unwrap();
}

#[test]
fn map_in_map_slots_hold_the_inner_maps_the_object_names() {
    if !common::have_bpf() {
        return;
    }
    let (_, coll) = load("mapinmap.bpf.o");
    set_u32(coll.map("inner_a").unwrap(), 0, 11);
    set_u32(coll.map("inner_b").unwrap(), 0, 22);
    assert_eq!(run_skb(&coll, "read_outer"), 0);
    let bss = coll.global_data(".bss").unwrap();
    let empty = 0xffff_ffff;
    // outer_arr = { [0] = &inner_b, [2] = &inner_a }
    assert_eq!(bss.get::<[u32; 3]>("arr_seen").unwrap(), [22, empty, 11]);
    // outer_hash = { [1] = &inner_a, [4] = &inner_b }
    assert_eq!(
        bss.get::<[u32; 5]>("hash_seen").unwrap(),
        [empty, 11, empty, empty, 22]
    );
    // The slots hold the very maps the collection has: a change shows through them.
    set_u32(coll.map("inner_a").unwrap(), 0, 33);
    run_skb(&coll, "read_outer");
    assert_eq!(bss.get::<[u32; 3]>("arr_seen").unwrap(), [22, empty, 33]);
}

#[test]
fn inner_template_decides_which_maps_fit_a_slot() {
    if !common::have_bpf() {
        return;
    }
    let (_, coll) = load("mapinmap.bpf.o");
    let templ = coll.map("templ_only").unwrap();
    assert_eq!(templ.def().map_type, MapType::HASH_OF_MAPS.0);
    assert!(templ.lookup(&0u32.to_ne_bytes()).unwrap().is_none());
    // The template is HASH, u64 -> u64, 8 entries: a map like it fits, an array does not.
    let fits = bpf::map_create(&MapCreate::new(MapType::HASH.0, 8, 8, 8)).unwrap();
    templ
        .update(&0u32.to_ne_bytes(), &(fits.raw() as u32).to_ne_bytes(), 0)
        .unwrap();
    let other = bpf::map_create(&MapCreate::new(MapType::ARRAY.0, 4, 8, 8)).unwrap();
    let err = templ
        .update(&1u32.to_ne_bytes(), &(other.raw() as u32).to_ne_bytes(), 0)
        .unwrap_err();
    assert!(err.to_string().contains("EINVAL"), "{err}");
}

#[test]
fn prog_array_slots_hold_the_programs_the_object_names() {
    if !common::have_bpf() {
        return;
    }
    let (_, coll) = load("mapinmap.bpf.o");
    let bss = coll.global_data(".bss").unwrap();
    // jmp = { [1] = tail_one, [3] = tail_three }; an empty slot falls through to 100.
    for (idx, want) in [(0u32, 100u32), (1, 1), (2, 100), (3, 3)] {
        bss.set("tail_idx", &idx).unwrap();
        assert_eq!(run_skb(&coll, "tail_entry"), want, "tail_idx {idx}");
    }
}

#[test]
fn prog_array_slot_of_a_program_not_loaded_stays_empty_with_a_warning() {
    if !common::have_bpf() {
        return;
    }
    let mut spec = ObjectSpec::from_file(common::fixture("mapinmap.bpf.o")).unwrap();
    for p in &mut spec.programs {
        if p.name == "tail_three" {
            p.def.autoload = false;
        }
    }
    let coll = Collection::load(&spec, &LoadOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    assert!(coll.program("tail_three").is_none());
    let warned = coll
        .warnings()
        .iter()
        .any(|w| w.contains("\"jmp\"") && w.contains("[3]") && w.contains("tail_three"));
    assert!(warned, "{:?}", coll.warnings());
    let bss = coll.global_data(".bss").unwrap();
    for (idx, want) in [(1u32, 1u32), (3, 100)] {
        bss.set("tail_idx", &idx).unwrap();
        assert_eq!(run_skb(&coll, "tail_entry"), want, "tail_idx {idx}");
    }
}

fn cc_registered(name: &str) -> bool {
    common::available_cc().split_whitespace().any(|n| n == name)
}

/// A network namespace (lo up) whose default congestion control is set by the test;
/// deleted on drop.
struct Netns(String);

impl Netns {
    fn new(tag: &str) -> Netns {
        let name = format!("oxobjcc{tag}{}", std::process::id());
        let ok = |args: &[&str]| {
            let out = Command::new("ip").args(args).output().unwrap();
            assert!(
                out.status.success(),
                "ip {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        ok(&["netns", "add", &name]);
        let ns = Netns(name);
        ok(&["-n", &ns.0, "link", "set", "lo", "up"]);
        ns
    }

    /// In the namespace: makes `cc` the default congestion control, then opens one TCP
    /// connection over loopback and moves a few bytes each way.
    fn tcp_roundtrip_with(&self, cc: &str) {
        let ns = std::fs::File::open(format!("/run/netns/{}", self.0)).unwrap();
        std::thread::scope(|s| {
            s.spawn(move || {
                nix::sched::setns(ns.as_fd(), nix::sched::CloneFlags::CLONE_NEWNET).unwrap();
                std::fs::write("/proc/sys/net/ipv4/tcp_congestion_control", cc)
                    .unwrap_or_else(|e| panic!("setting the congestion control to {cc}: {e}"));
                let l = TcpListener::bind("127.0.0.1:0").unwrap();
                let mut c = TcpStream::connect(l.local_addr().unwrap()).unwrap();
                let (mut a, _) = l.accept().unwrap();
                c.write_all(b"ping").unwrap();
                let mut buf = [0u8; 4];
                a.read_exact(&mut buf).unwrap();
                a.write_all(b"pong").unwrap();
                c.read_exact(&mut buf).unwrap();
                assert_eq!(&buf, b"pong");
            })
            .join()
            .unwrap()
        })
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).output();
    }
}

#[test]
fn struct_ops_from_the_object_registers_at_attach_and_runs_on_a_tcp_connection() {
    if !common::have_bpf_tcp_cc() {
        return;
    }
    assert!(
        !cc_registered("oxobj_cc"),
        "left over: {}",
        common::available_cc()
    );
    let mut spec = ObjectSpec::from_file(common::fixture("struct_ops_obj.bpf.o")).unwrap();
    // As in libbpf, the programs a struct_ops map references load with it even when
    // their autoload is off (veristat-style loads of one program keep the object whole).
    for p in &mut spec.programs {
        p.def.autoload = false;
    }
    let coll = Collection::load(&spec, &LoadOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(coll.programs().count(), 4);
    let ops = coll.struct_ops("oxbpf_cc").unwrap();
    assert_eq!(ops.type_name(), "tcp_congestion_ops");
    assert!(!ops.is_link());
    // Loading registers nothing (an object may hold tables it never uses).
    assert!(!cc_registered("oxobj_cc"), "{}", common::available_cc());
    let links = coll.attach_all().unwrap();
    assert_eq!(links.len(), 1);
    assert_eq!(links[0].mechanism(), LinkMechanism::StructOpsMap);
    // Registered with its value; the name comes from the shadow data.
    assert!(cc_registered("oxobj_cc"), "{}", common::available_cc());
    let again = ops.attach().unwrap_err().to_string();
    assert!(again.contains("BPF_MAP_UPDATE_ELEM"), "{again}");

    let bss = coll.global_data(".bss").unwrap();
    Netns::new("p").tcp_roundtrip_with("oxobj_cc");
    // `init` ran for the connecting and the accepted socket.
    assert_eq!(bss.get::<u64>("init_calls").unwrap(), 2);
    drop(links);
    assert!(
        !cc_registered("oxobj_cc"),
        "link dropped: {}",
        common::available_cc()
    );
    // A struct_ops map registers once: the kernel refuses it again after unregistering.
    let err = ops.attach().unwrap_err().to_string();
    assert!(err.contains("EBUSY"), "{err}");
    assert!(!cc_registered("oxobj_cc"), "{}", common::available_cc());
}

#[test]
fn struct_ops_link_registers_at_attach_and_unregisters_on_drop() {
    if !common::have_bpf_tcp_cc() {
        return;
    }
    if !common::release_at_least("6.4") {
        eprintln!("skipping: struct_ops links (BPF_F_LINK) need Linux 6.4");
        return;
    }
    assert!(
        !cc_registered("oxobj_ccp") && !cc_registered("oxobj_ccl"),
        "left over: {}",
        common::available_cc()
    );
    let (_, coll) = load("struct_ops_link.bpf.o");
    assert!(coll.struct_ops("oxbpf_ccl").unwrap().is_link());
    assert!(!coll.struct_ops("oxbpf_ccp").unwrap().is_link());
    assert!(!cc_registered("oxobj_ccp") && !cc_registered("oxobj_ccl"));
    let links = coll.attach_all().unwrap();
    let mechanisms: Vec<LinkMechanism> = links.iter().map(|l| l.mechanism()).collect();
    assert_eq!(
        mechanisms,
        [LinkMechanism::StructOpsMap, LinkMechanism::BpfLink],
        "the .struct_ops map by its value, the .struct_ops.link one by a bpf_link"
    );
    assert!(links[1].link_fd().is_some());
    assert!(cc_registered("oxobj_ccp"), "{}", common::available_cc());
    assert!(cc_registered("oxobj_ccl"), "{}", common::available_cc());

    // The same programs serve both algorithms.
    let bss = coll.global_data(".bss").unwrap();
    Netns::new("l").tcp_roundtrip_with("oxobj_ccl");
    assert_eq!(bss.get::<u64>("init_calls").unwrap(), 2);
    Netns::new("p2").tcp_roundtrip_with("oxobj_ccp");
    assert_eq!(bss.get::<u64>("init_calls").unwrap(), 4);

    drop(links);
    assert!(
        !cc_registered("oxobj_ccp") && !cc_registered("oxobj_ccl"),
        "links dropped: {}",
        common::available_cc()
    );
}

#[test]
fn arena_globals_are_shared_through_the_fixed_address_mapping() {
    if !common::have_bpf() || !common::have_map_type(MapType::ARENA) {
        return;
    }
    let (spec, coll) = load("arena.bpf.o");
    let arena = coll.arena("arena").unwrap();
    assert_eq!(arena.addr(), 0x1000_0000_0000, "the map_extra address");
    assert_eq!(arena.len(), 4 * oxbpf::sys::page_size());
    let off = |name: &str| spec.global(name).unwrap().offset as usize;
    // Initial values from .addr_space.1.
    assert_eq!(arena.read_u32(off("to_user")).unwrap(), 7);
    assert_eq!(arena.read_u64(off("runs")).unwrap(), 40);
    assert_eq!(arena.read_u32(off("from_user")).unwrap(), 0);
    let prog = coll.program("arena_rw").unwrap();
    for (i, input) in [20u32, 5].into_iter().enumerate() {
        // User space writes, the program reads; the program writes, user space reads.
        arena.write_u32(off("from_user"), input).unwrap();
        let ret = prog.test_run(&mut []).unwrap();
        assert_eq!(ret, input * 2 + 1);
        assert_eq!(arena.read_u32(off("to_user")).unwrap(), input * 2 + 1);
        assert_eq!(arena.read_u64(off("runs")).unwrap(), 41 + i as u64);
    }
}

//! Kernel tests of the typed views of storage and redirect maps: task, socket and cgroup
//! local storage written from user space and read by programs that really run on this
//! thread's syscalls and socket state changes, and the reverse (storage.bpf.o,
//! cgrp_storage.bpf.o); legacy cgroup storage used by a cgroup_skb program on a child
//! process's packets (cgroup_storage.bpf.o); inode storage from user space
//! (inode_storage.bpf.o); sockmap/sockhash holding sockets and reporting their cookies;
//! devmap, devmap_hash and cpumap entries written and read back; xskmap lookups refused
//! with a typed error.

mod common;

use std::io::Write;
use std::net::{Shutdown, TcpListener, TcpStream};
use std::os::fd::AsFd;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use common::{have_bpf, have_map_type, have_prog_type, load, release_at_least};
use oxbpf::maps::{
    CgroupStorage, CgroupStorageKey, CgrpStorage, CpuMap, CpuMapValue, DevMap, DevMapValue, Error,
    InodeStorage, Map, PerCpuCgroupStorage, SkStorage, SockHash, SockMap, TaskStorage, XskMap,
};
use oxbpf::obj::{MapType, ProgramType};
use oxbpf::sys::bpf::{self, MapCreate};

/// `struct val` of the storage fixtures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[repr(C)]
struct Val {
    from_user: u64,
    from_prog: u64,
    hits: u64,
}
oxbpf::sys::impl_pod!(Val);

/// `struct val` of cgroup_storage.bpf.c.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[repr(C)]
struct CgVal {
    from_user: u64,
    packets: u64,
}
oxbpf::sys::impl_pod!(CgVal);

const TASK_MAGIC: u64 = 0x7a5c_0000_0000_0001;
const SK_MAGIC: u64 = 0x5c0c_0000_0000_0002;
const LISTEN_MAGIC: u64 = 0x115e_0000_0000_0003;
const CG_MAGIC: u64 = 0xc9a0_0000_0000_0004;

fn tid() -> u32 {
    let link = std::fs::read_link("/proc/thread-self").unwrap();
    link.file_name().unwrap().to_str().unwrap().parse().unwrap()
}

fn getpid() {
    // std::process::id() is a getpid(2) each time.
    std::hint::black_box(std::process::id());
}

/// tp_btf programs with local storage from tracing programs: 5.11+.
fn have_tracing_storage(t: MapType) -> bool {
    if !have_bpf() || !have_map_type(t) {
        return false;
    }
    // tp_btf programs (BPF_PROG_TYPE_TRACING) need vmlinux BTF. (The facade's probe of
    // that program type loads an fentry program, which this host refuses: not asked.)
    if oxbpf::kernel_btf::vmlinux().is_err() {
        eprintln!("skipping: no /sys/kernel/btf/vmlinux for tp_btf programs");
        return false;
    }
    if !release_at_least("5.11") {
        eprintln!("skipping: local storage from tracing programs needs 5.11");
        return false;
    }
    true
}

#[test]
fn task_storage_round_trips_between_a_pidfd_and_a_program_on_getpid() {
    if !have_tracing_storage(MapType::TASK_STORAGE) {
        return;
    }
    let pidfd = match oxbpf::sys::ids::pidfd_open(std::process::id()) {
        Ok(fd) => fd,
        Err(e) => {
            eprintln!("skipping: pidfd_open is not available here ({e}; since 5.3)");
            return;
        }
    };
    let coll = load("storage.bpf.o");
    let tasks: TaskStorage<'_, Val> = TaskStorage::new(coll.map("task_store").unwrap()).unwrap();
    let bss = coll.global_data(".bss").unwrap();
    assert_eq!(tasks.get(pidfd.as_fd()).unwrap(), None);

    // User space writes, the program reads (and answers).
    let x = 0x1234_5678_9abc_def0;
    let mine = Val {
        from_user: x,
        ..Val::default()
    };
    tasks.insert(pidfd.as_fd(), &mine, 0).unwrap();
    let _link = coll.program("on_getpid").unwrap().attach().unwrap();
    bss.set("target_tid", &tid()).unwrap();
    getpid();
    getpid();
    bss.set("target_tid", &0u32).unwrap();
    assert_eq!(bss.get::<u64>("task_seen").unwrap(), x);
    let v = tasks
        .get(pidfd.as_fd())
        .unwrap()
        .expect("our process's storage");
    assert_eq!(v.from_user, x);
    assert_eq!(v.from_prog, TASK_MAGIC ^ x);
    assert_eq!(v.hits, 2, "one run per getpid of this thread");

    // Removed from user space, then created by the program (BPF_LOCAL_STORAGE_GET_F_CREATE).
    assert!(tasks.remove(pidfd.as_fd()).unwrap());
    assert!(!tasks.remove(pidfd.as_fd()).unwrap());
    assert_eq!(tasks.get(pidfd.as_fd()).unwrap(), None);
    bss.set("target_tid", &tid()).unwrap();
    getpid();
    bss.set("target_tid", &0u32).unwrap();
    let v = tasks
        .get(pidfd.as_fd())
        .unwrap()
        .expect("created by the program");
    assert_eq!(
        v,
        Val {
            from_user: 0,
            from_prog: TASK_MAGIC,
            hits: 1
        }
    );

    // A descriptor that is not a pidfd is refused by the kernel, named.
    let f = std::fs::File::open("/proc/self/status").unwrap();
    let e = tasks.get(f.as_fd()).unwrap_err().to_string();
    assert!(
        e.starts_with(r#"map "task_store": BPF_MAP_LOOKUP_ELEM"#),
        "{e}"
    );
    // A view of the wrong kind is refused at open.
    let e = SkStorage::<Val>::new(coll.map("task_store").unwrap())
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        r#"map "task_store": is of type 29 (task_storage), SkStorage needs sk_storage"#
    );
    let e = TaskStorage::<u64>::new(coll.map("task_store").unwrap())
        .unwrap_err()
        .to_string();
    assert_eq!(e, r#"map "task_store": value is 8 bytes, map has 24"#);
}

#[test]
fn sk_storage_is_read_and_written_by_a_program_on_tcp_state_changes() {
    if !have_tracing_storage(MapType::SK_STORAGE) {
        return;
    }
    let coll = load("storage.bpf.o");
    let socks: SkStorage<'_, Val> = SkStorage::new(coll.map("sk_store").unwrap()).unwrap();
    let made: SkStorage<'_, Val> = SkStorage::new(coll.map("sk_made").unwrap()).unwrap();
    let bss = coll.global_data(".bss").unwrap();
    let _link = coll.program("on_sock_state").unwrap().attach().unwrap();

    // The program creates storage for a socket of ours entering LISTEN.
    bss.set("target_tid", &tid()).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    bss.set("target_tid", &0u32).unwrap();
    assert_eq!(bss.get::<u64>("listens").unwrap(), 1);
    let v = made
        .get(listener.as_fd())
        .unwrap()
        .expect("created on LISTEN");
    assert_eq!(v.from_prog, LISTEN_MAGIC);
    assert_eq!(v.hits, 1);
    assert_eq!(socks.get(listener.as_fd()).unwrap(), None);

    // User space writes the storage of a connected socket; its FIN_WAIT1 transition
    // (shutdown on this thread) makes the program read it and answer.
    let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (server, _) = listener.accept().unwrap();
    assert_eq!(made.get(client.as_fd()).unwrap(), None, "never listened");
    let x = 0x0bad_cafe_f00d_0001;
    socks
        .insert(
            client.as_fd(),
            &Val {
                from_user: x,
                ..Val::default()
            },
            1, // BPF_NOEXIST
        )
        .unwrap();
    bss.set("target_tid", &tid()).unwrap();
    client.shutdown(Shutdown::Write).unwrap();
    bss.set("target_tid", &0u32).unwrap();
    assert_eq!(bss.get::<u64>("sk_seen").unwrap(), x);
    let v = socks.get(client.as_fd()).unwrap().expect("still stored");
    assert_eq!(v.from_user, x);
    assert_eq!(v.from_prog, SK_MAGIC ^ x);
    assert!(v.hits >= 1, "{v:?}");
    assert_eq!(
        socks.get(server.as_fd()).unwrap(),
        None,
        "storage is per socket"
    );

    // BPF_NOEXIST on an existing value fails (EEXIST); delete; a file is not a socket.
    let e = socks
        .insert(client.as_fd(), &Val::default(), 1)
        .unwrap_err();
    assert_eq!(e.errno(), Some(oxbpf::sys::Errno::EEXIST), "{e}");
    assert!(socks.remove(client.as_fd()).unwrap());
    assert_eq!(socks.get(client.as_fd()).unwrap(), None);
    let f = std::fs::File::open("/proc/self/status").unwrap();
    assert!(socks.insert(f.as_fd(), &Val::default(), 0).is_err());
}

/// The cgroup v2 directory this process is in (`0::/path` of /proc/self/cgroup).
fn own_cgroup() -> Option<PathBuf> {
    let root = oxbpf::attach::cgroup::cgroup2_mount().ok()?;
    let text = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    let rel = text.lines().find_map(|l| l.strip_prefix("0::"))?;
    Some(root.join(rel.trim_start_matches('/')))
}

#[test]
fn cgrp_storage_round_trips_between_a_cgroup_fd_and_a_program() {
    if !have_tracing_storage(MapType::CGRP_STORAGE) {
        return;
    }
    let Some(dir) = own_cgroup() else {
        eprintln!("skipping: no cgroup v2 directory for this process");
        return;
    };
    let cg = std::fs::File::open(&dir).unwrap();
    let coll = load("cgrp_storage.bpf.o");
    let store: CgrpStorage<'_, Val> = CgrpStorage::new(coll.map("cg_store").unwrap()).unwrap();
    let bss = coll.global_data(".bss").unwrap();
    let x = 0x00c0_ffee_0000_0005;
    store
        .insert(
            cg.as_fd(),
            &Val {
                from_user: x,
                ..Val::default()
            },
            0,
        )
        .unwrap();
    let _link = coll.program("on_getpid").unwrap().attach().unwrap();
    bss.set("target_tid", &tid()).unwrap();
    getpid();
    bss.set("target_tid", &0u32).unwrap();
    assert_eq!(bss.get::<u64>("cg_seen").unwrap(), x);
    let v = store.get(cg.as_fd()).unwrap().expect("stored");
    assert_eq!(
        v,
        Val {
            from_user: x,
            from_prog: CG_MAGIC ^ x,
            hits: 1
        }
    );
    assert!(store.remove(cg.as_fd()).unwrap());
    assert_eq!(store.get(cg.as_fd()).unwrap(), None);
}

static NEXT: AtomicU32 = AtomicU32::new(0);

/// A child cgroup under the cgroup v2 mount, removed on drop.
struct ChildCgroup(PathBuf);

impl ChildCgroup {
    fn new() -> Option<ChildCgroup> {
        let root = oxbpf::attach::cgroup::cgroup2_mount().ok()?;
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = root.join(format!("oxd3-{}-{n}", std::process::id()));
        std::fs::create_dir(&dir).ok()?;
        Some(ChildCgroup(dir))
    }

    /// Sends 3 UDP datagrams to 127.0.0.1:9 from a child bash inside the cgroup.
    fn send(&self) {
        let script = format!(
            "echo $$ > {} && for i in 1 2 3; do echo oxbpf > /dev/udp/127.0.0.1/9; done",
            self.0.join("cgroup.procs").display()
        );
        let st = std::process::Command::new("bash")
            .args(["-c", &script])
            .status()
            .unwrap();
        assert!(st.success(), "bash -c {script}: {st}");
    }
}

impl Drop for ChildCgroup {
    fn drop(&mut self) {
        for _ in 0..100 {
            if std::fs::remove_dir(&self.0).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

fn eventually(what: &str, f: impl Fn() -> bool) {
    for _ in 0..300 {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("timed out waiting for: {what}");
}

#[test]
fn legacy_cgroup_storage_is_shared_with_a_cgroup_skb_program() {
    if !have_bpf()
        || !have_map_type(MapType::CGROUP_STORAGE)
        || !have_map_type(MapType::PERCPU_CGROUP_STORAGE)
        || !have_prog_type(ProgramType::CGROUP_SKB)
    {
        return;
    }
    let Some(cg) = ChildCgroup::new() else {
        eprintln!("skipping: cannot create a child cgroup v2");
        return;
    };
    let coll = load("cgroup_storage.bpf.o");
    let shared: CgroupStorage<'_, CgVal> =
        CgroupStorage::new(coll.map("cg_shared").unwrap()).unwrap();
    let percpu: PerCpuCgroupStorage<'_, u64> =
        PerCpuCgroupStorage::new(coll.map("cg_percpu").unwrap()).unwrap();
    let bss = coll.global_data(".bss").unwrap();
    let key = CgroupStorageKey::new(std::fs::metadata(&cg.0).unwrap().ino(), 1);
    assert_eq!(shared.get(&key).unwrap(), None, "no attachment yet");

    let link = coll
        .program("cg_egress")
        .unwrap()
        .attach_cgroup(&cg.0)
        .unwrap();
    let keys: Vec<CgroupStorageKey> = shared.keys().map(|k| k.unwrap()).collect();
    assert_eq!(keys, vec![key], "one entry per attachment");
    assert_eq!(shared.get(&key).unwrap(), Some(CgVal::default()));
    let x = 0x5eed_0000_0000_0006;
    shared
        .set(
            &key,
            &CgVal {
                from_user: x,
                packets: 0,
            },
        )
        .unwrap();
    let cpus = percpu.get(&key).unwrap().expect("per-CPU entry").len();
    assert_eq!(cpus, oxbpf::sys::possible_cpus().unwrap());
    percpu.set(&key, &vec![1000; cpus]).unwrap();

    cg.send();
    eventually("3 packets through the program", || {
        shared.get(&key).unwrap().is_some_and(|v| v.packets >= 3)
    });
    assert_eq!(bss.get::<u64>("seen_user").unwrap(), x);
    let v = shared.get(&key).unwrap().unwrap();
    assert_eq!(v.from_user, x);
    let per: Vec<u64> = percpu.get(&key).unwrap().unwrap();
    assert_eq!(
        per.iter().map(|c| c - 1000).sum::<u64>(),
        v.packets,
        "each packet counted once, on some CPU: {per:?}"
    );

    // Entries cannot be created by user space: another cgroup's key is refused.
    let other = CgroupStorageKey::new(key.cgroup_inode_id + 1_000_000, 1);
    assert!(shared.set(&other, &CgVal::default()).is_err());
    drop(link);
}

#[test]
fn inode_storage_round_trips_through_a_file_descriptor() {
    if !have_bpf() || !have_map_type(MapType::INODE_STORAGE) {
        return;
    }
    let spec = oxbpf::ObjectSpec::from_file(common::fixture("inode_storage.bpf.o")).unwrap();
    let coll = match oxbpf::Collection::load(&spec, &oxbpf::LoadOptions::default()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("skipping: inode storage maps cannot be created here ({e})");
            return;
        }
    };
    let store: InodeStorage<'_, Val> = InodeStorage::new(coll.map("inode_store").unwrap()).unwrap();
    let path = std::env::temp_dir().join(format!("oxbpf-inode-{}", std::process::id()));
    let mut f = std::fs::File::create(&path).unwrap();
    f.write_all(b"x").unwrap();
    let v = Val {
        from_user: 7,
        from_prog: 0,
        hits: 0,
    };
    match store.insert(f.as_fd(), &v, 0) {
        Ok(()) => {}
        Err(e) => {
            let _ = std::fs::remove_file(&path);
            // Without the BPF LSM active (lsm=...,bpf) inodes have no storage blob.
            eprintln!("skipping: inode storage is not usable here ({e}; needs the BPF LSM)");
            return;
        }
    }
    // Another descriptor of the same file names the same inode.
    let g = std::fs::File::open(&path).unwrap();
    assert_eq!(store.get(g.as_fd()).unwrap(), Some(v));
    assert!(store.remove(g.as_fd()).unwrap());
    assert_eq!(store.get(f.as_fd()).unwrap(), None);
    std::fs::remove_file(&path).unwrap();
}

fn raw_map(name: &str, t: u32, key: u32, value: u32, max: u32) -> Option<Map> {
    match bpf::map_create(&MapCreate::new(t, key, value, max)) {
        Ok(fd) => Some(Map::from_fd(name, fd).unwrap()),
        Err(e) => {
            eprintln!("skipping: cannot create a {name} map here ({e})");
            None
        }
    }
}

fn tcp_pair() -> (TcpListener, TcpStream, TcpStream) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let c = TcpStream::connect(l.local_addr().unwrap()).unwrap();
    let (s, _) = l.accept().unwrap();
    (l, c, s)
}

#[test]
fn sockmap_and_sockhash_hold_sockets_and_report_their_cookies() {
    if !have_bpf() || !have_map_type(MapType::SOCKMAP) || !have_map_type(MapType::SOCKHASH) {
        return;
    }
    if !release_at_least("5.10") {
        eprintln!("skipping: sockmap lookups from user space return cookies since 5.10");
        return;
    }
    let Some(m) = raw_map("socks", 15, 4, 8, 4) else {
        return;
    };
    let socks = SockMap::new(&m).unwrap();
    let (_l, client, server) = tcp_pair();
    let cookie = |s: &TcpStream| oxbpf::sys::ids::socket_cookie(s.as_fd()).unwrap();
    assert_eq!(socks.cookie(0).unwrap(), None);
    socks.set(0, client.as_fd(), 0).unwrap();
    socks.set(3, server.as_fd(), 0).unwrap();
    assert_eq!(socks.cookie(0).unwrap(), Some(cookie(&client)));
    assert_eq!(socks.cookie(3).unwrap(), Some(cookie(&server)));
    assert_ne!(cookie(&client), cookie(&server));
    assert!(socks.remove(0).unwrap());
    assert_eq!(socks.cookie(0).unwrap(), None);
    let e = socks.set(4, client.as_fd(), 0).unwrap_err().to_string();
    assert!(e.contains("index 4 is out of bounds"), "{e}");
    let f = std::fs::File::open("/proc/self/status").unwrap();
    assert!(socks.set(1, f.as_fd(), 0).is_err(), "not a socket");

    let Some(h) = raw_map("sockh", 18, 8, 8, 16) else {
        return;
    };
    let hash: SockHash<'_, u64> = SockHash::new(&h).unwrap();
    hash.insert(&0xfeed, client.as_fd(), 0).unwrap();
    assert_eq!(hash.cookie(&0xfeed).unwrap(), Some(cookie(&client)));
    assert_eq!(hash.cookie(&1).unwrap(), None);
    assert_eq!(
        hash.keys().map(|k| k.unwrap()).collect::<Vec<_>>(),
        vec![0xfeed]
    );
    assert!(hash.remove(&0xfeed).unwrap());

    // 4-byte values take descriptors but cannot report cookies.
    let Some(m4) = raw_map("socks4", 15, 4, 4, 2) else {
        return;
    };
    let s4 = SockMap::new(&m4).unwrap();
    s4.set(0, client.as_fd(), 0).unwrap();
    let e = s4.cookie(0).unwrap_err();
    assert!(matches!(e, Error::NotFromUserSpace { .. }), "{e}");
    assert!(e.to_string().contains("8-byte values"), "{e}");
    let e = SockHash::<u32>::new(&h).unwrap_err().to_string();
    assert_eq!(e, r#"map "sockh": key is 4 bytes, map has 8"#);
}

#[test]
fn devmap_and_cpumap_entries_are_written_and_read_back() {
    if !have_bpf() || !have_map_type(MapType::DEVMAP) || !have_map_type(MapType::CPUMAP) {
        return;
    }
    // 8-byte values (struct bpf_devmap_val / bpf_cpumap_val with a program slot): 5.8 / 5.9.
    let wide = release_at_least("5.9");
    let vs = if wide { 8 } else { 4 };
    let Some(d) = raw_map("devs", 14, 4, vs, 8) else {
        return;
    };
    let devs = DevMap::new(&d).unwrap();
    assert_eq!(devs.get(2).unwrap(), None);
    devs.set(2, 1, None).unwrap(); // lo
    assert_eq!(
        devs.get(2).unwrap(),
        Some(DevMapValue {
            ifindex: 1,
            prog_id: None
        })
    );
    let e = devs.set(8, 1, None).unwrap_err().to_string();
    assert!(
        e.contains("index 8 is out of bounds (max_entries 8)"),
        "{e}"
    );
    assert!(devs.set(3, 0x7fff_fff0, None).is_err(), "no such device");
    devs.remove(2).unwrap();
    assert_eq!(devs.get(2).unwrap(), None);
    devs.remove(2).unwrap(); // an empty slot: no error either

    if have_map_type(MapType::DEVMAP_HASH)
        && let Some(dh) = raw_map("devh", 25, 4, vs, 8)
    {
        let devh = DevMap::new(&dh).unwrap();
        devh.set(1_000_000, 1, None).unwrap();
        assert_eq!(devh.get(1_000_000).unwrap().map(|v| v.ifindex), Some(1));
        assert_eq!(devh.get(7).unwrap(), None);
    }

    let cpus = oxbpf::sys::possible_cpus().unwrap() as u32;
    let Some(c) = raw_map("cpus", 16, 4, vs, cpus) else {
        return;
    };
    let cpumap = CpuMap::new(&c).unwrap();
    cpumap.set(0, 192, None).unwrap();
    assert_eq!(
        cpumap.get(0).unwrap(),
        Some(CpuMapValue {
            qsize: 192,
            prog_id: None
        })
    );
    assert!(
        cpumap.set(0, 0, None).is_err(),
        "qsize 0 refused before the kernel"
    );
    cpumap.remove(0).unwrap();
    assert_eq!(cpumap.get(0).unwrap(), None);

    // Typed errors: wrong view, and a program slot the map does not have.
    let e = DevMap::new(&c).unwrap_err().to_string();
    assert_eq!(
        e,
        r#"map "cpus": is of type 16 (cpumap), DevMap needs devmap or devmap_hash"#
    );
    if let Some(d4) = raw_map("devs4", 14, 4, 4, 2) {
        let devs4 = DevMap::new(&d4).unwrap();
        let e = devs4.set(0, 1, Some(d4.fd())).unwrap_err().to_string();
        assert!(e.contains("needs 8-byte values"), "{e}");
    }
}

#[test]
fn xskmap_lookups_are_refused_with_the_reason() {
    if !have_bpf() || !have_map_type(MapType::XSKMAP) {
        return;
    }
    let Some(m) = raw_map("xsks", 17, 4, 4, 4) else {
        return;
    };
    let xsks = XskMap::new(&m).unwrap();
    let e = xsks.get(0).unwrap_err();
    assert!(matches!(e, Error::NotFromUserSpace { .. }), "{e}");
    assert!(e.to_string().contains("only programs"), "{e}");
    // What the kernel itself answers to a raw lookup.
    let raw = m.lookup(&0u32.to_ne_bytes()).unwrap_err();
    assert_eq!(raw.errno(), Some(oxbpf::sys::Errno::ENOTSUP), "{raw}");
    // Only AF_XDP sockets go in.
    let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    assert!(xsks.set(0, udp.as_fd()).is_err());
    xsks.remove(0).unwrap();
    let e = XskMap::new(&oxbpf_sockmap(&m)).map(|_| ()).unwrap_err();
    assert!(matches!(e, Error::WrongType { .. }), "{e}");
}

/// A sockmap to show XskMap refusing another type.
fn oxbpf_sockmap(_like: &Map) -> Map {
    let fd = bpf::map_create(&MapCreate::new(15, 4, 8, 1)).unwrap();
    Map::from_fd("not_xsk", fd).unwrap()
}

#[test]
fn user_ringbuf_blocking_reserve_waits_for_the_program_to_drain() {
    if !have_bpf() || !have_map_type(MapType::USER_RINGBUF) || !have_prog_type(ProgramType::SYSCALL)
    {
        return;
    }
    let coll = load("userring.bpf.o");
    let mut ring = oxbpf::maps::UserRingBuf::new(coll.map("urb").unwrap()).unwrap();
    let bss = coll.global_data(".bss").unwrap();
    let drain = coll.program("drain").unwrap();
    let put = |s: &mut oxbpf::maps::Sample<'_>, seq: u32| {
        let mut b = [0u8; 16];
        b[..4].copy_from_slice(&seq.to_ne_bytes());
        b[4..8].copy_from_slice(&16u32.to_ne_bytes());
        s.write(0, &b).unwrap();
    };
    // Fill the 4 KiB ring with 16-byte samples (24 bytes each: 170 fit).
    let mut n = 0u32;
    while let Some(mut s) = ring.reserve(16).unwrap() {
        put(&mut s, n);
        s.submit().unwrap();
        n += 1;
    }
    assert_eq!(n, 170);

    // Nobody drains: the wait ends at the timeout, empty-handed.
    let t0 = std::time::Instant::now();
    assert!(
        ring.reserve_blocking(16, Some(Duration::from_millis(100)))
            .unwrap()
            .is_none()
    );
    assert!(t0.elapsed() >= Duration::from_millis(100));

    // The program drains from another thread a little later: the wait ends then.
    std::thread::scope(|sc| {
        let drainer = sc.spawn(|| {
            std::thread::sleep(Duration::from_millis(150));
            drain.test_run(&mut []).unwrap()
        });
        let t0 = std::time::Instant::now();
        let mut s = ring
            .reserve_blocking(16, Some(Duration::from_secs(10)))
            .unwrap()
            .expect("room after the drain");
        let waited = t0.elapsed();
        put(&mut s, 1000);
        s.submit().unwrap();
        assert_eq!(drainer.join().unwrap(), 170, "samples drained");
        assert!(
            waited >= Duration::from_millis(100) && waited < Duration::from_secs(10),
            "woken by the drain after {waited:?}"
        );
    });
    assert_eq!(drain.test_run(&mut []).unwrap(), 1);
    assert_eq!(bss.get::<u32>("total").unwrap(), 171);
    // With room, no wait at all.
    let t0 = std::time::Instant::now();
    let s = ring.reserve_blocking(16, None).unwrap().expect("room");
    s.discard().unwrap();
    assert!(t0.elapsed() < Duration::from_secs(1));
}

/// A veth pair in this namespace (no addresses), removed on drop.
struct VethPair {
    a: String,
    ifindex_a: u32,
    ifindex_b: u32,
}

impl VethPair {
    fn new() -> Option<VethPair> {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let a = format!("oxd3a{}{n}", std::process::id() % 100_000);
        let b = format!("oxd3b{}{n}", std::process::id() % 100_000);
        let ip = |args: &[&str]| {
            std::process::Command::new("ip")
                .args(args)
                .status()
                .is_ok_and(|s| s.success())
        };
        if !ip(&["link", "add", &a, "type", "veth", "peer", "name", &b]) {
            eprintln!("skipping: cannot create a veth pair (ip link add ... type veth)");
            return None;
        }
        let pair = VethPair {
            a,
            ifindex_a: 0,
            ifindex_b: 0,
        };
        if !ip(&["link", "set", &pair.a, "up"]) || !ip(&["link", "set", &b, "up"]) {
            eprintln!("skipping: cannot bring the veth pair up");
            return None;
        }
        let mut pair = pair;
        let idx = std::fs::read_to_string(format!("/sys/class/net/{}/ifindex", pair.a)).ok()?;
        pair.ifindex_a = idx.trim().parse().ok()?;
        let idx = std::fs::read_to_string(format!("/sys/class/net/{b}/ifindex")).ok()?;
        pair.ifindex_b = idx.trim().parse().ok()?;
        Some(pair)
    }
}

impl Drop for VethPair {
    fn drop(&mut self) {
        let _ = std::process::Command::new("ip")
            .args(["link", "del", &self.a])
            .status();
    }
}

#[test]
fn devmap_and_cpumap_programs_run_on_frames_redirected_by_live_test_runs() {
    if !have_bpf() || !have_map_type(MapType::DEVMAP) || !have_map_type(MapType::CPUMAP) {
        return;
    }
    if !release_at_least("5.9") {
        eprintln!("skipping: devmap (5.8) and cpumap (5.9) entry programs are newer");
        return;
    }
    let Some(veth) = VethPair::new() else {
        return;
    };
    let coll = load("redirect.bpf.o");
    let devs = DevMap::new(coll.map("devs").unwrap()).unwrap();
    let cpus = CpuMap::new(coll.map("cpus").unwrap()).unwrap();
    let bss = coll.global_data(".bss").unwrap();
    let id = |p: &str| {
        bpf::prog_info(coll.program(p).unwrap().fd().as_fd())
            .unwrap()
            .id
    };
    let (on_dev, on_cpu) = (
        coll.program("on_dev").unwrap(),
        coll.program("on_cpu").unwrap(),
    );

    devs.set(0, veth.ifindex_a, Some(on_dev.fd().as_fd()))
        .unwrap();
    assert_eq!(
        devs.get(0).unwrap(),
        Some(DevMapValue {
            ifindex: veth.ifindex_a,
            prog_id: Some(id("on_dev"))
        })
    );
    cpus.set(0, 64, Some(on_cpu.fd().as_fd())).unwrap();
    assert_eq!(
        cpus.get(0).unwrap(),
        Some(CpuMapValue {
            qsize: 64,
            prog_id: Some(id("on_cpu"))
        })
    );
    // A program of the wrong expected attach type is refused by the kernel.
    let to_dev = coll.program("to_dev").unwrap();
    assert!(
        devs.set(1, veth.ifindex_a, Some(to_dev.fd().as_fd()))
            .is_err()
    );

    if !release_at_least("5.18") {
        eprintln!("skipping the live part: BPF_F_TEST_XDP_LIVE_FRAMES needs 5.18");
        return;
    }
    // The veth takes redirected frames only while its peer runs an XDP program.
    let _peer_xdp = coll
        .program("pass")
        .unwrap()
        .attach_xdp(veth.ifindex_b, oxbpf::attach::xdp::XdpMode::Native)
        .unwrap();
    // An Ethernet frame (IPv4 ethertype, zero payload).
    let mut frame = vec![0u8; 64];
    frame[..6].copy_from_slice(&[0x02, 0, 0, 0, 0, 1]);
    frame[6..12].copy_from_slice(&[0x02, 0, 0, 0, 0, 2]);
    frame[12..14].copy_from_slice(&[0x08, 0x00]);
    bpf::prog_test_run_xdp_live(to_dev.fd().as_fd(), &frame, 10).unwrap();
    eventually("10 frames through the devmap entry's program", || {
        bss.get::<u64>("dev_runs").unwrap() == 10
    });
    assert_eq!(bss.get::<u32>("dev_ifindex").unwrap(), veth.ifindex_a);

    let to_cpu = coll.program("to_cpu").unwrap();
    bpf::prog_test_run_xdp_live(to_cpu.fd().as_fd(), &frame, 10).unwrap();
    eventually("10 frames through the cpumap entry's program", || {
        bss.get::<u64>("cpu_runs").unwrap() == 10
    });
    // Emptied slots redirect nowhere: the counts stay.
    devs.remove(0).unwrap();
    bpf::prog_test_run_xdp_live(to_dev.fd().as_fd(), &frame, 5).unwrap();
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(bss.get::<u64>("dev_runs").unwrap(), 10);
}

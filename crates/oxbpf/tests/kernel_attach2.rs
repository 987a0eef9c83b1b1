//! Socket-level hooks triggered for real: sockops and the cgroup sock, sock_addr,
//! sockopt, sysctl and device hooks (a child process in a fresh cgroup makes the TCP
//! connection, reads the sysctl or opens the device), sk_msg and sk_skb on a sockmap
//! (TCP over loopback), the flow dissector (BPF_PROG_TEST_RUN and a netns link), and
//! sk_reuseport (UDP datagrams steered inside a SO_REUSEPORT group). Needs root and
//! `bash` (the cgroup children); only loopback is used.

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use oxbpf::attach::LinkMechanism;
use oxbpf::attach::cgroup::CgroupAttach;
use oxbpf::attach::sockmap::SockmapAttach;
use oxbpf::maps::Array;
use oxbpf::obj::ProgramType;
use oxbpf::sys::bpf::attach_flags::ALLOW_MULTI;
use oxbpf::{Collection, Error};

static NEXT: AtomicU32 = AtomicU32::new(1);

/// A child cgroup under the cgroup v2 mount, removed on drop.
struct Cgroup(PathBuf);

impl Cgroup {
    fn new() -> Cgroup {
        let root = oxbpf::attach::cgroup::cgroup2_mount().unwrap();
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = root.join(format!("oxt2-{}-{n}", std::process::id()));
        std::fs::create_dir(&dir).unwrap();
        Cgroup(dir)
    }

    /// Runs bash `script` in a child that first moves itself into this cgroup; returns
    /// whether the script succeeded.
    fn bash(&self, script: &str) -> bool {
        let procs = self.0.join("cgroup.procs");
        let script = format!("echo $$ > {} && {script}", procs.display());
        let out = Command::new("bash").args(["-c", &script]).output().unwrap();
        out.status.success()
    }

    /// Runs [`cgroup_child`] of this test binary in this cgroup; returns its stdout.
    fn child(&self) -> String {
        let out = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "cgroup_child",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, &self.0)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "child: {stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
    }
}

impl Drop for Cgroup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir(&self.0);
    }
}

fn have_bash() -> bool {
    if Command::new("bash").args(["-c", "true"]).status().is_err() {
        eprintln!("skipping: bash is not installed");
        return false;
    }
    true
}

const CHILD_ENV: &str = "OXBPF_TEST_CGROUP_CHILD";

/// The child half of [`cgroup_sockopt_hooks_answer_a_childs_getsockopt`] (run by it through
/// `Cgroup::child`, doing nothing otherwise): moves into the cgroup named by the
/// environment, binds a UDP socket, sets and reads back SO_MARK, prints `mark=<value>`.
#[test]
#[ignore = "the child half of a cgroup test, run by it"]
fn cgroup_child() {
    let Some(dir) = std::env::var_os(CHILD_ENV) else {
        return;
    };
    let dir = PathBuf::from(dir);
    std::fs::write(dir.join("cgroup.procs"), std::process::id().to_string()).unwrap();
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    nix::sys::socket::setsockopt(&s, nix::sys::socket::sockopt::Mark, &7).unwrap();
    let mark = nix::sys::socket::getsockopt(&s, nix::sys::socket::sockopt::Mark).unwrap();
    println!("mark={mark}");
}

fn hits(coll: &Collection) -> Array<'_, u64> {
    Array::<u64>::new(coll.map("hits").unwrap()).unwrap()
}

fn load_cgroup_hooks() -> Option<Collection> {
    if !common::have_bpf() || !have_bash() {
        return None;
    }
    Some(common::load("cgroup_hooks.bpf.o"))
}

#[test]
fn sockops_sees_a_childs_tcp_connect_and_establishment() {
    let Some(coll) = load_cgroup_hooks() else {
        return;
    };
    let cg = Cgroup::new();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let link = coll
        .program("count_sockops")
        .unwrap()
        .attach_cgroup(&cg.0)
        .unwrap();
    let connect = format!("exec 3<>/dev/tcp/127.0.0.1/{port} && exec 3>&-");
    assert!(cg.bash(&connect));
    listener.accept().unwrap();
    let h = hits(&coll);
    assert_eq!((h.get(0).unwrap(), h.get(1).unwrap()), (1, 1));
    drop(link);
    assert!(cg.bash(&connect));
    listener.accept().unwrap();
    assert_eq!(
        (h.get(0).unwrap(), h.get(1).unwrap()),
        (1, 1),
        "ran after detach"
    );
}

/// Connects from a child in `cg` to `listener` and accepts; the sockops counters after.
fn sockops_connect(cg: &Cgroup, listener: &TcpListener, coll: &Collection) -> (u64, u64) {
    let port = listener.local_addr().unwrap().port();
    assert!(cg.bash(&format!("exec 3<>/dev/tcp/127.0.0.1/{port} && exec 3>&-")));
    listener.accept().unwrap();
    let h = hits(coll);
    (h.get(0).unwrap(), h.get(1).unwrap())
}

#[test]
fn dropped_link_detaches_while_another_fd_holds_it_but_a_pinned_one_stays() {
    let Some(coll) = load_cgroup_hooks() else {
        return;
    };
    if !common::release_at_least("5.9") {
        eprintln!("skipping: BPF_LINK_DETACH is 5.9+");
        return;
    }
    let cg = Cgroup::new();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let prog = coll.program("count_sockops").unwrap();
    let link = prog.attach_cgroup(&cg.0).unwrap();
    // What a child of another thread holds between fork and exec: a copy of the fd.
    let copy = link.link_fd().unwrap().try_clone_to_owned().unwrap();
    assert_eq!(sockops_connect(&cg, &listener, &coll), (1, 1));
    drop(link);
    assert_eq!(
        sockops_connect(&cg, &listener, &coll),
        (1, 1),
        "ran after the link was dropped while a copy of its fd was open"
    );
    drop(copy);

    let Ok(bpffs) = oxbpf::sys::fs::bpffs() else {
        eprintln!("skipping the pinned half: no bpffs");
        return;
    };
    let path = bpffs.join(format!("oxt2-sockops-{}", std::process::id()));
    let link = prog.attach_cgroup(&cg.0).unwrap();
    link.pin(&path).unwrap();
    drop(link);
    let after_drop = sockops_connect(&cg, &listener, &coll);
    let pinned = oxbpf::attach::Link::from_pin(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    assert_eq!(
        after_drop,
        (2, 2),
        "the pinned link was detached by its drop"
    );
    // An explicit detach detaches even a link opened from a pin.
    let copy = pinned.link_fd().unwrap().try_clone_to_owned().unwrap();
    pinned.detach().unwrap();
    assert_eq!(
        sockops_connect(&cg, &listener, &coll),
        (2, 2),
        "ran after detach()"
    );
    drop(copy);
}

#[test]
fn sock_create_runs_every_multi_attached_program_and_refuses_an_exclusive_one() {
    let Some(coll) = load_cgroup_hooks() else {
        return;
    };
    let cg = Cgroup::new();
    let multi = CgroupAttach::Legacy { flags: ALLOW_MULTI };
    let a = coll
        .program("count_sock_create")
        .unwrap()
        .attach_cgroup_with(&cg.0, multi)
        .unwrap();
    assert_eq!(a.mechanism(), LinkMechanism::ProgAttach);
    let b = coll.program("count_sock_create_too").unwrap();
    // Without BPF_F_ALLOW_MULTI next to a multi program: refused, with a hint.
    let err = b
        .attach_cgroup_with(&cg.0, CgroupAttach::Legacy { flags: 0 })
        .unwrap_err();
    assert!(err.to_string().contains("ALLOW_MULTI"), "{err}");
    let b = b.attach_cgroup_with(&cg.0, multi).unwrap();
    assert!(cg.bash("exec 3<>/dev/udp/127.0.0.1/9"));
    let h = hits(&coll);
    assert_eq!((h.get(2).unwrap(), h.get(9).unwrap()), (1, 1));
    a.detach().unwrap();
    assert!(cg.bash("exec 3<>/dev/udp/127.0.0.1/9"));
    assert_eq!((h.get(2).unwrap(), h.get(9).unwrap()), (1, 2));
    b.detach().unwrap();
}

#[test]
fn connect4_rewrites_a_childs_destination_port() {
    let Some(coll) = load_cgroup_hooks() else {
        return;
    };
    let cg = Cgroup::new();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let to = listener.local_addr().unwrap().port();
    // A port nobody listens on: free now, since we held and closed it.
    let from = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let ports = Array::<u32>::new(coll.map("ports").unwrap()).unwrap();
    ports.set(0, &u32::from(from)).unwrap();
    ports.set(1, &u32::from(to)).unwrap();
    let link = coll
        .program("rewrite_connect4")
        .unwrap()
        .attach_cgroup(&cg.0)
        .unwrap();
    assert!(
        cg.bash(&format!(
            "exec 3<>/dev/tcp/127.0.0.1/{from} && echo redirected >&3"
        )),
        "the connection to the unused port was not redirected"
    );
    let (mut s, _) = listener.accept().unwrap();
    let mut buf = String::new();
    s.read_to_string(&mut buf).unwrap();
    assert_eq!(buf, "redirected\n");
    assert_eq!(hits(&coll).get(3).unwrap(), 1);
    drop(link);
    assert!(
        !cg.bash(&format!("exec 3<>/dev/tcp/127.0.0.1/{from}")),
        "still redirected after detach"
    );
}

#[test]
fn sysctl_program_counts_a_childs_reads_of_kernel_ostype() {
    let Some(coll) = load_cgroup_hooks() else {
        return;
    };
    if !common::have_prog_type(ProgramType::CGROUP_SYSCTL) {
        return;
    }
    let cg = Cgroup::new();
    let link = coll
        .program("count_sysctl")
        .unwrap()
        .attach_cgroup(&cg.0)
        .unwrap();
    let read = "x=$(< /proc/sys/kernel/ostype) && [ \"$x\" = Linux ] && \
                y=$(< /proc/sys/kernel/osrelease)";
    assert!(cg.bash(read));
    let n = hits(&coll).get(4).unwrap();
    // One read(2) with the text, one that sees EOF; osrelease is not counted.
    assert!((1..=2).contains(&n), "{n} ostype reads counted");
    assert!(cg.bash(read));
    assert_eq!(hits(&coll).get(4).unwrap(), 2 * n);
    link.detach().unwrap();
    assert!(cg.bash(read));
    assert_eq!(hits(&coll).get(4).unwrap(), 2 * n, "counted after detach");
}

#[test]
fn cgroup_sockopt_hooks_answer_a_childs_getsockopt() {
    let Some(coll) = load_cgroup_hooks() else {
        return;
    };
    if !common::have_prog_type(ProgramType::CGROUP_SOCKOPT) {
        return;
    }
    let cg = Cgroup::new();
    let links: Vec<_> = ["getsockopt_mark", "setsockopt_mark", "count_post_bind4"]
        .iter()
        .map(|p| coll.program(p).unwrap().attach_cgroup(&cg.0).unwrap())
        .collect();
    let out = cg.child();
    // SO_MARK was set to 7; the getsockopt program answers 0xbbf instead.
    assert!(out.contains("mark=3007"), "{out}");
    let h = hits(&coll);
    assert_eq!(
        (h.get(5).unwrap(), h.get(8).unwrap(), h.get(7).unwrap()),
        (1, 1, 1)
    );
    drop(links);
    let out = cg.child();
    assert!(out.contains("mark=7"), "{out}");
}

#[test]
fn device_program_refuses_dev_zero_to_a_child() {
    let Some(coll) = load_cgroup_hooks() else {
        return;
    };
    let cg = Cgroup::new();
    let open = "exec 3</dev/zero";
    assert!(cg.bash(open), "/dev/zero unreadable before attaching");
    let link = coll
        .program("deny_dev_zero")
        .unwrap()
        .attach_cgroup(&cg.0)
        .unwrap();
    assert!(!cg.bash(open), "the device program let /dev/zero be opened");
    assert!(hits(&coll).get(6).unwrap() >= 1);
    drop(link);
    assert!(cg.bash(open), "still refused after detach");
}

/// A connected TCP pair over loopback: (client, server side).
fn tcp_pair() -> (TcpStream, TcpStream) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let c = TcpStream::connect(l.local_addr().unwrap()).unwrap();
    let (s, _) = l.accept().unwrap();
    c.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    (c, s)
}

fn put_socket(coll: &Collection, map: &str, key: u32, sock: &impl AsRawFd) {
    let fd = sock.as_raw_fd() as u64;
    coll.map(map)
        .unwrap()
        .update(&key.to_ne_bytes(), &fd.to_ne_bytes(), 0)
        .unwrap();
}

fn seen(coll: &Collection) -> Array<'_, u64> {
    Array::<u64>::new(coll.map("seen").unwrap()).unwrap()
}

fn load_sockmap() -> Option<Collection> {
    if !common::have_bpf()
        || !common::have_prog_type(ProgramType::SK_MSG)
        || !common::have_map_type(oxbpf::obj::MapType::SOCKMAP)
    {
        return None;
    }
    Some(common::load("sockmap.bpf.o"))
}

fn sk_msg_counts_sent_messages(mechanism: SockmapAttach, want: LinkMechanism) {
    let Some(coll) = load_sockmap() else { return };
    let p = coll.program("msg_count").unwrap();
    let link = match p.attach_to_sockmap_with(coll.map("msg_socks").unwrap(), mechanism) {
        Err(Error::Attach { source, .. })
            if mechanism == SockmapAttach::Link
                && matches!(source, oxbpf::attach::Error::Rejected { .. }) =>
        {
            eprintln!("skipping: no sockmap links here (Linux 6.10): {source}");
            return;
        }
        r => r.unwrap(),
    };
    assert_eq!(link.mechanism(), want);
    let (mut c, mut s) = tcp_pair();
    put_socket(&coll, "msg_socks", 0, &c);
    c.write_all(b"hello sockmap").unwrap();
    let mut buf = [0u8; 13];
    s.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"hello sockmap");
    let n = seen(&coll);
    assert_eq!((n.get(0).unwrap(), n.get(1).unwrap()), (1, 13));
    link.detach().unwrap();
    // A socket added after the detach runs nothing.
    let (mut c2, mut s2) = tcp_pair();
    put_socket(&coll, "msg_socks", 1, &c2);
    c2.write_all(b"bye").unwrap();
    let mut buf = [0u8; 3];
    s2.read_exact(&mut buf).unwrap();
    assert_eq!((n.get(0).unwrap(), n.get(1).unwrap()), (1, 13));
}

#[test]
fn sk_msg_on_a_sockmap_link_counts_sent_messages() {
    sk_msg_counts_sent_messages(SockmapAttach::Link, LinkMechanism::BpfLink);
}

#[test]
fn sk_msg_by_prog_attach_counts_sent_messages() {
    sk_msg_counts_sent_messages(SockmapAttach::Legacy, LinkMechanism::ProgAttach);
}

#[test]
fn sk_skb_parser_and_verdict_see_received_data() {
    let Some(coll) = load_sockmap() else { return };
    let map = coll.map("skb_socks").unwrap();
    let parser = coll
        .program("skb_parse")
        .unwrap()
        .attach_to_sockmap(map)
        .unwrap();
    let verdict = coll
        .program("skb_verdict")
        .unwrap()
        .attach_to_sockmap(map)
        .unwrap();
    let (mut c, mut s) = tcp_pair();
    put_socket(&coll, "skb_socks", 0, &s);
    c.write_all(b"ping").unwrap();
    let mut buf = [0u8; 4];
    s.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"ping");
    let n = seen(&coll);
    assert!(n.get(2).unwrap() >= 1, "the stream parser did not run");
    assert_eq!(n.get(3).unwrap(), 4, "bytes seen by the verdict program");
    // Removing the socket from the map first: detaching programs of a map in use is
    // allowed, but the socket keeps the programs it was added with.
    map.delete(&0u32.to_ne_bytes()).unwrap();
    verdict.detach().unwrap();
    parser.detach().unwrap();
}

#[test]
fn sockmap_program_without_a_hook_names_the_sections() {
    if !common::have_bpf() {
        return;
    }
    let Some(coll) = load_sockmap() else { return };
    let err = coll.program("msg_count").unwrap().attach().unwrap_err();
    assert!(err.to_string().contains("attach_to_sockmap"), "{err}");
}

/// Ethernet + IPv4 + UDP (10.1.2.3:4000 -> 10.4.5.6:5353), 8 bytes of payload.
fn udp_frame() -> Vec<u8> {
    let mut f = vec![0u8; 14 + 20 + 8 + 8];
    f[12] = 0x08; // ETH_P_IP
    let ip = &mut f[14..34];
    ip[0] = 0x45;
    ip[2..4].copy_from_slice(&36u16.to_be_bytes());
    ip[8] = 64;
    ip[9] = 17;
    ip[12..16].copy_from_slice(&[10, 1, 2, 3]);
    ip[16..20].copy_from_slice(&[10, 4, 5, 6]);
    let udp = &mut f[34..42];
    udp[0..2].copy_from_slice(&4000u16.to_be_bytes());
    udp[2..4].copy_from_slice(&5353u16.to_be_bytes());
    udp[4..6].copy_from_slice(&16u16.to_be_bytes());
    f
}

#[test]
fn flow_dissector_dissects_a_test_run_frame_and_links_to_a_fresh_netns() {
    if !common::have_bpf() || !common::have_prog_type(ProgramType::FLOW_DISSECTOR) {
        return;
    }
    let coll = common::load("flow_dissector.bpf.o");
    let p = coll.program("dissect").unwrap();
    let ok = oxbpf::sys::bpf::prog_test_run(p.fd().as_fd(), &mut [], &udp_frame()).unwrap();
    let d = Array::<u64>::new(coll.map("dissected").unwrap()).unwrap();
    let all: Vec<u64> = (0..4).map(|i| d.get(i).unwrap()).collect();
    assert_eq!(all, [1, 1, 0, 5353], "IPv4 and UDP counted, dport seen");
    let mut arp = udp_frame();
    arp[12..14].copy_from_slice(&[0x08, 0x06]);
    let dropped = oxbpf::sys::bpf::prog_test_run(p.fd().as_fd(), &mut [], &arp).unwrap();
    assert_eq!(d.get(2).unwrap(), 1, "ARP counted");
    // The test run reports the verdict itself (BPF_OK 0, BPF_DROP 2) on newer kernels,
    // and whether dissection succeeded (1 / 0) on older ones (5.10).
    assert!(
        matches!((ok.retval, dropped.retval), (0, 2) | (1, 0)),
        "retvals {} (UDP) and {} (ARP)",
        ok.retval,
        dropped.retval
    );

    // A netns of its own (a thread that unshares), so the host's namespace stays free.
    let (ns, link_ok) = std::thread::scope(|s| {
        s.spawn(|| {
            nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET).unwrap();
            let ns: OwnedFd = std::fs::File::open("/proc/thread-self/ns/net")
                .unwrap()
                .into();
            let link = p.attach_flow_dissector(&ns).unwrap();
            let ok = link.mechanism() == LinkMechanism::BpfLink
                && link.info().is_ok_and(|i| i.prog_id == prog_id(p));
            // A second one in the same namespace is refused, naming the hook.
            let again = p.attach_flow_dissector(&ns).unwrap_err().to_string();
            assert!(again.contains("flow_dissector"), "{again}");
            drop(link);
            (ns, ok)
        })
        .join()
        .unwrap()
    });
    assert!(link_ok, "not a flow dissector link of this program");
    drop(ns);
}

fn prog_id(p: &oxbpf::Program) -> u32 {
    oxbpf::sys::bpf::prog_info(p.fd().as_fd()).unwrap().id
}

/// A UDP socket with SO_REUSEPORT bound to `port` on loopback (0: any).
fn reuseport_udp(port: u16) -> UdpSocket {
    use nix::sys::socket::{self, AddressFamily, SockFlag, SockType, SockaddrIn, sockopt};
    let fd = socket::socket(
        AddressFamily::Inet,
        SockType::Datagram,
        SockFlag::SOCK_CLOEXEC,
        None,
    )
    .unwrap();
    socket::setsockopt(&fd, sockopt::ReusePort, &true).unwrap();
    socket::bind(fd.as_raw_fd(), &SockaddrIn::new(127, 0, 0, 1, port)).unwrap();
    let s = UdpSocket::from(fd);
    s.set_nonblocking(true).unwrap();
    s
}

fn received(s: &UdpSocket) -> usize {
    let mut buf = [0u8; 64];
    let mut n = 0;
    while s.recv(&mut buf).is_ok() {
        n += 1;
    }
    n
}

#[test]
fn sk_reuseport_steers_datagrams_to_the_chosen_socket() {
    if !common::have_bpf()
        || !common::have_prog_type(ProgramType::SK_REUSEPORT)
        || !common::have_map_type(oxbpf::obj::MapType::REUSEPORT_SOCKARRAY)
    {
        return;
    }
    let coll = common::load("reuseport.bpf.o");
    let a = reuseport_udp(0);
    let port = a.local_addr().unwrap().port();
    let b = reuseport_udp(port);
    put_socket(&coll, "group", 0, &a);
    put_socket(&coll, "group", 1, &b);
    let choice = Array::<u32>::new(coll.map("choice").unwrap()).unwrap();
    choice.set(0, &1).unwrap();
    let link = coll.program("pick").unwrap().attach_reuseport(&a).unwrap();
    assert_eq!(link.mechanism(), LinkMechanism::SocketOption);
    let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
    let send = |n| {
        for _ in 0..n {
            tx.send_to(b"which socket?", ("127.0.0.1", port)).unwrap();
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    send(4);
    assert_eq!((received(&a), received(&b)), (0, 4));
    choice.set(0, &0).unwrap();
    send(3);
    assert_eq!((received(&a), received(&b)), (3, 0));
    let picked = Array::<u64>::new(coll.map("picked").unwrap()).unwrap();
    assert_eq!((picked.get(0).unwrap(), picked.get(1).unwrap()), (7, 0));
    link.detach().unwrap();
    send(2);
    assert_eq!(received(&a) + received(&b), 2);
    assert_eq!(picked.get(0).unwrap(), 7, "ran after detach");
}

fn ip(args: &[&str]) {
    let out = Command::new("ip").args(args).output().unwrap();
    assert!(
        out.status.success(),
        "ip {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Named network namespaces (`ip netns add`), deleted on drop.
struct Namespaces(Vec<String>);

impl Namespaces {
    fn new(count: usize) -> Namespaces {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let names: Vec<String> = (0..count)
            .map(|i| format!("oxnk-{}-{n}-{i}", std::process::id()))
            .collect();
        let ns = Namespaces(Vec::new());
        let mut ns = ns;
        for name in names {
            ip(&["netns", "add", &name]);
            ns.0.push(name);
        }
        ns
    }

    fn file(&self, i: usize) -> std::fs::File {
        std::fs::File::open(PathBuf::from("/run/netns").join(&self.0[i])).unwrap()
    }

    /// Runs `f` on a thread inside namespace `i`.
    fn run<T: Send>(&self, i: usize, f: impl FnOnce() -> T + Send) -> T {
        let ns = self.file(i);
        std::thread::scope(|s| {
            s.spawn(move || {
                nix::sched::setns(ns, nix::sched::CloneFlags::CLONE_NEWNET).unwrap();
                f()
            })
            .join()
            .unwrap()
        })
    }
}

impl Drop for Namespaces {
    fn drop(&mut self) {
        for name in &self.0 {
            let _ = Command::new("ip").args(["netns", "del", name]).output();
        }
    }
}

fn send_udp(to: &str, count: u32) {
    let s = UdpSocket::bind("0.0.0.0:0").unwrap();
    for _ in 0..count {
        s.send_to(b"oxbpf netkit datagram", to).unwrap();
    }
    std::thread::sleep(Duration::from_millis(50));
}

#[test]
fn netkit_primary_and_peer_programs_count_what_each_side_sends() {
    use oxbpf::attach::netkit::NetkitSide;
    use oxbpf::sys::netlink;
    if !common::have_bpf() {
        return;
    }
    if !oxbpf::features::capability_supported(oxbpf::features::Capability::Netkit).unwrap_or(false)
    {
        let why = if common::release_at_least("6.7") {
            "kernel built without CONFIG_NETKIT"
        } else {
            "netkit needs Linux 6.7"
        };
        eprintln!("skipping: no netkit links here ({why}) — runs in the kernel matrix");
        return;
    }
    if Command::new("ip").arg("-V").output().is_err() {
        eprintln!("skipping: iproute2 is not installed");
        return;
    }
    let coll = common::load("netkit_count.bpf.o");
    let ns = Namespaces::new(2);
    let peer_ns = ns.file(1);
    let made = ns.run(0, || {
        match netlink::netkit_create(
            "nk0",
            "nk1",
            netlink::link_attr::NETKIT_L3,
            Some(peer_ns.as_fd()),
        ) {
            Err(e) if e.errno() == Some(oxbpf::sys::Errno::ENOTSUP) => return Err(e),
            r => r.unwrap(),
        }
        let ifindex = netlink::ifindex("nk0").unwrap();
        let primary = coll.program("nk_primary").unwrap();
        let peer = coll.program("nk_peer").unwrap();
        Ok((
            primary.attach_netkit(ifindex, NetkitSide::Primary).unwrap(),
            peer.attach_netkit(ifindex, NetkitSide::Peer).unwrap(),
        ))
    });
    let (lp, lq) = match made {
        Ok(links) => links,
        Err(e) => {
            eprintln!("skipping: netkit devices not available (CONFIG_NETKIT): {e}");
            return;
        }
    };
    assert_eq!(lp.mechanism(), LinkMechanism::BpfLink);
    let net = format!("10.77.{}", NEXT.fetch_add(1, Ordering::Relaxed) % 250);
    let (a, b) = (format!("{net}.1"), format!("{net}.2"));
    ip(&[
        "-n",
        &ns.0[0],
        "addr",
        "add",
        &format!("{a}/24"),
        "dev",
        "nk0",
    ]);
    ip(&["-n", &ns.0[0], "link", "set", "nk0", "up"]);
    ip(&[
        "-n",
        &ns.0[1],
        "addr",
        "add",
        &format!("{b}/24"),
        "dev",
        "nk1",
    ]);
    ip(&["-n", &ns.0[1], "link", "set", "nk1", "up"]);
    let sent = Array::<u64>::new(coll.map("sent").unwrap()).unwrap();
    let to_b = format!("{b}:9");
    ns.run(0, || send_udp(&to_b, 3));
    assert_eq!((sent.get(0).unwrap(), sent.get(1).unwrap()), (3, 0));
    let to_a = format!("{a}:9");
    ns.run(1, || send_udp(&to_a, 2));
    assert_eq!((sent.get(0).unwrap(), sent.get(1).unwrap()), (3, 2));
    drop((lp, lq));
    ns.run(0, || send_udp(&to_b, 1));
    ns.run(1, || send_udp(&to_a, 1));
    assert_eq!(
        (sent.get(0).unwrap(), sent.get(1).unwrap()),
        (3, 2),
        "counted after detach"
    );
}

fn xdp_verdict(p: &oxbpf::Program) -> u32 {
    let frame = [0u8; 64];
    oxbpf::sys::bpf::prog_test_run(p.fd().as_fd(), &mut [], &frame)
        .unwrap()
        .retval
}

#[test]
fn freplace_replaces_a_global_function_of_a_loaded_program_until_detached() {
    if !common::have_bpf() {
        return;
    }
    let target = common::load("freplace_target.bpf.o");
    let xdp = target.program("xdp_target").unwrap();
    let calls = Array::<u64>::new(target.map("calls").unwrap()).unwrap();
    assert_eq!(xdp_verdict(xdp), 2, "XDP_PASS from the original verdict()");
    assert_eq!(calls.get(0).unwrap(), 1);

    let spec = oxbpf::ObjectSpec::from_file(common::fixture("freplace_ext.bpf.o")).unwrap();
    let mut opts = oxbpf::LoadOptions::default();
    opts.set_attach_target("new_verdict", xdp.fd().as_fd(), "verdict")
        .unwrap();
    let ext = match Collection::load(&spec, &opts) {
        Ok(c) => c,
        Err(Error::Load { source, .. }) if source.errno() == Some(oxbpf::sys::Errno::EPERM) => {
            eprintln!(
                "skipping: freplace not available: BPF_PROG_LOAD answers EPERM \
                 (trampolines restricted on this host) — runs in the kernel matrix"
            );
            return;
        }
        Err(e) => panic!("freplace_ext.bpf.o: {e}"),
    };
    let p = ext.program("new_verdict").unwrap();
    assert!(p.can_attach());
    let link = p.attach().unwrap();
    let replaced = Array::<u64>::new(ext.map("replaced").unwrap()).unwrap();
    assert_eq!(xdp_verdict(xdp), 1, "XDP_DROP from the extension");
    assert_eq!((calls.get(0).unwrap(), replaced.get(0).unwrap()), (1, 1));
    link.detach().unwrap();
    assert_eq!(xdp_verdict(xdp), 2, "the original verdict() after detach");
    assert_eq!((calls.get(0).unwrap(), replaced.get(0).unwrap()), (2, 1));
    // Attached again with the target given at attach time.
    let again = p.attach_freplace_to(xdp, "verdict").unwrap();
    assert_eq!(xdp_verdict(xdp), 1);
    drop(again);
}

#[test]
fn freplace_of_a_function_the_target_lacks_names_it() {
    if !common::have_bpf() {
        return;
    }
    let target = common::load("freplace_target.bpf.o");
    let xdp = target.program("xdp_target").unwrap();
    let spec = oxbpf::ObjectSpec::from_file(common::fixture("freplace_ext.bpf.o")).unwrap();
    let mut opts = oxbpf::LoadOptions::default();
    opts.set_attach_target("new_verdict", xdp.fd().as_fd(), "no_such_func")
        .unwrap();
    let err = Collection::load(&spec, &opts).unwrap_err().to_string();
    assert!(
        err.contains("no_such_func") && err.contains("new_verdict"),
        "{err}"
    );
}

#[test]
fn fentry_and_fexit_on_a_module_function_count_veth_opens() {
    if !common::have_bpf() {
        return;
    }
    if !std::path::Path::new("/sys/kernel/btf/veth").exists() {
        eprintln!(
            "skipping: no module BTF for veth here (built in, or not loaded) — runs in the \
             kernel matrix, which loads veth as a module"
        );
        return;
    }
    let spec = oxbpf::ObjectSpec::from_file(common::fixture("trampoline_mod.bpf.o")).unwrap();
    let coll = match Collection::load(&spec, &oxbpf::LoadOptions::default()) {
        Ok(c) => c,
        Err(Error::Load { source, .. }) if source.errno() == Some(oxbpf::sys::Errno::EPERM) => {
            eprintln!(
                "skipping: fentry/fexit not available: BPF_PROG_LOAD answers EPERM \
                 (trampolines restricted on this host) — runs in the kernel matrix"
            );
            return;
        }
        Err(e) => panic!("trampoline_mod.bpf.o: {e}"),
    };
    let links = coll.attach_all().unwrap();
    assert_eq!(links.len(), 2);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let (a, b) = (
        format!("oxm{}a{n}", std::process::id() % 10_000),
        format!("oxm{}b{n}", std::process::id() % 10_000),
    );
    ip(&["link", "add", &a, "type", "veth", "peer", "name", &b]);
    let up = Command::new("ip").args(["link", "set", &a, "up"]).output();
    let opens = Array::<u64>::new(coll.map("opens").unwrap()).unwrap();
    let counts = (opens.get(0).unwrap(), opens.get(1).unwrap());
    let _ = Command::new("ip").args(["link", "del", &a]).output();
    assert!(up.unwrap().status.success());
    assert!(counts.0 >= 1 && counts.1 >= 1, "{counts:?}");
    drop(links);
}

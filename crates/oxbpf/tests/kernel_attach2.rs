//! Socket-level hooks triggered for real: sockops and the cgroup sock, sock_addr,
//! sockopt, sysctl and device hooks (a child process in a fresh cgroup makes the TCP
//! connection, reads the sysctl or opens the device), sk_msg and sk_skb on a sockmap
//! (TCP over loopback), the flow dissector (BPF_PROG_TEST_RUN and a netns link), and
//! sk_reuseport (UDP datagrams steered inside a SO_REUSEPORT group). Needs root and
//! `bash` (the cgroup children); only loopback is used.

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::os::fd::{AsRawFd, OwnedFd};
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
    let run = oxbpf::sys::bpf::prog_test_run(p.fd().as_fd(), &mut [], &udp_frame()).unwrap();
    let d = Array::<u64>::new(coll.map("dissected").unwrap()).unwrap();
    let all: Vec<u64> = (0..4).map(|i| d.get(i).unwrap()).collect();
    assert_eq!(
        run.retval, 0,
        "BPF_OK expected; counters {all:?}, run {run:?}"
    );
    assert_eq!((d.get(0).unwrap(), d.get(1).unwrap()), (1, 1));
    assert_eq!(d.get(3).unwrap(), 5353);
    let mut arp = udp_frame();
    arp[12..14].copy_from_slice(&[0x08, 0x06]);
    let run = oxbpf::sys::bpf::prog_test_run(p.fd().as_fd(), &mut [], &arp).unwrap();
    assert_eq!((run.retval, d.get(2).unwrap()), (2, 1), "BPF_DROP for ARP");

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

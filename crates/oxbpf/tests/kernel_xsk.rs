//! The XSKMAP data path end to end: a real AF_XDP socket (`oxbpf::sys::xsk::XdpSocket`)
//! bound to a veth's queue 0 is put into an xskmap with `XskMap::set`, and an XDP program
//! (xsk_redirect.bpf.o) attached to that veth redirects UDP datagrams sent from a peer
//! network namespace into it; removing the socket sends the next datagram to the stack.
//! Needs root, `ip` and AF_XDP sockets (CONFIG_XDP_SOCKETS); skips otherwise.

mod common;

use std::net::UdpSocket;
use std::os::fd::AsFd;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use oxbpf::attach::xdp::XdpMode;
use oxbpf::maps::{Array, XskMap};
use oxbpf::obj::MapType;
use oxbpf::sys::xsk::{self, XdpSocket};

static NEXT: AtomicU32 = AtomicU32::new(1);

fn run(cmd: &str, args: &[&str]) -> std::process::Output {
    Command::new(cmd)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{cmd} {args:?}: {e}"))
}

fn must(cmd: &str, args: &[&str]) {
    let out = run(cmd, args);
    assert!(
        out.status.success(),
        "{cmd} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A network namespace with a veth pair into it, removed on drop (even on panic); the
/// same shape as kernel_net.rs's.
struct Veth {
    ns: String,
    host: String,
    host_ip: String,
    ifindex: u32,
}

impl Veth {
    fn new() -> Option<Veth> {
        if run("ip", &["-V"]).status.code().is_none() {
            eprintln!("skipping: iproute2 is not installed");
            return None;
        }
        let pid = std::process::id();
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let ns = format!("oxx-{pid}-{n}");
        let host = format!("oxxa{}{n}", pid % 100_000);
        let peer = format!("oxxb{}{n}", pid % 100_000);
        let net = format!("10.{}.{}", 200 + n, pid % 250);
        let mut v = Veth {
            ns: ns.clone(),
            host: host.clone(),
            host_ip: format!("{net}.1"),
            ifindex: 0,
        };
        must("ip", &["netns", "add", &ns]);
        must(
            "ip",
            &[
                "link", "add", &host, "type", "veth", "peer", "name", &peer, "netns", &ns,
            ],
        );
        must(
            "ip",
            &["addr", "add", &format!("{}/24", v.host_ip), "dev", &host],
        );
        must("ip", &["link", "set", &host, "up"]);
        must(
            "ip",
            &[
                "-n",
                &ns,
                "addr",
                "add",
                &format!("{net}.2/24"),
                "dev",
                &peer,
            ],
        );
        must("ip", &["-n", &ns, "link", "set", &peer, "up"]);
        must("ip", &["-n", &ns, "link", "set", "lo", "up"]);
        v.ifindex = oxbpf::sys::netlink::ifindex(&host).unwrap();
        Some(v)
    }

    /// Sends one UDP datagram carrying `payload` from inside the namespace to the host
    /// end's `port` (it arrives on the host end's ingress, where the XDP program runs).
    fn send_from_ns(&self, port: u16, payload: &[u8]) {
        let to = format!("{}:{port}", self.host_ip);
        let ns = std::fs::File::open(format!("/run/netns/{}", self.ns)).unwrap();
        std::thread::scope(|s| {
            s.spawn(move || {
                nix::sched::setns(ns.as_fd(), nix::sched::CloneFlags::CLONE_NEWNET).unwrap();
                UdpSocket::bind("0.0.0.0:0")
                    .unwrap()
                    .send_to(payload, &to)
                    .unwrap();
            })
            .join()
            .unwrap()
        });
    }
}

impl Drop for Veth {
    fn drop(&mut self) {
        let _ = run("ip", &["link", "del", &self.host]);
        let _ = run("ip", &["netns", "del", &self.ns]);
    }
}

/// The frames `sock` receives within `within` that carry `payload` as a UDP datagram to
/// `port` (Ethernet + 20-byte IPv4 + UDP header, then the payload), stopping at the first.
fn frame_with(
    sock: &mut XdpSocket,
    port: u16,
    payload: &[u8],
    within: Duration,
) -> Option<Vec<u8>> {
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let frame = sock.recv(left).unwrap()?;
        let is_it = frame.len() >= 42 + payload.len()
            && frame[36..38] == port.to_be_bytes()
            && &frame[42..42 + payload.len()] == payload;
        if is_it {
            return Some(frame);
        }
    }
}

/// `counts[i]` of the fixture: 0 every packet, 1 IPv4 UDP, 2 redirected by the helper.
fn count(coll: &oxbpf::Collection, i: u32) -> u64 {
    Array::<u64>::new(coll.map("counts").unwrap())
        .unwrap()
        .get(i)
        .unwrap()
}

#[test]
fn xskmap_socket_receives_redirected_datagrams_until_removed() {
    if !common::have_bpf() || !common::have_map_type(MapType::XSKMAP) {
        return;
    }
    match xsk::af_xdp_supported() {
        Ok(true) => {}
        Ok(false) => {
            eprintln!("skipping: AF_XDP sockets are not available (EAFNOSUPPORT)");
            return;
        }
        Err(e) => {
            eprintln!("skipping: cannot make an AF_XDP socket: {e}");
            return;
        }
    }
    let Some(v) = Veth::new() else { return };
    let coll = common::load("xsk_redirect.bpf.o");
    let link = coll
        .program("to_xsk")
        .unwrap()
        .attach_xdp(v.ifindex, XdpMode::Generic)
        .unwrap();
    let mut sock = XdpSocket::new(v.ifindex, 0, 32).unwrap();
    let xsks = XskMap::new(coll.map("xsks").unwrap()).unwrap();
    xsks.set(0, sock.as_fd()).unwrap();

    // A listener on the host end tells "delivered to the stack" from "redirected".
    let port = 40_000 + (std::process::id() % 20_000) as u16;
    let stack = UdpSocket::bind((v.host_ip.as_str(), port)).unwrap();
    stack
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let mut buf = [0u8; 256];

    // In the map: the datagram reaches the AF_XDP socket, not the stack.
    let a = b"oxbpf xsk datagram A: to the AF_XDP socket";
    v.send_from_ns(port, a);
    let frame = frame_with(&mut sock, port, a, Duration::from_secs(3))
        .expect("the redirected datagram never reached the AF_XDP socket");
    assert_eq!(&frame[12..14], &[0x08, 0x00], "not an IPv4 frame");
    assert_eq!(frame[23], 17, "not UDP");
    assert_eq!(count(&coll, 1), 1, "IPv4 UDP packets seen");
    assert_eq!(count(&coll, 2), 1, "packets bpf_redirect_map redirected");
    assert!(count(&coll, 0) >= 1);
    assert!(
        stack.recv_from(&mut buf).is_err(),
        "the redirected datagram also reached the stack"
    );

    // Removed: the helper's fallback (XDP_PASS) hands the next datagram to the stack.
    xsks.remove(0).unwrap();
    let b = b"oxbpf xsk datagram B: to the stack";
    v.send_from_ns(port, b);
    let (n, _) = stack
        .recv_from(&mut buf)
        .expect("after remove the datagram did not reach the stack");
    assert_eq!(&buf[..n], b);
    assert_eq!(count(&coll, 1), 2, "IPv4 UDP packets seen");
    assert_eq!(
        count(&coll, 2),
        1,
        "a redirect after the socket was removed"
    );
    assert!(
        frame_with(&mut sock, port, b, Duration::from_millis(300)).is_none(),
        "the AF_XDP socket received a datagram after it was removed from the map"
    );

    drop(link);
    drop(sock);
}

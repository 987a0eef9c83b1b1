//! The XSKMAP data path end to end: a real AF_XDP socket (`oxbpf::sys::xsk::XdpSocket`)
//! bound to a veth's queue 0 is put into an xskmap with `XskMap::set`, and an XDP program
//! (xsk_redirect.bpf.o) attached to that veth redirects UDP datagrams sent from a peer
//! network namespace into it; removing the socket sends the next datagram to the stack.
//! Needs root, `ip` and AF_XDP sockets (CONFIG_XDP_SOCKETS); skips otherwise.

mod common;
#[path = "common/netns.rs"]
mod netns;

use std::net::UdpSocket;
use std::time::{Duration, Instant};

use netns::Veth;

use oxbpf::attach::xdp::XdpMode;
use oxbpf::maps::{Array, XskMap};
use oxbpf::obj::MapType;
use oxbpf::sys::xsk::{self, XdpSocket};

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
    v.send_datagram_from_ns(port, a);
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
    v.send_datagram_from_ns(port, b);
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

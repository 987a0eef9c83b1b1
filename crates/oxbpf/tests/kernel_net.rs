//! Networking attachments with real traffic between network namespaces over veth pairs:
//! XDP (link, netlink, replace), TC (tcx ordering, clsact via netlink), cgroup_skb (link,
//! legacy), socket filter, sk_lookup, netfilter. Needs root, `ip`, `tc` and `bash`. The
//! traffic is UDP datagrams sent by the test itself (no `ping` on the build host), only
//! ever to addresses inside the namespaces it creates (or loopback).

mod common;
#[path = "common/netns.rs"]
mod netns;

use std::net::UdpSocket;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::Duration;

use oxbpf::attach::cgroup::CgroupAttach;
use oxbpf::attach::netfilter::{NFPROTO_IPV4, NetfilterHook, NfHook};
use oxbpf::attach::tc::{TcAttach, TcDirection, TcOptions, TcOrder};
use oxbpf::attach::xdp::{self, XdpAttach, XdpMode, XdpOptions};
use oxbpf::attach::{Error as AttachError, LinkMechanism};
use oxbpf::maps::{Array, HashMap};
use oxbpf::{Collection, Error};

use netns::{Veth, must, run};

/// Waits up to 3 s for `f` to hold (packets are processed asynchronously).
fn eventually(what: &str, f: impl Fn() -> bool) {
    for _ in 0..300 {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("timed out waiting for: {what}");
}

/// Gives in-flight packets time to be seen (before asserting that something stayed put).
fn settle() {
    std::thread::sleep(Duration::from_millis(200));
}

/// Packets of IP protocol UDP (17) counted in hash `map`.
fn udp(coll: &Collection, map: &str) -> u64 {
    HashMap::<u32, u64>::new(coll.map(map).unwrap())
        .unwrap()
        .get(&17)
        .unwrap()
        .unwrap_or(0)
}

fn xdp_prog_id(coll: &Collection, name: &str) -> u32 {
    oxbpf::sys::bpf::prog_info(coll.program(name).unwrap().fd().as_fd())
        .unwrap()
        .id
}

#[test]
fn automatic_attach_of_xdp_names_the_explicit_method() {
    if !common::have_bpf() {
        return;
    }
    let coll = common::load("xdp_count.bpf.o");
    let p = coll.program("xdp_count").unwrap();
    assert!(!p.can_attach());
    let err = p.attach().unwrap_err();
    assert!(matches!(err, Error::CannotAttach { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("Program::attach_xdp(ifindex, XdpMode)"),
        "{err}"
    );
    let coll = common::load("sock_filter.bpf.o");
    let err = coll.program("drop_long").unwrap().attach().unwrap_err();
    assert!(err.to_string().contains("attach_socket"), "{err}");
}

#[test]
fn xdp_link_counts_datagrams_and_replaces_atomically() {
    let Some(v) = Veth::new() else { return };
    let coll = common::load("xdp_count.bpf.o");
    let a = coll.program("xdp_count").unwrap();
    let b = coll.program("xdp_count_alt").unwrap();
    let mut link = a.attach_xdp(v.ifindex, XdpMode::Generic).unwrap();
    assert_eq!(link.mechanism(), LinkMechanism::BpfLink);
    assert!(
        link.description().contains(&v.host),
        "{}",
        link.description()
    );
    assert_eq!(
        xdp::query(v.ifindex).unwrap().prog_id,
        xdp_prog_id(&coll, "xdp_count")
    );
    v.send_from_ns(3);
    eventually("udp(&coll, counts) >= 3", || udp(&coll, "counts") >= 3);

    // A second attachment is refused with a hint naming the interface and replace.
    let err = b.attach_xdp(v.ifindex, XdpMode::Generic).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains(&format!("an XDP program is already attached to {}", v.host)),
        "{msg}"
    );
    assert!(msg.contains("replace"), "{msg}");

    // Replace: the alt program now counts, the first no longer does.
    xdp::replace(&mut link, b.fd().as_fd()).unwrap();
    let before = udp(&coll, "counts");
    v.send_from_ns(3);
    eventually("udp(&coll, alt_counts) >= 3", || {
        udp(&coll, "alt_counts") >= 3
    });
    settle();
    assert_eq!(udp(&coll, "counts"), before);

    drop(link);
    // A bpf_link detaches when its last fd closes: a child another test thread is forking
    // right now may hold a copy until its exec, so wait for it (bounded) rather than
    // asserting at once.
    eventually("XDP link detached after drop", || {
        xdp::query(v.ifindex).unwrap().prog_id == 0
    });
}

#[test]
fn xdp_native_link_counts_datagrams() {
    let Some(v) = Veth::new() else { return };
    let coll = common::load("xdp_count.bpf.o");
    let link = coll
        .program("xdp_count")
        .unwrap()
        .attach_xdp(v.ifindex, XdpMode::Native)
        .unwrap();
    assert_eq!(
        xdp::query(v.ifindex).unwrap().attached,
        1,
        "not in driver mode"
    );
    v.send_from_ns(3);
    eventually("udp(&coll, counts) >= 3", || udp(&coll, "counts") >= 3);
    drop(link);
    eventually("XDP link detached after drop", || {
        xdp::query(v.ifindex).unwrap().prog_id == 0
    });
}

#[test]
fn xdp_netlink_path_counts_refuses_and_replaces() {
    let Some(v) = Veth::new() else { return };
    let coll = common::load("xdp_count.bpf.o");
    let a = coll.program("xdp_count").unwrap();
    let b = coll.program("xdp_count_alt").unwrap();
    let netlink = XdpOptions {
        mode: XdpMode::Generic,
        mechanism: XdpAttach::Netlink,
        ..Default::default()
    };
    let mut link = a.attach_xdp_with(v.ifindex, &netlink).unwrap();
    assert_eq!(link.mechanism(), LinkMechanism::Netlink);
    assert!(link.link_fd().is_none());
    let st = xdp::query(v.ifindex).unwrap();
    assert_eq!(
        (st.attached, st.prog_id),
        (2, xdp_prog_id(&coll, "xdp_count"))
    );
    v.send_from_ns(3);
    eventually("udp(&coll, counts) >= 3", || udp(&coll, "counts") >= 3);

    // UPDATE_IF_NOEXIST: a second netlink attach fails with EBUSY and the hint.
    let err = b.attach_xdp_with(v.ifindex, &netlink).unwrap_err();
    let Error::Attach {
        source: AttachError::Rejected { source, hint, .. },
        ..
    } = &err
    else {
        panic!("expected a rejection with a hint, got {err}")
    };
    assert_eq!(source.errno(), Some(oxbpf::sys::Errno::EBUSY), "{err}");
    assert!(hint.contains("use replace"), "{hint}");

    xdp::replace(&mut link, b.fd().as_fd()).unwrap();
    assert_eq!(
        xdp::query(v.ifindex).unwrap().prog_id,
        xdp_prog_id(&coll, "xdp_count_alt")
    );
    v.send_from_ns(3);
    eventually("udp(&coll, alt_counts) >= 3", || {
        udp(&coll, "alt_counts") >= 3
    });
    link.detach().unwrap();
    assert_eq!(
        xdp::query(v.ifindex).unwrap().prog_id,
        0,
        "netlink XDP left attached"
    );
}

fn order_count(coll: &Collection, me: u32, saw: u32) -> u64 {
    HashMap::<u32, u64>::new(coll.map("order").unwrap())
        .unwrap()
        .get(&((me << 16) | saw))
        .unwrap()
        .unwrap_or(0)
}

fn clear(coll: &Collection, map: &str) {
    let m = coll.map(map).unwrap();
    let keys: Vec<Vec<u8>> = m.keys().map(|k| k.unwrap()).collect();
    for k in keys {
        m.delete(&k).unwrap();
    }
}

#[test]
fn tcx_ingress_counts_and_orders_before_and_after() {
    if !common::have_bpf() || !common::have(oxbpf::features::Capability::Tcx) {
        return;
    }
    let Some(v) = Veth::new() else { return };
    let coll = common::load("tc_count.bpf.o");
    let (a, b) = (coll.program("tc_a").unwrap(), coll.program("tc_b").unwrap());
    let tcx = |order| TcOptions {
        mechanism: TcAttach::Tcx,
        order,
        ..Default::default()
    };

    // a, then b placed first: b runs before a.
    let la = a
        .attach_tc_with(v.ifindex, TcDirection::Ingress, &tcx(TcOrder::Last))
        .unwrap();
    assert_eq!(la.mechanism(), LinkMechanism::BpfLink);
    let lb = b
        .attach_tc_with(v.ifindex, TcDirection::Ingress, &tcx(TcOrder::First))
        .unwrap();
    v.send_from_ns(3);
    eventually("order_count(&coll, 0xB, 0) >= 3", || {
        order_count(&coll, 0xB, 0) >= 3
    });
    eventually("order_count(&coll, 0xA, 0xB) >= 3", || {
        order_count(&coll, 0xA, 0xB) >= 3
    });
    settle();
    assert_eq!(order_count(&coll, 0xA, 0), 0);
    drop(lb);

    // b again, now right after a.
    clear(&coll, "order");
    let lb = b
        .attach_tc_with(
            v.ifindex,
            TcDirection::Ingress,
            &tcx(TcOrder::AfterProgram(a.fd().as_fd())),
        )
        .unwrap();
    v.send_from_ns(3);
    eventually("order_count(&coll, 0xA, 0) >= 3", || {
        order_count(&coll, 0xA, 0) >= 3
    });
    eventually("order_count(&coll, 0xB, 0xA) >= 3", || {
        order_count(&coll, 0xB, 0xA) >= 3
    });
    settle();
    assert_eq!(order_count(&coll, 0xB, 0), 0);
    drop((la, lb));
}

#[test]
fn automatic_tc_attach_is_tcx_where_present_else_the_clsact_filter() {
    let Some(v) = Veth::new() else { return };
    let tcx = oxbpf::features::capability_supported(oxbpf::features::Capability::Tcx);
    let want = match tcx {
        Ok(true) => LinkMechanism::BpfLink,
        Ok(false) => LinkMechanism::Netlink,
        Err(e) => panic!("tcx probe: {e}"),
    };
    let coll = common::load("tc_count.bpf.o");
    let link = coll
        .program("tc_count")
        .unwrap()
        .attach_tc(v.ifindex, TcDirection::Ingress)
        .unwrap();
    assert_eq!(link.mechanism(), want, "{}", link.description());
    v.send_from_ns(3);
    eventually("udp(&coll, counts) >= 3", || udp(&coll, "counts") >= 3);
    drop(link);
    // Nothing stays behind: no filter, and no clsact qdisc of ours.
    let shown = tc_show(&["filter", "show", "dev", &v.host, "ingress"]);
    assert!(shown.trim().is_empty(), "filter left behind: {shown}");
    let qd = tc_show(&["qdisc", "show", "dev", &v.host]);
    assert!(!qd.contains("clsact"), "clsact qdisc left behind: {qd}");
}

fn tc_show(args: &[&str]) -> String {
    let out = run("tc", args);
    assert!(
        out.status.success(),
        "tc {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn clsact_netlink_filter_counts_and_cleans_up() {
    let Some(v) = Veth::new() else { return };
    let coll = common::load("tc_count.bpf.o");
    let p = coll.program("tc_count").unwrap();
    let opts = TcOptions {
        mechanism: TcAttach::Netlink,
        name: Some("oxbpf_tc_count"),
        ..Default::default()
    };
    let link = p
        .attach_tc_with(v.ifindex, TcDirection::Ingress, &opts)
        .unwrap();
    assert_eq!(link.mechanism(), LinkMechanism::Netlink);
    let (handle, prio) = oxbpf::attach::tc::filter_handle(&link).unwrap();
    assert!(
        handle != 0 && prio != 0,
        "kernel-chosen handle {handle:#x} prio {prio}"
    );
    let shown = tc_show(&["filter", "show", "dev", &v.host, "ingress"]);
    assert!(
        shown.contains("oxbpf_tc_count") && shown.contains("direct-action"),
        "{shown}"
    );
    assert!(tc_show(&["qdisc", "show", "dev", &v.host]).contains("clsact"));

    // A second filter with the same handle and priority is refused.
    let dup = TcOptions {
        handle,
        priority: prio,
        ..opts
    };
    let err = p
        .attach_tc_with(v.ifindex, TcDirection::Ingress, &dup)
        .unwrap_err();
    assert!(
        err.to_string().contains("choose another handle/priority"),
        "{err}"
    );

    v.send_from_ns(3);
    eventually("udp(&coll, counts) >= 3", || udp(&coll, "counts") >= 3);
    link.detach().unwrap();
    let shown = tc_show(&["filter", "show", "dev", &v.host, "ingress"]);
    assert!(shown.trim().is_empty(), "filter left behind: {shown}");
    let qd = tc_show(&["qdisc", "show", "dev", &v.host]);
    assert!(
        !qd.contains("clsact"),
        "the clsact qdisc we created is left: {qd}"
    );
}

#[test]
fn clsact_created_by_someone_else_stays() {
    let Some(v) = Veth::new() else { return };
    must("tc", &["qdisc", "add", "dev", &v.host, "clsact"]);
    let coll = common::load("tc_count.bpf.o");
    let opts = TcOptions {
        mechanism: TcAttach::Netlink,
        handle: 7,
        priority: 3,
        ..Default::default()
    };
    let link = coll
        .program("tc_count")
        .unwrap()
        .attach_tc_with(v.ifindex, TcDirection::Egress, &opts)
        .unwrap();
    assert_eq!(oxbpf::attach::tc::filter_handle(&link), Some((7, 3)));
    v.send_into_ns(3);
    eventually("udp(&coll, counts) >= 3", || udp(&coll, "counts") >= 3);
    drop(link);
    assert!(
        tc_show(&["filter", "show", "dev", &v.host, "egress"])
            .trim()
            .is_empty()
    );
    assert!(tc_show(&["qdisc", "show", "dev", &v.host]).contains("clsact"));
}

/// A child cgroup under the cgroup v2 mount, removed on drop.
struct Cgroup(PathBuf);

impl Cgroup {
    fn new() -> Cgroup {
        let root = oxbpf::attach::cgroup::cgroup2_mount().unwrap();
        let n = netns::unique();
        let dir = root.join(format!("oxt-{}-{n}", std::process::id()));
        std::fs::create_dir(&dir).unwrap();
        Cgroup(dir)
    }

    /// Sends 3 UDP datagrams to `target` port 9 from a child process inside the cgroup
    /// (bash moves itself in, then writes to `/dev/udp`).
    fn send(&self, target: &str) {
        let procs = self.0.join("cgroup.procs");
        let script = format!(
            "echo $$ > {} && for i in 1 2 3; do echo oxbpf > /dev/udp/{target}/9; done",
            procs.display()
        );
        must("bash", &["-c", &script]);
    }
}

impl Drop for Cgroup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir(&self.0);
    }
}

#[test]
fn cgroup_skb_egress_counts_a_childs_datagrams_by_link_and_legacy_attach() {
    if !common::have_bpf() || !common::have(oxbpf::features::Capability::BpfLink) {
        return;
    }
    let Some(v) = Veth::new() else { return };
    let cg = Cgroup::new();
    let coll = common::load("cgroup_skb_count.bpf.o");
    let p = coll.program("cg_egress").unwrap();

    let link = p.attach_cgroup(&cg.0).unwrap();
    assert_eq!(link.mechanism(), LinkMechanism::BpfLink);
    cg.send(&v.peer_ip);
    eventually("3 UDP packets counted by the link", || {
        udp(&coll, "counts") >= 3
    });
    let n = udp(&coll, "counts");
    drop(link);

    let legacy = p
        .attach_cgroup_with(
            &cg.0,
            CgroupAttach::Legacy {
                flags: oxbpf::sys::bpf::attach_flags::ALLOW_MULTI,
            },
        )
        .unwrap();
    assert_eq!(legacy.mechanism(), LinkMechanism::ProgAttach);
    cg.send(&v.peer_ip);
    eventually("3 more UDP packets counted by the legacy attach", || {
        udp(&coll, "counts") >= n + 3
    });
    let m = udp(&coll, "counts");
    legacy.detach().unwrap();
    cg.send(&v.peer_ip);
    settle();
    assert_eq!(udp(&coll, "counts"), m, "still counting after detach");
}

#[test]
fn cgroup_attach_to_a_missing_dir_names_it() {
    if !common::have_bpf() {
        return;
    }
    let coll = common::load("cgroup_skb_count.bpf.o");
    let err = coll
        .program("cg_egress")
        .unwrap()
        .attach_cgroup(Path::new("/sys/fs/cgroup/oxbpf-no-such-cgroup"))
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("/sys/fs/cgroup/oxbpf-no-such-cgroup"),
        "{err}"
    );
}

#[test]
fn socket_filter_drops_long_datagrams() {
    if !common::have_bpf() {
        return;
    }
    let coll = common::load("sock_filter.bpf.o");
    let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
    rx.set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
    let to = rx.local_addr().unwrap();
    let link = coll
        .program("drop_long")
        .unwrap()
        .attach_socket(&rx)
        .unwrap();
    assert_eq!(link.mechanism(), LinkMechanism::SocketOption);
    tx.send_to(b"this datagram is far too long to keep", to)
        .unwrap();
    tx.send_to(b"ok", to).unwrap();
    let mut buf = [0u8; 64];
    let (n, _) = rx.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"ok", "the long datagram was not dropped");
    let stats = Array::<u64>::new(coll.map("stats").unwrap()).unwrap();
    assert_eq!((stats.get(0).unwrap(), stats.get(1).unwrap()), (2, 1));

    link.detach().unwrap();
    tx.send_to(b"this datagram is far too long to keep", to)
        .unwrap();
    let (n, _) = rx.recv_from(&mut buf).unwrap();
    assert_eq!(n, 37, "the filter still runs after detach");
    assert_eq!(stats.get(0).unwrap(), 2);
}

#[test]
fn sk_lookup_steers_connections_to_a_listener() {
    if !common::have_bpf() || !common::have_prog_type(oxbpf::obj::ProgramType::SK_LOOKUP) {
        return;
    }
    let Some(v) = Veth::new() else { return };
    let coll = common::load("sk_lookup.bpf.o");
    let ns = std::fs::File::open(v.netns_path()).unwrap();
    let link = coll
        .program("steer_7777")
        .unwrap()
        .attach_sk_lookup(&ns)
        .unwrap();
    let target = coll.map("target").unwrap();
    let peer_ip = v.peer_ip.clone();
    let (got, refused_after) = v.in_ns(|| {
        let listener = std::net::TcpListener::bind(format!("{peer_ip}:0")).unwrap();
        let fd = listener.as_raw_fd() as u64;
        target
            .update(&0u32.to_ne_bytes(), &fd.to_ne_bytes(), 0)
            .unwrap();
        let mut c = std::net::TcpStream::connect(format!("{peer_ip}:7777")).unwrap();
        std::io::Write::write_all(&mut c, b"steered").unwrap();
        let (mut s, _) = listener.accept().unwrap();
        let mut buf = [0u8; 7];
        std::io::Read::read_exact(&mut s, &mut buf).unwrap();
        drop(link);
        let after = std::net::TcpStream::connect(format!("{peer_ip}:7777"));
        (buf, after.is_err())
    });
    assert_eq!(&got, b"steered");
    assert!(refused_after, "still steered after the link was dropped");
    let steered = Array::<u64>::new(coll.map("steered").unwrap()).unwrap();
    assert_eq!(steered.get(0).unwrap(), 1);
}

#[test]
fn netfilter_link_counts_packets_in_a_namespace() {
    if !common::have_bpf() || !common::have_prog_type(oxbpf::obj::ProgramType::NETFILTER) {
        return;
    }
    let Some(v) = Veth::new() else { return };
    let coll = common::load("netfilter_count.bpf.o");
    let p = coll.program("nf_count").unwrap();
    let hook = NetfilterHook {
        pf: NFPROTO_IPV4,
        hook: NfHook::LocalIn,
        priority: -128,
        defrag: false,
    };
    let link = v.in_ns(|| p.attach_netfilter(&hook)).unwrap();
    assert_eq!(link.mechanism(), LinkMechanism::BpfLink);
    let packets = Array::<u64>::new(coll.map("packets").unwrap()).unwrap();
    v.send_into_ns(3);
    eventually("3 packets counted", || packets.get(0).unwrap() >= 3);
    // Anything else still on its way in (the host end's own traffic) is counted first.
    settle();
    let n = packets.get(0).unwrap();
    drop(link);
    v.send_into_ns(2);
    settle();
    assert_eq!(packets.get(0).unwrap(), n, "still counting after detach");
}

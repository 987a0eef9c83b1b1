//! A network namespace joined to this one by a veth pair, and the `ip` command runner
//! the networking tests share (`#[path = "common/netns.rs"] mod netns;` beside
//! `mod common;`: not part of `common`, which test crates without `nix` include too).

#![allow(dead_code)]

use std::net::UdpSocket;
use std::os::fd::AsFd;
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

static NEXT: AtomicU32 = AtomicU32::new(1);

/// A number new in this process each call (for names of namespaces, links, cgroups).
pub fn unique() -> u32 {
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// Runs `cmd` with `args` and returns its output (panics if it cannot be started).
pub fn run(cmd: &str, args: &[&str]) -> std::process::Output {
    Command::new(cmd)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{cmd} {args:?}: {e}"))
}

/// Runs `cmd` with `args`; panics with its stderr unless it succeeds.
pub fn must(cmd: &str, args: &[&str]) {
    let out = run(cmd, args);
    assert!(
        out.status.success(),
        "{cmd} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A network namespace with a veth pair into it, removed on drop (even on panic).
pub struct Veth {
    /// The namespace's name (`ip netns`).
    pub ns: String,
    /// The host end's interface name.
    pub host: String,
    /// The host end's address.
    pub host_ip: String,
    /// The namespace end's address.
    pub peer_ip: String,
    /// The host end's ifindex.
    pub ifindex: u32,
}

impl Veth {
    pub fn new() -> Option<Veth> {
        if !crate::common::have_bpf() {
            return None;
        }
        if run("ip", &["-V"]).status.code().is_none() {
            eprintln!("skipping: iproute2 is not installed");
            return None;
        }
        let pid = std::process::id();
        let n = unique();
        let ns = format!("oxt-{pid}-{n}");
        let host = format!("oxa{}{n}", pid % 100_000);
        let peer = format!("oxb{}{n}", pid % 100_000);
        let net = format!("10.{}.{}", 100 + n, pid % 250);
        let mut v = Veth {
            ns: ns.clone(),
            host: host.clone(),
            host_ip: format!("{net}.1"),
            peer_ip: format!("{net}.2"),
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
                &format!("{}/24", v.peer_ip),
                "dev",
                &peer,
            ],
        );
        must("ip", &["-n", &ns, "link", "set", &peer, "up"]);
        must("ip", &["-n", &ns, "link", "set", "lo", "up"]);
        v.ifindex = oxbpf::sys::netlink::ifindex(&host).unwrap();
        Some(v)
    }

    /// Sends `count` UDP datagrams from inside the namespace to the host end (they arrive
    /// on the host end's ingress).
    pub fn send_from_ns(&self, count: u32) {
        let to = format!("{}:9", self.host_ip);
        self.in_ns(|| send_udp(&to, count));
    }

    /// Sends `count` UDP datagrams from the host to the namespace end (host end egress,
    /// the namespace's LOCAL_IN).
    pub fn send_into_ns(&self, count: u32) {
        send_udp(&format!("{}:9", self.peer_ip), count);
    }

    pub fn netns_path(&self) -> PathBuf {
        PathBuf::from("/run/netns").join(&self.ns)
    }

    /// Runs `f` on a thread that has entered the namespace.
    pub fn in_ns<T: Send>(&self, f: impl FnOnce() -> T + Send) -> T {
        let ns = std::fs::File::open(self.netns_path()).unwrap();
        std::thread::scope(|s| {
            s.spawn(move || {
                nix::sched::setns(ns.as_fd(), nix::sched::CloneFlags::CLONE_NEWNET).unwrap();
                f()
            })
            .join()
            .unwrap()
        })
    }

    /// Sends one UDP datagram carrying `payload` from inside the namespace to the host
    /// end's `port` (it arrives on the host end's ingress).
    pub fn send_datagram_from_ns(&self, port: u16, payload: &[u8]) {
        let to = format!("{}:{port}", self.host_ip);
        self.in_ns(|| {
            UdpSocket::bind("0.0.0.0:0")
                .unwrap()
                .send_to(payload, &to)
                .unwrap();
        });
    }
}

impl Drop for Veth {
    fn drop(&mut self) {
        let _ = run("ip", &["link", "del", &self.host]);
        let _ = run("ip", &["netns", "del", &self.ns]);
    }
}

/// Sends `count` test datagrams to `to`, 10 ms apart.
pub fn send_udp(to: &str, count: u32) {
    let s = UdpSocket::bind("0.0.0.0:0").unwrap();
    for _ in 0..count {
        s.send_to(b"oxbpf test datagram", to).unwrap();
        std::thread::sleep(Duration::from_millis(10));
    }
}

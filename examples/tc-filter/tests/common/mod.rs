//! A throwaway network namespace joined to this one by a veth pair, removed on drop.
//! Traffic goes only to addresses inside it (10.x.y.1 on the host end, .2 inside).
//! Shared by the tc-filter and xdp-counter tests (xdp-counter includes this file with
//! `#[path]`).

#![allow(dead_code)]

use std::net::UdpSocket;
use std::os::fd::AsFd;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

static NEXT: AtomicU32 = AtomicU32::new(1);

fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| format!("ip: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "ip {args:?}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// The namespace and the host end of its veth.
pub struct Veth {
    /// Namespace name (under /run/netns).
    pub ns: String,
    /// Host-side interface name.
    pub host: String,
    /// Host end's address.
    pub host_ip: String,
}

impl Veth {
    /// Creates the pair (`tag` keeps names of different test binaries apart), or says
    /// why it cannot (no root, no `ip`).
    pub fn new(tag: &str) -> Result<Veth, String> {
        let pid = std::process::id();
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let ns = format!("ox{tag}-{pid}-{n}");
        let host = format!("o{tag}{}{n}", pid % 10_000);
        let peer = format!("{host}p");
        // A second octet per test binary (tag), away from crates/oxbpf/tests' 10.100+: two
        // binaries running at once never put the same subnet on two host interfaces.
        let base = if tag == "x" { 210 } else { 230 };
        let net = format!("10.{}.{}", base + n % 20, pid % 250);
        ip(&["netns", "add", &ns])?;
        let v = Veth {
            ns: ns.clone(),
            host: host.clone(),
            host_ip: format!("{net}.1"),
        };
        ip(&[
            "link", "add", &host, "type", "veth", "peer", "name", &peer, "netns", &ns,
        ])?;
        ip(&["addr", "add", &format!("{net}.1/24"), "dev", &host])?;
        ip(&["link", "set", &host, "up"])?;
        ip(&[
            "-n",
            &ns,
            "addr",
            "add",
            &format!("{net}.2/24"),
            "dev",
            &peer,
        ])?;
        ip(&["-n", &ns, "link", "set", &peer, "up"])?;
        Ok(v)
    }

    /// Sends `count` UDP datagrams from inside the namespace to the host end (they
    /// arrive on the host end's ingress, where the example's program sits).
    pub fn send_from_ns(&self, count: u32) {
        let to = format!("{}:9", self.host_ip);
        let ns = std::fs::File::open(format!("/run/netns/{}", self.ns)).expect("netns file");
        std::thread::scope(|s| {
            s.spawn(move || {
                nix::sched::setns(ns.as_fd(), nix::sched::CloneFlags::CLONE_NEWNET).expect("setns");
                let sock = UdpSocket::bind("0.0.0.0:0").expect("bind");
                for _ in 0..count {
                    // The first datagrams may wait for ARP; errors are not fatal.
                    let _ = sock.send_to(b"oxbpf example datagram", &to);
                    std::thread::sleep(Duration::from_millis(10));
                }
            })
            .join()
            .expect("sender thread");
        });
    }
}

impl Drop for Veth {
    fn drop(&mut self) {
        let _ = ip(&["link", "del", &self.host]);
        let _ = ip(&["netns", "del", &self.ns]);
    }
}

/// Why bpf() cannot be used by this process, if it cannot (not root, no BPF syscall).
pub fn bpf_unusable() -> Option<String> {
    // A feature probe first: it raises RLIMIT_MEMLOCK where the kernel needs that.
    let _ = oxbpf::features::map_type_supported(oxbpf::obj::MapType::ARRAY);
    let attr = oxbpf::sys::bpf::MapCreate::new(2, 4, 4, 1);
    oxbpf::sys::bpf::map_create(&attr)
        .err()
        .map(|e| format!("bpf() is not usable here ({e}); run the tests as root"))
}

/// The UDP (protocol 17) count in `counts`' per-protocol list, 0 when absent.
pub fn udp<P: Copy + Into<u32>>(counts: &[(P, u64)]) -> u64 {
    counts
        .iter()
        .find(|(p, _)| (*p).into() == 17)
        .map_or(0, |c| c.1)
}

/// Polls `count` every 10 ms, up to 300 times, until it reaches `want`; returns the last
/// value read.
pub fn wait_for(want: u64, mut count: impl FnMut() -> u64) -> u64 {
    let mut n = 0;
    for _ in 0..300 {
        n = count();
        if n >= want {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    n
}

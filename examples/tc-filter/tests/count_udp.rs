//! The classifier on the host end's ingress of a veth into a test namespace, once with
//! the automatic choice (TCX here) and once forced onto clsact (the fallback older
//! kernels get): datagrams from the namespace are counted as UDP (17) both ways.
//! Needs root and iproute2; skips with the reason otherwise.

mod common;

use oxbpf::attach::LinkMechanism;
use oxbpf::attach::tc::TcDirection;
use tc_filter::{Filter, Mechanism};

fn udp(f: &Filter) -> u64 {
    f.counts()
        .unwrap()
        .iter()
        .find(|(p, _)| *p == 17)
        .map_or(0, |c| c.1)
}

#[test]
fn counts_udp_with_tcx_and_with_the_clsact_fallback() {
    if let Some(reason) = bpf_unusable() {
        eprintln!("skipping: {reason}");
        return;
    }
    let v = match common::Veth::new("t") {
        Ok(v) => v,
        Err(e) => {
            eprintln!("skipping: cannot make a test namespace: {e}");
            return;
        }
    };
    let ifindex = oxbpf::sys::netlink::ifindex(&v.host).unwrap();
    let tcx =
        oxbpf::features::capability_supported(oxbpf::features::Capability::Tcx).unwrap_or(false);
    for (mechanism, want) in [
        (
            Mechanism::Auto,
            if tcx {
                LinkMechanism::BpfLink
            } else {
                LinkMechanism::Netlink
            },
        ),
        (Mechanism::Netlink, LinkMechanism::Netlink),
    ] {
        let f = Filter::attach(ifindex, TcDirection::Ingress, mechanism)
            .unwrap_or_else(|e| panic!("{mechanism:?}: {e}"));
        assert_eq!(
            f.mechanism(),
            want,
            "{mechanism:?}: {}",
            f.link().description()
        );
        v.send_from_ns(10);
        let mut n = 0;
        for _ in 0..300 {
            n = udp(&f);
            if n >= 10 {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert!(n >= 10, "{mechanism:?}: {n} UDP packets counted of 10 sent");
        drop(f);
    }
}

/// Why bpf() cannot be used by this process, if it cannot (not root, no BPF syscall).
fn bpf_unusable() -> Option<String> {
    // A feature probe first: it raises RLIMIT_MEMLOCK where the kernel needs that.
    let _ = oxbpf::features::map_type_supported(oxbpf::obj::MapType::ARRAY);
    let attr = oxbpf::sys::bpf::MapCreate::new(2, 4, 4, 1);
    oxbpf::sys::bpf::map_create(&attr)
        .err()
        .map(|e| format!("bpf() is not usable here ({e}); run the tests as root"))
}

//! The classifier on the host end's ingress of a veth into a test namespace, once with
//! the automatic choice (TCX here) and once forced onto clsact (the fallback older
//! kernels get): datagrams from the namespace are counted as UDP (17) both ways.
//! Needs root and iproute2; skips with the reason otherwise.

mod common;

use oxbpf::attach::LinkMechanism;
use oxbpf::attach::tc::TcDirection;
use tc_filter::{Filter, Mechanism};

#[test]
fn counts_udp_with_tcx_and_with_the_clsact_fallback() {
    if let Some(reason) = common::bpf_unusable() {
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
        let n = common::wait_for(10, || common::udp(&f.counts().unwrap()));
        assert!(n >= 10, "{mechanism:?}: {n} UDP packets counted of 10 sent");
        drop(f);
    }
}

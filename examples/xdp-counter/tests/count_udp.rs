//! XDP on the host end of a veth into a test namespace: datagrams sent from inside the
//! namespace are counted as UDP (17). Needs root and iproute2; skips otherwise.

#[path = "../../tc-filter/tests/common/mod.rs"]
mod common;

use oxbpf::attach::xdp::XdpMode;

#[test]
fn counts_datagrams_from_the_namespace_as_udp() {
    if let Some(reason) = common::bpf_unusable() {
        eprintln!("skipping: {reason}");
        return;
    }
    let v = match common::Veth::new("x") {
        Ok(v) => v,
        Err(e) => {
            eprintln!("skipping: cannot make a test namespace: {e}");
            return;
        }
    };
    let ifindex = oxbpf::sys::netlink::ifindex(&v.host).unwrap();
    for mode in [XdpMode::Generic, XdpMode::Native] {
        // Generic XDP works on any device; veth has native XDP since 4.19.
        let counter =
            xdp_counter::Counter::attach(ifindex, mode).unwrap_or_else(|e| panic!("{mode:?}: {e}"));
        assert!(
            counter.link().description().contains(&v.host),
            "{}",
            counter.link().description()
        );
        v.send_from_ns(20);
        let udp = common::wait_for(20, || common::udp(&counter.counts().unwrap()));
        assert!(udp >= 20, "{mode:?}: {udp} UDP packets counted of 20 sent");
        drop(counter);
    }
}

//! XDP on the host end of a veth into a test namespace: datagrams sent from inside the
//! namespace are counted as UDP (17). Needs root and iproute2; skips otherwise.

mod common;

use oxbpf::attach::xdp::XdpMode;

#[test]
fn counts_datagrams_from_the_namespace_as_udp() {
    if let Some(reason) = bpf_unusable() {
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
        let mut udp = 0;
        for _ in 0..300 {
            udp = counter
                .counts()
                .unwrap()
                .iter()
                .find(|(p, _)| *p == 17)
                .map_or(0, |c| c.1);
            if udp >= 20 {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert!(udp >= 20, "{mode:?}: {udp} UDP packets counted of 20 sent");
        drop(counter);
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

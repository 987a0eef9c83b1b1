//! xdp-counter: per-CPU packet counts by IP protocol from an XDP program — the
//! networking guide's first example (docs/networking.md).
//!
//! `fixtures/ex_xdp_proto.bpf.o` (source `bpf-src/ex_xdp_proto.bpf.c`): `count_proto`
//! (`SEC("xdp")`) adds one to `counts[ip protocol]`, a PERCPU_ARRAY of 256 `u64`, on the
//! CPU that saw the packet, so no atomics are needed; user space sums the CPUs. XDP needs
//! an interface, which the section cannot name: attach with
//! [`oxbpf::Program::attach_xdp`].
//!
//! ```no_run
//! let ifindex = oxbpf::sys::netlink::ifindex("eth0")?;
//! let counter = xdp_counter::Counter::attach(ifindex, oxbpf::attach::xdp::XdpMode::Auto)?;
//! std::thread::sleep(std::time::Duration::from_secs(5));
//! for (proto, packets) in counter.counts()? {
//!     println!("{} {packets}", xdp_counter::protocol_name(proto));
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]

use oxbpf::attach::Link;
use oxbpf::attach::xdp::XdpMode;
use oxbpf::maps::PerCpuArray;
use oxbpf::{Collection, LoadOptions, ObjectSpec};

/// The bytes of an embedded object, 8-byte aligned as the ELF parser requires.
#[repr(C, align(8))]
struct Aligned<B: ?Sized>(B);

static ALIGNED: &Aligned<[u8]> = &Aligned(*include_bytes!("../../../fixtures/ex_xdp_proto.bpf.o"));

/// The compiled BPF object, embedded in the binary (8-byte aligned).
pub static OBJECT: &[u8] = &ALIGNED.0;

/// The XDP program, attached to one interface; detached when dropped.
#[derive(Debug)]
pub struct Counter {
    // Field order: the link is dropped (detached) before the maps and program go.
    link: Link,
    coll: Collection,
}

impl Counter {
    /// Loads the object and attaches `count_proto` to `ifindex` in `mode`.
    pub fn attach(ifindex: u32, mode: XdpMode) -> oxbpf::Result<Counter> {
        let spec = ObjectSpec::from_bytes(OBJECT)?;
        let coll = Collection::load(&spec, &LoadOptions::default())?;
        let prog = coll
            .program("count_proto")
            .ok_or_else(|| oxbpf::Error::CannotAttach {
                program: "count_proto".into(),
                section: "xdp".into(),
                reason: "not in the object".into(),
            })?;
        let link = prog.attach_xdp(ifindex, mode)?;
        Ok(Counter { link, coll })
    }

    /// The link (its description names the interface and the mechanism).
    pub fn link(&self) -> &Link {
        &self.link
    }

    /// `(IP protocol, packets summed over every CPU)` for each protocol seen, ascending.
    pub fn counts(&self) -> oxbpf::Result<Vec<(u8, u64)>> {
        let map = self
            .coll
            .map("counts")
            .ok_or_else(|| oxbpf::Error::CannotAttach {
                program: "count_proto".into(),
                section: "xdp".into(),
                reason: "the object has no map \"counts\"".into(),
            })?;
        let counts = PerCpuArray::<u64>::new(map)?;
        let mut out = Vec::new();
        for proto in 0..=u8::MAX {
            let total: u64 = counts.get(u32::from(proto))?.iter().sum();
            if total > 0 {
                out.push((proto, total));
            }
        }
        Ok(out)
    }
}

/// The usual name of IP protocol `p` (`udp`), else its number.
pub fn protocol_name(p: u8) -> String {
    match p {
        1 => "icmp".into(),
        2 => "igmp".into(),
        6 => "tcp".into(),
        17 => "udp".into(),
        47 => "gre".into(),
        50 => "esp".into(),
        58 => "icmpv6".into(),
        132 => "sctp".into(),
        n => n.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocol_name_knows_udp_and_falls_back_to_the_number() {
        assert_eq!(protocol_name(17), "udp");
        assert_eq!(protocol_name(200), "200");
    }

    #[test]
    fn object_has_the_program_and_a_per_cpu_map() {
        let spec = ObjectSpec::from_bytes(OBJECT).unwrap();
        assert!(spec.programs.iter().any(|p| p.name == "count_proto"));
        let m = spec.maps.iter().find(|m| m.name == "counts").unwrap();
        assert_eq!(m.map_type, oxbpf::obj::MapType::PERCPU_ARRAY);
        assert_eq!(m.max_entries, 256);
    }
}

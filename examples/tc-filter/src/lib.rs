//! tc-filter: packet counts by IP protocol from a TC classifier, attached with TCX where
//! the kernel has it (6.6+) and as a clsact `cls_bpf` filter otherwise — the networking
//! guide's second example (docs/networking.md).
//!
//! `fixtures/tc_count.bpf.o` (source `bpf-src/tc_count.bpf.c`): `tc_count` (`SEC("tc")`)
//! adds one to `counts[ip protocol]` (HASH `u32` → `u64`) and returns `TC_ACT_OK`.
//! [`oxbpf::Program::attach_tc`] picks the mechanism; [`Filter::mechanism`] says which.
//!
//! ```no_run
//! use oxbpf::attach::tc::TcDirection;
//! let ifindex = oxbpf::sys::netlink::ifindex("eth0")?;
//! let f = tc_filter::Filter::attach(ifindex, TcDirection::Ingress, tc_filter::Mechanism::Auto)?;
//! println!("{:?}", f.mechanism());
//! std::thread::sleep(std::time::Duration::from_secs(5));
//! println!("{:?}", f.counts()?);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]

use oxbpf::attach::tc::{TcAttach, TcDirection, TcOptions};
use oxbpf::attach::{Link, LinkMechanism};
use oxbpf::maps::HashMap;
use oxbpf::{Collection, LoadOptions, ObjectSpec};

/// The bytes of an embedded object, 8-byte aligned as the ELF parser requires.
#[repr(C, align(8))]
struct Aligned<B: ?Sized>(B);

static ALIGNED: &Aligned<[u8]> = &Aligned(*include_bytes!("../../../fixtures/tc_count.bpf.o"));

/// The compiled BPF object, embedded in the binary (8-byte aligned).
pub static OBJECT: &[u8] = &ALIGNED.0;

/// How to attach.
pub use oxbpf::attach::tc::TcAttach as Mechanism;

/// The classifier, attached to one interface and direction; detached when dropped.
#[derive(Debug)]
pub struct Filter {
    link: Link,
    coll: Collection,
}

impl Filter {
    /// Loads the object and attaches `tc_count` with `mechanism` (`Auto`: TCX, else
    /// clsact).
    pub fn attach(
        ifindex: u32,
        direction: TcDirection,
        mechanism: TcAttach,
    ) -> oxbpf::Result<Filter> {
        let spec = ObjectSpec::from_bytes(OBJECT)?;
        let coll = Collection::load(&spec, &LoadOptions::default())?;
        let prog = coll
            .program("tc_count")
            .ok_or_else(|| oxbpf::Error::CannotAttach {
                program: "tc_count".into(),
                section: "tc".into(),
                reason: "not in the object".into(),
            })?;
        let opts = TcOptions {
            mechanism,
            name: Some("tc_filter_example"),
            ..Default::default()
        };
        let link = prog.attach_tc_with(ifindex, direction, &opts)?;
        Ok(Filter { link, coll })
    }

    /// `BpfLink` for TCX, `Netlink` for a clsact filter.
    pub fn mechanism(&self) -> LinkMechanism {
        self.link.mechanism()
    }

    /// The link (its description names the interface and the hook).
    pub fn link(&self) -> &Link {
        &self.link
    }

    /// `(IP protocol, packets)` for each protocol seen, ascending.
    pub fn counts(&self) -> oxbpf::Result<Vec<(u32, u64)>> {
        let map = self
            .coll
            .map("counts")
            .ok_or_else(|| oxbpf::Error::CannotAttach {
                program: "tc_count".into(),
                section: "tc".into(),
                reason: "the object has no map \"counts\"".into(),
            })?;
        let counts = HashMap::<u32, u64>::new(map)?;
        let mut out = counts.iter().collect::<Result<Vec<_>, _>>()?;
        out.sort_unstable();
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_has_the_classifier_and_its_map() {
        let spec = ObjectSpec::from_bytes(OBJECT).unwrap();
        let p = spec.programs.iter().find(|p| p.name == "tc_count").unwrap();
        assert_eq!(p.section, "tc");
        assert!(spec.maps.iter().any(|m| m.name == "counts"));
    }
}

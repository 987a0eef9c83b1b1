//! The first kernel release of each feature, for errors such as "ring buffers need Linux
//! 5.8". Upstream releases (distributions backport): from the kernel's history as
//! summarised by bcc's `docs/kernel-versions.md`.

use oxbpf_asm::Helper;
use oxbpf_obj::{MapType, ProgramType};

use super::caps::Capability;

/// A feature that [`min_kernel`] knows the first release of.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Feature {
    /// A program type.
    ProgramType(ProgramType),
    /// A map type.
    MapType(MapType),
    /// A helper (in general; some program types got it later).
    Helper(Helper),
    /// A kernel capability.
    Capability(Capability),
}

/// The first upstream kernel release with `f` (`"5.8"`), or `"unknown"`.
pub fn min_kernel(f: Feature) -> &'static str {
    match f {
        Feature::ProgramType(p) => prog_type_since(p),
        Feature::MapType(m) => map_type_since(m),
        Feature::Helper(h) => helper_since(h.id()),
        Feature::Capability(c) => capability_since(c),
    }
}

fn prog_type_since(p: ProgramType) -> &'static str {
    match p.0 {
        1 => "3.19",
        2..=4 => "4.1",
        5 => "4.7",
        6 => "4.8",
        7 => "4.9",
        8..=12 => "4.10",
        13 => "4.13",
        14 => "4.14",
        15 => "4.15",
        16..=18 => "4.17",
        19 | 20 => "4.18",
        21 => "4.19",
        22 => "4.20",
        23 | 24 => "5.2",
        25 => "5.3",
        26 => "5.5",
        27 | 28 => "5.6",
        29 => "5.7",
        30 => "5.9",
        31 => "5.14",
        32 => "6.4",
        _ => "unknown",
    }
}

fn map_type_since(m: MapType) -> &'static str {
    match m.0 {
        1 | 2 => "3.19",
        3 => "4.2",
        4 => "4.3",
        5..=7 => "4.6",
        8 => "4.8",
        9 | 10 => "4.10",
        11 => "4.11",
        12 | 13 => "4.12",
        14 | 15 => "4.14",
        16 => "4.15",
        17 | 18 => "4.18",
        19 | 20 => "4.19",
        21..=23 => "4.20",
        24 => "5.2",
        25 => "5.4",
        26 => "5.6",
        27 => "5.8",
        28 => "5.10",
        29 => "5.11",
        30 => "5.16",
        31 => "6.1",
        32 => "6.2",
        33 => "6.9",
        _ => "unknown",
    }
}

/// Helpers were added in id order, release by release; `(last id, release)` in order,
/// with the few ids that landed out of order listed first.
fn helper_since(id: i32) -> &'static str {
    match id {
        119 | 121 => return "5.6",
        120 | 126 | 127 => return "5.7",
        _ => {}
    }
    const RANGES: &[(i32, &str)] = &[
        (3, "3.19"),
        (11, "4.1"),
        (16, "4.2"),
        (22, "4.3"),
        (25, "4.4"),
        (26, "4.5"),
        (30, "4.6"),
        (36, "4.8"),
        (41, "4.9"),
        (44, "4.10"),
        (45, "4.11"),
        (47, "4.12"),
        (50, "4.13"),
        (53, "4.14"),
        (57, "4.15"),
        (59, "4.16"),
        (64, "4.17"),
        (80, "4.18"),
        (83, "4.19"),
        (90, "4.20"),
        (92, "5.0"),
        (98, "5.1"),
        (108, "5.2"),
        (110, "5.3"),
        (118, "5.5"),
        (124, "5.7"),
        (135, "5.8"),
        (141, "5.9"),
        (155, "5.10"),
        (162, "5.11"),
        (163, "5.12"),
        (165, "5.13"),
        (168, "5.14"),
        (175, "5.15"),
        (179, "5.16"),
        (185, "5.17"),
        (193, "5.18"),
        (203, "5.19"),
        (207, "6.0"),
        (209, "6.1"),
        (211, "6.2"),
    ];
    if id < 1 {
        return "unknown";
    }
    RANGES
        .iter()
        .find(|&&(last, _)| id <= last)
        .map_or("unknown", |&(_, v)| v)
}

fn capability_since(c: Capability) -> &'static str {
    match c {
        Capability::BpfLink => "5.7",
        Capability::PerfLink => "5.15",
        Capability::Ringbuf => "5.8",
        Capability::BpfCookie => "5.15",
        Capability::KprobeMulti => "5.18",
        Capability::UprobeMulti => "6.6",
        Capability::Tcx => "6.6",
        Capability::Netkit => "6.7",
        Capability::Token => "6.9",
        Capability::BpfLoop => "5.17",
        Capability::GlobalData => "5.2",
        Capability::MmapableArray => "5.5",
        Capability::MemcgAccounting => "5.11",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_known_first_releases() {
        assert_eq!(min_kernel(Feature::MapType(MapType::RINGBUF)), "5.8");
        assert_eq!(min_kernel(Feature::Capability(Capability::Ringbuf)), "5.8");
        assert_eq!(min_kernel(Feature::ProgramType(ProgramType::XDP)), "4.8");
        assert_eq!(
            min_kernel(Feature::ProgramType(ProgramType::NETFILTER)),
            "6.4"
        );
        assert_eq!(min_kernel(Feature::Helper(Helper::Loop)), "5.17");
        assert_eq!(min_kernel(Feature::Helper(Helper::GetAttachCookie)), "5.15");
        assert_eq!(min_kernel(Feature::Helper(Helper::ProbeReadKernel)), "5.5");
        assert_eq!(min_kernel(Feature::Helper(Helper::MapLookupElem)), "3.19");
        assert_eq!(
            min_kernel(Feature::Helper(Helper::CgrpStorageDelete)),
            "6.2"
        );
        assert_eq!(min_kernel(Feature::MapType(MapType::ARENA)), "6.9");
    }

    #[test]
    fn every_known_helper_has_a_release_and_releases_never_go_back_much() {
        let mut last = (0u32, 0u32);
        for h in Helper::all() {
            let v = min_kernel(Feature::Helper(h));
            let (a, b) = v.split_once('.').expect(v);
            let cur: (u32, u32) = (a.parse().unwrap(), b.parse().unwrap());
            // Only the listed out-of-order ids may be older than their predecessor.
            if cur < last {
                assert!([121, 126, 127].contains(&h.id()), "{h:?} {v}");
            }
            last = last.max(cur);
        }
    }

    #[test]
    fn unknown_values_say_unknown() {
        assert_eq!(
            min_kernel(Feature::ProgramType(ProgramType(200))),
            "unknown"
        );
        assert_eq!(min_kernel(Feature::MapType(MapType(200))), "unknown");
    }
}

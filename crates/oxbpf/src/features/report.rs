//! Everything at once: every known program type, map type, the helpers of each program
//! type, the capabilities and the BTF kinds (what `oxbpf probe` prints).
//!
//! The helper matrix is ~30 types × 211 helpers of one `BPF_PROG_LOAD` each, so
//! [`probe_all`] spreads the program types over threads.

use std::time::{Duration, Instant};

use oxbpf_asm::Helper;
use oxbpf_obj::{MapType, ProgramType};

use super::caps::{Capabilities, capabilities, support_of};
use super::helpers::{HelperSupport, helper_support, helpers_probeable};
use super::maps::map_type_supported;
use super::progs::prog_type_supported;
use super::{BtfProbe, Support, btf_probes};

/// The largest `enum bpf_prog_type` value this crate names.
const LAST_PROG_TYPE: u32 = 32;
/// The largest `enum bpf_map_type` value this crate names.
const LAST_MAP_TYPE: u32 = 35;

/// Every program type this crate knows, in kernel order (`UNSPEC` excluded).
pub fn known_program_types() -> impl Iterator<Item = ProgramType> {
    (1..=LAST_PROG_TYPE).map(ProgramType)
}

/// Every map type this crate knows, in kernel order (`UNSPEC` excluded).
pub fn known_map_types() -> impl Iterator<Item = MapType> {
    (1..=LAST_MAP_TYPE).map(MapType)
}

/// The helpers of one program type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProgramHelpers {
    /// The program type.
    pub program_type: ProgramType,
    /// Helpers it may call ([`HelperSupport::Available`] or [`HelperSupport::GplOnly`]), in
    /// id order; empty when the type is missing or its helpers could not be probed.
    pub helpers: Vec<(Helper, HelperSupport)>,
    /// Why the helpers could not be probed (see [`super::ProbeError`]), if so.
    pub error: Option<String>,
}

/// The whole probe of the running kernel.
#[derive(Clone, Debug)]
pub struct Report {
    /// Every known program type.
    pub program_types: Vec<(ProgramType, Support)>,
    /// Every known map type.
    pub map_types: Vec<(MapType, Support)>,
    /// Helpers per program type, for every known type.
    pub helpers: Vec<ProgramHelpers>,
    /// The kernel capabilities.
    pub capabilities: Capabilities,
    /// The BTF kind probes ([`super::btf_probes`]).
    pub btf: &'static [BtfProbe],
    /// Wall time of this call (cached answers cost nothing).
    pub elapsed: Duration,
}

/// Runs (or reads from the per-process cache) every probe, the helper matrix on up to
/// `threads` threads (at least one).
pub fn probe_all(threads: usize) -> Report {
    let start = Instant::now();
    let program_types: Vec<_> = known_program_types()
        .map(|p| (p, support_of(prog_type_supported(p))))
        .collect();
    let map_types = known_map_types()
        .map(|m| (m, support_of(map_type_supported(m))))
        .collect();
    let types: Vec<ProgramType> = program_types.iter().map(|(p, _)| *p).collect();
    let helpers = helper_matrix(&types, threads.max(1));
    Report {
        program_types,
        map_types,
        helpers,
        capabilities: capabilities(),
        btf: btf_probes(),
        elapsed: start.elapsed(),
    }
}

/// The helpers of each type in `types`, the types dealt round-robin to `threads` threads
/// (the costly ones — every helper of a present type — are spread evenly that way).
fn helper_matrix(types: &[ProgramType], threads: usize) -> Vec<ProgramHelpers> {
    let mut out: Vec<Option<ProgramHelpers>> = vec![None; types.len()];
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads.min(types.len()))
            .map(|t| {
                s.spawn(move || {
                    types
                        .iter()
                        .enumerate()
                        .skip(t)
                        .step_by(threads)
                        .map(|(i, &p)| (i, helpers_of(p)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        for h in handles {
            // A probe never panics; if a thread did, its types stay unanswered below.
            if let Ok(done) = h.join() {
                for (i, ph) in done {
                    out[i] = Some(ph);
                }
            }
        }
    });
    out.into_iter()
        .zip(types)
        .map(|(ph, &p)| {
            ph.unwrap_or_else(|| ProgramHelpers {
                program_type: p,
                helpers: Vec::new(),
                error: Some("probe thread failed".into()),
            })
        })
        .collect()
}

/// Every helper of `pt`; stops at the first error (they would all fail alike).
fn helpers_of(pt: ProgramType) -> ProgramHelpers {
    let mut ph = ProgramHelpers {
        program_type: pt,
        helpers: Vec::new(),
        error: None,
    };
    if !helpers_probeable(pt) {
        ph.error = Some(
            "not probeable: programs of this type only load against a real attach target".into(),
        );
        return ph;
    }
    match prog_type_supported(pt) {
        Ok(true) => {}
        Ok(false) => return ph,
        Err(e) => {
            ph.error = Some(e.to_string());
            return ph;
        }
    }
    for h in Helper::all() {
        match helper_support(pt, h) {
            Ok(HelperSupport::Unavailable) => {}
            Ok(s) => ph.helpers.push((h, s)),
            Err(e) => {
                ph.error = Some(e.to_string());
                break;
            }
        }
    }
    ph
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_types_all_have_kernel_names() {
        for p in known_program_types() {
            assert!(p.kernel_name().is_some(), "{p:?}");
        }
        for m in known_map_types() {
            assert!(m.kernel_name().is_some(), "{m:?}");
        }
        assert_eq!(ProgramType(LAST_PROG_TYPE + 1).kernel_name(), None);
        assert_eq!(MapType(LAST_MAP_TYPE + 1).kernel_name(), None);
    }
}

//! Helper probes: may a program of type T call helper H?
//!
//! The probe loads `call H; exit` as type T (with the type's load attributes, see
//! [`super::progs`]) under a non-GPL license, with the verifier log on, and reads the
//! log as libbpf's `libbpf_probe_bpf_helper` and cilium/ebpf's `HaveProgramHelper` do:
//! - "invalid func " (the id is unknown to this kernel), "unknown func " (kernels before
//!   6.5: known, but not for this type) or "program of this type cannot use helper" (6.5+)
//!   mean [`HelperSupport::Unavailable`];
//! - "cannot call GPL-restricted function from non-GPL compatible program" means the
//!   verifier found the helper for this type and stopped at its `gpl_only` flag:
//!   [`HelperSupport::GplOnly`];
//! - a successful load, or any other verifier complaint (wrong argument types, return
//!   value range, sleepable context) comes after the helper lookup, so the helper is
//!   there for every license: [`HelperSupport::Available`].
//!
//! One load thus answers both "does it exist for T" and "does it need GPL". `TRACING`,
//! `LSM`, `EXT` and `STRUCT_OPS` programs only load against a real attach target, so
//! their helpers are [`ProbeError::Unprobeable`] (libbpf answers `EOPNOTSUPP` too). A type
//! the kernel lacks has no helpers ([`HelperSupport::Unavailable`]).

use oxbpf_asm::Helper;
use oxbpf_asm::builder::Builder;
use oxbpf_obj::ProgramType;

use super::probe::{self, Cache, ProbeError};
use super::progs::{self, needed_caps, prog_type_supported, setup_for};

/// The license probe programs carry: anything not GPL-compatible.
const NON_GPL: &str = "Proprietary";

/// Whether and for which programs a helper is available to a program type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HelperSupport {
    /// The kernel lacks the helper or does not offer it to this program type.
    Unavailable,
    /// Offered to this type, but only to GPL-compatible programs.
    GplOnly,
    /// Offered to this type whatever the license.
    Available,
}

impl HelperSupport {
    /// True when a program with a GPL-compatible license may call the helper.
    pub fn for_gpl(self) -> bool {
        self != HelperSupport::Unavailable
    }

    /// True when a program whose license is not GPL-compatible may call the helper.
    pub fn for_non_gpl(self) -> bool {
        self == HelperSupport::Available
    }
}

/// Whether a GPL-compatible program of type `pt` may call `helper` (probed once per
/// process and pair).
pub fn helper_supported(pt: ProgramType, helper: Helper) -> Result<bool, ProbeError> {
    helper_support(pt, helper).map(HelperSupport::for_gpl)
}

/// Whether programs of type `pt` may call `helper`, and under which licenses (probed
/// once per process and pair).
pub fn helper_support(pt: ProgramType, helper: Helper) -> Result<HelperSupport, ProbeError> {
    static CACHE: Cache<(u32, i32), HelperSupport> = Cache::new();
    CACHE.get_or_probe((pt.0, helper.id()), || {
        probe_helper(pt, helper, &mut vec![0u8; LOG_SIZE])
    })
}

/// Log buffer of one helper probe: the rejection is a handful of lines.
pub(crate) const LOG_SIZE: usize = 16 * 1024;

/// Whether helpers of `pt` can be probed at all (see the module docs).
pub fn helpers_probeable(pt: ProgramType) -> bool {
    !matches!(
        pt,
        ProgramType::TRACING | ProgramType::LSM | ProgramType::EXT | ProgramType::STRUCT_OPS
    )
}

/// [`helper_support`] without the cache, with a caller-provided log buffer (reused
/// across probes by [`super::report`]).
pub fn probe_helper(
    pt: ProgramType,
    helper: Helper,
    log: &mut [u8],
) -> Result<HelperSupport, ProbeError> {
    let what = || format!("helper {} for program type {pt}", helper.name());
    if !helpers_probeable(pt) {
        return Err(ProbeError::Unprobeable {
            probe: what(),
            reason: "programs of this type only load against a real attach target",
        });
    }
    if !prog_type_supported(pt)? {
        return Ok(HelperSupport::Unavailable);
    }
    let mut b = Builder::new();
    b.call_helper(helper).exit();
    let insns = probe::build(&b, what)?;
    let setup = setup_for(pt);
    let (res, text) = probe::load(&progs::probe_load(pt, &setup, &insns, NON_GPL), log);
    match res {
        Ok(_) => Ok(HelperSupport::Available),
        Err(e) if e.errno() == Some(oxbpf_sys::Errno::EPERM) => {
            Err(probe::permission(what(), "BPF_PROG_LOAD", needed_caps(pt)))
        }
        Err(_) => Ok(read_log(&text)),
    }
}

/// What a rejected helper probe's verifier log says (see the module docs).
fn read_log(log: &str) -> HelperSupport {
    if log.contains("invalid func ")
        || log.contains("unknown func ")
        || log.contains("program of this type cannot use helper")
    {
        HelperSupport::Unavailable
    } else if log.contains("cannot call GPL-restricted function") {
        HelperSupport::GplOnly
    } else {
        HelperSupport::Available
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verifier_messages_decide_the_answer() {
        assert_eq!(
            read_log("0: (85) call unknown#300\ninvalid func unknown#300\n"),
            HelperSupport::Unavailable
        );
        assert_eq!(
            read_log("unknown func bpf_probe_read_kernel#113\n"),
            HelperSupport::Unavailable
        );
        assert_eq!(
            read_log("program of this type cannot use helper bpf_sys_bpf#166\n"),
            HelperSupport::Unavailable
        );
        assert_eq!(
            read_log("cannot call GPL-restricted function from non-GPL compatible program\n"),
            HelperSupport::GplOnly
        );
        assert_eq!(
            read_log("R1 type=ctx expected=fp\n"),
            HelperSupport::Available
        );
    }

    #[test]
    fn license_predicates() {
        assert!(HelperSupport::GplOnly.for_gpl());
        assert!(!HelperSupport::GplOnly.for_non_gpl());
        assert!(HelperSupport::Available.for_non_gpl());
        assert!(!HelperSupport::Unavailable.for_gpl());
    }

    #[test]
    fn attach_target_types_are_unprobeable() {
        let e = probe_helper(ProgramType::TRACING, Helper::MapLookupElem, &mut []);
        assert!(matches!(e, Err(ProbeError::Unprobeable { .. })), "{e:?}");
    }
}

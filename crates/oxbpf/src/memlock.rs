//! RLIMIT_MEMLOCK, raised once per process on kernels that charge BPF memory to it.
//!
//! Kernels before 5.11 count map and program memory against RLIMIT_MEMLOCK, whose default
//! (64 KiB on many systems) is far too small; 5.11 removed that accounting for maps and
//! programs alike (memory is charged to the memory cgroup instead, with or without memcg
//! configured), and such kernels may refuse to raise the limit (EPERM in containers).
//! libbpf probes for memcg accounting by loading a program that calls a helper of the
//! same release (~0.3 ms in a fresh process); the release number decides the same
//! question without a program: on 5.11 and later the limit is left alone, before it is
//! raised (harmless on a vendor kernel that back-ported memcg accounting), a refusal
//! ignored. [`crate::features::Capability::MemcgAccounting`] still probes, for reports.

use std::sync::OnceLock;

/// Whether the limit was raised (`Some(Err)` if raising was refused).
static BUMPED: OnceLock<Option<Result<(), String>>> = OnceLock::new();

/// `KERNEL_VERSION(5, 11, 0)`: the first release without rlimit-based BPF accounting.
const MEMCG_ONLY: u32 = (5 << 16) | (11 << 8);

/// Raises the limit if this kernel needs it; at most once per process. Called before
/// loading a collection and before every feature probe (a probe report creates hundreds
/// of maps and programs, and freed ones stay charged for a while).
pub(crate) fn ensure() {
    BUMPED.get_or_init(|| decide(crate::features::kernel_version_code()));
}

/// What [`ensure`] does on a kernel of version code `version` (0: unknown, raise).
fn decide(version: u32) -> Option<Result<(), String>> {
    if version >= MEMCG_ONLY {
        None
    } else {
        Some(oxbpf_sys::raise_memlock_rlimit().map_err(|e| e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_is_left_alone_from_5_11() {
        assert_eq!(decide(MEMCG_ONLY), None);
        assert_eq!(decide((6 << 16) | (18 << 8)), None);
        // Before (or unknown), it is raised, or the refusal recorded.
        assert!(decide((5 << 16) | (10 << 8) | 255).is_some());
        assert!(decide(0).is_some());
    }

    /// The release decides what libbpf's probe does: where the running kernel is 5.11+,
    /// the memcg probe (a program calling `bpf_ktime_get_coarse_ns`) must load.
    #[test]
    fn the_release_agrees_with_the_memcg_probe() {
        use crate::features::{Capability, capability_supported};
        let by_release = decide(crate::features::kernel_version_code()).is_none();
        match capability_supported(Capability::MemcgAccounting) {
            Ok(probe) => assert_eq!(by_release, probe, "release vs probe"),
            // Without privileges the probe cannot load anything.
            Err(e) => eprintln!("skipping: the memcg probe failed: {e}"),
        }
    }
}

//! RLIMIT_MEMLOCK, raised once per process on kernels that charge BPF memory to it.
//!
//! Kernels before 5.11 count map and program memory against RLIMIT_MEMLOCK, whose default
//! (64 KiB on many systems) is far too small; later kernels charge the memory cgroup and
//! may refuse to raise the limit (EPERM in containers). As libbpf does, oxbpf probes for
//! memcg accounting (through a helper of the same release) and raises the limit only
//! where it is missing or the probe cannot tell, ignoring a refusal.

use std::sync::OnceLock;

use crate::features::{Capability, capability_supported};

/// Whether the limit was raised (`Some(Err)` if raising was refused).
static BUMPED: OnceLock<Option<Result<(), String>>> = OnceLock::new();

thread_local! {
    /// Set while this thread decides (its memcg probe goes through the feature probes,
    /// which call [`ensure`] themselves).
    static DECIDING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Raises the limit if this kernel needs it; at most once per process. Called before
/// loading a collection and before every feature probe (a probe report creates hundreds
/// of maps and programs, and freed ones stay charged for a while).
pub(crate) fn ensure() {
    if DECIDING.with(|d| d.replace(true)) {
        return;
    }
    BUMPED.get_or_init(|| match capability_supported(Capability::MemcgAccounting) {
        Ok(true) => None,
        _ => Some(oxbpf_sys::raise_memlock_rlimit().map_err(|e| e.to_string())),
    });
    DECIDING.with(|d| d.set(false));
}

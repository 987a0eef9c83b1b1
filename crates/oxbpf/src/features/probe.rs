//! What the program, map, helper and capability probes share: [`ProbeError`], the kernel
//! calls (counted, see [`probe_calls`]), errno classification and the per-process cache.

use std::collections::HashMap;
use std::hash::Hash;
use std::os::fd::BorrowedFd;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use oxbpf_asm::builder::Builder;
use oxbpf_sys::bpf::{self, MapCreate, ProgLoad};
use oxbpf_sys::{Errno, MapFd, ProgFd};

/// Why a probe could not decide.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProbeError {
    /// The kernel refused the probe with `EPERM`: the process lacks a capability (or a
    /// policy such as lockdown or an LSM forbids the call).
    #[error("probe {probe}: {call}: Operation not permitted (EPERM) — needs {needs}{}",
        if *.has_them { " (the process has them: a kernel policy such as lockdown or an LSM refuses the call)" } else { "" })]
    Permission {
        /// What was probed (`program type BPF_PROG_TYPE_XDP`).
        probe: String,
        /// The refused command (`BPF_PROG_LOAD`).
        call: &'static str,
        /// The capabilities the call needs (`CAP_BPF and CAP_NET_ADMIN`).
        needs: &'static str,
        /// Whether the process holds them (`CapEff` in /proc/self/status).
        has_them: bool,
    },
    /// The kernel answered with an error that says nothing about the feature
    /// (`ENOMEM`, `EFAULT`, ...).
    #[error("probe {probe}: {call}: {errno}: cannot tell")]
    Inconclusive {
        /// What was probed.
        probe: String,
        /// The command that failed.
        call: &'static str,
        /// The kernel's answer.
        errno: Errno,
    },
    /// The question has no probe that answers it without a real attach target.
    #[error("probe {probe}: cannot be probed: {reason}")]
    Unprobeable {
        /// What was asked.
        probe: String,
        /// Why there is no probe.
        reason: &'static str,
    },
}

static CALLS: AtomicU64 = AtomicU64::new(0);

thread_local! {
    static CALLS_HERE: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// How many kernel calls (`BPF_PROG_LOAD`, `BPF_MAP_CREATE`, `BPF_BTF_LOAD`,
/// `BPF_LINK_CREATE`, ...) the program, map, helper and capability probes have made in
/// this process: a second, cached answer adds none.
pub fn probe_calls() -> u64 {
    CALLS.load(Ordering::Relaxed)
}

/// [`probe_calls`] made on the calling thread (unaffected by probes on other threads).
pub fn probe_calls_on_this_thread() -> u64 {
    CALLS_HERE.with(|c| c.get())
}

pub(crate) fn count_call() {
    CALLS.fetch_add(1, Ordering::Relaxed);
    CALLS_HERE.with(|c| c.set(c.get() + 1));
}

/// Errnos with which the kernel says "I don't know this" (an unknown type or command,
/// attr fields past the end of its struct, an unsupported operation).
pub(crate) fn means_unsupported(e: Errno) -> bool {
    matches!(
        e,
        Errno::EINVAL | Errno::E2BIG | Errno::ENOTSUP | Errno::ENOTSUPP
    )
}

/// `Ok(false)` (unsupported) for the "unsupported" errnos, a [`ProbeError`] for the others.
pub(crate) fn classify_err(
    probe: impl FnOnce() -> String,
    call: &'static str,
    needs: &'static str,
    err: &oxbpf_sys::Error,
) -> Result<bool, ProbeError> {
    match err.errno() {
        Some(e) if means_unsupported(e) => Ok(false),
        Some(Errno::EPERM) => Err(permission(probe(), call, needs)),
        Some(errno) => Err(ProbeError::Inconclusive {
            probe: probe(),
            call,
            errno,
        }),
        None => Err(ProbeError::Inconclusive {
            probe: probe(),
            call,
            errno: Errno(0),
        }),
    }
}

/// A [`ProbeError::Permission`], noting whether the process holds `needs`.
pub(crate) fn permission(probe: String, call: &'static str, needs: &'static str) -> ProbeError {
    ProbeError::Permission {
        probe,
        call,
        needs,
        has_them: has_capabilities(needs),
    }
}

/// Capability numbers (`include/uapi/linux/capability.h`) of the names used in `needs`.
const CAPS: &[(&str, u32)] = &[
    ("CAP_NET_ADMIN", 12),
    ("CAP_SYS_ADMIN", 21),
    ("CAP_PERFMON", 38),
    ("CAP_BPF", 39),
];

/// Whether the process's effective set holds every capability named in `needs`.
fn has_capabilities(needs: &str) -> bool {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return false;
    };
    let Some(eff) = status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|h| u64::from_str_radix(h.trim(), 16).ok())
    else {
        return false;
    };
    CAPS.iter()
        .filter(|(name, _)| needs.contains(name))
        .all(|&(_, bit)| eff & (1 << bit) != 0)
}

/// `BPF_PROG_LOAD` of a probe program, counted; the log (if `log` is non-empty) is the
/// returned string.
pub(crate) fn load(p: &ProgLoad<'_>, log: &mut [u8]) -> (oxbpf_sys::Result<ProgFd>, String) {
    crate::memlock::ensure();
    count_call();
    let out = bpf::prog_load(p, u32::from(!log.is_empty()), log);
    let text = String::from_utf8_lossy(&log[..out.log_len.min(log.len())]).into_owned();
    (out.result, text)
}

/// `BPF_MAP_CREATE` of a probe map, counted.
pub(crate) fn create_map(attr: &MapCreate) -> oxbpf_sys::Result<MapFd> {
    crate::memlock::ensure();
    count_call();
    bpf::map_create(attr)
}

/// `BPF_BTF_LOAD` of a probe blob, counted.
pub(crate) fn load_btf(blob: &[u8]) -> oxbpf_sys::Result<oxbpf_sys::BtfFd> {
    crate::memlock::ensure();
    count_call();
    bpf::btf_load(blob, &mut [])
}

/// `BPF_LINK_CREATE`, counted.
pub(crate) fn create_link(
    prog: BorrowedFd<'_>,
    target_fd: u32,
    attach_type: u32,
) -> oxbpf_sys::Result<oxbpf_sys::LinkFd> {
    crate::memlock::ensure();
    count_call();
    bpf::link_create(prog, target_fd, attach_type, 0, 0)
}

/// The bytes of a built probe program (builders of fixed probe programs cannot fail;
/// an error would be a bug in this module, reported as an inconclusive probe).
pub(crate) fn build(b: &Builder, probe: impl FnOnce() -> String) -> Result<Vec<u8>, ProbeError> {
    let out = b.build().map_err(|_| ProbeError::Inconclusive {
        probe: probe(),
        call: "building the probe program",
        errno: Errno::EINVAL,
    })?;
    Ok(oxbpf_asm::insns_to_bytes(&out.insns))
}

/// `r0 = 0; exit`.
pub(crate) fn return_zero() -> Vec<u8> {
    let mut b = Builder::new();
    b.mov64_imm(oxbpf_asm::builder::R0, 0).exit();
    // Two fixed instructions without labels always build.
    b.build()
        .map(|o| oxbpf_asm::insns_to_bytes(&o.insns))
        .unwrap_or_default()
}

/// A per-process answer cache keyed by the probe's argument. Only conclusive answers are
/// kept: a probe that failed (no permission yet, out of memory) runs again next time.
pub(crate) struct Cache<K, V>(Mutex<Option<HashMap<K, V>>>);

impl<K: Hash + Eq, V: Clone> Cache<K, V> {
    pub(crate) const fn new() -> Self {
        Cache(Mutex::new(None))
    }

    /// The cached answer for `key`, else `probe()`'s (cached when `Ok`). The lock is not
    /// held while probing, so threads probe different keys in parallel.
    pub(crate) fn get_or_probe<E>(
        &self,
        key: K,
        probe: impl FnOnce() -> Result<V, E>,
    ) -> Result<V, E> {
        if let Some(v) = self.lock().as_ref().and_then(|m| m.get(&key)) {
            return Ok(v.clone());
        }
        let v = probe()?;
        self.lock()
            .get_or_insert_with(HashMap::new)
            .insert(key, v.clone());
        Ok(v)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<HashMap<K, V>>> {
        // A panic while holding the lock cannot leave the map half-written (one insert).
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(errno: Errno) -> oxbpf_sys::Error {
        oxbpf_sys::Error::Syscall {
            call: "BPF_PROG_LOAD",
            errno,
        }
    }

    #[test]
    fn einval_e2big_and_enotsupp_mean_unsupported() {
        for e in [Errno::EINVAL, Errno::E2BIG, Errno::ENOTSUPP, Errno::ENOTSUP] {
            let v = classify_err(|| "x".into(), "BPF_PROG_LOAD", "CAP_BPF", &err(e));
            assert_eq!(v, Ok(false), "{e:?}");
        }
    }

    #[test]
    fn eperm_is_a_permission_error_naming_the_capability() {
        let v = classify_err(
            || "program type BPF_PROG_TYPE_XDP".into(),
            "BPF_PROG_LOAD",
            "CAP_BPF and CAP_NET_ADMIN",
            &err(Errno::EPERM),
        );
        let Err(e @ ProbeError::Permission { .. }) = v else {
            panic!("{v:?}")
        };
        let text = e.to_string();
        assert!(
            text.starts_with("probe program type BPF_PROG_TYPE_XDP: BPF_PROG_LOAD: Operation not permitted (EPERM) — needs CAP_BPF and CAP_NET_ADMIN"),
            "{text}"
        );
    }

    #[test]
    fn other_errnos_are_inconclusive() {
        let v = classify_err(
            || "m".into(),
            "BPF_MAP_CREATE",
            "CAP_BPF",
            &err(Errno::ENOMEM),
        );
        assert_eq!(
            v.unwrap_err(),
            ProbeError::Inconclusive {
                probe: "m".into(),
                call: "BPF_MAP_CREATE",
                errno: Errno::ENOMEM
            }
        );
    }

    #[test]
    fn cache_keeps_only_conclusive_answers() {
        let c: Cache<u32, bool> = Cache::new();
        let mut runs = 0;
        let r: Result<bool, ()> = c.get_or_probe(1, || {
            runs += 1;
            Err(())
        });
        assert!(r.is_err());
        let r: Result<bool, ()> = c.get_or_probe(1, || {
            runs += 1;
            Ok(true)
        });
        assert_eq!(r, Ok(true));
        let r: Result<bool, ()> = c.get_or_probe(1, || {
            runs += 1;
            Ok(false)
        });
        assert_eq!((r, runs), (Ok(true), 2));
    }

    #[test]
    fn return_zero_is_two_slots() {
        assert_eq!(return_zero().len(), 16);
    }
}

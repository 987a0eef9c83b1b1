//! The visible record of a fallback decision: when a probe or a refused call makes an
//! attachment use an older mechanism, a `tracing` debug event (target `oxbpf_attach`) names
//! the hook, the target, the mechanism chosen and why. Applications see them by installing
//! a `tracing` subscriber; `oxbpf run -v` prints them.

/// Records that `hook` on `target` falls back to `chosen` because of `reason`.
pub(crate) fn note(hook: &str, target: &str, chosen: &str, reason: &str) {
    tracing::debug!(
        target: "oxbpf_attach",
        hook,
        target,
        chosen,
        reason,
        "{hook}: {target}: falling back to {chosen} ({reason})"
    );
}

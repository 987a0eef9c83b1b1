//! Kernel feature probes: what the running kernel supports, each probed once per process.
//!
//! Probes load a tiny object (here: a BTF blob) and look at the kernel's answer, as
//! libbpf's `probe_kern_*` do. A probe that cannot run because of permissions
//! (`EPERM`/`EACCES`) or a kernel without `bpf()` (`ENOSYS`) is [`Support::Unknown`], and
//! callers treat unknown as present (a modern kernel): rewriting an object for an old
//! kernel that is in fact new would only lose information, while the load that follows
//! reports the real error.

mod btf;
mod caps;
mod helpers;
mod maps;
mod probe;
mod progs;
mod report;
mod versions;

pub use btf::{BtfProbe, btf_features, btf_probes, probe_btf_features, sanitize_for};
pub use caps::{
    Capabilities, Capability, capabilities, capability_supported, probe_capability, support_of,
};
pub use helpers::{
    HelperSupport, helper_support, helper_supported, helpers_probeable, probe_helper,
};
pub use maps::{map_type_supported, probe_map_type};
pub use probe::{ProbeError, probe_calls, probe_calls_on_this_thread};
pub(crate) use progs::kernel_version_code;
pub use progs::{probe_prog_type, prog_type_supported};
pub use report::{ProgramHelpers, Report, known_map_types, known_program_types, probe_all};
pub use versions::{Feature, min_kernel};

/// The answer of one probe.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Support {
    /// The kernel accepted the probe.
    Yes,
    /// The kernel rejected the probe: the feature is missing.
    No,
    /// The probe could not tell (the reason, e.g. `BPF_BTF_LOAD: Operation not permitted`).
    Unknown(String),
}

impl Support {
    /// True unless the kernel said no ([`Support::Unknown`] counts as present).
    pub fn assumed_present(&self) -> bool {
        !matches!(self, Support::No)
    }
}

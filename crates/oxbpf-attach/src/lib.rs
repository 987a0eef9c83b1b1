//! oxbpf-attach: running loaded programs on kernel hooks, and the [`Link`] that undoes it.
//!
//! Owns one module per hook family (now: [`tracepoint`]) and the link lifecycle: every
//! attachment is a [`Link`] that detaches when dropped (or explicitly with
//! [`Link::detach`]), preferring a kernel `bpf_link` and falling back to the older
//! mechanism where the kernel lacks it. It does not load programs: callers pass the fd of
//! a loaded program.
//!
//! ```no_run
//! # fn f(prog: std::os::fd::BorrowedFd<'_>) -> Result<(), oxbpf_attach::Error> {
//! let link = oxbpf_attach::tracepoint::attach(prog, "sched", "sched_process_exec")?;
//! println!("attached: {}", link.description());
//! drop(link); // detached
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]

mod link;
pub mod tracepoint;

pub use link::{Link, LinkMechanism};

/// Errors from attaching.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The named attach point does not exist on this kernel.
    #[error("{what} does not exist on this kernel ({detail})")]
    NoAttachPoint {
        /// The attach point (`tracepoint sched/sched_process_exec`).
        what: String,
        /// How we looked for it.
        detail: String,
    },
    /// An attach point name that cannot be valid.
    #[error("invalid {what}: {reason}")]
    InvalidName {
        /// What was named.
        what: String,
        /// Why it is invalid.
        reason: &'static str,
    },
    /// A kernel call failed while attaching `what`.
    #[error("attaching {what}: {source}")]
    Kernel {
        /// The attachment being made.
        what: String,
        /// The failed call.
        #[source]
        source: oxbpf_sys::Error,
    },
}

/// Result alias of this crate.
pub type Result<T> = std::result::Result<T, Error>;

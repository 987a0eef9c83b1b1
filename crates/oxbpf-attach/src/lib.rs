//! oxbpf-attach: running loaded programs on kernel hooks, and the [`Link`] that undoes it.
//!
//! Owns one module per hook family ([`tracepoint`], [`raw_tp`], [`btf_tracing`] for
//! tp_btf/fentry/fexit/fmod_ret/LSM, [`kprobe`] with kprobe.multi, [`uprobe`] with
//! uprobe.multi and [`symbols`] to find their targets, [`dwarf`] for
//! source lines, [`usdt`], [`perf_event`], [`iter`], [`freplace`]; networking: [`xdp`],
//! [`tc`], [`netkit`], [`cgroup`] (skb, sock, sock_addr, sockopt, sysctl, device, sockops),
//! [`sock`] (socket filters, sk_reuseport), [`sockmap`] (sk_msg, sk_skb), [`netns`]
//! (sk_lookup, flow dissector), [`netfilter`]; [`struct_ops`]) and the link lifecycle: every
//! attachment is a [`Link`] that detaches when dropped (or explicitly with
//! [`Link::detach`]), preferring a kernel `bpf_link` and falling back to the older
//! mechanism where the kernel lacks it. Each fallback decision is a `tracing` debug event
//! (target `oxbpf_attach`) naming the hook, the target and the reason. It does not load
//! programs: callers pass the fd of a loaded program.
//!
//! ```no_run
//! # fn f(prog: std::os::fd::BorrowedFd<'_>) -> Result<(), oxbpf_attach::Error> {
//! let link = oxbpf_attach::tracepoint::attach(prog, "sched", "sched_process_exec")?;
//! println!("attached: {}", link.description());
//! drop(link); // detached
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]

pub mod btf_tracing;
pub mod cgroup;
pub mod dwarf;
mod fallback;
pub mod freplace;
pub mod iter;
pub mod kprobe;
mod link;
pub mod link_info;
mod net;
pub mod netfilter;
pub mod netkit;
pub mod netns;
pub mod perf_event;
pub mod pmu;
pub mod probe_events;
pub mod raw_tp;
pub mod sock;
pub mod sockmap;
pub mod struct_ops;
pub mod symbols;
pub mod tc;
pub mod tracepoint;
pub mod uprobe;
pub mod usdt;
pub mod xdp;

pub use link::{Link, LinkMechanism, Links, Teardown};
pub use link_info::{LinkDetail, LinkInfo, LinkType, PerfLinkDetail};

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
    /// The kernel lacks the mechanism `what` needs.
    #[error("{what} {are} not available: {reason}", are = if what.ends_with('s') { "are" } else { "is" })]
    Unsupported {
        /// The mechanism (`kprobes`, `kprobe.multi`).
        what: String,
        /// Why, and what to do.
        reason: String,
    },
    /// A symbol to probe is not in the binary.
    #[error("symbol {symbol:?} not found in {binary}")]
    SymbolNotFound {
        /// The symbol (or pattern) looked for.
        symbol: String,
        /// The binary or library searched.
        binary: String,
    },
    /// A binary or library to probe cannot be found or read.
    #[error("{path}: {reason}")]
    Binary {
        /// The path or library name.
        path: String,
        /// What went wrong.
        reason: String,
    },
    /// The kernel refused an attachment, with what to do about it.
    #[error("attaching {what}: {source}; {hint}")]
    Rejected {
        /// The attachment (`XDP on veth0 (ifindex 5)`).
        what: String,
        /// The failed call.
        #[source]
        source: oxbpf_sys::Error,
        /// What to do (`an XDP program is already attached to veth0; use replace`).
        hint: String,
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

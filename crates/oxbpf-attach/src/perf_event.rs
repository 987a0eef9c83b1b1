//! perf_event programs (`SEC("perf_event")`): one perf event per CPU (a software clock,
//! or any `type`/`config`), sampled by period or frequency, each running the program
//! through a `bpf_link` (or the legacy ioctl); detached together.

use std::os::fd::BorrowedFd;

use oxbpf_sys::perf;

use crate::{Error, Link, Result};

/// How often the event fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sample {
    /// Every `n` events (for clocks: every `n` ns).
    Period(u64),
    /// About `hz` times per second.
    Frequency(u64),
}

/// What to open on each CPU.
#[derive(Debug, Clone)]
pub struct PerfEventOptions {
    /// `PERF_TYPE_*`.
    pub type_: u32,
    /// The event within the type (`PERF_COUNT_SW_CPU_CLOCK`).
    pub config: u64,
    /// Sampling.
    pub sample: Sample,
    /// CPUs to open on (`None`: every online CPU).
    pub cpus: Option<Vec<usize>>,
    /// Only this process (`-1`: every process).
    pub pid: i32,
    /// BPF cookie.
    pub cookie: u64,
}

impl PerfEventOptions {
    /// The software `cpu-clock` event at `hz` samples per second on every CPU.
    pub fn cpu_clock(hz: u64) -> Self {
        PerfEventOptions {
            type_: perf::TYPE_SOFTWARE,
            config: perf::COUNT_SW_CPU_CLOCK,
            sample: Sample::Frequency(hz),
            cpus: None,
            pid: -1,
            cookie: 0,
        }
    }
}

/// The online CPUs (`/sys/devices/system/cpu/online`).
pub fn online_cpus() -> Result<Vec<usize>> {
    let path = "/sys/devices/system/cpu/online";
    let bad = |detail: String| Error::NoAttachPoint {
        what: "online CPU list".into(),
        detail,
    };
    let text = std::fs::read_to_string(path).map_err(|e| bad(format!("reading {path}: {e}")))?;
    oxbpf_sys::parse_cpu_list(text.trim())
        .ok_or_else(|| bad(format!("{path} holds {:?}", text.trim())))
}

/// Attaches the perf_event program `prog` on every CPU `opts` names.
pub fn attach(prog: BorrowedFd<'_>, opts: &PerfEventOptions) -> Result<Link> {
    let cpus = match &opts.cpus {
        Some(c) => c.clone(),
        None => online_cpus()?,
    };
    let (period, flags) = match opts.sample {
        Sample::Period(n) => (n, 0),
        Sample::Frequency(hz) => (hz, perf::ATTR_FREQ),
    };
    if period == 0 {
        return Err(Error::InvalidName {
            what: "perf event sampling".into(),
            reason: "period or frequency must be non-zero",
        });
    }
    let attr = perf::PerfEventAttr {
        type_: opts.type_,
        config: opts.config,
        sample_period: period,
        flags,
        ..Default::default()
    };
    let desc = format!(
        "perf_event type {} config {} on {} CPUs",
        opts.type_,
        opts.config,
        cpus.len()
    );
    let mut links = Vec::with_capacity(cpus.len());
    for cpu in cpus {
        let what = format!(
            "perf_event type {} config {} cpu {cpu}",
            opts.type_, opts.config
        );
        let cpu_i = i32::try_from(cpu).map_err(|_| Error::InvalidName {
            what: what.clone(),
            reason: "CPU number out of range",
        })?;
        let event =
            perf::perf_event_open(&attr, opts.pid, cpu_i).map_err(|source| Error::Kernel {
                what: what.clone(),
                source,
            })?;
        // Earlier CPUs' links are dropped (detached) if this one fails.
        links.push(crate::pmu::attach_to_event(prog, event, opts.cookie, what)?);
    }
    Ok(Link::many(links, desc))
}

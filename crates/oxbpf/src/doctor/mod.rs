//! `oxbpf doctor`: is this machine ready to load and attach BPF programs?
//!
//! [`run`] reads the kernel's own files — release, config, BTF, mounts, capabilities,
//! limits, sysctls, lockdown — under [`Roots`] (so tests point it at fake trees) and
//! returns a [`Report`]: one [`Check`] per item with [`Status::Ok`], [`Status::Warn`] or
//! [`Status::Fail`] and, when not OK, the fix. Only the memlock-accounting answer comes
//! from a probe of the running kernel, and only when the roots are the real ones.
//!
//! [`arch`] checks an object's target architecture against the machine's.

pub mod arch;
mod checks;
mod config;

use std::fmt;
use std::path::PathBuf;

pub use config::{KernelConfig, parse_config};

/// Where [`run`] reads the kernel's files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Roots {
    /// procfs (`/proc`).
    pub proc: PathBuf,
    /// sysfs (`/sys`).
    pub sys: PathBuf,
    /// The directory of `config-<release>` files (`/boot`).
    pub boot: PathBuf,
}

impl Default for Roots {
    fn default() -> Self {
        Roots {
            proc: "/proc".into(),
            sys: "/sys".into(),
            boot: "/boot".into(),
        }
    }
}

/// The verdict on one item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Status {
    /// Fine.
    Ok,
    /// Works, with a limitation.
    Warn,
    /// BPF (or a large part of it) cannot work until fixed.
    Fail,
}

impl Status {
    /// `OK`, `WARN` or `FAIL`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "OK",
            Status::Warn => "WARN",
            Status::Fail => "FAIL",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One checked item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// A stable dotted name (`kernel.version`, `config.BPF_SYSCALL`, `mount.tracefs`).
    pub name: String,
    /// The verdict.
    pub status: Status,
    /// What was found.
    pub detail: String,
    /// How to fix it (set unless the status is OK).
    pub fix: Option<String>,
}

/// Every check of one [`run`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Report {
    /// The checks, in the order they ran.
    pub checks: Vec<Check>,
}

impl Report {
    /// The worst status of any check (OK for an empty report).
    pub fn worst(&self) -> Status {
        self.checks
            .iter()
            .map(|c| c.status)
            .max()
            .unwrap_or(Status::Ok)
    }

    /// True if any check failed.
    pub fn failed(&self) -> bool {
        self.worst() == Status::Fail
    }

    /// The check named `name`.
    pub fn get(&self, name: &str) -> Option<&Check> {
        self.checks.iter().find(|c| c.name == name)
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in &self.checks {
            writeln!(f, "{:<5} {:<32} {}", c.status.as_str(), c.name, c.detail)?;
            if let Some(fix) = &c.fix {
                writeln!(f, "      fix: {fix}")?;
            }
        }
        Ok(())
    }
}

/// Runs every check under `roots`. Memlock accounting is probed on the running kernel
/// when `roots` are the defaults; for other roots see [`run_with`].
pub fn run(roots: &Roots) -> Report {
    let memcg = if *roots == Roots::default() {
        crate::features::capability_supported(crate::features::Capability::MemcgAccounting).ok()
    } else {
        None
    };
    run_with(roots, memcg)
}

/// Runs every check under `roots`, with the memlock-accounting answer given (`None`:
/// unknown, judged from the kernel release).
pub fn run_with(roots: &Roots, memcg_accounting: Option<bool>) -> Report {
    checks::all(roots, memcg_accounting)
}

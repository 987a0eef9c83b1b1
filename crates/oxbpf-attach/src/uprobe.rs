//! uprobes (`SEC("uprobe/<binary>:<symbol>[+<off>]")`, `uretprobe/...`): a perf event of
//! the uprobe PMU (`config1` = the binary's path, `config2` = the file offset, the
//! retprobe bit and the reference-counter offset in `config`), falling back to an event
//! made in tracefs `uprobe_events`; and uprobe.multi (`SEC("uprobe.multi/<binary>:<glob>")`):
//! one `bpf_link` on many offsets of one binary (Linux 6.6).

use std::ffi::CString;
use std::os::fd::BorrowedFd;
use std::path::{Path, PathBuf};

use oxbpf_sys::{Errno, link, perf};

use crate::kprobe::{ProbeMode, TracefsEvents, glob_match, pmu_required};
use crate::{Error, Link, Result, probe_events, symbols};

/// Where a uprobe goes in its binary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UprobeTarget {
    /// A function symbol, optionally `+offset` (`malloc`, `main+4`), or a `0x` address.
    Symbol(String),
    /// A file offset.
    Offset(u64),
}

/// Options of [`attach`].
#[derive(Debug, Clone, Default)]
pub struct UprobeOptions {
    /// A uretprobe: run when the function returns.
    pub retprobe: bool,
    /// Only in this process (`None`: every process mapping the binary).
    pub pid: Option<u32>,
    /// File offset of a USDT semaphore the kernel increments while attached.
    pub ref_ctr_offset: u64,
    /// BPF cookie.
    pub cookie: u64,
    /// Mechanism to use.
    pub mode: ProbeMode,
}

fn path_cstring(path: &Path) -> Result<CString> {
    use std::os::unix::ffi::OsStrExt;
    CString::new(path.as_os_str().as_bytes()).map_err(|_| Error::InvalidName {
        what: format!("binary {}", path.display()),
        reason: "contains a NUL byte",
    })
}

/// Resolves `binary` (a path or a library name, see [`symbols::find_binary`]) and
/// `target` to an absolute path and a file offset.
pub fn resolve(binary: &str, target: &UprobeTarget, pid: Option<u32>) -> Result<(PathBuf, u64)> {
    let path = symbols::find_binary(binary, pid)?;
    let path = std::fs::canonicalize(&path).unwrap_or(path);
    let off = match target {
        UprobeTarget::Offset(o) => *o,
        UprobeTarget::Symbol(s) => symbols::resolve(&path, s)?,
    };
    Ok((path, off))
}

/// Attaches `prog` (a loaded BPF_PROG_TYPE_KPROBE program) at `target` in `binary`.
pub fn attach(
    prog: BorrowedFd<'_>,
    binary: &str,
    target: &UprobeTarget,
    opts: &UprobeOptions,
) -> Result<Link> {
    let (path, offset) = resolve(binary, target, opts.pid)?;
    let shown = match target {
        UprobeTarget::Symbol(s) => s.clone(),
        UprobeTarget::Offset(o) => format!("{o:#x}"),
    };
    let kind = if opts.retprobe { "uretprobe" } else { "uprobe" };
    let mut what = format!("{kind} {}:{shown}", path.display());
    if let Some(p) = opts.pid {
        what.push_str(&format!(" (pid {p})"));
    }
    attach_offset(prog, &path, offset, opts, what)
}

fn attach_offset(
    prog: BorrowedFd<'_>,
    path: &Path,
    offset: u64,
    opts: &UprobeOptions,
    what: String,
) -> Result<Link> {
    let pid = match opts.pid {
        Some(p) => i32::try_from(p).map_err(|_| Error::InvalidName {
            what: what.clone(),
            reason: "pid out of range",
        })?,
        None => -1,
    };
    let pmu = match opts.mode {
        ProbeMode::Tracefs => None,
        _ => crate::pmu::probe_pmu("uprobe")?,
    };
    if let Some(pmu) = pmu {
        let mut config = if opts.retprobe {
            1u64 << pmu.retprobe_bit
        } else {
            0
        };
        if opts.ref_ctr_offset != 0 {
            let shift = pmu.ref_ctr_shift.ok_or_else(|| Error::Unsupported {
                what: "uprobe reference counters".into(),
                reason: "the uprobe PMU has no ref_ctr_offset format (needs Linux 4.20)".into(),
            })?;
            config |= opts.ref_ctr_offset << shift;
        }
        let attr = perf::PerfEventAttr {
            type_: pmu.type_,
            config,
            config2: offset,
            sample_period: 1,
            wakeup: 1,
            ..Default::default()
        };
        let cpath = path_cstring(path)?;
        let cpu = if pid == -1 { 0 } else { -1 };
        let event =
            link::perf_event_open_probe(&attr, &cpath, pid, cpu).map_err(|source| match source
                .errno()
            {
                Some(Errno::ESRCH) => Error::NoAttachPoint {
                    what: format!("process {pid}"),
                    detail: format!("{source}"),
                },
                _ => Error::Kernel {
                    what: what.clone(),
                    source,
                },
            })?;
        return crate::pmu::attach_to_event(prog, event, opts.cookie, what);
    }
    if opts.mode == ProbeMode::Pmu {
        return Err(pmu_required("uprobe"));
    }
    if opts.pid.is_some() || opts.ref_ctr_offset != 0 {
        return Err(Error::Unsupported {
            what: "pid filters and reference counters on tracefs uprobes".into(),
            reason: "uprobe_events takes neither; needs the uprobe PMU (Linux 4.17)".into(),
        });
    }
    let events = TracefsEvents::open("uprobe", opts.mode, &what, || {
        "kernel built without CONFIG_UPROBE_EVENTS (no uprobe PMU, no uprobe_events in tracefs)"
            .into()
    })?;
    let target = format!("{}:{offset:#x}", path.display());
    if target.contains(char::is_whitespace) {
        return Err(Error::InvalidName {
            what,
            reason: "a path with spaces cannot be written to uprobe_events",
        });
    }
    let name = probe_events::unique_name(
        "oxbpf_up",
        &path
            .file_name()
            .map_or(String::new(), |f| f.to_string_lossy().into_owned()),
    );
    events.attach(prog, opts.retprobe, &name, &target, opts.cookie, what)
}

/// Options of [`attach_multi`].
#[derive(Debug, Clone, Default)]
pub struct UprobeMultiOptions {
    /// uretprobe.multi.
    pub retprobe: bool,
    /// uprobe.session (`BPF_TRACE_UPROBE_SESSION`, Linux 6.13).
    pub session: bool,
    /// Only in this process.
    pub pid: Option<u32>,
    /// One cookie per resolved function, or empty.
    pub cookies: Vec<u64>,
}

/// The functions of `path` matching `patterns` (plain names or globs), in pattern order;
/// a pattern matching nothing is an error naming it and the binary.
pub fn resolve_multi(path: &Path, patterns: &[&str]) -> Result<Vec<symbols::FoundSymbol>> {
    let data = std::fs::read(path).map_err(|e| Error::Binary {
        path: path.display().to_string(),
        reason: format!("cannot read: {e}"),
    })?;
    let mut out: Vec<symbols::FoundSymbol> = Vec::new();
    for p in patterns {
        let found = symbols::function_symbols(&data, path, |n| glob_match(p, n))?;
        if found.is_empty() {
            return Err(Error::SymbolNotFound {
                symbol: (*p).to_owned(),
                binary: path.display().to_string(),
            });
        }
        for f in found {
            if !out.iter().any(|o| o.offset == f.offset) {
                out.push(f);
            }
        }
    }
    Ok(out)
}

/// Attaches `prog` (loaded with expected_attach_type `BPF_TRACE_UPROBE_MULTI`, or
/// `_SESSION`) to every function of `binary` matching `patterns`.
pub fn attach_multi(
    prog: BorrowedFd<'_>,
    binary: &str,
    patterns: &[&str],
    opts: &UprobeMultiOptions,
) -> Result<Link> {
    let path = symbols::find_binary(binary, opts.pid)?;
    let path = std::fs::canonicalize(&path).unwrap_or(path);
    let found = resolve_multi(&path, patterns)?;
    let offsets: Vec<u64> = found.iter().map(|f| f.offset).collect();
    let kind = match (opts.session, opts.retprobe) {
        (true, _) => "uprobe.session",
        (false, true) => "uretprobe.multi",
        (false, false) => "uprobe.multi",
    };
    let what = format!(
        "{kind} {}:{} ({} functions)",
        path.display(),
        patterns.join(","),
        offsets.len()
    );
    let cpath = path_cstring(&path)?;
    let u = link::UprobeMulti {
        path: &cpath,
        offsets: &offsets,
        ref_ctr_offsets: &[],
        cookies: &opts.cookies,
        flags: if opts.retprobe && !opts.session {
            link::UPROBE_MULTI_RETURN
        } else {
            0
        },
        pid: opts.pid.unwrap_or(0),
    };
    let attach_type = if opts.session { 57 } else { 48 };
    let fd =
        link::link_create_uprobe_multi(prog, attach_type, &u).map_err(|source| {
            match source.errno() {
                Some(Errno::ENOTSUP | Errno::ENOTSUPP) => Error::Unsupported {
                    what: kind.into(),
                    reason: format!("{source}: needs Linux 6.6 (uprobe.session: 6.13)"),
                },
                Some(Errno::EINVAL) => Error::Unsupported {
                    what: kind.into(),
                    reason: format!(
                        "{source}: the kernel does not know {kind} links (Linux 6.6; \
                         uprobe.session: 6.13) or rejects these offsets"
                    ),
                },
                _ => Error::Kernel {
                    what: what.clone(),
                    source,
                },
            }
        })?;
    Ok(Link::fd(fd, what))
}

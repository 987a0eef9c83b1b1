//! kprobes (`SEC("kprobe/<func>[+<off>]")`, `SEC("kretprobe/<func>")`): a perf event of
//! the kprobe PMU (type from /sys/bus/event_source/devices/kprobe/type, `config1` = the
//! function's name, `config2` = the offset, the retprobe bit in `config`), falling back to
//! an event made in tracefs `kprobe_events` (removed on detach) where the PMU is missing.
//! And kprobe.multi (`SEC("kprobe.multi/<glob>")`): one `bpf_link` on many functions,
//! globs resolved against tracefs `available_filter_functions`.

use std::ffi::CString;
use std::os::fd::BorrowedFd;
use std::path::PathBuf;

use oxbpf_sys::link::{self, KprobeTargets};
use oxbpf_sys::{Errno, perf};

use crate::probe_events;
use crate::{Error, Link, Result};

/// Which mechanism to create a kprobe with.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ProbeMode {
    /// The PMU if the kernel has it, else tracefs.
    #[default]
    Auto,
    /// Only the kprobe/uprobe PMU.
    Pmu,
    /// Only an event made in tracefs (`kprobe_events`/`uprobe_events`).
    Tracefs,
}

/// The error for [`ProbeMode::Pmu`] when the kernel has no `kind` ("kprobe", "uprobe") PMU.
pub(crate) fn pmu_required(kind: &str) -> Error {
    Error::Unsupported {
        what: format!("the {kind} PMU"),
        reason: format!("no /sys/bus/event_source/devices/{kind} (needs Linux 4.17)"),
    }
}

/// The tracefs `<kind>_events` file that a kprobe or uprobe without its PMU is made in.
pub(crate) struct TracefsEvents {
    tracefs: PathBuf,
    file: String,
}

impl TracefsEvents {
    /// Finds `<kind>_events` ("kprobe", "uprobe") in tracefs for `what`, noting the
    /// fallback unless `mode` asked for tracefs; `missing` says why the file is not there.
    pub(crate) fn open(
        kind: &str,
        mode: ProbeMode,
        what: &str,
        missing: impl FnOnce() -> String,
    ) -> Result<Self> {
        if mode != ProbeMode::Tracefs {
            crate::fallback::note(
                kind,
                what,
                &format!("a tracefs {kind}_events probe"),
                &format!("no {kind} PMU (/sys/bus/event_source/devices/{kind} needs Linux 4.17)"),
            );
        }
        let tracefs = oxbpf_sys::fs::tracefs().map_err(|source| Error::Kernel {
            what: what.to_owned(),
            source,
        })?;
        let file = format!("{kind}_events");
        if !tracefs.join(&file).exists() {
            return Err(Error::Unsupported {
                what: format!("{kind}s"),
                reason: missing(),
            });
        }
        Ok(Self { tracefs, file })
    }

    /// Makes the event `name` on `target` (a return probe if `retprobe`) and attaches `prog`.
    pub(crate) fn attach(
        &self,
        prog: BorrowedFd<'_>,
        retprobe: bool,
        name: &str,
        target: &str,
        cookie: u64,
        what: String,
    ) -> Result<Link> {
        probe_events::attach(
            prog,
            &self.tracefs,
            &probe_events::NewEvent {
                events_file: &self.file,
                kind: if retprobe { 'r' } else { 'p' },
                name,
                target,
            },
            cookie,
            what,
        )
    }
}

/// Options of [`attach`].
#[derive(Debug, Clone, Copy, Default)]
pub struct KprobeOptions {
    /// Byte offset into the function (kprobes only).
    pub offset: u64,
    /// A kretprobe: run at the function's return.
    pub retprobe: bool,
    /// BPF cookie (`bpf_get_attach_cookie`), needs perf-event bpf_links (5.15).
    pub cookie: u64,
    /// Mechanism to use.
    pub mode: ProbeMode,
}

fn what_of(func: &str, o: &KprobeOptions) -> String {
    match (o.retprobe, o.offset) {
        (true, _) => format!("kretprobe {func}"),
        (false, 0) => format!("kprobe {func}"),
        (false, off) => format!("kprobe {func}+{off:#x}"),
    }
}

/// Why this kernel cannot make kprobes, or `None` if it can (PMU or tracefs).
pub fn unavailable_reason() -> Option<String> {
    if matches!(crate::pmu::probe_pmu("kprobe"), Ok(Some(_))) {
        return None;
    }
    let tracefs = oxbpf_sys::fs::tracefs().ok();
    if tracefs.is_some_and(|t| t.join("kprobe_events").exists()) {
        return None;
    }
    Some(
        "kernel built without CONFIG_KPROBES (no kprobe PMU in /sys/bus/event_source/devices \
         and no kprobe_events in tracefs)"
            .into(),
    )
}

/// True if `/proc/kallsyms` names a kernel function `func` (false if it cannot be read).
pub fn kernel_has_symbol(func: &str) -> bool {
    std::fs::read_to_string("/proc/kallsyms")
        .map(|t| {
            t.lines().any(|l| {
                let mut f = l.split_whitespace();
                let (_, _, name) = (f.next(), f.next(), f.next());
                name == Some(func)
            })
        })
        .unwrap_or(false)
}

fn check_func(func: &str) -> Result<()> {
    if func.is_empty()
        || func
            .chars()
            .any(|c| c.is_whitespace() || c == '\0' || c == ':')
    {
        return Err(Error::InvalidName {
            what: format!("kernel function {func:?}"),
            reason: "must be a symbol name without spaces, colons or NUL",
        });
    }
    Ok(())
}

/// Attaches `prog` (a loaded BPF_PROG_TYPE_KPROBE program) to kernel function `func`.
pub fn attach(prog: BorrowedFd<'_>, func: &str, opts: &KprobeOptions) -> Result<Link> {
    check_func(func)?;
    let what = what_of(func, opts);
    if opts.retprobe && opts.offset != 0 {
        return Err(Error::InvalidName {
            what,
            reason: "a kretprobe takes no offset",
        });
    }
    let pmu = match opts.mode {
        ProbeMode::Tracefs => None,
        _ => crate::pmu::probe_pmu("kprobe")?,
    };
    let missing_func = |detail: String| {
        if kernel_has_symbol(func) {
            None
        } else {
            Some(Error::NoAttachPoint {
                what: format!("kernel function {func}"),
                detail,
            })
        }
    };
    if let Some(pmu) = pmu {
        let name = CString::new(func).map_err(|_| Error::InvalidName {
            what: what.clone(),
            reason: "contains a NUL byte",
        })?;
        let attr = perf::PerfEventAttr {
            type_: pmu.type_,
            config: if opts.retprobe {
                1 << pmu.retprobe_bit
            } else {
                0
            },
            config2: opts.offset,
            sample_period: 1,
            wakeup: 1,
            ..Default::default()
        };
        let event = link::perf_event_open_probe(&attr, &name, -1, 0).map_err(|source| {
            let detail = format!("perf_event_open of the kprobe PMU: {source}");
            match source.errno() {
                Some(Errno::ENOENT | Errno::EINVAL) => missing_func(detail),
                _ => None,
            }
            .unwrap_or(Error::Kernel {
                what: what.clone(),
                source,
            })
        })?;
        return crate::pmu::attach_to_event(prog, event, opts.cookie, what);
    }
    if opts.mode == ProbeMode::Pmu {
        return Err(pmu_required("kprobe"));
    }
    let events = TracefsEvents::open("kprobe", opts.mode, &what, || {
        unavailable_reason().unwrap_or_else(|| "no kprobe_events in tracefs".into())
    })?;
    let name = probe_events::unique_name("oxbpf_kp", func);
    let target = if opts.offset != 0 {
        format!("{func}+{}", opts.offset)
    } else {
        func.to_owned()
    };
    events
        .attach(prog, opts.retprobe, &name, &target, opts.cookie, what)
        .map_err(|e| match e {
            Error::NoAttachPoint { detail, .. } => {
                missing_func(detail.clone()).unwrap_or(Error::NoAttachPoint {
                    what: what_of(func, opts),
                    detail,
                })
            }
            other => other,
        })
}

/// True if `name` matches the shell-style `pattern` (`*` any run, `?` one character).
pub fn glob_match(pattern: &str, name: &str) -> bool {
    let (p, n) = (pattern.as_bytes(), name.as_bytes());
    let (mut pi, mut ni) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ni < n.len() {
        if pi < p.len() && (p[pi] == b'?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == b'*' {
            star = Some(pi);
            mark = ni;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ni = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

/// The functions of `available_filter_functions` text (`name` or `name [module]` per line)
/// matching `pattern`, deduplicated, in file order.
pub fn match_filter_functions(text: &str, pattern: &str) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    text.lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| glob_match(pattern, name) && seen.insert(*name))
        .map(str::to_owned)
        .collect()
}

/// The text-symbol names of `/proc/kallsyms` text (`addr type name [module]`, types
/// `t`/`T`), one a line, in the `available_filter_functions` format.
pub fn kallsyms_functions(text: &str) -> String {
    let mut out = String::new();
    for l in text.lines() {
        let mut f = l.split_whitespace();
        let (Some(_), Some(ty), Some(name)) = (f.next(), f.next(), f.next()) else {
            continue;
        };
        if ty.eq_ignore_ascii_case("t") {
            out.push_str(name);
            out.push('\n');
        }
    }
    out
}

/// The list globs are matched against: tracefs `available_filter_functions` (functions
/// fprobes can attach to), else the text symbols of /proc/kallsyms (wider: a function
/// that ftrace cannot patch then fails at attach time).
fn function_list(pattern: &str) -> Result<String> {
    let not_found = |detail: String| Error::NoAttachPoint {
        what: format!("a kernel function matching {pattern:?}"),
        detail,
    };
    let tracefs = oxbpf_sys::fs::tracefs().ok();
    let aff = tracefs.map(|t| t.join("available_filter_functions"));
    let first = match aff.as_deref().map(std::fs::read_to_string) {
        Some(Ok(text)) => return Ok(text),
        Some(Err(e)) => format!(
            "{}: {e}",
            aff.as_deref()
                .unwrap_or_else(|| std::path::Path::new(""))
                .display()
        ),
        None => "tracefs is not mounted".to_owned(),
    };
    match std::fs::read_to_string("/proc/kallsyms") {
        Ok(text) => Ok(kallsyms_functions(&text)),
        Err(e) => Err(not_found(format!("{first}; /proc/kallsyms: {e}"))),
    }
}

/// Resolves kprobe.multi `patterns` (plain names pass through; globs are matched against
/// tracefs `available_filter_functions`, or /proc/kallsyms where that cannot be read). A
/// glob matching nothing is an error naming it.
pub fn resolve_multi(patterns: &[&str]) -> Result<Vec<String>> {
    let mut out = Vec::new();
    let mut funcs: Option<String> = None;
    for p in patterns {
        if !p.contains(['*', '?']) {
            check_func(p)?;
            out.push((*p).to_owned());
            continue;
        }
        if funcs.is_none() {
            funcs = Some(function_list(p)?);
        }
        let matched = match_filter_functions(funcs.as_deref().unwrap_or(""), p);
        if matched.is_empty() {
            return Err(Error::NoAttachPoint {
                what: format!("a kernel function matching {p:?}"),
                detail: "no match among the traceable functions".into(),
            });
        }
        out.extend(matched);
    }
    Ok(out)
}

/// Options of [`attach_multi`].
#[derive(Debug, Clone, Default)]
pub struct KprobeMultiOptions {
    /// kretprobe.multi.
    pub retprobe: bool,
    /// kprobe.session (`BPF_TRACE_KPROBE_SESSION`, Linux 6.10).
    pub session: bool,
    /// One cookie per resolved function, or empty.
    pub cookies: Vec<u64>,
}

/// Attaches `prog` (loaded with expected_attach_type `BPF_TRACE_KPROBE_MULTI`, or
/// `_SESSION`) to every kernel function matching `patterns`.
pub fn attach_multi(
    prog: BorrowedFd<'_>,
    patterns: &[&str],
    opts: &KprobeMultiOptions,
) -> Result<Link> {
    let kind = match (opts.session, opts.retprobe) {
        (true, _) => "kprobe.session",
        (false, true) => "kretprobe.multi",
        (false, false) => "kprobe.multi",
    };
    let what = format!("{kind} {}", patterns.join(","));
    let funcs = resolve_multi(patterns)?;
    let syms: Vec<&str> = funcs.iter().map(String::as_str).collect();
    let attach_type = if opts.session { 56 } else { 42 };
    let flags = if opts.retprobe && !opts.session {
        link::KPROBE_MULTI_RETURN
    } else {
        0
    };
    let fd = link::link_create_kprobe_multi(
        prog,
        attach_type,
        KprobeTargets::Symbols(&syms),
        &opts.cookies,
        flags,
    )
    .map_err(|source| match source.errno() {
        Some(Errno::ENOTSUP | Errno::ENOTSUPP) => Error::Unsupported {
            what: kind.into(),
            reason: format!(
                "{source}: needs Linux 5.18 built with CONFIG_FPROBE (kprobe.session: 6.10)"
            ),
        },
        Some(Errno::EINVAL) => Error::Unsupported {
            what: kind.into(),
            reason: format!(
                "{source}: the kernel does not know {kind} links (Linux 5.18 with \
                 CONFIG_FPROBE; kprobe.session: 6.10) or rejects these targets"
            ),
        },
        Some(Errno::ENOENT | Errno::ESRCH) => Error::NoAttachPoint {
            what: format!("kernel functions {}", syms.join(",")),
            detail: format!("{source}: not all are in kallsyms / traceable"),
        },
        _ => Error::Kernel {
            what: what.clone(),
            source,
        },
    })?;
    Ok(Link::fd(fd, format!("{what} ({} functions)", syms.len())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_like_the_shell() {
        assert!(glob_match("vfs_*", "vfs_read"));
        assert!(glob_match("*read", "vfs_read"));
        assert!(glob_match("v?s_re*d", "vfs_read"));
        assert!(glob_match("*", ""));
        assert!(!glob_match("vfs_*", "do_vfs_read"));
        assert!(!glob_match("vfs_rea", "vfs_read"));
        assert!(glob_match("a*b*c", "axxbyyc"));
        assert!(!glob_match("a*b*c", "axxbyy"));
    }

    #[test]
    fn filter_function_lines_with_modules_are_matched_once() {
        let text = "vfs_read\nvfs_write\nvfs_read\nxfs_read [xfs]\nother\n";
        assert_eq!(
            match_filter_functions(text, "vfs_*"),
            vec!["vfs_read", "vfs_write"]
        );
        assert_eq!(match_filter_functions(text, "x*"), vec!["xfs_read"]);
        assert!(match_filter_functions(text, "nothing*").is_empty());
    }

    #[test]
    fn kallsyms_text_symbols_only() {
        let text = "ffffffff81000000 T _stext\nffffffff82000000 D some_data\n\
                    ffffffff81001000 t vfs_read\nffffffffc0000000 t xfs_read\t[xfs]\nbad\n";
        assert_eq!(kallsyms_functions(text), "_stext\nvfs_read\nxfs_read\n");
    }

    #[test]
    fn rejects_bad_function_names_and_kretprobe_offsets() {
        let f = std::fs::File::open("/dev/null").unwrap();
        let fd = std::os::fd::AsFd::as_fd(&f);
        for bad in ["", "a b", "mod:func"] {
            let e = attach(fd, bad, &KprobeOptions::default()).unwrap_err();
            assert!(matches!(e, Error::InvalidName { .. }), "{bad:?}: {e}");
        }
        let o = KprobeOptions {
            retprobe: true,
            offset: 4,
            ..Default::default()
        };
        let e = attach(fd, "vfs_read", &o).unwrap_err();
        assert!(e.to_string().contains("kretprobe takes no offset"), "{e}");
    }
}

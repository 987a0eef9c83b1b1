//! The test × kernel table and the per-kernel summary.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::time::Duration;

use oxbpf_vminit::{LOG, SETUP, Verdict};

use crate::qemu::Boot;

/// Everything one kernel of the matrix produced.
#[derive(Debug)]
pub struct KernelRun {
    /// Series, the column header.
    pub series: String,
    /// `package version` actually booted (empty if preparation failed).
    pub label: String,
    /// A note (re-resolved version, missing modules).
    pub notes: Vec<String>,
    /// Time to fetch/extract and build the initramfs.
    pub prepare: Duration,
    /// The boot, or why there was none.
    pub boot: Result<Boot, String>,
}

impl KernelRun {
    /// True if the boot completed and no test failed.
    pub fn ok(&self) -> bool {
        match &self.boot {
            Ok(b) => b.done && !b.timed_out && b.results.iter().all(|r| !r.verdict.is_failure()),
            Err(_) => false,
        }
    }
}

fn cell(v: Verdict) -> &'static str {
    match v {
        Verdict::Pass => "pass",
        Verdict::Fail => "FAIL",
        Verdict::Skip => "skip",
        Verdict::Ignored => "ign",
        Verdict::Timeout => "TIMEOUT",
    }
}

/// Lines of console tail shown for a boot without the done marker.
const TAIL: usize = 30;

/// Renders the whole report.
pub fn render(runs: &[KernelRun]) -> String {
    let mut rows: BTreeMap<String, BTreeMap<usize, (Verdict, String)>> = BTreeMap::new();
    for (k, run) in runs.iter().enumerate() {
        if let Ok(b) = &run.boot {
            for r in &b.results {
                rows.entry(format!("{}::{}", r.binary, r.test))
                    .or_default()
                    .insert(k, (r.verdict, r.reason.clone()));
            }
        }
    }
    let width = rows.keys().map(String::len).max().unwrap_or(4).max(4);
    let mut s = String::new();
    let _ = write!(s, "{:width$}", "test");
    for run in runs {
        let _ = write!(s, "  {:>7}", run.series);
    }
    s.push('\n');
    for (name, cells) in &rows {
        let _ = write!(s, "{name:width$}");
        for k in 0..runs.len() {
            let c = cells.get(&k).map_or("-", |(v, _)| cell(*v));
            let _ = write!(s, "  {c:>7}");
        }
        s.push('\n');
    }

    // Skip reasons, grouped: reason -> tests@kernels.
    let mut reasons: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for (name, cells) in &rows {
        for (k, (v, reason)) in cells {
            if matches!(v, Verdict::Skip | Verdict::Ignored) {
                reasons
                    .entry(reason.as_str())
                    .or_default()
                    .push(format!("{name} [{}]", runs[*k].series));
            }
        }
    }
    if !reasons.is_empty() {
        s.push_str("\nskip reasons:\n");
        for (reason, tests) in reasons {
            let reason = if reason.is_empty() {
                "(none given)"
            } else {
                reason
            };
            let _ = writeln!(s, "  {reason}");
            for t in tests {
                let _ = writeln!(s, "      {t}");
            }
        }
    }

    // Failures: the guest's log lines of each failed test.
    for run in runs {
        let Ok(b) = &run.boot else { continue };
        for r in b.results.iter().filter(|r| r.verdict.is_failure()) {
            let _ = writeln!(
                s,
                "\n--- [{}] {}::{} {} {}",
                run.series,
                r.binary,
                r.test,
                r.verdict.word(),
                r.reason
            );
            let prefix = format!("{LOG} {} {} | ", r.binary, r.test);
            for l in b.console.lines().filter_map(|l| l.strip_prefix(&prefix)) {
                let _ = writeln!(s, "    {l}");
            }
        }
    }

    s.push_str("\nkernels:\n");
    for run in runs {
        let _ = write!(s, "  {:>5}  {}", run.series, run.label);
        match &run.boot {
            Ok(b) => {
                let count =
                    |f: fn(Verdict) -> bool| b.results.iter().filter(|r| f(r.verdict)).count();
                let _ = writeln!(
                    s,
                    "\n         {} pass, {} fail, {} skip; prepare {:.1} s, boot+tests {:.1} s",
                    count(|v| v == Verdict::Pass),
                    count(Verdict::is_failure),
                    count(|v| matches!(v, Verdict::Skip | Verdict::Ignored)),
                    run.prepare.as_secs_f64(),
                    b.elapsed.as_secs_f64()
                );
                for l in b
                    .console
                    .lines()
                    .filter(|l| l.starts_with(SETUP) && !l.ends_with(" ok"))
                {
                    let _ = writeln!(s, "         setup: {}", &l[SETUP.len()..].trim());
                }
                if !b.done || b.timed_out {
                    let why = if b.timed_out {
                        format!("boot timed out after {:.0} s", b.elapsed.as_secs_f64())
                    } else {
                        format!(
                            "no {} marker (qemu exited: {})",
                            oxbpf_vminit::DONE,
                            b.status
                        )
                    };
                    let _ = writeln!(s, "         BOOT FAILED: {why}; console tail:");
                    for l in b.tail(TAIL).lines() {
                        let _ = writeln!(s, "         | {l}");
                    }
                }
            }
            Err(e) => {
                let _ = writeln!(s, "\n         FAILED before boot: {e}");
            }
        }
        for n in &run.notes {
            let _ = writeln!(s, "         note: {n}");
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use oxbpf_vminit::ResultLine;

    fn boot(results: Vec<ResultLine>, done: bool, console: &str) -> Boot {
        Boot {
            console: console.into(),
            results,
            total: None,
            done,
            timed_out: false,
            status: "exit status: 0".into(),
            elapsed: Duration::from_secs(4),
        }
    }

    fn r(test: &str, verdict: Verdict, reason: &str) -> ResultLine {
        ResultLine {
            binary: "oxbpf/kernel_x".into(),
            test: test.into(),
            verdict,
            millis: 1,
            reason: reason.into(),
        }
    }

    #[test]
    fn table_shows_each_kernel_and_missing_cells() {
        let runs = [
            KernelRun {
                series: "5.10".into(),
                label: "p 1".into(),
                notes: vec![],
                prepare: Duration::ZERO,
                boot: Ok(boot(
                    vec![
                        r("a", Verdict::Pass, ""),
                        r("b", Verdict::Skip, "skipping: no tcx"),
                    ],
                    true,
                    "",
                )),
            },
            KernelRun {
                series: "6.12".into(),
                label: "p 2".into(),
                notes: vec![],
                prepare: Duration::ZERO,
                boot: Ok(boot(
                    vec![r("a", Verdict::Fail, "exit status 101")],
                    true,
                    "OXBPF-LOG oxbpf/kernel_x a | assertion failed\n",
                )),
            },
        ];
        let out = render(&runs);
        assert!(out.contains("oxbpf/kernel_x::a     pass     FAIL"), "{out}");
        assert!(out.contains("oxbpf/kernel_x::b     skip        -"), "{out}");
        assert!(
            out.contains("skipping: no tcx\n      oxbpf/kernel_x::b [5.10]"),
            "{out}"
        );
        assert!(out.contains("    assertion failed"), "{out}");
        assert!(runs[0].ok() && !runs[1].ok());
    }

    #[test]
    fn boot_without_marker_shows_console_tail() {
        let run = KernelRun {
            series: "6.1".into(),
            label: "p".into(),
            notes: vec![],
            prepare: Duration::ZERO,
            boot: Ok(boot(vec![], false, "Kernel panic - not syncing: VFS\n")),
        };
        let out = render(std::slice::from_ref(&run));
        assert!(out.contains("BOOT FAILED: no OXBPF-DONE marker"), "{out}");
        assert!(out.contains("| Kernel panic - not syncing: VFS"), "{out}");
        assert!(!run.ok());
    }
}

//! The guest side of the kernel matrix: the pure parts of the `/init` that runs inside
//! each qemu guest (the binary is `oxbpf-vminit`, packed as `/init` by `kernel-tests`).
//!
//! It owns the guest protocol: the config file the host packs at [`CONFIG_PATH`], how
//! libtest's output is read (test lists, one test's verdict, skip reasons) and the
//! result lines printed on the serial console, which the host parses back with
//! [`parse_result_line`]. It does not boot anything or know about kernels' packages:
//! that is the host runner's job (`kernel-tests`).
//!
//! ```
//! use oxbpf_vminit::{ResultLine, Verdict, parse_result_line};
//! let line = ResultLine {
//!     binary: "oxbpf/kernel_counter".into(),
//!     test: "counts_getpid".into(),
//!     verdict: Verdict::Skip,
//!     millis: 12,
//!     reason: "skipping: no kprobes".into(),
//! };
//! assert_eq!(parse_result_line(&line.to_string()), Some(line));
//! ```

#![forbid(unsafe_code)]

use std::fmt;
use std::time::Duration;

/// Where the host packs the guest's [`Config`].
pub const CONFIG_PATH: &str = "/oxbpf/config";
/// Directory of the test binaries, one subdirectory per package: `/tests/<pkg>/<target>`.
pub const TESTS_DIR: &str = "/tests";
/// Directory of the kernel modules, loaded in file-name order (the host numbers them).
pub const MODULES_DIR: &str = "/modules";
/// Prefix of a result line.
pub const RESULT: &str = "OXBPF-RESULT";
/// Prefix of the line announcing how many tests will run.
pub const TOTAL: &str = "OXBPF-TOTAL";
/// Prefix of a line of a failed test's output.
pub const LOG: &str = "OXBPF-LOG";
/// Prefix of a setup line (mount, module load): `OXBPF-SETUP <what> ok|<error>`.
pub const SETUP: &str = "OXBPF-SETUP";
/// The last line of a complete run.
pub const DONE: &str = "OXBPF-DONE";
/// Opens the output of a [`Config::exec`] command: `OXBPF-CMD-BEGIN <argv…>`.
pub const CMD_BEGIN: &str = "OXBPF-CMD-BEGIN";
/// Prefix of one line the command wrote to stdout.
pub const CMD_OUT: &str = "OXBPF-OUT";
/// Prefix of one line the command wrote to stderr.
pub const CMD_ERR: &str = "OXBPF-ERR";
/// Closes the command's output: `OXBPF-CMD-END exit=<code>` (or `exit=signal N`,
/// `exit=timeout`, `exit=spawn <error>`).
pub const CMD_END: &str = "OXBPF-CMD-END";

/// What the host tells the guest, as `key=value` lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Run only tests whose `<binary>::<test>` id contains this.
    pub filter: Option<String>,
    /// Kill a test (or the [`Config::exec`] command) that runs longer than this.
    pub test_timeout: Duration,
    /// When not empty: run this one command (argv) instead of the tests, and echo its
    /// output between [`CMD_BEGIN`] and [`CMD_END`] (what `vm-load` uses).
    pub exec: Vec<String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            filter: None,
            test_timeout: Duration::from_secs(60),
            exec: Vec::new(),
        }
    }
}

impl Config {
    /// Parses `key=value` lines; unknown keys and `#` comments are ignored.
    pub fn parse(text: &str) -> Result<Config, String> {
        let mut c = Config::default();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((k, v)) = line.split_once('=') else {
                return Err(format!("{CONFIG_PATH} line {}: no '=' in {line:?}", i + 1));
            };
            match k {
                "filter" if !v.is_empty() => c.filter = Some(v.to_owned()),
                "filter" => c.filter = None,
                "test_timeout_secs" => {
                    let s: u64 = v.parse().map_err(|_| {
                        format!("{CONFIG_PATH} line {}: bad test_timeout_secs {v:?}", i + 1)
                    })?;
                    c.test_timeout = Duration::from_secs(s);
                }
                "exec" => {
                    c.exec = v
                        .split('\t')
                        .filter(|a| !a.is_empty())
                        .map(str::to_owned)
                        .collect()
                }
                _ => {}
            }
        }
        Ok(c)
    }

    /// Renders the lines [`Config::parse`] reads; an `exec` argument holding a tab or a
    /// line break cannot be carried and is refused, naming it.
    pub fn render(&self) -> Result<String, String> {
        if let Some(bad) = self.exec.iter().find(|a| a.contains(['\t', '\n', '\r'])) {
            return Err(format!(
                "guest command argument {bad:?} holds a tab or line break, which {CONFIG_PATH} cannot carry"
            ));
        }
        Ok(format!(
            "filter={}\ntest_timeout_secs={}\nexec={}\n",
            self.filter.as_deref().unwrap_or(""),
            self.test_timeout.as_secs(),
            self.exec.join("\t")
        ))
    }

    /// True if the test `binary::test` is selected by the filter.
    pub fn selects(&self, binary: &str, test: &str) -> bool {
        match &self.filter {
            None => true,
            Some(f) => format!("{binary}::{test}").contains(f.as_str()),
        }
    }
}

/// Test names from `<binary> --list --format terse` (`name: test` lines; benches dropped).
pub fn parse_test_list(out: &str) -> Vec<String> {
    out.lines()
        .filter_map(|l| l.strip_suffix(": test"))
        .map(str::to_owned)
        .collect()
}

/// The outcome of one test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Passed and really ran.
    Pass,
    /// Failed (panicked or the binary exited non-zero).
    Fail,
    /// Returned early saying why (a `skipping: …` line): the reason is kept.
    Skip,
    /// Marked `#[ignore]`.
    Ignored,
    /// Killed after the per-test timeout.
    Timeout,
}

impl Verdict {
    /// The word used on the result line.
    pub fn word(self) -> &'static str {
        match self {
            Verdict::Pass => "ok",
            Verdict::Fail => "FAILED",
            Verdict::Skip => "skip",
            Verdict::Ignored => "ignored",
            Verdict::Timeout => "TIMEOUT",
        }
    }

    /// Inverse of [`Verdict::word`].
    pub fn from_word(w: &str) -> Option<Verdict> {
        Some(match w {
            "ok" => Verdict::Pass,
            "FAILED" => Verdict::Fail,
            "skip" => Verdict::Skip,
            "ignored" => Verdict::Ignored,
            "TIMEOUT" => Verdict::Timeout,
            _ => return None,
        })
    }

    /// True for outcomes that fail the run.
    pub fn is_failure(self) -> bool {
        matches!(self, Verdict::Fail | Verdict::Timeout)
    }
}

/// The first line a test printed that says it skipped (`skipping: …`, `skipped: …`,
/// `… skipped` forms the tests use), trimmed.
///
/// With `--nocapture` libtest prints `test NAME ... ` without a newline, so the test's
/// first output line shares the line with it: that prefix is cut off before looking.
pub fn skip_reason(output: &str) -> Option<String> {
    output
        .lines()
        .map(|l| {
            let l = l.trim();
            match l.strip_prefix("test ").and_then(|r| r.split_once(" ... ")) {
                Some((_, rest)) => rest.trim(),
                None if l.starts_with("test ") => "",
                None => l,
            }
        })
        .find(|l| {
            let lower = l.to_ascii_lowercase();
            lower.starts_with("skipping")
                || lower.starts_with("skipped")
                || lower.contains(": skipping")
                || lower.contains("skipped:")
        })
        .map(str::to_owned)
}

/// The verdict of one `--exact <name>` run from its exit status and output.
pub fn classify(name: &str, success: bool, output: &str) -> (Verdict, String) {
    let ignored_line = format!("test {name} ... ignored");
    if output
        .lines()
        .any(|l| l.trim_start().starts_with(&ignored_line))
    {
        let reason = output
            .lines()
            .find_map(|l| l.trim().strip_prefix(&ignored_line))
            .map(|r| r.trim_start_matches(',').trim().to_owned())
            .unwrap_or_default();
        return (Verdict::Ignored, reason);
    }
    if !success {
        return (Verdict::Fail, String::new());
    }
    match skip_reason(output) {
        Some(r) => (Verdict::Skip, r),
        None => (Verdict::Pass, String::new()),
    }
}

/// One `OXBPF-RESULT <binary> <test> <verdict> <millis>ms [reason]` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResultLine {
    /// `<pkg>/<target>`, e.g. `oxbpf/kernel_counter`.
    pub binary: String,
    /// libtest's name of the test.
    pub test: String,
    /// The outcome.
    pub verdict: Verdict,
    /// Wall time of the test process.
    pub millis: u64,
    /// Skip/ignore reason (one line), else empty.
    pub reason: String,
}

impl fmt::Display for ResultLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{RESULT} {} {} {} {}ms",
            self.binary,
            self.test,
            self.verdict.word(),
            self.millis
        )?;
        let reason: String = self
            .reason
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        if !reason.is_empty() {
            write!(f, " {reason}")?;
        }
        Ok(())
    }
}

/// Parses a result line (anything before the `OXBPF-RESULT` prefix, e.g. console noise,
/// is ignored); `None` if the line is not one.
pub fn parse_result_line(line: &str) -> Option<ResultLine> {
    let at = line.find(RESULT)?;
    let rest = &line[at + RESULT.len()..];
    let rest = rest.strip_prefix(' ')?;
    let mut it = rest.splitn(5, ' ');
    let binary = it.next()?.to_owned();
    let test = it.next()?.to_owned();
    let verdict = Verdict::from_word(it.next()?)?;
    let millis = it.next()?.trim_end().strip_suffix("ms")?.parse().ok()?;
    let reason = it.next().unwrap_or("").trim_end().to_owned();
    Some(ResultLine {
        binary,
        test,
        verdict,
        millis,
        reason,
    })
}

/// What a [`Config::exec`] command left on the console, read back by the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandOutput {
    /// Its stdout lines, each ending in `\n`.
    pub stdout: String,
    /// Its stderr lines, each ending in `\n`.
    pub stderr: String,
    /// The word after `exit=`: a number, or `signal N`, `timeout`, `spawn …`;
    /// `None` when the console ends before [`CMD_END`] (the guest crashed or hung).
    pub exit: Option<String>,
}

impl CommandOutput {
    /// The exit code when the command exited normally.
    pub fn code(&self) -> Option<i32> {
        self.exit.as_deref()?.parse().ok()
    }
}

/// Reads the command block out of a whole console transcript; `None` if no
/// [`CMD_BEGIN`] line is there. Kernel messages printed in between are dropped: only
/// prefixed lines belong to the command. Text before the prefix on the same line
/// (console noise) is ignored.
pub fn parse_command_output(console: &str) -> Option<CommandOutput> {
    let mut lines = console.lines();
    lines.by_ref().find(|l| l.contains(CMD_BEGIN))?;
    let mut out = CommandOutput {
        stdout: String::new(),
        stderr: String::new(),
        exit: None,
    };
    let after = |l: &str, prefix: &str| -> Option<String> {
        let at = l.find(prefix)?;
        let rest = &l[at + prefix.len()..];
        // `PREFIX` alone is an empty line, `PREFIX <text>` a line of text.
        match rest.strip_prefix(' ') {
            Some(t) => Some(t.trim_end_matches('\r').to_owned()),
            None if rest.trim_end_matches('\r').is_empty() => Some(String::new()),
            None => None,
        }
    };
    for l in lines {
        if let Some(t) = after(l, CMD_OUT) {
            out.stdout.push_str(&t);
            out.stdout.push('\n');
        } else if let Some(t) = after(l, CMD_ERR) {
            out.stderr.push_str(&t);
            out.stderr.push('\n');
        } else if let Some(t) = after(l, CMD_END) {
            out.exit = Some(t.strip_prefix("exit=").unwrap_or(&t).trim().to_owned());
            break;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_round_trips_and_rejects_bad_timeout() {
        let c = Config {
            filter: Some("attach::kprobe".into()),
            test_timeout: Duration::from_secs(7),
            exec: vec!["/bin/oxbpf".into(), "load".into(), "/vm/a b.o".into()],
        };
        assert_eq!(Config::parse(&c.render().unwrap()).unwrap(), c);
        let tab = Config {
            exec: vec!["a\tb".into()],
            ..Config::default()
        };
        assert!(tab.render().unwrap_err().contains("tab"));
        assert_eq!(
            Config::parse("filter=\n").unwrap().filter,
            None,
            "empty filter means all"
        );
        let e = Config::parse("test_timeout_secs=x").unwrap_err();
        assert!(
            e.contains("line 1") && e.contains("test_timeout_secs"),
            "{e}"
        );
        assert!(Config::parse("junk").unwrap_err().contains("no '='"));
    }

    #[test]
    fn filter_matches_binary_and_test_id() {
        let c = Config {
            filter: Some("kernel_btf::loads".into()),
            ..Config::default()
        };
        assert!(c.selects("oxbpf/kernel_btf", "loads_vmlinux"));
        assert!(!c.selects("oxbpf/kernel_counter", "loads_vmlinux"));
    }

    #[test]
    fn test_list_keeps_only_tests() {
        let out = "a::b: test\nc: test\nd: bench\n\n2 tests, 1 benchmark\n";
        assert_eq!(parse_test_list(out), ["a::b", "c"]);
    }

    #[test]
    fn classify_reads_skip_ignore_and_failure() {
        let skipped =
            "\nrunning 1 test\nskipping: bpf() is not usable here (EPERM)\ntest t ... ok\n";
        assert_eq!(
            classify("t", true, skipped),
            (
                Verdict::Skip,
                "skipping: bpf() is not usable here (EPERM)".into()
            )
        );
        assert_eq!(
            classify("t", true, "test t ... ignored, needs kvm\n"),
            (Verdict::Ignored, "needs kvm".into())
        );
        assert_eq!(classify("t", false, skipped).0, Verdict::Fail);
        assert_eq!(
            classify("t", true, "test t ... ok\n"),
            (Verdict::Pass, String::new())
        );
        // libtest's `test t ... ` and the test's first line share a line (--nocapture).
        assert_eq!(
            classify(
                "t",
                true,
                "\nrunning 1 test\ntest t ... skipping: no kprobes (CONFIG_KPROBES=n)\nok\n"
            ),
            (
                Verdict::Skip,
                "skipping: no kprobes (CONFIG_KPROBES=n)".into()
            )
        );
        // A test name containing "skip" is not a skip.
        assert_eq!(
            classify("skips_x", true, "test skips_x ... ok\n").0,
            Verdict::Pass
        );
    }

    #[test]
    fn result_line_round_trips_and_strips_control_chars() {
        let r = ResultLine {
            binary: "oxbpf-sys/kernel_sys".into(),
            test: "m::t".into(),
            verdict: Verdict::Timeout,
            millis: 60000,
            reason: "a\tb".into(),
        };
        let s = r.to_string();
        assert_eq!(
            s,
            "OXBPF-RESULT oxbpf-sys/kernel_sys m::t TIMEOUT 60000ms a b"
        );
        let back = parse_result_line(&format!("\r[  1.0] {s}\r")).unwrap();
        assert_eq!(back.reason, "a b");
        assert_eq!(back.verdict, Verdict::Timeout);
        assert_eq!(parse_result_line("OXBPF-RESULT a b maybe 1ms"), None);
        assert_eq!(parse_result_line("OXBPF-RESULTS"), None);
    }

    #[test]
    fn command_output_keeps_prefixed_lines_and_drops_kernel_noise() {
        let console = "OXBPF-SETUP mount ok\n\
                       OXBPF-OUT before begin is ignored\n\
                       OXBPF-CMD-BEGIN /bin/oxbpf load /vm/x.o\n\
                       OXBPF-OUT program p: loaded\r\n\
                       [    1.23] random: crng init done\n\
                       OXBPF-ERR error: loading p\n\
                       OXBPF-OUT\n\
                       OXBPF-OUTPUT is not a line of the command\n\
                       OXBPF-CMD-END exit=1\n\
                       OXBPF-OUT after end is ignored\n";
        let o = parse_command_output(console).unwrap();
        assert_eq!(o.stdout, "program p: loaded\n\n");
        assert_eq!(o.stderr, "error: loading p\n");
        assert_eq!(o.code(), Some(1));
        assert_eq!(parse_command_output("no block\n"), None);
        let cut = parse_command_output("OXBPF-CMD-BEGIN x\nOXBPF-OUT half\n").unwrap();
        assert_eq!((cut.exit, cut.stdout.as_str()), (None, "half\n"));
        let sig = parse_command_output("OXBPF-CMD-BEGIN x\nOXBPF-CMD-END exit=signal 9\n");
        assert_eq!(sig.unwrap().code(), None);
    }
}

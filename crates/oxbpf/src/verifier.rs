//! Verifier-log capture and source mapping.
//!
//! A program is first loaded with the caller's log level (0 by default, so a successful
//! load costs no log). When the kernel rejects it, the load is repeated with a log, and
//! again with a larger buffer while the log does not fit — sized by `log_true_size` where
//! the kernel reports it (6.4+), else quadrupled — up to the kernel's limit. The error then
//! holds the whole log, the instruction the verifier stopped at, and the source line that
//! line_info maps that instruction to.

use std::fmt;

mod explain;

pub use explain::{
    Explanation, FailureClass, InsnRecord, LogSource, classify, explain_log, parse_log,
};

use oxbpf_sys::Errno;
use oxbpf_sys::bpf::{self, LOG_SIZE_MAX, ProgLoad};

/// A source position from the object's line_info.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceLine {
    /// Source file as recorded by the compiler.
    pub file: String,
    /// 1-based line.
    pub line: u32,
    /// 1-based column (0 if unknown).
    pub col: u32,
    /// The text of the line, as recorded in BTF.
    pub text: String,
}

impl fmt::Display for SourceLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.text.trim())
    }
}

/// The verifier rejected a program.
#[derive(Debug)]
pub struct VerifierError {
    /// The program's name.
    pub program: String,
    /// The failed BPF_PROG_LOAD.
    pub source: oxbpf_sys::Error,
    /// The whole verifier log.
    pub log: String,
    /// The instruction (slot index) the verifier stopped at, if the log names one.
    pub insn: Option<usize>,
    /// The source line of that instruction, if the object has line_info.
    pub source_line: Option<SourceLine>,
    /// The verifier's message: the log's last line that is not a statistics line.
    pub message: Option<String>,
    /// True if even the largest log buffer could not hold the log.
    pub truncated: bool,
}

impl fmt::Display for VerifierError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "program {:?} rejected by the verifier ({})",
            self.program, self.source
        )?;
        if let Some(m) = &self.message {
            write!(f, ": {m}")?;
        }
        match (&self.insn, &self.source_line) {
            (Some(i), Some(s)) => write!(f, "\n  at instruction {i}, {s}")?,
            (Some(i), None) => write!(f, "\n  at instruction {i}")?,
            _ => {}
        }
        Ok(())
    }
}

impl VerifierError {
    /// The failure classified, located and with a fix hint (see [`explain_log`]); the
    /// source line comes from the object's line_info when it had one.
    pub fn explain(&self) -> Explanation {
        let line_of = |i: usize| {
            if Some(i) == self.insn {
                self.source_line.clone()
            } else {
                None
            }
        };
        explain_log(&self.log, &line_of)
    }
}

impl std::error::Error for VerifierError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

/// What a load with log capture produced.
pub(crate) struct Loaded {
    pub result: Result<oxbpf_sys::ProgFd, (oxbpf_sys::Error, String, bool)>,
    /// The log of a successful load when a log level was asked for.
    pub log: Option<String>,
}

/// Loads `p`, capturing the log as described in the module docs.
pub(crate) fn load_with_log(p: &ProgLoad<'_>, log_level: u32, initial_size: usize) -> Loaded {
    let mut level = log_level;
    let mut buf = if level > 0 {
        vec![0u8; initial_size.max(4096)]
    } else {
        Vec::new()
    };
    loop {
        let out = bpf::prog_load(p, level, &mut buf);
        let text = || String::from_utf8_lossy(&buf[..out.log_len]).into_owned();
        match out.result {
            Ok(fd) => {
                return Loaded {
                    result: Ok(fd),
                    log: (level > 0).then(text),
                };
            }
            Err(e) => {
                if level == 0 {
                    level = 1;
                    buf = vec![0u8; initial_size.max(1 << 20)];
                    continue;
                }
                let need = out.log_true_size as usize;
                let full = e.errno() == Some(Errno::ENOSPC) || need > buf.len();
                if full && buf.len() < LOG_SIZE_MAX as usize {
                    let grow = if need > buf.len() {
                        need
                    } else {
                        buf.len().saturating_mul(4)
                    };
                    buf = vec![0u8; grow.min(LOG_SIZE_MAX as usize)];
                    continue;
                }
                let t = text();
                return Loaded {
                    result: Err((e, t, full)),
                    log: None,
                };
            }
        }
    }
}

/// The source line of slot `insn` of a linked program: its last line_info record at or
/// before `insn`, with strings from the object's BTF `btf`.
pub fn line_of(
    linked: &oxbpf_reloc::LinkedProgram,
    btf: &oxbpf_btf::Btf<'_>,
    insn: usize,
) -> Option<SourceLine> {
    let rec = linked
        .line_info
        .iter()
        .filter(|l| l.insn as usize <= insn)
        .max_by_key(|l| l.insn)?;
    Some(SourceLine {
        file: btf.str_at(rec.file_name_off).ok()?.to_owned(),
        line: rec.line,
        col: rec.col,
        text: btf.str_at(rec.line_off).ok()?.to_owned(),
    })
}

/// The instruction index of the last `N: (xx) ...` line of a verifier log.
pub fn failing_insn(log: &str) -> Option<usize> {
    log.lines().rev().find_map(|l| {
        let (n, rest) = l.split_once(": ")?;
        if rest.starts_with('(') && !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) {
            n.parse().ok()
        } else {
            None
        }
    })
}

/// The verifier's message: the last log line that is not a statistics or blank line, nor
/// one of the `cur state:`/`old state:` lines that follow "infinite loop detected".
pub fn message(log: &str) -> Option<String> {
    log.lines()
        .rev()
        .map(str::trim)
        .find(|l| {
            !l.is_empty()
                && !l.starts_with("processed ")
                && !l.starts_with("verification time")
                && !l.starts_with("stack depth")
                && !l.starts_with("cur state:")
                && !l.starts_with("old state:")
                && !l.starts_with("-- END PROG LOAD LOG --")
        })
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOG: &str = "0: R1=ctx() R10=fp0\n\
        ; int bad(void *ctx) @ rejected.bpf.c:20\n\
        0: (b7) r1 = 0                        ; R1_w=0\n\
        7: (61) r1 = *(u32 *)(r0 +0)\n\
        R0 invalid mem access 'map_value_or_null'\n\
        processed 8 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0\n";

    #[test]
    fn finds_the_failing_instruction_and_message() {
        assert_eq!(failing_insn(LOG), Some(7));
        assert_eq!(
            message(LOG).as_deref(),
            Some("R0 invalid mem access 'map_value_or_null'")
        );
    }

    #[test]
    fn infinite_loop_message_skips_the_state_dump() {
        let log = "infinite loop detected at insn 0\ncur state: R0=scalar() R10=fp0\n\
                   old state: R0=scalar() R10=fp0\nprocessed 13 insns (limit 1000000)\n";
        assert_eq!(
            message(log).as_deref(),
            Some("infinite loop detected at insn 0")
        );
    }

    #[test]
    fn logs_without_instructions_give_none() {
        assert_eq!(failing_insn("BTF is required\n"), None);
        assert_eq!(failing_insn("12: R1=ctx()\n"), None);
        assert_eq!(message("\n\n"), None);
    }
}

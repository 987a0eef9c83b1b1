//! Verifier-log explanation: the log parsed into per-instruction records, the failure
//! classified, and a fix hint for each class.
//!
//! The wording matched is that of kernels 4.18 to 6.18 (older phrasings are listed next
//! to the newer ones, e.g. `unknown func` before `program of this type cannot use
//! helper`, `back-edge from insn` before bounded loops).

use std::fmt;

use super::SourceLine;

/// One instruction line of a verifier log: `N: (op) text ; state`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InsnRecord {
    /// Instruction (slot) index.
    pub insn: usize,
    /// The instruction as the verifier prints it (`(79) r1 = *(u64 *)(r0 +0)`).
    pub text: String,
    /// The register state printed after `;` (6.x logs), if any.
    pub state: Option<String>,
    /// The source comment (`; text @ file:line`) the log printed before this instruction.
    pub source: Option<LogSource>,
}

/// A `; ...` source comment of a verifier log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogSource {
    /// The source text.
    pub text: String,
    /// The file, when the kernel appends ` @ file:line` (6.x).
    pub file: Option<String>,
    /// The line, when the kernel appends ` @ file:line` (6.x).
    pub line: Option<u32>,
}

/// Parses the instruction lines of a verifier log, in log order (an instruction visited
/// on several paths appears once per visit).
pub fn parse_log(log: &str) -> Vec<InsnRecord> {
    let mut out = Vec::new();
    let mut pending: Option<LogSource> = None;
    for line in log.lines() {
        if let Some(src) = line.strip_prefix("; ") {
            pending = Some(parse_source(src));
            continue;
        }
        let Some((n, rest)) = line.split_once(": ") else {
            continue;
        };
        if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) || !rest.starts_with('(') {
            continue;
        }
        let Ok(insn) = n.parse() else { continue };
        let (text, state) = match rest.find(" ; ") {
            Some(i) => (rest[..i].trim_end(), Some(rest[i + 3..].trim().to_owned())),
            None => (rest.trim_end(), None),
        };
        out.push(InsnRecord {
            insn,
            text: text.to_owned(),
            state,
            source: pending.take(),
        });
    }
    out
}

fn parse_source(src: &str) -> LogSource {
    if let Some((text, loc)) = src.rsplit_once(" @ ")
        && let Some((file, line)) = loc.rsplit_once(':')
        && let Ok(line) = line.trim().parse()
    {
        return LogSource {
            text: text.to_owned(),
            file: Some(file.to_owned()),
            line: Some(line),
        };
    }
    LogSource {
        text: src.to_owned(),
        file: None,
        line: None,
    }
}

/// Why the verifier rejected a program.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FailureClass {
    /// A pointer that may be NULL (a map lookup's result) is dereferenced unchecked.
    NullCheckMissing,
    /// A loop the verifier cannot bound, or a program past the instruction/complexity limit.
    LoopOrComplexity,
    /// A packet read or write without a bounds check against `data_end`.
    PacketBounds,
    /// An acquired reference (ring buffer record, socket, kptr) is not released.
    UnreleasedReference,
    /// A helper that this program type may not call.
    HelperNotAllowed,
    /// A GPL-only helper or kfunc called from a program with a non-GPL license.
    GplOnly,
    /// The stack limit (512 bytes, combined over the call chain) or a bad stack offset.
    StackLimit,
    /// An instruction poisoned by the loader because its CO-RE relocation failed.
    CorePoisoned,
    /// A kfunc the kernel does not have, does not allow here, or has no BTF for.
    Kfunc,
    /// A context access at an offset or size the program type does not allow.
    CtxAccess,
    /// The program exits without setting R0 (no return value).
    NoReturnValue,
    /// None of the above.
    Unknown,
}

/// The CO-RE poison helper id (0xbad2310) as the verifier prints it.
const CORE_POISON: &str = "unknown#195896080";

/// (class, substrings of a log line that identify it), in match order.
const PATTERNS: &[(FailureClass, &[&str])] = &[
    (FailureClass::CorePoisoned, &[CORE_POISON]),
    (
        FailureClass::GplOnly,
        &[
            "cannot call GPL-restricted function",
            "cannot call GPL only function",
            "cannot call kernel function from non-GPL",
        ],
    ),
    (
        FailureClass::Kfunc,
        &[
            "calling kernel function",
            "kernel btf_id",
            "failed to find BTF for kernel function",
            "JIT is required for calling kernel function",
        ],
    ),
    (
        FailureClass::HelperNotAllowed,
        &[
            "program of this type cannot use helper",
            "unknown func ",
            "helper call is not allowed",
        ],
    ),
    (
        FailureClass::NullCheckMissing,
        &["_or_null", "Possibly NULL pointer passed"],
    ),
    (
        FailureClass::PacketBounds,
        &[
            "invalid access to packet",
            "offset is outside of the packet",
        ],
    ),
    (
        FailureClass::UnreleasedReference,
        &["Unreleased reference", "would lead to reference leak"],
    ),
    (
        FailureClass::LoopOrComplexity,
        &[
            "back-edge from insn",
            "infinite loop detected",
            "BPF program is too large",
            "is too complex",
            "loop is not bounded",
            "too many states",
        ],
    ),
    (
        FailureClass::StackLimit,
        &[
            "combined stack size",
            "invalid stack off",
            "stack size of",
            "exceeds stack limit",
        ],
    ),
    (
        FailureClass::CtxAccess,
        &[
            "invalid bpf_context access",
            "dereference of modified ctx ptr",
        ],
    ),
    (FailureClass::NoReturnValue, &["R0 !read_ok"]),
];

impl FailureClass {
    /// Every class, [`FailureClass::Unknown`] last.
    pub const ALL: [FailureClass; 12] = [
        FailureClass::NullCheckMissing,
        FailureClass::LoopOrComplexity,
        FailureClass::PacketBounds,
        FailureClass::UnreleasedReference,
        FailureClass::HelperNotAllowed,
        FailureClass::GplOnly,
        FailureClass::StackLimit,
        FailureClass::CorePoisoned,
        FailureClass::Kfunc,
        FailureClass::CtxAccess,
        FailureClass::NoReturnValue,
        FailureClass::Unknown,
    ];

    /// A short kebab-case name (`null-check-missing`), stable for scripts.
    pub fn name(self) -> &'static str {
        match self {
            FailureClass::NullCheckMissing => "null-check-missing",
            FailureClass::LoopOrComplexity => "loop-or-complexity",
            FailureClass::PacketBounds => "packet-bounds",
            FailureClass::UnreleasedReference => "unreleased-reference",
            FailureClass::HelperNotAllowed => "helper-not-allowed",
            FailureClass::GplOnly => "gpl-only",
            FailureClass::StackLimit => "stack-limit",
            FailureClass::CorePoisoned => "core-poisoned",
            FailureClass::Kfunc => "kfunc",
            FailureClass::CtxAccess => "ctx-access",
            FailureClass::NoReturnValue => "no-return-value",
            FailureClass::Unknown => "unknown",
        }
    }

    /// One paragraph on how to fix a failure of this class.
    pub fn hint(self) -> &'static str {
        match self {
            FailureClass::NullCheckMissing => {
                "A pointer that may be NULL is dereferenced. bpf_map_lookup_elem() (and \
                 other helpers returning *_or_null) returns NULL when the key is absent: \
                 test the result (`if (!val) return 0;`) before reading or writing through \
                 it, and use the checked pointer itself, not a copy made before the test."
            }
            FailureClass::LoopOrComplexity => {
                "The verifier walks every path and gives up after 1M instructions (or, \
                 before 5.3, rejects any back-edge). Give loops a constant upper bound the \
                 compiler keeps (`for (i = 0; i < MAX && i < n; i++)`), or move the body \
                 into bpf_loop() (5.17+) / an open-coded iterator (bpf_for, 6.4+); split \
                 long programs with tail calls or non-inlined global functions, and \
                 avoid branches that multiply the states (mask values instead)."
            }
            FailureClass::PacketBounds => {
                "Packet memory is read or written without proving it lies before data_end. \
                 Compare the end of the access with data_end first \
                 (`if ((void *)(eth + 1) > data_end) return XDP_PASS;`) and access through \
                 the same pointer you compared; for variable offsets bound the offset \
                 (`off &= 0xff`) and check again, or copy with bpf_skb_load_bytes()."
            }
            FailureClass::UnreleasedReference => {
                "A reference acquired on some path (bpf_ringbuf_reserve, bpf_sk_lookup_*, \
                 a kptr or kfunc marked KF_ACQUIRE) reaches the exit without being \
                 released. Submit or discard every reserved ring buffer record, call \
                 bpf_sk_release() on every looked-up socket, on every path including early \
                 returns (alloc_insn in the message is where it was acquired)."
            }
            FailureClass::HelperNotAllowed => {
                "This program type may not call that helper (or the kernel is too old to \
                 have it). Check which helpers the type allows with `oxbpf probe` (helpers \
                 per program type); use a program type whose hook offers it, an \
                 equivalent helper for this type, or a newer kernel."
            }
            FailureClass::GplOnly => {
                "The helper or kfunc is GPL-only and the object's license is not GPL \
                 compatible. Declare a GPL-compatible license \
                 (`char LICENSE[] SEC(\"license\") = \"Dual MIT/GPL\";`) or avoid the helper \
                 (bpf_probe_read_*, bpf_trace_printk, perf and most tracing helpers are \
                 GPL-only)."
            }
            FailureClass::StackLimit => {
                "BPF has 512 bytes of stack, and the limit holds for the whole call chain \
                 of non-inlined functions (tracing programs on 6.13+ may get a private \
                 stack). Move large buffers into a per-CPU array map (lookup key 0) or a \
                 global variable, make callees __always_inline only when their frames are \
                 small, and keep stack offsets constant and within the frame."
            }
            FailureClass::CorePoisoned => {
                "A CO-RE relocation could not be resolved against the kernel's BTF (a field, \
                 type or enum value that this kernel does not have), so the loader replaced \
                 the instruction with a call that the verifier rejects if it is reachable. \
                 Guard the access with bpf_core_field_exists()/bpf_core_type_exists() so \
                 that the dead branch is removed, or add a ___flavor type for this kernel; \
                 `oxbpf load --explain-core` shows which relocation failed."
            }
            FailureClass::Kfunc => {
                "The kfunc call cannot be resolved or is not allowed: the kernel (or the \
                 module) lacks the function or its BTF (CONFIG_DEBUG_INFO_BTF, \
                 /sys/kernel/btf), the program type is not in the kfunc's allow list, or \
                 the JIT is off. Declare optional kfuncs __weak and test \
                 bpf_ksym_exists(), and use a program type the kfunc is registered for."
            }
            FailureClass::CtxAccess => {
                "The program reads or writes its context at an offset, size or through a \
                 pointer the program type does not allow. Use the context struct of this \
                 program type (struct xdp_md, __sk_buff, a tracepoint's own format), read \
                 fields at their declared size, do not do arithmetic on the ctx pointer, \
                 and use bpf_probe_read_kernel() for memory behind it."
            }
            FailureClass::NoReturnValue => {
                "The program (or a global subprogram) exits without R0 set: a path returns \
                 without a value. Return a value on every path; in hand-written or inline \
                 assembly set r0 before `exit`."
            }
            FailureClass::Unknown => {
                "The failure is not one oxbpf recognises. Read the last lines of the log \
                 (the message and the instruction before it) and the register state; a \
                 log at level 2 (`--log-level 2`) shows every state the verifier \
                 explored."
            }
        }
    }
}

impl fmt::Display for FailureClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Classifies a verifier log: the last lines that are not statistics are matched,
/// newest first, against the known messages.
pub fn classify(log: &str) -> FailureClass {
    let tail: Vec<&str> = log
        .lines()
        .rev()
        .map(str::trim)
        .filter(|l| {
            !l.is_empty()
                && !is_statistics(l)
                && !l.starts_with("cur state:")
                && !l.starts_with("old state:")
        })
        .take(4)
        .collect();
    for l in &tail {
        for (class, pats) in PATTERNS {
            if pats.iter().any(|p| l.contains(p)) {
                return *class;
            }
        }
    }
    // "processed N insns (limit M)" with N > M and no other message.
    if log.lines().any(|l| processed_past_limit(l.trim())) {
        return FailureClass::LoopOrComplexity;
    }
    FailureClass::Unknown
}

fn is_statistics(l: &str) -> bool {
    l.starts_with("processed ")
        || l.starts_with("verification time")
        || l.starts_with("stack depth")
        || l.starts_with("-- END PROG LOAD LOG --")
}

fn processed_past_limit(l: &str) -> bool {
    let Some(rest) = l.strip_prefix("processed ") else {
        return false;
    };
    let mut words = rest.split_whitespace();
    let n = words.next().and_then(|w| w.parse::<u64>().ok());
    let limit = rest
        .split_once("(limit ")
        .and_then(|(_, t)| t.split(')').next())
        .and_then(|w| w.trim().parse::<u64>().ok());
    matches!((n, limit), (Some(n), Some(m)) if n > m)
}

/// A verifier failure explained: its class, where it happened, and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explanation {
    /// The failure class.
    pub class: FailureClass,
    /// The verifier's message (the log's last non-statistics line).
    pub message: Option<String>,
    /// The instruction the verifier stopped at.
    pub insn: Option<usize>,
    /// Its source line (from the object's line_info, else the log's own comment).
    pub source_line: Option<SourceLine>,
    /// For an unreleased reference: the instruction that acquired it (`alloc_insn=`).
    pub acquired_at: Option<usize>,
    /// The source line of [`Explanation::acquired_at`], from the log's comments.
    pub acquired_line: Option<SourceLine>,
    /// The fix hint of [`Explanation::class`].
    pub hint: &'static str,
    /// The last (up to 10) instruction lines of the log, with their source comments.
    pub excerpt: Vec<String>,
}

/// Lines kept in [`Explanation::excerpt`].
const EXCERPT_LEN: usize = 10;

/// Explains `log`; `line_of` maps an instruction index to its source line (line_info of
/// the program), when the object is at hand.
pub fn explain_log(log: &str, line_of: &dyn Fn(usize) -> Option<SourceLine>) -> Explanation {
    let class = classify(log);
    let records = parse_log(log);
    let insn = super::failing_insn(log);
    let source_line = insn
        .and_then(line_of)
        .or_else(|| insn.and_then(|i| source_from_log(&records, i)));
    let acquired_at = log.lines().rev().find_map(|l| {
        let rest = l.split_once("alloc_insn=")?.1;
        let n: String = rest.chars().take_while(char::is_ascii_digit).collect();
        n.parse().ok()
    });
    let mut excerpt = Vec::new();
    for r in records.iter().rev().take(EXCERPT_LEN) {
        let mut line = format!("{}: {}", r.insn, r.text);
        if let Some(s) = &r.state {
            line.push_str(" ; ");
            line.push_str(s);
        }
        excerpt.push(line);
        if let Some(s) = &r.source {
            excerpt.push(format!("; {}", s.text));
        }
    }
    excerpt.reverse();
    Explanation {
        class,
        message: super::message(log),
        insn,
        source_line,
        acquired_line: acquired_at.and_then(|i| source_from_log(&records, i)),
        acquired_at,
        hint: class.hint(),
        excerpt,
    }
}

/// The source comment in effect at the last visit of `insn`: the nearest `; ...` line
/// at or before it in log order.
fn source_from_log(records: &[InsnRecord], insn: usize) -> Option<SourceLine> {
    let last = records.iter().rposition(|r| r.insn == insn)?;
    let src = records[..=last]
        .iter()
        .rev()
        .find_map(|r| r.source.as_ref())?;
    Some(SourceLine {
        file: src.file.clone().unwrap_or_default(),
        line: src.line.unwrap_or(0),
        col: 0,
        text: src.text.clone(),
    })
}

impl fmt::Display for Explanation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "verifier failure: {}", self.class)?;
        if let Some(m) = &self.message {
            write!(f, " ({m})")?;
        }
        writeln!(f)?;
        match (&self.insn, &self.source_line) {
            (Some(i), Some(s)) if s.line > 0 => writeln!(f, "  at instruction {i}, {s}")?,
            (Some(i), Some(s)) => writeln!(f, "  at instruction {i}: {}", s.text.trim())?,
            (Some(i), None) => writeln!(f, "  at instruction {i}")?,
            _ => {}
        }
        match (self.acquired_at, &self.acquired_line) {
            (Some(a), Some(s)) if s.line > 0 => {
                writeln!(f, "  reference acquired at instruction {a}, {s}")?
            }
            (Some(a), _) => writeln!(f, "  reference acquired at instruction {a}")?,
            _ => {}
        }
        writeln!(f, "  fix: {}", self.hint)?;
        if !self.excerpt.is_empty() {
            writeln!(f, "  last instructions:")?;
            for l in &self.excerpt {
                writeln!(f, "    {l}")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NULL_618: &str = "arg#0 reference type('UNKNOWN ') size cannot be determined: -22\n\
        0: R1=ctx() R10=fp0\n\
        ; int bad_deref(void *ctx) @ rejected.bpf.c:22\n\
        0: (b4) w1 = 0                        ; R1=0\n\
        ; val = bpf_map_lookup_elem(&values, &key); @ rejected.bpf.c:27\n\
        4: (18) r1 = 0xffff888136af6400       ; R1=map_ptr(map=values,ks=4,vs=8)\n\
        6: (85) call bpf_map_lookup_elem#1    ; R0=map_value_or_null(id=1,map=values,ks=4,vs=8)\n\
        ; *val += 1; /* here */ @ rejected.bpf.c:28\n\
        7: (79) r1 = *(u64 *)(r0 +0)\n\
        R0 invalid mem access 'map_value_or_null'\n\
        processed 7 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0\n";

    fn none(_: usize) -> Option<SourceLine> {
        None
    }

    #[test]
    fn parses_instruction_text_state_and_source_comment() {
        let r = parse_log(NULL_618);
        assert_eq!(r.len(), 4);
        assert_eq!(r[2].insn, 6);
        assert_eq!(r[2].text, "(85) call bpf_map_lookup_elem#1");
        assert_eq!(
            r[2].state.as_deref(),
            Some("R0=map_value_or_null(id=1,map=values,ks=4,vs=8)")
        );
        assert_eq!(r[2].source, None);
        let s = r[3].source.as_ref().unwrap();
        assert_eq!(s.text, "*val += 1; /* here */");
        assert_eq!(s.file.as_deref(), Some("rejected.bpf.c"));
        assert_eq!(s.line, Some(28));
        assert_eq!(r[3].state, None);
    }

    #[test]
    fn explains_a_missing_null_check_with_the_logs_own_source_line() {
        let e = explain_log(NULL_618, &none);
        assert_eq!(e.class, FailureClass::NullCheckMissing);
        assert_eq!(e.insn, Some(7));
        let s = e.source_line.unwrap();
        assert_eq!((s.file.as_str(), s.line), ("rejected.bpf.c", 28));
        assert_eq!(e.excerpt.last().unwrap(), "7: (79) r1 = *(u64 *)(r0 +0)");
        assert!(e.excerpt.contains(&"; *val += 1; /* here */".to_owned()));
    }

    #[test]
    fn the_objects_line_info_wins_over_the_logs_comment() {
        let from_obj = |i: usize| {
            (i == 7).then(|| SourceLine {
                file: "x.c".into(),
                line: 3,
                col: 5,
                text: "y".into(),
            })
        };
        assert_eq!(
            explain_log(NULL_618, &from_obj).source_line.unwrap().line,
            3
        );
    }

    #[test]
    fn old_kernels_source_comments_have_no_location() {
        // 5.x: "; text" without " @ file:line".
        let log = "; *val += 1;\n7: (79) r1 = *(u64 *)(r0 +0)\n\
                   R0 invalid mem access 'map_value_or_null'\n";
        let e = explain_log(log, &none);
        assert_eq!(e.class, FailureClass::NullCheckMissing);
        let s = e.source_line.unwrap();
        assert_eq!((s.line, s.text.as_str()), (0, "*val += 1;"));
    }

    fn class(log: &str) -> FailureClass {
        classify(log)
    }

    #[test]
    fn classifies_every_known_message() {
        let cases: &[(&str, FailureClass)] = &[
            (
                "R1 invalid mem access 'ptr_or_null_'",
                FailureClass::NullCheckMissing,
            ),
            (
                "R0 invalid mem access 'mem_or_null'",
                FailureClass::NullCheckMissing,
            ),
            (
                "Possibly NULL pointer passed to helper arg2",
                FailureClass::NullCheckMissing,
            ),
            // 4.x-5.2: no loops at all.
            ("back-edge from insn 9 to 3", FailureClass::LoopOrComplexity),
            (
                "infinite loop detected at insn 4",
                FailureClass::LoopOrComplexity,
            ),
            (
                "BPF program is too large. Processed 1000001 insn",
                FailureClass::LoopOrComplexity,
            ),
            (
                "The sequence of 8193 jumps is too complex.",
                FailureClass::LoopOrComplexity,
            ),
            (
                "invalid access to packet, off=12 size=1, R1(id=0,off=12,r=0)\n\
                 R1 offset is outside of the packet",
                FailureClass::PacketBounds,
            ),
            (
                "Unreleased reference id=2 alloc_insn=4\n\
                 BPF_EXIT instruction in main prog would lead to reference leak",
                FailureClass::UnreleasedReference,
            ),
            // 6.x and older wording.
            (
                "program of this type cannot use helper bpf_redirect#23",
                FailureClass::HelperNotAllowed,
            ),
            (
                "unknown func bpf_redirect#23",
                FailureClass::HelperNotAllowed,
            ),
            (
                "cannot call GPL-restricted function from non-GPL compatible program",
                FailureClass::GplOnly,
            ),
            (
                "cannot call GPL only function from proprietary program",
                FailureClass::GplOnly,
            ),
            (
                "cannot call kernel function from non-GPL compatible program",
                FailureClass::GplOnly,
            ),
            (
                "combined stack size of 2 calls is 864. Too large",
                FailureClass::StackLimit,
            ),
            ("invalid stack off=-520 size=8", FailureClass::StackLimit),
            (
                "7: (85) call unknown#195896080\ninvalid func unknown#195896080",
                FailureClass::CorePoisoned,
            ),
            ("kernel btf_id 12345 is not a function", FailureClass::Kfunc),
            (
                "calling kernel function bpf_task_acquire is not allowed",
                FailureClass::Kfunc,
            ),
            (
                "calling kernel function is not supported without CONFIG_DEBUG_INFO_BTF",
                FailureClass::Kfunc,
            ),
            (
                "failed to find BTF for kernel function",
                FailureClass::Kfunc,
            ),
            (
                "invalid bpf_context access off=160 size=4",
                FailureClass::CtxAccess,
            ),
            (
                "dereference of modified ctx ptr R1 off=4 disallowed",
                FailureClass::CtxAccess,
            ),
            ("R0 !read_ok", FailureClass::NoReturnValue),
            ("R7 pointer comparison prohibited", FailureClass::Unknown),
            ("", FailureClass::Unknown),
        ];
        for (log, want) in cases {
            let log = format!("{log}\nprocessed 5 insns (limit 1000000) max_states_per_insn 0\n");
            assert_eq!(class(&log), *want, "log: {log}");
        }
    }

    #[test]
    fn processed_past_the_limit_alone_is_complexity() {
        assert_eq!(
            class("processed 131073 insns (limit 131072), stack depth 0\n"),
            FailureClass::LoopOrComplexity
        );
        assert_eq!(
            class("processed 10 insns (limit 131072)\n"),
            FailureClass::Unknown
        );
    }

    #[test]
    fn unreleased_reference_names_the_acquiring_instruction() {
        let e = explain_log(
            "11: (95) exit\nUnreleased reference id=2 alloc_insn=4\n",
            &none,
        );
        assert_eq!(e.acquired_at, Some(4));
        assert!(
            e.to_string()
                .contains("reference acquired at instruction 4")
        );
    }

    #[test]
    fn every_class_has_a_name_and_a_hint() {
        let mut names = std::collections::HashSet::new();
        for c in FailureClass::ALL {
            assert!(names.insert(c.name()));
            assert!(c.hint().len() > 80, "{c}");
        }
    }

    #[test]
    fn excerpt_keeps_the_last_ten_instructions() {
        let log: String = (0..30).map(|i| format!("{i}: (b7) r0 = {i}\n")).collect();
        let e = explain_log(&log, &none);
        assert_eq!(e.excerpt.len(), 10);
        assert_eq!(e.excerpt[0], "20: (b7) r0 = 20");
    }

    #[test]
    fn garbage_never_panics() {
        for log in [
            "\u{0}: (",
            "9999999999999999999999: (x)",
            "; @ :",
            "; a @ b:c",
            "processed x insns (limit",
        ] {
            let _ = explain_log(log, &none);
        }
    }
}

//! The crate's error type: every variant names the program, function and instruction.

/// Result alias for this crate.
pub type Result<T> = std::result::Result<T, Error>;

/// Why a program could not be linked or patched.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// `link_program` was given an index past `ObjectSpec::programs`.
    #[error("no program #{index}: the object has {count} programs")]
    NoSuchProgram {
        /// The index given.
        index: usize,
        /// Number of programs.
        count: usize,
    },
    /// A call or callback address whose target is not the start of any function.
    #[error(
        "program {program:?}: {what} at insn {insn} of function {function:?} targets {section:?}+{offset:#x}{}, where no function starts",
        fmt_symbol(.symbol)
    )]
    MissingFunction {
        /// The entry program being linked.
        program: String,
        /// The function containing the instruction.
        function: String,
        /// Slot index of the instruction within that function.
        insn: usize,
        /// A call or a callback address.
        what: CallKind,
        /// Target section.
        section: String,
        /// Target byte offset in the section.
        offset: u64,
        /// The relocation's symbol, if the target came from a relocation.
        symbol: Option<String>,
    },
    /// A call or callback into another entry program, which cannot be a callee.
    #[error(
        "program {program:?}: {what} at insn {insn} of function {function:?} targets entry program {target:?}; callees must be in .text or static"
    )]
    CallToEntryProgram {
        /// The entry program being linked.
        program: String,
        /// The function containing the instruction.
        function: String,
        /// Slot index within that function.
        insn: usize,
        /// A call or a callback address.
        what: CallKind,
        /// The entry program called.
        target: String,
    },
    /// An instruction or relocation that does not fit together.
    #[error("program {program:?}: function {function:?} insn {insn}: {reason}")]
    BadInstruction {
        /// The entry program being linked.
        program: String,
        /// The function containing the instruction.
        function: String,
        /// Slot index within that function (or within the linked program for `resolve_maps`).
        insn: usize,
        /// What is wrong.
        reason: String,
    },
    /// The object's BTF or BTF.ext could not be read.
    #[error("program {program:?}: {context}: {source}")]
    Btf {
        /// The entry program being linked.
        program: String,
        /// What was being read.
        context: String,
        /// The BTF error.
        source: oxbpf_btf::Error,
    },
    /// func_info / line_info records that do not match the functions placed.
    #[error("program {program:?}: function {function:?}: {reason}")]
    ExtInfo {
        /// The entry program being linked.
        program: String,
        /// The function concerned.
        function: String,
        /// What is wrong.
        reason: String,
    },
    /// A CO-RE relocation that cannot be computed or applied (not one that merely finds
    /// no target: that poisons the instruction).
    #[error("program {program:?}: function {function:?} insn {insn}: {reason}")]
    Core {
        /// The entry program being linked.
        program: String,
        /// The function containing the instruction.
        function: String,
        /// Slot index in the linked program.
        insn: usize,
        /// What is wrong.
        reason: String,
    },
    /// A strong (non-`__weak`) extern the program uses was not found on this kernel.
    #[error(
        "program {program:?}: {kind} {name:?} not found on this kernel (insn {insn}); declare it __weak to make it optional"
    )]
    UnresolvedExtern {
        /// The entry program.
        program: String,
        /// The extern's name.
        name: String,
        /// "kconfig", "ksym", "typeless ksym" or "kfunc".
        kind: &'static str,
        /// Slot index in the linked program of the first use.
        insn: usize,
    },
    /// `resolve_maps` got no fd for a map the program uses.
    #[error("insn {insn}: no file descriptor for map #{map} (symbol {symbol:?})")]
    MissingMapFd {
        /// Slot index in the linked program.
        insn: usize,
        /// Index into `ObjectSpec::maps`.
        map: usize,
        /// The relocation's symbol.
        symbol: String,
    },
}

/// What kind of reference to a function an instruction is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallKind {
    /// A bpf-to-bpf `call`.
    Call,
    /// An `ld_imm64` of a function's address (a callback).
    Callback,
}

impl Error {
    /// The program the error names in its message, if it names one.
    pub fn program(&self) -> Option<&str> {
        match self {
            Error::MissingFunction { program, .. }
            | Error::CallToEntryProgram { program, .. }
            | Error::BadInstruction { program, .. }
            | Error::Btf { program, .. }
            | Error::ExtInfo { program, .. }
            | Error::Core { program, .. }
            | Error::UnresolvedExtern { program, .. } => Some(program),
            Error::NoSuchProgram { .. } | Error::MissingMapFd { .. } => None,
        }
    }
}

impl std::fmt::Display for CallKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            CallKind::Call => "call",
            CallKind::Callback => "callback address",
        })
    }
}

fn fmt_symbol(s: &Option<String>) -> String {
    match s {
        Some(s) => format!(" (symbol {s:?})"),
        None => String::new(),
    }
}

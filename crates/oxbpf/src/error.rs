//! The facade's error: what failed, naming the map or program, with the cause chained.

use crate::verifier::VerifierError;

/// Errors from loading, attaching and reading an object.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The ELF object could not be read.
    #[error(transparent)]
    Object(Box<oxbpf_obj::Error>),
    /// The object's BTF is malformed.
    #[error("object BTF: {0}")]
    Btf(#[from] oxbpf_btf::Error),
    /// A program could not be linked or relocated.
    #[error("{}", reloc_message(program, source))]
    Reloc {
        /// Program name.
        program: String,
        /// What went wrong.
        #[source]
        source: Box<oxbpf_reloc::Error>,
    },
    /// Creating or initialising a map failed.
    #[error("map {map:?}: {source}{}", hint(source))]
    Map {
        /// Map name.
        map: String,
        /// The failed call.
        #[source]
        source: oxbpf_sys::Error,
    },
    /// The object has CO-RE relocations but the target BTF could not be read.
    #[error("program {program:?}: CO-RE needs the kernel's BTF: {source}")]
    CoreTarget {
        /// Program name.
        program: String,
        /// Why the BTF could not be read.
        #[source]
        source: crate::kernel_btf::Error,
    },
    /// The verifier rejected a program at an instruction a failed CO-RE relocation
    /// poisoned: the relocation (with the candidates considered) and the verifier's error.
    #[error("program {program:?}: CO-RE relocation failed: {relocation}\n{verifier}")]
    CoreRelocation {
        /// Program name.
        program: String,
        /// The relocation that poisoned the instruction.
        relocation: Box<oxbpf_reloc::ReloExplanation>,
        /// The verifier's rejection.
        verifier: Box<VerifierError>,
    },
    /// The verifier rejected a program; the whole log is inside.
    #[error(transparent)]
    Verifier(Box<VerifierError>),
    /// Loading a program failed for a reason other than the verifier.
    #[error("program {program:?}: {source}{}", hint(source))]
    Load {
        /// Program name.
        program: String,
        /// The failed call.
        #[source]
        source: oxbpf_sys::Error,
    },
    /// Attaching a program failed.
    #[error("program {program:?}: {source}")]
    Attach {
        /// Program name.
        program: String,
        /// Why.
        #[source]
        source: oxbpf_attach::Error,
    },
    /// The program's section does not say where to attach, or that hook is not supported yet.
    #[error("program {program:?} (section {section:?}): {reason}")]
    CannotAttach {
        /// Program name.
        program: String,
        /// Its ELF section.
        section: String,
        /// Why it cannot be attached automatically.
        reason: String,
    },
    /// A program to load is in a section no convention names (`SEC("abc")`), so it has
    /// no program type.
    #[error(
        "program {program:?}: section {section:?} names no program type; set its ProgramSpec::def.prog_type (and expected_attach_type) before loading, or turn its autoload off"
    )]
    NoProgramType {
        /// Program name.
        program: String,
        /// Its ELF section.
        section: String,
    },
    /// A map operation failed.
    #[error(transparent)]
    Maps(Box<oxbpf_maps::Error>),
    /// Several programs of one object failed to load (all are tried): each failure whole,
    /// with its own verifier log, in the object's order. [`Error::first`] is the first.
    #[error("{} programs failed to load:{}", .0.len(), list(.0))]
    Programs(Vec<Error>),
    /// A `__ksym` variable the object uses is not on this kernel (not in vmlinux or
    /// module BTF for a typed one, not in /proc/kallsyms for a typeless one), or cannot be
    /// resolved unambiguously. `program`: the program that uses it (None: found out while
    /// resolving the object's externs).
    #[error("{}extern ksym {name:?}: {reason}", fmt_program(.program))]
    MissingKsym {
        /// The program that uses it, if known.
        program: Option<String>,
        /// The extern's name.
        name: String,
        /// Why it is missing.
        reason: String,
    },
    /// A kfunc the object calls is not in vmlinux or module BTF (or its prototype does not
    /// match): a strong one when the program is relocated, a `__weak` one when the verifier
    /// reached its (poisoned) call — `verifier` then holds the rejection.
    #[error("{}extern kfunc {name:?} not found: {reason}", fmt_program(.program))]
    MissingKfunc {
        /// The program that calls it, if known.
        program: Option<String>,
        /// The kfunc's name.
        name: String,
        /// Why it is missing.
        reason: String,
        /// The verifier's rejection at the poisoned call, for a reachable `__weak` kfunc.
        verifier: Option<Box<VerifierError>>,
    },
    /// A `__kconfig` extern has no value (strong and not in the kernel config) or a value
    /// that does not fit its type, or the config given cannot be read.
    #[error("{}extern kconfig {name:?}: {reason}", fmt_program(.program))]
    Kconfig {
        /// The program that uses it, if known.
        program: Option<String>,
        /// The extern's name.
        name: String,
        /// What is wrong.
        reason: String,
    },
    /// Running a program with BPF_PROG_TEST_RUN failed.
    #[error("program {program:?}: {source}")]
    TestRun {
        /// Program name.
        program: String,
        /// The failed call.
        #[source]
        source: oxbpf_sys::Error,
    },
}

impl From<oxbpf_obj::Error> for Error {
    fn from(e: oxbpf_obj::Error) -> Self {
        Error::Object(Box::new(e))
    }
}

impl From<oxbpf_maps::Error> for Error {
    fn from(e: oxbpf_maps::Error) -> Self {
        Error::Maps(Box::new(e))
    }
}

impl Error {
    /// The failures this error stands for: those of [`Error::Programs`], else itself.
    pub fn failures(&self) -> &[Error] {
        match self {
            Error::Programs(all) => all,
            one => std::slice::from_ref(one),
        }
    }

    /// The first failure: the first of [`Error::Programs`], else itself.
    pub fn first(&self) -> &Error {
        match self {
            Error::Programs(all) if !all.is_empty() => &all[0],
            one => one,
        }
    }

    /// The verifier's rejection of the first failing program, if the verifier rejected it
    /// (also when a poisoned CO-RE relocation explains the rejection).
    pub fn verifier(&self) -> Option<&VerifierError> {
        match self.first() {
            Error::Verifier(v) => Some(v),
            Error::CoreRelocation { verifier, .. } => Some(verifier),
            _ => None,
        }
    }
}

/// The failures of [`Error::Programs`], one per paragraph, indented.
fn list(all: &[Error]) -> String {
    all.iter()
        .map(|e| format!("\n- {}", e.to_string().replace('\n', "\n  ")))
        .collect()
}

/// `program "p": ` when the program is known.
fn fmt_program(p: &Option<String>) -> String {
    p.as_ref()
        .map_or_else(String::new, |p| format!("program {p:?}: "))
}

/// A hint for the common permission failures.
pub(crate) fn hint(e: &oxbpf_sys::Error) -> &'static str {
    match e.errno() {
        Some(oxbpf_sys::Errno::EPERM) => {
            " — needs root or CAP_BPF (and CAP_PERFMON for tracing programs)"
        }
        _ => "",
    }
}

/// Result alias of this crate.
pub type Result<T> = std::result::Result<T, Error>;

/// What kind of failure an [`Error`] is, for tools that count failures by cause (`oxbpf
/// load --each`, the selftests compatibility harness). Each class has a stable kebab-case
/// name ([`ErrorClass::name`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ErrorClass {
    /// The verifier rejected the program (its log says why).
    VerifierReject,
    /// A `__ksym` variable is not in the kernel (kallsyms or BTF).
    MissingKsym,
    /// A kfunc the program calls is not in the kernel's or a module's BTF.
    MissingKfunc,
    /// The function, tracepoint, hook or program the program attaches to is not there.
    MissingAttachTarget,
    /// A CO-RE relocation failed (or the kernel BTF it needs could not be read).
    CoreFailure,
    /// The kernel refused the call for lack of privilege (EPERM, EACCES).
    Permission,
    /// The kernel does not know the program's type (EINVAL, empty log, probed absent).
    UnsupportedProgType,
    /// The kernel does not know the map's type (EINVAL on create, probed absent).
    UnsupportedMapType,
    /// The ELF object, its BTF or its code is malformed or cannot be linked.
    BadObject,
    /// Anything else.
    Other,
}

impl ErrorClass {
    /// Every class, in declaration order.
    pub const ALL: [ErrorClass; 10] = [
        ErrorClass::VerifierReject,
        ErrorClass::MissingKsym,
        ErrorClass::MissingKfunc,
        ErrorClass::MissingAttachTarget,
        ErrorClass::CoreFailure,
        ErrorClass::Permission,
        ErrorClass::UnsupportedProgType,
        ErrorClass::UnsupportedMapType,
        ErrorClass::BadObject,
        ErrorClass::Other,
    ];

    /// The stable kebab-case name (`verifier-reject`).
    pub fn name(self) -> &'static str {
        match self {
            ErrorClass::VerifierReject => "verifier-reject",
            ErrorClass::MissingKsym => "missing-ksym",
            ErrorClass::MissingKfunc => "missing-kfunc",
            ErrorClass::MissingAttachTarget => "missing-attach-target",
            ErrorClass::CoreFailure => "core-failure",
            ErrorClass::Permission => "permission",
            ErrorClass::UnsupportedProgType => "unsupported-prog-type",
            ErrorClass::UnsupportedMapType => "unsupported-map-type",
            ErrorClass::BadObject => "bad-object",
            ErrorClass::Other => "other",
        }
    }

    /// The class called `name` ([`ErrorClass::name`]'s inverse).
    pub fn from_name(name: &str) -> Option<ErrorClass> {
        ErrorClass::ALL.into_iter().find(|c| c.name() == name)
    }
}

impl std::fmt::Display for ErrorClass {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// EPERM and EACCES: the caller lacks a privilege (or a platform policy refuses it).
fn is_permission(errno: Option<oxbpf_sys::Errno>) -> bool {
    matches!(
        errno,
        Some(oxbpf_sys::Errno::EPERM) | Some(oxbpf_sys::Errno::EACCES)
    )
}

/// The class of a failed syscall with no more context: permission or other.
fn sys_class(e: &oxbpf_sys::Error) -> ErrorClass {
    if is_permission(e.errno()) {
        ErrorClass::Permission
    } else {
        ErrorClass::Other
    }
}

/// The class of an error of the relocation layer (which never touches the kernel).
fn reloc_class(e: &oxbpf_reloc::Error) -> ErrorClass {
    use oxbpf_reloc::Error as R;
    match e {
        R::Core { .. } => ErrorClass::CoreFailure,
        R::MissingFunction { .. }
        | R::CallToEntryProgram { .. }
        | R::BadInstruction { .. }
        | R::Btf { .. }
        | R::ExtInfo { .. } => ErrorClass::BadObject,
        R::NoSuchProgram { .. } | R::MissingMapFd { .. } => ErrorClass::Other,
        R::UnresolvedExtern { kind: "kfunc", .. } => ErrorClass::MissingKfunc,
        R::UnresolvedExtern {
            kind: "ksym" | "typeless ksym",
            ..
        } => ErrorClass::MissingKsym,
        // The enum is non_exhaustive: variants added later are unclassified until mapped.
        _ => ErrorClass::Other,
    }
}

/// The class of an attach failure.
fn attach_class(e: &oxbpf_attach::Error) -> ErrorClass {
    use oxbpf_attach::Error as A;
    match e {
        A::NoAttachPoint { .. } | A::SymbolNotFound { .. } => ErrorClass::MissingAttachTarget,
        A::InvalidName { .. } | A::Unsupported { .. } | A::Binary { .. } => ErrorClass::Other,
        A::Rejected { source, .. } | A::Kernel { source, .. } => sys_class(source),
    }
}

impl Error {
    /// What kind of failure this is, from the variant and the errno: EPERM/EACCES are
    /// [`ErrorClass::Permission`] (also a rejection with an empty log), a verifier log is
    /// [`ErrorClass::VerifierReject`], a malformed object [`ErrorClass::BadObject`].
    /// A program load or map create failing with EINVAL is refined to an unsupported
    /// program or map type only by [`Error::class_in`], which knows the types; of
    /// [`Error::Programs`], the class of the first failure.
    pub fn class(&self) -> ErrorClass {
        match self {
            Error::Object(_) | Error::Btf(_) | Error::NoProgramType { .. } => ErrorClass::BadObject,
            Error::Reloc { source, .. } => reloc_class(source),
            Error::Map { source, .. } => sys_class(source),
            Error::CoreTarget { .. } | Error::CoreRelocation { .. } => ErrorClass::CoreFailure,
            Error::Verifier(v) => {
                if v.log.trim().is_empty() && is_permission(v.source.errno()) {
                    ErrorClass::Permission
                } else {
                    ErrorClass::VerifierReject
                }
            }
            Error::Load { source, .. } => sys_class(source),
            Error::Attach { source, .. } => attach_class(source),
            Error::CannotAttach { .. } => ErrorClass::MissingAttachTarget,
            Error::Maps(e) => match e.errno() {
                e if is_permission(e) => ErrorClass::Permission,
                _ => ErrorClass::Other,
            },
            Error::Programs(all) => all.first().map_or(ErrorClass::Other, Error::class),
            Error::TestRun { source, .. } => sys_class(source),
            Error::MissingKsym { .. } => ErrorClass::MissingKsym,
            Error::MissingKfunc { .. } => ErrorClass::MissingKfunc,
            Error::Kconfig { .. } => ErrorClass::Other,
        }
    }

    /// [`Error::class`], refined with the object the error came from: a program load that
    /// failed with EINVAL and an empty log, for a program type the kernel is probed not to
    /// have, is [`ErrorClass::UnsupportedProgType`]; a map create that failed with EINVAL
    /// for a map type probed absent is [`ErrorClass::UnsupportedMapType`].
    pub fn class_in(&self, spec: &oxbpf_obj::ObjectSpec) -> ErrorClass {
        let einval = |e: &oxbpf_sys::Error| e.errno() == Some(oxbpf_sys::Errno::EINVAL);
        match self {
            Error::Load { program, source } if einval(source) => {
                let absent = spec
                    .programs
                    .iter()
                    .find(|p| &p.name == program)
                    .is_some_and(|p| {
                        matches!(
                            crate::features::prog_type_supported(p.def.prog_type),
                            Ok(false)
                        )
                    });
                if absent {
                    ErrorClass::UnsupportedProgType
                } else {
                    ErrorClass::Other
                }
            }
            Error::Map { map, source } if einval(source) => {
                let absent = spec.maps.iter().find(|m| &m.name == map).is_some_and(|m| {
                    matches!(crate::features::map_type_supported(m.map_type), Ok(false))
                });
                if absent {
                    ErrorClass::UnsupportedMapType
                } else {
                    ErrorClass::Other
                }
            }
            Error::Programs(all) => all.first().map_or(ErrorClass::Other, |e| e.class_in(spec)),
            other => other.class(),
        }
    }

    /// The kernel's errno, when the failure is a failed system call.
    pub fn errno(&self) -> Option<oxbpf_sys::Errno> {
        match self {
            Error::Map { source, .. }
            | Error::Load { source, .. }
            | Error::TestRun { source, .. } => source.errno(),
            Error::Verifier(v) => v.source.errno(),
            Error::CoreRelocation { verifier, .. } => verifier.source.errno(),
            Error::Attach { source, .. } => match source {
                oxbpf_attach::Error::Rejected { source, .. }
                | oxbpf_attach::Error::Kernel { source, .. } => source.errno(),
                _ => None,
            },
            Error::Maps(e) => e.errno(),
            Error::Programs(all) => all.first().and_then(Error::errno),
            Error::Object(_)
            | Error::Btf(_)
            | Error::Reloc { .. }
            | Error::CoreTarget { .. }
            | Error::CannotAttach { .. }
            | Error::NoProgramType { .. }
            | Error::MissingKsym { .. }
            | Error::Kconfig { .. } => None,
            Error::MissingKfunc { verifier, .. } => {
                verifier.as_ref().and_then(|v| v.source.errno())
            }
        }
    }
}

#[cfg(test)]
mod class_tests {
    use super::*;
    use oxbpf_sys::Errno;

    fn sys(call: &'static str, errno: Errno) -> oxbpf_sys::Error {
        oxbpf_sys::Error::Syscall { call, errno }
    }

    fn verifier(errno: Errno, log: &str) -> Error {
        Error::Verifier(Box::new(VerifierError {
            program: "p".into(),
            source: sys("BPF_PROG_LOAD", errno),
            log: log.into(),
            insn: None,
            source_line: None,
            message: None,
            truncated: false,
        }))
    }

    #[test]
    fn class_names_are_kebab_case_and_round_trip() {
        for c in ErrorClass::ALL {
            assert!(
                c.name()
                    .chars()
                    .all(|ch| ch.is_ascii_lowercase() || ch == '-')
            );
            assert_eq!(ErrorClass::from_name(c.name()), Some(c));
            assert_eq!(c.to_string(), c.name());
        }
        assert_eq!(ErrorClass::from_name("nope"), None);
    }

    #[test]
    fn a_verifier_log_is_a_verifier_reject() {
        let e = verifier(Errno::EACCES, "0: R1 invalid mem access 'scalar'\n");
        assert_eq!(e.class(), ErrorClass::VerifierReject);
        assert_eq!(e.errno(), Some(Errno::EACCES));
    }

    #[test]
    fn eperm_or_an_empty_log_eacces_is_permission() {
        let load = Error::Load {
            program: "p".into(),
            source: sys("BPF_PROG_LOAD", Errno::EPERM),
        };
        assert_eq!(load.class(), ErrorClass::Permission);
        assert_eq!(
            verifier(Errno::EACCES, "  \n").class(),
            ErrorClass::Permission
        );
        let map = Error::Map {
            map: "m".into(),
            source: sys("BPF_MAP_CREATE", Errno::EACCES),
        };
        assert_eq!(map.class(), ErrorClass::Permission);
    }

    #[test]
    fn a_malformed_object_is_bad_object_and_a_missing_target_is_named() {
        let e: Error = oxbpf_obj::Error::MissingLicense.into();
        assert_eq!(e.class(), ErrorClass::BadObject);
        assert_eq!(e.errno(), None);
        let e = Error::CannotAttach {
            program: "p".into(),
            section: "fentry/nope".into(),
            reason: "not found".into(),
        };
        assert_eq!(e.class(), ErrorClass::MissingAttachTarget);
        let e = Error::Reloc {
            program: "p".into(),
            source: Box::new(oxbpf_reloc::Error::Core {
                program: "p".into(),
                function: "f".into(),
                insn: 3,
                reason: "bad access string".into(),
            }),
        };
        assert_eq!(e.class(), ErrorClass::CoreFailure);
    }

    #[test]
    fn einval_of_a_known_type_stays_other_and_several_failures_take_the_first() {
        let spec =
            oxbpf_obj::ObjectSpec::from_bytes(include_bytes!("../../../fixtures/counter.bpf.o"))
                .expect("counter fixture parses");
        let load = Error::Load {
            program: "absent_from_spec".into(),
            source: sys("BPF_PROG_LOAD", Errno::EINVAL),
        };
        assert_eq!(load.class(), ErrorClass::Other);
        assert_eq!(load.class_in(&spec), ErrorClass::Other);
        let all = Error::Programs(vec![verifier(Errno::EACCES, "x\n"), load]);
        assert_eq!(all.class(), ErrorClass::VerifierReject);
        assert_eq!(all.errno(), Some(Errno::EACCES));
    }
}

/// `program "x": <cause>`, without naming the program twice where the cause does.
fn reloc_message(program: &str, source: &oxbpf_reloc::Error) -> String {
    if source.program() == Some(program) {
        source.to_string()
    } else {
        format!("program {program:?}: {source}")
    }
}

#[cfg(test)]
mod reloc_message_tests {
    #[test]
    fn program_is_named_once() {
        let named = oxbpf_reloc::Error::Core {
            program: "p".into(),
            function: "f".into(),
            insn: 3,
            reason: "r".into(),
        };
        assert_eq!(
            super::reloc_message("p", &named),
            "program \"p\": function \"f\" insn 3: r"
        );
        let unnamed = oxbpf_reloc::Error::MissingMapFd {
            insn: 1,
            map: 2,
            symbol: "m".into(),
        };
        assert_eq!(
            super::reloc_message("p", &unnamed),
            "program \"p\": insn 1: no file descriptor for map #2 (symbol \"m\")"
        );
    }
}

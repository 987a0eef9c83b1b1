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
    #[error("program {program:?}: {source}")]
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
    /// A map operation failed.
    #[error(transparent)]
    Maps(Box<oxbpf_maps::Error>),
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

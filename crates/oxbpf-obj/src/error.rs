//! The crate's error type: every variant names the section, symbol, map or offset at fault.

use std::path::PathBuf;

/// Result alias for this crate.
pub type Result<T> = std::result::Result<T, Error>;

/// Why an object could not be read into an [`ObjectSpec`](crate::ObjectSpec).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading the file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Parsing the file failed; `path` names it.
    #[error("{}: {source}", path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        source: Box<Error>,
    },
    /// The bytes are not an ELF file, or are truncated before the ELF header ends.
    #[error("not an ELF file: {reason}")]
    NotElf {
        /// What is wrong.
        reason: String,
    },
    /// An ELF file, but not a little-endian 64-bit BPF object.
    #[error("not a BPF object: {reason}")]
    NotBpf {
        /// What is wrong (`e_machine 62 (x86-64)`).
        reason: String,
    },
    /// The ELF structure is malformed (headers, section table, symbol table).
    #[error("malformed ELF{}: {reason}", fmt_where(.section))]
    Elf {
        /// Section concerned, if any.
        section: Option<String>,
        /// What is wrong (from the `object` crate or our own checks).
        reason: String,
    },
    /// An executable section whose name is not a known program section.
    #[error("unknown program section {section:?}")]
    UnknownSection {
        /// The section name.
        section: String,
    },
    /// A known program section family with a malformed target (`tp/only_category`).
    #[error("program section {section:?}: {reason}")]
    BadSectionName {
        /// The section name.
        section: String,
        /// What is wrong.
        reason: String,
    },
    /// No `license` section: the kernel needs a license string to load programs.
    #[error("object has no \"license\" section (add `char LICENSE[] SEC(\"license\") = \"GPL\";`)")]
    MissingLicense,
    /// The `license` or `version` section is malformed.
    #[error("section {section:?}: {reason}")]
    BadSection {
        /// The section name.
        section: String,
        /// What is wrong.
        reason: String,
    },
    /// A function symbol does not describe valid code.
    #[error("section {section:?}: function {name:?} at offset {offset:#x}: {reason}")]
    BadFunction {
        /// The section.
        section: String,
        /// The function symbol.
        name: String,
        /// Byte offset of the function in the section.
        offset: u64,
        /// What is wrong.
        reason: String,
    },
    /// A relocation record that cannot be applied.
    #[error("section {section:?}: relocation at offset {offset:#x} against {symbol:?}: {reason}")]
    BadRelocation {
        /// The section the relocation applies to.
        section: String,
        /// Byte offset of the relocated instruction in that section.
        offset: u64,
        /// The symbol (or section name for section symbols).
        symbol: String,
        /// What is wrong.
        reason: String,
    },
    /// A map definition that cannot be read.
    #[error("map {name:?} in section {section:?}: {reason}")]
    BadMap {
        /// The map name.
        name: String,
        /// Its section.
        section: String,
        /// What is wrong.
        reason: String,
    },
    /// The object's BTF (or BTF.ext) is malformed where this crate needed it.
    #[error("BTF: {context}: {source}")]
    Btf {
        /// What was being read.
        context: String,
        /// The BTF error.
        source: oxbpf_btf::Error,
    },
    /// An extern (undefined symbol) that is not a valid `__kconfig` / `__ksym` / kfunc.
    #[error("extern {name:?}: {reason}")]
    BadExtern {
        /// The extern's name.
        name: String,
        /// What is wrong.
        reason: String,
    },
    /// [`set_global`](crate::ObjectSpec::set_global) was given an unknown name or wrong size.
    #[error("global variable {name:?}: {reason}")]
    Global {
        /// The variable.
        name: String,
        /// What is wrong.
        reason: String,
    },
}

fn fmt_where(section: &Option<String>) -> String {
    match section {
        Some(s) => format!(" (section {s:?})"),
        None => String::new(),
    }
}

impl Error {
    pub(crate) fn elf(section: Option<&str>, reason: impl std::fmt::Display) -> Error {
        Error::Elf {
            section: section.map(str::to_string),
            reason: reason.to_string(),
        }
    }

    pub(crate) fn btf(context: impl Into<String>, source: oxbpf_btf::Error) -> Error {
        Error::Btf {
            context: context.into(),
            source,
        }
    }
}

//! The linker's error type: every variant names the object (the name given to
//! [`Linker::add`](crate::Linker::add)) and what in it is wrong.

/// Result alias of this crate.
pub type Result<T> = std::result::Result<T, Error>;

/// Why linking failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The object is not a well-formed 64-bit relocatable BPF ELF file.
    #[error("object {object:?}: bad ELF{}: {reason}", section.as_ref().map(|s| format!(" (section {s:?})")).unwrap_or_default())]
    BadElf {
        /// The object.
        object: String,
        /// The section, when the problem is in one.
        section: Option<String>,
        /// What is wrong.
        reason: String,
    },
    /// The object's `.BTF` or `.BTF.ext` could not be parsed or is inconsistent.
    #[error("object {object:?}: {what}: {source}")]
    Btf {
        /// The object.
        object: String,
        /// Which part ("parsing .BTF", "func_info", ...).
        what: String,
        /// The BTF error.
        #[source]
        source: oxbpf_btf::Error,
    },
    /// BTF content the linker cannot use (a dangling type id, a DATASEC naming a missing
    /// section, ...).
    #[error("object {object:?}: BTF type [{type_id}]: {reason}")]
    BadBtf {
        /// The object.
        object: String,
        /// The type id in that object's BTF.
        type_id: u32,
        /// What is wrong.
        reason: String,
    },
    /// Two objects give sections of the same name different types or flags.
    #[error("section {section:?}: {reason} (object {first:?} vs {second:?})")]
    SectionMismatch {
        /// The section name.
        section: String,
        /// The first object with the section.
        first: String,
        /// The object that disagrees.
        second: String,
        /// What differs.
        reason: String,
    },
    /// Two strong (non-weak) definitions of one global symbol.
    #[error("symbol {symbol:?} is defined (non-weak) in both {first:?} and {second:?}")]
    DuplicateSymbol {
        /// The symbol.
        symbol: String,
        /// The object whose definition came first.
        first: String,
        /// The object with the second definition.
        second: String,
    },
    /// An extern (or a second definition) whose BTF type does not match the definition's.
    #[error(
        "symbol {symbol:?}: type in {second:?} (BTF [{second_type}]) does not match {first:?} (BTF [{first_type}]): {reason}"
    )]
    TypeMismatch {
        /// The symbol.
        symbol: String,
        /// The object holding the symbol's current definition or first declaration.
        first: String,
        /// Its BTF type id there.
        first_type: u32,
        /// The object that disagrees.
        second: String,
        /// Its BTF type id there.
        second_type: u32,
        /// What differs.
        reason: String,
    },
    /// A map declared in several objects with different definitions.
    #[error("map {:?}: {} differs between {:?} ({}) and {:?} ({})", .0.map, .0.field, .0.first, .0.first_value, .0.second, .0.second_value)]
    MapMismatch(Box<MapMismatch>),
    /// A relocation the linker cannot carry over.
    #[error("object {object:?}: section {section:?}: relocation {index} at {offset:#x}: {reason}")]
    BadRelocation {
        /// The object.
        object: String,
        /// The relocation section.
        section: String,
        /// Index of the relocation in its section.
        index: usize,
        /// Its `r_offset`.
        offset: u64,
        /// What is wrong.
        reason: String,
    },
    /// The output would exceed a format limit.
    #[error("the linked object would have {what}")]
    TooLarge {
        /// What is too large.
        what: String,
    },
    /// `finish` was called before any object was added.
    #[error("no objects to link")]
    Empty,
}

impl Error {
    pub(crate) fn elf(object: &str, section: Option<&str>, reason: impl Into<String>) -> Error {
        Error::BadElf {
            object: object.to_string(),
            section: section.map(str::to_string),
            reason: reason.into(),
        }
    }
}

/// The details of [`Error::MapMismatch`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapMismatch {
    /// The map.
    pub map: String,
    /// The field of the definition (`max_entries`, `key`, ...).
    pub field: String,
    /// The first object.
    pub first: String,
    /// Its value.
    pub first_value: String,
    /// The object that disagrees.
    pub second: String,
    /// Its value.
    pub second_value: String,
}

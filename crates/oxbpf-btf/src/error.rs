//! The crate's error type.

use crate::{Kind, TypeId};

/// Everything that can go wrong reading, fixing up or writing BTF.
///
/// Offsets are byte offsets from the start of the blob (`.BTF` or `.BTF.ext` section
/// contents), printed in hex.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The blob is shorter than the fixed BTF header.
    #[error("BTF header truncated: need {need} bytes, blob is {len} bytes")]
    TruncatedHeader {
        /// Bytes needed.
        need: usize,
        /// Bytes available.
        len: usize,
    },
    /// The first two bytes are not 0xeB9F in either byte order.
    #[error("BTF header at offset 0x0: bad magic {magic:02x?} (want 0xeb9f in either byte order)")]
    BadMagic {
        /// The two bytes found.
        magic: [u8; 2],
    },
    /// The header's version byte is not 1.
    #[error("BTF header at offset 0x2: unsupported version {version} (want 1)")]
    BadVersion {
        /// The version found.
        version: u8,
    },
    /// A header field is inconsistent (hdr_len, a section outside the blob, overlap, ...).
    #[error("BTF header: {reason}")]
    BadHeader {
        /// What is wrong, with the offsets involved.
        reason: String,
    },
    /// A string offset lies outside the string section.
    #[error("string offset {off:#x} is past the end of the string section (len {len:#x})")]
    StringOffset {
        /// The offset, relative to the string section.
        off: u32,
        /// The string section's length.
        len: usize,
    },
    /// A string is not valid UTF-8.
    #[error("string at offset {off:#x} of the string section is not valid UTF-8")]
    StringNotUtf8 {
        /// The offset, relative to the string section.
        off: u32,
    },
    /// A type's fixed part or its trailing records run past the type section.
    #[error(
        "BTF type {id} at offset {offset:#x}: {what} runs past the end of the type section at {end:#x}"
    )]
    TypeTruncated {
        /// The type's id.
        id: TypeId,
        /// The type's byte offset in the blob.
        offset: usize,
        /// What runs past (e.g. "vlen 3 (36 bytes of members)").
        what: String,
        /// End of the type section in the blob.
        end: usize,
    },
    /// A type's kind number is not one this crate knows.
    #[error("BTF type {id} at offset {offset:#x}: unknown kind {kind}")]
    UnknownKind {
        /// The type's id.
        id: TypeId,
        /// The type's byte offset in the blob.
        offset: usize,
        /// The raw kind number.
        kind: u8,
    },
    /// There are more types than BTF type ids can address.
    #[error("BTF type {id} at offset {offset:#x}: too many types (max {max})")]
    TooManyTypes {
        /// The id that would be assigned.
        id: TypeId,
        /// The type's byte offset in the blob.
        offset: usize,
        /// The maximum number of types.
        max: u32,
    },
    /// A type id is not in this blob.
    #[error("BTF type id {id} out of range (the blob has {count} types including void)")]
    TypeIdOutOfRange {
        /// The id asked for.
        id: TypeId,
        /// Number of ids in the blob, including void (id 0).
        count: usize,
    },
    /// An error about a part of a specific type (its name, a member, ...).
    #[error("BTF type {id} at offset {offset:#x}: {what}: {source}")]
    InType {
        /// The type's id.
        id: TypeId,
        /// The type's byte offset in the blob.
        offset: usize,
        /// Which part of the type ("name", "member 3 name", ...).
        what: String,
        /// The underlying error.
        #[source]
        source: Box<Error>,
    },
    /// The type has no byte size (void, func, func_proto, fwd, decl_tag).
    #[error("BTF type {id} ({kind:?}) has no size")]
    NoSize {
        /// The type's id.
        id: TypeId,
        /// Its kind.
        kind: Kind,
    },
    /// A size computation overflowed u32.
    #[error("BTF type {id}: size overflows u32")]
    SizeOverflow {
        /// The type's id.
        id: TypeId,
    },
    /// Following references (typedef, const, ...) did not end (a loop or a very deep chain).
    #[error("BTF type {id}: chain of type references is longer than {max} (loop?)")]
    TooDeep {
        /// The type the walk started from.
        id: TypeId,
        /// The depth limit.
        max: u32,
    },
    /// A type has a different kind than the context requires.
    #[error("BTF type {id}: expected {expected}, found {found:?}")]
    UnexpectedKind {
        /// The type's id.
        id: TypeId,
        /// What was expected.
        expected: &'static str,
        /// What was found.
        found: Kind,
    },
    /// The .BTF.ext blob is malformed.
    #[error("BTF.ext at offset {offset:#x}: {reason}")]
    BadExt {
        /// Byte offset in the .BTF.ext blob.
        offset: usize,
        /// What is wrong.
        reason: String,
    },
    /// fixup_for_load: a DATASEC names a section the caller does not know.
    #[error("BTF fixup: DATASEC {section:?} (type {id}): no ELF section of that name")]
    UnknownSection {
        /// The DATASEC type id.
        id: TypeId,
        /// The section name.
        section: String,
    },
    /// fixup_for_load: a VAR in a DATASEC has no matching symbol.
    #[error("BTF fixup: DATASEC {section:?}: variable {var:?} (type {id}) has no ELF symbol")]
    UnknownVar {
        /// The VAR type id.
        id: TypeId,
        /// The section name.
        section: String,
        /// The variable name.
        var: String,
    },
    /// fixup_for_load: after fix-up, a DATASEC's variables overlap or exceed the section.
    #[error("BTF fixup: DATASEC {section:?} (type {id}): {reason}")]
    BadDatasec {
        /// The DATASEC type id.
        id: TypeId,
        /// The section name.
        section: String,
        /// What is wrong.
        reason: String,
    },
}

impl Error {
    /// Wrap `self` as an error about part `what` of type `id` at blob offset `offset`.
    pub(crate) fn in_type(self, id: TypeId, offset: usize, what: impl Into<String>) -> Error {
        Error::InType {
            id,
            offset,
            what: what.into(),
            source: Box::new(self),
        }
    }
}

/// The crate's result type.
pub type Result<T> = std::result::Result<T, Error>;

//! Zero-copy BTF for oxbpf.
//!
//! This crate owns the BPF Type Format: parsing `.BTF` blobs (an object's section or the
//! kernel's `/sys/kernel/btf/vmlinux`) as views over borrowed bytes, decoding types on
//! demand, parsing `.BTF.ext` (func_info, line_info, CO-RE relocations), fixing up an
//! object's BTF for loading (DATASEC sizes and variable offsets), a minimal writer, and
//! the value formatter ([`format`]: bytes plus a type id → JSON).
//!
//! It does not read ELF files (that is `oxbpf-obj`), talk to the kernel (`oxbpf-sys`) or
//! perform CO-RE relocation (`oxbpf-reloc`). On the read path it allocates only the
//! offset table of [`Btf`] — one `u32` per type — never per type.
//!
//! ```
//! use oxbpf_btf::{Btf, BtfBuilder, Kind, Type};
//!
//! let mut b = BtfBuilder::new();
//! let int = b.add_int("int", 4, oxbpf_btf::INT_SIGNED);
//! let point = b.add_struct("point", 8, &[("x", int, 0), ("y", int, 32)]);
//! let blob = b.build();
//!
//! let btf = Btf::parse(&blob)?;
//! assert_eq!(btf.find_by_name("point", Kind::Struct)?, Some(point));
//! let Type::Struct(s) = btf.type_by_id(point)? else { unreachable!() };
//! let names: Vec<&str> = s.members().map(|m| m.map(|m| m.name)).collect::<Result<_, _>>()?;
//! assert_eq!(names, ["x", "y"]);
//! assert_eq!(btf.resolve_size(point)?, 8);
//! # Ok::<(), oxbpf_btf::Error>(())
//! ```
#![forbid(unsafe_code)]

mod btf;
pub mod c_dump;
mod endian;
mod error;
mod ext;
mod fixup;
pub mod format;
mod name_index;
mod name_scan;
mod sanitize;
mod types;
mod write;

pub use btf::{
    BTF_HEADER_LEN, BTF_MAGIC, Btf, Header, INDEX_AFTER_LOOKUPS, MAX_RESOLVE_DEPTH, MAX_TYPES,
    Types,
};
pub use c_dump::{CDumpError, CDumpOptions, MAX_DUMP_DEPTH, dump_c, dump_c_type};
pub use endian::Endian;
pub use error::{Error, Result};
pub use ext::{
    BTF_EXT_HEADER_CORE_LEN, BTF_EXT_HEADER_MIN_LEN, BtfExt, CoreRelo, ExtHeader, ExtRecord,
    FuncInfo, InfoRecords, InfoSection, InfoSections, LineInfo,
};
pub use fixup::fixup_for_load;
pub use format::{FormatError, MAX_FORMAT_DEPTH, to_json, write_json};
pub use format::{to_text, write_text};
pub use name_index::{NameIndex, NameMatches, essential_name};
pub use name_scan::SCAN_MAX_QUERIES;
pub use sanitize::{BtfFeatures, ENUM64_PLACEHOLDER, sanitize};
pub use types::{
    Array, Composite, Datasec, DeclTag, Enum, EnumValues, Float, Func, FuncProto, INT_BOOL,
    INT_CHAR, INT_SIGNED, Int, Kind, LINKAGE_EXTERN, LINKAGE_GLOBAL, LINKAGE_STATIC, Member,
    Members, Params, Ref, Type, TypeId, VAR_GLOBAL_ALLOCATED, VAR_GLOBAL_EXTERN, VAR_STATIC, Var,
    VarSecinfo, VarSecinfos,
};
pub use write::{BtfBuilder, BtfExtBuilder, TypeRecord};

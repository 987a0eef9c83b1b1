//! oxbpf: load clang-compiled BPF ELF objects, attach their programs and read their maps —
//! in pure Rust, with no libbpf.
//!
//! This facade owns the load sequence ([`Collection::load`]): the object's BTF is fixed up
//! and loaded, maps are created (global-data maps populated, `.rodata` frozen), each
//! program is linked with its subprograms and relocated, then loaded with the verifier log
//! captured (retried with a growing buffer) and, on failure, mapped to the source line
//! through the object's line_info. The work itself lives in the lower crates, re-exported
//! here: [`obj`] (ELF → [`ObjectSpec`]), [`reloc`], [`btf`], [`asm`], [`maps`], [`attach`],
//! [`sys`].
//!
//! ```no_run
//! use oxbpf::{Collection, LoadOptions, ObjectSpec};
//! let mut spec = ObjectSpec::from_file("fixtures/counter.bpf.o")?;
//! // Constants in .rodata can be rewritten before load:
//! // spec.set_global("target_tgid", &std::process::id().to_ne_bytes())?;
//! let coll = Collection::load(&spec, &LoadOptions::default())?;
//! let _links = coll.attach_all()?;
//! let counts = oxbpf::maps::HashMap::<u32, u64>::new(coll.map("counts").unwrap())?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]

mod arena;
mod attach_target;
mod collection;
pub mod doctor;
mod error;
mod externs;
pub mod features;
pub mod kernel_btf;
mod load_pool;
mod map_init;
mod memlock;
mod program;
mod struct_ops;
pub mod test_run;
pub mod verifier;

pub use attach_target::ExtTarget;
pub use collection::{Collection, LoadOptions};
pub use error::{Error, ErrorClass, Result};
pub use oxbpf_obj::ObjectSpec;
pub use program::Program;
pub use struct_ops::StructOpsMap;
pub use test_run::{TestRunError, TestRunOptions, TestRunResult};
pub use verifier::{SourceLine, VerifierError};

pub use oxbpf_asm as asm;
pub use oxbpf_attach as attach;
pub use oxbpf_btf as btf;
pub use oxbpf_maps as maps;
pub use oxbpf_obj as obj;
pub use oxbpf_reloc as reloc;
pub use oxbpf_sys as sys;

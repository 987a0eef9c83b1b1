//! Static linker for BPF ELF objects: several clang-compiled `.bpf.o` files in, one
//! relocatable `EM_BPF` object out — what `bpftool gen object out.o a.o b.o` (libbpf's
//! `linker.c`) does, with the same rules:
//!
//! - sections of the same name are concatenated, each piece at its own alignment;
//!   `license` and `version` must be identical and appear once;
//! - global symbols are resolved by name: a strong definition beats weak ones (the first
//!   weak one wins among weak ones), two strong definitions are an error naming both
//!   objects, `extern` functions, variables and `.maps` definitions bind to the
//!   definition in another object, and static symbols stay per object;
//! - relocations are carried over with the new symbol indices and section offsets (and
//!   instructions relocated against a section symbol get the piece's offset added);
//! - `.BTF` is merged (identical types deduplicated; DATASECs rebuilt per output section
//!   with the variables' new offsets; an extern's VAR/FUNC resolved to the definition's,
//!   whose types must match), and `.BTF.ext` func_info / line_info / CO-RE records are
//!   re-based to the new section offsets;
//! - a map declared in several objects becomes one map if the definitions agree, else an
//!   error names the differing field.
//!
//! The crate is pure (no kernel, no files): bytes in, bytes out. It does not load
//! anything (that is `oxbpf`) and does not read object files for loading (that is
//! `oxbpf-obj`, which parses its output like any clang object).
//!
//! Where the output differs from `bpftool gen object`'s (tests/bpftool_diff.rs checks
//! the rest is the same — instructions, relocations, sections, symbols — on the fixtures
//! and on the kernel selftests libbpf links):
//! - BTF type ids and bytes: our deduplication (partition refinement over the type
//!   graph) is not libbpf's `btf__dedup`; on every input tried the result is no larger;
//! - the relocations and `.BTF.ext` records inside the code of a weak function that lost
//!   to another definition are dropped (the code itself stays, in no function symbol):
//!   no program contains it, and a loader would otherwise meet relocations outside every
//!   function;
//! - locals come first in the symbol table, as ELF requires;
//! - little-endian objects only (like `oxbpf-obj`).
//!
//! ```no_run
//! let a = std::fs::read("a.bpf.o")?;
//! let b = std::fs::read("b.bpf.o")?;
//! let linked = oxbpf_linker::Linker::new()
//!     .add("a.bpf.o", &a)?
//!     .add("b.bpf.o", &b)?
//!     .finish()?;
//! std::fs::write("ab.bpf.o", linked)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]

mod btf_merge;
mod btf_types;
mod elf_write;
mod error;
mod input;
mod link;

pub use error::{Error, MapMismatch, Result};

use btf_types::ObjBtf;
use input::Input;

/// Collects input objects and links them into one.
#[derive(Debug, Default, Clone)]
pub struct Linker {
    inputs: Vec<Input>,
    btfs: Vec<Option<ObjBtf>>,
}

impl Linker {
    /// An empty linker.
    pub fn new() -> Linker {
        Linker::default()
    }

    /// Adds object `name` (a label for errors, e.g. its file name) with ELF bytes `bytes`.
    ///
    /// The object is parsed and checked here (ELF structure, symbols, relocations, BTF and
    /// BTF.ext); symbol resolution happens in [`Linker::finish`].
    pub fn add(&mut self, name: &str, bytes: &[u8]) -> Result<&mut Self> {
        let input = Input::parse(name, bytes)?;
        let btf = match &input.btf {
            Some(b) => Some(ObjBtf::parse(name, b)?),
            None => None,
        };
        if let Some(ext) = &input.btf_ext {
            let Some(btf_bytes) = &input.btf else {
                return Err(Error::elf(
                    name,
                    Some(".BTF.ext"),
                    "a .BTF.ext without .BTF",
                ));
            };
            link::check_ext(name, btf_bytes, ext)?;
        }
        self.inputs.push(input);
        self.btfs.push(btf);
        Ok(self)
    }

    /// Links the objects added so far (in the order added) and returns the output ELF.
    pub fn finish(&self) -> Result<Vec<u8>> {
        if self.inputs.is_empty() {
            return Err(Error::Empty);
        }
        link::link(&self.inputs, &self.btfs)
    }
}

/// Links `objects` (name, bytes) in order: `Linker::new().add(..)...finish()`.
pub fn link(objects: &[(&str, &[u8])]) -> Result<Vec<u8>> {
    let mut l = Linker::new();
    for (name, bytes) in objects {
        l.add(name, bytes)?;
    }
    l.finish()
}

#[cfg(test)]
mod tests;

//! oxbpf-obj: clang-compiled BPF ELF objects → [`ObjectSpec`].
//!
//! This crate owns the ELF step of a load: it reads a little-endian ELF64 `EM_BPF`
//! relocatable object (with the `object` crate) and describes it as plain data:
//!
//! - programs (global functions in executable sections other than `.text`) with the
//!   [`SectionDef`] their section name implies (libbpf's `SEC()` conventions), and `.text`
//!   subprograms;
//! - maps: BTF-defined (`.maps`), legacy (`maps`), and one array map per global-data section
//!   (`.data*`, `.rodata*`, `.bss*`) with its initial contents, plus the named [`GlobalVar`]s;
//! - every relocation record of the code, classified ([`RelocTarget`]): map, global data,
//!   bpf-to-bpf call, callback address, or extern;
//! - `license`, `version`, and the raw `.BTF` / `.BTF.ext`.
//!
//! It does not touch the kernel, rewrite instructions (that is `oxbpf-reloc`), or resolve
//! externs and CO-RE relocations (later stages).
//!
//! ```
//! use oxbpf_obj::{Error, ObjectSpec};
//!
//! // Anything that is not a BPF object is a clear error, never a panic.
//! let err = ObjectSpec::from_bytes(b"\x7fELF").unwrap_err();
//! assert!(matches!(err, Error::NotElf { .. }));
//! assert!(err.to_string().starts_with("not an ELF file"));
//! ```
#![forbid(unsafe_code)]

mod elf;
mod error;
pub mod externs;
pub mod kinds;
mod maps;
mod parse;
pub mod section;
mod spec;
mod struct_ops;
#[cfg(test)]
mod tests;

use std::path::Path;

pub use error::{Error, Result};
pub use externs::{Extern, ExternKind, KconfigExtern, KconfigType};
pub use kinds::{AttachType, MapType, ProgramType};
pub use oxbpf_btf;
pub use section::{AttachPoint, SectionDef};
pub use spec::{
    DataSection, GlobalVar, MapKind, MapSlot, MapSpec, ProgramSpec, RelocTarget, Relocation,
    StructOpsMember, StructOpsSpec,
};

/// Everything a BPF object defines, read from its ELF file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectSpec {
    /// From `SEC("license")`, up to the first NUL.
    pub license: String,
    /// From `SEC("version")`, if present.
    pub kernel_version: Option<u32>,
    /// Entry programs, in ELF symbol order.
    pub programs: Vec<ProgramSpec>,
    /// Callable functions: everything in `.text` (static or global) and static functions in
    /// program sections, in ELF symbol order.
    pub subprograms: Vec<ProgramSpec>,
    /// BTF `.maps` maps, then legacy `maps`, then one map per data section.
    pub maps: Vec<MapSpec>,
    /// Named variables in data sections.
    pub globals: Vec<GlobalVar>,
    /// The raw `.BTF` section.
    pub btf: Option<Vec<u8>>,
    /// The raw `.BTF.ext` section.
    pub btf_ext: Option<Vec<u8>>,
    /// ELF section sizes and symbol offsets the BTF's DATASECs refer to (clang leaves
    /// their sizes and variable offsets for the loader to fill in).
    pub datasec_layout: DatasecLayout,
    /// The externs (`__kconfig`, `__ksym`, kfuncs), in libbpf's order; `__kconfig` ones
    /// live in the `.kconfig` map of [`ObjectSpec::maps`].
    pub externs: Vec<Extern>,
}

/// The ELF facts [`ObjectSpec::btf_for_load`] completes the BTF with.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DatasecLayout {
    /// `(section name, size)` of every section.
    pub sections: Vec<(String, u64)>,
    /// `(section name, symbol name, offset)` of every named object symbol in a section.
    pub symbols: Vec<(String, String, u64)>,
    /// Global functions of hidden or internal visibility (`__hidden`): their BTF FUNC goes
    /// to the kernel as static, as libbpf does, so the verifier checks them in their
    /// callers' context instead of on their own (usdt.bpf.h's `bpf_usdt_arg`).
    pub hidden_funcs: Vec<String>,
}

/// Gives the FUNCs named in `names` static linkage in `out`, a copy of `btf`'s bytes (same
/// layout): the linkage is the low 16 bits of the type's info word.
fn mark_static(btf: &oxbpf_btf::Btf<'_>, out: &mut [u8], names: &[String]) -> Result<()> {
    if names.is_empty() {
        return Ok(());
    }
    let endian = btf.endian();
    for t in btf.types() {
        let (id, t) = t.map_err(|e| Error::btf("marking hidden functions static", e))?;
        let oxbpf_btf::Type::Func(f) = t else {
            continue;
        };
        if f.linkage == oxbpf_btf::LINKAGE_STATIC || !names.iter().any(|n| n == f.name) {
            continue;
        }
        let Some(word) = btf
            .type_offset(id)
            .and_then(|off| out.get_mut(off + 4..off + 8))
        else {
            continue;
        };
        let info = endian.u32([word[0], word[1], word[2], word[3]]);
        let linkage = u32::from(oxbpf_btf::LINKAGE_STATIC);
        word.copy_from_slice(&endian.u32_bytes((info & !0xffff) | linkage));
    }
    Ok(())
}

impl ObjectSpec {
    /// Reads an object from its bytes.
    ///
    /// The ELF reader needs 8-byte aligned input; unaligned bytes (such as a plain
    /// `include_bytes!`) are copied first (heap buffers from the system allocator are
    /// at least 8-byte aligned).
    pub fn from_bytes(data: &[u8]) -> Result<ObjectSpec> {
        if data.as_ptr().align_offset(8) == 0 {
            return parse::parse(data);
        }
        let copy = data.to_vec();
        parse::parse(&copy)
    }

    /// Reads an object from a file; errors name the path.
    pub fn from_file(path: impl AsRef<Path>) -> Result<ObjectSpec> {
        let path = path.as_ref();
        let data = std::fs::read(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        ObjectSpec::from_bytes(&data).map_err(|e| Error::File {
            path: path.to_path_buf(),
            source: Box::new(e),
        })
    }

    /// The entry program with this name.
    pub fn program(&self, name: &str) -> Option<&ProgramSpec> {
        self.programs.iter().find(|p| p.name == name)
    }

    /// The map with this name (data maps are named after their section, e.g. `.rodata`).
    pub fn map(&self, name: &str) -> Option<&MapSpec> {
        self.maps.iter().find(|m| m.name == name)
    }

    /// The global variable with this name.
    pub fn global(&self, name: &str) -> Option<&GlobalVar> {
        self.globals.iter().find(|g| g.name == name)
    }

    /// The object's BTF, parsed (a view over `self.btf`).
    pub fn btf(&self) -> Result<Option<oxbpf_btf::Btf<'_>>> {
        match &self.btf {
            None => Ok(None),
            Some(b) => oxbpf_btf::Btf::parse(b)
                .map(Some)
                .map_err(|e| Error::btf("parsing .BTF", e)),
        }
    }

    /// The extern with this name.
    pub fn extern_by_name(&self, name: &str) -> Option<&Extern> {
        self.externs.iter().find(|e| e.name == name)
    }

    /// Index of the synthesized `.kconfig` map in [`ObjectSpec::maps`], if the object has
    /// `__kconfig` externs.
    pub fn kconfig_map(&self) -> Option<usize> {
        self.maps
            .iter()
            .position(|m| m.section == externs::KCONFIG_SEC && matches!(m.kind, MapKind::Data(_)))
    }

    /// The object's BTF ready for `BPF_BTF_LOAD`: DATASEC sizes and variable offsets filled
    /// in from the ELF, variables sorted by offset, and the extern DATASECs (`.kconfig`,
    /// `.ksyms`) completed as libbpf does. `None` if the object has no BTF.
    pub fn btf_for_load(&self) -> Result<Option<Vec<u8>>> {
        let Some(btf) = self.btf()? else {
            return Ok(None);
        };
        let with_externs = externs::btf_with_externs(&btf, &self.externs)?;
        let btf = match &with_externs {
            Some(b) => oxbpf_btf::Btf::parse(b)
                .map_err(|e| Error::btf("parsing .BTF with externs completed", e))?,
            None => btf,
        };
        let l = &self.datasec_layout;
        // A DATASEC of only extern VARs with no ELF section (a `.maps` of an `extern` map,
        // for the static linker) stays of size 0, its VARs extern.
        let section_size = |name: &str| {
            l.sections
                .iter()
                .find(|(n, _)| n == name)
                .and_then(|(_, s)| u32::try_from(*s).ok())
                .or_else(|| externs::only_externs_in(&btf, name).then_some(0))
        };
        let var_offset = |sec: &str, var: &str| {
            l.symbols
                .iter()
                .find(|(s, v, _)| s == sec && v == var)
                .and_then(|(_, _, o)| u32::try_from(*o).ok())
        };
        let mut out = oxbpf_btf::fixup_for_load(&btf, &section_size, &var_offset)
            .map_err(|e| Error::btf("completing .BTF for loading", e))?;
        mark_static(&btf, &mut out, &l.hidden_funcs)?;
        Ok(Some(out))
    }

    /// Overwrites a variable's initial value in its data section (e.g. a `const volatile`
    /// in `.rodata`) before load; `bytes` must be exactly the variable's size.
    pub fn set_global(&mut self, name: &str, bytes: &[u8]) -> Result<()> {
        let g = self
            .globals
            .iter()
            .find(|g| g.name == name)
            .ok_or_else(|| Error::Global {
                name: name.to_string(),
                reason: "no such variable in the object's data sections".into(),
            })?;
        if bytes.len() != g.size as usize {
            return Err(Error::Global {
                name: name.to_string(),
                reason: format!("variable is {} bytes, got {}", g.size, bytes.len()),
            });
        }
        let (map, start) = (g.map, g.offset as usize);
        let data = self
            .maps
            .get_mut(map)
            .and_then(|m| m.data.as_mut())
            .and_then(|d| d.get_mut(start..start + bytes.len()))
            .ok_or_else(|| Error::Global {
                name: name.to_string(),
                reason: format!("offset {start:#x} is outside its map's initial value"),
            })?;
        data.copy_from_slice(bytes);
        Ok(())
    }
}

//! oxbpf-gen: Rust bindings for a BPF object, with layouts the compiler checks.
//!
//! This crate owns code generation: from an object's BTF and [`ObjectSpec`] it writes
//! `#[repr(C)]` Rust types for everything that crosses the kernel/user boundary (map keys
//! and values, ring buffer record types named with `__type(value, T)`, global variables
//! and their sections) with compile-time assertions of every size, alignment and member
//! offset taken from BTF, so a layout mismatch fails the build; and a typed skeleton
//! (`<Obj>Skel`) that embeds the object with `include_bytes!`, sets `.rodata` constants
//! before load, names every map and program, and reads `.data`/`.bss` through the mmap'd
//! [`GlobalData`](https://docs.rs/oxbpf-maps) view. [`Builder`] does the same from a
//! build script, compiling the C source with clang first.
//!
//! The skeleton of `foo.bpf.o` is `FooSkel`: `FooSkel::open()` → `FooBuilder` (with
//! `rodata()` → `&mut Rodata` to set constants, `load()`), then on the loaded skeleton
//! `maps()` / `progs()` (structs of named `&Map` / `&Program` fields borrowed from it —
//! methods rather than fields, since they borrow the collection the skeleton owns),
//! `bss()` / `data()` / `rodata()` / `data_custom()` views with a typed getter (and, but
//! for `.rodata`, setter) per variable plus `read()` of the whole section, and
//! `attach_all()`. `open()` refuses an embedded object whose map sizes or variable
//! offsets differ from the bindings (stale checked-in bindings).
//!
//! It does not load anything (that is `oxbpf`, which generated skeletons call) and does not
//! parse ELF or BTF itself (`oxbpf-obj`, `oxbpf-btf`).
//!
//! Representation choices:
//! - structs: explicit `__pad_N: [u8; K]` fields wherever BTF offsets leave gaps, so the
//!   type has no implicit padding and can be `Pod`; `#[repr(C, packed)]` when a member
//!   sits at an offset its alignment does not allow, `#[repr(C, align(N))]` when tail
//!   padding shows a larger alignment.
//! - bitfields: each run is stored as `__bf_N: [u8; K]` with a getter and `set_` method
//!   per field (little-endian bit numbering, as on bpfel).
//! - unions: `bytes: [u8; SIZE]` with a getter/`set_` pair per member (a Rust `union`
//!   does not promise every byte is initialised, which `Pod` needs).
//! - enums (and enum64): a `#[repr(transparent)]` newtype over the integer with associated
//!   constants, so values without a name stay representable.
//! - `align(N)` cannot be inferred from BTF directly (it has no alignments): it is the
//!   smallest power of two that explains a struct's tail padding or its bitfields' storage
//!   unit; a packed struct keeps a member of an aligned type as `[u8; N]` (Rust forbids
//!   aligned types inside packed ones).
//! - anonymous types: `__anon_<btf id>`; anonymous members: `__anon_N`; pointers: `u64`;
//!   `bool`: `u8`; `char`: `i8`/`u8` per its signedness; flexible arrays: `[T; 0]`.
//!
//! ```
//! let spec = oxbpf_obj::ObjectSpec::from_file(concat!(
//!     env!("CARGO_MANIFEST_DIR"),
//!     "/../../fixtures/execsnoop.bpf.o"
//! ))?;
//! let src = oxbpf_gen::generate(&spec, "execsnoop.bpf.o", &oxbpf_gen::GenOptions::default())?;
//! assert!(src.contains("pub struct exec_event"));
//! assert!(src.contains("pub struct ExecsnoopSkel"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]

mod builder;
mod error;
mod skel;
mod types;

use std::fmt::Write as _;

pub use builder::{Builder, Generated};
pub use error::{Error, Result};
pub use oxbpf_obj::ObjectSpec;

use oxbpf_obj::MapKind;

/// What to generate.
#[derive(Debug, Clone)]
pub struct GenOptions {
    /// The skeleton's name (`Globals` → `GlobalsSkel`); default: the object file's stem.
    pub name: Option<String>,
    /// Emit the skeleton (needs the `oxbpf` crate); `false` = types only.
    pub skeleton: bool,
    /// The path of the `oxbpf` crate in generated code; `None` = no `Pod` impls, no
    /// skeleton, no union accessors (plain types and assertions, no dependencies).
    pub crate_path: Option<String>,
}

impl Default for GenOptions {
    fn default() -> Self {
        GenOptions {
            name: None,
            skeleton: true,
            crate_path: Some("::oxbpf".into()),
        }
    }
}

/// Generates `#[repr(C)]` types (with their layout assertions and, with a crate path,
/// `Pod` impls) for the BTF types `ids` and everything they contain; one comment line per
/// id that cannot be expressed (a `Fwd`, `void`, a function), naming the id and why.
pub fn generate_types(
    btf: &oxbpf_btf::Btf<'_>,
    ids: &[u32],
    crate_path: Option<&str>,
) -> Result<String> {
    let mut g = types::TypeGen::new(btf, crate_path.map(str::to_string), &[]);
    let mut notes = String::new();
    for &id in ids {
        if let Err(e) = g.rust_ty(id) {
            let _ = writeln!(notes, "// not generated: {e}");
        }
    }
    g.flush()?;
    Ok(notes + &g.out)
}

/// Generates Rust source for `spec`; the skeleton embeds the object with
/// `include_bytes!(obj_bytes_path)` (relative to the file that includes the bindings, or
/// absolute). The output has no inner attributes, so it can be `include!`d; give each
/// object's bindings a module of its own (every skeleton defines `OBJECT`).
pub fn generate(spec: &ObjectSpec, obj_bytes_path: &str, opts: &GenOptions) -> Result<String> {
    let obj = opts.name.clone().unwrap_or_else(|| {
        let file = obj_bytes_path.rsplit('/').next().unwrap_or(obj_bytes_path);
        file.split('.').next().unwrap_or(file).to_string()
    });
    let obj = types::camel(&obj);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "// Generated by oxbpf-gen from {obj_bytes_path}: do not edit; regenerate instead.\n"
    );
    let btf = spec.btf()?;
    let Some(btf) = btf else {
        out.push_str("// The object has no BTF: no types to generate.\n");
        if opts.skeleton
            && let Some(k) = &opts.crate_path
        {
            out.push_str(&skel::render(spec, &obj, obj_bytes_path, k, &[], &[]));
        }
        return Ok(out);
    };
    let mut reserved: Vec<String> = ["Skel", "Builder", "Maps", "Progs"]
        .iter()
        .map(|s| format!("{obj}{s}"))
        .collect();
    reserved.extend(["OBJECT", "__OBJECT", "__OxbpfAligned"].map(String::from));
    for m in &spec.maps {
        if matches!(m.kind, MapKind::Data(_)) {
            reserved.push(types::camel(&m.name));
            reserved.push(format!("{}View", types::camel(&m.name)));
        }
    }
    let mut g = types::TypeGen::new(&btf, opts.crate_path.clone(), &reserved);
    let mut notes = String::new();
    let mut checks = Vec::new();
    for m in &spec.maps {
        if matches!(m.kind, MapKind::Data(_)) {
            continue;
        }
        for (what, id, size) in [
            ("key", m.btf_key_type, m.key_size),
            ("value", m.btf_value_type, m.value_size),
        ] {
            let Some(id) = id else { continue };
            match g.rust_ty(id) {
                Ok((ty, tsize, _)) => {
                    let _ = writeln!(notes, "// map {:?} {what}: {ty}", m.name);
                    if size == 0 || size == tsize {
                        checks.push(skel::SizeCheck {
                            map: m.name.clone(),
                            what,
                            ty,
                            verify: size != 0,
                        });
                    }
                }
                Err(e) => {
                    let _ = writeln!(notes, "// map {:?} {what}: not generated: {e}", m.name);
                }
            }
        }
    }
    let sections = skel::sections(spec, &mut g)?;
    g.flush()?;
    out.push_str(&notes);
    out.push('\n');
    out.push_str(&g.out);
    if opts.skeleton
        && let Some(k) = &opts.crate_path
    {
        out.push_str(&skel::render(
            spec,
            &obj,
            obj_bytes_path,
            k,
            &sections,
            &checks,
        ));
    }
    Ok(out)
}

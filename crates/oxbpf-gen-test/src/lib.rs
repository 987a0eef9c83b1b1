//! Test-only crate: oxbpf-gen's bindings for every committed fixture, compiled, so each
//! generated layout assertion (size, alignment, every member offset from BTF) is checked
//! by rustc; plus `bpf/layouts.bpf.c`, an object exercising every representation
//! (bitfields, unions, anonymous members, flexible arrays, enum64, packed, aligned).
//!
//! It owns no API. Example (the generated skeleton of `fixtures/globals.bpf.o`):
//!
//! ```
//! let builder = oxbpf_gen_test::fixtures::globals::GlobalsSkel::open()?;
//! # let _ = builder;
//! # Ok::<(), oxbpf::Error>(())
//! ```
#![forbid(unsafe_code)]

/// Bindings of every `fixtures/*.bpf.o`, one module per object.
pub mod fixtures {
    include!(concat!(env!("OUT_DIR"), "/fixtures.rs"));
}

/// Bindings of `bpf/layouts.bpf.c` (built with clang by the build script).
#[cfg(oxbpf_gen_layouts)]
#[allow(dead_code)]
pub mod layouts {
    include!(concat!(env!("OUT_DIR"), "/layouts.skel.rs"));
}

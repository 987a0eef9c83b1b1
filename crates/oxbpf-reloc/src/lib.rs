//! oxbpf-reloc (in progress)

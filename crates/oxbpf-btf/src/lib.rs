//! oxbpf-btf (in progress)

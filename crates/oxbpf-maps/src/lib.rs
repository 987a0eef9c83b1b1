//! oxbpf-maps (in progress)

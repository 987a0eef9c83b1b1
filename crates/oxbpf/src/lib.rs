//! oxbpf (in progress)

//! oxbpf-obj (in progress)

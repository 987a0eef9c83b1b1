//! oxbpf-sys (in progress)

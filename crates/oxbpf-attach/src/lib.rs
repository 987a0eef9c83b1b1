//! oxbpf-attach (in progress)

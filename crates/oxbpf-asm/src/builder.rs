//! A Rust API to write programs in code (being written).

//! The error of this crate: every variant names the map it is about.

/// Errors from map and ring buffer operations.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A kernel call on the map failed (`map "events": BPF_MAP_LOOKUP_ELEM: ...`).
    #[error("map {map:?}: {source}")]
    Kernel {
        /// The map's name.
        map: String,
        /// The failed call with its errno.
        #[source]
        source: oxbpf_sys::Error,
    },
    /// A key or value of the wrong size (`map "counts": key is 8 bytes, map has 4`).
    #[error("map {map:?}: {what} is {got} bytes, map has {want}")]
    SizeMismatch {
        /// The map's name.
        map: String,
        /// `"key"` or `"value"`.
        what: &'static str,
        /// The size given.
        got: usize,
        /// The size the map's definition asks for.
        want: usize,
    },
    /// The map is not of a type the requested view supports.
    #[error("map {map:?}: is of type {got} ({}), {want} needs {expected}", map_type_name(*got))]
    WrongType {
        /// The map's name.
        map: String,
        /// The map's `enum bpf_map_type`.
        got: u32,
        /// The view that was asked for (`HashMap`, `RingBuf`).
        want: &'static str,
        /// The types that view accepts.
        expected: &'static str,
    },
    /// An array index at or past `max_entries`.
    #[error("map {map:?}: index {index} is out of bounds (max_entries {max_entries})")]
    IndexOutOfBounds {
        /// The map's name.
        map: String,
        /// The index given.
        index: u32,
        /// The map's capacity.
        max_entries: u32,
    },
    /// Pinning to or opening from a bpffs path failed.
    #[error("map {map:?}: {path}: {source}")]
    Pin {
        /// The map's name (or the path's file name when opening).
        map: String,
        /// The bpffs path.
        path: String,
        /// The failed call.
        #[source]
        source: oxbpf_sys::Error,
    },
    /// A batch command failed after processing some elements.
    #[error("map {map:?}: {source} (after {processed} elements)")]
    Batch {
        /// The map's name.
        map: String,
        /// Elements processed before the failure.
        processed: usize,
        /// The failed command.
        #[source]
        source: oxbpf_sys::Error,
    },
    /// A global variable that the data section does not have.
    #[error("global data {map:?}: no variable {var:?}")]
    NoSuchVariable {
        /// The data section (`.bss`).
        map: String,
        /// The variable asked for.
        var: String,
    },
    /// A global variable accessed with a type of the wrong size.
    #[error("global data {map:?}: variable {var:?} is {want} bytes, the type given is {got}")]
    VariableSize {
        /// The data section.
        map: String,
        /// The variable.
        var: String,
        /// The size of the type given.
        got: usize,
        /// The variable's size.
        want: usize,
    },
    /// A write to a read-only view (a frozen `.rodata`).
    #[error("global data {map:?}: read-only (frozen), cannot set {var:?}")]
    ReadOnly {
        /// The data section.
        map: String,
        /// The variable.
        var: String,
    },
    /// An argument the map's definition does not allow (a prefix longer than the key, a
    /// sample larger than the ring).
    #[error("map {map:?}: {reason}")]
    Invalid {
        /// The map's name.
        map: String,
        /// What was wrong.
        reason: String,
    },
    /// An operation the kernel does not offer user space on this map type (reading an
    /// xskmap entry).
    #[error("map {map:?}: {op} is not possible from user space: {reason}")]
    NotFromUserSpace {
        /// The map's name.
        map: String,
        /// The operation (`lookup`).
        op: &'static str,
        /// Why, and what to do instead.
        reason: &'static str,
    },
    /// The ring buffer's shared memory holds something the protocol does not allow.
    #[error("ring buffer {map:?}: {source}")]
    Ring {
        /// The map's name.
        map: String,
        /// What was wrong.
        #[source]
        source: oxbpf_sys::Error,
    },
}

impl Error {
    /// The kernel's errno, if this error came from a system call.
    pub fn errno(&self) -> Option<oxbpf_sys::Errno> {
        match self {
            Error::Kernel { source, .. }
            | Error::Pin { source, .. }
            | Error::Batch { source, .. }
            | Error::Ring { source, .. } => source.errno(),
            _ => None,
        }
    }

    pub(crate) fn kernel(map: &str, source: oxbpf_sys::Error) -> Self {
        Error::Kernel {
            map: map.to_owned(),
            source,
        }
    }
}

/// Result alias of this crate.
pub type Result<T> = std::result::Result<T, Error>;

/// The kernel's name of a map type (`BPF_MAP_TYPE_HASH` → `"hash"`), or `"unknown"`.
pub fn map_type_name(t: u32) -> &'static str {
    const NAMES: [&str; 34] = [
        "unspec",
        "hash",
        "array",
        "prog_array",
        "perf_event_array",
        "percpu_hash",
        "percpu_array",
        "stack_trace",
        "cgroup_array",
        "lru_hash",
        "lru_percpu_hash",
        "lpm_trie",
        "array_of_maps",
        "hash_of_maps",
        "devmap",
        "sockmap",
        "cpumap",
        "xskmap",
        "sockhash",
        "cgroup_storage",
        "reuseport_sockarray",
        "percpu_cgroup_storage",
        "queue",
        "stack",
        "sk_storage",
        "devmap_hash",
        "struct_ops",
        "ringbuf",
        "inode_storage",
        "task_storage",
        "bloom_filter",
        "user_ringbuf",
        "cgrp_storage",
        "arena",
    ];
    NAMES.get(t as usize).copied().unwrap_or("unknown")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_mismatch_names_map_and_sizes() {
        let e = Error::SizeMismatch {
            map: "counts".into(),
            what: "key",
            got: 8,
            want: 4,
        };
        assert_eq!(e.to_string(), r#"map "counts": key is 8 bytes, map has 4"#);
    }

    #[test]
    fn kernel_error_names_map_and_command() {
        let e = Error::kernel(
            "events",
            oxbpf_sys::Error::Syscall {
                call: "BPF_MAP_LOOKUP_ELEM",
                errno: oxbpf_sys::Errno::EPERM,
            },
        );
        assert_eq!(
            e.to_string(),
            r#"map "events": BPF_MAP_LOOKUP_ELEM: Operation not permitted (EPERM)"#
        );
        assert_eq!(e.errno(), Some(oxbpf_sys::Errno::EPERM));
    }

    #[test]
    fn wrong_type_names_the_kernel_type() {
        let e = Error::WrongType {
            map: "rb".into(),
            got: 2,
            want: "RingBuf",
            expected: "ringbuf",
        };
        assert_eq!(
            e.to_string(),
            r#"map "rb": is of type 2 (array), RingBuf needs ringbuf"#
        );
        assert_eq!(map_type_name(27), "ringbuf");
        assert_eq!(map_type_name(33), "arena");
        assert_eq!(map_type_name(999), "unknown");
    }
}

//! Map-type probes: does `BPF_MAP_CREATE` accept a minimal map of this type?
//!
//! Each type gets the key/value/max_entries/flags its `map_alloc_check` demands, as
//! libbpf's `probe_map_create` does: 4-byte keys and values with one entry by default;
//! no key for queue/stack/bloom filter; ring buffers of one page with no key or value;
//! `BPF_F_NO_PREALLOC` for LPM tries and local storage; local storage (sk, inode, task,
//! cgroup) with BTF key/value types from a tiny BTF blob and `max_entries` 0; map-in-map
//! with a hash map as the inner template; a one-page mmapable arena; bloom filters with
//! `map_extra` = 3 hash functions. `STRUCT_OPS` is created with a vmlinux value type id
//! (1) that is no struct_ops type: a kernel that knows the map type answers `ENOTSUPP`.
//!
//! `EINVAL`, `E2BIG`, `EOPNOTSUPP`/`ENOTSUPP` mean unsupported; `EPERM` is a
//! [`ProbeError::Permission`]; anything else (`ENOMEM`: memlock on old kernels) is
//! [`ProbeError::Inconclusive`].

use oxbpf_btf::{BtfBuilder, INT_SIGNED};
use oxbpf_obj::MapType;
use oxbpf_sys::Errno;
use oxbpf_sys::bpf::{MapCreate, map_flags};

use super::probe::{self, Cache, ProbeError};

/// The capabilities creating a map of type `mt` needs.
fn needed_caps(mt: MapType) -> &'static str {
    match mt {
        MapType::DEVMAP
        | MapType::DEVMAP_HASH
        | MapType::SOCKMAP
        | MapType::SOCKHASH
        | MapType::CPUMAP
        | MapType::XSKMAP
        | MapType::REUSEPORT_SOCKARRAY => "CAP_BPF and CAP_NET_ADMIN",
        _ => "CAP_BPF",
    }
}

/// Whether the attr needs BTF key/value types (local storage maps).
fn needs_btf(mt: MapType) -> bool {
    matches!(
        mt,
        MapType::SK_STORAGE
            | MapType::INODE_STORAGE
            | MapType::TASK_STORAGE
            | MapType::CGRP_STORAGE
    )
}

/// The attr of the probe map of type `mt` (no BTF fd, no inner map fd yet).
pub(crate) fn attr_for(mt: MapType) -> MapCreate {
    let page = u32::try_from(oxbpf_sys::page_size()).unwrap_or(4096);
    let mut a = MapCreate::new(mt.0, 4, 4, 1);
    match mt {
        MapType::STACK_TRACE => a.value_size = 8,
        MapType::LPM_TRIE => {
            // struct bpf_lpm_trie_key_u8 with 4 bytes of data: prefixlen + data.
            a.key_size = 8;
            a.value_size = 8;
            a.map_flags = map_flags::NO_PREALLOC;
        }
        MapType::CGROUP_STORAGE | MapType::PERCPU_CGROUP_STORAGE => {
            // struct bpf_cgroup_storage_key { u64 cgroup_inode_id; u32 attach_type; }
            a.key_size = 16;
            a.value_size = 8;
            a.max_entries = 0;
        }
        MapType::QUEUE | MapType::STACK => a.key_size = 0,
        MapType::BLOOM_FILTER => {
            a.key_size = 0;
            a.map_extra = 3; // number of hash functions (low 4 bits)
        }
        MapType::RINGBUF | MapType::USER_RINGBUF => {
            a.key_size = 0;
            a.value_size = 0;
            a.max_entries = page;
        }
        MapType::ARENA => {
            a.key_size = 0;
            a.value_size = 0;
            a.max_entries = 1; // pages
            a.map_flags = map_flags::MMAPABLE;
        }
        MapType::STRUCT_OPS => a.btf_vmlinux_value_type_id = 1,
        MapType::INSN_ARRAY => a.value_size = 16, // struct bpf_insn_array_value
        _ if needs_btf(mt) => {
            a.value_size = 8;
            a.max_entries = 0;
            a.map_flags = map_flags::NO_PREALLOC;
            a.btf_key_type_id = 1;
            a.btf_value_type_id = 2;
        }
        _ => {}
    }
    a
}

/// BTF with `[1] int` (4 bytes) and `[2] long` (8 bytes): the key and value of the local
/// storage probes.
fn storage_btf() -> Vec<u8> {
    let mut b = BtfBuilder::new();
    b.add_int("int", 4, INT_SIGNED);
    b.add_int("long", 8, INT_SIGNED);
    b.build_endian(oxbpf_btf::Endian::native())
}

fn what(mt: MapType) -> String {
    format!("map type {mt}")
}

/// Whether the kernel supports maps of type `mt` (probed once per process).
pub fn map_type_supported(mt: MapType) -> Result<bool, ProbeError> {
    static CACHE: Cache<u32, bool> = Cache::new();
    CACHE.get_or_probe(mt.0, || probe_map_type(mt))
}

/// [`map_type_supported`] without the cache: creates the probe map now.
pub fn probe_map_type(mt: MapType) -> Result<bool, ProbeError> {
    let mut attr = attr_for(mt);
    let caps = needed_caps(mt);
    let btf = if needs_btf(mt) {
        match probe::load_btf(&storage_btf()) {
            Ok(fd) => Some(fd),
            Err(e) => return probe::classify_err(|| what(mt), "BPF_BTF_LOAD", caps, &e),
        }
    } else {
        None
    };
    if let Some(b) = &btf {
        attr.btf_fd = b.raw() as u32;
    }
    let inner = if matches!(mt, MapType::ARRAY_OF_MAPS | MapType::HASH_OF_MAPS) {
        match probe::create_map(&MapCreate::new(MapType::HASH.0, 4, 4, 1)) {
            Ok(fd) => Some(fd),
            Err(e) => return probe::classify_err(|| what(mt), "BPF_MAP_CREATE", caps, &e),
        }
    } else {
        None
    };
    if let Some(i) = &inner {
        attr.inner_map_fd = i.raw() as u32;
    }
    decide(mt, probe::create_map(&attr).map(drop))
}

/// The verdict of one map-type probe.
fn decide(mt: MapType, res: oxbpf_sys::Result<()>) -> Result<bool, ProbeError> {
    let err = match res {
        Ok(()) => return Ok(true),
        Err(e) => e,
    };
    if mt == MapType::STRUCT_OPS && err.errno() == Some(Errno::ENOTSUPP) {
        return Ok(true);
    }
    probe::classify_err(|| what(mt), "BPF_MAP_CREATE", needed_caps(mt), &err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ring_buffers_are_one_page_without_key_or_value() {
        let a = attr_for(MapType::RINGBUF);
        assert_eq!((a.key_size, a.value_size), (0, 0));
        assert_eq!(a.max_entries as usize, oxbpf_sys::page_size());
    }

    #[test]
    fn local_storage_uses_btf_types_and_no_prealloc() {
        let a = attr_for(MapType::TASK_STORAGE);
        assert_eq!((a.btf_key_type_id, a.btf_value_type_id), (1, 2));
        assert_eq!((a.key_size, a.value_size, a.max_entries), (4, 8, 0));
        assert_eq!(a.map_flags, map_flags::NO_PREALLOC);
        let blob = storage_btf();
        let btf = oxbpf_btf::Btf::parse(&blob).unwrap();
        assert_eq!(btf.type_by_id(2).unwrap().name(), "long");
    }

    #[test]
    fn bloom_filter_sets_hash_count_in_map_extra() {
        let a = attr_for(MapType::BLOOM_FILTER);
        assert_eq!((a.key_size, a.map_extra), (0, 3));
    }

    #[test]
    fn struct_ops_enotsupp_means_supported_but_einval_does_not() {
        let err = |errno| {
            Err(oxbpf_sys::Error::Syscall {
                call: "BPF_MAP_CREATE",
                errno,
            })
        };
        assert_eq!(decide(MapType::STRUCT_OPS, err(Errno::ENOTSUPP)), Ok(true));
        assert_eq!(decide(MapType::STRUCT_OPS, err(Errno::EINVAL)), Ok(false));
        assert_eq!(decide(MapType::HASH, err(Errno::ENOTSUPP)), Ok(false));
    }
}

//! Typed views of the storage maps, whose values hang off a kernel object rather than a
//! key of their own.
//!
//! Local storage ([`SkStorage`], [`TaskStorage`], [`CgrpStorage`], [`InodeStorage`]):
//! from user space the key is a descriptor of the object — a socket, a pidfd, a cgroup
//! directory, any open file — passed as a 4-byte `int`; the value lives as long as the
//! object and goes away with it. Programs reach the same value through the object's
//! pointer (`bpf_sk_storage_get`, `bpf_task_storage_get`, ...). The kernel requires these
//! maps to have BTF for key and value and `BPF_F_NO_PREALLOC`; there is no iteration from
//! user space (`BPF_MAP_GET_NEXT_KEY` is not supported).
//!
//! Legacy cgroup storage ([`CgroupStorage`], [`PerCpuCgroupStorage`]): one value per
//! (cgroup, attach type) a program using the map is attached to, keyed by
//! [`CgroupStorageKey`]; entries exist only while such an attachment does, and user space
//! can update but not create or delete them.

use std::marker::PhantomData;
use std::os::fd::{AsRawFd, BorrowedFd};

use oxbpf_sys::bpf;
use oxbpf_sys::pod::{self, Pod};

use crate::error::{Error, Result};
use crate::map::{Map, check_size, check_type, map_type};

/// The kind of object a local storage map hangs its values off.
pub trait StorageKind: sealed::Sealed {
    /// `enum bpf_map_type` of the map.
    const MAP_TYPE: u32;
    /// The view's name in errors (`SkStorage`).
    const VIEW: &'static str;
    /// The kernel's name of the map type (`sk_storage`).
    const TYPE_NAME: &'static str;
}

mod sealed {
    pub trait Sealed {}
}

macro_rules! kind {
    ($(#[$doc:meta])* $name:ident, $t:expr, $view:literal, $tn:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy)]
        pub enum $name {}
        impl sealed::Sealed for $name {}
        impl StorageKind for $name {
            const MAP_TYPE: u32 = $t;
            const VIEW: &'static str = $view;
            const TYPE_NAME: &'static str = $tn;
        }
    };
}

kind!(
    /// `BPF_MAP_TYPE_SK_STORAGE` (5.2+): keyed by a socket descriptor.
    Sk, map_type::SK_STORAGE, "SkStorage", "sk_storage"
);
kind!(
    /// `BPF_MAP_TYPE_TASK_STORAGE` (5.11+): keyed by a pidfd.
    Task, map_type::TASK_STORAGE, "TaskStorage", "task_storage"
);
kind!(
    /// `BPF_MAP_TYPE_CGRP_STORAGE` (6.2+): keyed by a descriptor of a cgroup v2
    /// directory.
    Cgrp, map_type::CGRP_STORAGE, "CgrpStorage", "cgrp_storage"
);
kind!(
    /// `BPF_MAP_TYPE_INODE_STORAGE` (5.10+, BPF LSM): keyed by a descriptor of any open
    /// file (its inode).
    Inode, map_type::INODE_STORAGE, "InodeStorage", "inode_storage"
);

/// A local storage map of values `V`, keyed from user space by a descriptor of the object
/// kind `S` ([`Sk`], [`Task`], [`Cgrp`], [`Inode`]); see the aliases [`SkStorage`],
/// [`TaskStorage`], [`CgrpStorage`], [`InodeStorage`].
#[derive(Debug)]
pub struct LocalStorage<'m, S: StorageKind, V: Pod> {
    map: &'m Map,
    _t: PhantomData<(S, V)>,
}

/// Socket local storage: values per socket, keyed by the socket's descriptor.
pub type SkStorage<'m, V> = LocalStorage<'m, Sk, V>;
/// Task local storage: values per process, keyed by a pidfd (`pidfd_open`).
pub type TaskStorage<'m, V> = LocalStorage<'m, Task, V>;
/// Cgroup local storage: values per cgroup v2, keyed by a descriptor of its directory.
pub type CgrpStorage<'m, V> = LocalStorage<'m, Cgrp, V>;
/// Inode local storage: values per inode, keyed by a descriptor of a file on it.
pub type InodeStorage<'m, V> = LocalStorage<'m, Inode, V>;

impl<'m, S: StorageKind, V: Pod> LocalStorage<'m, S, V> {
    /// A typed view of `map`; checks its type, the 4-byte (descriptor) key and that `V`
    /// has the value size.
    pub fn new(map: &'m Map) -> Result<Self> {
        check_type(map, S::VIEW, S::TYPE_NAME, &[S::MAP_TYPE])?;
        check_size(map, "key (a descriptor)", 4, map.def().key_size)?;
        check_size(map, "value", size_of::<V>(), map.def().value_size)?;
        Ok(LocalStorage {
            map,
            _t: PhantomData,
        })
    }

    /// The underlying map.
    pub fn map(&self) -> &'m Map {
        self.map
    }

    /// The value stored for the object behind `fd`, if any.
    pub fn get(&self, fd: BorrowedFd<'_>) -> Result<Option<V>> {
        let mut v: V = pod::zeroed();
        let found = bpf::map_lookup_elem(
            self.map.fd(),
            &fd.as_raw_fd().to_ne_bytes(),
            pod::bytes_of_mut(&mut v),
            0,
        )
        .map_err(|e| self.map.err(e))?;
        Ok(found.then_some(v))
    }

    /// Stores `value` for the object behind `fd` (`flags`: `BPF_ANY` 0, `BPF_NOEXIST` 1,
    /// `BPF_EXIST` 2, optionally `BPF_F_LOCK` 4).
    pub fn insert(&self, fd: BorrowedFd<'_>, value: &V, flags: u64) -> Result<()> {
        bpf::map_update_elem(
            self.map.fd(),
            &fd.as_raw_fd().to_ne_bytes(),
            pod::bytes_of(value),
            flags,
        )
        .map_err(|e| self.map.err(e))
    }

    /// Removes the value of the object behind `fd`; `false` if it had none.
    pub fn remove(&self, fd: BorrowedFd<'_>) -> Result<bool> {
        bpf::map_delete_elem(self.map.fd(), &fd.as_raw_fd().to_ne_bytes())
            .map_err(|e| self.map.err(e))
    }
}

/// The key of legacy cgroup storage (`struct bpf_cgroup_storage_key`): the cgroup's id
/// (the inode number of its cgroup v2 directory) and the attach type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(C)]
pub struct CgroupStorageKey {
    /// The cgroup's id (`stat` of its directory: the inode number).
    pub cgroup_inode_id: u64,
    /// `enum bpf_attach_type` of the attachment (`BPF_CGROUP_INET_EGRESS` = 1).
    pub attach_type: u32,
    /// Padding to 16 bytes (zero).
    pub pad: u32,
}

oxbpf_sys::impl_pod!(CgroupStorageKey);

impl CgroupStorageKey {
    /// The key of cgroup `cgroup_inode_id` attached with `attach_type`.
    pub fn new(cgroup_inode_id: u64, attach_type: u32) -> Self {
        CgroupStorageKey {
            cgroup_inode_id,
            attach_type,
            pad: 0,
        }
    }
}

/// Encodes `key` as the map takes it: 16 bytes, or 8 (the id alone) for maps shared by
/// all attach types of a cgroup (5.9+).
fn cgroup_key(map: &Map, key: &CgroupStorageKey) -> Vec<u8> {
    if map.def().key_size == 8 {
        key.cgroup_inode_id.to_ne_bytes().to_vec()
    } else {
        pod::bytes_of(key).to_vec()
    }
}

fn check_cgroup_key(map: &Map) -> Result<()> {
    let k = map.def().key_size;
    if k != 16 && k != 8 {
        return Err(Error::SizeMismatch {
            map: map.name().to_owned(),
            what: "key (struct bpf_cgroup_storage_key)",
            got: 16,
            want: k as usize,
        });
    }
    Ok(())
}

fn decode_cgroup_key(map: &Map, k: &[u8]) -> Result<CgroupStorageKey> {
    if let Some(id) = pod::from_bytes::<u64>(k) {
        return Ok(CgroupStorageKey::new(id, 0));
    }
    pod::from_bytes::<CgroupStorageKey>(k).ok_or_else(|| Error::SizeMismatch {
        map: map.name().to_owned(),
        what: "key",
        got: k.len(),
        want: 16,
    })
}

/// The keys of a cgroup storage map that exist: older kernels (5.10 here) answer
/// `BPF_MAP_GET_NEXT_KEY` of the last entry with bytes from the list head (their
/// `list_next_entry` never ends) instead of `ENOENT`; such a key looks up as absent and
/// ends the walk.
fn existing_cgroup_keys<'m>(map: &'m Map) -> impl Iterator<Item = Result<CgroupStorageKey>> + 'm {
    let mut keys = map.keys();
    std::iter::from_fn(move || {
        let k = match keys.next()? {
            Ok(k) => k,
            Err(e) => return Some(Err(e)),
        };
        let mut v = vec![0u8; map.value_len()];
        match map.lookup_into(&k, &mut v) {
            Ok(true) => Some(decode_cgroup_key(map, &k)),
            Ok(false) => None,
            Err(e) => Some(Err(e)),
        }
    })
}

/// A `BPF_MAP_TYPE_CGROUP_STORAGE` map (4.19+) of values `V`: one per cgroup attachment
/// of the program that uses it.
#[derive(Debug)]
pub struct CgroupStorage<'m, V: Pod> {
    map: &'m Map,
    _t: PhantomData<V>,
}

impl<'m, V: Pod> CgroupStorage<'m, V> {
    /// A typed view of `map`; checks its type, the key (16 bytes, or 8 for a map shared
    /// by attach types) and that `V` has the value size.
    pub fn new(map: &'m Map) -> Result<Self> {
        check_type(
            map,
            "CgroupStorage",
            "cgroup_storage",
            &[map_type::CGROUP_STORAGE],
        )?;
        check_cgroup_key(map)?;
        check_size(map, "value", size_of::<V>(), map.def().value_size)?;
        Ok(CgroupStorage {
            map,
            _t: PhantomData,
        })
    }

    /// The value of attachment `key`, `None` if there is no such attachment.
    pub fn get(&self, key: &CgroupStorageKey) -> Result<Option<V>> {
        let mut v: V = pod::zeroed();
        let found = bpf::map_lookup_elem(
            self.map.fd(),
            &cgroup_key(self.map, key),
            pod::bytes_of_mut(&mut v),
            0,
        )
        .map_err(|e| self.map.err(e))?;
        Ok(found.then_some(v))
    }

    /// Overwrites the value of attachment `key` (which must exist: the kernel creates
    /// entries on attach, `ENOENT` otherwise).
    pub fn set(&self, key: &CgroupStorageKey, value: &V) -> Result<()> {
        bpf::map_update_elem(
            self.map.fd(),
            &cgroup_key(self.map, key),
            pod::bytes_of(value),
            0,
        )
        .map_err(|e| self.map.err(e))
    }

    /// Iterates over the keys of the current attachments (attach type 0 for 8-byte keys).
    pub fn keys(&self) -> impl Iterator<Item = Result<CgroupStorageKey>> + 'm {
        existing_cgroup_keys(self.map)
    }
}

/// A `BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE` map (4.20+): per attachment, one `V` per
/// possible CPU.
#[derive(Debug)]
pub struct PerCpuCgroupStorage<'m, V: Pod> {
    map: &'m Map,
    _t: PhantomData<V>,
}

impl<'m, V: Pod> PerCpuCgroupStorage<'m, V> {
    /// A typed view of `map`; checks its type, key and value sizes.
    pub fn new(map: &'m Map) -> Result<Self> {
        check_type(
            map,
            "PerCpuCgroupStorage",
            "percpu_cgroup_storage",
            &[map_type::PERCPU_CGROUP_STORAGE],
        )?;
        check_cgroup_key(map)?;
        check_size(map, "value", size_of::<V>(), map.def().value_size)?;
        Ok(PerCpuCgroupStorage {
            map,
            _t: PhantomData,
        })
    }

    /// The values of attachment `key`, one per possible CPU (index = CPU).
    pub fn get(&self, key: &CgroupStorageKey) -> Result<Option<Vec<V>>> {
        Ok(self
            .map
            .lookup(&cgroup_key(self.map, key))?
            .map(|b| crate::percpu::split(&b)))
    }

    /// Overwrites the values of attachment `key` (exactly one per possible CPU).
    pub fn set(&self, key: &CgroupStorageKey, values: &[V]) -> Result<()> {
        let buf = crate::percpu::join(self.map, values)?;
        self.map.update(&cgroup_key(self.map, key), &buf, 0)
    }

    /// Iterates over the keys of the current attachments.
    pub fn keys(&self) -> impl Iterator<Item = Result<CgroupStorageKey>> + 'm {
        existing_cgroup_keys(self.map)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cgroup_storage_key_has_the_kernel_layout() {
        assert_eq!(size_of::<CgroupStorageKey>(), 16);
        let k = CgroupStorageKey::new(0x1122_3344_5566_7788, 1);
        let b = pod::bytes_of(&k);
        assert_eq!(&b[..8], &0x1122_3344_5566_7788u64.to_ne_bytes());
        assert_eq!(&b[8..12], &1u32.to_ne_bytes());
        assert_eq!(&b[12..], &[0; 4]);
    }

    #[test]
    fn storage_kinds_name_their_map_types() {
        assert_eq!(crate::map_type_name(Sk::MAP_TYPE), Sk::TYPE_NAME);
        assert_eq!(crate::map_type_name(Task::MAP_TYPE), Task::TYPE_NAME);
        assert_eq!(crate::map_type_name(Cgrp::MAP_TYPE), Cgrp::TYPE_NAME);
        assert_eq!(crate::map_type_name(Inode::MAP_TYPE), Inode::TYPE_NAME);
    }
}

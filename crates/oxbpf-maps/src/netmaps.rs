//! Typed views of the networking redirect maps: [`DevMap`] (devmap and devmap_hash:
//! `struct bpf_devmap_val`, an ifindex and an optional program), [`CpuMap`]
//! (`struct bpf_cpumap_val`: a queue size and an optional program), [`XskMap`] (AF_XDP
//! socket descriptors, write-only from user space), [`SockMap`] / [`SockHash`] (socket
//! descriptors in, socket cookies out).

use std::marker::PhantomData;
use std::os::fd::{AsRawFd, BorrowedFd};

use oxbpf_sys::bpf;
use oxbpf_sys::pod::{self, Pod};

use crate::error::{Error, Result};
use crate::map::{Map, map_type};

fn wrong_type(map: &Map, want: &'static str, expected: &'static str) -> Error {
    Error::WrongType {
        map: map.name().to_owned(),
        got: map.def().map_type,
        want,
        expected,
    }
}

fn size_err(map: &Map, what: &'static str, got: usize, want: u32) -> Error {
    Error::SizeMismatch {
        map: map.name().to_owned(),
        what,
        got,
        want: want as usize,
    }
}

fn check_index(map: &Map, index: u32) -> Result<()> {
    if index >= map.def().max_entries {
        return Err(Error::IndexOutOfBounds {
            map: map.name().to_owned(),
            index,
            max_entries: map.def().max_entries,
        });
    }
    Ok(())
}

/// A 4-byte value, or 8 bytes with a program descriptor in the second half, as devmap and
/// cpumap updates take them. `prog` needs the 8-byte form.
fn pair_value(map: &Map, first: u32, prog: Option<BorrowedFd<'_>>) -> Result<Vec<u8>> {
    let mut v = first.to_ne_bytes().to_vec();
    match (map.def().value_size, prog) {
        (8, p) => v.extend(p.map_or(0, |p| p.as_raw_fd()).to_ne_bytes()),
        (_, Some(_)) => {
            return Err(Error::Invalid {
                map: map.name().to_owned(),
                reason: "a program needs 8-byte values (the map has 4: no program slot)".to_owned(),
            });
        }
        _ => {}
    }
    Ok(v)
}

/// Reads a 4- or 8-byte (first, program id) value; id 0 = no program.
fn read_pair(map: &Map, key: &[u8]) -> Result<Option<(u32, Option<u32>)>> {
    let mut v = [0u8; 8];
    let n = map.def().value_size as usize;
    let found = bpf::map_lookup_elem(map.fd(), key, &mut v[..n], 0).map_err(|e| map.err(e))?;
    if !found {
        return Ok(None);
    }
    let first = u32::from_ne_bytes([v[0], v[1], v[2], v[3]]);
    let id = u32::from_ne_bytes([v[4], v[5], v[6], v[7]]);
    Ok(Some((first, (id != 0).then_some(id))))
}

fn check_pair_sizes(map: &Map, value: &'static str) -> Result<()> {
    if map.def().key_size != 4 {
        return Err(size_err(map, "key", 4, map.def().key_size));
    }
    if !matches!(map.def().value_size, 4 | 8) {
        return Err(size_err(map, value, 8, map.def().value_size));
    }
    Ok(())
}

/// An entry of a devmap (`struct bpf_devmap_val` as lookups return it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DevMapValue {
    /// The target device's interface index.
    pub ifindex: u32,
    /// The id of the program run on each redirected frame before it is sent, if any.
    pub prog_id: Option<u32>,
}

/// A `BPF_MAP_TYPE_DEVMAP` (u32 index, 4.14+) or `BPF_MAP_TYPE_DEVMAP_HASH` (u32 key,
/// 5.4+) map: redirect targets for `bpf_redirect_map` from XDP. Values are
/// `struct bpf_devmap_val`: an ifindex, and (with 8-byte values, 5.8+) an XDP program of
/// expected attach type `BPF_XDP_DEVMAP` run before transmission.
#[derive(Debug)]
pub struct DevMap<'m> {
    map: &'m Map,
}

impl<'m> DevMap<'m> {
    /// A view of `map`; checks it is a devmap or devmap_hash with 4-byte keys and 4- or
    /// 8-byte values.
    pub fn new(map: &'m Map) -> Result<Self> {
        if !matches!(map.def().map_type, map_type::DEVMAP | map_type::DEVMAP_HASH) {
            return Err(wrong_type(map, "DevMap", "devmap or devmap_hash"));
        }
        check_pair_sizes(map, "value (struct bpf_devmap_val)")?;
        Ok(DevMap { map })
    }

    /// The underlying map.
    pub fn map(&self) -> &'m Map {
        self.map
    }

    fn check_key(&self, key: u32) -> Result<()> {
        if self.map.def().map_type == map_type::DEVMAP {
            check_index(self.map, key)?;
        }
        Ok(())
    }

    /// Sets `key` to device `ifindex` with an optional program (a devmap program fd).
    pub fn set(&self, key: u32, ifindex: u32, prog: Option<BorrowedFd<'_>>) -> Result<()> {
        self.check_key(key)?;
        let v = pair_value(self.map, ifindex, prog)?;
        bpf::map_update_elem(self.map.fd(), &key.to_ne_bytes(), &v, 0).map_err(|e| self.map.err(e))
    }

    /// The entry at `key`, `None` if empty.
    pub fn get(&self, key: u32) -> Result<Option<DevMapValue>> {
        self.check_key(key)?;
        Ok(read_pair(self.map, &key.to_ne_bytes())?
            .map(|(ifindex, prog_id)| DevMapValue { ifindex, prog_id }))
    }

    /// Empties `key`. An array devmap reports success for an empty slot too (the kernel
    /// does not say whether it held a device), so this does not tell either.
    pub fn remove(&self, key: u32) -> Result<()> {
        self.check_key(key)?;
        bpf::map_delete_elem(self.map.fd(), &key.to_ne_bytes())
            .map(drop)
            .map_err(|e| self.map.err(e))
    }
}

/// An entry of a cpumap (`struct bpf_cpumap_val` as lookups return it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CpuMapValue {
    /// Size of the CPU's frame queue.
    pub qsize: u32,
    /// The id of the program the CPU runs on each frame, if any.
    pub prog_id: Option<u32>,
}

/// A `BPF_MAP_TYPE_CPUMAP` map (4.15+): key = CPU, value `struct bpf_cpumap_val` (a
/// queue size, and with 8-byte values, 5.9+, an XDP program of expected attach type
/// `BPF_XDP_CPUMAP`). Setting an entry starts the kernel thread that takes the frames
/// `bpf_redirect_map` sends to that CPU.
#[derive(Debug)]
pub struct CpuMap<'m> {
    map: &'m Map,
}

impl<'m> CpuMap<'m> {
    /// A view of `map`; checks it is a cpumap with 4-byte keys and 4- or 8-byte values.
    pub fn new(map: &'m Map) -> Result<Self> {
        if map.def().map_type != map_type::CPUMAP {
            return Err(wrong_type(map, "CpuMap", "cpumap"));
        }
        check_pair_sizes(map, "value (struct bpf_cpumap_val)")?;
        Ok(CpuMap { map })
    }

    /// The underlying map.
    pub fn map(&self) -> &'m Map {
        self.map
    }

    /// Gives `cpu` a queue of `qsize` frames (at least 1; the kernel caps it at 16k) and
    /// an optional program.
    pub fn set(&self, cpu: u32, qsize: u32, prog: Option<BorrowedFd<'_>>) -> Result<()> {
        check_index(self.map, cpu)?;
        if qsize == 0 {
            return Err(Error::Invalid {
                map: self.map.name().to_owned(),
                reason: format!("cpu {cpu}: a queue size of 0 would delete the entry"),
            });
        }
        let v = pair_value(self.map, qsize, prog)?;
        bpf::map_update_elem(self.map.fd(), &cpu.to_ne_bytes(), &v, 0).map_err(|e| self.map.err(e))
    }

    /// The entry of `cpu`, `None` if it has none.
    pub fn get(&self, cpu: u32) -> Result<Option<CpuMapValue>> {
        check_index(self.map, cpu)?;
        Ok(read_pair(self.map, &cpu.to_ne_bytes())?
            .map(|(qsize, prog_id)| CpuMapValue { qsize, prog_id }))
    }

    /// Removes the entry of `cpu` (stopping its thread); succeeds for a CPU without one
    /// too (the kernel does not say).
    pub fn remove(&self, cpu: u32) -> Result<()> {
        check_index(self.map, cpu)?;
        bpf::map_delete_elem(self.map.fd(), &cpu.to_ne_bytes())
            .map(drop)
            .map_err(|e| self.map.err(e))
    }
}

/// A `BPF_MAP_TYPE_XSKMAP` map (4.18+): index → AF_XDP socket, the targets of
/// `bpf_redirect_map` into user-space rings. User space can store and remove sockets but
/// not read entries back (the kernel answers lookups with `EOPNOTSUPP`).
#[derive(Debug)]
pub struct XskMap<'m> {
    map: &'m Map,
}

impl<'m> XskMap<'m> {
    /// A view of `map`; checks it is an xskmap with 4-byte keys and values.
    pub fn new(map: &'m Map) -> Result<Self> {
        if map.def().map_type != map_type::XSKMAP {
            return Err(wrong_type(map, "XskMap", "xskmap"));
        }
        if map.def().key_size != 4 {
            return Err(size_err(map, "key", 4, map.def().key_size));
        }
        if map.def().value_size != 4 {
            return Err(size_err(map, "value", 4, map.def().value_size));
        }
        Ok(XskMap { map })
    }

    /// The underlying map.
    pub fn map(&self) -> &'m Map {
        self.map
    }

    /// Stores AF_XDP socket `xsk` (bound to a device queue) at `index`.
    pub fn set(&self, index: u32, xsk: BorrowedFd<'_>) -> Result<()> {
        check_index(self.map, index)?;
        bpf::map_update_elem(
            self.map.fd(),
            &index.to_ne_bytes(),
            &xsk.as_raw_fd().to_ne_bytes(),
            0,
        )
        .map_err(|e| self.map.err(e))
    }

    /// Removes the socket at `index`; succeeds for an empty slot too (the kernel does not
    /// say).
    pub fn remove(&self, index: u32) -> Result<()> {
        check_index(self.map, index)?;
        bpf::map_delete_elem(self.map.fd(), &index.to_ne_bytes())
            .map(drop)
            .map_err(|e| self.map.err(e))
    }

    /// Always an error: the kernel does not let user space look xskmap entries up.
    pub fn get(&self, index: u32) -> Result<u32> {
        check_index(self.map, index)?;
        Err(Error::NotFromUserSpace {
            map: self.map.name().to_owned(),
            op: "lookup",
            reason: "the kernel lets only programs read xskmap entries (EOPNOTSUPP); keep \
                     the index → socket mapping in user space",
        })
    }
}

/// Stores socket `sock` under `key` of a sockmap/sockhash (value: the descriptor as a u32
/// or u64, by the map's value size).
fn sock_update(map: &Map, key: &[u8], sock: BorrowedFd<'_>, flags: u64) -> Result<()> {
    let fd = sock.as_raw_fd();
    let r = if map.def().value_size == 8 {
        bpf::map_update_elem(map.fd(), key, &(fd as u64).to_ne_bytes(), flags)
    } else {
        bpf::map_update_elem(map.fd(), key, &fd.to_ne_bytes(), flags)
    };
    r.map_err(|e| map.err(e))
}

fn sock_cookie(map: &Map, key: &[u8]) -> Result<Option<u64>> {
    if map.def().value_size != 8 {
        return Err(Error::NotFromUserSpace {
            map: map.name().to_owned(),
            op: "lookup",
            reason: "lookups return the socket cookie, which needs 8-byte values (the map \
                     has 4: the kernel answers ENOSPC)",
        });
    }
    let mut v = [0u8; 8];
    let found = bpf::map_lookup_elem(map.fd(), key, &mut v, 0).map_err(|e| map.err(e))?;
    Ok(found.then_some(u64::from_ne_bytes(v)))
}

fn check_sock_values(map: &Map) -> Result<()> {
    if !matches!(map.def().value_size, 4 | 8) {
        return Err(size_err(
            map,
            "value (a socket descriptor)",
            8,
            map.def().value_size,
        ));
    }
    Ok(())
}

/// A `BPF_MAP_TYPE_SOCKMAP` map (4.14+): index → socket, for `sk_msg`/`sk_skb`
/// redirection. User space stores socket descriptors (TCP established or listening;
/// UDP, 5.7+) and reads back socket cookies (with 8-byte values, 5.10+).
#[derive(Debug)]
pub struct SockMap<'m> {
    map: &'m Map,
}

impl<'m> SockMap<'m> {
    /// A view of `map`; checks it is a sockmap with 4-byte keys and 4- or 8-byte values.
    pub fn new(map: &'m Map) -> Result<Self> {
        if map.def().map_type != map_type::SOCKMAP {
            return Err(wrong_type(map, "SockMap", "sockmap"));
        }
        if map.def().key_size != 4 {
            return Err(size_err(map, "key", 4, map.def().key_size));
        }
        check_sock_values(map)?;
        Ok(SockMap { map })
    }

    /// The underlying map.
    pub fn map(&self) -> &'m Map {
        self.map
    }

    /// Stores socket `sock` at `index` (`flags`: `BPF_ANY`, `BPF_NOEXIST`, `BPF_EXIST`).
    pub fn set(&self, index: u32, sock: BorrowedFd<'_>, flags: u64) -> Result<()> {
        check_index(self.map, index)?;
        sock_update(self.map, &index.to_ne_bytes(), sock, flags)
    }

    /// The cookie of the socket at `index` (as `SO_COOKIE` reports it), `None` if empty.
    pub fn cookie(&self, index: u32) -> Result<Option<u64>> {
        check_index(self.map, index)?;
        sock_cookie(self.map, &index.to_ne_bytes())
    }

    /// Removes the socket at `index`; `false` if the slot was empty.
    pub fn remove(&self, index: u32) -> Result<bool> {
        check_index(self.map, index)?;
        bpf::map_delete_elem(self.map.fd(), &index.to_ne_bytes()).map_err(|e| self.map.err(e))
    }
}

/// A `BPF_MAP_TYPE_SOCKHASH` map (4.18+) with keys `K`: like [`SockMap`], keyed by any
/// plain-data key (a 4-tuple, say).
#[derive(Debug)]
pub struct SockHash<'m, K: Pod> {
    map: &'m Map,
    _t: PhantomData<K>,
}

impl<'m, K: Pod> SockHash<'m, K> {
    /// A view of `map`; checks it is a sockhash with `K` keys and 4- or 8-byte values.
    pub fn new(map: &'m Map) -> Result<Self> {
        if map.def().map_type != map_type::SOCKHASH {
            return Err(wrong_type(map, "SockHash", "sockhash"));
        }
        if map.def().key_size as usize != size_of::<K>() {
            return Err(size_err(map, "key", size_of::<K>(), map.def().key_size));
        }
        check_sock_values(map)?;
        Ok(SockHash {
            map,
            _t: PhantomData,
        })
    }

    /// The underlying map.
    pub fn map(&self) -> &'m Map {
        self.map
    }

    /// Stores socket `sock` under `key` (`flags`: `BPF_ANY`, `BPF_NOEXIST`, `BPF_EXIST`).
    pub fn insert(&self, key: &K, sock: BorrowedFd<'_>, flags: u64) -> Result<()> {
        sock_update(self.map, pod::bytes_of(key), sock, flags)
    }

    /// The cookie of the socket under `key`, `None` if absent.
    pub fn cookie(&self, key: &K) -> Result<Option<u64>> {
        sock_cookie(self.map, pod::bytes_of(key))
    }

    /// Removes `key`; `false` if it was absent.
    pub fn remove(&self, key: &K) -> Result<bool> {
        bpf::map_delete_elem(self.map.fd(), pod::bytes_of(key)).map_err(|e| self.map.err(e))
    }

    /// Iterates over the keys.
    pub fn keys(&self) -> impl Iterator<Item = Result<K>> + 'm {
        let map = self.map;
        map.keys().map(move |k| {
            let k = k?;
            pod::from_bytes::<K>(&k).ok_or_else(|| size_err(map, "key", k.len(), 0))
        })
    }
}

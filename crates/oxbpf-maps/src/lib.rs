//! oxbpf-maps: reading and writing BPF maps from user space.
//!
//! Owns [`Map`] (an owned map descriptor with its name and kernel definition, raw-byte
//! lookup/update/delete, batch operations and batched iteration ([`Map::batches`]), key
//! and entry iteration that survives concurrent deletion,
//! pinning), mmap'd global data ([`GlobalData`]: variables by name, no system calls),
//! typed views over [`Pod`] keys and values ([`HashMap`], [`Array`], [`PerCpuHashMap`],
//! [`PerCpuArray`], [`Queue`] for queue/stack maps, [`LpmTrie`], [`BloomFilter`],
//! [`ProgArray`], [`StackTraceMap`], [`ArrayOfMaps`], [`HashOfMaps`], local storage keyed
//! by a descriptor: [`SkStorage`], [`TaskStorage`], [`CgrpStorage`], [`InodeStorage`],
//! legacy [`CgroupStorage`] / [`PerCpuCgroupStorage`], the redirect maps [`DevMap`],
//! [`CpuMap`], [`XskMap`], [`SockMap`], [`SockHash`]), and the
//! ring buffer readers ([`RingBuf`] with zero-copy [`Record`]s, [`RingBufPoller`] for many
//! rings on one epoll), and the perf buffer reader ([`PerfBuffer`]: a ring per CPU on one
//! epoll, lost samples counted), and [`EventPoller`] reading ring buffers and perf
//! buffers together on one epoll with per-source counters, and the user ring buffer
//! producer ([`UserRingBuf`]: reserve, write, submit or discard samples). With the cargo
//! feature `tokio` (off by default), `AsyncRingBuf` and `AsyncPerfBuffer` wait for
//! wake-ups on tokio's reactor.
//!
//! It does not create maps from ELF specs or load programs (that is the `oxbpf` facade),
//! and it makes no system calls itself: everything goes through `oxbpf-sys`.
//!
//! ```no_run
//! use oxbpf_maps::{HashMap, Map};
//! use oxbpf_sys::bpf::{self, MapCreate};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let fd = bpf::map_create(&MapCreate::new(1 /* BPF_MAP_TYPE_HASH */, 4, 8, 16))?;
//! let map = Map::from_fd("counts", fd)?;
//! let counts: HashMap<'_, u32, u64> = HashMap::new(&map)?;
//! counts.insert(&7, &42, 0)?;
//! assert_eq!(counts.get(&7)?, Some(42));
//! for entry in counts.iter() {
//!     let (k, v) = entry?;
//!     println!("{k} -> {v}");
//! }
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]

mod arena;
#[cfg(feature = "tokio")]
mod asyncio;
mod batch;
mod error;
mod events;
mod global;
mod map;
mod netmaps;
mod percpu;
mod perf;
mod ringbuf;
mod special;
mod storage;
mod typed;
mod userring;

pub use arena::Arena;
#[cfg(feature = "tokio")]
pub use asyncio::{AsyncPerfBuffer, AsyncRingBuf};
pub use batch::{BatchOutcome, BatchToken, Batches};
pub use error::{Error, Result, map_type_name};
pub use events::{EventPoller, SourceKind, SourceStats};
pub use global::{GlobalData, GlobalVarInfo};
pub use map::{Entries, Keys, Map, MapDef, is_per_cpu, map_type};
pub use netmaps::{CpuMap, CpuMapValue, DevMap, DevMapValue, SockHash, SockMap, XskMap};
pub use oxbpf_sys::pod::Pod;
pub use percpu::{PerCpuArray, PerCpuHashMap, Queue};
pub use perf::{PerfBuffer, PerfBufferOptions, PerfStats, Wakeup};
pub use ringbuf::{Record, RingBuf, RingBufPoller, RingStats};
pub use special::{ArrayOfMaps, BloomFilter, HashOfMaps, LpmTrie, ProgArray, StackTraceMap};
pub use storage::{
    CgroupStorage, CgroupStorageKey, Cgrp, CgrpStorage, Inode, InodeStorage, LocalStorage,
    PerCpuCgroupStorage, Sk, SkStorage, StorageKind, Task, TaskStorage,
};
pub use typed::{Array, HashMap};
pub use userring::{Sample, UserRingBuf};

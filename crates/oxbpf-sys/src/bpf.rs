//! The `bpf()` system call: one `#[repr(C)]` attr struct per command, zero-initialised,
//! the struct's size passed to the kernel (fields are appended in kernel order, so an
//! older kernel sees trailing zeros it accepts).

use std::ffi::CString;
use std::os::fd::{BorrowedFd, OwnedFd};

use crate::fd::{BtfFd, LinkFd, MapFd, ProgFd};
use crate::{Errno, Error, Result};

/// `enum bpf_cmd` values used by oxbpf.
#[allow(missing_docs)]
pub mod cmd {
    pub const MAP_CREATE: u32 = 0;
    pub const MAP_LOOKUP_ELEM: u32 = 1;
    pub const MAP_UPDATE_ELEM: u32 = 2;
    pub const MAP_DELETE_ELEM: u32 = 3;
    pub const MAP_GET_NEXT_KEY: u32 = 4;
    pub const PROG_LOAD: u32 = 5;
    pub const OBJ_PIN: u32 = 6;
    pub const OBJ_GET: u32 = 7;
    pub const PROG_TEST_RUN: u32 = 10;
    pub const OBJ_GET_INFO_BY_FD: u32 = 15;
    pub const BTF_LOAD: u32 = 18;
    pub const BTF_GET_FD_BY_ID: u32 = 19;
    pub const MAP_LOOKUP_AND_DELETE_ELEM: u32 = 21;
    pub const MAP_FREEZE: u32 = 22;
    pub const BTF_GET_NEXT_ID: u32 = 23;
    pub const LINK_CREATE: u32 = 28;
    pub const LINK_DETACH: u32 = 34;
    pub const PROG_GET_NEXT_ID: u32 = 11;
    pub const PROG_GET_FD_BY_ID: u32 = 13;
    pub const TOKEN_CREATE: u32 = 36;
}

/// Map flags (`BPF_F_*` for `BPF_MAP_CREATE`).
#[allow(missing_docs)]
pub mod map_flags {
    pub const NO_PREALLOC: u32 = 1 << 0;
    pub const RDONLY: u32 = 1 << 3;
    pub const WRONLY: u32 = 1 << 4;
    pub const RDONLY_PROG: u32 = 1 << 7;
    pub const WRONLY_PROG: u32 = 1 << 8;
    pub const MMAPABLE: u32 = 1 << 10;
}

/// Element-update flags (`BPF_ANY`, `BPF_NOEXIST`, `BPF_EXIST`, `BPF_F_LOCK`).
#[allow(missing_docs)]
pub mod elem_flags {
    pub const ANY: u64 = 0;
    pub const NOEXIST: u64 = 1;
    pub const EXIST: u64 = 2;
    pub const LOCK: u64 = 4;
}

/// `BPF_PERF_EVENT` attach type, for links on perf events (tracepoints, kprobes, ...).
pub const ATTACH_TYPE_PERF_EVENT: u32 = 41;

/// The largest verifier log the kernel accepts (`UINT_MAX >> 2`, since 5.2).
pub const LOG_SIZE_MAX: u32 = u32::MAX >> 2;

fn ptr<T>(p: *const T) -> u64 {
    p as usize as u64
}

fn slice_ptr<T>(s: &[T]) -> u64 {
    if s.is_empty() { 0 } else { ptr(s.as_ptr()) }
}

/// Issues `bpf(cmd, attr, size_of::<A>())`.
fn sys_bpf<A>(cmd: u32, attr: &mut A) -> i64 {
    // SAFETY: `attr` is a valid, initialised `#[repr(C)]` struct of exactly the size passed;
    // every pointer inside it was set from a live Rust slice/reference that outlives the call.
    unsafe {
        libc::syscall(
            libc::SYS_bpf,
            cmd as libc::c_long,
            attr as *mut A,
            std::mem::size_of::<A>(),
        )
    }
}

#[inline]
fn check(call: &'static str, ret: i64) -> Result<i64> {
    if ret < 0 {
        Err(Error::last(call))
    } else {
        Ok(ret)
    }
}

/// Copies `name` into a kernel object-name field (15 bytes + NUL, truncated).
pub fn object_name(name: &str) -> [u8; 16] {
    let mut out = [0u8; 16];
    for (o, b) in out.iter_mut().zip(
        name.bytes()
            .filter(|b| b.is_ascii_alphanumeric() || *b == b'_' || *b == b'.')
            .take(15),
    ) {
        *o = b;
    }
    out
}

/// Attr of `BPF_MAP_CREATE`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct MapCreate {
    /// `enum bpf_map_type`.
    pub map_type: u32,
    /// Key size in bytes.
    pub key_size: u32,
    /// Value size in bytes.
    pub value_size: u32,
    /// Capacity (for ring buffers: data size in bytes, a power-of-two multiple of the page).
    pub max_entries: u32,
    /// `BPF_F_*` flags.
    pub map_flags: u32,
    /// Inner map template fd for map-in-map.
    pub inner_map_fd: u32,
    /// NUMA node (with `BPF_F_NUMA_NODE`).
    pub numa_node: u32,
    /// Object name (15 chars + NUL).
    pub map_name: [u8; 16],
    /// Device for offload.
    pub map_ifindex: u32,
    /// BTF fd the type ids refer to.
    pub btf_fd: u32,
    /// Key type id in `btf_fd`.
    pub btf_key_type_id: u32,
    /// Value type id in `btf_fd`.
    pub btf_value_type_id: u32,
    /// struct_ops value type in vmlinux.
    pub btf_vmlinux_value_type_id: u32,
    /// Type-specific extra (bloom filter hashes, arena address).
    pub map_extra: u64,
    /// BTF object fd of a module's value type.
    pub value_type_btf_obj_fd: i32,
    /// BPF token fd.
    pub map_token_fd: i32,
}

impl MapCreate {
    /// A map of `map_type` with the given sizes and no BTF.
    pub fn new(map_type: u32, key_size: u32, value_size: u32, max_entries: u32) -> Self {
        MapCreate {
            map_type,
            key_size,
            value_size,
            max_entries,
            ..Default::default()
        }
    }
}

/// `BPF_MAP_CREATE`.
pub fn map_create(attr: &MapCreate) -> Result<MapFd> {
    let mut a = *attr;
    MapFd::from_raw_checked("BPF_MAP_CREATE", sys_bpf(cmd::MAP_CREATE, &mut a))
}

#[repr(C)]
#[derive(Default)]
struct MapElem {
    map_fd: u32,
    _pad: u32,
    key: u64,
    value: u64,
    flags: u64,
}

fn check_len(what: &str, got: usize, want: Option<usize>) -> Result<()> {
    match want {
        Some(w) if w != got => Err(Error::Invalid(format!(
            "{what}: {got} bytes given, map has {w}"
        ))),
        _ => Ok(()),
    }
}

#[inline]
fn raw(fd: BorrowedFd<'_>) -> u32 {
    use std::os::fd::AsRawFd;
    fd.as_raw_fd() as u32
}

#[inline]
fn elem_op(
    cmd: u32,
    call: &'static str,
    fd: BorrowedFd<'_>,
    key: u64,
    value: u64,
    flags: u64,
) -> Result<bool> {
    let mut a = MapElem {
        map_fd: raw(fd),
        key,
        value,
        flags,
        ..Default::default()
    };
    match check(call, sys_bpf(cmd, &mut a)) {
        Ok(_) => Ok(true),
        Err(Error::Syscall {
            errno: Errno::ENOENT,
            ..
        }) => Ok(false),
        Err(e) => Err(e),
    }
}

/// `BPF_MAP_LOOKUP_ELEM`: copies the value of `key` into `value`; `Ok(false)` if absent.
/// `value` must be the map's value size (times possible CPUs for per-CPU maps).
#[inline]
pub fn map_lookup_elem(
    fd: BorrowedFd<'_>,
    key: &[u8],
    value: &mut [u8],
    flags: u64,
) -> Result<bool> {
    elem_op(
        cmd::MAP_LOOKUP_ELEM,
        "BPF_MAP_LOOKUP_ELEM",
        fd,
        slice_ptr(key),
        ptr(value.as_mut_ptr()),
        flags,
    )
}

/// `BPF_MAP_LOOKUP_AND_DELETE_ELEM` (also pop for queue/stack maps, `key` empty).
pub fn map_lookup_and_delete_elem(
    fd: BorrowedFd<'_>,
    key: &[u8],
    value: &mut [u8],
    flags: u64,
) -> Result<bool> {
    elem_op(
        cmd::MAP_LOOKUP_AND_DELETE_ELEM,
        "BPF_MAP_LOOKUP_AND_DELETE_ELEM",
        fd,
        slice_ptr(key),
        ptr(value.as_mut_ptr()),
        flags,
    )
}

/// `BPF_MAP_UPDATE_ELEM` with `elem_flags` (`ANY`, `NOEXIST`, `EXIST`).
#[inline]
pub fn map_update_elem(fd: BorrowedFd<'_>, key: &[u8], value: &[u8], flags: u64) -> Result<()> {
    let mut a = MapElem {
        map_fd: raw(fd),
        key: slice_ptr(key),
        value: slice_ptr(value),
        flags,
        ..Default::default()
    };
    check("BPF_MAP_UPDATE_ELEM", sys_bpf(cmd::MAP_UPDATE_ELEM, &mut a)).map(drop)
}

/// `BPF_MAP_DELETE_ELEM`; `Ok(false)` if the key was absent.
pub fn map_delete_elem(fd: BorrowedFd<'_>, key: &[u8]) -> Result<bool> {
    elem_op(
        cmd::MAP_DELETE_ELEM,
        "BPF_MAP_DELETE_ELEM",
        fd,
        slice_ptr(key),
        0,
        0,
    )
}

/// `BPF_MAP_GET_NEXT_KEY`: the key after `key` (the first key for `None`) into `next`;
/// `Ok(false)` at the end.
pub fn map_get_next_key(fd: BorrowedFd<'_>, key: Option<&[u8]>, next: &mut [u8]) -> Result<bool> {
    if let Some(k) = key {
        check_len("BPF_MAP_GET_NEXT_KEY key", k.len(), Some(next.len()))?;
    }
    elem_op(
        cmd::MAP_GET_NEXT_KEY,
        "BPF_MAP_GET_NEXT_KEY",
        fd,
        key.map_or(0, slice_ptr),
        ptr(next.as_mut_ptr()),
        0,
    )
}

/// `BPF_MAP_FREEZE`: no more writes from user space.
pub fn map_freeze(fd: BorrowedFd<'_>) -> Result<()> {
    let mut a = MapElem {
        map_fd: raw(fd),
        ..Default::default()
    };
    check("BPF_MAP_FREEZE", sys_bpf(cmd::MAP_FREEZE, &mut a)).map(drop)
}

/// Attr of `BPF_PROG_LOAD`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct ProgLoadAttr {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
    prog_name: [u8; 16],
    prog_ifindex: u32,
    expected_attach_type: u32,
    prog_btf_fd: u32,
    func_info_rec_size: u32,
    func_info: u64,
    func_info_cnt: u32,
    line_info_rec_size: u32,
    line_info: u64,
    line_info_cnt: u32,
    attach_btf_id: u32,
    attach_prog_fd: u32,
    core_relo_cnt: u32,
    fd_array: u64,
    core_relos: u64,
    core_relo_rec_size: u32,
    log_true_size: u32,
    prog_token_fd: i32,
    fd_array_cnt: u32,
}

/// Inputs of one `BPF_PROG_LOAD`, borrowing everything it points at.
#[derive(Debug, Clone, Default)]
pub struct ProgLoad<'a> {
    /// `enum bpf_prog_type`.
    pub prog_type: u32,
    /// Instruction bytes (8 per slot).
    pub insns: &'a [u8],
    /// License string (a "GPL"-compatible one unlocks GPL-only helpers).
    pub license: &'a str,
    /// Program name (truncated to 15 bytes).
    pub name: &'a str,
    /// `expected_attach_type`.
    pub expected_attach_type: u32,
    /// `kern_version` (only checked for old kprobe programs).
    pub kern_version: u32,
    /// `BPF_F_*` load flags (`BPF_F_SLEEPABLE`, ...).
    pub prog_flags: u32,
    /// The program's BTF, for func_info/line_info.
    pub btf_fd: Option<BorrowedFd<'a>>,
    /// `struct bpf_func_info` records (insn_off in slots, type_id).
    pub func_info: &'a [u8],
    /// Size of one func_info record.
    pub func_info_rec_size: u32,
    /// `struct bpf_line_info` records.
    pub line_info: &'a [u8],
    /// Size of one line_info record.
    pub line_info_rec_size: u32,
    /// `attach_btf_id` for BTF-attached programs.
    pub attach_btf_id: u32,
    /// `attach_prog_fd` / `attach_btf_obj_fd`.
    pub attach_fd: Option<BorrowedFd<'a>>,
    /// `fd_array`: BTF object fds of modules whose kfuncs the program calls (a kfunc call's
    /// `off` indexes it; 0 means vmlinux, so slot 0 is conventionally `None`, passed as 0).
    pub fd_array: &'a [Option<BorrowedFd<'a>>],
}

/// The verifier's verdict on a failed load, and the log of any load.
#[derive(Debug)]
pub struct LoadOutcome {
    /// The program on success.
    pub result: Result<ProgFd>,
    /// Bytes of the log the kernel wrote (without the trailing NUL).
    pub log_len: usize,
    /// `log_true_size`: the size the whole log needs (0 on kernels before 6.4).
    pub log_true_size: u32,
}

/// `BPF_PROG_LOAD` with the log written to `log` (`log_level` 0 = no log). Returns the
/// program or the error, plus how much log the kernel wrote and needed: the caller decides
/// whether to retry with a larger buffer.
pub fn prog_load(p: &ProgLoad<'_>, log_level: u32, log: &mut [u8]) -> LoadOutcome {
    let license = match CString::new(p.license) {
        Ok(l) => l,
        Err(_) => {
            return LoadOutcome {
                result: Err(Error::Invalid(format!(
                    "license {:?} contains a NUL byte",
                    p.license
                ))),
                log_len: 0,
                log_true_size: 0,
            };
        }
    };
    let use_log = log_level > 0 && !log.is_empty();
    let log_size = log.len().min(LOG_SIZE_MAX as usize);
    if let Some(b) = log.first_mut() {
        *b = 0;
    }
    let fd_array: Vec<i32> = p
        .fd_array
        .iter()
        .map(|f| f.map_or(0, |f| raw(f) as i32))
        .collect();
    let mut a = ProgLoadAttr {
        prog_type: p.prog_type,
        insn_cnt: (p.insns.len() / 8) as u32,
        insns: slice_ptr(p.insns),
        license: ptr(license.as_ptr()),
        log_level: if use_log { log_level } else { 0 },
        log_size: if use_log { log_size as u32 } else { 0 },
        log_buf: if use_log { ptr(log.as_mut_ptr()) } else { 0 },
        kern_version: p.kern_version,
        prog_flags: p.prog_flags,
        prog_name: object_name(p.name),
        expected_attach_type: p.expected_attach_type,
        prog_btf_fd: p.btf_fd.map_or(0, raw),
        func_info_rec_size: if p.func_info.is_empty() {
            0
        } else {
            p.func_info_rec_size
        },
        func_info: slice_ptr(p.func_info),
        func_info_cnt: if p.func_info_rec_size == 0 {
            0
        } else {
            (p.func_info.len() / p.func_info_rec_size as usize) as u32
        },
        line_info_rec_size: if p.line_info.is_empty() {
            0
        } else {
            p.line_info_rec_size
        },
        line_info: slice_ptr(p.line_info),
        line_info_cnt: if p.line_info_rec_size == 0 {
            0
        } else {
            (p.line_info.len() / p.line_info_rec_size as usize) as u32
        },
        attach_btf_id: p.attach_btf_id,
        attach_prog_fd: p.attach_fd.map_or(0, raw),
        fd_array: slice_ptr(&fd_array),
        ..Default::default()
    };
    let ret = sys_bpf(cmd::PROG_LOAD, &mut a);
    let result = ProgFd::from_raw_checked("BPF_PROG_LOAD", ret);
    let log_len = if use_log {
        log[..log_size]
            .iter()
            .position(|&b| b == 0)
            .unwrap_or(log_size)
    } else {
        0
    };
    LoadOutcome {
        result,
        log_len,
        log_true_size: a.log_true_size,
    }
}

#[repr(C)]
#[derive(Default)]
struct BtfLoadAttr {
    btf: u64,
    btf_log_buf: u64,
    btf_size: u32,
    btf_log_size: u32,
    btf_log_level: u32,
    btf_log_true_size: u32,
    btf_flags: u32,
    btf_token_fd: i32,
}

/// `BPF_BTF_LOAD`; on failure with `log` non-empty the kernel's BTF log is in `log`.
pub fn btf_load(data: &[u8], log: &mut [u8]) -> Result<BtfFd> {
    if let Some(b) = log.first_mut() {
        *b = 0;
    }
    let mut a = BtfLoadAttr {
        btf: slice_ptr(data),
        btf_size: data.len() as u32,
        btf_log_buf: if log.is_empty() {
            0
        } else {
            ptr(log.as_mut_ptr())
        },
        btf_log_size: log.len().min(LOG_SIZE_MAX as usize) as u32,
        btf_log_level: u32::from(!log.is_empty()),
        ..Default::default()
    };
    BtfFd::from_raw_checked("BPF_BTF_LOAD", sys_bpf(cmd::BTF_LOAD, &mut a))
}

#[repr(C)]
#[derive(Default)]
struct InfoAttr {
    bpf_fd: u32,
    info_len: u32,
    info: u64,
}

/// `BPF_OBJ_GET_INFO_BY_FD` into `buf`; returns the length the kernel filled.
pub fn obj_get_info_by_fd(fd: BorrowedFd<'_>, buf: &mut [u8]) -> Result<usize> {
    let mut a = InfoAttr {
        bpf_fd: raw(fd),
        info_len: buf.len() as u32,
        info: ptr(buf.as_mut_ptr()),
    };
    check(
        "BPF_OBJ_GET_INFO_BY_FD",
        sys_bpf(cmd::OBJ_GET_INFO_BY_FD, &mut a),
    )?;
    Ok(a.info_len as usize)
}

/// `struct bpf_map_info` (the fields up to `map_extra`).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
#[allow(missing_docs)]
pub struct MapInfo {
    pub map_type: u32,
    pub id: u32,
    pub key_size: u32,
    pub value_size: u32,
    pub max_entries: u32,
    pub map_flags: u32,
    pub name: [u8; 16],
    pub ifindex: u32,
    pub btf_vmlinux_value_type_id: u32,
    pub netns_dev: u64,
    pub netns_ino: u64,
    pub btf_id: u32,
    pub btf_key_type_id: u32,
    pub btf_value_type_id: u32,
    pub btf_vmlinux_id: u32,
    pub map_extra: u64,
}

/// `struct bpf_prog_info` (the fields up to `attach_btf_id`).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
#[allow(missing_docs)]
pub struct ProgInfo {
    pub prog_type: u32,
    pub id: u32,
    pub tag: [u8; 8],
    pub jited_prog_len: u32,
    pub xlated_prog_len: u32,
    pub jited_prog_insns: u64,
    pub xlated_prog_insns: u64,
    pub load_time: u64,
    pub created_by_uid: u32,
    pub nr_map_ids: u32,
    pub map_ids: u64,
    pub name: [u8; 16],
    pub ifindex: u32,
    pub gpl_compatible: u32,
    pub netns_dev: u64,
    pub netns_ino: u64,
    pub nr_jited_ksyms: u32,
    pub nr_jited_func_lens: u32,
    pub jited_ksyms: u64,
    pub jited_func_lens: u64,
    pub btf_id: u32,
    pub func_info_rec_size: u32,
    pub func_info: u64,
    pub nr_func_info: u32,
    pub nr_line_info: u32,
    pub line_info: u64,
    pub jited_line_info: u64,
    pub nr_jited_line_info: u32,
    pub line_info_rec_size: u32,
    pub jited_line_info_rec_size: u32,
    pub nr_prog_tags: u32,
    pub prog_tags: u64,
    pub run_time_ns: u64,
    pub run_cnt: u64,
    pub recursion_misses: u64,
    pub verified_insns: u32,
    pub attach_btf_obj_id: u32,
    pub attach_btf_id: u32,
}

/// Kernel info of a map.
pub fn map_info(fd: BorrowedFd<'_>) -> Result<MapInfo> {
    let mut info = MapInfo::default();
    // SAFETY: MapInfo is repr(C) plain old data (integers and byte arrays); any byte
    // pattern the kernel writes is a valid value, and the slice covers exactly the struct.
    let buf = unsafe {
        std::slice::from_raw_parts_mut(
            (&mut info as *mut MapInfo).cast::<u8>(),
            std::mem::size_of::<MapInfo>(),
        )
    };
    // Zero the padding too: the kernel rejects non-zero bytes past the fields it knows
    // (E2BIG), and struct padding is not initialised by `default()`.
    buf.fill(0);
    obj_get_info_by_fd(fd, buf)?;
    Ok(info)
}

/// Kernel info of a program (no arrays requested).
pub fn prog_info(fd: BorrowedFd<'_>) -> Result<ProgInfo> {
    let mut info = ProgInfo::default();
    // SAFETY: as in `map_info`: repr(C) integers only, slice covers exactly the struct.
    let buf = unsafe {
        std::slice::from_raw_parts_mut(
            (&mut info as *mut ProgInfo).cast::<u8>(),
            std::mem::size_of::<ProgInfo>(),
        )
    };
    // Zero the trailing padding (bytes 228..232): the kernel checks that bytes past
    // `attach_btf_id` are zero (E2BIG otherwise), and `default()` leaves padding uninit.
    buf.fill(0);
    obj_get_info_by_fd(fd, buf)?;
    Ok(info)
}

#[repr(C)]
#[derive(Default)]
struct LinkCreateAttr {
    prog_fd: u32,
    target_fd: u32,
    attach_type: u32,
    flags: u32,
    /// The per-type union (target_btf_id, perf_event.bpf_cookie, ...), 32 bytes.
    extra: [u64; 4],
}

/// `BPF_LINK_CREATE` attaching `prog` to `target_fd` (a perf event, cgroup, ifindex, ...)
/// with the type-specific `cookie` in the union's first 8 bytes (perf_event.bpf_cookie).
pub fn link_create(
    prog: BorrowedFd<'_>,
    target_fd: u32,
    attach_type: u32,
    flags: u32,
    cookie: u64,
) -> Result<LinkFd> {
    let mut a = LinkCreateAttr {
        prog_fd: raw(prog),
        target_fd,
        attach_type,
        flags,
        extra: [cookie, 0, 0, 0],
    };
    LinkFd::from_raw_checked("BPF_LINK_CREATE", sys_bpf(cmd::LINK_CREATE, &mut a))
}

#[repr(C)]
#[derive(Default)]
struct ObjAttr {
    pathname: u64,
    bpf_fd: u32,
    file_flags: u32,
    path_fd: i32,
    _pad: u32,
}

fn c_path(path: &std::path::Path) -> Result<CString> {
    use std::os::unix::ffi::OsStrExt;
    CString::new(path.as_os_str().as_bytes())
        .map_err(|_| Error::Invalid(format!("path {} contains a NUL byte", path.display())))
}

/// `BPF_OBJ_PIN`: pins the object behind `fd` at `path` on a bpffs.
pub fn obj_pin(fd: BorrowedFd<'_>, path: &std::path::Path) -> Result<()> {
    let p = c_path(path)?;
    let mut a = ObjAttr {
        pathname: ptr(p.as_ptr()),
        bpf_fd: raw(fd),
        ..Default::default()
    };
    check("BPF_OBJ_PIN", sys_bpf(cmd::OBJ_PIN, &mut a)).map(drop)
}

/// `BPF_OBJ_GET`: opens the object pinned at `path`.
pub fn obj_get(path: &std::path::Path) -> Result<OwnedFd> {
    let p = c_path(path)?;
    let mut a = ObjAttr {
        pathname: ptr(p.as_ptr()),
        ..Default::default()
    };
    let ret = check("BPF_OBJ_GET", sys_bpf(cmd::OBJ_GET, &mut a))?;
    // SAFETY: the kernel returned a new descriptor that nothing else owns.
    Ok(unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(ret as i32) })
}

#[repr(C)]
#[derive(Default)]
struct TestRunAttr {
    prog_fd: u32,
    retval: u32,
    data_size_in: u32,
    data_size_out: u32,
    data_in: u64,
    data_out: u64,
    repeat: u32,
    duration: u32,
    ctx_size_in: u32,
    ctx_size_out: u32,
    ctx_in: u64,
    ctx_out: u64,
    flags: u32,
    cpu: u32,
    batch_size: u32,
    _pad: u32,
}

/// Result of `BPF_PROG_TEST_RUN`.
#[derive(Debug, Clone, Copy)]
pub struct TestRun {
    /// The program's return value.
    pub retval: u32,
    /// Average run time in ns reported by the kernel.
    pub duration: u32,
}

/// `BPF_PROG_TEST_RUN` with a context (`ctx`) and optional packet `data`, run once.
pub fn prog_test_run(prog: BorrowedFd<'_>, ctx: &mut [u8], data: &[u8]) -> Result<TestRun> {
    let mut a = TestRunAttr {
        prog_fd: raw(prog),
        data_size_in: data.len() as u32,
        data_in: slice_ptr(data),
        ctx_size_in: ctx.len() as u32,
        ctx_in: if ctx.is_empty() { 0 } else { ptr(ctx.as_ptr()) },
        repeat: 0, // 0 runs once; syscall programs reject any other value
        ..Default::default()
    };
    test_run(&mut a)
}

/// Runs `BPF_PROG_TEST_RUN` with `a` and returns what it reported.
fn test_run(a: &mut TestRunAttr) -> Result<TestRun> {
    check("BPF_PROG_TEST_RUN", sys_bpf(cmd::PROG_TEST_RUN, a))?;
    Ok(TestRun {
        retval: a.retval,
        duration: a.duration,
    })
}

// ---- BTF objects by id (BPF_BTF_GET_FD_BY_ID, BPF_BTF_GET_NEXT_ID, bpf_btf_info) ----

/// Attr of the `*_GET_NEXT_ID` and `*_GET_FD_BY_ID` commands.
#[repr(C)]
#[derive(Default)]
struct IdAttr {
    /// `start_id` / `btf_id` (the union's first member).
    id: u32,
    next_id: u32,
    open_flags: u32,
    token_fd: i32,
}

/// `BPF_BTF_GET_FD_BY_ID`: opens the kernel BTF object with id `id` (vmlinux, a module's,
/// or one loaded with `BPF_BTF_LOAD`).
pub fn btf_get_fd_by_id(id: u32) -> Result<BtfFd> {
    BtfFd::from_raw_checked(
        "BPF_BTF_GET_FD_BY_ID",
        get_fd_by_id(cmd::BTF_GET_FD_BY_ID, id),
    )
}

/// One `BPF_*_GET_FD_BY_ID` command: the raw return (a new fd, or -1 with errno set).
fn get_fd_by_id(cmd: u32, id: u32) -> i64 {
    let mut a = IdAttr {
        id,
        ..Default::default()
    };
    sys_bpf(cmd, &mut a)
}

/// One `BPF_*_GET_NEXT_ID` command (`name` for errors): the smallest id of that object
/// kind greater than `start`; `None` at the end (`ENOENT`).
fn get_next_id(cmd: u32, name: &'static str, start: u32) -> Result<Option<u32>> {
    let mut a = IdAttr {
        id: start,
        ..Default::default()
    };
    if sys_bpf(cmd, &mut a) < 0 {
        let e = Error::last(name);
        return if e.errno() == Some(Errno::ENOENT) {
            Ok(None)
        } else {
            Err(e)
        };
    }
    Ok(Some(a.next_id))
}

/// `BPF_BTF_GET_NEXT_ID`: the smallest BTF object id greater than `start`; `None` at the end
/// (`ENOENT`).
pub fn btf_get_next_id(start: u32) -> Result<Option<u32>> {
    get_next_id(cmd::BTF_GET_NEXT_ID, "BPF_BTF_GET_NEXT_ID", start)
}

/// `struct bpf_btf_info`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct BtfInfo {
    /// User pointer to the buffer receiving the raw BTF (0: don't copy).
    pub btf: u64,
    /// Size of the raw BTF (in: buffer size, out: the object's size).
    pub btf_size: u32,
    /// The BTF object's id.
    pub id: u32,
    /// User pointer to the buffer receiving the name (0: don't copy).
    pub name: u64,
    /// Length of the name without its NUL (in: buffer size).
    pub name_len: u32,
    /// Non-zero for the kernel's own BTF (vmlinux or a module's).
    pub kernel_btf: u32,
}

/// Fills `info` (with whatever buffers it points to) for the BTF object `fd`.
fn btf_info_into(fd: BorrowedFd<'_>, info: &mut BtfInfo) -> Result<()> {
    // SAFETY: BtfInfo is repr(C) integers only: any byte pattern the kernel writes is a valid
    // value, and the slice covers exactly the struct, which outlives the call.
    let buf = unsafe {
        std::slice::from_raw_parts_mut(
            (info as *mut BtfInfo).cast::<u8>(),
            std::mem::size_of::<BtfInfo>(),
        )
    };
    obj_get_info_by_fd(fd, buf).map(drop)
}

/// Kernel info of a BTF object (sizes, id, kernel flag; no data copied: the pointer fields
/// of the result are 0).
pub fn btf_info(fd: BorrowedFd<'_>) -> Result<BtfInfo> {
    let mut info = BtfInfo::default();
    btf_info_into(fd, &mut info)?;
    info.btf = 0;
    info.name = 0;
    Ok(info)
}

/// The info and name of a BTF object ("vmlinux", a module's name, or "" for loaded BTF
/// and on kernels before 5.11, which record no name), without copying its bytes.
pub fn btf_name(fd: BorrowedFd<'_>) -> Result<(BtfInfo, String)> {
    let mut name = vec![0u8; 64];
    let mut info = BtfInfo {
        name: ptr(name.as_mut_ptr()),
        name_len: name.len() as u32,
        ..Default::default()
    };
    match btf_info_into(fd, &mut info) {
        // Before 5.11 bpf_btf_info ends at `id` and a non-zero tail is refused.
        Err(e) if e.errno() == Some(Errno::E2BIG) => {
            name.clear();
            info = BtfInfo::default();
            btf_info_into(fd, &mut info)?;
        }
        r => r?,
    }
    let n = name.iter().position(|&b| b == 0).unwrap_or(name.len());
    name.truncate(n);
    info.btf = 0;
    info.name = 0;
    Ok((info, String::from_utf8_lossy(&name).into_owned()))
}

/// The raw bytes and name of a BTF object ("vmlinux", a module's name, or "" for loaded
/// BTF): asks for the sizes first, then for the bytes. The returned info's pointer fields
/// are 0.
pub fn btf_data(fd: BorrowedFd<'_>) -> Result<(BtfInfo, Vec<u8>, String)> {
    let sizes = btf_info(fd)?;
    let mut data = vec![0u8; sizes.btf_size as usize];
    let mut name = vec![0u8; sizes.name_len as usize + 1];
    let mut info = BtfInfo {
        btf: if data.is_empty() {
            0
        } else {
            ptr(data.as_mut_ptr())
        },
        btf_size: sizes.btf_size,
        name: ptr(name.as_mut_ptr()),
        name_len: name.len() as u32,
        ..Default::default()
    };
    match btf_info_into(fd, &mut info) {
        // Before 5.11 bpf_btf_info ends at `id`: the kernel refuses a non-zero tail, so
        // ask again without the name (which such kernels do not record anyway).
        Err(e) if e.errno() == Some(Errno::E2BIG) => {
            name.clear();
            info = BtfInfo {
                btf: info.btf,
                btf_size: sizes.btf_size,
                ..Default::default()
            };
            btf_info_into(fd, &mut info)?;
        }
        r => r?,
    }
    if info.btf_size != sizes.btf_size {
        return Err(Error::Invalid(format!(
            "BTF object {}: size changed between calls ({} then {} bytes)",
            sizes.id, sizes.btf_size, info.btf_size
        )));
    }
    // The kernel wrote at most `name.len()` bytes including a NUL.
    let n = name.iter().position(|&b| b == 0).unwrap_or(name.len());
    name.truncate(n);
    let name = String::from_utf8_lossy(&name).into_owned();
    data.truncate(info.btf_size as usize);
    info.btf = 0;
    info.name = 0;
    Ok((info, data, name))
}

// ---- Programs by id, program code, multi-probe links, tokens (used by features and `prog`) ----

/// `BPF_PROG_GET_NEXT_ID`: the smallest program id greater than `start`; `None` at the end
/// (`ENOENT`).
pub fn prog_get_next_id(start: u32) -> Result<Option<u32>> {
    get_next_id(cmd::PROG_GET_NEXT_ID, "BPF_PROG_GET_NEXT_ID", start)
}

/// `BPF_PROG_GET_FD_BY_ID`: opens the loaded program with id `id`.
pub fn prog_get_fd_by_id(id: u32) -> Result<ProgFd> {
    ProgFd::from_raw_checked(
        "BPF_PROG_GET_FD_BY_ID",
        get_fd_by_id(cmd::PROG_GET_FD_BY_ID, id),
    )
}

/// What the kernel holds of a program: its info and the instruction arrays asked for.
#[derive(Debug, Clone, Default)]
pub struct ProgCode {
    /// The program's info (array pointer fields are 0).
    pub info: ProgInfo,
    /// The instructions after verification and rewriting (`xlated_prog_insns`); empty
    /// when not asked for or when the kernel withholds them (`bpf_dump_raw_ok`).
    pub xlated: Vec<u8>,
    /// The JIT's machine code (`jited_prog_insns`); empty when not asked for, not JITed,
    /// or withheld (kptr_restrict).
    pub jited: Vec<u8>,
}

/// Sets every byte of `info` to zero, padding included (in place: a move may not keep
/// padding): the kernel rejects non-zero bytes past the fields it knows (E2BIG). Setting
/// fields afterwards leaves the padding alone.
fn zero_prog_info(info: &mut ProgInfo) {
    // SAFETY: as in `prog_info`: repr(C) integers only, slice covers exactly the struct.
    let buf = unsafe {
        std::slice::from_raw_parts_mut(
            (info as *mut ProgInfo).cast::<u8>(),
            std::mem::size_of::<ProgInfo>(),
        )
    };
    buf.fill(0);
}

/// Fills `info` (with the buffers it points to) for the program `fd`.
fn prog_info_into(fd: BorrowedFd<'_>, info: &mut ProgInfo) -> Result<()> {
    // SAFETY: ProgInfo is repr(C) integers and byte arrays: any byte pattern the kernel
    // writes is a valid value, and the slice covers exactly the struct, which outlives the
    // call. Pointer fields the caller set point at live buffers of the lengths given.
    let buf = unsafe {
        std::slice::from_raw_parts_mut(
            (info as *mut ProgInfo).cast::<u8>(),
            std::mem::size_of::<ProgInfo>(),
        )
    };
    obj_get_info_by_fd(fd, buf).map(drop)
}

/// The program's info plus its xlated and/or JITed instructions: asks for the lengths,
/// then for the bytes (the two-call read bpftool does).
pub fn prog_code(fd: BorrowedFd<'_>, xlated: bool, jited: bool) -> Result<ProgCode> {
    let sizes = prog_info(fd)?;
    let mut x = vec![
        0u8;
        if xlated {
            sizes.xlated_prog_len as usize
        } else {
            0
        }
    ];
    let mut j = vec![
        0u8;
        if jited {
            sizes.jited_prog_len as usize
        } else {
            0
        }
    ];
    if x.is_empty() && j.is_empty() {
        return Ok(ProgCode {
            info: sizes,
            ..Default::default()
        });
    }
    let mut info = ProgInfo::default();
    zero_prog_info(&mut info);
    info.xlated_prog_len = x.len() as u32;
    if !x.is_empty() {
        info.xlated_prog_insns = ptr(x.as_mut_ptr());
    }
    info.jited_prog_len = j.len() as u32;
    if !j.is_empty() {
        info.jited_prog_insns = ptr(j.as_mut_ptr());
    }
    prog_info_into(fd, &mut info)?;
    for (what, asked, got) in [
        ("xlated", x.len(), info.xlated_prog_len as usize),
        ("jited", j.len(), info.jited_prog_len as usize),
    ] {
        if asked != 0 && got > asked {
            return Err(Error::Invalid(format!(
                "program {}: {what} code grew between calls ({asked} then {got} bytes)",
                sizes.id
            )));
        }
    }
    x.truncate(info.xlated_prog_len as usize);
    j.truncate(info.jited_prog_len as usize);
    info.xlated_prog_insns = 0;
    info.jited_prog_insns = 0;
    Ok(ProgCode {
        info,
        xlated: x,
        jited: j,
    })
}

/// Attr of `BPF_LINK_CREATE` with room for the largest per-type union member
/// (`uprobe_multi`, 48 bytes).
#[repr(C)]
#[derive(Default)]
struct LinkCreateWideAttr {
    prog_fd: u32,
    target_fd: u32,
    attach_type: u32,
    flags: u32,
    extra: [u64; 6],
}

/// `BPF_LINK_CREATE` of a `kprobe.multi` link (`BPF_TRACE_KPROBE_MULTI` = 42, or the
/// session type) on the kernel functions `symbols`, with one cookie per symbol or none.
pub fn link_create_kprobe_multi(
    prog: BorrowedFd<'_>,
    attach_type: u32,
    symbols: &[&str],
    cookies: &[u64],
    flags: u32,
) -> Result<LinkFd> {
    if !cookies.is_empty() && cookies.len() != symbols.len() {
        return Err(Error::Invalid(format!(
            "kprobe.multi: {} cookies for {} symbols",
            cookies.len(),
            symbols.len()
        )));
    }
    let names = symbols
        .iter()
        .map(|s| {
            CString::new(*s)
                .map_err(|_| Error::Invalid(format!("symbol {s:?} contains a NUL byte")))
        })
        .collect::<Result<Vec<_>>>()?;
    let ptrs: Vec<u64> = names.iter().map(|n| ptr(n.as_ptr())).collect();
    let mut a = LinkCreateWideAttr {
        prog_fd: raw(prog),
        attach_type,
        // kprobe_multi: { u32 flags; u32 cnt; u64 syms; u64 addrs; u64 cookies; }
        extra: [
            u64::from(flags) | (ptrs.len() as u64) << 32,
            slice_ptr(&ptrs),
            0,
            slice_ptr(cookies),
            0,
            0,
        ],
        ..Default::default()
    };
    LinkFd::from_raw_checked("BPF_LINK_CREATE", sys_bpf(cmd::LINK_CREATE, &mut a))
}

/// `BPF_LINK_CREATE` of a `uprobe.multi` link (`BPF_TRACE_UPROBE_MULTI` = 48) on `path` at
/// the file `offsets`, for process `pid` (0: all).
pub fn link_create_uprobe_multi(
    prog: BorrowedFd<'_>,
    attach_type: u32,
    path: &std::path::Path,
    offsets: &[u64],
    pid: u32,
    flags: u32,
) -> Result<LinkFd> {
    let p = c_path(path)?;
    let mut a = LinkCreateWideAttr {
        prog_fd: raw(prog),
        attach_type,
        // uprobe_multi: { u64 path; u64 offsets; u64 ref_ctr_offsets; u64 cookies;
        //                 u32 cnt; u32 flags; u32 pid; }
        extra: [
            ptr(p.as_ptr()),
            slice_ptr(offsets),
            0,
            0,
            offsets.len() as u64 | u64::from(flags) << 32,
            u64::from(pid),
        ],
        ..Default::default()
    };
    LinkFd::from_raw_checked("BPF_LINK_CREATE", sys_bpf(cmd::LINK_CREATE, &mut a))
}

#[repr(C)]
#[derive(Default)]
struct TokenCreateAttr {
    flags: u32,
    bpffs_fd: i32,
}

/// `BPF_TOKEN_CREATE` from a bpffs mounted with delegation options (an `openat(mnt, ".")`
/// fd). With `None` the kernel is handed fd -1: a kernel that knows the command answers
/// `EBADF`, one that does not `EINVAL` (how the token probe tells them apart).
pub fn token_create(bpffs: Option<BorrowedFd<'_>>, flags: u32) -> Result<OwnedFd> {
    use std::os::fd::AsRawFd;
    let mut a = TokenCreateAttr {
        flags,
        bpffs_fd: bpffs.map_or(-1, |f| f.as_raw_fd()),
    };
    let ret = check("BPF_TOKEN_CREATE", sys_bpf(cmd::TOKEN_CREATE, &mut a))?;
    // SAFETY: the kernel returned a new descriptor that nothing else owns.
    Ok(unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(ret as i32) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attr_sizes_match_the_kernel_layout() {
        assert_eq!(std::mem::size_of::<MapCreate>(), 80);
        assert_eq!(std::mem::size_of::<ProgLoadAttr>(), 152);
        assert_eq!(std::mem::size_of::<MapElem>(), 32);
        assert_eq!(std::mem::size_of::<BtfLoadAttr>(), 40);
        assert_eq!(std::mem::size_of::<TestRunAttr>(), 80);
        assert_eq!(std::mem::size_of::<MapInfo>(), 88);
        assert_eq!(std::mem::size_of::<ProgInfo>(), 232);
        assert_eq!(std::mem::size_of::<LinkCreateWideAttr>(), 64);
        assert_eq!(std::mem::size_of::<TokenCreateAttr>(), 8);
        assert_eq!(std::mem::offset_of!(ProgLoadAttr, log_true_size), 140);
        assert_eq!(std::mem::offset_of!(MapCreate, map_extra), 64);
    }

    #[test]
    fn object_names_are_truncated_and_filtered() {
        assert_eq!(
            &object_name("a_very_long_map_name_here")[..15],
            b"a_very_long_map"
        );
        assert_eq!(object_name("a_very_long_map_name_here")[15], 0);
        assert_eq!(&object_name(".rodata")[..8], b".rodata\0");
        assert_eq!(&object_name("x-y")[..3], b"xy\0");
    }
}

// ---- Networking attachments: BPF_PROG_ATTACH/DETACH, link_create for tcx/netkit/netfilter,
// BPF_LINK_UPDATE, SO_ATTACH_BPF (used by oxbpf-attach's xdp, tc, cgroup, sock, netns,
// netfilter modules) ----

/// `BPF_PROG_ATTACH` command number.
pub const CMD_PROG_ATTACH: u32 = 8;
/// `BPF_PROG_DETACH` command number.
pub const CMD_PROG_DETACH: u32 = 9;
/// `BPF_LINK_UPDATE` command number.
pub const CMD_LINK_UPDATE: u32 = 29;

/// Flags of `BPF_PROG_ATTACH` / `BPF_LINK_CREATE` / `BPF_LINK_UPDATE` (`BPF_F_*`).
#[allow(missing_docs)]
pub mod attach_flags {
    pub const ALLOW_OVERRIDE: u32 = 1 << 0;
    pub const ALLOW_MULTI: u32 = 1 << 1;
    pub const REPLACE: u32 = 1 << 2;
    pub const BEFORE: u32 = 1 << 3;
    pub const AFTER: u32 = 1 << 4;
    pub const ID: u32 = 1 << 5;
    pub const LINK: u32 = 1 << 13;
    /// `BPF_F_NETFILTER_IP_DEFRAG` (netfilter links).
    pub const NETFILTER_IP_DEFRAG: u32 = 1 << 0;
}

/// Attr of `BPF_PROG_ATTACH` / `BPF_PROG_DETACH`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct ProgAttachAttr {
    /// Target: cgroup fd, netns fd, sockmap fd, or ifindex (tcx).
    pub target_fd: u32,
    /// The program (0 on detach of a single-program hook).
    pub attach_bpf_fd: u32,
    /// `enum bpf_attach_type`.
    pub attach_type: u32,
    /// `BPF_F_ALLOW_MULTI`, `BPF_F_ALLOW_OVERRIDE`, `BPF_F_REPLACE`, `BPF_F_BEFORE`, ...
    pub attach_flags: u32,
    /// The program to replace (with `BPF_F_REPLACE`).
    pub replace_bpf_fd: u32,
    /// `relative_fd` / `relative_id` (with `BPF_F_BEFORE`/`AFTER`, tcx/netkit/cgroup).
    pub relative_fd: u32,
    /// Expected revision of the hook's program list (0: any).
    pub expected_revision: u64,
}

/// `BPF_PROG_ATTACH`.
pub fn prog_attach(attr: &ProgAttachAttr) -> Result<()> {
    let mut a = *attr;
    check("BPF_PROG_ATTACH", sys_bpf(CMD_PROG_ATTACH, &mut a)).map(drop)
}

/// `BPF_PROG_DETACH`.
pub fn prog_detach(attr: &ProgAttachAttr) -> Result<()> {
    let mut a = *attr;
    check("BPF_PROG_DETACH", sys_bpf(CMD_PROG_DETACH, &mut a)).map(drop)
}

/// Attr of `BPF_LINK_CREATE` with the per-type union as 32-bit words (32 bytes).
#[repr(C)]
#[derive(Default)]
struct LinkCreateNetAttr {
    prog_fd: u32,
    target: u32,
    attach_type: u32,
    flags: u32,
    union: [u32; 8],
}

fn link_create_words(
    prog: BorrowedFd<'_>,
    target: u32,
    attach_type: u32,
    flags: u32,
    union: [u32; 8],
) -> Result<LinkFd> {
    let mut a = LinkCreateNetAttr {
        prog_fd: raw(prog),
        target,
        attach_type,
        flags,
        union,
    };
    LinkFd::from_raw_checked("BPF_LINK_CREATE", sys_bpf(cmd::LINK_CREATE, &mut a))
}

/// `BPF_LINK_CREATE` for a multi-program hook with ordering: tcx (`BPF_TCX_INGRESS`/
/// `EGRESS`, target = ifindex) or netkit (`BPF_NETKIT_PRIMARY`/`PEER`). `flags` holds
/// `BPF_F_BEFORE`/`AFTER` (with `BPF_F_ID` when `relative` is a program id, `BPF_F_LINK`
/// when it is a link); `relative` 0 with BEFORE/AFTER means first/last.
pub fn link_create_ordered(
    prog: BorrowedFd<'_>,
    ifindex: u32,
    attach_type: u32,
    flags: u32,
    relative: u32,
    expected_revision: u64,
) -> Result<LinkFd> {
    let mut u = [0u32; 8];
    u[0] = relative;
    // expected_revision is an __u64 at union offset 8.
    u[2] = expected_revision as u32;
    u[3] = (expected_revision >> 32) as u32;
    if cfg!(target_endian = "big") {
        u.swap(2, 3);
    }
    link_create_words(prog, ifindex, attach_type, flags, u)
}

/// `BPF_LINK_CREATE` with `BPF_NETFILTER`: protocol family `pf` (`NFPROTO_IPV4` = 2,
/// `NFPROTO_IPV6` = 10), hook number (`NF_INET_PRE_ROUTING` = 0 ... `POST_ROUTING` = 4),
/// priority (not `INT_MIN`/`INT_MAX`), and `flags` (`NETFILTER_IP_DEFRAG`). The hook is
/// in the caller's network namespace.
pub fn link_create_netfilter(
    prog: BorrowedFd<'_>,
    pf: u32,
    hooknum: u32,
    priority: i32,
    flags: u32,
) -> Result<LinkFd> {
    let mut u = [0u32; 8];
    u[0] = pf;
    u[1] = hooknum;
    u[2] = priority as u32;
    u[3] = flags;
    link_create_words(prog, 0, 45, 0, u)
}

#[repr(C)]
#[derive(Default)]
struct LinkUpdateAttr {
    link_fd: u32,
    new_prog_fd: u32,
    flags: u32,
    old_prog_fd: u32,
}

/// `BPF_LINK_UPDATE`: swaps the program of `link` for `new_prog`; with `old` given
/// (`BPF_F_REPLACE`), only if `old` is the program attached now.
pub fn link_update(
    link: BorrowedFd<'_>,
    new_prog: BorrowedFd<'_>,
    old: Option<BorrowedFd<'_>>,
) -> Result<()> {
    let mut a = LinkUpdateAttr {
        link_fd: raw(link),
        new_prog_fd: raw(new_prog),
        flags: if old.is_some() {
            attach_flags::REPLACE
        } else {
            0
        },
        old_prog_fd: old.map_or(0, raw),
    };
    check("BPF_LINK_UPDATE", sys_bpf(CMD_LINK_UPDATE, &mut a)).map(drop)
}

/// `BPF_LINK_DETACH` (5.9): detaches the link's program now, whoever else holds the link
/// (a pin, an fd inherited by a child); the link stays open but defunct. Link types
/// without a detach operation (perf_event, raw_tp, tracing, kprobe.multi, uprobe.multi,
/// iter) give `EOPNOTSUPP`; kernels before 5.9 give `EINVAL`.
pub fn link_detach(link: BorrowedFd<'_>) -> Result<()> {
    #[repr(C)]
    struct LinkDetachAttr {
        link_fd: u32,
    }
    let mut a = LinkDetachAttr { link_fd: raw(link) };
    check("BPF_LINK_DETACH", sys_bpf(cmd::LINK_DETACH, &mut a)).map(drop)
}

/// `setsockopt(SO_ATTACH_BPF)`: runs `prog` (a socket filter) on every packet `sock` receives.
pub fn socket_attach_bpf(sock: BorrowedFd<'_>, prog: BorrowedFd<'_>) -> Result<()> {
    let fd: i32 = raw(prog) as i32;
    // SAFETY: `fd` is a live i32 and the length passed is its size; `sock` is a valid fd.
    let r = unsafe {
        libc::setsockopt(
            raw(sock) as i32,
            libc::SOL_SOCKET,
            libc::SO_ATTACH_BPF,
            (&fd as *const i32).cast(),
            4,
        )
    };
    check("setsockopt(SO_ATTACH_BPF)", i64::from(r)).map(drop)
}

/// `setsockopt(SO_DETACH_BPF)`: removes the socket filter of `sock`.
pub fn socket_detach_bpf(sock: BorrowedFd<'_>) -> Result<()> {
    let dummy: i32 = 0;
    // SAFETY: `dummy` is a live i32 and the length passed is its size; `sock` is valid.
    let r = unsafe {
        libc::setsockopt(
            raw(sock) as i32,
            libc::SOL_SOCKET,
            libc::SO_DETACH_BPF,
            (&dummy as *const i32).cast(),
            4,
        )
    };
    check("setsockopt(SO_DETACH_BPF)", i64::from(r)).map(drop)
}

#[cfg(test)]
mod net_attr_tests {
    use super::*;

    #[test]
    fn net_attach_attrs_match_the_kernel_layout() {
        assert_eq!(std::mem::size_of::<ProgAttachAttr>(), 32);
        assert_eq!(std::mem::offset_of!(ProgAttachAttr, expected_revision), 24);
        assert_eq!(std::mem::size_of::<LinkCreateNetAttr>(), 48);
        assert_eq!(std::mem::size_of::<LinkUpdateAttr>(), 16);
    }
}

// ---- batch element operations (BPF_MAP_*_BATCH, 5.6+) ----

/// `BPF_MAP_LOOKUP_BATCH`.
pub const CMD_MAP_LOOKUP_BATCH: u32 = 24;
/// `BPF_MAP_LOOKUP_AND_DELETE_BATCH`.
pub const CMD_MAP_LOOKUP_AND_DELETE_BATCH: u32 = 25;
/// `BPF_MAP_UPDATE_BATCH`.
pub const CMD_MAP_UPDATE_BATCH: u32 = 26;
/// `BPF_MAP_DELETE_BATCH`.
pub const CMD_MAP_DELETE_BATCH: u32 = 27;

/// Attr of the `BPF_MAP_*_BATCH` commands (`struct { in_batch, out_batch, keys, values,
/// count, map_fd, elem_flags, flags } batch`).
#[repr(C)]
#[derive(Debug, Default)]
struct BatchAttr {
    in_batch: u64,
    out_batch: u64,
    keys: u64,
    values: u64,
    count: u32,
    map_fd: u32,
    elem_flags: u64,
    flags: u64,
}

/// Outcome of a batch lookup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchOutcome {
    /// Elements copied into the keys/values buffers.
    pub count: u32,
    /// True if the walk reached the end of the map (the kernel answered `ENOENT`, which
    /// comes with a valid `count` on the last batch).
    pub done: bool,
}

/// A failed batch command and how many elements it had processed before failing.
#[derive(Debug, thiserror::Error)]
#[error("{source} (after {processed} elements)")]
pub struct BatchError {
    /// Elements processed before the failure (the kernel's `count` on return).
    pub processed: u32,
    /// The failed command.
    #[source]
    pub source: Error,
}

/// `BPF_MAP_LOOKUP_BATCH` (or, with `delete`, `BPF_MAP_LOOKUP_AND_DELETE_BATCH`): copies up
/// to `count` elements after the position `in_batch` (`None`: from the start) into `keys`
/// (`count * key_size` bytes) and `values` (`count * value_size`, per-CPU maps: the
/// rounded per-CPU size), and the position to resume from into `out_batch` (at least
/// `max(key_size, 4)` bytes: hash maps use a u32 bucket index, other maps a key).
#[allow(clippy::too_many_arguments)]
pub fn map_lookup_batch(
    fd: BorrowedFd<'_>,
    delete: bool,
    in_batch: Option<&[u8]>,
    out_batch: &mut [u8],
    keys: &mut [u8],
    values: &mut [u8],
    count: u32,
    elem_flags: u64,
) -> std::result::Result<BatchOutcome, BatchError> {
    let (cmd, call) = if delete {
        (
            CMD_MAP_LOOKUP_AND_DELETE_BATCH,
            "BPF_MAP_LOOKUP_AND_DELETE_BATCH",
        )
    } else {
        (CMD_MAP_LOOKUP_BATCH, "BPF_MAP_LOOKUP_BATCH")
    };
    let mut a = BatchAttr {
        in_batch: in_batch.map_or(0, slice_ptr),
        out_batch: ptr(out_batch.as_mut_ptr()),
        keys: ptr(keys.as_mut_ptr()),
        values: ptr(values.as_mut_ptr()),
        count,
        map_fd: raw(fd),
        elem_flags,
        flags: 0,
    };
    match check(call, sys_bpf(cmd, &mut a)) {
        Ok(_) => Ok(BatchOutcome {
            count: a.count,
            done: false,
        }),
        Err(Error::Syscall {
            errno: Errno::ENOENT,
            ..
        }) => Ok(BatchOutcome {
            count: a.count,
            done: true,
        }),
        Err(source) => Err(BatchError {
            processed: a.count,
            source,
        }),
    }
}

/// Runs the batch command `cmd` (`call` for errors) with `a`; returns the elements it
/// processed, also on failure (in the [`BatchError`]).
fn batch_count(
    call: &'static str,
    cmd: u32,
    a: &mut BatchAttr,
) -> std::result::Result<u32, BatchError> {
    match check(call, sys_bpf(cmd, a)) {
        Ok(_) => Ok(a.count),
        Err(source) => Err(BatchError {
            processed: a.count,
            source,
        }),
    }
}

/// `BPF_MAP_UPDATE_BATCH`: sets `count` elements from `keys` and `values` with
/// `elem_flags`; returns how many were set.
pub fn map_update_batch(
    fd: BorrowedFd<'_>,
    keys: &[u8],
    values: &[u8],
    count: u32,
    elem_flags: u64,
) -> std::result::Result<u32, BatchError> {
    let mut a = BatchAttr {
        keys: slice_ptr(keys),
        values: slice_ptr(values),
        count,
        map_fd: raw(fd),
        elem_flags,
        ..Default::default()
    };
    batch_count("BPF_MAP_UPDATE_BATCH", CMD_MAP_UPDATE_BATCH, &mut a)
}

/// `BPF_MAP_DELETE_BATCH`: deletes `count` keys from `keys`; returns how many were
/// deleted (a missing key fails the call with `ENOENT` after the ones before it).
pub fn map_delete_batch(
    fd: BorrowedFd<'_>,
    keys: &[u8],
    count: u32,
    elem_flags: u64,
) -> std::result::Result<u32, BatchError> {
    let mut a = BatchAttr {
        keys: slice_ptr(keys),
        count,
        map_fd: raw(fd),
        elem_flags,
        ..Default::default()
    };
    batch_count("BPF_MAP_DELETE_BATCH", CMD_MAP_DELETE_BATCH, &mut a)
}

/// `BPF_F_TEST_RUN_ON_CPU`.
pub const TEST_RUN_ON_CPU: u32 = 1 << 0;

/// `BPF_PROG_TEST_RUN` of a context-only program (raw_tp, syscall) once, on CPU `cpu`
/// when given (`BPF_F_TEST_RUN_ON_CPU`, raw_tp programs only, 5.10+).
pub fn prog_test_run_on_cpu(
    prog: BorrowedFd<'_>,
    ctx: &mut [u8],
    cpu: Option<u32>,
) -> Result<TestRun> {
    let mut a = TestRunAttr {
        prog_fd: raw(prog),
        ctx_size_in: ctx.len() as u32,
        ctx_in: if ctx.is_empty() { 0 } else { ptr(ctx.as_ptr()) },
        flags: if cpu.is_some() { TEST_RUN_ON_CPU } else { 0 },
        cpu: cpu.unwrap_or(0),
        ..Default::default()
    };
    test_run(&mut a)
}

/// `BPF_F_TEST_XDP_LIVE_FRAMES` (5.18+).
pub const TEST_XDP_LIVE_FRAMES: u32 = 1 << 1;

/// `BPF_PROG_TEST_RUN` of an XDP program on `repeat` live frames made from the packet
/// `data` (`BPF_F_TEST_XDP_LIVE_FRAMES`, 5.18+): its verdicts take effect, so redirects
/// (devmap, cpumap) and `XDP_TX` really send the frames. The return value is not reported.
pub fn prog_test_run_xdp_live(prog: BorrowedFd<'_>, data: &[u8], repeat: u32) -> Result<TestRun> {
    let mut a = TestRunAttr {
        prog_fd: raw(prog),
        data_size_in: data.len() as u32,
        data_in: slice_ptr(data),
        repeat: repeat.max(1),
        flags: TEST_XDP_LIVE_FRAMES,
        ..Default::default()
    };
    test_run(&mut a)
}

/// The buffers and options of a general `BPF_PROG_TEST_RUN` ([`prog_test_run_with`]).
#[derive(Debug, Default)]
pub struct TestRunIo<'a> {
    /// Packet data given to the program (`data_in`).
    pub data_in: &'a [u8],
    /// Receives the packet after the run (`data_out`); empty: not asked for.
    pub data_out: &'a mut [u8],
    /// The context (`ctx_in`). Syscall programs write their context back here.
    pub ctx_in: &'a mut [u8],
    /// Receives the context after the run (`ctx_out`); empty: not asked for.
    pub ctx_out: &'a mut [u8],
    /// Runs (0 and 1: once); the reported duration is the average.
    pub repeat: u32,
    /// `BPF_F_TEST_*` flags ([`TEST_RUN_ON_CPU`], [`TEST_XDP_LIVE_FRAMES`], ...).
    pub flags: u32,
    /// The CPU to run on, with [`TEST_RUN_ON_CPU`].
    pub cpu: u32,
    /// Frames per batch with [`TEST_XDP_LIVE_FRAMES`] (0: the kernel's default).
    pub batch_size: u32,
}

/// What a general `BPF_PROG_TEST_RUN` reported.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TestRunOutput {
    /// The program's return value.
    pub retval: u32,
    /// Average run time in ns.
    pub duration: u32,
    /// Bytes of packet data the run produced (may exceed `data_out`'s length).
    pub data_size_out: u32,
    /// Bytes of context the run produced (may exceed `ctx_out`'s length).
    pub ctx_size_out: u32,
}

/// `BPF_PROG_TEST_RUN` with every input and output of the command. On `ENOSPC` (an output
/// buffer too small) the kernel has filled the buffers as far as they go; the error is
/// returned as usual.
pub fn prog_test_run_with(prog: BorrowedFd<'_>, io: &mut TestRunIo<'_>) -> Result<TestRunOutput> {
    let mut a = TestRunAttr {
        prog_fd: raw(prog),
        data_size_in: io.data_in.len() as u32,
        data_in: slice_ptr(io.data_in),
        data_size_out: io.data_out.len() as u32,
        data_out: if io.data_out.is_empty() {
            0
        } else {
            ptr(io.data_out.as_mut_ptr())
        },
        ctx_size_in: io.ctx_in.len() as u32,
        ctx_in: if io.ctx_in.is_empty() {
            0
        } else {
            ptr(io.ctx_in.as_mut_ptr())
        },
        ctx_size_out: io.ctx_out.len() as u32,
        ctx_out: if io.ctx_out.is_empty() {
            0
        } else {
            ptr(io.ctx_out.as_mut_ptr())
        },
        repeat: io.repeat,
        flags: io.flags,
        cpu: io.cpu,
        batch_size: io.batch_size,
        ..Default::default()
    };
    check("BPF_PROG_TEST_RUN", sys_bpf(cmd::PROG_TEST_RUN, &mut a))?;
    Ok(TestRunOutput {
        retval: a.retval,
        duration: a.duration,
        data_size_out: a.data_size_out,
        ctx_size_out: a.ctx_size_out,
    })
}

#[cfg(test)]
mod batch_attr_tests {
    use super::*;

    #[test]
    fn batch_attr_matches_the_kernel_layout() {
        assert_eq!(std::mem::size_of::<BatchAttr>(), 56);
        assert_eq!(std::mem::offset_of!(BatchAttr, count), 32);
        assert_eq!(std::mem::offset_of!(BatchAttr, map_fd), 36);
        assert_eq!(std::mem::offset_of!(BatchAttr, flags), 48);
    }
}

// ---- Maps by id, run-time statistics (used by `oxbpf map` and `Program::run_stats`) ----

/// `BPF_MAP_GET_NEXT_ID`.
pub const CMD_MAP_GET_NEXT_ID: u32 = 12;
/// `BPF_MAP_GET_FD_BY_ID`.
pub const CMD_MAP_GET_FD_BY_ID: u32 = 14;
/// `BPF_ENABLE_STATS`.
pub const CMD_ENABLE_STATS: u32 = 32;
/// `BPF_STATS_RUN_TIME` (`enum bpf_stats_type`): per-program run count and run time.
pub const STATS_RUN_TIME: u32 = 0;

/// `BPF_MAP_GET_NEXT_ID`: the smallest map id greater than `start`; `None` at the end
/// (`ENOENT`).
pub fn map_get_next_id(start: u32) -> Result<Option<u32>> {
    get_next_id(CMD_MAP_GET_NEXT_ID, "BPF_MAP_GET_NEXT_ID", start)
}

/// `BPF_MAP_GET_FD_BY_ID`: opens the map with id `id`.
pub fn map_get_fd_by_id(id: u32) -> Result<MapFd> {
    MapFd::from_raw_checked(
        "BPF_MAP_GET_FD_BY_ID",
        get_fd_by_id(CMD_MAP_GET_FD_BY_ID, id),
    )
}

#[repr(C)]
#[derive(Default)]
struct EnableStatsAttr {
    type_: u32,
}

/// `BPF_ENABLE_STATS` (5.8+): turns on the statistics of `stats_type` (only
/// [`STATS_RUN_TIME`] exists) for as long as the returned descriptor is open.
pub fn enable_stats(stats_type: u32) -> Result<OwnedFd> {
    let mut a = EnableStatsAttr { type_: stats_type };
    let ret = check("BPF_ENABLE_STATS", sys_bpf(CMD_ENABLE_STATS, &mut a))?;
    // SAFETY: the kernel returned a new descriptor that nothing else owns.
    Ok(unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(ret as i32) })
}

#[cfg(test)]
mod id_stats_tests {
    use super::*;

    #[test]
    fn map_by_id_and_stats_commands_have_the_kernel_numbers() {
        assert_eq!(CMD_MAP_GET_NEXT_ID, 12);
        assert_eq!(CMD_MAP_GET_FD_BY_ID, 14);
        assert_eq!(CMD_ENABLE_STATS, 32);
        assert_eq!(std::mem::size_of::<EnableStatsAttr>(), 4);
    }
}

// ---- Links by id (used by `oxbpf link list`) ----

/// `BPF_LINK_GET_FD_BY_ID`.
pub const CMD_LINK_GET_FD_BY_ID: u32 = 30;
/// `BPF_LINK_GET_NEXT_ID`.
pub const CMD_LINK_GET_NEXT_ID: u32 = 31;

/// `BPF_LINK_GET_NEXT_ID` (5.8+): the smallest link id greater than `start`; `None` at the
/// end (`ENOENT`).
pub fn link_get_next_id(start: u32) -> Result<Option<u32>> {
    get_next_id(CMD_LINK_GET_NEXT_ID, "BPF_LINK_GET_NEXT_ID", start)
}

/// `BPF_LINK_GET_FD_BY_ID` (5.8+): opens the link with id `id`.
pub fn link_get_fd_by_id(id: u32) -> Result<LinkFd> {
    LinkFd::from_raw_checked(
        "BPF_LINK_GET_FD_BY_ID",
        get_fd_by_id(CMD_LINK_GET_FD_BY_ID, id),
    )
}

#[cfg(test)]
mod link_id_tests {
    use super::*;

    #[test]
    fn link_by_id_commands_have_the_kernel_numbers() {
        assert_eq!(CMD_LINK_GET_FD_BY_ID, 30);
        assert_eq!(CMD_LINK_GET_NEXT_ID, 31);
    }
}

/// Size of the buffer [`link_info`] fills: `struct bpf_link_info` is 16 bytes of common
/// fields plus a type-specific union of at most 64 bytes (6.18).
pub const LINK_INFO_SIZE: usize = 96;

/// `struct bpf_link_info` as the kernel filled it, with the name it points at (the
/// tracepoint name of raw_tp and perf tracepoint links, the iterator target, the probed
/// function or file of perf kprobe/uprobe links), if the link has one.
#[derive(Debug, Clone)]
pub struct LinkInfoRaw {
    /// The info bytes (common fields at 0..16, the union from 16); little-endian on x86.
    pub bytes: [u8; LINK_INFO_SIZE],
    /// How many bytes the kernel wrote.
    pub len: usize,
    /// The name the type-specific part points at, if any.
    pub name: Option<String>,
}

/// `BPF_OBJ_GET_INFO_BY_FD` on a link: the info, then again with a name buffer where the
/// link type has a name (raw_tp: union+0, iter: union+0, perf_event: union+8).
pub fn link_info(fd: BorrowedFd<'_>) -> Result<LinkInfoRaw> {
    let mut bytes = [0u8; LINK_INFO_SIZE];
    let len = obj_get_info_by_fd(fd, &mut bytes)?;
    let link_type = u32::from_ne_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
    let perf_type = u32::from_ne_bytes([bytes[16], bytes[17], bytes[18], bytes[19]]);
    // Offset of the (name pointer, name length) pair in the info.
    let at = match link_type {
        1 | 4 => Some(16usize),
        7 if (1..=5).contains(&perf_type) => Some(24usize),
        _ => None,
    };
    let Some(at) = at else {
        return Ok(LinkInfoRaw {
            bytes,
            len,
            name: None,
        });
    };
    let mut name = vec![0u8; 4096];
    let mut again = [0u8; LINK_INFO_SIZE];
    again[at..at + 8].copy_from_slice(&ptr(name.as_mut_ptr()).to_ne_bytes());
    again[at + 8..at + 12].copy_from_slice(&(name.len() as u32).to_ne_bytes());
    let len = obj_get_info_by_fd(fd, &mut again)?;
    let n = name.iter().position(|&b| b == 0).unwrap_or(name.len());
    name.truncate(n);
    // The kernel rewrote the pointer field with ours; clear it again.
    again[at..at + 8].fill(0);
    Ok(LinkInfoRaw {
        bytes: again,
        len,
        name: Some(String::from_utf8_lossy(&name).into_owned()),
    })
}

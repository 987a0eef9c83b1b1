//! `bpf()` commands of tracing attachments: `BPF_RAW_TRACEPOINT_OPEN`, the per-type
//! variants of `BPF_LINK_CREATE` (tracing with a cookie, iterators, kprobe.multi with
//! symbols or addresses, uprobe.multi), `BPF_ITER_CREATE`, and perf events of the dynamic
//! kprobe/uprobe PMUs (whose attr carries a pointer to a name).

use std::ffi::{CStr, CString};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use crate::fd::{LinkFd, PerfEventFd};
use crate::perf::PerfEventAttr;
use crate::{Error, Result};

/// `BPF_RAW_TRACEPOINT_OPEN`.
pub const CMD_RAW_TRACEPOINT_OPEN: u32 = 17;
/// `BPF_LINK_CREATE`.
pub const CMD_LINK_CREATE: u32 = 28;
/// `BPF_ITER_CREATE`.
pub const CMD_ITER_CREATE: u32 = 33;

/// `BPF_F_KPROBE_MULTI_RETURN`: a kretprobe.multi link.
pub const KPROBE_MULTI_RETURN: u32 = 1;
/// `BPF_F_UPROBE_MULTI_RETURN`: a uretprobe.multi link.
pub const UPROBE_MULTI_RETURN: u32 = 1;

fn ptr<T>(p: *const T) -> u64 {
    p as usize as u64
}

fn slice_ptr<T>(s: &[T]) -> u64 {
    if s.is_empty() { 0 } else { ptr(s.as_ptr()) }
}

fn raw(fd: BorrowedFd<'_>) -> u32 {
    fd.as_raw_fd() as u32
}

fn sys_bpf<A>(cmd: u32, attr: &mut A) -> i64 {
    // SAFETY: `attr` is a valid, initialised `#[repr(C)]` struct of exactly the size passed;
    // every pointer inside it was set from a live Rust slice/CString that outlives the call.
    unsafe {
        libc::syscall(
            libc::SYS_bpf,
            cmd as libc::c_long,
            attr as *mut A,
            std::mem::size_of::<A>(),
        )
    }
}

fn cstring(what: &str, s: &str) -> Result<CString> {
    CString::new(s).map_err(|_| Error::Invalid(format!("{what} {s:?} contains a NUL byte")))
}

#[repr(C)]
#[derive(Default)]
struct RawTracepointAttr {
    name: u64,
    prog_fd: u32,
    _pad: u32,
    cookie: u64,
}

/// `BPF_RAW_TRACEPOINT_OPEN`: attaches `prog` to raw tracepoint `name` (a raw_tp program),
/// or — with `name` `None` — a BTF-attached program (tp_btf, fentry, fexit, fmod_ret, LSM)
/// at the target given at load. `cookie` needs Linux 6.10; leave it 0 elsewhere.
pub fn raw_tracepoint_open(
    prog: BorrowedFd<'_>,
    name: Option<&str>,
    cookie: u64,
) -> Result<LinkFd> {
    let name = name.map(|n| cstring("raw tracepoint", n)).transpose()?;
    let mut a = RawTracepointAttr {
        name: name.as_ref().map_or(0, |n| ptr(n.as_ptr())),
        prog_fd: raw(prog),
        cookie,
        ..Default::default()
    };
    LinkFd::from_raw_checked(
        "BPF_RAW_TRACEPOINT_OPEN",
        sys_bpf(CMD_RAW_TRACEPOINT_OPEN, &mut a),
    )
}

/// Attr of `BPF_LINK_CREATE` with the largest union member (`uprobe_multi`, 48 bytes).
#[repr(C)]
#[derive(Default)]
struct LinkCreate {
    prog_fd: u32,
    target_fd: u32,
    attach_type: u32,
    flags: u32,
    /// The per-type union, as 8-byte words.
    u: [u64; 6],
}

fn link_create(mut a: LinkCreate) -> Result<LinkFd> {
    LinkFd::from_raw_checked("BPF_LINK_CREATE", sys_bpf(CMD_LINK_CREATE, &mut a))
}

/// `BPF_LINK_CREATE` of a BTF-attached program (`tracing`: target_btf_id 0 = the one given
/// at load, plus a BPF cookie) with `attach_type` (`BPF_TRACE_RAW_TP`, `BPF_TRACE_FENTRY`,
/// `BPF_TRACE_FEXIT`, `BPF_MODIFY_RETURN`, `BPF_LSM_MAC`).
pub fn link_create_tracing(prog: BorrowedFd<'_>, attach_type: u32, cookie: u64) -> Result<LinkFd> {
    link_create(LinkCreate {
        prog_fd: raw(prog),
        attach_type,
        // tracing: { u32 target_btf_id; u64 cookie; }
        u: [0, cookie, 0, 0, 0, 0],
        ..Default::default()
    })
}

/// `BPF_LINK_CREATE` of an iterator (`BPF_TRACE_ITER` = 28) with the raw
/// `union bpf_iter_link_info` bytes (empty: none; `{ u32 map_fd }` for map iterators).
pub fn link_create_iter(prog: BorrowedFd<'_>, iter_info: &[u8]) -> Result<LinkFd> {
    link_create(LinkCreate {
        prog_fd: raw(prog),
        attach_type: 28,
        // { u64 iter_info; u32 iter_info_len; }
        u: [slice_ptr(iter_info), iter_info.len() as u64, 0, 0, 0, 0],
        ..Default::default()
    })
}

/// Targets of a kprobe.multi link: kernel symbol names or addresses.
#[derive(Debug, Clone, Copy)]
pub enum KprobeTargets<'a> {
    /// Function names (resolved by the kernel through kallsyms).
    Symbols(&'a [&'a str]),
    /// Function addresses.
    Addrs(&'a [u64]),
}

/// `BPF_LINK_CREATE` of a kprobe.multi link (`BPF_TRACE_KPROBE_MULTI` = 42 or
/// `BPF_TRACE_KPROBE_SESSION` = 56) with one cookie per target or none; `flags` takes
/// [`KPROBE_MULTI_RETURN`].
pub fn link_create_kprobe_multi(
    prog: BorrowedFd<'_>,
    attach_type: u32,
    targets: KprobeTargets<'_>,
    cookies: &[u64],
    flags: u32,
) -> Result<LinkFd> {
    let (names, addrs): (Vec<CString>, &[u64]) = match targets {
        KprobeTargets::Symbols(s) => (
            s.iter()
                .map(|n| cstring("kernel symbol", n))
                .collect::<Result<_>>()?,
            &[],
        ),
        KprobeTargets::Addrs(a) => (Vec::new(), a),
    };
    let syms: Vec<u64> = names.iter().map(|n| ptr(n.as_ptr())).collect();
    let cnt = syms.len().max(addrs.len());
    if cnt == 0 {
        return Err(Error::Invalid("kprobe.multi: no targets".into()));
    }
    if !cookies.is_empty() && cookies.len() != cnt {
        return Err(Error::Invalid(format!(
            "kprobe.multi: {} cookies for {cnt} targets",
            cookies.len()
        )));
    }
    let cnt = u32::try_from(cnt)
        .map_err(|_| Error::Invalid(format!("kprobe.multi: {cnt} targets is too many")))?;
    link_create(LinkCreate {
        prog_fd: raw(prog),
        attach_type,
        // kprobe_multi: { u32 flags; u32 cnt; u64 syms; u64 addrs; u64 cookies; }
        u: [
            u64::from(flags) | u64::from(cnt) << 32,
            slice_ptr(&syms),
            slice_ptr(addrs),
            slice_ptr(cookies),
            0,
            0,
        ],
        ..Default::default()
    })
}

/// Inputs of a uprobe.multi link.
#[derive(Debug, Clone, Copy)]
pub struct UprobeMulti<'a> {
    /// The executable or library.
    pub path: &'a CStr,
    /// File offsets of the probed instructions.
    pub offsets: &'a [u64],
    /// Offsets of USDT semaphores (reference counters), one per offset, or empty.
    pub ref_ctr_offsets: &'a [u64],
    /// One BPF cookie per offset, or empty.
    pub cookies: &'a [u64],
    /// [`UPROBE_MULTI_RETURN`] or 0.
    pub flags: u32,
    /// Only this process (0: every process).
    pub pid: u32,
}

/// `BPF_LINK_CREATE` of a uprobe.multi link (`BPF_TRACE_UPROBE_MULTI` = 48 or
/// `BPF_TRACE_UPROBE_SESSION` = 57).
pub fn link_create_uprobe_multi(
    prog: BorrowedFd<'_>,
    attach_type: u32,
    u: &UprobeMulti<'_>,
) -> Result<LinkFd> {
    let cnt = u.offsets.len();
    if cnt == 0 {
        return Err(Error::Invalid("uprobe.multi: no offsets".into()));
    }
    for (what, n) in [
        ("ref_ctr_offsets", u.ref_ctr_offsets.len()),
        ("cookies", u.cookies.len()),
    ] {
        if n != 0 && n != cnt {
            return Err(Error::Invalid(format!(
                "uprobe.multi: {n} {what} for {cnt} offsets"
            )));
        }
    }
    link_create(LinkCreate {
        prog_fd: raw(prog),
        attach_type,
        // uprobe_multi: { u64 path; u64 offsets; u64 ref_ctr_offsets; u64 cookies;
        //                 u32 cnt; u32 flags; u32 pid; }
        u: [
            ptr(u.path.as_ptr()),
            slice_ptr(u.offsets),
            slice_ptr(u.ref_ctr_offsets),
            slice_ptr(u.cookies),
            cnt as u64 | u64::from(u.flags) << 32,
            u64::from(u.pid),
        ],
        ..Default::default()
    })
}

#[repr(C)]
#[derive(Default)]
struct IterCreateAttr {
    link_fd: u32,
    flags: u32,
}

/// `BPF_ITER_CREATE`: a new readable fd running the iterator `link` from the start.
pub fn iter_create(link: BorrowedFd<'_>) -> Result<OwnedFd> {
    let mut a = IterCreateAttr {
        link_fd: raw(link),
        flags: 0,
    };
    let ret = sys_bpf(CMD_ITER_CREATE, &mut a);
    if ret < 0 {
        return Err(Error::last("BPF_ITER_CREATE"));
    }
    // SAFETY: the kernel returned a new descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(ret as i32) })
}

/// `perf_event_open` of a dynamic probe PMU (kprobe or uprobe): `attr.config1` is set to
/// the address of `name` (the kernel function or the binary's path) for the call, so the
/// pointer cannot outlive the string. `attr.config2` is the offset (into the function, or
/// in the file); `attr.config` holds the retprobe bit and, for uprobes, the reference
/// counter offset.
pub fn perf_event_open_probe(
    attr: &PerfEventAttr,
    name: &CStr,
    pid: i32,
    cpu: i32,
) -> Result<PerfEventFd> {
    let mut a = *attr;
    a.config1 = ptr(name.as_ptr());
    crate::perf::perf_event_open(&a, pid, cpu)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attr_layouts_match_the_kernel() {
        assert_eq!(std::mem::size_of::<RawTracepointAttr>(), 24);
        assert_eq!(std::mem::size_of::<LinkCreate>(), 64);
        assert_eq!(std::mem::offset_of!(LinkCreate, u), 16);
        assert_eq!(std::mem::size_of::<IterCreateAttr>(), 8);
    }

    #[test]
    fn rejects_mismatched_cookie_counts_before_the_call() {
        // Any fd will do: the check happens before the syscall.
        let f = std::fs::File::open("/dev/null").unwrap();
        let fd = std::os::fd::AsFd::as_fd(&f);
        let e = link_create_kprobe_multi(fd, 42, KprobeTargets::Symbols(&["a", "b"]), &[1], 0)
            .unwrap_err();
        assert!(e.to_string().contains("1 cookies for 2 targets"), "{e}");
        let e = link_create_kprobe_multi(fd, 42, KprobeTargets::Addrs(&[]), &[], 0).unwrap_err();
        assert!(e.to_string().contains("no targets"), "{e}");
        let path = CString::new("/bin/true").unwrap();
        let u = UprobeMulti {
            path: &path,
            offsets: &[1, 2],
            ref_ctr_offsets: &[],
            cookies: &[1, 2, 3],
            flags: 0,
            pid: 0,
        };
        let e = link_create_uprobe_multi(fd, 48, &u).unwrap_err();
        assert!(e.to_string().contains("3 cookies for 2 offsets"), "{e}");
    }
}

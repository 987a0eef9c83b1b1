//! oxbpf-sys: the only crate of oxbpf that talks to the kernel directly.
//!
//! Owns the `bpf()` commands with one `#[repr(C)]` attr struct each ([`bpf`]),
//! `perf_event_open` and its ioctls ([`perf`]), tracing links, iterators and probe PMU
//! events ([`link`]), mmap'd regions that unmap on drop and hand
//! out bounds-checked views ([`mmap`]), the ring buffer's shared-memory protocol
//! primitives ([`ringbuf`]), the perf event ring protocol ([`perf_ring`]), CPU affinity
//! ([`sched`]), epoll ([`epoll`]), rtnetlink for XDP and TC ([`netlink`]), reuseport socket options ([`sockopt`]), whole-file read-only maps ([`filemap`]), tracefs/bpffs mounting ([`fs`]), pidfds and socket cookies ([`ids`]), owned
//! file descriptors per kernel object ([`fd`]) and errno → [`Error`] carrying the command.
//!
//! It does not know about ELF, BTF types or what a program means: callers pass bytes,
//! numbers and descriptors.
//!
//! ```no_run
//! use oxbpf_sys::bpf::{self, MapCreate};
//! let map = bpf::map_create(&MapCreate::new(1 /* BPF_MAP_TYPE_HASH */, 4, 8, 16))?;
//! bpf::map_update_elem(map.as_fd(), &7u32.to_ne_bytes(), &42u64.to_ne_bytes(), 0)?;
//! let mut v = [0u8; 8];
//! assert!(bpf::map_lookup_elem(map.as_fd(), &7u32.to_ne_bytes(), &mut v, 0)?);
//! # Ok::<(), oxbpf_sys::Error>(())
//! ```

pub mod bpf;
pub mod epoll;
mod errno;
pub mod fd;
pub mod filemap;
pub mod fs;
pub mod ids;
pub mod link;
pub mod mmap;
pub mod netlink;
pub mod perf;
pub mod perf_ring;
pub mod pod;
pub mod ringbuf;
pub mod sched;
pub mod sockopt;
pub mod xsk;

pub use errno::Errno;
pub use fd::{BtfFd, LinkFd, MapFd, PerfEventFd, ProgFd};

/// Errors from the kernel interface.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A system call failed; `call` is the command's kernel name (`BPF_MAP_CREATE`).
    #[error("{call}: {errno}")]
    Syscall {
        /// The command or system call that failed.
        call: &'static str,
        /// The kernel's error number.
        errno: Errno,
    },
    /// A file-system operation (tracefs, bpffs, sysfs) failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done, with the path.
        what: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// An argument the kernel would reject, caught before the call.
    #[error("{0}")]
    Invalid(String),
    /// A netlink request failed; `message` is the kernel's extended-ack text, if any.
    #[error("{call}: {errno}{}", message.as_ref().map(|m| format!(": {m}")).unwrap_or_default())]
    Netlink {
        /// The request (`RTM_SETLINK IFLA_XDP`).
        call: &'static str,
        /// The kernel's error number.
        errno: Errno,
        /// The extended-ack message (`NLMSGERR_ATTR_MSG`).
        message: Option<String>,
    },
}

impl Error {
    /// The errno of a failed system call, if this is one.
    pub fn errno(&self) -> Option<Errno> {
        match self {
            Error::Syscall { errno, .. } | Error::Netlink { errno, .. } => Some(*errno),
            Error::Io { source, .. } => source.raw_os_error().map(Errno),
            Error::Invalid(_) => None,
        }
    }

    pub(crate) fn last(call: &'static str) -> Self {
        Error::Syscall {
            call,
            errno: Errno::last(),
        }
    }

    pub(crate) fn io(what: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            what: what.into(),
            source,
        }
    }
}

/// Result alias of this crate.
pub type Result<T> = std::result::Result<T, Error>;

/// The system page size.
pub fn page_size() -> usize {
    // SAFETY: sysconf has no memory-safety preconditions.
    let n = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if n > 0 { n as usize } else { 4096 }
}

/// Number of possible CPUs (`/sys/devices/system/cpu/possible`), which per-CPU maps and
/// perf buffers are sized by. The possible set is fixed at boot: read once per process
/// (every map made asks), a failure read again next time.
pub fn possible_cpus() -> Result<usize> {
    static POSSIBLE: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    if let Some(&n) = POSSIBLE.get() {
        return Ok(n);
    }
    let path = "/sys/devices/system/cpu/possible";
    let text =
        std::fs::read_to_string(path).map_err(|e| Error::io(format!("reading {path}"), e))?;
    let n = parse_cpu_list(text.trim())
        .map(|cpus| cpus.last().map_or(0, |c| c + 1))
        .ok_or_else(|| Error::Invalid(format!("{path}: cannot parse {:?}", text.trim())))?;
    Ok(*POSSIBLE.get_or_init(|| n))
}

/// Parses a kernel CPU list such as `0-3,5,7-8`.
pub fn parse_cpu_list(s: &str) -> Option<Vec<usize>> {
    let mut out = Vec::new();
    for part in s.split(',').filter(|p| !p.is_empty()) {
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b): (usize, usize) = (a.parse().ok()?, b.parse().ok()?);
                if b < a {
                    return None;
                }
                out.extend(a..=b);
            }
            None => out.push(part.parse().ok()?),
        }
    }
    Some(out)
}

/// Raises RLIMIT_MEMLOCK to unlimited, which kernels before 5.11 charge BPF maps and
/// programs against (later kernels account them to the memory cgroup instead, and raising
/// the limit may be refused there: the caller should only do this where it is needed).
pub fn raise_memlock_rlimit() -> Result<()> {
    let lim = libc::rlimit {
        rlim_cur: libc::RLIM_INFINITY,
        rlim_max: libc::RLIM_INFINITY,
    };
    // SAFETY: `lim` is a valid rlimit that outlives the call; setrlimit only reads it.
    let ret = unsafe { libc::setrlimit(libc::RLIMIT_MEMLOCK, &lim) };
    if ret < 0 {
        Err(Error::last("setrlimit(RLIMIT_MEMLOCK)"))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_cpu_lists() {
        assert_eq!(parse_cpu_list("0-3,5"), Some(vec![0, 1, 2, 3, 5]));
        assert_eq!(parse_cpu_list("0"), Some(vec![0]));
        assert_eq!(parse_cpu_list("3-1"), None);
        assert_eq!(parse_cpu_list("x"), None);
    }

    #[test]
    fn syscall_error_names_command_and_errno() {
        let e = Error::Syscall {
            call: "BPF_MAP_CREATE",
            errno: Errno::EPERM,
        };
        assert_eq!(
            e.to_string(),
            "BPF_MAP_CREATE: Operation not permitted (EPERM)"
        );
    }
}

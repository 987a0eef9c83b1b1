//! What the kernel says about a `bpf_link` (`BPF_OBJ_GET_INFO_BY_FD` → `struct
//! bpf_link_info`), and every link in the system by id.

use std::fmt;
use std::os::fd::BorrowedFd;

/// `enum bpf_link_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkType {
    /// `BPF_LINK_TYPE_RAW_TRACEPOINT` (raw_tp, tp_btf before 6.x).
    RawTracepoint,
    /// `BPF_LINK_TYPE_TRACING` (fentry/fexit/fmod_ret/LSM/freplace).
    Tracing,
    /// `BPF_LINK_TYPE_CGROUP`.
    Cgroup,
    /// `BPF_LINK_TYPE_ITER`.
    Iter,
    /// `BPF_LINK_TYPE_NETNS` (sk_lookup, flow dissector).
    Netns,
    /// `BPF_LINK_TYPE_XDP`.
    Xdp,
    /// `BPF_LINK_TYPE_PERF_EVENT` (tracepoint, kprobe, uprobe, perf event).
    PerfEvent,
    /// `BPF_LINK_TYPE_KPROBE_MULTI`.
    KprobeMulti,
    /// `BPF_LINK_TYPE_STRUCT_OPS`.
    StructOps,
    /// `BPF_LINK_TYPE_NETFILTER`.
    Netfilter,
    /// `BPF_LINK_TYPE_TCX`.
    Tcx,
    /// `BPF_LINK_TYPE_UPROBE_MULTI`.
    UprobeMulti,
    /// `BPF_LINK_TYPE_NETKIT`.
    Netkit,
    /// `BPF_LINK_TYPE_SOCKMAP`.
    Sockmap,
    /// A type this crate does not know (its number).
    Other(u32),
}

impl LinkType {
    /// From the kernel's number.
    pub fn from_raw(v: u32) -> Self {
        match v {
            1 => LinkType::RawTracepoint,
            2 => LinkType::Tracing,
            3 => LinkType::Cgroup,
            4 => LinkType::Iter,
            5 => LinkType::Netns,
            6 => LinkType::Xdp,
            7 => LinkType::PerfEvent,
            8 => LinkType::KprobeMulti,
            9 => LinkType::StructOps,
            10 => LinkType::Netfilter,
            11 => LinkType::Tcx,
            12 => LinkType::UprobeMulti,
            13 => LinkType::Netkit,
            14 => LinkType::Sockmap,
            other => LinkType::Other(other),
        }
    }

    /// The name bpftool prints (`perf_event`, `tcx`).
    pub fn name(self) -> String {
        match self {
            LinkType::RawTracepoint => "raw_tracepoint".into(),
            LinkType::Tracing => "tracing".into(),
            LinkType::Cgroup => "cgroup".into(),
            LinkType::Iter => "iter".into(),
            LinkType::Netns => "netns".into(),
            LinkType::Xdp => "xdp".into(),
            LinkType::PerfEvent => "perf_event".into(),
            LinkType::KprobeMulti => "kprobe_multi".into(),
            LinkType::StructOps => "struct_ops".into(),
            LinkType::Netfilter => "netfilter".into(),
            LinkType::Tcx => "tcx".into(),
            LinkType::UprobeMulti => "uprobe_multi".into(),
            LinkType::Netkit => "netkit".into(),
            LinkType::Sockmap => "sockmap".into(),
            LinkType::Other(n) => format!("type {n}"),
        }
    }
}

/// The part of the info for a perf_event link (`enum bpf_perf_event_type`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PerfLinkDetail {
    /// A uprobe (`retprobe` for a uretprobe) at `offset` in `file`.
    Uprobe {
        /// A uretprobe.
        retprobe: bool,
        /// The probed file.
        file: String,
        /// File offset of the probe.
        offset: u32,
        /// The BPF cookie.
        cookie: u64,
        /// The semaphore (reference counter) offset, 0 if none.
        ref_ctr_offset: u64,
    },
    /// A kprobe (`retprobe` for a kretprobe) on `func+offset` (address `addr`, 0 when
    /// kallsyms hides it).
    Kprobe {
        /// A kretprobe.
        retprobe: bool,
        /// The function.
        func: String,
        /// Offset into it.
        offset: u32,
        /// Its address.
        addr: u64,
        /// Times the probe missed.
        missed: u64,
        /// The BPF cookie.
        cookie: u64,
    },
    /// A tracepoint by its event name (`sys_enter_getpid`).
    Tracepoint {
        /// The event name.
        name: String,
        /// The BPF cookie.
        cookie: u64,
    },
    /// A perf event (`perf_event_attr.type` and `config`).
    Event {
        /// `perf_event_attr.type`.
        event_type: u32,
        /// `perf_event_attr.config`.
        config: u64,
        /// The BPF cookie.
        cookie: u64,
    },
    /// A perf event type this crate does not know.
    Other(u32),
}

/// The type-specific part of a link's info.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkDetail {
    /// raw_tp: the tracepoint name.
    RawTracepoint {
        /// The tracepoint name.
        name: String,
    },
    /// tracing: the attach type and the target (BTF object id and type id).
    Tracing {
        /// `enum bpf_attach_type`.
        attach_type: u32,
        /// The target's BTF object (vmlinux, a module, or the program for freplace).
        target_obj_id: u32,
        /// The target's BTF type id.
        target_btf_id: u32,
    },
    /// cgroup: the cgroup id and attach type.
    Cgroup {
        /// The cgroup's id (its kernfs inode).
        cgroup_id: u64,
        /// `enum bpf_attach_type`.
        attach_type: u32,
    },
    /// iter: the target (`task`, `bpf_map_elem`).
    Iter {
        /// The iterator target name.
        target: String,
    },
    /// netns: the namespace inode and attach type.
    Netns {
        /// The network namespace inode.
        netns_ino: u32,
        /// `enum bpf_attach_type`.
        attach_type: u32,
    },
    /// xdp: the interface.
    Xdp {
        /// The interface index.
        ifindex: u32,
    },
    /// perf_event: the event.
    PerfEvent(PerfLinkDetail),
    /// kprobe.multi: how many functions.
    KprobeMulti {
        /// Number of probed functions.
        count: u32,
        /// `BPF_F_KPROBE_MULTI_RETURN` and friends.
        flags: u32,
        /// Times the probes missed.
        missed: u64,
    },
    /// struct_ops: the map.
    StructOps {
        /// The struct_ops map's id.
        map_id: u32,
    },
    /// netfilter: the hook.
    Netfilter {
        /// Protocol family (`NFPROTO_IPV4` = 2).
        pf: u32,
        /// Hook number.
        hooknum: u32,
        /// Priority.
        priority: i32,
        /// Flags.
        flags: u32,
    },
    /// tcx or netkit: the interface and attach type.
    Device {
        /// The interface index.
        ifindex: u32,
        /// `enum bpf_attach_type`.
        attach_type: u32,
    },
    /// uprobe.multi: how many offsets, in which process.
    UprobeMulti {
        /// Number of probed offsets.
        count: u32,
        /// Flags (`BPF_F_UPROBE_MULTI_RETURN`).
        flags: u32,
        /// Process filter (0: all).
        pid: u32,
    },
    /// sockmap: the map and attach type.
    Sockmap {
        /// The map's id.
        map_id: u32,
        /// `enum bpf_attach_type`.
        attach_type: u32,
    },
    /// A link type whose details this crate does not decode.
    None,
}

/// A link's info: type, ids, and the type-specific part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkInfo {
    /// The link type.
    pub link_type: LinkType,
    /// The link's id.
    pub id: u32,
    /// The id of the attached program.
    pub prog_id: u32,
    /// The type-specific part.
    pub detail: LinkDetail,
}

impl LinkInfo {
    /// Decodes the bytes of `struct bpf_link_info` (`name`: what a name pointer in the
    /// union pointed at, if the caller asked the kernel for it).
    pub fn parse(bytes: &[u8], name: Option<&str>) -> crate::Result<Self> {
        if bytes.len() < 16 {
            return Err(crate::Error::InvalidName {
                what: "link info".into(),
                reason: "shorter than the 16 bytes of type, id and prog_id",
            });
        }
        let u32_at = |o: usize| -> u32 {
            bytes
                .get(o..o + 4)
                .map_or(0, |b| u32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
        };
        let u64_at = |o: usize| -> u64 {
            bytes.get(o..o + 8).map_or(0, |b| {
                let mut a = [0u8; 8];
                a.copy_from_slice(b);
                u64::from_ne_bytes(a)
            })
        };
        let name = || name.unwrap_or("").to_string();
        let link_type = LinkType::from_raw(u32_at(0));
        let detail = match link_type {
            LinkType::RawTracepoint => LinkDetail::RawTracepoint { name: name() },
            LinkType::Tracing => LinkDetail::Tracing {
                attach_type: u32_at(16),
                target_obj_id: u32_at(20),
                target_btf_id: u32_at(24),
            },
            LinkType::Cgroup => LinkDetail::Cgroup {
                cgroup_id: u64_at(16),
                attach_type: u32_at(24),
            },
            LinkType::Iter => LinkDetail::Iter { target: name() },
            LinkType::Netns => LinkDetail::Netns {
                netns_ino: u32_at(16),
                attach_type: u32_at(20),
            },
            LinkType::Xdp => LinkDetail::Xdp {
                ifindex: u32_at(16),
            },
            LinkType::PerfEvent => LinkDetail::PerfEvent(match u32_at(16) {
                t @ (1 | 2) => PerfLinkDetail::Uprobe {
                    retprobe: t == 2,
                    file: name(),
                    offset: u32_at(36),
                    cookie: u64_at(40),
                    ref_ctr_offset: u64_at(48),
                },
                t @ (3 | 4) => PerfLinkDetail::Kprobe {
                    retprobe: t == 4,
                    func: name(),
                    offset: u32_at(36),
                    addr: u64_at(40),
                    missed: u64_at(48),
                    cookie: u64_at(56),
                },
                5 => PerfLinkDetail::Tracepoint {
                    name: name(),
                    cookie: u64_at(40),
                },
                6 => PerfLinkDetail::Event {
                    config: u64_at(24),
                    event_type: u32_at(32),
                    cookie: u64_at(40),
                },
                other => PerfLinkDetail::Other(other),
            }),
            LinkType::KprobeMulti => LinkDetail::KprobeMulti {
                count: u32_at(24),
                flags: u32_at(28),
                missed: u64_at(32),
            },
            LinkType::StructOps => LinkDetail::StructOps { map_id: u32_at(16) },
            LinkType::Netfilter => LinkDetail::Netfilter {
                pf: u32_at(16),
                hooknum: u32_at(20),
                priority: u32_at(24) as i32,
                flags: u32_at(28),
            },
            LinkType::Tcx | LinkType::Netkit => LinkDetail::Device {
                ifindex: u32_at(16),
                attach_type: u32_at(20),
            },
            LinkType::UprobeMulti => LinkDetail::UprobeMulti {
                count: u32_at(52),
                flags: u32_at(56),
                pid: u32_at(60),
            },
            LinkType::Sockmap => LinkDetail::Sockmap {
                map_id: u32_at(16),
                attach_type: u32_at(20),
            },
            LinkType::Other(_) => LinkDetail::None,
        };
        Ok(LinkInfo {
            link_type,
            id: u32_at(4),
            prog_id: u32_at(8),
            detail,
        })
    }

    /// One line naming what the link is attached to (`tracepoint sys_enter_getpid`).
    pub fn target(&self) -> String {
        self.detail.to_string()
    }
}

impl fmt::Display for LinkDetail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LinkDetail::RawTracepoint { name } => write!(f, "raw_tp {name}"),
            LinkDetail::Tracing {
                attach_type,
                target_obj_id,
                target_btf_id,
            } => write!(
                f,
                "attach_type {attach_type} btf_obj {target_obj_id} btf_id {target_btf_id}"
            ),
            LinkDetail::Cgroup {
                cgroup_id,
                attach_type,
            } => write!(f, "cgroup {cgroup_id} attach_type {attach_type}"),
            LinkDetail::Iter { target } => write!(f, "iter {target}"),
            LinkDetail::Netns {
                netns_ino,
                attach_type,
            } => write!(f, "netns {netns_ino} attach_type {attach_type}"),
            LinkDetail::Xdp { ifindex } => write!(f, "ifindex {ifindex}"),
            LinkDetail::PerfEvent(p) => match p {
                PerfLinkDetail::Uprobe {
                    retprobe,
                    file,
                    offset,
                    cookie,
                    ..
                } => write!(
                    f,
                    "{} {file}+{offset:#x} cookie {cookie}",
                    if *retprobe { "uretprobe" } else { "uprobe" }
                ),
                PerfLinkDetail::Kprobe {
                    retprobe,
                    func,
                    offset,
                    cookie,
                    ..
                } => write!(
                    f,
                    "{} {func}+{offset:#x} cookie {cookie}",
                    if *retprobe { "kretprobe" } else { "kprobe" }
                ),
                PerfLinkDetail::Tracepoint { name, cookie } => {
                    write!(f, "tracepoint {name} cookie {cookie}")
                }
                PerfLinkDetail::Event {
                    event_type,
                    config,
                    cookie,
                } => write!(
                    f,
                    "event type {event_type} config {config:#x} cookie {cookie}"
                ),
                PerfLinkDetail::Other(t) => write!(f, "perf event type {t}"),
            },
            LinkDetail::KprobeMulti { count, flags, .. } => {
                write!(f, "{count} functions flags {flags:#x}")
            }
            LinkDetail::StructOps { map_id } => write!(f, "map {map_id}"),
            LinkDetail::Netfilter {
                pf,
                hooknum,
                priority,
                ..
            } => write!(f, "pf {pf} hook {hooknum} prio {priority}"),
            LinkDetail::Device {
                ifindex,
                attach_type,
            } => write!(f, "ifindex {ifindex} attach_type {attach_type}"),
            LinkDetail::UprobeMulti { count, pid, .. } => {
                write!(f, "{count} offsets pid {pid}")
            }
            LinkDetail::Sockmap {
                map_id,
                attach_type,
            } => write!(f, "map {map_id} attach_type {attach_type}"),
            LinkDetail::None => Ok(()),
        }
    }
}

/// The info of the link behind `fd`.
pub fn info_by_fd(fd: BorrowedFd<'_>) -> crate::Result<LinkInfo> {
    let raw = oxbpf_sys::bpf::link_info(fd).map_err(|source| crate::Error::Kernel {
        what: "link info".into(),
        source,
    })?;
    LinkInfo::parse(
        &raw.bytes[..raw.len.min(raw.bytes.len())],
        raw.name.as_deref(),
    )
}

/// Every link in the system (`BPF_LINK_GET_NEXT_ID` / `BPF_LINK_GET_FD_BY_ID`), in id
/// order; links that go away while listing (or are being released) are skipped.
pub fn list() -> crate::Result<Vec<LinkInfo>> {
    let mut out = Vec::new();
    let mut id = 0;
    loop {
        let next = oxbpf_sys::bpf::link_get_next_id(id).map_err(|source| crate::Error::Kernel {
            what: "the list of links".into(),
            source,
        })?;
        let Some(next) = next else { break };
        id = next;
        let fd = match oxbpf_sys::bpf::link_get_fd_by_id(id) {
            Ok(fd) => fd,
            // Gone meanwhile (ENOENT), or being released (EAGAIN: its id already cleared).
            Err(e)
                if matches!(
                    e.errno(),
                    Some(oxbpf_sys::Errno::ENOENT | oxbpf_sys::Errno::EAGAIN)
                ) =>
            {
                continue;
            }
            Err(source) => {
                return Err(crate::Error::Kernel {
                    what: format!("link {id}"),
                    source,
                });
            }
        };
        out.push(info_by_fd(fd.as_fd())?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(words: &[(usize, u32)]) -> Vec<u8> {
        let mut b = vec![0u8; 96];
        for &(o, v) in words {
            b[o..o + 4].copy_from_slice(&v.to_ne_bytes());
        }
        b
    }

    #[test]
    fn decodes_perf_tracepoint_link() {
        let b = info(&[(0, 7), (4, 12), (8, 34), (16, 5), (40, 99)]);
        let i = LinkInfo::parse(&b, Some("sys_enter_getpid")).unwrap();
        assert_eq!(i.link_type, LinkType::PerfEvent);
        assert_eq!((i.id, i.prog_id), (12, 34));
        assert_eq!(
            i.detail,
            LinkDetail::PerfEvent(PerfLinkDetail::Tracepoint {
                name: "sys_enter_getpid".into(),
                cookie: 99
            })
        );
        assert_eq!(i.target(), "tracepoint sys_enter_getpid cookie 99");
    }

    #[test]
    fn decodes_tcx_and_xdp_ifindex() {
        let b = info(&[(0, 11), (16, 3), (20, 46)]);
        let i = LinkInfo::parse(&b, None).unwrap();
        assert_eq!(
            i.detail,
            LinkDetail::Device {
                ifindex: 3,
                attach_type: 46
            }
        );
        let b = info(&[(0, 6), (16, 7)]);
        assert_eq!(
            LinkInfo::parse(&b, None).unwrap().detail,
            LinkDetail::Xdp { ifindex: 7 }
        );
    }

    #[test]
    fn rejects_info_shorter_than_common_fields() {
        assert!(LinkInfo::parse(&[0u8; 15], None).is_err());
    }

    #[test]
    fn short_union_reads_as_zero_not_panic() {
        let b = info(&[(0, 7), (16, 3)]);
        let i = LinkInfo::parse(&b[..20], Some("do_sys_open")).unwrap();
        assert!(matches!(
            i.detail,
            LinkDetail::PerfEvent(PerfLinkDetail::Kprobe { addr: 0, .. })
        ));
    }

    #[test]
    fn unknown_link_type_is_kept_by_number() {
        let b = info(&[(0, 200)]);
        let i = LinkInfo::parse(&b, None).unwrap();
        assert_eq!(i.link_type, LinkType::Other(200));
        assert_eq!(i.link_type.name(), "type 200");
    }
}

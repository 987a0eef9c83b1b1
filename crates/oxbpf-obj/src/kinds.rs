//! Kernel enums (`enum bpf_prog_type`, `enum bpf_attach_type`, `enum bpf_map_type` from
//! `include/uapi/linux/bpf.h`) as forward-compatible newtypes.
//!
//! Each is a `u32` newtype with one associated const per kernel name, named as in `bpf.h`
//! without its prefix (`ProgramType::TRACEPOINT` is `BPF_PROG_TYPE_TRACEPOINT` = 5). Values
//! the crate does not know still round-trip; `Debug` and `Display` print the kernel name.

use std::fmt;

macro_rules! kernel_enum {
    (
        $(#[$meta:meta])*
        $ty:ident, $what:literal, $prefix:literal,
        { $( $name:ident = $val:literal, $kname:literal; )* }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $ty(pub u32);

        #[allow(missing_docs)]
        impl $ty {
            $(
                #[doc = concat!("`", $kname, "` (", stringify!($val), ").")]
                pub const $name: $ty = $ty($val);
            )*

            const NAMES: &'static [(u32, &'static str)] = &[ $( ($val, $kname), )* ];

            /// The kernel's name for this value (`"BPF_..."`), if this crate knows it.
            pub fn kernel_name(self) -> Option<&'static str> {
                Self::NAMES.iter().find(|(v, _)| *v == self.0).map(|(_, n)| *n)
            }
        }

        impl fmt::Debug for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self.kernel_name() {
                    Some(n) => f.write_str(n),
                    None => write!(f, concat!(stringify!($ty), "({})"), self.0),
                }
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self.kernel_name() {
                    Some(n) => f.write_str(n),
                    None => write!(f, concat!($prefix, "{} (unknown ", $what, ")"), self.0),
                }
            }
        }

        impl From<u32> for $ty {
            fn from(v: u32) -> Self {
                $ty(v)
            }
        }

        impl From<$ty> for u32 {
            fn from(v: $ty) -> u32 {
                v.0
            }
        }
    };
}

kernel_enum! {
    /// A BPF program type (`enum bpf_prog_type`).
    ProgramType, "program type", "BPF_PROG_TYPE_",
    {
        UNSPEC = 0, "BPF_PROG_TYPE_UNSPEC";
        SOCKET_FILTER = 1, "BPF_PROG_TYPE_SOCKET_FILTER";
        KPROBE = 2, "BPF_PROG_TYPE_KPROBE";
        SCHED_CLS = 3, "BPF_PROG_TYPE_SCHED_CLS";
        SCHED_ACT = 4, "BPF_PROG_TYPE_SCHED_ACT";
        TRACEPOINT = 5, "BPF_PROG_TYPE_TRACEPOINT";
        XDP = 6, "BPF_PROG_TYPE_XDP";
        PERF_EVENT = 7, "BPF_PROG_TYPE_PERF_EVENT";
        CGROUP_SKB = 8, "BPF_PROG_TYPE_CGROUP_SKB";
        CGROUP_SOCK = 9, "BPF_PROG_TYPE_CGROUP_SOCK";
        LWT_IN = 10, "BPF_PROG_TYPE_LWT_IN";
        LWT_OUT = 11, "BPF_PROG_TYPE_LWT_OUT";
        LWT_XMIT = 12, "BPF_PROG_TYPE_LWT_XMIT";
        SOCK_OPS = 13, "BPF_PROG_TYPE_SOCK_OPS";
        SK_SKB = 14, "BPF_PROG_TYPE_SK_SKB";
        CGROUP_DEVICE = 15, "BPF_PROG_TYPE_CGROUP_DEVICE";
        SK_MSG = 16, "BPF_PROG_TYPE_SK_MSG";
        RAW_TRACEPOINT = 17, "BPF_PROG_TYPE_RAW_TRACEPOINT";
        CGROUP_SOCK_ADDR = 18, "BPF_PROG_TYPE_CGROUP_SOCK_ADDR";
        LWT_SEG6LOCAL = 19, "BPF_PROG_TYPE_LWT_SEG6LOCAL";
        LIRC_MODE2 = 20, "BPF_PROG_TYPE_LIRC_MODE2";
        SK_REUSEPORT = 21, "BPF_PROG_TYPE_SK_REUSEPORT";
        FLOW_DISSECTOR = 22, "BPF_PROG_TYPE_FLOW_DISSECTOR";
        CGROUP_SYSCTL = 23, "BPF_PROG_TYPE_CGROUP_SYSCTL";
        RAW_TRACEPOINT_WRITABLE = 24, "BPF_PROG_TYPE_RAW_TRACEPOINT_WRITABLE";
        CGROUP_SOCKOPT = 25, "BPF_PROG_TYPE_CGROUP_SOCKOPT";
        TRACING = 26, "BPF_PROG_TYPE_TRACING";
        STRUCT_OPS = 27, "BPF_PROG_TYPE_STRUCT_OPS";
        EXT = 28, "BPF_PROG_TYPE_EXT";
        LSM = 29, "BPF_PROG_TYPE_LSM";
        SK_LOOKUP = 30, "BPF_PROG_TYPE_SK_LOOKUP";
        SYSCALL = 31, "BPF_PROG_TYPE_SYSCALL";
        NETFILTER = 32, "BPF_PROG_TYPE_NETFILTER";
    }
}

kernel_enum! {
    /// A BPF attach type (`enum bpf_attach_type`), used as `expected_attach_type` and when attaching.
    AttachType, "attach type", "BPF_",
    {
        CGROUP_INET_INGRESS = 0, "BPF_CGROUP_INET_INGRESS";
        CGROUP_INET_EGRESS = 1, "BPF_CGROUP_INET_EGRESS";
        CGROUP_INET_SOCK_CREATE = 2, "BPF_CGROUP_INET_SOCK_CREATE";
        CGROUP_SOCK_OPS = 3, "BPF_CGROUP_SOCK_OPS";
        SK_SKB_STREAM_PARSER = 4, "BPF_SK_SKB_STREAM_PARSER";
        SK_SKB_STREAM_VERDICT = 5, "BPF_SK_SKB_STREAM_VERDICT";
        CGROUP_DEVICE = 6, "BPF_CGROUP_DEVICE";
        SK_MSG_VERDICT = 7, "BPF_SK_MSG_VERDICT";
        CGROUP_INET4_BIND = 8, "BPF_CGROUP_INET4_BIND";
        CGROUP_INET6_BIND = 9, "BPF_CGROUP_INET6_BIND";
        CGROUP_INET4_CONNECT = 10, "BPF_CGROUP_INET4_CONNECT";
        CGROUP_INET6_CONNECT = 11, "BPF_CGROUP_INET6_CONNECT";
        CGROUP_INET4_POST_BIND = 12, "BPF_CGROUP_INET4_POST_BIND";
        CGROUP_INET6_POST_BIND = 13, "BPF_CGROUP_INET6_POST_BIND";
        CGROUP_UDP4_SENDMSG = 14, "BPF_CGROUP_UDP4_SENDMSG";
        CGROUP_UDP6_SENDMSG = 15, "BPF_CGROUP_UDP6_SENDMSG";
        LIRC_MODE2 = 16, "BPF_LIRC_MODE2";
        FLOW_DISSECTOR = 17, "BPF_FLOW_DISSECTOR";
        CGROUP_SYSCTL = 18, "BPF_CGROUP_SYSCTL";
        CGROUP_UDP4_RECVMSG = 19, "BPF_CGROUP_UDP4_RECVMSG";
        CGROUP_UDP6_RECVMSG = 20, "BPF_CGROUP_UDP6_RECVMSG";
        CGROUP_GETSOCKOPT = 21, "BPF_CGROUP_GETSOCKOPT";
        CGROUP_SETSOCKOPT = 22, "BPF_CGROUP_SETSOCKOPT";
        TRACE_RAW_TP = 23, "BPF_TRACE_RAW_TP";
        TRACE_FENTRY = 24, "BPF_TRACE_FENTRY";
        TRACE_FEXIT = 25, "BPF_TRACE_FEXIT";
        MODIFY_RETURN = 26, "BPF_MODIFY_RETURN";
        LSM_MAC = 27, "BPF_LSM_MAC";
        TRACE_ITER = 28, "BPF_TRACE_ITER";
        CGROUP_INET4_GETPEERNAME = 29, "BPF_CGROUP_INET4_GETPEERNAME";
        CGROUP_INET6_GETPEERNAME = 30, "BPF_CGROUP_INET6_GETPEERNAME";
        CGROUP_INET4_GETSOCKNAME = 31, "BPF_CGROUP_INET4_GETSOCKNAME";
        CGROUP_INET6_GETSOCKNAME = 32, "BPF_CGROUP_INET6_GETSOCKNAME";
        XDP_DEVMAP = 33, "BPF_XDP_DEVMAP";
        CGROUP_INET_SOCK_RELEASE = 34, "BPF_CGROUP_INET_SOCK_RELEASE";
        XDP_CPUMAP = 35, "BPF_XDP_CPUMAP";
        SK_LOOKUP = 36, "BPF_SK_LOOKUP";
        XDP = 37, "BPF_XDP";
        SK_SKB_VERDICT = 38, "BPF_SK_SKB_VERDICT";
        SK_REUSEPORT_SELECT = 39, "BPF_SK_REUSEPORT_SELECT";
        SK_REUSEPORT_SELECT_OR_MIGRATE = 40, "BPF_SK_REUSEPORT_SELECT_OR_MIGRATE";
        PERF_EVENT = 41, "BPF_PERF_EVENT";
        TRACE_KPROBE_MULTI = 42, "BPF_TRACE_KPROBE_MULTI";
        LSM_CGROUP = 43, "BPF_LSM_CGROUP";
        STRUCT_OPS = 44, "BPF_STRUCT_OPS";
        NETFILTER = 45, "BPF_NETFILTER";
        TCX_INGRESS = 46, "BPF_TCX_INGRESS";
        TCX_EGRESS = 47, "BPF_TCX_EGRESS";
        TRACE_UPROBE_MULTI = 48, "BPF_TRACE_UPROBE_MULTI";
        CGROUP_UNIX_CONNECT = 49, "BPF_CGROUP_UNIX_CONNECT";
        CGROUP_UNIX_SENDMSG = 50, "BPF_CGROUP_UNIX_SENDMSG";
        CGROUP_UNIX_RECVMSG = 51, "BPF_CGROUP_UNIX_RECVMSG";
        CGROUP_UNIX_GETPEERNAME = 52, "BPF_CGROUP_UNIX_GETPEERNAME";
        CGROUP_UNIX_GETSOCKNAME = 53, "BPF_CGROUP_UNIX_GETSOCKNAME";
        NETKIT_PRIMARY = 54, "BPF_NETKIT_PRIMARY";
        NETKIT_PEER = 55, "BPF_NETKIT_PEER";
        TRACE_KPROBE_SESSION = 56, "BPF_TRACE_KPROBE_SESSION";
        TRACE_UPROBE_SESSION = 57, "BPF_TRACE_UPROBE_SESSION";
        TRACE_FSESSION = 58, "BPF_TRACE_FSESSION";
        TRACE_FENTRY_MULTI = 59, "BPF_TRACE_FENTRY_MULTI";
        TRACE_FEXIT_MULTI = 60, "BPF_TRACE_FEXIT_MULTI";
        TRACE_FSESSION_MULTI = 61, "BPF_TRACE_FSESSION_MULTI";
    }
}

kernel_enum! {
    /// A BPF map type (`enum bpf_map_type`).
    MapType, "map type", "BPF_MAP_TYPE_",
    {
        UNSPEC = 0, "BPF_MAP_TYPE_UNSPEC";
        HASH = 1, "BPF_MAP_TYPE_HASH";
        ARRAY = 2, "BPF_MAP_TYPE_ARRAY";
        PROG_ARRAY = 3, "BPF_MAP_TYPE_PROG_ARRAY";
        PERF_EVENT_ARRAY = 4, "BPF_MAP_TYPE_PERF_EVENT_ARRAY";
        PERCPU_HASH = 5, "BPF_MAP_TYPE_PERCPU_HASH";
        PERCPU_ARRAY = 6, "BPF_MAP_TYPE_PERCPU_ARRAY";
        STACK_TRACE = 7, "BPF_MAP_TYPE_STACK_TRACE";
        CGROUP_ARRAY = 8, "BPF_MAP_TYPE_CGROUP_ARRAY";
        LRU_HASH = 9, "BPF_MAP_TYPE_LRU_HASH";
        LRU_PERCPU_HASH = 10, "BPF_MAP_TYPE_LRU_PERCPU_HASH";
        LPM_TRIE = 11, "BPF_MAP_TYPE_LPM_TRIE";
        ARRAY_OF_MAPS = 12, "BPF_MAP_TYPE_ARRAY_OF_MAPS";
        HASH_OF_MAPS = 13, "BPF_MAP_TYPE_HASH_OF_MAPS";
        DEVMAP = 14, "BPF_MAP_TYPE_DEVMAP";
        SOCKMAP = 15, "BPF_MAP_TYPE_SOCKMAP";
        CPUMAP = 16, "BPF_MAP_TYPE_CPUMAP";
        XSKMAP = 17, "BPF_MAP_TYPE_XSKMAP";
        SOCKHASH = 18, "BPF_MAP_TYPE_SOCKHASH";
        CGROUP_STORAGE = 19, "BPF_MAP_TYPE_CGROUP_STORAGE";
        CGROUP_STORAGE_DEPRECATED = 19, "BPF_MAP_TYPE_CGROUP_STORAGE_DEPRECATED";
        REUSEPORT_SOCKARRAY = 20, "BPF_MAP_TYPE_REUSEPORT_SOCKARRAY";
        PERCPU_CGROUP_STORAGE = 21, "BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE";
        PERCPU_CGROUP_STORAGE_DEPRECATED = 21, "BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE_DEPRECATED";
        QUEUE = 22, "BPF_MAP_TYPE_QUEUE";
        STACK = 23, "BPF_MAP_TYPE_STACK";
        SK_STORAGE = 24, "BPF_MAP_TYPE_SK_STORAGE";
        DEVMAP_HASH = 25, "BPF_MAP_TYPE_DEVMAP_HASH";
        STRUCT_OPS = 26, "BPF_MAP_TYPE_STRUCT_OPS";
        RINGBUF = 27, "BPF_MAP_TYPE_RINGBUF";
        INODE_STORAGE = 28, "BPF_MAP_TYPE_INODE_STORAGE";
        TASK_STORAGE = 29, "BPF_MAP_TYPE_TASK_STORAGE";
        BLOOM_FILTER = 30, "BPF_MAP_TYPE_BLOOM_FILTER";
        USER_RINGBUF = 31, "BPF_MAP_TYPE_USER_RINGBUF";
        CGRP_STORAGE = 32, "BPF_MAP_TYPE_CGRP_STORAGE";
        ARENA = 33, "BPF_MAP_TYPE_ARENA";
        INSN_ARRAY = 34, "BPF_MAP_TYPE_INSN_ARRAY";
        RHASH = 35, "BPF_MAP_TYPE_RHASH";
    }
}

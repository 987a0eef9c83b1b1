//! `BPF_PROG_TEST_RUN`: run a loaded program once (or `repeat` times) on given input and
//! read back its return value, run time and output packet / context.
//!
//! Which program types the kernel can run this way is fixed by the `.test_run` member of
//! their `bpf_prog_ops` (net/core/filter.c, kernel/trace/bpf_trace.c, net/bpf/test_run.c,
//! kernel/bpf/bpf_struct_ops.c, net/netfilter/nf_bpf_link.c): [`test_run_kind`] is that
//! table. A program of another type gets [`TestRunError::Unsupported`] before any syscall.
//! Like bpftool (and libbpf, which passes the buffers through), no input is made up:
//! packet types need the packet (`data_in`, at least an Ethernet header for skb types).

use std::os::fd::BorrowedFd;

use oxbpf_obj::ProgramType;
use oxbpf_sys::Errno;
use oxbpf_sys::bpf::{self, TestRunIo};

use crate::Program;

/// What input a program type runs on under `BPF_PROG_TEST_RUN`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TestRunKind {
    /// An skb built from the packet (`data_in`, Ethernet frame of at least 14 bytes); the
    /// context is an optional `struct __sk_buff` (socket filter, tc, cgroup_skb, lwt_*).
    Skb,
    /// An xdp_buff made from the packet; optional `struct xdp_md` context.
    Xdp,
    /// The packet is dissected; the context out is `struct bpf_flow_keys`.
    FlowDissector,
    /// A `struct bpf_sk_lookup` context, no packet.
    SkLookup,
    /// The context is the tracepoint's u64 arguments; may run on a chosen CPU.
    RawTracepoint,
    /// fentry/fexit/fmod_ret: run by calling the kernel's `bpf_fentry_test*` functions.
    Tracing,
    /// A struct_ops callback, the context its u64 arguments.
    StructOps,
    /// A syscall program: the context (any bytes) is read and written back in place.
    Syscall,
    /// A netfilter hook on an IPv4/IPv6 packet (`data_in`); context `struct bpf_nf_ctx`.
    Netfilter,
}

impl TestRunKind {
    /// Whether the run needs packet data.
    pub fn needs_data(self) -> bool {
        matches!(
            self,
            TestRunKind::Skb
                | TestRunKind::Xdp
                | TestRunKind::FlowDissector
                | TestRunKind::Netfilter
        )
    }

    /// Whether the kernel accepts packet data at all.
    pub fn takes_data(self) -> bool {
        self.needs_data()
    }

    /// Whether the kernel copies the context out (`ctx_out`); the others refuse a
    /// `ctx_out` buffer (raw_tp) or ignore it, and syscall programs write `ctx_in` back.
    pub fn returns_ctx(self) -> bool {
        matches!(
            self,
            TestRunKind::Skb
                | TestRunKind::Xdp
                | TestRunKind::FlowDissector
                | TestRunKind::SkLookup
        )
    }
}

/// How programs of type `t` run under `BPF_PROG_TEST_RUN`, or `None` when the kernel has no
/// `.test_run` for them (kprobe, tracepoint, perf_event, cgroup_sock*, sock_ops, sk_skb,
/// sk_msg, lsm, ext, raw_tp writable, ...).
pub fn test_run_kind(t: ProgramType) -> Option<TestRunKind> {
    use TestRunKind as K;
    Some(match t {
        ProgramType::SOCKET_FILTER
        | ProgramType::SCHED_CLS
        | ProgramType::SCHED_ACT
        | ProgramType::CGROUP_SKB
        | ProgramType::LWT_IN
        | ProgramType::LWT_OUT
        | ProgramType::LWT_XMIT
        | ProgramType::LWT_SEG6LOCAL => K::Skb,
        ProgramType::XDP => K::Xdp,
        ProgramType::FLOW_DISSECTOR => K::FlowDissector,
        ProgramType::SK_LOOKUP => K::SkLookup,
        ProgramType::RAW_TRACEPOINT => K::RawTracepoint,
        ProgramType::TRACING => K::Tracing,
        ProgramType::STRUCT_OPS => K::StructOps,
        ProgramType::SYSCALL => K::Syscall,
        ProgramType::NETFILTER => K::Netfilter,
        _ => return None,
    })
}

/// Inputs of [`Program::test_run_with`] / [`test_run_fd`].
#[derive(Clone, Debug, Default)]
pub struct TestRunOptions {
    /// Packet data (`data_in`).
    pub data_in: Vec<u8>,
    /// Context bytes (`ctx_in`): `struct __sk_buff`, `struct xdp_md`, the u64 arguments, ...
    pub ctx_in: Vec<u8>,
    /// Room for the output packet; `None`: the input's size plus 4096 (XDP may grow it).
    pub data_size_out: Option<usize>,
    /// Room for the output context; `None`: the input context's size.
    pub ctx_size_out: Option<usize>,
    /// Runs; 0 or 1 run once. The duration reported is the average.
    pub repeat: u32,
    /// Run on this CPU (`BPF_F_TEST_RUN_ON_CPU`; raw_tp programs only).
    pub cpu: Option<u32>,
    /// Other `BPF_F_TEST_*` flags (e.g. [`oxbpf_sys::bpf::TEST_XDP_LIVE_FRAMES`]).
    pub flags: u32,
}

/// What a test run reported.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TestRunResult {
    /// The program's return value.
    pub retval: u32,
    /// Average run time in nanoseconds.
    pub duration_ns: u32,
    /// The packet after the run (empty for context-only types).
    pub data_out: Vec<u8>,
    /// The context after the run (syscall programs: the context written back in place).
    pub ctx_out: Vec<u8>,
}

/// A test run that could not be done.
#[derive(Debug, thiserror::Error)]
pub enum TestRunError {
    /// The kernel cannot run programs of this type with `BPF_PROG_TEST_RUN`.
    #[error(
        "program {program:?}: programs of type {type_name} cannot be run with BPF_PROG_TEST_RUN"
    )]
    Unsupported {
        /// The program.
        program: String,
        /// Its type, as the kernel's `BPF_PROG_TYPE_*` suffix in lower case.
        type_name: String,
    },
    /// The input does not fit the program type.
    #[error("program {program:?} (type {type_name}): {reason}")]
    BadInput {
        /// The program.
        program: String,
        /// Its type.
        type_name: String,
        /// What is wrong with the input.
        reason: String,
    },
    /// The kernel refused the run.
    #[error("program {program:?}: {source}{hint}")]
    Kernel {
        /// The program.
        program: String,
        /// The failed `BPF_PROG_TEST_RUN`.
        source: oxbpf_sys::Error,
        /// What the errno likely means here (may be empty).
        hint: String,
    },
}

/// `t`'s kernel name without `BPF_PROG_TYPE_`, lower case (`socket_filter`).
fn type_name(t: ProgramType) -> String {
    match t
        .kernel_name()
        .and_then(|n| n.strip_prefix("BPF_PROG_TYPE_"))
    {
        Some(n) => n.to_ascii_lowercase(),
        None => format!("unknown ({})", t.0),
    }
}

/// Checks `opts` against what programs of `kind` accept; the reason when they do not.
fn check_input(kind: TestRunKind, opts: &TestRunOptions) -> Result<(), String> {
    if kind.needs_data() && opts.data_in.is_empty() {
        return Err("needs packet data (data_in): give the packet the program runs on".into());
    }
    if matches!(
        kind,
        TestRunKind::Skb | TestRunKind::Xdp | TestRunKind::FlowDissector
    ) && opts.data_in.len() < 14
    {
        return Err(format!(
            "packet data of {} bytes: skb, xdp and flow_dissector programs need at least an \
             Ethernet header (14 bytes)",
            opts.data_in.len()
        ));
    }
    if !kind.takes_data() && !opts.data_in.is_empty() {
        return Err("takes no packet data, only a context (ctx_in)".into());
    }
    if opts.ctx_size_out.is_some_and(|n| n > 0) && !kind.returns_ctx() {
        return Err("does not return a context (ctx_size_out): the kernel copies none out".into());
    }
    if opts.cpu.is_some() && kind != TestRunKind::RawTracepoint {
        return Err("only raw_tp programs can be run on a chosen CPU".into());
    }
    if opts.repeat > 1 && matches!(kind, TestRunKind::Syscall | TestRunKind::RawTracepoint) {
        return Err("runs only once (repeat must be 0 or 1)".into());
    }
    if kind == TestRunKind::SkLookup && opts.ctx_in.is_empty() {
        return Err("needs a struct bpf_sk_lookup context (ctx_in)".into());
    }
    Ok(())
}

/// Runs the loaded program `fd` of type `prog_type` (named `program` in errors) with
/// `BPF_PROG_TEST_RUN`.
pub fn test_run_fd(
    fd: BorrowedFd<'_>,
    prog_type: ProgramType,
    program: &str,
    opts: &TestRunOptions,
) -> Result<TestRunResult, TestRunError> {
    let Some(kind) = test_run_kind(prog_type) else {
        return Err(TestRunError::Unsupported {
            program: program.to_owned(),
            type_name: type_name(prog_type),
        });
    };
    check_input(kind, opts).map_err(|reason| TestRunError::BadInput {
        program: program.to_owned(),
        type_name: type_name(prog_type),
        reason,
    })?;
    let data_room = if kind.takes_data() {
        opts.data_size_out
            .unwrap_or(opts.data_in.len().saturating_add(4096))
    } else {
        0
    };
    let ctx_room = if kind.returns_ctx() {
        opts.ctx_size_out.unwrap_or(opts.ctx_in.len())
    } else {
        0
    };
    let mut data_out = vec![0u8; data_room];
    let mut ctx_in = opts.ctx_in.clone();
    let mut ctx_out = vec![0u8; ctx_room];
    let mut flags = opts.flags;
    if opts.cpu.is_some() {
        flags |= bpf::TEST_RUN_ON_CPU;
    }
    let mut io = TestRunIo {
        data_in: &opts.data_in,
        data_out: &mut data_out,
        ctx_in: &mut ctx_in,
        ctx_out: &mut ctx_out,
        // Syscall and raw_tp programs refuse any repeat value but 0.
        repeat: if opts.repeat <= 1 { 0 } else { opts.repeat },
        flags,
        cpu: opts.cpu.unwrap_or(0),
        batch_size: 0,
    };
    let out = bpf::prog_test_run_with(fd, &mut io).map_err(|source| {
        let hint = match source.errno() {
            Some(Errno::ENOSPC) => format!(
                " (the output does not fit: {data_room} bytes of packet and {ctx_room} of \
                 context were given room; raise data_size_out / ctx_size_out)"
            ),
            Some(Errno::ENXIO) if opts.cpu.is_some() => {
                " (that CPU does not exist or is offline)".to_owned()
            }
            Some(Errno::EINVAL) => format!(
                " (the kernel refused the input for a {} program: check the context size \
                 and which fields may be set, the packet size, and the flags)",
                type_name(prog_type)
            ),
            _ => String::new(),
        };
        TestRunError::Kernel {
            program: program.to_owned(),
            source,
            hint,
        }
    })?;
    data_out.truncate((out.data_size_out as usize).min(data_room));
    let ctx_out = if kind == TestRunKind::Syscall {
        ctx_in
    } else {
        ctx_out.truncate((out.ctx_size_out as usize).min(ctx_room));
        ctx_out
    };
    Ok(TestRunResult {
        retval: out.retval,
        duration_ns: out.duration,
        data_out,
        ctx_out,
    })
}

impl Program {
    /// Runs the program with `BPF_PROG_TEST_RUN` on `opts`' packet and context; an error
    /// naming the type when the kernel cannot run programs of this type so.
    pub fn test_run_with(&self, opts: &TestRunOptions) -> Result<TestRunResult, TestRunError> {
        test_run_fd(self.fd().as_fd(), self.def().prog_type, self.name(), opts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_follows_the_kernels_test_run_members() {
        assert_eq!(
            test_run_kind(ProgramType::SOCKET_FILTER),
            Some(TestRunKind::Skb)
        );
        assert_eq!(
            test_run_kind(ProgramType::LWT_SEG6LOCAL),
            Some(TestRunKind::Skb)
        );
        assert_eq!(test_run_kind(ProgramType::XDP), Some(TestRunKind::Xdp));
        assert_eq!(
            test_run_kind(ProgramType::SYSCALL),
            Some(TestRunKind::Syscall)
        );
        assert_eq!(
            test_run_kind(ProgramType::NETFILTER),
            Some(TestRunKind::Netfilter)
        );
        for t in [
            ProgramType::KPROBE,
            ProgramType::TRACEPOINT,
            ProgramType::PERF_EVENT,
            ProgramType::RAW_TRACEPOINT_WRITABLE,
            ProgramType::LSM,
            ProgramType::EXT,
            ProgramType::SK_SKB,
            ProgramType::CGROUP_SOCK_ADDR,
        ] {
            assert_eq!(test_run_kind(t), None, "{t}");
        }
    }

    #[test]
    fn rejects_input_the_type_cannot_take() {
        let o = |data: usize| TestRunOptions {
            data_in: vec![0; data],
            ..Default::default()
        };
        assert!(
            check_input(TestRunKind::Skb, &o(0))
                .unwrap_err()
                .contains("needs packet")
        );
        assert!(
            check_input(TestRunKind::Skb, &o(13))
                .unwrap_err()
                .contains("14 bytes")
        );
        assert!(check_input(TestRunKind::Skb, &o(14)).is_ok());
        assert!(
            check_input(TestRunKind::Syscall, &o(4))
                .unwrap_err()
                .contains("no packet")
        );
        let cpu = TestRunOptions {
            cpu: Some(0),
            ..Default::default()
        };
        assert!(check_input(TestRunKind::Syscall, &cpu).is_err());
        assert!(check_input(TestRunKind::RawTracepoint, &cpu).is_ok());
        let rep = TestRunOptions {
            repeat: 5,
            ..Default::default()
        };
        assert!(
            check_input(TestRunKind::Syscall, &rep)
                .unwrap_err()
                .contains("once")
        );
    }

    #[test]
    fn unsupported_type_errors_name_the_type() {
        let e = TestRunError::Unsupported {
            program: "p".into(),
            type_name: type_name(ProgramType::KPROBE),
        };
        assert_eq!(
            e.to_string(),
            "program \"p\": programs of type kprobe cannot be run with BPF_PROG_TEST_RUN"
        );
    }
}

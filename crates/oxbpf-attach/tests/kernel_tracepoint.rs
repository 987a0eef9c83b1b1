//! Attaching a hand-assembled tracepoint program; needs root.

use oxbpf_attach::{Error, LinkMechanism, tracepoint};
use oxbpf_sys::bpf::{self, ProgLoad};

fn load_tracepoint_prog() -> Option<oxbpf_sys::ProgFd> {
    // Kernels before 5.11 charge BPF memory to RLIMIT_MEMLOCK (64 KiB by default, and
    // freed objects stay charged for a while): the facade raises it, these lower-layer
    // tests do it themselves as a user of this crate must (refused on newer hosts: fine).
    let _ = oxbpf_sys::raise_memlock_rlimit();
    // r0 = 0; exit
    let insns: Vec<u8> = [[0xb7u8, 0, 0, 0, 0, 0, 0, 0], [0x95, 0, 0, 0, 0, 0, 0, 0]].concat();
    let p = ProgLoad {
        prog_type: 5,
        insns: &insns,
        license: "GPL",
        name: "t_tp",
        ..Default::default()
    };
    match bpf::prog_load(&p, 0, &mut []).result {
        Ok(fd) => Some(fd),
        Err(e) => {
            eprintln!("skipping: cannot load a tracepoint program here: {e}");
            None
        }
    }
}

/// The running kernel's release is at least `major.minor`.
fn kernel_at_least(major: u32, minor: u32) -> bool {
    let rel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap();
    let mut it = rel
        .trim()
        .split(|c: char| !c.is_ascii_digit())
        .map(|p| p.parse::<u32>().unwrap_or(0));
    (it.next().unwrap_or(0), it.next().unwrap_or(0)) >= (major, minor)
}

#[test]
fn attaches_and_detaches_a_tracepoint() {
    let Some(prog) = load_tracepoint_prog() else {
        return;
    };
    let link = tracepoint::attach(prog.as_fd(), "syscalls", "sys_enter_getpid").unwrap();
    // bpf_links on perf events exist since 5.15; older kernels get the ioctl fallback.
    if kernel_at_least(5, 15) {
        assert_eq!(link.mechanism(), LinkMechanism::BpfLink);
        assert!(link.link_fd().is_some());
    } else {
        assert_eq!(link.mechanism(), LinkMechanism::PerfEventIoctl);
        assert!(link.link_fd().is_none());
    }
    assert_eq!(link.description(), "tracepoint syscalls/sys_enter_getpid");
    link.detach().unwrap();
}

#[test]
fn missing_tracepoint_is_a_clear_error() {
    let Some(prog) = load_tracepoint_prog() else {
        return;
    };
    let err = tracepoint::attach(prog.as_fd(), "sched", "no_such_tracepoint_oxbpf").unwrap_err();
    assert!(matches!(err, Error::NoAttachPoint { .. }), "{err}");
    let msg = err.to_string();
    assert!(
        msg.starts_with("tracepoint sched/no_such_tracepoint_oxbpf does not exist on this kernel"),
        "{msg}"
    );
}

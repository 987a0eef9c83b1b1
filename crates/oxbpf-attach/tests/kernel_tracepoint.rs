//! Attaching a hand-assembled tracepoint program; needs root.

use oxbpf_attach::{Error, LinkMechanism, tracepoint};
use oxbpf_sys::bpf::{self, ProgLoad};

fn load_tracepoint_prog() -> Option<oxbpf_sys::ProgFd> {
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

#[test]
fn attaches_and_detaches_a_tracepoint() {
    let Some(prog) = load_tracepoint_prog() else {
        return;
    };
    let link = tracepoint::attach(prog.as_fd(), "syscalls", "sys_enter_getpid").unwrap();
    assert_eq!(link.mechanism(), LinkMechanism::BpfLink);
    assert_eq!(link.description(), "tracepoint syscalls/sys_enter_getpid");
    assert!(link.link_fd().is_some());
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

//! struct_ops: a tcp_congestion_ops made of three tiny BPF programs (ssthresh,
//! cong_avoid, undo_cwnd) registers as a congestion control the kernel lists, and
//! unregisters on drop.

mod common;

use oxbpf::attach::struct_ops::{self, PROG_TYPE_STRUCT_OPS, StructOpsLayout};
use oxbpf::sys::ProgFd;
use oxbpf::sys::bpf::{ProgLoad, prog_load};

/// `r0 = imm; exit`.
fn ret(imm: u8) -> [u8; 16] {
    [0xb7, 0, 0, 0, imm, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0]
}

fn load(layout: &StructOpsLayout, member: &str, imm: u8) -> ProgFd {
    let m = layout.member(member).unwrap();
    let insns = ret(imm);
    let p = ProgLoad {
        prog_type: PROG_TYPE_STRUCT_OPS,
        insns: &insns,
        license: "GPL",
        name: member,
        expected_attach_type: m.index,
        attach_btf_id: layout.type_id,
        ..Default::default()
    };
    let mut log = vec![0u8; 64 * 1024];
    let out = prog_load(&p, 1, &mut log);
    out.result.unwrap_or_else(|e| {
        panic!(
            "loading {member}: {e}\n{}",
            String::from_utf8_lossy(&log[..out.log_len])
        )
    })
}

#[test]
fn tcp_congestion_ops_registers_and_unregisters_on_drop() {
    if !common::have_bpf() {
        return;
    }
    let btf = match oxbpf::kernel_btf::vmlinux() {
        Ok(b) => b,
        Err(e) => {
            eprintln!("skipping: no vmlinux BTF ({e})");
            return;
        }
    };
    let layout = match StructOpsLayout::from_btf(btf, "tcp_congestion_ops") {
        Ok(l) => l,
        Err(e) => {
            eprintln!("skipping: {e}");
            return;
        }
    };
    assert!(layout.member("ssthresh").unwrap().is_func);
    assert!(!layout.member("name").unwrap().is_func);
    assert!(layout.member("no_such_member").is_err());

    let ssthresh = load(&layout, "ssthresh", 2);
    let cong_avoid = load(&layout, "cong_avoid", 0);
    let undo_cwnd = load(&layout, "undo_cwnd", 10);
    let name = format!("oxcc{}", std::process::id() % 100_000);
    let err = struct_ops::register(&layout, &name, &[("name", ssthresh.as_fd())]).unwrap_err();
    assert!(err.to_string().contains("not a function pointer"), "{err}");

    let ops = struct_ops::register(
        &layout,
        &name,
        &[
            ("ssthresh", ssthresh.as_fd()),
            ("cong_avoid", cong_avoid.as_fd()),
            ("undo_cwnd", undo_cwnd.as_fd()),
        ],
    )
    .unwrap();
    assert!(
        common::available_cc().split_whitespace().any(|n| n == name),
        "{name} not in {}",
        common::available_cc()
    );
    assert_eq!(ops.description(), format!("tcp_congestion_ops {name}"));
    drop(ops);
    assert!(
        !common::available_cc().split_whitespace().any(|n| n == name),
        "{name} still registered: {}",
        common::available_cc()
    );
}

//! `oxbpf prog run` errors that come before any syscall: a program type the kernel cannot
//! test-run, packet types without a packet, bad hex, an unknown program.

mod common;

use common::{fixture_arg, run};

fn fails_with(args: &[&str], expected: &str) {
    let out = run(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{args:?} succeeded: {stderr}");
    assert!(stderr.contains(expected), "{args:?}: {stderr}");
}

#[test]
fn a_kprobe_program_is_refused_naming_its_type() {
    fails_with(
        &["prog", "run", &fixture_arg("prog_run.bpf.o"), "kp"],
        "error: program \"kp\": programs of type kprobe cannot be run with BPF_PROG_TEST_RUN",
    );
}

#[test]
fn skb_and_xdp_programs_need_a_packet() {
    let obj = fixture_arg("prog_run.bpf.o");
    fails_with(
        &["prog", "run", &obj, "sock_len"],
        "program \"sock_len\" (type socket_filter): needs packet data",
    );
    fails_with(
        &["prog", "run", &obj, "xdp_swap", "--data-hex", "0102"],
        "packet data of 2 bytes: skb, xdp and flow_dissector programs need at least an Ethernet header (14 bytes)",
    );
    fails_with(
        &["prog", "run", &obj, "sum_args", "--data-hex", "0102"],
        "takes no packet data, only a context",
    );
}

#[test]
fn bad_input_and_unknown_programs_are_named() {
    let obj = fixture_arg("prog_run.bpf.o");
    fails_with(
        &["prog", "run", &obj, "xdp_swap", "--data-hex", "0g"],
        "--data-hex: not hex at digit 0",
    );
    fails_with(
        &["prog", "run", &obj, "nope", "--data-hex", "00"],
        "no program \"nope\" (programs: sock_len, xdp_swap",
    );
    fails_with(
        &["prog", "run", &obj],
        "name the program to run, one of: sock_len",
    );
    fails_with(
        &[
            "load",
            &fixture_arg("prog_run.bpf.o"),
            "--prog-flags",
            "strict",
        ],
        "program load flag \"strict\": not a number nor one of strict-alignment",
    );
}

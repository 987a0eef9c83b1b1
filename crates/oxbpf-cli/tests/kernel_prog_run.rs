//! `oxbpf prog run` against the kernel: BPF_PROG_TEST_RUN of a socket filter, an XDP
//! program that rewrites the frame, a syscall program that writes its context, a program
//! already loaded (by `id:N` and by pinned path), a raw_tp program on its u64 arguments on
//! a chosen CPU, and `oxbpf load --prog-flags strict-alignment` turning the
//! verifier's verdict on an unaligned packet load.

mod common;

use std::path::PathBuf;

use common::{fixture_arg, have_bpf, ok, run};

fn json(args: &[&str]) -> serde_json::Value {
    serde_json::from_str(&ok(args)).expect("one JSON object")
}

/// A 100-byte frame: MACs, EtherType IPv4, then 0x45 and zeros.
fn frame() -> String {
    let mut f = "aabbccddeeff112233445566".to_owned() + "0800" + "45";
    f.push_str(&"00".repeat(85));
    f
}

#[test]
fn socket_filter_returns_the_skb_length_without_the_ethernet_header() {
    if !have_bpf() {
        return;
    }
    let text = ok(&[
        "prog",
        "run",
        &fixture_arg("prog_run.bpf.o"),
        "sock_len",
        "--data-hex",
        &frame(),
    ]);
    assert!(
        text.contains("program:     sock_len (socket_filter)\n"),
        "{text}"
    );
    assert!(text.contains("retval:      86 (0x56)\n"), "{text}");
    assert!(text.contains("data_out:    100 bytes\n"), "{text}");
    // The IP header's first byte is back at offset 14 of the packet out.
    assert!(
        text.contains("       0: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 45 00\n"),
        "{text}"
    );
}

#[test]
fn xdp_program_swaps_the_macs_and_returns_xdp_tx() {
    if !have_bpf() {
        return;
    }
    let v = json(&[
        "prog",
        "run",
        &fixture_arg("prog_run.bpf.o"),
        "xdp_swap",
        "--data-hex",
        &frame(),
        // The runs share one buffer: an odd number of swaps leaves the MACs swapped.
        "--repeat",
        "101",
        "--json",
    ]);
    assert_eq!(v["retval"], 3, "{v}");
    assert_eq!(v["prog_type"], "xdp");
    assert_eq!(v["repeat"], 101);
    let out = v["data_out"].as_str().unwrap();
    assert_eq!(out.len(), 200, "{v}");
    assert!(out.starts_with("112233445566aabbccddeeff080045"), "{v}");
}

#[test]
fn syscall_program_writes_its_context_back() {
    if !have_bpf() {
        return;
    }
    // struct args { u32 a = 5, b = 7; u64 sum; } (little endian)
    let v = json(&[
        "prog",
        "run",
        &fixture_arg("prog_run.bpf.o"),
        "sum_args",
        "--ctx-hex",
        "05000000 07000000 0000000000000000",
        "--json",
    ]);
    assert_eq!(v["retval"], 35, "{v}");
    assert_eq!(v["ctx_out"], "05000000070000000c00000000000000", "{v}");
    assert_eq!(v["data_out"], "");
}

#[test]
fn runs_a_program_loaded_already_by_id() {
    if !have_bpf() {
        return;
    }
    let mut spec = oxbpf::ObjectSpec::from_file(fixture_arg("prog_run.bpf.o")).unwrap();
    for p in &mut spec.programs {
        p.def.autoload = p.name == "xdp_swap";
    }
    let coll = oxbpf::Collection::load(&spec, &oxbpf::LoadOptions::default()).unwrap();
    let prog = coll.program("xdp_swap").unwrap();
    let id = oxbpf::sys::bpf::prog_info(prog.fd().as_fd()).unwrap().id;
    let v = json(&[
        "prog",
        "run",
        &format!("id:{id}"),
        "--data-hex",
        "0102030405060708090a0b0c0800",
        "--json",
    ]);
    assert_eq!(v["program"], "xdp_swap", "{v}");
    assert_eq!(v["retval"], 3, "{v}");
    assert_eq!(v["data_out"], "0708090a0b0c0102030405060800", "{v}");
    let e = run(&["prog", "run", &format!("id:{id}")]);
    assert!(!e.status.success());
    assert!(
        String::from_utf8_lossy(&e.stderr).contains("(type xdp): needs packet data"),
        "{}",
        String::from_utf8_lossy(&e.stderr)
    );
}

#[test]
fn strict_alignment_makes_the_verifier_reject_an_unaligned_packet_load() {
    if !have_bpf() {
        return;
    }
    let obj = fixture_arg("unaligned_pkt.bpf.o");
    // Without the flag the load passes and the program reads bytes 1..5.
    let v = json(&[
        "prog",
        "run",
        &obj,
        "--data-hex",
        "00 11223344 000000000000000000",
        "--json",
    ]);
    assert_eq!(v["retval"], 0x4433_2211u32, "{v}");
    ok(&["load", &obj]);
    for args in [
        vec!["load", &obj, "--prog-flags", "strict-alignment"],
        vec![
            "prog",
            "run",
            &obj,
            "--data-hex",
            "00112233440000000000000000",
            "--prog-flags",
            "strict-alignment",
        ],
    ] {
        let out = run(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} loaded: {stderr}");
        assert!(
            stderr.contains("misaligned packet access"),
            "{args:?}: {stderr}"
        );
    }
}

#[test]
fn raw_tp_program_runs_on_its_arguments_on_a_chosen_cpu() {
    if !have_bpf() {
        return;
    }
    let obj = fixture_arg("prog_run.bpf.o");
    // args[0] = 5, args[1] = 7: 5 + 2 * 7.
    let ctx = "0500000000000000 0700000000000000";
    let v = json(&[
        "prog",
        "run",
        &obj,
        "raw_args",
        "--ctx-hex",
        ctx,
        "--cpu",
        "0",
        "--json",
    ]);
    assert_eq!(v["retval"], 19, "{v}");
    assert_eq!(v["prog_type"], "raw_tracepoint");
    let out = run(&[
        "prog",
        "run",
        &obj,
        "raw_args",
        "--ctx-hex",
        ctx,
        "--cpu",
        "4095",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "ran on CPU 4095");
    assert!(
        stderr.contains("ENXIO") && stderr.contains("offline"),
        "{stderr}"
    );
}

#[test]
fn runs_a_pinned_program() {
    if !have_bpf() {
        return;
    }
    let root = match oxbpf::sys::fs::bpffs() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("skipping: no bpffs ({e})");
            return;
        }
    };
    let mut spec = oxbpf::ObjectSpec::from_file(fixture_arg("prog_run.bpf.o")).unwrap();
    for p in &mut spec.programs {
        p.def.autoload = p.name == "sum_args";
    }
    let coll = oxbpf::Collection::load(&spec, &oxbpf::LoadOptions::default()).unwrap();
    let pin = root.join(format!("oxbpf-prog-run-{}", std::process::id()));
    oxbpf::sys::bpf::obj_pin(coll.program("sum_args").unwrap().fd().as_fd(), &pin).unwrap();
    struct Unpin(PathBuf);
    impl Drop for Unpin {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }
    let pin = Unpin(pin);
    let v = json(&[
        "prog",
        "run",
        &pin.0.display().to_string(),
        "--ctx-hex",
        "02000000 03000000 0000000000000000",
        "--json",
    ]);
    assert_eq!(v["program"], "sum_args", "{v}");
    assert_eq!(v["retval"], 6, "{v}");
    assert_eq!(v["ctx_out"], "02000000030000000500000000000000", "{v}");
}

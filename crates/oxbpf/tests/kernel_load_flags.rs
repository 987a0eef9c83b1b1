//! BPF_F_* load flags reach BPF_PROG_LOAD: the one a section implies (`xdp.frags` →
//! BPF_F_XDP_HAS_FRAGS, seen by veth refusing native XDP without it on a jumbo MTU) and the
//! ones a user sets (BPF_F_STRICT_ALIGNMENT turning the verifier's verdict on an unaligned
//! packet load, for all programs or for one by name).

mod common;

use std::process::Command;

use oxbpf::obj::section::load_flags;
use oxbpf::{Collection, LoadOptions, ObjectSpec};

fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| format!("ip: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "ip {args:?}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// A veth pair in this namespace, deleted on drop (even on panic).
struct Veth(String);

impl Drop for Veth {
    fn drop(&mut self) {
        let _ = ip(&["link", "del", &self.0]);
    }
}

#[test]
fn xdp_frags_section_loads_with_the_frags_flag() {
    if !common::have_bpf() {
        return;
    }
    if !common::release_at_least("5.18") {
        eprintln!("skipping: BPF_F_XDP_HAS_FRAGS (XDP multi-buffer) needs Linux 5.18");
        return;
    }
    let pid = std::process::id() % 100_000;
    let (a, b) = (format!("oxfa{pid}"), format!("oxfb{pid}"));
    if let Err(e) = ip(&["link", "add", &a, "type", "veth", "peer", "name", &b]) {
        eprintln!("skipping: cannot create a veth pair ({e})");
        return;
    }
    let _veth = Veth(a.clone());
    ip(&["link", "set", &a, "mtu", "9000"]).unwrap();
    ip(&["link", "set", &b, "mtu", "9000"]).unwrap();
    let ifindex = oxbpf::sys::netlink::ifindex(&a).unwrap();

    let mut spec = ObjectSpec::from_file(common::fixture("prog_run.bpf.o")).unwrap();
    for p in &mut spec.programs {
        p.def.autoload = p.name == "xdp_len" || p.name == "frags_len";
    }
    let coll = Collection::load(&spec, &LoadOptions::default()).unwrap();
    let native = oxbpf::attach::xdp::XdpMode::Native;
    // veth refuses a single-buffer program when the peer's MTU exceeds a page (ERANGE).
    let plain = oxbpf::attach::xdp::attach(
        coll.program("xdp_len").unwrap().fd().as_fd(),
        ifindex,
        native,
    );
    assert!(
        plain.is_err(),
        "a program without BPF_F_XDP_HAS_FRAGS attached at MTU 9000"
    );
    let link = oxbpf::attach::xdp::attach(
        coll.program("frags_len").unwrap().fd().as_fd(),
        ifindex,
        native,
    )
    .unwrap_or_else(|e| panic!("the xdp.frags program was refused at MTU 9000: {e}"));
    drop(link);

    // A frags program runs on a frame larger than a page and sees all of it.
    let r = coll
        .program("frags_len")
        .unwrap()
        .test_run_with(&oxbpf::TestRunOptions {
            data_in: vec![0xab; 5000],
            ..Default::default()
        })
        .unwrap();
    assert_eq!(r.retval, 5000);
    assert_eq!(r.data_out.len(), 5000);
}

fn load_unaligned(opts: &LoadOptions) -> oxbpf::Result<Collection> {
    let spec = ObjectSpec::from_file(common::fixture("unaligned_pkt.bpf.o")).unwrap();
    Collection::load(&spec, opts)
}

#[test]
fn strict_alignment_rejects_an_unaligned_packet_load_the_default_accepts() {
    if !common::have_bpf() {
        return;
    }
    let coll = load_unaligned(&LoadOptions::default()).expect("loads without strict alignment");
    let mut frame = vec![0u8; 14];
    frame[1..5].copy_from_slice(&0x1234_5678u32.to_ne_bytes());
    let r = coll
        .program("read_odd")
        .unwrap()
        .test_run_with(&oxbpf::TestRunOptions {
            data_in: frame,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(r.retval, 0x1234_5678);

    for opts in [
        LoadOptions {
            prog_flags: load_flags::STRICT_ALIGNMENT,
            ..Default::default()
        },
        LoadOptions {
            program_flags: vec![("read_odd".into(), load_flags::STRICT_ALIGNMENT)],
            ..Default::default()
        },
    ] {
        let e = load_unaligned(&opts).expect_err("strict alignment accepted an unaligned load");
        let v = e
            .verifier()
            .unwrap_or_else(|| panic!("not a verifier error: {e}"));
        assert!(v.log.contains("misaligned packet access"), "{}", v.log);
    }
    // Flags for another program name leave this one alone.
    load_unaligned(&LoadOptions {
        program_flags: vec![("other".into(), load_flags::STRICT_ALIGNMENT)],
        ..Default::default()
    })
    .expect("flags of another program applied to read_odd");
}

//! `oxbpf doctor`, `oxbpf explain`, and the explanation `oxbpf load` prints on failure.

mod common;

use std::path::PathBuf;

use common::{fixture, have_bpf, oxbpf};

fn tmp(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("oxbpf-doctor-cli-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn doctor_on_the_host_passes_and_json_lists_every_check() {
    let out = oxbpf().arg("doctor").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("kernel.version"), "{text}");
    assert!(text.contains(" fail"), "{text}");

    let out = oxbpf().args(["doctor", "--json"]).output().unwrap();
    assert!(out.status.success());
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_ne!(doc["status"], "FAIL");
    let checks = doc["checks"].as_array().unwrap();
    assert!(checks.iter().any(|c| c["name"] == "caps.CAP_BPF"), "{doc}");
    assert!(
        checks
            .iter()
            .all(|c| c["status"].is_string() && c["detail"].is_string())
    );
}

#[test]
fn doctor_on_an_empty_tree_fails_with_fixes() {
    let d = tmp("empty");
    let out = oxbpf()
        .arg("doctor")
        .arg("--proc-root")
        .arg(d.join("proc"))
        .arg("--sys-root")
        .arg(d.join("sys"))
        .arg("--boot-root")
        .arg(d.join("boot"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{text}");
    assert!(text.contains("FAIL  kernel.version"), "{text}");
    assert!(text.contains("fix: mount procfs"), "{text}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("some checks failed"));
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn doctor_checks_an_objects_architecture() {
    let out = oxbpf()
        .args(["doctor", "--json", "--object"])
        .arg(fixture("counter.bpf.o"))
        .output()
        .unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let arch = doc["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "object.arch")
        .unwrap();
    assert_eq!(arch["status"], "OK", "{arch}");
}

/// A 5.x-style log (source comments without `@ file:line`) of rejected.bpf.o.
const OLD_LOG: &str = "0: R1=ctx(id=0,off=0,imm=0) R10=fp0\n\
    ; __u32 key = 0;\n\
    0: (b4) w1 = 0\n\
    1: (63) *(u32 *)(r10 -4) = r1\n\
    2: (bf) r2 = r10\n\
    3: (07) r2 += -4\n\
    ; val = bpf_map_lookup_elem(&values, &key);\n\
    4: (18) r1 = 0xffff888136af6400\n\
    6: (85) call bpf_map_lookup_elem#1\n\
    ; *val += 1;\n\
    7: (79) r1 = *(u64 *)(r0 +0)\n\
    R0 invalid mem access 'map_value_or_null'\n\
    processed 7 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0\n";

#[test]
fn explain_a_saved_log_maps_lines_through_the_object() {
    let d = tmp("explain");
    let log = d.join("verifier.log");
    std::fs::write(&log, OLD_LOG).unwrap();

    let out = oxbpf().arg("explain").arg(&log).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(
        text.starts_with("verifier failure: null-check-missing"),
        "{text}"
    );
    assert!(text.contains("at instruction 7: *val += 1;"), "{text}");
    assert!(text.contains("fix: "), "{text}");

    let out = oxbpf()
        .args(["explain", "--json", "--object"])
        .arg(fixture("rejected.bpf.o"))
        .arg(&log)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["class"], "null-check-missing");
    assert_eq!(doc["insn"], 7);
    assert_eq!(doc["source_line"]["line"], 28, "{doc}");
    assert!(
        doc["source_line"]["file"]
            .as_str()
            .unwrap()
            .ends_with("rejected.bpf.c"),
        "{doc}"
    );

    let out = oxbpf()
        .args(["explain", "--object"])
        .arg(fixture("tracing.bpf.o"))
        .arg(&log)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--program"));

    let out = oxbpf()
        .arg("explain")
        .arg(d.join("missing.log"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing.log"));
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn load_prints_the_explanation_above_the_log() {
    if !have_bpf() {
        return;
    }
    let out = oxbpf()
        .arg("load")
        .arg(fixture("reject_pkt.bpf.o"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    let explained = err
        .find("verifier failure: packet-bounds")
        .unwrap_or_else(|| panic!("{err}"));
    let log = err
        .find("verifier log (")
        .unwrap_or_else(|| panic!("{err}"));
    assert!(explained < log, "{err}");
    assert!(err.contains("fix: Packet memory"), "{err}");
    assert!(err.contains("reject_pkt.bpf.c:13:"), "{err}");
}

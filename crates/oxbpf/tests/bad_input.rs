//! Bad input gives a clear error, never a panic, and needs no kernel.

use oxbpf::ObjectSpec;

#[test]
fn missing_file_names_the_path() {
    let err = ObjectSpec::from_file("/nonexistent/x.bpf.o")
        .unwrap_err()
        .to_string();
    assert!(err.contains("/nonexistent/x.bpf.o"), "{err}");
}

#[test]
fn truncated_fixture_is_an_error() {
    let bytes = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fixtures/counter.bpf.o"
    ))
    .unwrap();
    for len in [0, 10, 64, bytes.len() / 2, bytes.len() - 1] {
        assert!(
            ObjectSpec::from_bytes(&bytes[..len]).is_err(),
            "truncated to {len} bytes"
        );
    }
}

#[test]
fn host_executable_is_not_a_bpf_object() {
    let bytes = std::fs::read("/proc/self/exe").unwrap();
    let err = ObjectSpec::from_bytes(&bytes).unwrap_err().to_string();
    assert!(err.contains("not a BPF object"), "{err}");
}

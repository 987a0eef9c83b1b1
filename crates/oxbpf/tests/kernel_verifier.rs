//! Verifier rejection: the whole log, the failing instruction and its source line.

mod common;

use oxbpf::{Collection, Error, LoadOptions, ObjectSpec};

#[test]
fn rejection_carries_log_and_source_line() {
    if !common::have_bpf() {
        return;
    }
    let spec = ObjectSpec::from_file(common::fixture("rejected.bpf.o")).unwrap();
    let err = Collection::load(&spec, &LoadOptions::default()).unwrap_err();
    let Error::Verifier(v) = &err else {
        panic!("expected a verifier error, got {err}")
    };
    assert_eq!(v.program, "bad_deref");
    assert!(
        v.log.contains("invalid mem access 'map_value_or_null'"),
        "{}",
        v.log
    );
    assert!(
        v.log.contains("processed "),
        "the whole log, through the statistics line"
    );
    assert_eq!(
        v.message.as_deref(),
        Some("R0 invalid mem access 'map_value_or_null'")
    );
    let line = v
        .source_line
        .as_ref()
        .expect("line_info maps the failing instruction");
    assert!(line.text.contains("oxbpf-test: rejected here"), "{line:?}");
    assert!(line.file.ends_with("rejected.bpf.c"), "{line:?}");
    let shown = err.to_string();
    assert!(
        shown.starts_with("program \"bad_deref\" rejected by the verifier"),
        "{shown}"
    );
    assert!(shown.contains("rejected.bpf.c:"), "{shown}");
}

#[test]
fn small_initial_log_buffer_is_grown_to_hold_the_whole_log() {
    if !common::have_bpf() {
        return;
    }
    let spec = ObjectSpec::from_file(common::fixture("rejected.bpf.o")).unwrap();
    let opts = LoadOptions {
        log_level: 2,
        log_size: 64,
        ..Default::default()
    };
    let Err(Error::Verifier(v)) = Collection::load(&spec, &opts) else {
        panic!("expected rejection")
    };
    assert!(!v.truncated);
    assert!(v.log.len() > 64, "log of {} bytes", v.log.len());
    assert!(v.log.contains("processed "));
}

#[test]
fn successful_load_with_log_level_keeps_the_log() {
    if !common::have_bpf() {
        return;
    }
    let spec = ObjectSpec::from_file(common::fixture("counter.bpf.o")).unwrap();
    let coll = Collection::load(
        &spec,
        &LoadOptions {
            log_level: 1,
            ..Default::default()
        },
    )
    .unwrap();
    let log = coll
        .program("count_getpid")
        .unwrap()
        .verifier_log()
        .unwrap();
    assert!(log.contains("processed "), "{log}");
}

#[test]
fn non_gpl_license_is_refused_gpl_only_helpers() {
    if !common::have_bpf() {
        return;
    }
    let mut spec = ObjectSpec::from_file(common::fixture("execsnoop.bpf.o")).unwrap();
    spec.license = "Proprietary".into();
    let err = Collection::load(&spec, &LoadOptions::default()).unwrap_err();
    let Error::Verifier(v) = &err else {
        panic!("expected a verifier error, got {err}")
    };
    assert_eq!(
        v.message.as_deref(),
        Some("cannot call GPL-restricted function from non-GPL compatible program"),
        "{}",
        v.log
    );
    assert!(
        v.source_line
            .as_ref()
            .is_some_and(|l| l.text.contains("bpf_probe_read")),
        "{:?}",
        v.source_line
    );
}

//! Verifier explain against the running kernel: each bpf-src/reject_*.bpf.c fixture is
//! rejected, classified, and mapped to the line that carries its marker.

mod common;

use oxbpf::verifier::{Explanation, FailureClass};
use oxbpf::{Collection, Error, LoadOptions, ObjectSpec};

/// The 1-based line of `bpf-src/<name>.bpf.c` that contains `marker`.
fn marker_line(name: &str, marker: &str) -> u32 {
    let path = common::fixture("x")
        .parent()
        .unwrap()
        .join(format!("../bpf-src/{name}.bpf.c"));
    let src = std::fs::read_to_string(&path).unwrap();
    let i = src
        .lines()
        .position(|l| l.contains(marker) && !l.trim_start().starts_with("* "))
        .unwrap_or_else(|| panic!("no {marker:?} in {}", path.display()));
    i as u32 + 1
}

fn explain(name: &str) -> Option<Explanation> {
    if !common::have_bpf() {
        return None;
    }
    let spec = ObjectSpec::from_file(common::fixture(&format!("{name}.bpf.o"))).unwrap();
    let err = Collection::load(&spec, &LoadOptions::default()).unwrap_err();
    let Error::Verifier(v) = &err else {
        panic!("{name}: expected a verifier error, got {err}")
    };
    Some(v.explain())
}

/// Asserts the class and that the failing instruction maps to the marked line.
fn check(name: &str, class: FailureClass) -> Option<Explanation> {
    let e = explain(name)?;
    assert_eq!(e.class, class, "{name}: {e}");
    let want = marker_line(name, "oxbpf-test: rejected here");
    let line = e
        .source_line
        .as_ref()
        .unwrap_or_else(|| panic!("{name}: no line: {e}"));
    assert_eq!(line.line, want, "{name}: {e}");
    assert!(line.file.ends_with(&format!("{name}.bpf.c")), "{line:?}");
    assert!(!e.excerpt.is_empty(), "{name}: {e}");
    assert_eq!(e.hint, class.hint());
    Some(e)
}

#[test]
fn missing_null_check() {
    check("rejected", FailureClass::NullCheckMissing);
}

#[test]
fn unbounded_loop() {
    check("reject_loop", FailureClass::LoopOrComplexity);
}

#[test]
fn packet_access_without_bounds_check() {
    check("reject_pkt", FailureClass::PacketBounds);
}

#[test]
fn helper_not_allowed_for_the_program_type() {
    check("reject_helper", FailureClass::HelperNotAllowed);
}

#[test]
fn gpl_only_helper_from_a_proprietary_program() {
    check("reject_gpl", FailureClass::GplOnly);
}

#[test]
fn invalid_context_access() {
    check("reject_ctx", FailureClass::CtxAccess);
}

#[test]
fn unreleased_reference_points_at_the_acquiring_line() {
    let Some(e) = explain("reject_ref") else {
        return;
    };
    assert_eq!(e.class, FailureClass::UnreleasedReference, "{e}");
    assert!(e.insn.is_some(), "{e}");
    // From the log's own source comments: the text everywhere, the line only where the
    // kernel appends "@ file:line" (6.x).
    let acq = e.acquired_line.as_ref().expect("alloc_insn maps to a line");
    assert!(acq.text.contains("oxbpf-test: acquired here"), "{e}");
    if acq.line > 0 {
        assert_eq!(
            acq.line,
            marker_line("reject_ref", "oxbpf-test: acquired here"),
            "{e}"
        );
    }
}

#[test]
fn combined_stack_size() {
    // The check runs after the walk: the log names no instruction.
    let Some(e) = explain("reject_stack") else {
        return;
    };
    assert_eq!(e.class, FailureClass::StackLimit, "{e}");
    assert!(
        e.message
            .as_deref()
            .unwrap()
            .contains("combined stack size"),
        "{e}"
    );
}

#[test]
fn core_poisoned_instruction() {
    if !common::have_bpf() {
        return;
    }
    if !common::release_at_least("5.11") {
        // Older kernels reject the fixture's bpf_get_current_task_btf before the poison.
        eprintln!("skipping: core_missing.bpf.o calls bpf_get_current_task_btf (5.11+)");
        return;
    }
    // core_missing.bpf.o (the CO-RE fixture): an unguarded read of a field no kernel has.
    let spec = ObjectSpec::from_file(common::fixture("core_missing.bpf.o")).unwrap();
    let err = Collection::load(&spec, &LoadOptions::default()).unwrap_err();
    let Error::CoreRelocation { verifier, .. } = &err else {
        panic!("expected a CO-RE relocation error, got {err}")
    };
    let e = verifier.explain();
    assert_eq!(e.class, FailureClass::CorePoisoned, "{e}");
    let line = e
        .source_line
        .as_ref()
        .expect("line_info maps the poisoned insn");
    assert_eq!(
        line.line,
        marker_line("core_missing", "seen = t->oxbpf_no_such_field"),
        "{e}"
    );
}

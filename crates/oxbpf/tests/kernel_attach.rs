//! attach_all is all or nothing: a missing attach point detaches what was attached.

mod common;

use oxbpf::attach::Error as AttachError;
use oxbpf::maps::HashMap;
use oxbpf::obj::AttachPoint;
use oxbpf::{Collection, Error, LoadOptions, ObjectSpec};

#[test]
fn missing_tracepoint_fails_cleanly_and_detaches_the_others() {
    if !common::have_bpf() {
        return;
    }
    let mut spec = ObjectSpec::from_file(common::fixture("counter.bpf.o")).unwrap();
    let mut second = spec.programs[0].clone();
    second.name = "count_missing".into();
    second.def.attach = AttachPoint::Tracepoint {
        category: "syscalls".into(),
        name: "sys_enter_no_such_call".into(),
    };
    spec.programs.push(second);
    let coll = Collection::load(&spec, &LoadOptions::default()).unwrap();
    let err = coll.attach_all().unwrap_err();
    let Error::Attach {
        program,
        source: AttachError::NoAttachPoint { .. },
    } = &err
    else {
        panic!("expected a missing attach point, got {err}")
    };
    assert_eq!(program, "count_missing");
    assert!(
        err.to_string()
            .contains("tracepoint syscalls/sys_enter_no_such_call does not exist"),
        "{err}"
    );

    // The first program was attached, then detached again when attach_all failed.
    let counts = HashMap::<u32, u64>::new(coll.map("counts").unwrap()).unwrap();
    let me = std::process::id();
    let before = counts.get(&me).unwrap().unwrap_or(0);
    for _ in 0..5 {
        std::hint::black_box(std::process::id());
    }
    assert_eq!(
        counts.get(&me).unwrap().unwrap_or(0),
        before,
        "a link survived the failed attach_all"
    );
}

#[test]
fn program_without_attach_point_says_why() {
    // ringfill.bpf.o is a SEC("syscall") program calling bpf_loop.
    if !common::have_bpf()
        || !common::have_prog_type(oxbpf::obj::ProgramType::SYSCALL)
        || !common::have(oxbpf::features::Capability::BpfLoop)
    {
        return;
    }
    let coll = common::load("ringfill.bpf.o");
    let p = coll.program("fill").unwrap();
    assert!(!p.can_attach());
    let err = p.attach().unwrap_err();
    assert!(matches!(err, Error::CannotAttach { .. }), "{err}");
    assert!(
        coll.attach_all().unwrap().is_empty(),
        "syscall programs are run, not attached"
    );
}

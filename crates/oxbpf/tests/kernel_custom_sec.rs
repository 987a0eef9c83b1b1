//! custom_sec.bpf.o: a program in an unknown section (`SEC("abc")`) opens as in libbpf,
//! is refused at load with an error naming it until its type is set, and then runs.

mod common;

use oxbpf::obj::ProgramType;
use oxbpf::{Collection, Error, LoadOptions, ObjectSpec, TestRunOptions};

fn spec() -> ObjectSpec {
    ObjectSpec::from_file(common::fixture("custom_sec.bpf.o")).unwrap()
}

/// A test run on a 64-byte frame (skb->len is the frame less its Ethernet header).
fn run(coll: &Collection, name: &str) -> u32 {
    let mut frame = vec![0u8; 64];
    frame[12] = 0x08; // ethertype IPv4
    let opts = TestRunOptions {
        data_in: frame,
        ..Default::default()
    };
    coll.program(name)
        .unwrap()
        .test_run_with(&opts)
        .unwrap()
        .retval
}

#[test]
fn unknown_section_opens_and_is_refused_at_load_naming_it() {
    let spec = spec();
    let custom = spec.programs.iter().find(|p| p.name == "custom").unwrap();
    assert_eq!(custom.def.prog_type, ProgramType::UNSPEC);
    if !common::have_bpf() {
        return;
    }
    let err = Collection::load(&spec, &LoadOptions::default()).unwrap_err();
    assert!(
        matches!(&err, Error::NoProgramType { program, section } if program == "custom" && section == "abc")
    );
    assert_eq!(err.class().name(), "bad-object");
    assert!(err.to_string().contains("prog_type"), "{err}");
}

#[test]
fn unknown_section_program_loads_once_typed_or_left_out() {
    if !common::have_bpf() {
        return;
    }
    let mut spec = spec();
    let i = spec
        .programs
        .iter()
        .position(|p| p.name == "custom")
        .unwrap();
    spec.programs[i].def.autoload = false;
    let coll = Collection::load(&spec, &LoadOptions::default()).unwrap();
    assert!(coll.program("custom").is_none());
    assert_eq!(run(&coll, "plain"), 2050);
    drop(coll);

    spec.programs[i].def.autoload = true;
    spec.programs[i].def.prog_type = ProgramType::SOCKET_FILTER;
    let coll = Collection::load(&spec, &LoadOptions::default()).unwrap();
    assert_eq!(run(&coll, "custom") + 1000, run(&coll, "plain"));
}

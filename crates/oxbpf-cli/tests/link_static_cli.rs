//! `oxbpf link a.o b.o -o c.o`: the static linker from the command line, next to the
//! `oxbpf link list` subcommand.

mod common;

use std::process::Command;

use common::fixture;

fn oxbpf(args: &[&std::ffi::OsStr]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_oxbpf"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn link_writes_one_object_with_the_programs_of_both() {
    let out = std::env::temp_dir().join(format!("oxbpf-link-cli-{}.o", std::process::id()));
    let (a, b) = (fixture("link_a.bpf.o"), fixture("link_b.bpf.o"));
    let r = oxbpf(&[
        "link".as_ref(),
        a.as_ref(),
        b.as_ref(),
        "-o".as_ref(),
        out.as_ref(),
    ]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let spec = oxbpf::ObjectSpec::from_file(&out).unwrap();
    std::fs::remove_file(&out).ok();
    let mut names: Vec<&str> = spec.programs.iter().map(|p| p.name.as_str()).collect();
    names.sort();
    assert_eq!(names, ["link_main", "link_second"]);
}

#[test]
fn link_of_two_strong_definitions_fails_naming_the_symbol_and_both_objects() {
    let out = std::env::temp_dir().join(format!("oxbpf-link-cli-dup-{}.o", std::process::id()));
    let (a, b) = (fixture("tracing.bpf.o"), fixture("cookie.bpf.o"));
    let r = oxbpf(&[
        "link".as_ref(),
        a.as_ref(),
        b.as_ref(),
        "-o".as_ref(),
        out.as_ref(),
    ]);
    assert!(!r.status.success());
    assert!(!out.exists(), "no output on failure");
    let err = String::from_utf8_lossy(&r.stderr);
    assert!(
        err.contains("\"target_tid\"")
            && err.contains("tracing.bpf.o")
            && err.contains("cookie.bpf.o"),
        "{err}"
    );
}

#[test]
fn link_help_explains_both_uses_and_objects_need_an_output() {
    let r = oxbpf(&["link".as_ref(), "--help".as_ref()]);
    let help = String::from_utf8_lossy(&r.stdout);
    assert!(
        help.contains("oxbpf link --output <OUT> <OBJECT>..."),
        "{help}"
    );
    assert!(help.contains("list"), "{help}");
    let a = fixture("link_a.bpf.o");
    let r = oxbpf(&["link".as_ref(), a.as_ref()]);
    assert!(!r.status.success());
    assert!(String::from_utf8_lossy(&r.stderr).contains("--output"));
}

//! Parallel verification: a 64-program object loads the same with several threads as with
//! one, and an object with several rejected programs reports every rejection.

mod common;

use oxbpf::{Collection, Error, LoadOptions, ObjectSpec};

/// `work(seed, n)` of bpf-src/many_progs.bpf.c.
fn work(seed: u32, n: u32) -> u32 {
    let mut acc = seed ^ n;
    for i in 0..256u32 {
        acc = acc
            .wrapping_mul(1103515245)
            .wrapping_add(12345)
            .wrapping_add(i);
        if acc & 0x10000 != 0 {
            acc ^= n.wrapping_mul(2654435761);
        }
    }
    acc
}

fn load_many(jobs: usize) -> Collection {
    let spec = ObjectSpec::from_file(common::fixture("many_progs.bpf.o")).unwrap();
    let opts = LoadOptions {
        jobs,
        ..Default::default()
    };
    Collection::load(&spec, &opts).unwrap_or_else(|e| panic!("jobs={jobs}: {e}"))
}

/// Runs program `pNN` of a many_progs collection with `seed` in `config`; checks its
/// return value and its slot of `results`.
fn check_runs(coll: &Collection, seed: u32, n: u32) {
    let config = coll.map("config").unwrap();
    config
        .update(&0u32.to_ne_bytes(), &seed.to_ne_bytes(), 0)
        .unwrap();
    let name = format!("p{n:02}");
    let got = coll.program(&name).unwrap().test_run(&mut []).unwrap();
    assert_eq!(got, work(seed, n), "{name} returned");
    let slot = coll
        .map("results")
        .unwrap()
        .lookup(&n.to_ne_bytes())
        .unwrap()
        .unwrap();
    assert_eq!(slot, work(seed, n).to_ne_bytes(), "results[{n}]");
}

#[test]
fn sixty_four_programs_load_the_same_in_parallel_and_in_sequence() {
    if !common::have_bpf() || !common::have_prog_type(oxbpf::obj::ProgramType::SYSCALL) {
        return;
    }
    let parallel = load_many(2);
    let sequential = load_many(1);
    let names = |c: &Collection| {
        c.programs()
            .map(|p| p.name().to_owned())
            .collect::<Vec<_>>()
    };
    let expected: Vec<String> = (0..64).map(|n| format!("p{n:02}")).collect();
    assert_eq!(names(&parallel), expected);
    assert_eq!(names(&sequential), expected);
    for (n, seed) in [(0, 7), (1, 0xdead_beef), (31, 42), (63, 9)] {
        check_runs(&parallel, seed, n);
        check_runs(&sequential, seed, n);
    }
}

#[test]
fn every_rejected_program_is_reported_with_its_own_log() {
    if !common::have_bpf() || !common::have_prog_type(oxbpf::obj::ProgramType::SYSCALL) {
        return;
    }
    let spec = ObjectSpec::from_file(common::fixture("reject_two.bpf.o")).unwrap();
    for jobs in [2, 1] {
        // A tiny first buffer: each program's log is grown on its own retries.
        let opts = LoadOptions {
            jobs,
            log_size: 64,
            ..Default::default()
        };
        let err = Collection::load(&spec, &opts).unwrap_err();
        let Error::Programs(all) = &err else {
            panic!("jobs={jobs}: expected every failure, got {err}")
        };
        let rejected: Vec<_> = all
            .iter()
            .map(|e| match e {
                Error::Verifier(v) => v,
                other => panic!("jobs={jobs}: not a verifier error: {other}"),
            })
            .collect();
        let names: Vec<_> = rejected.iter().map(|v| v.program.as_str()).collect();
        assert_eq!(names, ["first_bad", "second_bad"], "jobs={jobs}");
        let (first, second) = (rejected[0], rejected[1]);
        assert_eq!(
            first.message.as_deref(),
            Some("R0 invalid mem access 'map_value_or_null'")
        );
        assert_eq!(
            second.message.as_deref(),
            Some("R1 invalid mem access 'scalar'")
        );
        for (v, marker) in [
            (first, "first rejected here"),
            (second, "second rejected here"),
        ] {
            assert!(!v.truncated && v.log.contains("processed "), "{}", v.log);
            let line = v.source_line.as_ref().expect("a source line");
            assert!(line.text.contains(marker), "{line:?}");
        }
        // Each log is the program's own.
        assert!(!first.log.contains("'scalar'"), "{}", first.log);
        assert!(!second.log.contains("map_value_or_null"), "{}", second.log);
        // The first failure stays reachable as before.
        assert_eq!(
            err.verifier().map(|v| v.program.as_str()),
            Some("first_bad")
        );
        let shown = err.to_string();
        assert!(shown.starts_with("2 programs failed to load"), "{shown}");
        assert!(
            shown.contains("\"first_bad\"") && shown.contains("\"second_bad\""),
            "{shown}"
        );
    }
}

#[test]
fn freplace_program_is_loaded_after_its_target_in_the_same_object() {
    use oxbpf::obj::ProgramType;
    let spec = ObjectSpec::from_file(common::fixture("freplace_same.bpf.o")).unwrap();
    let order: Vec<&str> = spec.programs.iter().map(|p| p.name.as_str()).collect();
    // The dependent comes first in the object: only the dependency order loads it.
    assert_eq!(order, ["new_compute", "caller"]);
    if !common::have_bpf()
        || !common::have_prog_type(ProgramType::SYSCALL)
        || !common::have_prog_type(ProgramType::EXT)
    {
        return;
    }
    for jobs in [2, 1] {
        let opts = LoadOptions {
            jobs,
            ..Default::default()
        };
        let coll = Collection::load(&spec, &opts).unwrap_or_else(|e| panic!("jobs={jobs}: {e}"));
        let names: Vec<&str> = coll.programs().map(|p| p.name()).collect();
        assert_eq!(names, order, "jobs={jobs}");
        // Loaded against `caller`, not attached: compute is still the original.
        let caller = coll.program("caller").unwrap();
        assert_eq!(caller.test_run(&mut []).unwrap(), 42);
    }
}

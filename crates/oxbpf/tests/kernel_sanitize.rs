//! BTF feature probes and the sanitizer against the host kernel: every fixture's BTF,
//! rewritten for kernels lacking each BTF feature (one at a time and all at once), is
//! still accepted by BPF_BTF_LOAD, and the fixtures' programs load with it.

mod common;

use oxbpf::btf::BtfFeatures;
use oxbpf::features::{self, Support};
use oxbpf::{Collection, LoadOptions, ObjectSpec};

/// Fixtures whose programs load on the host (rejected.bpf.o fails the verifier on purpose).
const FIXTURES: &[&str] = &[
    "counter.bpf.o",
    "execsnoop.bpf.o",
    "globals.bpf.o",
    "ringfill.bpf.o",
];

/// Fixtures with callbacks (bpf_loop), which the verifier accepts only with func_info.
const NEEDS_FUNC_INFO: &[&str] = &["globals.bpf.o", "ringfill.bpf.o"];

/// Why this kernel cannot run fixture `name` at all (whatever its BTF), if so.
fn cannot_run(name: &str) -> Option<String> {
    use oxbpf::features::{Capability, Feature, capability_supported, min_kernel};
    use oxbpf::obj::ProgramType;
    let mut needs = Vec::new();
    if NEEDS_FUNC_INFO.contains(&name) && capability_supported(Capability::BpfLoop) != Ok(true) {
        needs.push(format!(
            "bpf_loop (since {})",
            min_kernel(Feature::Capability(Capability::BpfLoop))
        ));
    }
    if name == "ringfill.bpf.o" && features::prog_type_supported(ProgramType::SYSCALL) != Ok(true) {
        needs.push(format!(
            "syscall programs (since {})",
            min_kernel(Feature::ProgramType(ProgramType::SYSCALL))
        ));
    }
    (!needs.is_empty()).then(|| format!("{name} needs {}", needs.join(" and ")))
}

/// Each feature switched off alone, then all of them.
fn feature_sets() -> Vec<(String, BtfFeatures)> {
    let mut out: Vec<(String, BtfFeatures)> = BtfFeatures::all()
        .iter()
        .map(|(name, _)| {
            let mut f = BtfFeatures::all();
            f.set(name, false);
            (format!("without {name}"), f)
        })
        .collect();
    out.push(("without any".to_string(), BtfFeatures::none()));
    out
}

#[test]
fn host_kernel_has_every_btf_feature() {
    if !common::have_bpf() {
        return;
    }
    // Each feature is found exactly on the kernels at least as new as its first release
    // (on this host's 6.18 that is all of them; the kernel matrix checks the others).
    let release = common::kernel_release();
    for p in features::btf_probes() {
        let since = common::parse_release(p.since);
        let want = if release >= since {
            Support::Yes
        } else {
            Support::No
        };
        assert_eq!(
            p.support, want,
            "{} ({}, since {}) on {release:?}",
            p.feature, p.what, p.since
        );
    }
    assert_eq!(
        features::btf_features().is_all(),
        features::btf_probes()
            .iter()
            .all(|p| p.support == Support::Yes)
    );
    // Probed once: the same answer, from the same place.
    assert!(std::ptr::eq(
        features::btf_features(),
        features::btf_features()
    ));
}

#[test]
fn sanitized_fixture_btf_is_accepted_by_the_kernel() {
    if !common::have_bpf() {
        return;
    }
    for name in FIXTURES.iter().chain(["rejected.bpf.o"].iter()) {
        let spec = ObjectSpec::from_file(common::fixture(name)).unwrap();
        let btf = spec.btf_for_load().unwrap().expect("fixture has BTF");
        for (what, f) in feature_sets() {
            let out = features::sanitize_for(&btf, &f).unwrap();
            if f == BtfFeatures::none() {
                assert_ne!(&out[..], &btf[..], "{name}: nothing rewritten");
            }
            let mut log = vec![0u8; 1 << 16];
            if let Err(e) = oxbpf::sys::bpf::btf_load(&out, &mut log) {
                let end = log.iter().position(|&b| b == 0).unwrap_or(log.len());
                panic!(
                    "{name} {what}: BPF_BTF_LOAD: {e}\n{}",
                    String::from_utf8_lossy(&log[..end])
                );
            }
        }
    }
}

#[test]
fn fixture_programs_load_with_sanitized_btf() {
    if !common::have_bpf() {
        return;
    }
    // Fixtures this kernel cannot run are left out, the rest still load (the BTF-only test
    // above covers every fixture).
    let absent: Vec<String> = FIXTURES.iter().filter_map(|n| cannot_run(n)).collect();
    if !absent.is_empty() {
        eprintln!(
            "skipping part: {} (the other fixtures are loaded)",
            absent.join("; ")
        );
    }
    for name in FIXTURES.iter().filter(|n| cannot_run(n).is_none()) {
        let spec = ObjectSpec::from_file(common::fixture(name)).unwrap();
        for (what, f) in feature_sets() {
            let loaded = Collection::load_with_btf_features(&spec, &LoadOptions::default(), &f);
            if !f.func && NEEDS_FUNC_INFO.contains(name) {
                // Without BTF_KIND_FUNC no func_info is sent (as in libbpf), but a program
                // passing a callback (bpf_loop) needs it: such a kernel (< 5.0) has no
                // bpf_loop either, so this pairing cannot occur outside this test.
                let e = loaded
                    .err()
                    .unwrap_or_else(|| panic!("{name} {what}: loaded"));
                assert!(e.to_string().contains("missing btf func_info"), "{e}");
                continue;
            }
            let coll = loaded.unwrap_or_else(|e| panic!("{name} {what}: {e}"));
            assert!(
                coll.programs().count() > 0,
                "{name} {what}: no program loaded"
            );
            // Without DATASEC the kernel refuses a data map's BTF (its value type is now a
            // STRUCT and it has no key type); the map is then made without BTF, as libbpf
            // does. Kernels that old (< 5.2) have no global data at all.
            let unexpected: Vec<&String> = coll
                .warnings()
                .iter()
                .filter(|w| f.datasec || !(w.starts_with("map \".") && w.contains("without BTF")))
                .collect();
            assert!(unexpected.is_empty(), "{name} {what}: {unexpected:?}");
            // User space keeps the unsanitized BTF (DATASECs stay DATASECs).
            let btf = coll.btf().unwrap();
            assert!(
                btf.types()
                    .any(|t| t.unwrap().1.kind() == oxbpf::btf::Kind::Datasec),
                "{name}"
            );
        }
    }
}

//! Every committed fixture parses into the spec its source describes (bpf-src/README.md).

use oxbpf_obj::{AttachPoint, DataSection, MapKind, MapType, ObjectSpec, ProgramType, RelocTarget};

fn fixture(name: &str) -> ObjectSpec {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/").to_owned() + name;
    ObjectSpec::from_file(&path).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn every_fixture_parses_and_its_btf_completes() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures");
    let mut n = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "o") {
            let spec =
                ObjectSpec::from_file(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            // reject_gpl.bpf.o is the one non-GPL fixture (it tests the GPL-only check).
            let want = if path.ends_with("reject_gpl.bpf.o") {
                "Proprietary"
            } else {
                "GPL"
            };
            assert_eq!(spec.license, want, "{}", path.display());
            assert!(!spec.programs.is_empty(), "{}", path.display());
            let btf = spec
                .btf_for_load()
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
                .expect("fixtures are built with -g");
            // Completed: every DATASEC has a size now, but one of only extern VARs (an
            // `extern` map's `.maps`, for the static linker), which stays empty.
            let parsed = oxbpf_btf::Btf::parse(&btf).unwrap();
            for t in parsed.types() {
                if let (_, oxbpf_btf::Type::Datasec(d)) = t.unwrap() {
                    let only_externs = d.vars().all(|v| {
                        matches!(parsed.type_by_id(v.unwrap().ty).unwrap(),
                            oxbpf_btf::Type::Var(var) if var.linkage == oxbpf_btf::VAR_GLOBAL_EXTERN)
                    });
                    assert!(
                        d.size > 0 || (d.vlen() > 0 && only_externs),
                        "{}: DATASEC {} left empty",
                        path.display(),
                        d.name
                    );
                }
            }
            n += 1;
        }
    }
    // Every object the MANIFEST lists (one `name.bpf.o hash hash compiler` line each) was
    // checked: none is missing, none unlisted.
    let manifest = std::fs::read_to_string(format!("{dir}/MANIFEST")).unwrap();
    let listed = manifest
        .lines()
        .filter(|l| {
            l.split_whitespace()
                .next()
                .is_some_and(|f| f.ends_with(".o"))
        })
        .count();
    assert!(listed > 0, "fixtures/MANIFEST lists no object");
    assert_eq!(
        n, listed,
        "fixtures/*.o against the objects in fixtures/MANIFEST"
    );
}

#[test]
fn execsnoop_is_a_tracepoint_program_with_a_typed_ring_buffer() {
    let spec = fixture("execsnoop.bpf.o");
    let p = spec.program("handle_exec").unwrap();
    assert_eq!(p.section, "tracepoint/sched/sched_process_exec");
    assert_eq!(p.def.prog_type, ProgramType::TRACEPOINT);
    assert_eq!(
        p.def.attach,
        AttachPoint::Tracepoint {
            category: "sched".into(),
            name: "sched_process_exec".into()
        }
    );
    let m = spec.map("events").unwrap();
    assert_eq!(
        (m.map_type, m.max_entries, m.kind),
        (MapType::RINGBUF, 256 * 1024, MapKind::Btf)
    );
    let btf = spec.btf().unwrap().unwrap();
    let ty = m
        .btf_value_type
        .expect("record type declared in the map definition");
    assert_eq!(btf.type_name(ty).unwrap(), "exec_event");
    assert_eq!(btf.resolve_size(ty).unwrap(), 156);
    assert!(
        p.relocations
            .iter()
            .any(|r| matches!(r.target, RelocTarget::Map { map: 0 }))
    );
}

#[test]
fn counter_has_a_hash_map_of_u32_to_u64() {
    let spec = fixture("counter.bpf.o");
    let m = spec.map("counts").unwrap();
    assert_eq!(
        (m.map_type, m.key_size, m.value_size, m.max_entries),
        (MapType::HASH, 4, 8, 1024)
    );
    assert_eq!(
        spec.program("count_getpid").unwrap().section,
        "tracepoint/syscalls/sys_enter_getpid"
    );
}

#[test]
fn globals_has_data_maps_a_call_and_a_callback() {
    let spec = fixture("globals.bpf.o");
    let kinds: Vec<(&str, MapKind)> = spec
        .maps
        .iter()
        .map(|m| (m.name.as_str(), m.kind))
        .collect();
    for (name, kind) in [
        (".rodata", DataSection::Rodata),
        (".data", DataSection::Data),
        (".bss", DataSection::Bss),
        (".data.custom", DataSection::Data),
    ] {
        assert!(
            kinds.contains(&(name, MapKind::Data(kind))),
            "{name} in {kinds:?}"
        );
    }
    let t = spec.global("target_tgid").unwrap();
    assert_eq!((t.offset, t.size), (0, 4));
    let s = spec.global("step").unwrap();
    assert_eq!((s.offset, s.size), (8, 8));
    assert_eq!(spec.maps[s.map].name, ".rodata");
    let p = spec.program("on_getpid").unwrap();
    assert!(
        p.relocations
            .iter()
            .any(|r| matches!(&r.target, RelocTarget::Call { section, .. } if section == ".text"))
    );
    assert!(
        p.relocations
            .iter()
            .any(|r| matches!(&r.target, RelocTarget::Func { section, .. } if section == ".text"))
    );
    assert!(
        p.relocations
            .iter()
            .any(|r| matches!(r.target, RelocTarget::Data { .. }))
    );
    let subs: Vec<&str> = spec.subprograms.iter().map(|s| s.name.as_str()).collect();
    assert!(
        subs.contains(&"bump") && subs.contains(&"sum_cb"),
        "{subs:?}"
    );
}

#[test]
fn ringfill_is_a_syscall_program() {
    let spec = fixture("ringfill.bpf.o");
    let p = spec.program("fill").unwrap();
    assert_eq!(p.def.prog_type, ProgramType::SYSCALL);
    assert_eq!(spec.map("rb").unwrap().max_entries, 64 << 20);
}

#[test]
fn unaligned_bytes_parse_like_aligned_ones() {
    let bytes = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fixtures/counter.bpf.o"
    ))
    .unwrap();
    let mut shifted = vec![0u8; bytes.len() + 1];
    shifted[1..].copy_from_slice(&bytes);
    let unaligned = &shifted[1..];
    assert_ne!(unaligned.as_ptr().align_offset(8), 0);
    assert_eq!(
        ObjectSpec::from_bytes(unaligned).unwrap(),
        ObjectSpec::from_bytes(&bytes).unwrap()
    );
}

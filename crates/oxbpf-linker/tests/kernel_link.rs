//! link_a + link_b (bpf-src/link_*.bpf.c) linked by oxbpf-linker, parsed by oxbpf-obj,
//! loaded into the kernel and run with BPF_PROG_TEST_RUN: the values the two programs
//! write prove that the cross-object call, the extern variable, the weak/strong
//! override, the shared map, both `.rodata`s and both objects' CO-RE relocations were
//! resolved correctly.

#[path = "../../oxbpf/tests/common/mod.rs"]
mod common;

fn linked() -> Vec<u8> {
    let a = std::fs::read(common::fixture("link_a.bpf.o")).unwrap();
    let b = std::fs::read(common::fixture("link_b.bpf.o")).unwrap();
    oxbpf_linker::Linker::new()
        .add("link_a.bpf.o", &a)
        .unwrap()
        .add("link_b.bpf.o", &b)
        .unwrap()
        .finish()
        .unwrap()
}

#[test]
fn linked_fixtures_parse_into_one_object_with_both_programs_and_one_map() {
    let spec = oxbpf_obj::ObjectSpec::from_bytes(&linked()).unwrap();
    let mut progs: Vec<&str> = spec.programs.iter().map(|p| p.name.as_str()).collect();
    progs.sort();
    assert_eq!(progs, ["link_main", "link_second"]);
    let maps: Vec<&str> = spec.maps.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(
        maps.iter().filter(|m| **m == "link_results").count(),
        1,
        "maps: {maps:?}"
    );
    assert!(
        maps.contains(&".rodata") && maps.contains(&".data"),
        "maps: {maps:?}"
    );
    // Each object alone cannot work: link_a's externs are undefined there.
    let a = std::fs::read(common::fixture("link_a.bpf.o")).unwrap();
    let lone = oxbpf_obj::ObjectSpec::from_bytes(&a);
    assert!(
        lone.is_err() || !lone.as_ref().unwrap().externs.is_empty(),
        "link_a alone should have unresolved externs"
    );
}

fn vmlinux_task_struct_size() -> Option<u64> {
    let data = std::fs::read("/sys/kernel/btf/vmlinux").ok()?;
    let btf = oxbpf::btf::Btf::parse(&data).ok()?;
    let id = btf
        .find_by_name("task_struct", oxbpf::btf::Kind::Struct)
        .ok()??;
    btf.resolve_size(id).ok().map(u64::from)
}

#[test]
fn linked_object_loads_and_its_programs_see_calls_externs_and_maps_resolved() {
    if !common::have_bpf() || !common::have_prog_type(oxbpf::obj::ProgramType::SYSCALL) {
        return;
    }
    let Some(task_size) = vmlinux_task_struct_size() else {
        eprintln!("skipping: no vmlinux BTF with struct task_struct (CO-RE target)");
        return;
    };
    let spec = oxbpf::ObjectSpec::from_bytes(&linked()).unwrap();
    let coll = oxbpf::Collection::load(&spec, &oxbpf::LoadOptions::default())
        .unwrap_or_else(|e| panic!("loading the linked object: {e}"));
    assert_eq!(
        coll.program("link_main")
            .unwrap()
            .test_run(&mut [])
            .unwrap(),
        0
    );
    assert_eq!(
        coll.program("link_second")
            .unwrap()
            .test_run(&mut [])
            .unwrap(),
        0
    );
    let m = coll.map("link_results").unwrap();
    let slot = |k: u32| {
        let v = m.lookup(&k.to_ne_bytes()).unwrap().unwrap();
        u64::from_ne_bytes(v[..8].try_into().unwrap())
    };
    let got: Vec<u64> = (0..9).map(slot).collect();
    assert_eq!(
        got,
        [
            45,        // link_b_scale(5): b's function, b's .rodata factor 7, b's static b_twice
            6,         // link_pick(2): b's strong definition (a's weak one gives 3)
            40,        // link_counter, b's .data, read through a's extern
            1000,      // a's .rodata
            16,        // a's CO-RE: sizeof task_struct::comm
            task_size, // b's CO-RE: the kernel's sizeof(struct task_struct) (locally 4)
            41,        // link_counter after link_main bumped it: one variable
            12,        // link_pick(4) from b's own program
            1001,      // link_both(1): a's weak one, the first (b's own weak one gives 8)
        ]
    );
}

/// libbpf as an oracle: `bpftool prog loadall` loads our linked object too.
#[test]
fn libbpf_loads_the_linked_object_too() {
    if !common::have_bpf() || !common::have_prog_type(oxbpf::obj::ProgramType::SYSCALL) {
        return;
    }
    if std::process::Command::new("bpftool")
        .arg("version")
        .output()
        .is_err()
    {
        eprintln!("skipping: bpftool is not installed");
        return;
    }
    let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap_or_default();
    let Some(bpffs) = mounts
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .find(|f| f.len() > 2 && f[2] == "bpf")
        .map(|f| std::path::PathBuf::from(f[1]))
    else {
        eprintln!("skipping: no bpffs mounted (mount -t bpf bpf /sys/fs/bpf)");
        return;
    };
    let pid = std::process::id();
    let obj = std::env::temp_dir().join(format!("oxbpf-linker-libbpf-{pid}.o"));
    std::fs::write(&obj, linked()).unwrap();
    let pins = bpffs.join(format!("oxbpf-linker-{pid}"));
    let out = std::process::Command::new("bpftool")
        .args(["prog", "loadall"])
        .args([&obj, &pins])
        .output()
        .unwrap();
    let mut pinned: Vec<String> = std::fs::read_dir(&pins)
        .map(|d| {
            d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    pinned.sort();
    std::fs::remove_dir_all(&pins).ok();
    std::fs::remove_file(&obj).ok();
    assert!(
        out.status.success(),
        "bpftool prog loadall: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(pinned, ["link_main", "link_second"]);
}

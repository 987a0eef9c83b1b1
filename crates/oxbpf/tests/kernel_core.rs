//! CO-RE against the host's vmlinux BTF: core_task.bpf.o reads task_struct fields through
//! hand-written struct flavours on our thread's getpid and reports them in .bss;
//! core_missing.bpf.o reads a field the kernel lacks, unguarded, and must fail naming the
//! relocation; a third compares with libbpf's load through bpftool. Needs root and
//! bpf_get_current_task_btf (5.11+).

mod common;

use oxbpf::{Collection, Error, LoadOptions, ObjectSpec};

fn tid() -> u32 {
    let link = std::fs::read_link("/proc/thread-self").unwrap();
    link.file_name().unwrap().to_str().unwrap().parse().unwrap()
}

/// Our thread's comm as the kernel keeps it (up to 15 bytes).
fn comm() -> String {
    std::fs::read_to_string("/proc/thread-self/comm")
        .unwrap()
        .trim_end()
        .to_string()
}

/// bpf(), vmlinux BTF, and bpf_get_current_task_btf (5.11) for the tp_btf fixtures.
fn can_run() -> bool {
    if !common::have_bpf() {
        return false;
    }
    if oxbpf::kernel_btf::vmlinux().is_err() {
        eprintln!("skipping: no /sys/kernel/btf/vmlinux");
        return false;
    }
    if !common::release_at_least("5.11") {
        eprintln!("skipping: the fixtures call bpf_get_current_task_btf (5.11+)");
        return false;
    }
    true
}

fn getpid() {
    // std::process::id() is a getpid(2) each time.
    std::hint::black_box(std::process::id());
}

#[test]
fn task_fields_read_through_core_match_our_thread() {
    if !can_run() {
        return;
    }
    let mut spec = ObjectSpec::from_file(common::fixture("core_task.bpf.o")).unwrap();
    spec.set_global("target_tid", &tid().to_ne_bytes()).unwrap();
    let coll = Collection::load(&spec, &LoadOptions::default())
        .unwrap_or_else(|e| panic!("core_task.bpf.o: {e}"));

    // Every relocation was explained; none poisoned except the guarded missing-field read.
    let ex = coll.core_relocations();
    assert!(ex.len() >= 15, "{} relocations", ex.len());
    for e in ex {
        eprintln!("{e}");
    }
    let poisoned: Vec<&str> = ex
        .iter()
        .filter(|e| e.result.poison)
        .map(|e| e.local.as_str())
        .collect();
    assert_eq!(
        poisoned,
        ["task_struct___mine::oxbpf_no_such_field"],
        "only the guarded read is poisoned"
    );
    let pid = ex
        .iter()
        .find(|e| e.local == "task_struct___mine::pid")
        .unwrap();
    assert_eq!(pid.result.orig_val, 24, "local offset in the flavour");
    assert!(
        pid.candidates
            .iter()
            .any(|c| c.accepted && c.btf == "vmlinux")
    );

    let _link = coll.program("core_getpid").unwrap().attach().unwrap();
    for _ in 0..3 {
        getpid();
    }
    let bss = coll.global_data(".bss").unwrap();
    let data = coll.global_data(".data").unwrap();
    let g = |v: &str| -> u64 { bss.get::<u64>(v).unwrap_or_else(|e| panic!("{v}: {e}")) };
    assert!(g("hits") >= 3, "hits {}", g("hits"));
    assert_eq!(g("got_pid"), u64::from(tid()), "task->pid by LDX");
    assert_eq!(
        g("got_tgid"),
        u64::from(std::process::id()),
        "task->tgid by LDX"
    );
    assert_eq!(g("read_pid"), u64::from(tid()), "task->pid by probe_read");
    assert_eq!(g("read_tgid"), u64::from(std::process::id()));
    let c: [u8; 16] = bss.get("got_comm").unwrap();
    let end = c.iter().position(|&b| b == 0).unwrap_or(16);
    assert_eq!(String::from_utf8_lossy(&c[..end]), comm());
    assert_eq!(g("comm_size"), 16);
    assert_eq!(g("missing_exists"), 0);
    assert_eq!(
        data.get::<u64>("missing_value").unwrap(),
        77,
        "guarded read never ran"
    );
    assert_eq!(g("task_exists"), 1);
    assert_eq!(g("nope_exists"), 0);
    assert_eq!(g("list_matches"), 1);
    assert_eq!(
        g("tgid_enum"),
        1,
        "PIDTYPE_TGID is 1 in the kernel (7 locally)"
    );
    assert_eq!(g("tgid_enum_exists"), 1);
    assert_eq!(g("gone_enum_exists"), 0);

    // Sizes and ids agree with vmlinux BTF itself.
    let vm = oxbpf::kernel_btf::vmlinux().unwrap();
    let ts = vm
        .find_by_name("task_struct", oxbpf::btf::Kind::Struct)
        .unwrap()
        .unwrap();
    assert_eq!(g("task_size"), u64::from(vm.resolve_size(ts).unwrap()));
    assert_eq!(g("target_type_id"), u64::from(ts));
    assert_ne!(g("local_type_id"), 0);
    // 1-bit bitfields (initialised to 99 in .data): both clear for a running test thread.
    assert_eq!(data.get::<u64>("in_execve").unwrap(), 0);
    assert_eq!(data.get::<u64>("sched_reset_on_fork").unwrap(), 0);
}

#[test]
fn unguarded_missing_field_fails_naming_the_relocation() {
    if !can_run() {
        return;
    }
    let spec = ObjectSpec::from_file(common::fixture("core_missing.bpf.o")).unwrap();
    let err = Collection::load(&spec, &LoadOptions::default()).unwrap_err();
    let text = err.to_string();
    match &err {
        Error::CoreRelocation {
            program,
            relocation,
            verifier,
        } => {
            assert_eq!(program, "core_unguarded");
            assert_eq!(relocation.local, "task_struct___gone::oxbpf_no_such_field");
            assert!(relocation.result.poison);
            assert_eq!(verifier.insn, Some(relocation.insn));
            let c = &relocation.candidates;
            assert!(
                c.iter().any(|c| !c.accepted
                    && c.path == "task_struct"
                    && c.reason.contains("no member oxbpf_no_such_field")),
                "{c:?}"
            );
        }
        other => panic!("expected a CO-RE relocation error, got {other}"),
    }
    assert!(
        text.contains("task_struct___gone::oxbpf_no_such_field"),
        "{text}"
    );
    assert!(text.contains("no member oxbpf_no_such_field"), "{text}");
}

/// `bpftool prog dump xlated` text with map ids (which differ per load) blanked.
fn xlated(args: &[&str]) -> Option<String> {
    let out = std::process::Command::new("bpftool")
        .args(["prog", "dump", "xlated"])
        .args(args)
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut norm = String::new();
    for line in text.lines() {
        let mut rest = line;
        while let Some(i) = rest.find("map[id:") {
            norm.push_str(&rest[..i + 7]);
            rest = &rest[i + 7..];
            let digits = rest
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(rest.len());
            norm.push('N');
            rest = &rest[digits..];
        }
        norm.push_str(rest);
        norm.push('\n');
    }
    Some(norm)
}

/// libbpf (through bpftool) as an oracle: the same object loaded by both gives the same
/// program tag (the kernel's hash of the submitted instructions, map references blanked)
/// and the same translated instructions.
#[test]
fn relocated_program_equals_what_libbpf_loads() {
    if !can_run() {
        return;
    }
    let have_bpftool = std::process::Command::new("bpftool")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !have_bpftool {
        eprintln!("skipping: no bpftool (the libbpf oracle)");
        return;
    }
    let obj = common::fixture("core_task.bpf.o");
    let dir = format!("/sys/fs/bpf/oxbpf_core_oracle_{}", std::process::id());
    let st = std::process::Command::new("bpftool")
        .args(["prog", "loadall"])
        .arg(&obj)
        .arg(&dir)
        .status()
        .unwrap();
    let pinned = format!("{dir}/core_getpid");
    let theirs = xlated(&["pinned", &pinned]);
    let their_tag = std::process::Command::new("bpftool")
        .args(["prog", "show", "pinned", &pinned])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned());
    let _ = std::fs::remove_file(&pinned);
    let _ = std::fs::remove_dir(&dir);
    assert!(st.success(), "bpftool prog loadall failed");
    let (theirs, their_tag) = (theirs.unwrap(), their_tag.unwrap());

    let spec = ObjectSpec::from_file(&obj).unwrap();
    let coll = Collection::load(&spec, &LoadOptions::default()).unwrap();
    let p = coll.program("core_getpid").unwrap();
    let info = oxbpf::sys::bpf::prog_info(p.fd().as_fd()).unwrap();
    let tag: String = info.tag.iter().map(|b| format!("{b:02x}")).collect();
    let ours = xlated(&["id", &info.id.to_string()]).unwrap();
    assert_eq!(ours, theirs, "xlated instructions differ from libbpf's");
    assert!(
        their_tag.contains(&format!("tag {tag}")),
        "tag {tag} vs bpftool: {their_tag}"
    );
}

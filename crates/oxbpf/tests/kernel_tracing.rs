//! tracing.bpf.o, kprobes.bpf.o, kprobe_multi.bpf.o, trampoline.bpf.o: every tracing hook
//! family attached for real and triggered from this test; needs root. Hooks this kernel
//! lacks (kprobes without CONFIG_KPROBES, trampolines where BPF_PROG_LOAD answers EPERM)
//! are probed and skipped with the reason; they run in the kernel matrix.

mod common;

use oxbpf::attach::kprobe::{self, KprobeOptions, ProbeMode};
use oxbpf::attach::perf_event::{self, PerfEventOptions};
use oxbpf::attach::uprobe::{self, UprobeMultiOptions, UprobeOptions, UprobeTarget};
use oxbpf::attach::{Error as AttachError, iter};
use oxbpf::maps::{Array, HashMap};
use oxbpf::obj::AttachPoint;
use oxbpf::{Collection, Error, LoadOptions, ObjectSpec};

const RAW_TP_GETPID: u32 = 0;
const TP_BTF_EXEC: u32 = 1;
const UPROBE_HITS: u32 = 2;
const UPROBE_ARG: u32 = 3;
const URETPROBE_HITS: u32 = 4;
const URETPROBE_RET: u32 = 5;
const MULTI_HITS: u32 = 6;
const PERF_HITS: u32 = 7;
const ITER_TASKS: u32 = 8;
const LIBC_GETPID: u32 = 9;

/// The probed function: called by the tests, seen by uprobes through its symbol.
#[inline(never)]
pub fn oxbpf_test_target(x: u64) -> u64 {
    std::hint::black_box(x.wrapping_mul(2).wrapping_add(1))
}

/// A second probed function, for uprobe.multi.
#[inline(never)]
pub fn oxbpf_test_other(x: u64) -> u64 {
    std::hint::black_box(x ^ 0x55)
}

/// This thread's id (tests run in parallel threads of one process).
fn tid() -> u32 {
    let link = std::fs::read_link("/proc/thread-self").unwrap();
    link.file_name().unwrap().to_str().unwrap().parse().unwrap()
}

fn exe() -> String {
    std::env::current_exe().unwrap().display().to_string()
}

/// The (Rust-mangled) symbol of test function `name` in this test binary: the targets
/// are ordinary Rust functions, found by the identifier their mangled name contains.
fn mangled(name: &str) -> String {
    let exe = std::env::current_exe().unwrap();
    let data = std::fs::read(&exe).unwrap();
    let found = oxbpf::attach::symbols::function_symbols(&data, &exe, |n| {
        n.contains(name) && !n.contains("closure")
    })
    .unwrap();
    assert_eq!(
        found.len(),
        1,
        "one symbol for {name}: {:?}",
        found.iter().map(|f| &f.name).collect::<Vec<_>>()
    );
    found[0].name.clone()
}

/// Loads `name` with `target_tid` set to this thread.
fn load_for_me(name: &str) -> oxbpf::Result<Collection> {
    let mut spec = ObjectSpec::from_file(common::fixture(name)).unwrap();
    spec.set_global("target_tid", &tid().to_ne_bytes()).unwrap();
    Collection::load(&spec, &LoadOptions::default())
}

fn tracing() -> Collection {
    load_for_me("tracing.bpf.o").unwrap_or_else(|e| panic!("tracing.bpf.o: {e}"))
}

fn slot(coll: &Collection, i: u32) -> u64 {
    Array::<u64>::new(coll.map("counts").unwrap())
        .unwrap()
        .get(i)
        .unwrap()
}

#[test]
fn raw_tp_counts_our_getpid_calls_until_detached() {
    if !common::have_bpf() {
        return;
    }
    let coll = tracing();
    let p = coll.program("raw_getpid").unwrap();
    assert!(p.can_attach());
    let link = p.attach().unwrap();
    assert_eq!(link.description(), "raw tracepoint sys_enter");
    for _ in 0..17 {
        std::hint::black_box(std::process::id());
    }
    assert_eq!(slot(&coll, RAW_TP_GETPID), 17);
    drop(link);
    for _ in 0..5 {
        std::hint::black_box(std::process::id());
    }
    assert_eq!(slot(&coll, RAW_TP_GETPID), 17, "counted after detach");
}

#[test]
fn tp_btf_sees_the_exec_of_our_child() {
    if !common::have_bpf() {
        return;
    }
    let coll = tracing();
    let _link = coll.program("btf_exec").unwrap().attach().unwrap();
    let child = std::process::Command::new("/bin/true").spawn().unwrap();
    let pid = child.id();
    let status = child.wait_with_output().unwrap().status;
    assert!(status.success());
    let execs = HashMap::<u32, u32>::new(coll.map("execs").unwrap()).unwrap();
    assert_eq!(
        execs.get(&pid).unwrap(),
        Some(1),
        "exec of pid {pid} not seen"
    );
    assert!(slot(&coll, TP_BTF_EXEC) >= 1);
}

#[test]
fn uprobe_and_uretprobe_see_argument_and_return_value() {
    if !common::have_bpf() {
        return;
    }
    let coll = tracing();
    let target = UprobeTarget::Symbol(mangled("oxbpf_test_target"));
    let entry = uprobe::attach(
        coll.program("on_entry").unwrap().fd().as_fd(),
        &exe(),
        &target,
        &UprobeOptions {
            pid: Some(std::process::id()),
            ..Default::default()
        },
    )
    .unwrap();
    let ret = uprobe::attach(
        coll.program("on_return").unwrap().fd().as_fd(),
        &exe(),
        &target,
        &UprobeOptions {
            retprobe: true,
            ..Default::default()
        },
    )
    .unwrap();
    assert!(
        entry.description().starts_with("uprobe /"),
        "{}",
        entry.description()
    );
    for i in 0..7u64 {
        std::hint::black_box(oxbpf_test_target(100 + i));
    }
    assert_eq!(slot(&coll, UPROBE_HITS), 7);
    assert_eq!(slot(&coll, UPROBE_ARG), 106);
    assert_eq!(slot(&coll, URETPROBE_HITS), 7);
    assert_eq!(slot(&coll, URETPROBE_RET), 213);
    drop(entry);
    drop(ret);
    for i in 0..3u64 {
        std::hint::black_box(oxbpf_test_target(i));
    }
    assert_eq!(
        slot(&coll, UPROBE_HITS),
        7,
        "uprobe count rose after detach"
    );
    assert_eq!(
        slot(&coll, URETPROBE_HITS),
        7,
        "uretprobe count rose after detach"
    );
}

#[test]
fn uprobe_passes_its_bpf_cookie() {
    if !common::have_bpf() {
        return;
    }
    let coll = match load_for_me("cookie.bpf.o") {
        Ok(c) => c,
        Err(e) if e.verifier().is_some() => {
            eprintln!("skipping: bpf_get_attach_cookie needs Linux 5.15: {e}");
            return;
        }
        Err(e) => panic!("cookie.bpf.o: {e}"),
    };
    let target = UprobeTarget::Symbol(mangled("oxbpf_test_target"));
    let opts = UprobeOptions {
        pid: Some(std::process::id()),
        cookie: 0xc00c1e,
        ..Default::default()
    };
    let fd = coll.program("with_cookie").unwrap().fd().as_fd();
    let link = uprobe::attach(fd, &exe(), &target, &opts).unwrap();
    std::hint::black_box(oxbpf_test_target(1));
    let cookies = Array::<u64>::new(coll.map("cookies").unwrap()).unwrap();
    assert_eq!(cookies.get(1).unwrap(), 1);
    assert_eq!(cookies.get(0).unwrap(), 0xc00c1e);
    drop(link);
}

#[test]
fn uprobe_on_libc_getpid_attaches_from_its_section() {
    if !common::have_bpf() {
        return;
    }
    // A statically linked test binary (musl, as in the kernel matrix) maps no libc, so
    // its getpid never runs libc's code even where a libc.so.6 is on disk.
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
    if !maps.lines().any(|l| l.contains("/libc.so.6")) {
        eprintln!("skipping: this test binary maps no shared libc.so.6 (statically linked)");
        return;
    }
    oxbpf::attach::symbols::find_binary("libc.so.6", None).unwrap();
    let coll = tracing();
    let p = coll.program("libc_getpid").unwrap();
    assert!(p.can_attach());
    let link = p.attach().unwrap();
    assert!(
        link.description().contains("libc.so.6:getpid"),
        "{}",
        link.description()
    );
    for _ in 0..9 {
        std::hint::black_box(std::process::id());
    }
    assert_eq!(slot(&coll, LIBC_GETPID), 9);
}

#[test]
fn uprobe_multi_counts_two_functions() {
    if !common::have_bpf() {
        return;
    }
    let coll = tracing();
    let fd = coll.program("on_multi").unwrap().fd().as_fd();
    let link = match uprobe::attach_multi(
        fd,
        &exe(),
        &[
            mangled("oxbpf_test_target").as_str(),
            mangled("oxbpf_test_other").as_str(),
        ],
        &UprobeMultiOptions::default(),
    ) {
        Ok(l) => l,
        Err(e @ AttachError::Unsupported { .. }) => {
            eprintln!("skipping: {e} — runs in the kernel matrix");
            return;
        }
        Err(e) => panic!("{e}"),
    };
    assert!(
        link.description().contains("(2 functions)"),
        "{}",
        link.description()
    );
    for i in 0..5 {
        std::hint::black_box(oxbpf_test_target(i));
        std::hint::black_box(oxbpf_test_other(i));
    }
    assert_eq!(slot(&coll, MULTI_HITS), 10);
    drop(link);
    std::hint::black_box(oxbpf_test_other(1));
    assert_eq!(
        slot(&coll, MULTI_HITS),
        10,
        "uprobe.multi counted after detach"
    );
}

#[test]
fn missing_symbol_names_the_binary_and_the_symbol() {
    if !common::have_bpf() {
        return;
    }
    let coll = tracing();
    let fd = coll.program("on_entry").unwrap().fd().as_fd();
    let target = UprobeTarget::Symbol("oxbpf_no_such_function".into());
    let err = uprobe::attach(fd, &exe(), &target, &UprobeOptions::default()).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, AttachError::SymbolNotFound { .. }), "{msg}");
    assert!(
        msg.contains("\"oxbpf_no_such_function\" not found in /"),
        "{msg}"
    );
    assert!(msg.contains("kernel_tracing"), "binary not named: {msg}");
    let err =
        uprobe::attach_multi(fd, &exe(), &["oxbpf_nothing_*"], &Default::default()).unwrap_err();
    assert!(
        err.to_string().contains("\"oxbpf_nothing_*\" not found"),
        "{err}"
    );
}

#[test]
fn perf_event_cpu_clock_fires_until_detached() {
    if !common::have_bpf() {
        return;
    }
    let coll = tracing();
    let fd = coll.program("on_sample").unwrap().fd().as_fd();
    assert!(!coll.program("on_sample").unwrap().can_attach());
    let link = perf_event::attach(fd, &PerfEventOptions::cpu_clock(1000)).unwrap();
    let spin = |ms| {
        let t = std::time::Instant::now();
        while t.elapsed() < std::time::Duration::from_millis(ms) {
            std::hint::black_box(0u64);
        }
    };
    spin(200);
    let fired = slot(&coll, PERF_HITS);
    assert!(
        fired > 10,
        "cpu-clock at 1 kHz fired {fired} times in 200 ms"
    );
    drop(link);
    let after = slot(&coll, PERF_HITS);
    spin(50);
    assert_eq!(slot(&coll, PERF_HITS), after, "samples after detach");
}

#[test]
fn task_iterator_reads_one_byte_per_task_to_eof() {
    if !common::have_bpf() {
        return;
    }
    let coll = tracing();
    let p = coll.program("each_task").unwrap();
    assert!(p.can_attach());
    let link = p.attach().unwrap();
    let out = iter::read_all(&link).unwrap();
    assert!(out.len() > 1, "{} tasks", out.len());
    assert!(out.iter().all(|&b| b == b't'));
    assert_eq!(slot(&coll, ITER_TASKS), out.len() as u64);
    // Each BPF_ITER_CREATE is a new run from the start.
    let again = iter::read_all(&link).unwrap();
    assert!(!again.is_empty());
    assert_eq!(slot(&coll, ITER_TASKS), (out.len() + again.len()) as u64);
}

#[test]
fn missing_kernel_function_of_fentry_is_named_before_load() {
    if !common::have_bpf() {
        return;
    }
    let mut spec = ObjectSpec::from_file(common::fixture("trampoline.bpf.o")).unwrap();
    spec.programs.retain(|p| p.name == "fentry_vfs_read");
    spec.programs[0].def.attach = AttachPoint::Fentry {
        func: "oxbpf_no_such_kernel_function".into(),
    };
    let err = Collection::load(&spec, &LoadOptions::default()).unwrap_err();
    assert!(matches!(err, Error::CannotAttach { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("kernel function \"oxbpf_no_such_kernel_function\" not found in vmlinux BTF"),
        "{err}"
    );
}

#[test]
fn missing_tp_btf_tracepoint_is_named_before_load() {
    if !common::have_bpf() {
        return;
    }
    let mut spec = ObjectSpec::from_file(common::fixture("tracing.bpf.o")).unwrap();
    spec.programs.retain(|p| p.name == "btf_exec");
    spec.programs[0].def.attach = AttachPoint::TpBtf {
        name: "oxbpf_no_such_tp".into(),
    };
    let err = Collection::load(&spec, &LoadOptions::default()).unwrap_err();
    assert!(
        err.to_string()
            .contains("tracepoint \"oxbpf_no_such_tp\" not found in vmlinux BTF"),
        "{err}"
    );
}

#[test]
fn fentry_and_fexit_count_our_reads() {
    if !common::have_bpf() {
        return;
    }
    let coll = match load_for_me("trampoline.bpf.o") {
        Ok(c) => c,
        // Both programs are refused: the error holds every failure.
        Err(e)
            if e.failures().iter().all(|f| {
                matches!(f, Error::Load { source, .. }
                    if source.errno() == Some(oxbpf::sys::Errno::EPERM))
            }) =>
        {
            eprintln!(
                "skipping: fentry/fexit not available: BPF_PROG_LOAD answers EPERM \
                 (trampolines restricted on this host) — runs in the kernel matrix"
            );
            return;
        }
        Err(e) => panic!("trampoline.bpf.o: {e}"),
    };
    let links = coll.attach_all().unwrap();
    assert_eq!(links.len(), 2);
    let data = std::fs::read("/proc/self/stat").unwrap();
    drop(links);
    assert!(slot(&coll, 0) >= 1, "fentry did not fire");
    assert!(slot(&coll, 1) >= 1, "fexit did not fire");
    let last = slot(&coll, 2) as i64;
    assert!(
        last >= 0 && last as usize <= data.len(),
        "fexit saw return {last}"
    );
}

fn kprobes_or_skip() -> bool {
    match kprobe::unavailable_reason() {
        Some(reason) => {
            eprintln!(
                "skipping: kprobes not available: CONFIG_KPROBES=n — runs in the kernel \
                 matrix ({reason})"
            );
            false
        }
        None => true,
    }
}

fn read_a_file() {
    std::hint::black_box(std::fs::read("/proc/self/stat").unwrap());
}

#[test]
fn kprobe_and_kretprobe_count_our_reads() {
    if !common::have_bpf() || !kprobes_or_skip() {
        return;
    }
    let coll = load_for_me("kprobes.bpf.o").unwrap();
    let links = coll.attach_all().unwrap();
    assert_eq!(links.len(), 2);
    read_a_file();
    assert!(slot(&coll, 0) >= 1, "kprobe did not fire");
    assert!(slot(&coll, 1) >= 1, "kretprobe did not fire");
    drop(links);
    let (a, b) = (slot(&coll, 0), slot(&coll, 1));
    read_a_file();
    assert_eq!(
        (slot(&coll, 0), slot(&coll, 1)),
        (a, b),
        "counted after detach"
    );
}

fn our_kprobe_events() -> usize {
    let tracefs = oxbpf::sys::fs::tracefs().unwrap();
    let text = std::fs::read_to_string(tracefs.join("kprobe_events")).unwrap_or_default();
    let mine = format!("oxbpf/oxbpf_kp_{}_", std::process::id());
    text.lines().filter(|l| l.contains(&mine)).count()
}

#[test]
fn legacy_tracefs_kprobe_fires_and_leaves_no_event() {
    if !common::have_bpf() || !kprobes_or_skip() {
        return;
    }
    let tracefs = oxbpf::sys::fs::tracefs().unwrap();
    if !tracefs.join("kprobe_events").exists() {
        eprintln!("skipping: no kprobe_events in tracefs (CONFIG_KPROBE_EVENTS=n)");
        return;
    }
    let coll = load_for_me("kprobes.bpf.o").unwrap();
    let fd = coll.program("kp_vfs_read").unwrap().fd().as_fd();
    let opts = KprobeOptions {
        mode: ProbeMode::Tracefs,
        ..Default::default()
    };
    let before = our_kprobe_events();
    let link = kprobe::attach(fd, "vfs_read", &opts).unwrap();
    assert!(link.uses_tracefs_event());
    assert_eq!(our_kprobe_events(), before + 1);
    read_a_file();
    assert!(slot(&coll, 0) >= 1, "legacy kprobe did not fire");
    link.detach().unwrap();
    assert_eq!(
        our_kprobe_events(),
        before,
        "kprobe_events entry left behind"
    );
}

#[test]
fn missing_kernel_function_of_kprobe_is_named() {
    if !common::have_bpf() || !kprobes_or_skip() {
        return;
    }
    let coll = load_for_me("kprobes.bpf.o").unwrap();
    let fd = coll.program("kp_vfs_read").unwrap().fd().as_fd();
    let err = kprobe::attach(fd, "oxbpf_no_such_kernel_fn", &KprobeOptions::default()).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("kernel function oxbpf_no_such_kernel_fn does not exist"),
        "{err}"
    );
}

#[test]
fn kprobes_unavailable_is_a_clear_error() {
    if !common::have_bpf() || kprobe::unavailable_reason().is_none() {
        return;
    }
    let coll = load_for_me("kprobes.bpf.o").unwrap();
    let err = coll.program("kp_vfs_read").unwrap().attach().unwrap_err();
    assert!(
        err.to_string()
            .contains("kprobes are not available: kernel built without CONFIG_KPROBES"),
        "{err}"
    );
}

#[test]
fn kprobe_multi_counts_our_reads() {
    if !common::have_bpf() || !kprobes_or_skip() {
        return;
    }
    let coll = load_for_me("kprobe_multi.bpf.o").unwrap();
    let link = match coll.program("kpm_vfs").unwrap().attach() {
        Ok(l) => l,
        Err(Error::Attach {
            source: e @ AttachError::Unsupported { .. },
            ..
        }) => {
            eprintln!("skipping: {e} — runs in the kernel matrix");
            return;
        }
        Err(e) => panic!("{e}"),
    };
    read_a_file();
    assert!(slot(&coll, 0) >= 1, "kprobe.multi did not fire");
    drop(link);
}

#[test]
fn kprobe_multi_glob_matching_nothing_is_named() {
    if !common::have_bpf() {
        return;
    }
    let err = kprobe::resolve_multi(&["oxbpf_no_such_*"]).unwrap_err();
    assert!(err.to_string().contains("no match"), "{err}");
    assert!(
        err.to_string()
            .starts_with("a kernel function matching \"oxbpf_no_such_*\" does not exist"),
        "{err}"
    );
    let found = kprobe::resolve_multi(&["vfs_read*"]).unwrap();
    assert!(found.iter().any(|f| f == "vfs_read"), "{found:?}");
}

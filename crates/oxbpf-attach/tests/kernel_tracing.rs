//! Tracing attachments with hand-assembled counting programs (no loader); needs root.
//! kprobes are probed and skipped where the kernel lacks them (they run in the kernel
//! matrix).

use std::os::fd::AsRawFd;

use oxbpf_attach::kprobe::{self, KprobeOptions, ProbeMode};
use oxbpf_attach::perf_event::{self, PerfEventOptions, Sample};
use oxbpf_attach::uprobe::{self, UprobeOptions, UprobeTarget};
use oxbpf_attach::{Error, LinkMechanism, probe_events, raw_tp};
use oxbpf_sys::bpf::{self, MapCreate, ProgLoad};
use oxbpf_sys::{MapFd, ProgFd};

/// The probed function of this test binary.
#[inline(never)]
pub fn oxbpf_attach_test_target(x: u64) -> u64 {
    std::hint::black_box(x + 1)
}

fn insn(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> [u8; 8] {
    let o = off.to_le_bytes();
    let i = imm.to_le_bytes();
    [code, src << 4 | dst, o[0], o[1], i[0], i[1], i[2], i[3]]
}

/// An ARRAY map of one u64 and a program of `prog_type` adding 1 to it on each run.
fn counter(prog_type: u32) -> Option<(MapFd, ProgFd)> {
    // Kernels before 5.11 charge BPF memory to RLIMIT_MEMLOCK (64 KiB by default, and
    // freed objects stay charged for a while): the facade raises it, these lower-layer
    // tests do it themselves as a user of this crate must (refused on newer hosts: fine).
    let _ = oxbpf_sys::raise_memlock_rlimit();
    let map = match bpf::map_create(&MapCreate::new(2, 4, 8, 1)) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("skipping: bpf() not usable here: {e}");
            return None;
        }
    };
    let insns: Vec<u8> = [
        insn(0x62, 10, 0, -4, 0),                     // *(u32 *)(r10 - 4) = 0
        insn(0x18, 1, 1, 0, map.as_fd().as_raw_fd()), // r1 = map (BPF_PSEUDO_MAP_FD)
        insn(0, 0, 0, 0, 0),
        insn(0xbf, 2, 10, 0, 0), // r2 = r10
        insn(0x07, 2, 0, 0, -4), // r2 += -4
        insn(0x85, 0, 0, 0, 1),  // call bpf_map_lookup_elem
        insn(0x15, 0, 0, 2, 0),  // if r0 == 0 goto +2
        insn(0xb7, 1, 0, 0, 1),  // r1 = 1
        insn(0xdb, 0, 1, 0, 0),  // lock *(u64 *)(r0 + 0) += r1
        insn(0xb7, 0, 0, 0, 0),  // r0 = 0
        insn(0x95, 0, 0, 0, 0),  // exit
    ]
    .concat();
    let p = ProgLoad {
        prog_type,
        insns: &insns,
        license: "GPL",
        name: "t_count",
        ..Default::default()
    };
    match bpf::prog_load(&p, 0, &mut []).result {
        Ok(prog) => Some((map, prog)),
        Err(e) => {
            eprintln!("skipping: cannot load a counting program of type {prog_type}: {e}");
            None
        }
    }
}

fn count(map: &MapFd) -> u64 {
    let mut v = [0u8; 8];
    assert!(bpf::map_lookup_elem(map.as_fd(), &0u32.to_ne_bytes(), &mut v, 0).unwrap());
    u64::from_ne_bytes(v)
}

const KPROBE: u32 = 2;
const PERF_EVENT: u32 = 7;
const RAW_TRACEPOINT: u32 = 17;

fn exe() -> String {
    std::env::current_exe().unwrap().display().to_string()
}

/// The (Rust-mangled) symbol of test function `name` in this test binary: the targets
/// are ordinary Rust functions, found by the identifier their mangled name contains.
fn mangled(name: &str) -> String {
    let exe = std::env::current_exe().unwrap();
    let data = std::fs::read(&exe).unwrap();
    let found = oxbpf_attach::symbols::function_symbols(&data, &exe, |n| {
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

#[test]
fn raw_tp_counts_and_detaches() {
    let Some((map, prog)) = counter(RAW_TRACEPOINT) else {
        return;
    };
    let link = raw_tp::attach(prog.as_fd(), "sys_enter").unwrap();
    assert_eq!(link.mechanism(), LinkMechanism::BpfLink);
    assert!(link.link_fd().is_some());
    std::hint::black_box(std::process::id());
    assert!(count(&map) >= 1);
    link.detach().unwrap();
    let n = count(&map);
    for _ in 0..10 {
        std::hint::black_box(std::process::id());
    }
    // Other processes' syscalls would count too: only no change at all proves detach.
    assert_eq!(count(&map), n);
}

#[test]
fn missing_raw_tracepoint_is_named() {
    let Some((_map, prog)) = counter(RAW_TRACEPOINT) else {
        return;
    };
    let err = raw_tp::attach(prog.as_fd(), "oxbpf_no_such_raw_tp").unwrap_err();
    assert!(matches!(err, Error::NoAttachPoint { .. }), "{err}");
    assert!(
        err.to_string()
            .starts_with("raw tracepoint oxbpf_no_such_raw_tp does not exist"),
        "{err}"
    );
    let err = raw_tp::attach(prog.as_fd(), "a/b").unwrap_err();
    assert!(matches!(err, Error::InvalidName { .. }), "{err}");
}

#[test]
fn uprobe_pmu_counts_exact_calls_with_pid_filter() {
    let Some((map, prog)) = counter(KPROBE) else {
        return;
    };
    let target = UprobeTarget::Symbol(mangled("oxbpf_attach_test_target"));
    let opts = UprobeOptions {
        pid: Some(std::process::id()),
        ..Default::default()
    };
    let link = uprobe::attach(prog.as_fd(), &exe(), &target, &opts).unwrap();
    assert!(!link.uses_tracefs_event());
    for i in 0..11 {
        oxbpf_attach_test_target(i);
    }
    assert_eq!(count(&map), 11);
    drop(link);
    oxbpf_attach_test_target(0);
    assert_eq!(count(&map), 11, "count rose after detach");
}

fn our_uprobe_events() -> usize {
    let tracefs = oxbpf_sys::fs::tracefs().unwrap();
    let text = std::fs::read_to_string(tracefs.join("uprobe_events")).unwrap_or_default();
    let mine = format!("{}/oxbpf_up_{}_", probe_events::GROUP, std::process::id());
    text.lines().filter(|l| l.contains(&mine)).count()
}

#[test]
fn tracefs_uprobe_fires_and_its_event_is_removed_on_drop() {
    let Some((map, prog)) = counter(KPROBE) else {
        return;
    };
    if !oxbpf_sys::fs::tracefs()
        .unwrap()
        .join("uprobe_events")
        .exists()
    {
        eprintln!("skipping: no uprobe_events in tracefs");
        return;
    }
    let target = UprobeTarget::Symbol(mangled("oxbpf_attach_test_target"));
    let opts = UprobeOptions {
        mode: ProbeMode::Tracefs,
        ..Default::default()
    };
    let before = our_uprobe_events();
    let link = uprobe::attach(prog.as_fd(), &exe(), &target, &opts).unwrap();
    assert!(link.uses_tracefs_event());
    assert_eq!(our_uprobe_events(), before + 1);
    for i in 0..4 {
        oxbpf_attach_test_target(i);
    }
    // Every process running this binary would count; other tests here do not call it.
    assert!(count(&map) >= 4);
    drop(link);
    assert_eq!(
        our_uprobe_events(),
        before,
        "uprobe_events entry left behind"
    );
    let n = count(&map);
    oxbpf_attach_test_target(0);
    assert_eq!(count(&map), n);
}

#[test]
fn tracefs_uprobe_rejects_a_pid_filter() {
    let Some((_map, prog)) = counter(KPROBE) else {
        return;
    };
    let opts = UprobeOptions {
        mode: ProbeMode::Tracefs,
        pid: Some(1),
        ..Default::default()
    };
    let target = UprobeTarget::Symbol(mangled("oxbpf_attach_test_target"));
    let err = uprobe::attach(prog.as_fd(), &exe(), &target, &opts).unwrap_err();
    assert!(matches!(err, Error::Unsupported { .. }), "{err}");
}

#[test]
fn perf_event_on_every_cpu_counts_and_detaches_together() {
    let Some((map, prog)) = counter(PERF_EVENT) else {
        return;
    };
    let opts = PerfEventOptions {
        sample: Sample::Period(1_000_000), // every 1 ms of cpu-clock
        ..PerfEventOptions::cpu_clock(0)
    };
    let link = perf_event::attach(prog.as_fd(), &opts).unwrap();
    assert!(
        link.description().contains("CPUs"),
        "{}",
        link.description()
    );
    let t = std::time::Instant::now();
    while t.elapsed() < std::time::Duration::from_millis(100) {
        std::hint::black_box(0u64);
    }
    assert!(count(&map) > 5, "{} samples", count(&map));
    link.detach().unwrap();
    let n = count(&map);
    std::thread::sleep(std::time::Duration::from_millis(20));
    assert_eq!(count(&map), n);
}

#[test]
fn zero_sample_period_is_rejected() {
    let Some((_map, prog)) = counter(PERF_EVENT) else {
        return;
    };
    let err = perf_event::attach(prog.as_fd(), &PerfEventOptions::cpu_clock(0)).unwrap_err();
    assert!(matches!(err, Error::InvalidName { .. }), "{err}");
}

#[test]
fn kprobe_attaches_where_the_kernel_has_kprobes() {
    let Some((map, prog)) = counter(KPROBE) else {
        return;
    };
    if let Some(reason) = kprobe::unavailable_reason() {
        eprintln!(
            "skipping: kprobes not available: CONFIG_KPROBES=n — runs in the kernel matrix \
             ({reason})"
        );
        let err = kprobe::attach(prog.as_fd(), "vfs_read", &KprobeOptions::default()).unwrap_err();
        assert!(matches!(err, Error::Unsupported { .. }), "{err}");
        return;
    }
    let link = kprobe::attach(prog.as_fd(), "vfs_read", &KprobeOptions::default()).unwrap();
    std::hint::black_box(std::fs::read("/proc/self/stat").unwrap());
    assert!(count(&map) >= 1);
    drop(link);
    let ret = KprobeOptions {
        retprobe: true,
        ..Default::default()
    };
    let link = kprobe::attach(prog.as_fd(), "vfs_read", &ret).unwrap();
    let n = count(&map);
    std::hint::black_box(std::fs::read("/proc/self/stat").unwrap());
    assert!(count(&map) > n);
    drop(link);
}

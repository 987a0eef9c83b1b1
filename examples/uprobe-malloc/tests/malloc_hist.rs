//! Attaches to libc malloc for this process only, calls malloc a known number of times,
//! and expects at least that many calls in the histogram. Needs root; skips otherwise.

use std::hint::black_box;

#[test]
fn counts_this_process_mallocs_in_the_histogram() {
    if let Some(reason) = bpf_unusable() {
        eprintln!("skipping: {reason}");
        return;
    }
    if !matches!(oxbpf::attach::pmu::probe_pmu("uprobe"), Ok(Some(_)))
        && !std::path::Path::new("/sys/kernel/tracing/uprobe_events").exists()
    {
        eprintln!("skipping: the kernel has no uprobes (no uprobe PMU, no uprobe_events)");
        return;
    }
    let (coll, links) = uprobe_malloc::attach(Some(std::process::id())).unwrap();
    assert_eq!(links.len(), 2, "uprobe and uretprobe");
    let before = uprobe_malloc::read(&coll).unwrap().total();
    const CALLS: u64 = 1000;
    for i in 0..CALLS {
        // Large enough for the system allocator (libc malloc) on every call.
        let v: Vec<u8> = Vec::with_capacity(black_box(4096 + i as usize));
        black_box(&v);
    }
    let h = uprobe_malloc::read(&coll).unwrap();
    assert!(
        h.total() >= before + CALLS,
        "{} calls counted after {CALLS} mallocs (before: {before})\n{}",
        h.total(),
        uprobe_malloc::render(&h)
    );
    // Each call takes at least 1 ns and far less than 2^31 ns.
    assert_eq!(
        h.counts[uprobe_malloc::SLOTS - 1],
        0,
        "{}",
        uprobe_malloc::render(&h)
    );

    drop(links);
    let after = uprobe_malloc::read(&coll).unwrap().total();
    let _v: Vec<u8> = Vec::with_capacity(black_box(8192));
    assert_eq!(
        uprobe_malloc::read(&coll).unwrap().total(),
        after,
        "counted after detach"
    );
}

/// Why bpf() cannot be used by this process, if it cannot (not root, no BPF syscall).
fn bpf_unusable() -> Option<String> {
    // A feature probe first: it raises RLIMIT_MEMLOCK where the kernel needs that.
    let _ = oxbpf::features::map_type_supported(oxbpf::obj::MapType::ARRAY);
    let attr = oxbpf::sys::bpf::MapCreate::new(2, 4, 4, 1);
    oxbpf::sys::bpf::map_create(&attr)
        .err()
        .map(|e| format!("bpf() is not usable here ({e}); run the tests as root"))
}

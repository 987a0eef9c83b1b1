//! Runs opensnoop on this process while a thread opens a file, and expects the event
//! from the best hook available (on the build host: the tracepoint, because it has no
//! kprobes and no trampolines). Needs root; skips with the reason otherwise.

use std::time::Duration;

#[test]
fn sees_an_open_of_this_process_and_says_which_hook() {
    if let Some(reason) = bpf_unusable() {
        eprintln!("skipping: {reason}");
        return;
    }
    // The tracepoint is on every kernel with syscall tracepoints, so one hook must work.
    let a = opensnoop::attach_best(Some(std::process::id())).unwrap();
    for (hook, why) in &a.fallbacks {
        eprintln!("fell back from {hook:?}: {why}");
    }
    let expected_hook = a.hook;
    drop(a);
    if expected_hook == opensnoop::Hook::Kprobe {
        let why = oxbpf::attach::kprobe::unavailable_reason();
        assert!(why.is_none(), "kprobe chosen although {why:?}");
    }

    let path = std::env::temp_dir().join(format!("opensnoop-test-{}", std::process::id()));
    std::fs::write(&path, b"x").unwrap();
    let p2 = path.clone();
    let opener = std::thread::spawn(move || {
        for _ in 0..20 {
            std::thread::sleep(Duration::from_millis(100));
            let _ = std::fs::File::open(&p2);
        }
    });
    let opts = opensnoop::Options {
        pid: Some(std::process::id()),
        duration: Some(Duration::from_secs(3)),
        limit: None,
    };
    let want = path.to_string_lossy().into_owned();
    let mut seen = Vec::new();
    let s = opensnoop::run(&opts, |ev| seen.push(ev.clone())).unwrap();
    opener.join().unwrap();
    let _ = std::fs::remove_file(&path);

    assert_eq!(s.hook, expected_hook);
    assert_eq!(
        s.fallbacks.len(),
        opensnoop::Hook::ALL
            .iter()
            .position(|h| *h == s.hook)
            .unwrap()
    );
    let hits: Vec<_> = seen.iter().filter(|e| e.filename == want).collect();
    assert!(
        !hits.is_empty(),
        "no open of {want} among {} events: {seen:?}",
        seen.len()
    );
    for e in &hits {
        assert_eq!(e.tgid, std::process::id());
        assert_eq!(e.source, s.hook.source());
    }
    // The pid filter in .rodata holds: only this process's opens arrive.
    assert!(
        seen.iter().all(|e| e.tgid == std::process::id()),
        "{seen:?}"
    );
}

#[test]
fn kprobe_failure_names_the_reason_when_kprobes_are_missing() {
    if let Some(reason) = bpf_unusable() {
        eprintln!("skipping: {reason}");
        return;
    }
    let Some(reason) = oxbpf::attach::kprobe::unavailable_reason() else {
        eprintln!("skipping: this kernel has kprobes");
        return;
    };
    match opensnoop::attach_hook(opensnoop::Hook::Kprobe, None) {
        Ok(_) => panic!("kprobe attached although {reason}"),
        // The program loads; the attach is what fails.
        Err(e) => assert!(matches!(e, oxbpf::Error::Attach { .. }), "{e}"),
    }
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

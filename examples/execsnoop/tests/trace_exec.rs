//! Runs execsnoop for a few seconds while this test execs `/bin/true`, and expects the
//! child's event. Needs root; skips with the reason otherwise.

use std::time::Duration;

#[test]
fn sees_the_exec_of_a_child() {
    if let Some(reason) = bpf_unusable() {
        eprintln!("skipping: {reason}");
        return;
    }
    let spawner = std::thread::spawn(|| {
        let mut pids = Vec::new();
        for _ in 0..20 {
            std::thread::sleep(Duration::from_millis(100));
            if let Ok(mut c) = std::process::Command::new("/bin/true").spawn() {
                pids.push(c.id());
                let _ = c.wait();
            }
        }
        pids
    });
    let mut seen = Vec::new();
    let opts = execsnoop::Options {
        duration: Some(Duration::from_secs(3)),
        limit: None,
    };
    let summary = execsnoop::run(&opts, |ev| seen.push(ev.clone())).unwrap();
    let pids = spawner.join().unwrap();
    assert_eq!(summary.malformed, 0);
    let ours: Vec<_> = seen.iter().filter(|e| pids.contains(&e.pid)).collect();
    assert!(
        !ours.is_empty(),
        "no event for any of {pids:?} among {seen:?}"
    );
    for e in ours {
        assert_eq!(e.tgid, e.pid);
        assert_eq!(e.comm, "true");
        assert!(e.filename.ends_with("/true"), "{e:?}");
    }
}

#[test]
fn limit_stops_after_that_many_events() {
    if let Some(reason) = bpf_unusable() {
        eprintln!("skipping: {reason}");
        return;
    }
    let spawner = std::thread::spawn(|| {
        for _ in 0..30 {
            std::thread::sleep(Duration::from_millis(50));
            let _ = std::process::Command::new("/bin/true").status();
        }
    });
    let opts = execsnoop::Options {
        duration: Some(Duration::from_secs(5)),
        limit: Some(2),
    };
    let mut n = 0;
    let summary = execsnoop::run(&opts, |_| n += 1).unwrap();
    spawner.join().unwrap();
    assert_eq!((summary.events, n), (2, 2));
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

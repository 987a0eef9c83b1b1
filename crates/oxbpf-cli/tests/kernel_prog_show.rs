//! `oxbpf prog show`: the program a test loaded and attached, and its runs counted in a
//! `--stats-for` window while this test triggers its tracepoint (getpid).

mod common;

use std::process::Command;
use std::time::Duration;

use common::fixture;

fn field<'a>(text: &'a str, key: &str) -> &'a str {
    text.lines()
        .find_map(|l| l.strip_prefix(key).and_then(|r| r.strip_prefix(':')))
        .unwrap_or_else(|| panic!("no {key:?} in:\n{text}"))
        .trim()
}

#[test]
fn prog_show_counts_the_runs_of_a_stats_window() {
    let _ = oxbpf::features::map_type_supported(oxbpf::obj::MapType::ARRAY);
    if let Err(e) = oxbpf::sys::bpf::map_create(&oxbpf::sys::bpf::MapCreate::new(2, 4, 4, 1)) {
        eprintln!("skipping: bpf() is not usable here ({e})");
        return;
    }
    match oxbpf::sys::bpf::enable_stats(oxbpf::sys::bpf::STATS_RUN_TIME) {
        Ok(fd) => drop(fd),
        Err(e) => {
            eprintln!("skipping: BPF_ENABLE_STATS is not available here ({e}; since 5.8)");
            return;
        }
    }
    let spec = oxbpf::ObjectSpec::from_file(fixture("counter.bpf.o")).unwrap();
    let coll = oxbpf::Collection::load(&spec, &oxbpf::LoadOptions::default()).unwrap();
    let prog = coll.program("count_getpid").unwrap();
    let id = oxbpf::sys::bpf::prog_info(prog.fd().as_fd()).unwrap().id;
    let _link = prog.attach().unwrap();

    let child = Command::new(env!("CARGO_BIN_EXE_oxbpf"))
        .args(["prog", "show", &id.to_string(), "--stats-for", "1.5"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Well inside the window: 2000 getpid calls of this process.
    std::thread::sleep(Duration::from_millis(500));
    for _ in 0..2000 {
        std::hint::black_box(std::process::id());
    }
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(field(&text, "id"), id.to_string());
    assert_eq!(field(&text, "type"), "tracepoint");
    assert_eq!(field(&text, "name"), "count_getpid");
    let runs: u64 = field(&text, "window_run_cnt").parse().unwrap();
    let ns: u64 = field(&text, "window_run_time_ns").parse().unwrap();
    // Other processes call getpid too: at least ours.
    assert!(runs >= 2000, "{text}");
    assert!(ns > 0, "{text}");
    assert!(!text.contains("did not run"), "{text}");
    // The counts persist in the program's info after the window.
    let after = oxbpf::sys::bpf::prog_info(prog.fd().as_fd()).unwrap();
    assert!(after.run_cnt >= 2000);

    // Without a window: the totals, and a line saying whether stats are on.
    let out = Command::new(env!("CARGO_BIN_EXE_oxbpf"))
        .args(["prog", "show", &id.to_string()])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let total: u64 = field(&text, "run_cnt").parse().unwrap();
    assert!(total >= runs, "{text}");
    assert!(field(&text, "stats").starts_with("o"), "{text}");

    // Bad input is named.
    let out = Command::new(env!("CARGO_BIN_EXE_oxbpf"))
        .args(["prog", "show", &id.to_string(), "--stats-for=0"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--stats-for 0"), "{err}");
}

//! `oxbpf run` over ring buffers and perf event arrays at once (evmix.bpf.o), and
//! `oxbpf map list` / `oxbpf map dump` against a loaded counter.bpf.o.

mod common;

use std::io::{BufRead, BufReader, Read};
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{fixture, ok, oxbpf};

fn have_bpf() -> bool {
    let _ = oxbpf::features::map_type_supported(oxbpf::obj::MapType::ARRAY);
    match oxbpf::sys::bpf::map_create(&oxbpf::sys::bpf::MapCreate::new(2, 4, 4, 1)) {
        Ok(_) => true,
        Err(e) => {
            eprintln!("skipping: bpf() is not usable here ({e})");
            false
        }
    }
}

fn have_ringbuf() -> bool {
    match oxbpf::features::map_type_supported(oxbpf::obj::MapType::RINGBUF) {
        Ok(true) => true,
        other => {
            eprintln!("skipping: no ring buffer maps here ({other:?}; since 5.8)");
            false
        }
    }
}

static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Runs `oxbpf run evmix.bpf.o` for our pid with `extra` arguments, calls getpid()
/// `calls` times once it streams, and returns (stdout, stderr) after it exits.
fn run_evmix(extra: &[&str], calls: u32) -> (String, String) {
    // Every test of this process shares the tgid the fixture filters on: one at a time.
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let pid = std::process::id();
    let mut child = oxbpf()
        .arg("run")
        .arg(fixture("evmix.bpf.o"))
        .arg("--set")
        .arg(format!("target_tgid={pid}"))
        .args(["--duration", "3"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut head = String::new();
    let start = Instant::now();
    loop {
        let mut line = String::new();
        if err.read_line(&mut line).unwrap() == 0 {
            panic!("oxbpf run ended before streaming: {head}");
        }
        head.push_str(&line);
        if line.starts_with("streaming") {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(20), "{head}");
    }
    for _ in 0..calls {
        // glibc does not cache getpid(): each call enters the tracepoint.
        std::hint::black_box(std::process::id());
    }
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    let mut rest = String::new();
    err.read_to_string(&mut rest).unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "exit {status:?}; stderr: {head}{rest}");
    (out, head + &rest)
}

fn records(out: &str, map: &str) -> Vec<serde_json::Value> {
    out.lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["map"] == map && v.get("record").is_some())
        .collect::<Vec<_>>()
}

#[test]
fn run_streams_ring_and_perf_buffers_together_with_counters() {
    if !have_bpf() || !have_ringbuf() {
        return;
    }
    let pid = u64::from(std::process::id());
    let (out, err) = run_evmix(&["--type", "perf_events=struct evmix_event"], 10);
    let ring = records(&out, "ring_events");
    let perf = records(&out, "perf_events");
    assert_eq!(ring.len(), 10, "stdout: {out}\nstderr: {err}");
    assert_eq!(perf.len(), 10, "stdout: {out}\nstderr: {err}");
    for (i, r) in ring.iter().enumerate() {
        // Ring buffers: decoded by the map's declared value type, no CPU.
        assert_eq!(r["record"]["tgid"], pid, "{r}");
        assert_eq!(r["record"]["seq"], i as u64, "{r}");
        assert_eq!(r["record"]["magic"], 0x786d7665u64, "{r}");
        assert!(r.get("cpu").is_none(), "{r}");
    }
    let mut perf_seqs: Vec<u64> = perf
        .iter()
        .map(|r| {
            assert_eq!(r["record"]["tgid"], pid, "{r}");
            assert!(r["cpu"].is_u64(), "{r}");
            r["record"]["seq"].as_u64().unwrap()
        })
        .collect();
    perf_seqs.sort();
    assert_eq!(perf_seqs, (0..10).collect::<Vec<_>>());
    assert!(
        err.contains("ring_events: ring buffer: 10 records, 160 bytes, 0 discarded"),
        "{err}"
    );
    assert!(
        err.contains("perf_events: perf buffer: 10 records") && err.contains(", 0 lost"),
        "{err}"
    );
}

#[test]
fn run_prints_perf_records_as_hex_without_a_type_and_rejects_unknown_types() {
    if !have_bpf() || !have_ringbuf() {
        return;
    }
    let (out, err) = run_evmix(&[], 3);
    let perf = records(&out, "perf_events");
    assert_eq!(perf.len(), 3, "stdout: {out}\nstderr: {err}");
    let hex = perf[0]["record"].as_str().expect("hex string");
    // tgid (native endian) then seq 0: the first 8 bytes.
    let pid = std::process::id().to_ne_bytes();
    let want: String = pid.iter().map(|b| format!("{b:02x}")).collect();
    assert!(hex.starts_with(&want), "{hex}");

    let out = oxbpf()
        .arg("run")
        .arg(fixture("evmix.bpf.o"))
        .args(["--type", "struct no_such_type", "--duration", "0"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no_such_type") && err.contains("no such type"),
        "{err}"
    );
}

fn map_id(fd: std::os::fd::BorrowedFd<'_>) -> u32 {
    oxbpf::sys::bpf::map_info(fd).unwrap().id
}

#[test]
fn map_dump_by_id_decodes_our_getpid_count_by_btf_and_list_names_the_map() {
    if !have_bpf() {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let spec = oxbpf::ObjectSpec::from_file(fixture("counter.bpf.o")).unwrap();
    let coll = oxbpf::Collection::load(&spec, &oxbpf::LoadOptions::default()).unwrap();
    let links = coll.attach_all().unwrap();
    for _ in 0..7 {
        std::hint::black_box(std::process::id());
    }
    drop(links);
    let counts = coll.map("counts").unwrap();
    let id = map_id(counts.fd());

    let text = ok(&["map", "dump", "id", &id.to_string()]);
    let ours: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| v["key"] == u64::from(std::process::id()))
        .collect();
    assert_eq!(ours.len(), 1, "{text}");
    // Exactly our 7 calls: the links were dropped before anything else called getpid.
    assert_eq!(ours[0]["value"], 7, "{text}");

    let out = oxbpf().args(["map", "list"]).output().unwrap();
    assert!(out.status.success());
    let list = String::from_utf8(out.stdout).unwrap();
    let line = list
        .lines()
        .find(|l| l.split_whitespace().next() == Some(&id.to_string()))
        .unwrap_or_else(|| panic!("map {id} not listed:\n{list}"));
    assert!(line.contains("hash") && line.contains("counts"), "{line}");
    assert!(line.contains("1024"), "{line}");
}

#[test]
fn map_dump_prints_per_cpu_values_as_arrays_and_hex_without_btf() {
    if !have_bpf() {
        return;
    }
    let attr = oxbpf::sys::bpf::MapCreate::new(6 /* percpu_array */, 4, 4, 2);
    let fd = oxbpf::sys::bpf::map_create(&attr).unwrap();
    let map = oxbpf::maps::Map::from_fd("pcpu", fd).unwrap();
    let cpus = oxbpf::sys::possible_cpus().unwrap();
    let mut v = vec![0u8; map.value_len()];
    for c in 0..cpus {
        v[c * 8..c * 8 + 4].copy_from_slice(&(0x11 * (c as u32 + 1)).to_le_bytes());
    }
    map.update(&1u32.to_ne_bytes(), &v, 0).unwrap();
    let id = map_id(map.fd());
    let text = ok(&["map", "dump", &id.to_string()]);
    let rows: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 2, "{text}");
    let one = rows
        .iter()
        .find(|r| r["key"] == "01000000")
        .unwrap_or_else(|| panic!("{text}"));
    let vals = one["value"].as_array().expect("per-CPU array");
    assert_eq!(vals.len(), cpus);
    assert_eq!(vals[0], "11000000");
    if cpus > 1 {
        assert_eq!(vals[1], "22000000");
    }

    // A ring buffer has nothing to dump: a clear error naming it.
    let rb = oxbpf::sys::bpf::map_create(&oxbpf::sys::bpf::MapCreate::new(27, 0, 0, 4096));
    if let Ok(rb) = rb {
        let out = oxbpf()
            .args(["map", "dump", "id", &map_id(rb.as_fd()).to_string()])
            .output()
            .unwrap();
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("ringbuf map: it has no entries"), "{err}");
    }
}

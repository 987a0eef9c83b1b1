//! `attach_tracepoints_100` (+ `detach_tracepoints_100`): one program on the first 100
//! `syscalls:sys_enter_*` tracepoints (sorted by name), then all detached (bench-peers
//! `attach_tps`). The detach is timed three ways: `detach_tracepoints_100` is how long
//! `oxbpf::attach::Links::detach` keeps the caller (it hands the links to a background
//! thread that closes them from many threads at once), `_complete` until that teardown
//! has finished (every link detached: what the peers' figure measures), and `_serial`
//! one `Link::detach` after another on the caller's thread, as the peers do.

use std::path::PathBuf;
use std::time::Instant;

use oxbpf::attach::{Link, Links, tracepoint};

use super::{Res, out};

/// The program: `tp_any` of `$PEERBENCH_BPF/perf.bpf.o` if present, else the project's
/// `fixtures/counter.bpf.o` `count_getpid` (a tracepoint program too).
fn program() -> (PathBuf, &'static str) {
    if let Some(dir) = std::env::var_os("PEERBENCH_BPF") {
        let p = PathBuf::from(dir).join("perf.bpf.o");
        if p.exists() {
            return (p, "tp_any");
        }
    }
    (
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/counter.bpf.o"),
        "count_getpid",
    )
}

/// The first `n` `sys_enter_*` tracepoints by name.
fn tracepoint_names(n: usize) -> Res<Vec<String>> {
    let root = oxbpf_sys::fs::tracefs()?;
    let dir = root.join("events/syscalls");
    let mut v: Vec<String> = std::fs::read_dir(&dir)?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("sys_enter_"))
        .collect();
    v.sort();
    if v.len() < n {
        return Err(format!("only {} syscall tracepoints in {}", v.len(), dir.display()).into());
    }
    v.truncate(n);
    Ok(v)
}

/// Attach, parallel detach (the metric), attach again, serial detach.
pub fn attach_tracepoints_100() -> Res<()> {
    let names = tracepoint_names(100)?;
    let (path, prog_name) = program();
    let spec = oxbpf::ObjectSpec::from_file(&path)?;
    let coll = oxbpf::Collection::load(&spec, &oxbpf::LoadOptions::default())?;
    let prog = coll
        .program(prog_name)
        .ok_or_else(|| format!("{}: no program {prog_name}", path.display()))?;
    let fd = prog.fd().as_fd();
    let attach_all = || -> Res<Vec<Link>> {
        let mut links = Vec::with_capacity(names.len());
        for n in &names {
            links.push(tracepoint::attach(fd, "syscalls", n)?);
        }
        Ok(links)
    };

    let t = Instant::now();
    let links = attach_all()?;
    let attach_ms = t.elapsed().as_secs_f64() * 1e3;
    let links = Links::from(links);
    let t = Instant::now();
    let teardown = links.detach();
    let detach_ms = t.elapsed().as_secs_f64() * 1e3;
    teardown.wait()?;
    let complete_ms = t.elapsed().as_secs_f64() * 1e3;

    let links = attach_all()?;
    let t = Instant::now();
    for l in links {
        l.detach()?;
    }
    let serial_ms = t.elapsed().as_secs_f64() * 1e3;

    out("attach_tracepoints_100", attach_ms, "ms");
    out("detach_tracepoints_100", detach_ms, "ms");
    out("detach_tracepoints_100_complete", complete_ms, "ms");
    out("detach_tracepoints_100_serial", serial_ms, "ms");
    Ok(())
}

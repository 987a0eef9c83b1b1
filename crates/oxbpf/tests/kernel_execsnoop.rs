//! The main path: execsnoop.bpf.o loaded, attached to sched_process_exec, a process
//! exec'd, and its event read from the ring buffer.

mod common;

use std::time::{Duration, Instant};

use oxbpf::maps::RingBuf;

#[derive(Debug)]
struct ExecEvent {
    pid: u32,
    tgid: u32,
    uid: u32,
    comm: String,
    filename: String,
}

fn cstr(b: &[u8]) -> String {
    String::from_utf8_lossy(&b[..b.iter().position(|&c| c == 0).unwrap_or(b.len())]).into_owned()
}

fn parse(rec: &[u8]) -> ExecEvent {
    assert_eq!(rec.len(), 156, "struct exec_event is 156 bytes");
    let u = |o: usize| u32::from_ne_bytes(rec[o..o + 4].try_into().unwrap());
    ExecEvent {
        pid: u(0),
        tgid: u(4),
        uid: u(8),
        comm: cstr(&rec[12..28]),
        filename: cstr(&rec[28..156]),
    }
}

#[test]
fn exec_of_a_child_arrives_with_its_pid_and_comm() {
    if !common::have_bpf() {
        return;
    }
    let coll = common::load("execsnoop.bpf.o");
    let links = coll.attach_all().unwrap();
    assert_eq!(links.len(), 1);
    assert_eq!(
        links[0].description(),
        "tracepoint sched/sched_process_exec"
    );
    let mut rb = RingBuf::new(coll.map("events").unwrap()).unwrap();

    let child = std::process::Command::new("/bin/true").spawn().unwrap();
    let pid = child.id();
    let mut child = child;
    child.wait().unwrap();

    let deadline = Instant::now() + Duration::from_secs(10);
    let mut found = None;
    while found.is_none() && Instant::now() < deadline {
        rb.poll(Some(Duration::from_millis(100)), |rec| {
            let ev = parse(rec);
            if ev.pid == pid {
                found = Some(ev);
            }
        })
        .unwrap();
    }
    let ev = found.unwrap_or_else(|| panic!("no exec event for pid {pid} within 10 s"));
    assert_eq!(ev.tgid, pid);
    assert_eq!(ev.comm, "true");
    assert!(ev.filename.ends_with("/true"), "{ev:?}");
    assert_eq!(ev.uid, 0, "tests run as root");

    // The record type is known from BTF, so it decodes to JSON by name.
    let btf = coll.btf().unwrap();
    let ty = coll
        .map_value_type("events")
        .expect("ringbuf value type recorded");
    assert_eq!(btf.type_name(ty).unwrap(), "exec_event");

    // After detaching, new execs produce nothing.
    drop(links);
    rb.consume(|_| {}).unwrap();
    std::process::Command::new("/bin/true").status().unwrap();
    std::thread::sleep(Duration::from_millis(50));
    let mut after = 0;
    rb.consume(|_| after += 1).unwrap();
    assert_eq!(after, 0, "records arrived after the link was dropped");
}

//! `oxbpf probe` and `oxbpf prog list|dump` end to end against the host kernel.

mod common;

use std::process::Output;

use common::{fixture, have_bpf, run};

fn stdout(o: &Output) -> String {
    assert!(
        o.status.success(),
        "exit {:?}: {}",
        o.status,
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn find<'a>(list: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    list.as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == name || e["program_type"] == name)
        .unwrap_or_else(|| panic!("{name} not in {list}"))
}

#[test]
fn probe_json_is_one_document_with_every_section() {
    if !have_bpf() {
        return;
    }
    let text = stdout(&run(&["probe", "--json"]));
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        find(&doc["program_types"], "socket_filter")["supported"],
        true
    );
    assert_eq!(find(&doc["program_types"], "xdp")["since"], "4.8");
    assert_eq!(find(&doc["map_types"], "ringbuf")["supported"], true);
    assert_eq!(find(&doc["capabilities"], "ringbuf")["supported"], true);
    assert_eq!(find(&doc["capabilities"], "bpf_link")["supported"], true);
    assert_eq!(find(&doc["btf"], "float")["supported"], true);
    // EPERM on this host (HOST.md): no answer, but the reason.
    let tracing = find(&doc["program_types"], "tracing");
    if tracing["supported"].is_null() {
        assert!(tracing["error"].as_str().unwrap().contains("EPERM"));
    }
    let sf = find(&doc["helpers"], "socket_filter");
    let helpers: Vec<&str> = sf["helpers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h.as_str().unwrap())
        .collect();
    assert!(helpers.contains(&"bpf_map_lookup_elem"));
    assert!(!helpers.contains(&"bpf_xdp_adjust_head"));
    let gpl: Vec<&serde_json::Value> = sf["gpl_only"].as_array().unwrap().iter().collect();
    assert!(gpl.iter().any(|h| *h == "bpf_probe_read_kernel"));
    assert!(
        doc["elapsed_ms"].as_f64().unwrap() < 5000.0,
        "{}",
        doc["elapsed_ms"]
    );
}

#[test]
fn probe_text_lists_types_capabilities_and_helpers() {
    if !have_bpf() {
        return;
    }
    let text = stdout(&run(&["probe"]));
    for want in [
        "program types (first kernel, answer):",
        "map types (first kernel, answer):",
        "capabilities (first kernel, answer):",
        "helpers per program type",
        "  socket_filter: bpf_map_lookup_elem",
    ] {
        assert!(text.contains(want), "{want:?} missing:\n{text}");
    }
    let ringbuf = text
        .lines()
        .find(|l| l.trim_start().starts_with("ringbuf "))
        .unwrap();
    assert!(ringbuf.ends_with("5.8  yes"), "{ringbuf}");
}

#[test]
fn prog_list_and_dump_show_a_loaded_program() {
    if !have_bpf() {
        return;
    }
    let spec = oxbpf::ObjectSpec::from_file(fixture("counter.bpf.o")).unwrap();
    let coll = oxbpf::Collection::load(&spec, &oxbpf::LoadOptions::default()).unwrap();
    let prog = coll.programs().next().unwrap();
    let info = oxbpf::sys::bpf::prog_info(prog.fd().as_fd()).unwrap();
    let id = info.id.to_string();

    let list = stdout(&run(&["prog", "list"]));
    let row = list
        .lines()
        .find(|l| l.split_whitespace().next() == Some(id.as_str()))
        .unwrap_or_else(|| panic!("id {id} not listed:\n{list}"));
    let name = &prog.name()[..prog.name().len().min(15)];
    assert!(row.contains("tracepoint"), "{row}");
    assert!(row.contains(name), "{row}");
    let tag: String = info.tag.iter().map(|b| format!("{b:02x}")).collect();
    assert!(row.contains(&tag), "{row}");

    let dump = stdout(&run(&["prog", "dump", &id, "--xlated"]));
    assert!(
        dump.starts_with(&format!("prog {id} tracepoint name {name} tag {tag}\n")),
        "{dump}"
    );
    assert!(dump.lines().any(|l| l.ends_with(": exit")), "{dump}");
    // The helper call, named from kallsyms (xlated calls hold func - __bpf_call_base).
    assert!(dump.contains("call bpf_get_current_pid_tgid"), "{dump}");
    // The map reference, by id.
    assert!(dump.contains("= map[id:"), "{dump}");
    // --xlated is the default.
    assert_eq!(stdout(&run(&["prog", "dump", &id])), dump);

    let jited = stdout(&run(&["prog", "dump", &id, "--jited-bytes"]));
    let mut lines = jited.lines().skip(1);
    let size_line = lines.next().unwrap();
    assert!(
        size_line.starts_with("jited ") && size_line.ends_with(" bytes"),
        "{jited}"
    );
    assert!(lines.next().unwrap().starts_with("     0: "), "{jited}");

    // The same program through a pin.
    let bpffs = oxbpf::sys::fs::bpffs().unwrap();
    let pin = bpffs.join(format!("oxbpf_probe_cli_{}", std::process::id()));
    oxbpf::sys::bpf::obj_pin(prog.fd().as_fd(), &pin).unwrap();
    let by_path = run(&["prog", "dump", pin.to_str().unwrap()]);
    let _ = std::fs::remove_file(&pin);
    assert_eq!(stdout(&by_path), dump);
}

#[test]
fn prog_dump_errors_name_the_program() {
    if !have_bpf() {
        return;
    }
    let o = run(&["prog", "dump", "4000000000"]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("program id 4000000000: BPF_PROG_GET_FD_BY_ID: ") && err.contains("ENOENT"),
        "{err}"
    );
    let o = run(&["prog", "dump", "99999999999"]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("program id 99999999999: out of range"));
    // A pinned map is not a program.
    let map = oxbpf::sys::bpf::map_create(&oxbpf::sys::bpf::MapCreate::new(2, 4, 4, 1)).unwrap();
    let bpffs = oxbpf::sys::fs::bpffs().unwrap();
    let pin = bpffs.join(format!("oxbpf_probe_cli_map_{}", std::process::id()));
    oxbpf::sys::bpf::obj_pin(map.as_fd(), &pin).unwrap();
    let o = run(&["prog", "dump", pin.to_str().unwrap()]);
    let _ = std::fs::remove_file(&pin);
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("pinned object is not a program"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

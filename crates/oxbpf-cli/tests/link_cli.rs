//! `oxbpf link list` shows a link this test attached: its id, type, program id and target.

mod common;

use common::{fixture, ok};

#[test]
fn link_list_shows_an_attached_tracepoint() {
    let _ = oxbpf::features::map_type_supported(oxbpf::obj::MapType::ARRAY);
    if let Err(e) = oxbpf::sys::bpf::map_create(&oxbpf::sys::bpf::MapCreate::new(2, 4, 4, 1)) {
        eprintln!("skipping: bpf() is not usable here ({e})");
        return;
    }
    if oxbpf::sys::bpf::link_get_next_id(0).is_err() {
        eprintln!("skipping: BPF_LINK_GET_NEXT_ID needs Linux 5.8");
        return;
    }
    let spec = oxbpf::ObjectSpec::from_file(fixture("counter.bpf.o")).unwrap();
    let coll = oxbpf::Collection::load(&spec, &oxbpf::LoadOptions::default()).unwrap();
    let link = coll.program("count_getpid").unwrap().attach().unwrap();
    let Ok(info) = link.info() else {
        eprintln!("skipping: the tracepoint is attached without a bpf_link (before 5.15)");
        return;
    };
    let text = ok(&["link", "list"]);
    assert!(text.starts_with("    id  type"), "{text}");
    let line = text
        .lines()
        .find(|l| l.split_whitespace().next() == Some(&info.id.to_string()))
        .unwrap_or_else(|| panic!("link {} not listed:\n{text}", info.id));
    let cols: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(cols[1], "perf_event", "{line}");
    assert_eq!(cols[2], info.prog_id.to_string(), "{line}");
    // The perf_event part of bpf_link_info (the tracepoint's name) is 6.6+.
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap();
    let mut v = release
        .split(|c: char| !c.is_ascii_digit())
        .map(|p| p.parse::<u32>().unwrap_or(0));
    if (v.next().unwrap_or(0), v.next().unwrap_or(0)) >= (6, 6) {
        assert!(line.contains("tracepoint sys_enter_getpid"), "{line}");
    }
}

//! struct_ops maps of `?.struct_ops` sections (struct_ops_optional): not created unless
//! asked (libbpf's autocreate off), their programs not loaded; turning
//! `MapSpec::autocreate` on creates them (here failing, naming the member the kernel
//! lacks), as libbpf does.

mod common;

use oxbpf::obj::ObjectSpec;
use oxbpf::{Collection, LoadOptions};

#[test]
fn optional_struct_ops_map_is_left_out_unless_autocreate_is_turned_on() {
    if !common::have_bpf_tcp_cc() {
        return;
    }
    let mut spec = ObjectSpec::from_file(common::fixture("struct_ops_optional.bpf.o")).unwrap();
    let opt = spec
        .maps
        .iter()
        .position(|m| m.name == "oxopt_missing")
        .unwrap();
    assert!(!spec.maps[opt].autocreate, "?.struct_ops: autocreate off");
    assert!(spec.map("oxopt_cc").unwrap().autocreate);

    let coll = Collection::load(&spec, &LoadOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    assert!(coll.struct_ops("oxopt_missing").is_none());
    assert!(coll.map("oxopt_missing").is_none());
    let mut progs: Vec<&str> = coll.programs().map(|p| p.name()).collect();
    progs.sort_unstable();
    // oxopt_never serves only the map left out: not loaded.
    assert_eq!(
        progs,
        ["oxopt_cong_avoid", "oxopt_ssthresh", "oxopt_undo_cwnd"]
    );
    // The created map works: attaching registers the congestion control.
    let links = coll.attach_all().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(links.len(), 1);
    assert!(
        common::available_cc()
            .split_whitespace()
            .any(|c| c == "oxopt_cc"),
        "{}",
        common::available_cc()
    );
    drop(links);
    drop(coll);
    assert!(
        !common::available_cc()
            .split_whitespace()
            .any(|c| c == "oxopt_cc")
    );

    // Asked for, the optional map is created: its type has a member the kernel lacks.
    spec.maps[opt].autocreate = true;
    let e = Collection::load(&spec, &LoadOptions::default())
        .expect_err("oxopt_missing's type does not match the kernel's")
        .to_string();
    assert!(
        e.contains("oxopt_missing") && e.contains("does_not_exist"),
        "{e}"
    );
}

//! The planner against the kernel's own BTF: every named struct and union of
//! /sys/kernel/btf/vmlinux is generated (nothing panics), and the output, layout
//! assertions included, compiles — real layouts (bitfields, packed, unions, anonymous
//! members, flexible arrays) checked by rustc. By default every 8th struct is compiled
//! (~10 s); `OXBPF_GEN_VMLINUX_ALL=1` compiles all of them (~1 min).

use std::process::Command;

#[test]
fn every_vmlinux_struct_generates_and_its_assertions_hold() {
    let Ok(data) = std::fs::read("/sys/kernel/btf/vmlinux") else {
        eprintln!("skipping: /sys/kernel/btf/vmlinux is not readable");
        return;
    };
    let btf = oxbpf_btf::Btf::parse(&data).unwrap();
    let mut ids = Vec::new();
    for r in btf.types() {
        let (id, t) = r.unwrap();
        if matches!(t, oxbpf_btf::Type::Struct(_) | oxbpf_btf::Type::Union(_))
            && !t.name().is_empty()
        {
            ids.push(id);
        }
    }
    assert!(ids.len() > 1000, "{} structs", ids.len());
    if std::env::var_os("OXBPF_GEN_VMLINUX_ALL").is_none() {
        ids = ids.into_iter().step_by(8).collect();
    }
    let src = oxbpf_gen::generate_types(&btf, &ids, None).unwrap();
    let failed = src
        .lines()
        .filter(|l| l.starts_with("// not generated"))
        .count();
    eprintln!("{} structs, {failed} not generated", ids.len());
    assert!(
        failed * 100 < ids.len(),
        "{failed} of {} not generated",
        ids.len()
    );
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    if Command::new(&rustc).arg("--version").output().is_err() {
        eprintln!("skipping the compile: rustc is not on PATH");
        return;
    }
    let dir = std::env::temp_dir().join(format!("oxbpf-gen-vmlinux-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("vmlinux.rs");
    std::fs::write(&file, &src).unwrap();
    let out = Command::new(&rustc)
        .args([
            "--edition",
            "2024",
            "--crate-type",
            "lib",
            "--emit",
            "metadata",
            "-A",
            "warnings",
        ])
        .arg("--out-dir")
        .arg(&dir)
        .arg(&file)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    if out.status.success() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    assert!(out.status.success(), "{}", &err[..err.len().min(6000)]);
}

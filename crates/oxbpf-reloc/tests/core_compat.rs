//! Differential test against libbpf on the kernel's CO-RE selftests. `scripts/core-compat`
//! (`just core-compat`) builds the corpus — test_core_reloc_*.o objects, their
//! btf__core_reloc_*.o targets (their .BTF as TARGET.btf), and libbpf's final instructions for each pair
//! (`OBJ@TARGET.libbpf`) — and runs this test with `OXBPF_CORE_COMPAT_DIR` set. Without it
//! the test says so and passes (the corpus is not committed).
//!
//! Each program is linked and CO-RE relocated by oxbpf-reloc against the same target; the
//! instructions must equal libbpf's, except the two slots of ld_imm64s that libbpf turned
//! into map references (fds there, unresolved here). Where libbpf refused the object,
//! oxbpf-reloc must refuse it too, and the other way round.

use std::collections::HashMap;
use std::path::Path;

use oxbpf_btf::Btf;
use oxbpf_obj::ObjectSpec;
use oxbpf_reloc::{Targets, apply_core, link_program};

/// libbpf's answer: instructions per program it loaded, and bpf_object__load's result.
fn parse_libbpf(text: &str) -> (HashMap<String, Vec<[u8; 8]>>, i32) {
    let mut progs = HashMap::new();
    let mut cur: Option<(String, Vec<[u8; 8]>)> = None;
    let mut load = i32::MIN;
    for line in text.lines() {
        if let Some(n) = line.strip_prefix("prog ") {
            cur = Some((n.to_string(), Vec::new()));
        } else if line == "end" {
            if let Some((n, v)) = cur.take() {
                progs.insert(n, v);
            }
        } else if let Some(r) = line.strip_prefix("load ") {
            load = r.parse().unwrap();
        } else if let Some((_, v)) = cur.as_mut() {
            let mut b = [0u8; 8];
            for (i, x) in b.iter_mut().enumerate() {
                *x = u8::from_str_radix(&line[i * 2..i * 2 + 2], 16).unwrap();
            }
            v.push(b);
        }
    }
    (progs, load)
}

/// Our instructions per program, or the first error.
fn ours(spec: &ObjectSpec, target: &Btf<'_>) -> Result<HashMap<String, Vec<[u8; 8]>>, String> {
    let targets = Targets::new("target", target);
    let mut out = HashMap::new();
    for (i, p) in spec.programs.iter().enumerate() {
        let mut linked = link_program(spec, i).map_err(|e| e.to_string())?;
        apply_core(spec, &mut linked, &targets).map_err(|e| e.to_string())?;
        out.insert(
            p.name.clone(),
            linked.insns.iter().map(|i| i.to_bytes()).collect(),
        );
    }
    Ok(out)
}

/// The first slot where the two differ (map-reference ld_imm64s of libbpf skipped).
fn first_difference(ours: &[[u8; 8]], theirs: &[[u8; 8]]) -> Option<usize> {
    if ours.len() != theirs.len() {
        return Some(ours.len().min(theirs.len()));
    }
    let mut i = 0;
    while i < theirs.len() {
        let t = theirs[i];
        if t[0] == 0x18 && (1..=6).contains(&(t[1] >> 4)) {
            i += 2;
            continue;
        }
        if ours[i] != t {
            return Some(i);
        }
        i += 1;
    }
    None
}

#[test]
fn core_selftests_relocate_as_libbpf_does() {
    let Some(dir) = std::env::var_os("OXBPF_CORE_COMPAT_DIR") else {
        eprintln!("skipping: OXBPF_CORE_COMPAT_DIR not set (run scripts/core-compat)");
        return;
    };
    let dir = Path::new(&dir);
    let mut pairs: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "libbpf"))
        .collect();
    pairs.sort();
    assert!(
        !pairs.is_empty(),
        "no *.libbpf answers in {}",
        dir.display()
    );
    let (mut same, mut refused, mut diffs) = (0, 0, Vec::new());
    for pair in &pairs {
        let stem = pair.file_stem().unwrap().to_str().unwrap();
        let (obj, target) = stem.split_once('@').unwrap();
        let spec = ObjectSpec::from_file(dir.join(format!("{obj}.o"))).unwrap();
        let target_bytes = if target == "vmlinux" {
            std::fs::read("/sys/kernel/btf/vmlinux").unwrap()
        } else {
            std::fs::read(dir.join(format!("{target}.btf"))).unwrap()
        };
        let tbtf = Btf::parse(&target_bytes).unwrap();
        let (theirs, load) = parse_libbpf(&std::fs::read_to_string(pair).unwrap());
        let libbpf_ok = load == 0;
        match (ours(&spec, &tbtf), libbpf_ok) {
            (Err(e), false) => {
                refused += 1;
                eprintln!("{stem}: both refuse ({e})");
            }
            (Err(e), true) => diffs.push(format!("{stem}: libbpf relocates, we refuse: {e}")),
            (Ok(_), false) => {
                diffs.push(format!("{stem}: libbpf refuses (load {load}), we relocate"))
            }
            (Ok(mine), true) => {
                let mut ok = true;
                for (name, insns) in &mine {
                    let Some(t) = theirs.get(name) else {
                        diffs.push(format!("{stem}: libbpf did not load program {name}"));
                        ok = false;
                        continue;
                    };
                    if let Some(i) = first_difference(insns, t) {
                        let hex = |v: &[[u8; 8]]| {
                            v.get(i).map_or("-".to_string(), |b| {
                                b.iter().map(|x| format!("{x:02x}")).collect()
                            })
                        };
                        diffs.push(format!(
                            "{stem}: program {name} differs at insn {i} (ours {}, libbpf {}; {} vs {} slots)",
                            hex(insns),
                            hex(t),
                            insns.len(),
                            t.len()
                        ));
                        ok = false;
                    }
                }
                if ok {
                    same += 1;
                }
            }
        }
    }
    eprintln!(
        "core-compat: {} pairs: {same} relocated identically, {refused} refused by both, {} differ",
        pairs.len(),
        diffs.len()
    );
    assert!(
        diffs.is_empty(),
        "differences from libbpf:\n{}",
        diffs.join("\n")
    );
}

//! Differential test against `bpftool gen object` (libbpf's linker): the same inputs
//! linked by both give the same programs (llvm-objdump disassembly of every code
//! section, with relocations and CO-RE records), the same section set and the same
//! symbols (name, type, binding, section, value, size).
//!
//! Known differences, not compared: BTF type ids (we deduplicate with our own
//! algorithm, so ids differ — the CO-RE lines of the disassembly have their `[id]`
//! masked), the order of sections and symbols (we write locals first, as ELF requires;
//! libbpf keeps input order), `.BTF`/`.BTF.ext` bytes, and the relocations and CO-RE /
//! func / line records inside the code of weak functions that lost to another
//! definition: that code is in no function symbol (no program contains it), libbpf keeps
//! its records, we drop them (oxbpf-obj, rightly, refuses a relocation outside every
//! function; libbpf's loader skips them). The instructions themselves are identical,
//! dead code included. The test drops the relocation / CO-RE lines outside every
//! function from bpftool's disassembly and checks that ours has none there.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use object::{Object, ObjectSection, ObjectSymbol, SymbolSection};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures")
        .join(name)
}

fn tool(candidates: &[&str], arg: &str) -> Option<String> {
    candidates.iter().find_map(|c| {
        Command::new(c)
            .arg(arg)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|_| c.to_string())
    })
}

/// FUNC symbol ranges per section.
fn func_ranges(data: &[u8]) -> BTreeMap<String, Vec<(u64, u64)>> {
    let f = object::read::elf::ElfFile64::<object::LittleEndian>::parse(data).unwrap();
    let mut m: BTreeMap<String, Vec<(u64, u64)>> = BTreeMap::new();
    for s in f.symbols() {
        if s.kind() != object::SymbolKind::Text {
            continue;
        }
        if let SymbolSection::Section(i) = s.section() {
            let name = f.section_by_index(i).unwrap().name().unwrap().to_string();
            m.entry(name)
                .or_default()
                .push((s.address(), s.address() + s.size()));
        }
    }
    m
}

/// Code sections' disassembly with relocations and CO-RE records, keyed by section,
/// CO-RE type ids masked, record lines outside every function dropped; and how many
/// record lines were dropped.
fn disasm(objdump: &str, path: &Path) -> (BTreeMap<String, String>, usize) {
    let funcs = func_ranges(&std::fs::read(path).unwrap());
    let mut dropped = 0;
    let out = Command::new(objdump)
        .args(["-d", "-r", "--no-show-raw-insn"])
        .arg(path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let mut secs = BTreeMap::new();
    let mut cur: Option<(String, String)> = None;
    for line in text.lines() {
        if let Some(name) = line
            .strip_prefix("Disassembly of section ")
            .and_then(|l| l.strip_suffix(':'))
        {
            if let Some((n, t)) = cur.take() {
                secs.insert(n, t);
            }
            cur = Some((name.to_string(), String::new()));
            continue;
        }
        if let Some((sec, t)) = cur.as_mut() {
            // Record lines: "\t\t<hex offset>:  R_BPF_... / CO-RE ...".
            if let Some(rest) = line.strip_prefix("\t\t") {
                if let Some(off) = rest
                    .split(':')
                    .next()
                    .and_then(|h| u64::from_str_radix(h, 16).ok())
                {
                    let live = funcs
                        .get(sec.as_str())
                        .is_some_and(|r| r.iter().any(|&(a, e)| a <= off && off < e));
                    if !live {
                        dropped += 1;
                        continue;
                    }
                }
            }
            let masked = match line.find("CO-RE <") {
                Some(_) => {
                    // "...: CO-RE <byte_sz> [21] struct ..." -> "[id]"
                    let mut l = line.to_string();
                    if let (Some(a), Some(b)) = (l.find('['), l.find(']')) {
                        l.replace_range(a..=b, "[id]");
                    }
                    l
                }
                None => line.to_string(),
            };
            t.push_str(&masked);
            t.push('\n');
        }
    }
    if let Some((n, t)) = cur {
        secs.insert(n, t);
    }
    (secs, dropped)
}

type Sym = (String, String, String, String, u64, u64);

fn sections_and_symbols(data: &[u8]) -> (Vec<String>, Vec<Sym>) {
    let f = object::read::elf::ElfFile64::<object::LittleEndian>::parse(data).unwrap();
    let mut secs: Vec<String> = f
        .sections()
        .map(|s| s.name().unwrap().to_string())
        .filter(|n| !n.is_empty())
        .collect();
    secs.sort();
    let mut syms: Vec<Sym> = f
        .symbols()
        .map(|s| {
            let sec = match s.section() {
                SymbolSection::Section(i) => {
                    f.section_by_index(i).unwrap().name().unwrap().to_string()
                }
                other => format!("{other:?}"),
            };
            (
                s.name().unwrap().to_string(),
                format!("{:?}", s.kind()),
                format!("global={} weak={}", s.is_global(), s.is_weak()),
                sec,
                s.address(),
                s.size(),
            )
        })
        .collect();
    syms.sort();
    (secs, syms)
}

/// What one comparison found.
#[derive(Debug)]
struct Compared {
    code_sections: Vec<String>,
    dead_theirs: usize,
    btf_ours: (u64, u64),
    btf_theirs: (u64, u64),
}

/// Links `inputs` with oxbpf-linker and with `bpftool gen object` and compares the
/// results; Err says what differs.
fn compare(
    bpftool: &str,
    objdump: &str,
    inputs: &[PathBuf],
    tag: &str,
) -> Result<Compared, String> {
    let dir = std::env::temp_dir().join(format!("oxbpf-linker-diff-{}-{tag}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let result = compare_in(bpftool, objdump, inputs, &dir);
    std::fs::remove_dir_all(&dir).ok();
    result
}

fn compare_in(
    bpftool: &str,
    objdump: &str,
    inputs: &[PathBuf],
    dir: &Path,
) -> Result<Compared, String> {
    let ours = dir.join("ours.o");
    let theirs = dir.join("bpftool.o");
    let bytes: Vec<(String, Vec<u8>)> = inputs
        .iter()
        .map(|p| (p.display().to_string(), std::fs::read(p).unwrap()))
        .collect();
    let refs: Vec<(&str, &[u8])> = bytes
        .iter()
        .map(|(n, b)| (n.as_str(), b.as_slice()))
        .collect();
    let linked = oxbpf_linker::link(&refs).map_err(|e| format!("oxbpf-linker: {e}"))?;
    std::fs::write(&ours, &linked).unwrap();
    let out = Command::new(bpftool)
        .args(["gen", "object"])
        .arg(&theirs)
        .args(inputs)
        .output()
        .unwrap();
    if !out.status.success() {
        return Err(format!(
            "bpftool gen object failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let theirs_bytes = std::fs::read(&theirs).unwrap();
    let ((d_ours, dead_ours), (d_theirs, dead_theirs)) =
        (disasm(objdump, &ours), disasm(objdump, &theirs));
    let (s_ours, s_theirs) = (
        sections_and_symbols(&linked),
        sections_and_symbols(&theirs_bytes),
    );
    let btf_len = |d: &[u8]| {
        let f = object::read::elf::ElfFile64::<object::LittleEndian>::parse(d).unwrap();
        let len = |n| f.section_by_name(n).map_or(0, |s| s.size());
        (len(".BTF"), len(".BTF.ext"))
    };
    if d_ours.keys().ne(d_theirs.keys()) {
        return Err(format!(
            "code sections {:?} vs {:?}",
            d_ours.keys(),
            d_theirs.keys()
        ));
    }
    for (sec, text) in &d_theirs {
        if d_ours.get(sec) != Some(text) {
            return Err(format!(
                "disassembly of section {sec:?} differs:\n--- ours\n{}\n--- bpftool\n{text}",
                d_ours[sec]
            ));
        }
    }
    if dead_ours != 0 {
        return Err(format!("{dead_ours} records in dead code in ours"));
    }
    if s_ours.0 != s_theirs.0 {
        return Err(format!(
            "section sets differ: {:?} vs {:?}",
            s_ours.0, s_theirs.0
        ));
    }
    if s_ours.1 != s_theirs.1 {
        return Err(format!(
            "symbols differ:\n{:#?}\nvs\n{:#?}",
            s_ours.1, s_theirs.1
        ));
    }
    Ok(Compared {
        code_sections: d_ours.keys().cloned().collect(),
        dead_theirs,
        btf_ours: btf_len(&linked),
        btf_theirs: btf_len(&theirs_bytes),
    })
}

fn tools() -> Option<(String, String)> {
    let Some(bpftool) = tool(&["bpftool"], "version") else {
        eprintln!("skipping: bpftool is not installed (apt-get install bpftool)");
        return None;
    };
    let Some(objdump) = tool(&["llvm-objdump-19", "llvm-objdump"], "--version") else {
        eprintln!("skipping: llvm-objdump(-19) is not installed");
        return None;
    };
    Some((bpftool, objdump))
}

#[test]
fn same_programs_sections_and_symbols_as_bpftool_gen_object() {
    let Some((bpftool, objdump)) = tools() else {
        return;
    };
    let inputs = [fixture("link_a.bpf.o"), fixture("link_b.bpf.o")];
    let c = compare(&bpftool, &objdump, &inputs, "fixtures").unwrap_or_else(|e| panic!("{e}"));
    eprintln!(
        ".BTF / .BTF.ext bytes: ours {:?}, bpftool {:?}; records in dead weak code dropped from bpftool's: {}",
        c.btf_ours, c.btf_theirs, c.dead_theirs
    );
    assert_eq!(c.code_sections, [".text", "syscall"]);
    assert!(
        c.dead_theirs > 0,
        "the fixtures have a losing weak function with a relocation"
    );
}

/// The kernel selftests that libbpf links (tools/testing/selftests/bpf/Makefile's
/// `*.skel.h-deps`), when compiled objects are at `$OXBPF_SELFTEST_OBJS` (e.g. the
/// compat harness's object directory); skipped otherwise.
#[test]
fn same_as_bpftool_on_the_kernel_selftests_that_are_linked() {
    let Some(dir) = std::env::var_os("OXBPF_SELFTEST_OBJS") else {
        eprintln!(
            "skipping: set OXBPF_SELFTEST_OBJS to a directory of compiled selftests progs/*.bpf.o"
        );
        return;
    };
    let Some((bpftool, objdump)) = tools() else {
        return;
    };
    let sets: &[&[&str]] = &[
        &["linked_funcs1", "linked_funcs2"],
        &["linked_vars1", "linked_vars2"],
        &["linked_maps1", "linked_maps2"],
        &["test_static_linked1", "test_static_linked2"],
        &[
            "test_subskeleton_lib2",
            "test_subskeleton_lib",
            "test_subskeleton",
        ],
        &["test_usdt", "test_usdt_multispec"],
    ];
    let mut failures = Vec::new();
    for set in sets {
        let inputs: Vec<PathBuf> = set
            .iter()
            .map(|n| PathBuf::from(&dir).join(format!("{n}.bpf.o")))
            .collect();
        if let Some(missing) = inputs.iter().find(|p| !p.exists()) {
            eprintln!("skipping {set:?}: {} is missing", missing.display());
            continue;
        }
        match compare(&bpftool, &objdump, &inputs, set[0]) {
            Ok(c) => eprintln!("{set:?}: same ({c:?})"),
            Err(e) => failures.push(format!("{set:?}: {e}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

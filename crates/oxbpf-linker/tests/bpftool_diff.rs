//! Differential test against `bpftool gen object` (libbpf's linker): the same inputs
//! linked by both give the same programs (llvm-objdump disassembly of every code
//! section, with relocations and CO-RE records), the same section set and the same
//! symbols (name, type, binding, section, value, size).
//!
//! Known differences, not compared: BTF type ids (we deduplicate with our own
//! algorithm, so ids differ — the CO-RE lines of the disassembly have their `[id]`
//! masked), the order of sections and symbols (we write locals first, as ELF requires;
//! libbpf keeps input order), and `.BTF`/`.BTF.ext` bytes (ours drop the func/line info
//! of weak functions that lost to a strong definition: dead code no program contains).

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

/// Code sections' disassembly, keyed by section, CO-RE type ids masked.
fn disasm(objdump: &str, path: &Path) -> BTreeMap<String, String> {
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
        if let Some((_, t)) = cur.as_mut() {
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
    secs
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

#[test]
fn same_programs_sections_and_symbols_as_bpftool_gen_object() {
    let Some(bpftool) = tool(&["bpftool"], "version") else {
        eprintln!("skipping: bpftool is not installed (apt-get install bpftool)");
        return;
    };
    let Some(objdump) = tool(&["llvm-objdump-19", "llvm-objdump"], "--version") else {
        eprintln!("skipping: llvm-objdump(-19) is not installed");
        return;
    };
    let dir = std::env::temp_dir().join(format!("oxbpf-linker-diff-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (a, b) = (fixture("link_a.bpf.o"), fixture("link_b.bpf.o"));
    let ours = dir.join("ours.o");
    let theirs = dir.join("bpftool.o");
    let linked = oxbpf_linker::link(&[
        ("link_a.bpf.o", &std::fs::read(&a).unwrap()),
        ("link_b.bpf.o", &std::fs::read(&b).unwrap()),
    ])
    .unwrap();
    std::fs::write(&ours, &linked).unwrap();
    let out = Command::new(&bpftool)
        .args(["gen", "object"])
        .args([&theirs, &a, &b])
        .output()
        .unwrap();
    if !out.status.success() {
        std::fs::remove_dir_all(&dir).ok();
        panic!(
            "bpftool gen object failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let theirs_bytes = std::fs::read(&theirs).unwrap();

    let (d_ours, d_theirs) = (disasm(&objdump, &ours), disasm(&objdump, &theirs));
    let (s_ours, s_theirs) = (
        sections_and_symbols(&linked),
        sections_and_symbols(&theirs_bytes),
    );
    let btf_len = |d: &[u8]| {
        let f = object::read::elf::ElfFile64::<object::LittleEndian>::parse(d).unwrap();
        let len = |n| f.section_by_name(n).map_or(0, |s| s.size());
        (len(".BTF"), len(".BTF.ext"))
    };
    eprintln!(
        ".BTF / .BTF.ext bytes: ours {:?}, bpftool {:?}",
        btf_len(&linked),
        btf_len(&theirs_bytes)
    );
    std::fs::remove_dir_all(&dir).ok();

    assert_eq!(
        d_ours.keys().collect::<Vec<_>>(),
        [".text", "syscall"],
        "code sections"
    );
    for (sec, text) in &d_theirs {
        assert_eq!(
            d_ours.get(sec),
            Some(text),
            "disassembly of section {sec:?} differs"
        );
    }
    assert_eq!(d_ours.len(), d_theirs.len());
    assert_eq!(s_ours.0, s_theirs.0, "section sets differ");
    assert_eq!(s_ours.1, s_theirs.1, "symbols differ");
}

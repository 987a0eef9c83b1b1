//! The kernel selftests corpus: `tools/testing/selftests/bpf/progs/verifier_*.c` compiled
//! by clang-19, against `llvm-objdump-19 -d` (see `tests/golden/selftests/README.md`).
//!
//! For each object NAME the corpus holds `NAME.bin` (its executable sections, back to
//! back), `NAME.idx` (`section <name> <first slot> <slots>` and `sym <slot> <name>` lines,
//! slots relative to the section), and llvm-objdump's whole output: `NAME.txt` (`-d
//! --no-show-raw-insn`, hex immediates) and `NAME.dec.txt` (`-d --no-show-raw-insn
//! --no-print-imm-hex`). Our [`Listing`] of the same slots and symbols must print each
//! file byte for byte, with no normalization. The lossless text of every section must
//! assemble back to its bytes.
//!
//! Regenerate with `scripts/gen-asm-corpus` (it compiles the sources, runs llvm-objdump,
//! then calls `bless_selftests_corpus` below with `OXBPF_BLESS=1`).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use oxbpf_asm::listing::{Listing, ListingOptions, Symbol};
use oxbpf_asm::{DisasmOptions, Insn, assemble, disassemble};

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/selftests")
}

/// One executable section of a corpus object.
struct Section {
    name: String,
    insns: Vec<Insn>,
    symbols: Vec<Symbol>,
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The sections of object `name`, from its `.bin` and `.idx`.
fn sections(name: &str) -> Vec<Section> {
    let dir = corpus_dir();
    let bytes = read(&dir.join(format!("{name}.bin")));
    assert_eq!(bytes.len() % 8, 0, "{name}.bin: not whole slots");
    let slots: Vec<Insn> = bytes
        .chunks_exact(8)
        .map(|c| Insn::from_bytes(c.try_into().expect("8 bytes")))
        .collect();
    let idx = String::from_utf8(read(&dir.join(format!("{name}.idx")))).expect("utf-8 idx");
    let mut out: Vec<Section> = Vec::new();
    for (n, line) in idx.lines().enumerate() {
        let bad = || -> ! { panic!("{name}.idx line {}: {line:?}", n + 1) };
        let f: Vec<&str> = line.split(' ').collect();
        match f[..] {
            ["section", sec, first, count] => {
                let (first, count): (usize, usize) = match (first.parse(), count.parse()) {
                    (Ok(a), Ok(b)) => (a, b),
                    _ => bad(),
                };
                let Some(insns) = slots.get(first..first + count) else {
                    bad()
                };
                out.push(Section {
                    name: sec.to_string(),
                    insns: insns.to_vec(),
                    symbols: Vec::new(),
                });
            }
            ["sym", slot, sym] => {
                let (Ok(slot), Some(s)) = (slot.parse(), out.last_mut()) else {
                    bad()
                };
                s.symbols.push(Symbol::function(sym, slot));
            }
            _ => bad(),
        }
    }
    out
}

fn names() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(corpus_dir())
        .expect("tests/golden/selftests exists")
        .filter_map(|e| {
            let name = e.ok()?.file_name().into_string().ok()?;
            name.strip_suffix(".idx").map(str::to_string)
        })
        .collect();
    names.sort();
    names
}

/// What `llvm-objdump -d [flags] NAME.o` prints, from our listing.
fn objdump_text(name: &str, secs: &[Section], opts: ListingOptions) -> String {
    let mut s = format!("\n{name}.o:\tfile format elf64-bpf\n");
    for sec in secs {
        write!(
            s,
            "\nDisassembly of section {}:\n{}",
            sec.name,
            Listing::new(&sec.insns, &sec.symbols, &[], opts)
        )
        .expect("write to String");
    }
    s
}

fn first_difference(want: &str, got: &str) -> String {
    let line = want
        .lines()
        .zip(got.lines())
        .position(|(a, b)| a != b)
        .unwrap_or_else(|| want.lines().count().min(got.lines().count()));
    format!(
        "line {}: llvm {:?}, ours {:?}",
        line + 1,
        want.lines().nth(line),
        got.lines().nth(line)
    )
}

#[test]
fn listing_matches_llvm_objdump_on_kernel_selftests() {
    let names = names();
    assert!(
        names.len() >= 50,
        "expected the corpus, found {}",
        names.len()
    );
    let hex = ListingOptions {
        raw_bytes: false,
        relocations: false,
        ..ListingOptions::default()
    };
    let dec = ListingOptions {
        text: DisasmOptions::default().decimal(),
        raw_bytes: false,
        relocations: false,
        ..ListingOptions::default()
    };
    let mut failures = Vec::new();
    let mut lines = 0;
    for name in &names {
        let secs = sections(name);
        for (suffix, opts) in [("txt", hex), ("dec.txt", dec)] {
            let path = corpus_dir().join(format!("{name}.{suffix}"));
            let want = String::from_utf8(read(&path)).expect("utf-8 golden");
            let got = objdump_text(name, &secs, opts);
            if want == got {
                lines += want.lines().count();
            } else {
                failures.push(format!(
                    "{name}.{suffix}: {}",
                    first_difference(&want, &got)
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} files differ:\n{}",
        failures.len(),
        names.len() * 2,
        failures.join("\n")
    );
    assert!(lines > 50_000, "only {lines} lines compared");
}

#[test]
fn lossless_text_of_kernel_selftests_reassembles_to_the_same_bytes() {
    let mut slots = 0;
    for name in names() {
        for sec in sections(&name) {
            for opts in [
                DisasmOptions::default().lossless(),
                DisasmOptions::default().lossless().decimal().with_alu32(),
            ] {
                let text: String = disassemble(&sec.insns, &opts)
                    .map(|(_, t)| t + "\n")
                    .collect();
                let out =
                    assemble(&text).unwrap_or_else(|e| panic!("{name} section {}: {e}", sec.name));
                if out.insns != sec.insns {
                    let at = out.insns.iter().zip(&sec.insns).position(|(a, b)| a != b);
                    panic!(
                        "{name} section {}: first difference at slot {at:?}",
                        sec.name
                    );
                }
            }
            slots += sec.insns.len();
        }
    }
    assert!(slots > 20_000, "only {slots} slots checked");
}

#[test]
#[ignore = "writes the corpus' .bin/.idx; run by scripts/gen-asm-corpus"]
fn bless_selftests_corpus() {
    use object::{Object, ObjectSection, ObjectSymbol, SectionKind, SymbolKind};
    let (Some(_), Some(objs)) = (
        std::env::var_os("OXBPF_BLESS"),
        std::env::var_os("OXBPF_SELFTESTS_OBJ"),
    ) else {
        eprintln!("run scripts/gen-asm-corpus to regenerate tests/golden/selftests");
        return;
    };
    let mut objects: Vec<PathBuf> = std::fs::read_dir(&objs)
        .expect("OXBPF_SELFTESTS_OBJ")
        .filter_map(|e| Some(e.ok()?.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "o"))
        .collect();
    objects.sort();
    for path in objects {
        let name = path.file_stem().and_then(|s| s.to_str()).expect("name");
        let data = read(&path);
        let file = object::File::parse(&*data).expect("object parses");
        let (mut bin, mut idx) = (Vec::new(), String::new());
        for sec in file.sections() {
            let bytes = sec.data().expect("section data");
            if sec.kind() != SectionKind::Text || bytes.is_empty() {
                continue;
            }
            let sname = sec.name().expect("section name");
            writeln!(idx, "section {sname} {} {}", bin.len() / 8, bytes.len() / 8).unwrap();
            bin.extend_from_slice(bytes);
            let mut syms: Vec<(u64, &str)> = file
                .symbols()
                .filter(|s| s.section_index() == Some(sec.index()))
                .filter(|s| !matches!(s.kind(), SymbolKind::Section | SymbolKind::File))
                .filter_map(|s| Some((s.address(), s.name().ok()?)))
                .collect();
            syms.sort();
            for (addr, sym) in syms {
                writeln!(idx, "sym {} {sym}", addr / 8).unwrap();
            }
        }
        std::fs::write(corpus_dir().join(format!("{name}.bin")), bin).expect("write bin");
        std::fs::write(corpus_dir().join(format!("{name}.idx")), idx).expect("write idx");
    }
}

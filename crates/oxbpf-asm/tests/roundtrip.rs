//! Round trip: `assemble(disassemble(bytes)) == bytes` over every golden input and the
//! executable sections of every committed fixture object.
//!
//! The lossless text ([`DisasmOptions::lossless`]) must give back every slot, in hex and
//! decimal, with and without alu32. llvm-objdump 19's text (the default options, with
//! `.8byte` for `<unknown>`) must give back every slot of clang's output except the
//! documented lossy ones: a 32-bit `atomic_fetch_add` read without alu32 (LLVM prints
//! `lock *(u32 *)... +=`) and bpf-to-bpf/kfunc calls (LLVM prints `call imm`).

use std::path::{Path, PathBuf};

use object::{Object, ObjectSection, SectionKind};
use oxbpf_asm::{CallKind, DisasmOptions, Insn, Instruction, Size, assemble, decode, disassemble};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

fn slots(bytes: &[u8]) -> Vec<Insn> {
    bytes
        .chunks_exact(8)
        .map(|c| Insn::from_bytes(c.try_into().expect("8 bytes")))
        .collect()
}

/// (name, slots) of every input.
fn inputs() -> Vec<(String, Vec<Insn>)> {
    let mut out = Vec::new();
    let golden = root().join("tests/golden");
    let mut names: Vec<_> = std::fs::read_dir(&golden)
        .expect("tests/golden")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".bin"))
        .collect();
    names.sort();
    for n in names {
        let bytes = std::fs::read(golden.join(&n)).expect("bin");
        out.push((n, slots(&bytes)));
    }
    let fixtures = root().join("../../fixtures");
    let mut objs: Vec<_> = std::fs::read_dir(&fixtures)
        .expect("fixtures/")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".bpf.o"))
        .collect();
    objs.sort();
    for n in objs {
        let data = std::fs::read(fixtures.join(&n)).expect("fixture");
        let file = object::File::parse(&*data).expect("fixture parses");
        for s in file.sections() {
            if s.kind() != SectionKind::Text {
                continue;
            }
            let bytes = s.data().expect("section data");
            if bytes.is_empty() {
                continue;
            }
            let name = format!("{n}:{}", s.name().unwrap_or("?"));
            out.push((name, slots(bytes)));
        }
    }
    assert!(
        out.len() >= 10,
        "expected golden inputs and fixtures, got {}",
        out.len()
    );
    out
}

fn text(insns: &[Insn], opts: &DisasmOptions) -> String {
    disassemble(insns, opts).map(|(_, t)| t + "\n").collect()
}

#[test]
fn lossless_text_reassembles_to_the_same_bytes() {
    let base = DisasmOptions::default().lossless();
    let mut total = 0;
    for (name, insns) in inputs() {
        for opts in [
            base,
            base.decimal(),
            base.with_alu32(),
            base.decimal().with_helper_names(),
        ] {
            let t = text(&insns, &opts);
            let out = assemble(&t).unwrap_or_else(|e| panic!("{name} {opts:?}: {e}"));
            if out.insns != insns {
                let at = out.insns.iter().zip(&insns).position(|(a, b)| a != b);
                panic!("{name} {opts:?}: first difference at slot {at:?}");
            }
            total += insns.len();
        }
    }
    assert!(total > 10_000, "only {total} slots checked");
}

/// Slots where llvm-objdump 19's text is known to lose information.
fn llvm19_lossy(insns: &[Insn], at: usize, alu32: bool) -> bool {
    match decode(insns, at) {
        Ok((
            Instruction::Atomic {
                size: Size::W,
                fetch: true,
                ..
            },
            _,
        )) => !alu32,
        Ok((Instruction::Call { kind, .. }, _)) => kind != CallKind::Helper,
        _ => false,
    }
}

#[test]
fn llvm_objdump_text_reassembles_except_documented_lossy_slots() {
    let mut checked = 0;
    let mut lossy = 0;
    for (name, insns) in inputs() {
        for opts in [
            DisasmOptions::default(),
            DisasmOptions::default().decimal(),
            DisasmOptions::default().with_alu32(),
        ] {
            let opts = opts.with_unknown_as_data();
            let t = text(&insns, &opts);
            let out = assemble(&t).unwrap_or_else(|e| panic!("{name} {opts:?}: {e}"));
            assert_eq!(out.insns.len(), insns.len(), "{name} {opts:?}: slot count");
            if name == "fuzz.bin" {
                // LLVM ignores fields of the random corpus: it only has to assemble.
                continue;
            }
            for (at, (got, want)) in out.insns.iter().zip(&insns).enumerate() {
                if got == want {
                    checked += 1;
                } else if llvm19_lossy(&insns, at, opts.alu32) {
                    lossy += 1;
                } else {
                    panic!("{name} {opts:?} slot {at}: {want:?} reassembled as {got:?}");
                }
            }
        }
    }
    assert!(checked > 1000, "only {checked} slots checked");
    assert!(
        lossy > 0,
        "the lossy cases this test documents no longer occur"
    );
}

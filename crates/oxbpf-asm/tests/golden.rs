//! Golden tests: our disassembly against `llvm-objdump-19 -d --no-show-raw-insn`.
//!
//! `tests/golden/` holds, for each input NAME (`NAME.c`, or `fuzz.s` generated here):
//! `NAME.o` (clang-19 output), `NAME.bin` (its raw `.text`), and llvm-objdump's output in
//! three flavours: `NAME.txt` (default, hex), `NAME.dec.txt` (`--no-print-imm-hex`) and
//! `NAME.alu32.txt` (`--mattr=+alu32`). The test needs no clang: it decodes `NAME.bin`
//! and compares each instruction line (llvm-objdump's trailing `<symbol>` after jump
//! targets removed) with ours.
//!
//! Regenerate with `OXBPF_BLESS=1 cargo test -p oxbpf-asm --test golden -- --ignored`
//! (needs clang-19, llvm-objcopy-19, llvm-objdump-19; override with $CLANG,
//! $LLVM_OBJCOPY, $LLVM_OBJDUMP).

use std::path::{Path, PathBuf};
use std::process::Command;

use oxbpf_asm::{DisasmOptions, Insn, disassemble};

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

/// The flavours: file suffix, llvm-objdump flags, our options.
fn flavours() -> [(&'static str, &'static [&'static str], DisasmOptions); 3] {
    let d = DisasmOptions::default();
    [
        ("txt", &[], d),
        ("dec.txt", &["--no-print-imm-hex"], d.decimal()),
        ("alu32.txt", &["--mattr=+alu32"], d.with_alu32()),
    ]
}

/// Instruction lines of llvm-objdump output: `(slot, text)`.
fn parse_objdump(out: &str) -> Vec<(usize, String)> {
    out.lines()
        .filter_map(|line| {
            let (slot, text) = line.trim_start().split_once(":\t")?;
            let slot: usize = slot.parse().ok()?;
            // Jump targets end in ` <sym+0x..>`; we print no symbols.
            let text = match text.rfind(" <") {
                Some(p) if text.ends_with('>') => &text[..p],
                _ => text,
            };
            Some((slot, text.to_string()))
        })
        .collect()
}

fn read_bin(path: &Path) -> Vec<Insn> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(bytes.len() % 8, 0, "{}: not whole slots", path.display());
    bytes
        .chunks_exact(8)
        .map(|c| Insn::from_bytes(c.try_into().expect("8 bytes")))
        .collect()
}

fn inputs() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(golden_dir())
        .expect("tests/golden exists")
        .filter_map(|e| {
            let name = e.ok()?.file_name().into_string().ok()?;
            name.strip_suffix(".bin").map(str::to_string)
        })
        .collect();
    names.sort();
    names
}

#[test]
fn disassembly_matches_llvm_objdump_golden_files() {
    let names = inputs();
    assert!(
        names.len() >= 6,
        "expected the golden inputs, found {names:?}"
    );
    let mut failures = Vec::new();
    let mut compared = 0;
    for name in &names {
        let insns = read_bin(&golden_dir().join(format!("{name}.bin")));
        for (suffix, _, opts) in flavours() {
            let path = golden_dir().join(format!("{name}.{suffix}"));
            let golden = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let want = parse_objdump(&golden);
            assert!(!want.is_empty(), "{}: no instruction lines", path.display());
            let got: Vec<(usize, String)> = disassemble(&insns, &opts).collect();
            let mut w = want.iter();
            let mut g = got.iter();
            loop {
                match (w.next(), g.next()) {
                    (None, None) => break,
                    (Some(a), Some(b)) if a == b => compared += 1,
                    (a, b) => {
                        let slot = a.or(b).map(|x| x.0).unwrap_or(0);
                        failures.push(format!(
                            "{name}.{suffix} slot {slot} {:02x?}: llvm {a:?}, ours {b:?}",
                            insns.get(slot).map(|i| i.to_bytes())
                        ));
                        break;
                    }
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} mismatches (first per file):\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(compared > 1000, "only {compared} lines compared");
}

/// clang's own output is canonical: the strict decoder knows every instruction LLVM
/// prints, and its `Display` gives the same text.
#[test]
fn strict_decode_of_clang_output_prints_like_llvm_objdump() {
    let mut checked = 0;
    for name in inputs().iter().filter(|n| *n != "fuzz") {
        let bytes = std::fs::read(golden_dir().join(format!("{name}.bin"))).expect("bin");
        let insns = oxbpf_asm::insns_from_bytes(&bytes).expect("clang output decodes");
        for (suffix, _, opts) in flavours() {
            let golden = std::fs::read_to_string(golden_dir().join(format!("{name}.{suffix}")))
                .expect("txt");
            for (slot, text) in parse_objdump(&golden) {
                let (ins, _) = oxbpf_asm::decode(&insns, slot).expect("decodes");
                assert!(
                    !matches!(ins, oxbpf_asm::Instruction::Unknown(_)),
                    "{name} slot {slot}: strict decode rejects clang output {text:?}"
                );
                // Without alu32, LLVM 19 reads every 32-bit atomic as `lock ... +=`.
                let misread = !opts.alu32
                    && matches!(
                        ins,
                        oxbpf_asm::Instruction::Atomic {
                            size: oxbpf_asm::Size::W,
                            ..
                        }
                    );
                // LLVM 19 prints every call as `call imm`; our Display tells a
                // bpf-to-bpf call (`call pc+N`) and a kfunc (`call kfunc N`) apart.
                let other_call = matches!(
                    ins,
                    oxbpf_asm::Instruction::Call { kind, .. } if kind != oxbpf_asm::CallKind::Helper
                );
                if text != "<unknown>" && !misread && !other_call {
                    assert_eq!(
                        ins.display(opts).to_string(),
                        text,
                        "{name}.{suffix} slot {slot}"
                    );
                    checked += 1;
                }
            }
        }
    }
    assert!(checked > 300, "only {checked} lines checked");
}

#[test]
fn objdump_parser_strips_symbols_but_not_unknown() {
    let out = "\n0000000000000000 <f>:\n       0:\tif r1 > 0x3 goto +0x5 <LBB0_2>\n      12:\t<unknown>\n";
    assert_eq!(
        parse_objdump(out),
        [
            (0, "if r1 > 0x3 goto +0x5".to_string()),
            (12, "<unknown>".to_string())
        ]
    );
}

/// A deterministic xorshift64 generator for the fuzz corpus.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[(self.next() % xs.len() as u64) as usize]
    }
}

/// Instructions meant to hit LLVM's corner cases: every opcode byte, registers up to 15,
/// offsets and immediates that select variants (sdiv, movsx, atomics, byte swaps).
fn fuzz_insns() -> Vec<Insn> {
    let mut rng = Rng(0x0bbf_5eed_1234_5678);
    // Opcode bytes of the defined kinds, so that most of the corpus decodes.
    let mut defined = Vec::new();
    for class in [0x04u8, 0x05, 0x06, 0x07] {
        for op in 0..=0xe {
            defined.extend([class | op << 4, class | op << 4 | 0x08]);
        }
    }
    defined.extend([0x18, 0x20, 0x28, 0x30, 0x40, 0x48, 0x50]);
    for size in [0x00u8, 0x08, 0x10, 0x18] {
        defined.extend([
            0x61 | size,
            0x81 | size,
            0x62 | size,
            0x63 | size,
            0xc3 | size,
        ]);
    }
    let mut out = Vec::new();
    while out.len() < 3000 {
        let code = if rng.next() % 4 == 0 {
            rng.next() as u8
        } else {
            rng.pick(&defined)
        };
        let reg = |r: &mut Rng| {
            if r.next() % 8 == 0 {
                (r.next() % 16) as u8
            } else {
                (r.next() % 11) as u8
            }
        };
        let dst = reg(&mut rng);
        let src = reg(&mut rng);
        let off = match rng.next() % 4 {
            0 => 0,
            1 => rng.pick(&[1, 8, 16, 32, -1, 2, 64, i16::MIN, i16::MAX]),
            2 => (rng.next() % 64) as i16 - 32,
            _ => rng.next() as i16,
        };
        let imm = match rng.next() % 4 {
            0 => 0,
            1 => rng.pick(&[
                1,
                16,
                32,
                64,
                0x40,
                0x41,
                0x50,
                0x51,
                0xa0,
                0xa1,
                0xe0,
                0xe1,
                0xf0,
                0xf1,
                0x100,
                0x110,
                0x10,
                0x11,
                0x05,
                0x10000,
                0x10001,
                -1,
                i32::MIN,
                i32::MAX,
            ]),
            2 => (rng.next() % 64) as i32 - 32,
            _ => rng.next() as i32,
        };
        out.push(Insn::new(code, dst, src, off, imm));
        if code == oxbpf_asm::LD_IMM64 {
            let hi = if rng.next() % 2 == 0 {
                Insn::new(0, 0, 0, 0, rng.next() as i32)
            } else {
                Insn::from_bytes((rng.next()).to_le_bytes())
            };
            out.push(hi);
        }
    }
    out.push(Insn::exit());
    out
}

fn tool(var: &str, default: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| default.to_string())
}

fn run(cmd: &mut Command) -> String {
    let out = cmd
        .current_dir(golden_dir())
        .output()
        .unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

#[test]
#[ignore = "regenerates golden files; needs clang-19 and OXBPF_BLESS=1"]
fn bless_golden_files() {
    if std::env::var_os("OXBPF_BLESS").is_none() {
        eprintln!("set OXBPF_BLESS=1 to regenerate tests/golden");
        return;
    }
    let dir = golden_dir();
    let mut s = String::from(
        "# Generated by tests/golden.rs (bless_golden_files): a deterministic\n\
         # corpus of raw instruction slots for differential tests against llvm-objdump.\n\
         \t.text\n\t.globl\tfuzz\nfuzz:\n",
    );
    for i in fuzz_insns() {
        let word = u64::from_le_bytes(i.to_bytes());
        s.push_str(&format!("\t.quad\t0x{word:016x}\n"));
    }
    std::fs::write(dir.join("fuzz.s"), s).expect("write fuzz.s");

    let clang = tool("CLANG", "clang-19");
    let objcopy = tool("LLVM_OBJCOPY", "llvm-objcopy-19");
    let objdump = tool("LLVM_OBJDUMP", "llvm-objdump-19");
    let mut sources: Vec<String> = std::fs::read_dir(&dir)
        .expect("tests/golden")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".c") || n.ends_with(".s"))
        .collect();
    sources.sort();
    for src in sources {
        let name = &src[..src.len() - 2];
        let obj = format!("{name}.o");
        run(Command::new(&clang).args([
            "-target", "bpf", "-mcpu=v4", "-O2", "-g0", "-c", &src, "-o", &obj,
        ]));
        run(Command::new(&objcopy).args([
            "-O",
            "binary",
            "--only-section=.text",
            &obj,
            &format!("{name}.bin"),
        ]));
        for (suffix, flags, _) in flavours() {
            let out = run(Command::new(&objdump)
                .args(["-d", "--no-show-raw-insn"])
                .args(flags)
                .arg(&obj));
            std::fs::write(dir.join(format!("{name}.{suffix}")), out).expect("write golden");
        }
    }
}

use super::*;
use crate::{DisasmOptions, disassemble};

fn asm(s: &str) -> Vec<Insn> {
    match assemble(s) {
        Ok(o) => o.insns,
        Err(e) => panic!("{s:?}: {e}"),
    }
}

fn err(s: &str) -> String {
    match assemble(s) {
        Ok(o) => panic!("{s:?} assembled to {:?}", o.insns),
        Err(e) => e.to_string(),
    }
}

#[test]
fn error_names_line_column_and_found_text() {
    assert_eq!(
        err("r0 = 0\nexit\nr1 += r12\n"),
        "line 3, column 7: expected a register, found \"r12\""
    );
    assert_eq!(
        err("  bogus"),
        "line 1, column 3: expected an instruction, found \"bogus\""
    );
}

#[test]
fn every_form_in_hex_and_decimal_assembles_to_its_encoding() {
    let cases: &[(&str, &str, Insn)] = &[
        ("r0 = 0x0", "r0 = 0", Insn::new(0xb7, 0, 0, 0, 0)),
        ("w1 = -0x1", "w1 = -1", Insn::new(0xb4, 1, 0, 0, -1)),
        ("r1 s>>= r2", "r1 s>>= r2", Insn::new(0xcf, 1, 2, 0, 0)),
        ("w3 s/= 0x7", "w3 s/= 7", Insn::new(0x34, 3, 0, 1, 7)),
        ("r3 s%= r4", "r3 s%= r4", Insn::new(0x9f, 3, 4, 1, 0)),
        ("r1 = -r1", "r1 = -r1", Insn::new(0x87, 1, 0, 0, 0)),
        ("w2 = (s16)w3", "w2 = (s16)w3", Insn::new(0xbc, 2, 3, 16, 0)),
        ("r2 = (s32)r3", "r2 = (s32)r3", Insn::new(0xbf, 2, 3, 32, 0)),
        ("r1 = be16 r1", "r1 = be16 r1", Insn::new(0xdc, 1, 0, 0, 16)),
        ("r1 = le64 r1", "r1 = le64 r1", Insn::new(0xd4, 1, 0, 0, 64)),
        (
            "r1 = bswap32 r1",
            "r1 = bswap32 r1",
            Insn::new(0xd7, 1, 0, 0, 32),
        ),
        (
            "r1 = addr_space_cast(r2, 0x1, 0x0)",
            "r1 = addr_space_cast(r2, 1, 0)",
            Insn::new(0xbf, 1, 2, 1, 0x1_0000),
        ),
        (
            "r1 = *(u64 *)(r2 - 0x8)",
            "r1 = *(u64 *)(r2 - 8)",
            Insn::new(0x79, 1, 2, -8, 0),
        ),
        (
            "w1 = *(u8 *)(r2 + 0x1)",
            "w1 = *(u8 *)(r2 + 1)",
            Insn::new(0x71, 1, 2, 1, 0),
        ),
        (
            "r1 = *(s16 *)(r2 + 0x2)",
            "r1 = *(s16 *)(r2 + 2)",
            Insn::new(0x89, 1, 2, 2, 0),
        ),
        (
            "*(u32 *)(r10 - 0x4) = r0",
            "*(u32 *)(r10 - 4) = r0",
            Insn::new(0x63, 10, 0, -4, 0),
        ),
        (
            "*(u16 *)(r1 + 0x0) = 0x7",
            "*(u16 *)(r1 + 0) = 7",
            Insn::new(0x6a, 1, 0, 0, 7),
        ),
        (
            "r0 = *(u16 *)skb[0x10]",
            "r0 = *(u16 *)skb[16]",
            Insn::new(0x28, 0, 0, 0, 16),
        ),
        (
            "r0 = *(u8 *)skb[r3]",
            "r0 = *(u8 *)skb[r3]",
            Insn::new(0x50, 0, 3, 0, 0),
        ),
        (
            "r0 = *(u8 *)skb[r3 + 0x2]",
            "r0 = *(u8 *)skb[r3 + 2]",
            Insn::new(0x50, 0, 3, 0, 2),
        ),
        (
            "lock *(u64 *)(r1 + 0x8) |= r2",
            "lock *(u64 *)(r1 + 8) |= r2",
            Insn::new(0xdb, 1, 2, 8, 0x40),
        ),
        (
            "w2 = atomic_fetch_xor((u32 *)(r1 + 0x0), w2)",
            "w2 = atomic_fetch_xor((u32 *)(r1 + 0), w2)",
            Insn::new(0xc3, 1, 2, 0, 0xa1),
        ),
        (
            "r5 = xchg_64(r1 + 0x8, r5)",
            "r5 = xchg_64(r1 + 8, r5)",
            Insn::new(0xdb, 1, 5, 8, 0xe1),
        ),
        (
            "w5 = xchg32_32(r1 + 0x8, w5)",
            "w5 = xchg32_32(r1 + 8, w5)",
            Insn::new(0xc3, 1, 5, 8, 0xe1),
        ),
        (
            "r0 = cmpxchg_64(r1 - 0x10, r0, r6)",
            "r0 = cmpxchg_64(r1 - 16, r0, r6)",
            Insn::new(0xdb, 1, 6, -16, 0xf1),
        ),
        (
            "w0 = cmpxchg32_32(r1 + 0x0, w0, w6)",
            "w0 = cmpxchg32_32(r1 + 0, w0, w6)",
            Insn::new(0xc3, 1, 6, 0, 0xf1),
        ),
        (
            "r0 = load_acquire((u64 *)(r1 + 0x0))",
            "r0 = load_acquire((u64 *)(r1 + 0))",
            Insn::new(0xdb, 0, 1, 0, 0x100),
        ),
        (
            "store_release((u32 *)(r1 + 0x4), w2)",
            "store_release((u32 *)(r1 + 4), w2)",
            Insn::new(0xc3, 1, 2, 4, 0x110),
        ),
        ("goto -0x2", "goto -2", Insn::new(0x05, 0, 0, -2, 0)),
        (
            "gotol +0x10000",
            "gotol +65536",
            Insn::new(0x06, 0, 0, 0, 0x10000),
        ),
        ("may_goto +0x1", "may_goto +1", Insn::new(0xe5, 0, 0, 1, 0)),
        (
            "if r1 s>= 0x3 goto +0x5",
            "if r1 s>= 3 goto +5",
            Insn::new(0x75, 1, 0, 5, 3),
        ),
        (
            "if w1 & w2 goto -0x1",
            "if w1 & w2 goto -1",
            Insn::new(0x4e, 1, 2, -1, 0),
        ),
        ("call 0x1", "call 1", Insn::new(0x85, 0, 0, 0, 1)),
        ("call pc+0x3", "call pc+3", Insn::new(0x85, 0, 1, 0, 3)),
        (
            "call kfunc 0x1234, 0x2",
            "call kfunc 4660, 2",
            Insn::new(0x85, 0, 2, 2, 0x1234),
        ),
        ("callx r5", "callx r5", Insn::new(0x8d, 5, 0, 0, 0)),
        ("exit", "exit", Insn::exit()),
        (
            ".8byte 0x00000000000000ff",
            ".8byte 255",
            Insn::new(0xff, 0, 0, 0, 0),
        ),
    ];
    for (hex, dec, want) in cases {
        assert_eq!(asm(hex), [*want], "{hex}");
        assert_eq!(asm(dec), [*want], "{dec}");
        // And the lossless text of the encoding assembles back to it.
        for opts in [
            DisasmOptions::default().lossless(),
            DisasmOptions::default().lossless().decimal(),
        ] {
            let text: Vec<_> = disassemble(&[*want], &opts).map(|(_, t)| t).collect();
            assert_eq!(asm(&text.join("\n")), [*want], "{text:?}");
        }
    }
}

#[test]
fn wide_loads_take_64_bit_constants_and_pseudo_sources() {
    assert_eq!(
        asm("r1 = 0x1122334455667788 ll"),
        Insn::ld_imm64(1, 0, 0x1122_3344_5566_7788)
    );
    assert_eq!(asm("r1 = -0x1 ll"), Insn::ld_imm64(1, 0, u64::MAX));
    assert_eq!(asm("r1 = -1 ll"), Insn::ld_imm64(1, 0, u64::MAX));
    assert_eq!(asm("ld_pseudo\tr1, 0x1, 0x3"), Insn::ld_imm64(1, 1, 3));
}

#[test]
fn labels_resolve_forward_and_backward_jumps_and_calls() {
    let out = assemble(
        "prog:\n  r0 = 0\nLBB0_1:\n  if r0 > 3 goto LBB0_2\n  r0 += 1\n  goto LBB0_1\nLBB0_2:\n  call sub\n  exit\nsub:\n  r0 = 1\n  exit\n",
    )
    .expect("assembles");
    assert_eq!(
        out.labels,
        [
            ("prog".to_string(), 0),
            ("LBB0_1".to_string(), 1),
            ("LBB0_2".to_string(), 4),
            ("sub".to_string(), 6)
        ]
    );
    assert_eq!(out.insns[1], Insn::new(0x25, 0, 0, 2, 3));
    assert_eq!(out.insns[3], Insn::new(0x05, 0, 0, -3, 0));
    assert_eq!(out.insns[4], Insn::new(0x85, 0, 1, 0, 1));
    assert!(out.relocations.is_empty());
}

#[test]
fn helper_names_map_and_undefined_calls_become_ids_and_relocations() {
    let out = assemble(
        "r1 = my_map ll\ncall bpf_map_lookup_elem\ncall bpf_ringbuf_output\ncall ext_fn\nexit",
    )
    .expect("assembles");
    assert_eq!(&out.insns[..2], Insn::ld_imm64(1, 0, 0));
    assert_eq!(out.insns[2], Insn::call_helper(1));
    assert_eq!(out.insns[3], Insn::call_helper(130));
    assert_eq!(out.insns[4], Insn::new(0x85, 0, 1, 0, -1));
    assert_eq!(
        out.relocations,
        [
            AsmReloc {
                insn: 0,
                symbol: "my_map".into(),
                kind: RelocKind::LdImm64
            },
            AsmReloc {
                insn: 4,
                symbol: "ext_fn".into(),
                kind: RelocKind::Call
            }
        ]
    );
}

#[test]
fn comments_blank_lines_and_objdump_decoration_are_ignored() {
    let listing = "\ncounter.bpf.o:\tfile format elf64-bpf\n\nDisassembly of section tp/x:\n\n\
0000000000000000 <count>:\n       0:\t85 00 00 00 0e 00 00 00\tcall 0xe\n       1:\t18 01 00 00 00 00 00 00 00 00 00 00 00 00 00 00\tr1 = 0x0 ll\n\
\t\t0000000000000008:  R_BPF_64_64\tcounts\n       3:\tif r0 != 0x0 goto -0x4 <count>\n       4:\tcall -0x1\n\
\t\t0000000000000020:  R_BPF_64_32\tsub\n       5:\texit # done\n// c++ style\n; asm style\n";
    let out = assemble(listing).expect("assembles");
    let mut want = vec![Insn::call_helper(14)];
    want.extend(Insn::ld_imm64(1, 0, 0));
    want.push(Insn::new(0x55, 0, 0, -4, 0));
    want.push(Insn::new(0x85, 0, 1, 0, -1));
    want.push(Insn::exit());
    assert_eq!(out.insns, want);
    assert_eq!(out.labels, [("count".to_string(), 0)]);
    assert_eq!(
        out.relocations,
        [
            AsmReloc {
                insn: 1,
                symbol: "counts".into(),
                kind: RelocKind::LdImm64
            },
            AsmReloc {
                insn: 4,
                symbol: "sub".into(),
                kind: RelocKind::Call
            }
        ]
    );
}

#[test]
fn rejects_bad_input_with_positions() {
    assert_eq!(
        err("goto nowhere"),
        "line 1, column 6: undefined label \"nowhere\""
    );
    assert_eq!(
        err("a:\na:\n"),
        "line 2, column 1: label \"a\" defined twice (first on line 1)"
    );
    assert_eq!(
        err("r1 = *(u64 *)(r2 + 0x8000)"),
        "line 1, column 20: offset 32768 out of range -32768..=32767"
    );
    assert_eq!(
        err("w1 += r2"),
        "line 1, column 7: expected a w register like the destination, found \"r2\""
    );
    assert_eq!(
        err("r1 = 0x100000000"),
        "line 1, column 6: immediate 4294967296 out of range -2147483648..=4294967295"
    );
    assert_eq!(
        err("exit now"),
        "line 1, column 6: expected end of line, found \"now\""
    );
    assert_eq!(
        err("  <unknown>").split(':').next(),
        Some("line 1, column 3")
    );
    assert_eq!(
        err("r1 = be16 r2"),
        "line 1, column 11: byte swap: expected r1/w1, found register 2"
    );
    assert_eq!(
        err("r1 = 1x"),
        "line 1, column 6: expected a number, found \"1x\""
    );
    assert_eq!(
        err("call 0x"),
        "line 1, column 6: expected hex digits after \"0x\""
    );
}

#[test]
fn jump_out_of_i16_range_is_an_error() {
    let mut s = String::from("goto far\n");
    for _ in 0..40000 {
        s.push_str("r0 = 0\n");
    }
    s.push_str("far:\nexit\n");
    assert_eq!(
        err(&s),
        "line 1, column 6: jump to \"far\" (+40000 slots) out of range"
    );
    let ok = assemble(&s.replacen("goto far", "gotol far", 1)).expect("gotol reaches");
    assert_eq!(ok.insns[0], Insn::new(0x06, 0, 0, 0, 40000));
}

#[test]
fn lossless_text_round_trips_odd_encodings() {
    let odd = [
        Insn::new(0x0f, 1, 2, 0, 5),    // stray imm: LLVM prints r1 += r2
        Insn::new(0xc3, 1, 2, 0, 0x01), // 32-bit fetch add
        Insn::new(0x85, 0, 1, 0, -1),   // pseudo call
        Insn::new(0x85, 0, 2, 3, 77),   // kfunc with module index
        Insn::new(0x18, 1, 2, 0, 5),
        Insn::new(0, 0, 0, 0, 9), // ld_pseudo with high half
        Insn::new(0x18, 1, 0, 0, 5),
        Insn::new(0x07, 0, 0, 0, 0), // malformed second half
        Insn::new(0xff, 15, 15, -1, -1),
    ];
    for opts in [
        DisasmOptions::default().lossless(),
        DisasmOptions::default().lossless().decimal().with_alu32(),
    ] {
        let text: String = disassemble(&odd, &opts).map(|(_, t)| t + "\n").collect();
        assert_eq!(asm(&text), odd, "{text}");
    }
}

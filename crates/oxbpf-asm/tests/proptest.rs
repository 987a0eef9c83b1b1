//! Property tests: strict decode ↔ encode round trip, no panics on arbitrary input.

use oxbpf_asm::{DisasmOptions, Insn, Instruction, decode, disassemble, insns_from_bytes};
use proptest::prelude::*;

fn any_insn() -> impl Strategy<Value = Insn> {
    (any::<u8>(), 0u8..16, 0u8..16, any::<i16>(), any::<i32>())
        .prop_map(|(code, dst, src, off, imm)| Insn::new(code, dst, src, off, imm))
}

proptest! {
    #[test]
    fn insn_bytes_round_trip(i in any_insn()) {
        prop_assert_eq!(Insn::from_bytes(i.to_bytes()), i);
    }

    #[test]
    fn decode_then_encode_gives_back_the_slots(a in any_insn(), b in any_insn()) {
        let insns = [a, b];
        if let Ok((ins, n)) = decode(&insns, 0) {
            let (enc, m) = ins.encode();
            prop_assert_eq!(n, m);
            prop_assert_eq!(&enc[..n], &insns[..n]);
            // Decoding the encoding is stable too.
            prop_assert_eq!(decode(&enc[..n], 0).map(|(i, _)| i), Ok(ins));
        } else {
            prop_assert!(a.is_ld_imm64());
        }
    }

    #[test]
    fn known_instructions_never_hold_unknown_slots(i in any_insn()) {
        let (ins, _) = decode(&[i, Insn::default()], 0).expect("second slot is valid");
        if let Instruction::Unknown(u) = ins {
            prop_assert_eq!(u, i);
        }
    }

    #[test]
    fn decode_and_display_never_panic_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let whole = bytes.len() / 8 * 8;
        let insns: Vec<Insn> = bytes[..whole]
            .chunks_exact(8)
            .map(|c| Insn::from_bytes(c.try_into().expect("8 bytes")))
            .collect();
        let _ = insns_from_bytes(&bytes);
        let mut at = 0;
        while at < insns.len() {
            match decode(&insns, at) {
                Ok((ins, n)) => {
                    for opts in [DisasmOptions::default(), DisasmOptions::default().decimal().with_alu32()] {
                        prop_assert!(!ins.display(opts).to_string().is_empty());
                    }
                    at += n;
                }
                Err(_) => at += 1,
            }
        }
        for opts in [DisasmOptions::default(), DisasmOptions::default().decimal().with_alu32()] {
            let out: Vec<_> = disassemble(&insns, &opts).collect();
            prop_assert!(out.iter().all(|(slot, text)| *slot < insns.len() && !text.is_empty()));
            prop_assert!(out.len() <= insns.len());
        }
    }
}

fn valid_instruction() -> impl Strategy<Value = (Instruction, [Insn; 2])> {
    // Fields biased towards the values that select variants, so most draws decode.
    let off = prop_oneof![
        Just(0i16),
        prop::sample::select(vec![1i16, 8, 16, 32]),
        any::<i16>()
    ];
    let imm = prop_oneof![
        Just(0i32),
        prop::sample::select(vec![
            16, 32, 64, 0x01, 0x40, 0x41, 0x50, 0x51, 0xa0, 0xa1, 0xe1, 0xf1, 0x100, 0x110
        ]),
        any::<i32>()
    ];
    let reg = prop_oneof![Just(0u8), 0u8..12];
    (
        any::<u8>(),
        reg.clone(),
        reg,
        off,
        imm,
        any::<i32>(),
        0u8..8,
    )
        .prop_filter_map("unknown", |(code, dst, src, off, imm, hi, wide)| {
            let code = if wide == 0 { oxbpf_asm::LD_IMM64 } else { code };
            let a = Insn::new(code, dst, src, off, imm);
            let pair = [a, Insn::new(0, 0, 0, 0, hi)];
            match decode(&pair, 0) {
                Ok((Instruction::Unknown(_), _)) | Err(_) => None,
                Ok((ins, _)) => Some((ins, pair)),
            }
        })
}

proptest! {
    #![proptest_config(ProptestConfig { max_local_rejects: 1 << 22, ..ProptestConfig::default() })]

    #[test]
    fn valid_instructions_round_trip_through_text((ins, pair) in valid_instruction(), dec in any::<bool>(), alu32 in any::<bool>(), names in any::<bool>()) {
        let mut opts = DisasmOptions::default().lossless();
        if dec { opts = opts.decimal(); }
        if alu32 { opts = opts.with_alu32(); }
        if names { opts = opts.with_helper_names(); }
        let text = ins.display(opts).to_string();
        let out = oxbpf_asm::assemble(&text).map_err(|e| TestCaseError::fail(format!("{text:?}: {e}")))?;
        prop_assert_eq!(&out.insns[..], &pair[..ins.slots()], "{}", text);
    }

    #[test]
    fn assembler_never_panics_on_arbitrary_text(s in "\\PC{0,200}") {
        let _ = oxbpf_asm::assemble(&s);
    }

    #[test]
    fn assembler_never_panics_on_mutated_valid_text(
        insns in proptest::collection::vec(any_insn(), 1..12),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), prop::sample::select(vec!["", " ", "\n", "r", "w", "1", "-", "+", "0x", "(", ")", "*", "=", ":", "ll", "goto ", "L:", "<", ">", "#", "é", "\t", "r12", "99999999999999999999999"])), 1..6),
    ) {
        let opts = DisasmOptions::default().lossless();
        let mut text: String = disassemble(&insns, &opts).map(|(_, t)| t + "\n").collect();
        for (at, ins) in edits {
            let mut i = at.index(text.len() + 1);
            while !text.is_char_boundary(i) { i -= 1; }
            if ins.is_empty() && i < text.len() {
                let mut j = i + 1;
                while !text.is_char_boundary(j) { j += 1; }
                text.replace_range(i..j, "");
            } else {
                text.insert_str(i, ins);
            }
        }
        if let Err(e) = oxbpf_asm::assemble(&text) {
            prop_assert!(e.line >= 1 && e.column >= 1);
            prop_assert!(!e.message.is_empty());
        }
    }
}

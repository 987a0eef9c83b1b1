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

//! Arbitrary relocation records and instructions never panic the CO-RE relocator: every
//! outcome is a result, a poison, or an error.

use oxbpf_asm::Insn;
use oxbpf_btf::{Btf, BtfBuilder, CoreRelo, INT_SIGNED};
use oxbpf_reloc::{ReloResult, Targets, calc_relo, patch_insn};
use proptest::prelude::*;

fn local_and_target() -> (Vec<u8>, Vec<u8>, Vec<u32>) {
    let mut b = BtfBuilder::new();
    let int = b.add_int("int", 4, INT_SIGNED);
    let ch = b.add_int("char", 1, INT_SIGNED);
    let arr = b.add_array(ch, int, 16);
    let flex = b.add_array(int, int, 0);
    let ptr = b.add_ptr(int);
    let inner = b.add_struct("", 8, &[("x", int, 0), ("y", int, 32)]);
    let e = b.add_enum("e___l", 4, true, &[("A", 1), ("B", -2)]);
    let e64 = b.add_enum64("e64", 8, false, &[("C", 1 << 40)]);
    let bf = b.add_composite_bitfields(false, "bits", 8, &[("a", int, 0, 3), ("b", int, 3, 30)]);
    let s = b.add_struct(
        "task___l",
        48,
        &[
            ("pid", int, 0),
            ("comm", arr, 32),
            ("", inner, 160),
            ("p", ptr, 256),
            ("tail", flex, 320),
        ],
    );
    let td = b.add_typedef("task_t", s);
    let mut offs = Vec::new();
    for a in [
        "0", "0:0", "0:1:3", "0:2:1", "0:4:7", "1", "0:9", "0:1:99", "x", "", "0:0:0", "2:1",
    ] {
        offs.push(b.add_str(a));
    }
    let _ = (e, e64, bf, td);
    let local = b.build();

    let mut t = BtfBuilder::new();
    let ti = t.add_int("int", 4, INT_SIGNED);
    let tl = t.add_int("long", 8, INT_SIGNED);
    let tch = t.add_int("char", 1, INT_SIGNED);
    let tarr = t.add_array(tch, ti, 8);
    let tinner = t.add_union("", 8, &[("y", ti, 0), ("x", tl, 0)]);
    t.add_struct(
        "task",
        40,
        &[("comm", tarr, 0), ("pid", tl, 64), ("", tinner, 128)],
    );
    t.add_struct("task___v2", 8, &[("pid", ti, 32)]);
    t.add_enum("e", 4, false, &[("B", 5)]);
    t.add_composite_bitfields(false, "bits", 8, &[("b", ti, 40, 20)]);
    t.add_typedef("task_t", ti);
    (local, t.build(), offs)
}

proptest! {
    #[test]
    fn arbitrary_records_never_panic(
        type_id in 0u32..16,
        access in 0usize..12,
        kind in 0u32..14,
        insn_off in 0u32..64,
    ) {
        let (local, target, offs) = local_and_target();
        let (local, target) = (Btf::parse(&local).unwrap(), Btf::parse(&target).unwrap());
        let relo = CoreRelo { insn_off, type_id, access_str_off: offs[access], kind };
        let _ = calc_relo(&local, &relo, &Targets::new("vmlinux", &target));
    }

    #[test]
    fn arbitrary_instructions_never_panic(
        code: u8, regs in 0u8..=255, off: i16, imm: i32, imm2: i32,
        orig: u64, new: u64, poison: bool, validate: bool, orig_sz in 0u32..10, new_sz in 0u32..10,
        adjust: bool, idx in 0usize..3,
    ) {
        let mut insns = vec![
            Insn { code, dst: regs & 0xf, src: regs >> 4, off, imm },
            Insn { code: 0, dst: 0, src: 0, off: 0, imm: imm2 },
        ];
        let res = ReloResult {
            orig_val: orig, new_val: new, poison, validate, orig_sz, new_sz,
            fail_memsz_adjust: adjust,
        };
        let _ = patch_insn(&mut insns, idx, &res);
    }
}

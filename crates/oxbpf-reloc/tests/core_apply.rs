//! apply_core over a linked program: records of each function's ELF section land on the
//! function's placed instructions (entry and subprogram alike), as line_info does.

mod common;

use oxbpf_asm::{CALL, Insn};
use oxbpf_btf::{BtfBuilder, BtfExtBuilder, CoreRelo, Endian, INT_SIGNED};
use oxbpf_obj::{ObjectSpec, RelocTarget};
use oxbpf_reloc::core_relo::is_poisoned;
use oxbpf_reloc::{Relocation, Targets, apply_core, link_program};

use common::{func, spec};

/// xdp: r1 = 0 (offset of s::a); call sub; exit. .text+16 sub: pad; pad; r0 = *(u32 *)(r1 + 4)
/// (s::b), r0 = 1 (s::gone exists), exit.
fn object() -> ObjectSpec {
    let mut b = BtfBuilder::new();
    let int = b.add_int("int", 4, INT_SIGNED);
    let s = b.add_struct(
        "s___local",
        12,
        &[("a", int, 0), ("b", int, 32), ("gone", int, 64)],
    );
    let xdp = b.add_str("xdp");
    let text = b.add_str(".text");
    let a0 = b.add_str("0:0");
    let b1 = b.add_str("0:1");
    let g2 = b.add_str("0:2");
    let mut ext = BtfExtBuilder::new();
    ext.add_core_relos(
        xdp,
        &[CoreRelo {
            insn_off: 0,
            type_id: s,
            access_str_off: a0,
            kind: 0,
        }],
    );
    ext.add_core_relos(
        text,
        &[
            CoreRelo {
                insn_off: 16,
                type_id: s,
                access_str_off: b1,
                kind: 0,
            },
            CoreRelo {
                insn_off: 24,
                type_id: s,
                access_str_off: g2,
                kind: 2,
            },
            CoreRelo {
                insn_off: 32,
                type_id: s,
                access_str_off: g2,
                kind: 0,
            },
        ],
    );
    let prog = func(
        "prog",
        "xdp",
        0,
        vec![
            Insn::mov64_imm(1, 0),
            Insn::new(CALL, 0, 1, 0, -1),
            Insn::exit(),
        ],
        vec![Relocation {
            insn: 1,
            target: RelocTarget::Call {
                section: ".text".into(),
                offset: 16,
            },
            symbol: "sub".into(),
        }],
    );
    let pad = func(
        "pad",
        ".text",
        0,
        vec![Insn::mov64_imm(0, 0), Insn::exit()],
        vec![],
    );
    let sub = func(
        "sub",
        ".text",
        16,
        vec![
            Insn::new(0x61, 0, 1, 4, 0),
            Insn::mov64_imm(0, 1),
            Insn::new(0x61, 0, 1, 8, 0),
            Insn::exit(),
        ],
        vec![],
    );
    ObjectSpec {
        btf: Some(b.build()),
        btf_ext: Some(ext.build(Endian::Little)),
        ..spec(vec![prog], vec![pad, sub])
    }
}

#[test]
fn records_follow_their_function_into_the_linked_program() {
    let spec = object();
    let mut tb = BtfBuilder::new();
    let ti = tb.add_int("int", 4, INT_SIGNED);
    tb.add_struct("s", 16, &[("pad", ti, 0), ("b", ti, 32), ("a", ti, 64)]);
    let target = tb.build();
    let target = oxbpf_btf::Btf::parse(&target).unwrap();
    let mut linked = link_program(&spec, 0).unwrap();
    assert_eq!(
        linked.functions,
        [("prog".to_string(), 0), ("sub".to_string(), 3)]
    );
    let ex = apply_core(&spec, &mut linked, &Targets::new("vmlinux", &target)).unwrap();
    let at: Vec<(usize, &str)> = ex.iter().map(|e| (e.insn, e.function.as_str())).collect();
    assert_eq!(at, [(0, "prog"), (3, "sub"), (4, "sub"), (5, "sub")]);
    assert_eq!(linked.insns[0].imm, 8, "s::a moved to byte 8");
    assert_eq!(linked.insns[3].off, 4, "s::b stays at 4");
    assert_eq!(linked.insns[4].imm, 0, "s::gone does not exist");
    assert!(is_poisoned(&linked.insns[5]), "reading s::gone is poisoned");
    assert!(ex[3].result.poison);
    // The pad function, not placed, kept its records out.
    assert_eq!(ex.len(), 4);
}

#[test]
fn instruction_not_holding_the_local_value_is_an_error_naming_the_function() {
    let mut spec = object();
    // sub's ldx of s::b must hold the local offset 4; make it 6: validation fails.
    spec.subprograms[1].insns[0].off = 6;
    let mut tb = BtfBuilder::new();
    let ti = tb.add_int("int", 4, INT_SIGNED);
    tb.add_struct("s", 16, &[("pad", ti, 0), ("b", ti, 32), ("a", ti, 64)]);
    let target = tb.build();
    let target = oxbpf_btf::Btf::parse(&target).unwrap();
    let mut linked = link_program(&spec, 0).unwrap();
    let e = apply_core(&spec, &mut linked, &Targets::new("vmlinux", &target)).unwrap_err();
    let s = e.to_string();
    assert!(s.contains("function \"sub\" insn 3"), "{s}");
    assert!(
        s.contains("s___local::b") && s.contains("expected 4, got 6"),
        "{s}"
    );
}

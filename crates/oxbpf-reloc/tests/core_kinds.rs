//! CO-RE relocation kinds against hand-built local/target BTF pairs.

use oxbpf_asm::Insn;
use oxbpf_btf::{Btf, BtfBuilder, CoreRelo, INT_SIGNED, TypeId};
use oxbpf_reloc::core_relo::{POISON_HELPER, is_poisoned};
use oxbpf_reloc::{ReloKind, Targets, calc_relo, patch_insn};

fn relo(b: &mut BtfBuilder, ty: TypeId, access: &str, kind: ReloKind) -> CoreRelo {
    let kinds = [
        ReloKind::FieldByteOffset,
        ReloKind::FieldByteSize,
        ReloKind::FieldExists,
        ReloKind::FieldSigned,
        ReloKind::FieldLshiftU64,
        ReloKind::FieldRshiftU64,
        ReloKind::TypeIdLocal,
        ReloKind::TypeIdTarget,
        ReloKind::TypeExists,
        ReloKind::TypeSize,
        ReloKind::EnumvalExists,
        ReloKind::EnumvalValue,
        ReloKind::TypeMatches,
    ];
    let raw = kinds.iter().position(|&k| k == kind).unwrap() as u32;
    assert_eq!(ReloKind::from_raw(raw), Some(kind));
    CoreRelo {
        insn_off: 0,
        type_id: ty,
        access_str_off: b.add_str(access),
        kind: raw,
    }
}

/// local: struct task_struct___mine { int pid; char comm[16]; }
fn local_task() -> (BtfBuilder, TypeId) {
    let mut b = BtfBuilder::new();
    let int = b.add_int("int", 4, INT_SIGNED);
    let ch = b.add_int("char", 1, INT_SIGNED);
    let arr = b.add_array(ch, int, 16);
    let t = b.add_struct(
        "task_struct___mine",
        20,
        &[("pid", int, 0), ("comm", arr, 32)],
    );
    (b, t)
}

/// target: struct task_struct { long state; unsigned int flags; int pid; char comm[16]; }
fn target_task() -> Vec<u8> {
    let mut b = BtfBuilder::new();
    let long = b.add_int("long", 8, INT_SIGNED);
    let uint = b.add_int("unsigned int", 4, 0);
    let int = b.add_int("int", 4, INT_SIGNED);
    let ch = b.add_int("char", 1, INT_SIGNED);
    let arr = b.add_array(ch, int, 16);
    b.add_struct(
        "task_struct",
        40,
        &[
            ("state", long, 0),
            ("flags", uint, 64),
            ("pid", int, 96),
            ("comm", arr, 128),
        ],
    );
    b.build()
}

/// The local and the target BTF, parsed from their raw bytes.
fn parse(bytes: &[Vec<u8>; 2]) -> [Btf<'_>; 2] {
    [
        Btf::parse(&bytes[0]).unwrap(),
        Btf::parse(&bytes[1]).unwrap(),
    ]
}

#[test]
fn field_byte_offset_follows_target_layout_through_flavour() {
    let (mut b, t) = local_task();
    let r = relo(&mut b, t, "0:0", ReloKind::FieldByteOffset);
    let bytes = [b.build(), target_task()];
    let [local, target] = parse(&bytes);
    let ex = calc_relo(&local, &r, &Targets::new("vmlinux", &target)).unwrap();
    assert_eq!(ex.local, "task_struct___mine::pid");
    assert_eq!((ex.result.orig_val, ex.result.new_val), (0, 12));
    assert!(!ex.result.poison);
    assert_eq!(ex.candidates.len(), 1);
    assert!(ex.candidates[0].accepted);
    assert_eq!(ex.candidates[0].path, "task_struct::pid");

    // ldx w r1 = *(u32 *)(r1 + 0) becomes +12.
    let mut insns = vec![Insn::new(0x61, 1, 1, 0, 0)];
    patch_insn(&mut insns, 0, &ex.result).unwrap();
    assert_eq!(insns[0].off, 12);
    assert_eq!(insns[0].code, 0x61);
}

#[test]
fn array_element_offset_and_size() {
    let (mut b, t) = local_task();
    let off = relo(&mut b, t, "0:1:3", ReloKind::FieldByteOffset);
    let sz = relo(&mut b, t, "0:1", ReloKind::FieldByteSize);
    let bytes = [b.build(), target_task()];
    let [local, target] = parse(&bytes);
    let tg = Targets::new("vmlinux", &target);
    let ex = calc_relo(&local, &off, &tg).unwrap();
    assert_eq!(ex.local, "task_struct___mine::comm[3]");
    assert_eq!((ex.result.orig_val, ex.result.new_val), (7, 19));
    let ex = calc_relo(&local, &sz, &tg).unwrap();
    assert_eq!((ex.result.orig_val, ex.result.new_val), (16, 16));
}

#[test]
fn missing_field_poisons_but_exists_gives_zero() {
    let mut b = BtfBuilder::new();
    let int = b.add_int("int", 4, INT_SIGNED);
    let t = b.add_struct(
        "task_struct___new",
        8,
        &[("pid", int, 0), ("nonexistent", int, 32)],
    );
    let off = relo(&mut b, t, "0:1", ReloKind::FieldByteOffset);
    let ex_r = relo(&mut b, t, "0:1", ReloKind::FieldExists);
    let have = relo(&mut b, t, "0:0", ReloKind::FieldExists);
    let bytes = [b.build(), target_task()];
    let [local, target] = parse(&bytes);
    let tg = Targets::new("vmlinux", &target);
    let ex = calc_relo(&local, &off, &tg).unwrap();
    assert!(ex.result.poison);
    assert!(!ex.candidates[0].accepted);
    assert!(
        ex.candidates[0].reason.contains("no member nonexistent"),
        "{}",
        ex.candidates[0].reason
    );
    let mut insns = vec![Insn::new(0x61, 1, 1, 4, 0)];
    patch_insn(&mut insns, 0, &ex.result).unwrap();
    assert!(is_poisoned(&insns[0]));
    assert_eq!(insns[0].imm, POISON_HELPER);
    assert_eq!(insns[0].code, 0x85);

    let ex = calc_relo(&local, &ex_r, &tg).unwrap();
    assert_eq!(
        (ex.result.orig_val, ex.result.new_val, ex.result.poison),
        (1, 0, false)
    );
    let ex = calc_relo(&local, &have, &tg).unwrap();
    assert_eq!((ex.result.orig_val, ex.result.new_val), (1, 1));
}

#[test]
fn no_candidate_type_poisons_field_and_zeroes_type_kinds() {
    let mut b = BtfBuilder::new();
    let int = b.add_int("int", 4, INT_SIGNED);
    let t = b.add_struct("not_in_kernel", 4, &[("x", int, 0)]);
    let f = relo(&mut b, t, "0:0", ReloKind::FieldByteOffset);
    let e = relo(&mut b, t, "0", ReloKind::TypeExists);
    let s = relo(&mut b, t, "0", ReloKind::TypeSize);
    let bytes = [b.build(), target_task()];
    let [local, target] = parse(&bytes);
    let tg = Targets::new("vmlinux", &target);
    let ex = calc_relo(&local, &f, &tg).unwrap();
    assert!(ex.result.poison);
    assert!(
        ex.outcome.contains("no target type named not_in_kernel"),
        "{}",
        ex.outcome
    );
    let ex = calc_relo(&local, &e, &tg).unwrap();
    assert_eq!(
        (ex.result.orig_val, ex.result.new_val, ex.result.poison),
        (1, 0, false)
    );
    let ex = calc_relo(&local, &s, &tg).unwrap();
    assert_eq!(
        (ex.result.orig_val, ex.result.new_val, ex.result.poison),
        (4, 0, false)
    );
}

#[test]
fn type_kinds_size_ids_and_matches() {
    let (mut b, t) = local_task();
    let size = relo(&mut b, t, "0", ReloKind::TypeSize);
    let exists = relo(&mut b, t, "0", ReloKind::TypeExists);
    let tid = relo(&mut b, t, "0", ReloKind::TypeIdTarget);
    let lid = relo(&mut b, t, "0", ReloKind::TypeIdLocal);
    let matches = relo(&mut b, t, "0", ReloKind::TypeMatches);
    let bytes = [b.build(), target_task()];
    let [local, target] = parse(&bytes);
    let tg = Targets::new("vmlinux", &target);
    let v = |r| {
        let ex = calc_relo(&local, r, &tg).unwrap();
        (ex.result.orig_val, ex.result.new_val)
    };
    assert_eq!(v(&size), (20, 40));
    assert_eq!(v(&exists), (1, 1));
    assert_eq!(v(&tid), (u64::from(t), 6));
    assert_eq!(v(&lid), (u64::from(t), u64::from(t)));
    // Members pid and comm exist with equal types: a match.
    assert_eq!(v(&matches), (1, 1));
}

#[test]
fn type_matches_rejects_differently_sized_member() {
    let mut b = BtfBuilder::new();
    let long = b.add_int("long", 8, INT_SIGNED);
    let t = b.add_struct("task_struct", 8, &[("pid", long, 0)]);
    let m = relo(&mut b, t, "0", ReloKind::TypeMatches);
    let c = relo(&mut b, t, "0", ReloKind::TypeExists);
    let bytes = [b.build(), target_task()];
    let [local, target] = parse(&bytes);
    let tg = Targets::new("vmlinux", &target);
    let ex = calc_relo(&local, &m, &tg).unwrap();
    assert_eq!(ex.result.new_val, 0);
    assert!(!ex.candidates[0].accepted);
    assert_eq!(ex.candidates[0].reason, "types do not match");
    // TYPE_EXISTS only needs compatible kinds.
    assert_eq!(calc_relo(&local, &c, &tg).unwrap().result.new_val, 1);
}

#[test]
fn field_signed_and_incompatible_member_type() {
    let mut b = BtfBuilder::new();
    let int = b.add_int("int", 4, INT_SIGNED);
    let ptr = b.add_ptr(int);
    let t = b.add_struct("task_struct", 16, &[("flags", int, 0), ("pid", ptr, 64)]);
    let s = relo(&mut b, t, "0:0", ReloKind::FieldSigned);
    let bad = relo(&mut b, t, "0:1", ReloKind::FieldByteOffset);
    let bytes = [b.build(), target_task()];
    let [local, target] = parse(&bytes);
    let tg = Targets::new("vmlinux", &target);
    let ex = calc_relo(&local, &s, &tg).unwrap();
    assert_eq!((ex.result.orig_val, ex.result.new_val), (1, 0));
    let ex = calc_relo(&local, &bad, &tg).unwrap();
    assert!(ex.result.poison);
    assert!(
        ex.candidates[0].reason.contains("incompatible"),
        "{}",
        ex.candidates[0].reason
    );
}

#[test]
fn bitfield_offsets_shifts_and_load_size() {
    // local: struct s { unsigned int a:3, b:5; }  target: struct s { u64 x; unsigned int pad:30, b:5; }
    let mut b = BtfBuilder::new();
    let uint = b.add_int("unsigned int", 4, 0);
    let t = b.add_composite_bitfields(false, "s", 4, &[("a", uint, 0, 3), ("b", uint, 3, 5)]);
    let kinds = [
        ReloKind::FieldByteOffset,
        ReloKind::FieldByteSize,
        ReloKind::FieldLshiftU64,
        ReloKind::FieldRshiftU64,
    ];
    let rs: Vec<CoreRelo> = kinds.iter().map(|&k| relo(&mut b, t, "0:1", k)).collect();
    let mut tb = BtfBuilder::new();
    let tu = tb.add_int("unsigned int", 4, 0);
    let tl = tb.add_int("unsigned long", 8, 0);
    tb.add_composite_bitfields(
        false,
        "s",
        16,
        &[("x", tl, 0, 0), ("pad", tu, 64, 30), ("b", tu, 94, 5)],
    );
    let bytes = [b.build(), tb.build()];
    let [local, target] = parse(&bytes);
    let tg = Targets::new("vmlinux", &target);
    let v: Vec<(u64, u64)> = rs
        .iter()
        .map(|r| {
            let ex = calc_relo(&local, r, &tg).unwrap();
            (ex.result.orig_val, ex.result.new_val)
        })
        .collect();
    // Local: bits 3..8 in the u32 at 0. Target: bits 94..99 straddle two u32s, so an
    // 8-byte load at 8 is needed.
    assert_eq!(v[0], (0, 8));
    assert_eq!(v[1], (4, 8));
    assert_eq!(v[2], (64 - 8, 64 - (94 + 5 - 64)));
    assert_eq!(v[3], (59, 59));
}

#[test]
fn flexible_array_index_past_zero_length() {
    // struct trace_entry___x { int type; unsigned long args[]; }  ctx->args[1]
    let mut b = BtfBuilder::new();
    let int = b.add_int("int", 4, INT_SIGNED);
    let ul = b.add_int("unsigned long", 8, 0);
    let flex = b.add_array(ul, int, 0);
    let t = b.add_struct(
        "trace_entry___x",
        8,
        &[("type", int, 0), ("args", flex, 64)],
    );
    let r = relo(&mut b, t, "0:1:1", ReloKind::FieldByteOffset);
    let mut tb = BtfBuilder::new();
    let ti = tb.add_int("int", 4, INT_SIGNED);
    let tul = tb.add_int("unsigned long", 8, 0);
    let tflex = tb.add_array(tul, ti, 0);
    tb.add_struct(
        "trace_entry",
        16,
        &[("type", ti, 0), ("id", ti, 32), ("args", tflex, 128)],
    );
    let bytes = [b.build(), tb.build()];
    let [local, target] = parse(&bytes);
    let ex = calc_relo(&local, &r, &Targets::new("vmlinux", &target)).unwrap();
    assert_eq!(ex.local, "trace_entry___x::args[1]");
    assert_eq!((ex.result.orig_val, ex.result.new_val), (16, 24));
}

#[test]
fn array_index_past_target_bound_is_rejected() {
    let (mut b, t) = local_task();
    let r = relo(&mut b, t, "0:1:10", ReloKind::FieldByteOffset);
    let mut tb = BtfBuilder::new();
    let ti = tb.add_int("int", 4, INT_SIGNED);
    let ch = tb.add_int("char", 1, INT_SIGNED);
    let arr = tb.add_array(ch, ti, 8);
    tb.add_struct("task_struct", 12, &[("pid", ti, 0), ("comm", arr, 32)]);
    let bytes = [b.build(), tb.build()];
    let [local, target] = parse(&bytes);
    let ex = calc_relo(&local, &r, &Targets::new("vmlinux", &target)).unwrap();
    assert!(ex.result.poison);
    assert!(
        ex.candidates[0].reason.contains("past target array"),
        "{}",
        ex.candidates[0].reason
    );
}

#[test]
fn anonymous_nested_members_are_searched() {
    // local: struct sk { int a; int b; }  target: struct sk { int a; union { struct { int x; int b; }; }; }
    let mut b = BtfBuilder::new();
    let int = b.add_int("int", 4, INT_SIGNED);
    let t = b.add_struct("sk", 8, &[("a", int, 0), ("b", int, 32)]);
    let r = relo(&mut b, t, "0:1", ReloKind::FieldByteOffset);
    let mut tb = BtfBuilder::new();
    let ti = tb.add_int("int", 4, INT_SIGNED);
    let inner = tb.add_struct("", 8, &[("x", ti, 0), ("b", ti, 32)]);
    let un = tb.add_union("", 8, &[("", inner, 0)]);
    tb.add_struct("sk", 16, &[("a", ti, 0), ("", un, 64)]);
    let bytes = [b.build(), tb.build()];
    let [local, target] = parse(&bytes);
    let ex = calc_relo(&local, &r, &Targets::new("vmlinux", &target)).unwrap();
    assert_eq!((ex.result.orig_val, ex.result.new_val), (4, 12));
    assert_eq!(ex.candidates[0].path, "sk::b");
}

#[test]
fn ambiguous_candidates_are_an_error_naming_them() {
    let (mut b, t) = local_task();
    let r = relo(&mut b, t, "0:0", ReloKind::FieldByteOffset);
    let mut tb = BtfBuilder::new();
    let ti = tb.add_int("int", 4, INT_SIGNED);
    tb.add_struct("task_struct", 4, &[("pid", ti, 0)]);
    tb.add_struct("task_struct___v2", 8, &[("x", ti, 0), ("pid", ti, 32)]);
    let bytes = [b.build(), tb.build()];
    let [local, target] = parse(&bytes);
    let e = calc_relo(&local, &r, &Targets::new("vmlinux", &target)).unwrap_err();
    let s = e.to_string();
    assert!(s.contains("candidates disagree"), "{s}");
    assert!(
        s.contains("task_struct::pid") && s.contains("task_struct___v2::pid"),
        "{s}"
    );
}

#[test]
fn agreeing_candidates_are_fine() {
    let (mut b, t) = local_task();
    let r = relo(&mut b, t, "0:0", ReloKind::FieldByteOffset);
    let mut tb = BtfBuilder::new();
    let ti = tb.add_int("int", 4, INT_SIGNED);
    tb.add_struct("task_struct", 4, &[("pid", ti, 0)]);
    tb.add_struct("task_struct___v2", 8, &[("pid", ti, 0), ("x", ti, 32)]);
    let bytes = [b.build(), tb.build()];
    let [local, target] = parse(&bytes);
    let ex = calc_relo(&local, &r, &Targets::new("vmlinux", &target)).unwrap();
    assert_eq!(ex.candidates.iter().filter(|c| c.accepted).count(), 2);
    assert_eq!(ex.result.new_val, 0);
}

#[test]
fn enum_values_and_enum64() {
    let mut b = BtfBuilder::new();
    let e = b.add_enum(
        "state___mine",
        4,
        true,
        &[("RUNNING", 0), ("GONE", 5), ("NEG", -1)],
    );
    let e64 = b.add_enum64("big", 8, false, &[("HUGE", 1)]);
    let v_gone = relo(&mut b, e, "1", ReloKind::EnumvalValue);
    let v_neg = relo(&mut b, e, "2", ReloKind::EnumvalValue);
    let x_gone = relo(&mut b, e, "1", ReloKind::EnumvalExists);
    let v_huge = relo(&mut b, e64, "0", ReloKind::EnumvalValue);
    let mut tb = BtfBuilder::new();
    tb.add_enum("state", 4, true, &[("RUNNING", 0), ("NEG", -7)]);
    tb.add_enum64("big", 8, false, &[("HUGE", 1 << 40)]);
    let bytes = [b.build(), tb.build()];
    let [local, target] = parse(&bytes);
    let tg = Targets::new("vmlinux", &target);
    let ex = calc_relo(&local, &v_gone, &tg).unwrap();
    assert_eq!(ex.local, "enum state___mine::GONE");
    assert!(ex.result.poison);
    let ex = calc_relo(&local, &x_gone, &tg).unwrap();
    assert_eq!(
        (ex.result.orig_val, ex.result.new_val, ex.result.poison),
        (1, 0, false)
    );
    let ex = calc_relo(&local, &v_neg, &tg).unwrap();
    assert_eq!(
        (ex.result.orig_val, ex.result.new_val),
        (u64::MAX, (-7i64) as u64)
    );
    // mov r0, -1 patched to -7.
    let mut insns = vec![Insn::new(0xb7, 0, 0, 0, -1)];
    patch_insn(&mut insns, 0, &ex.result).unwrap();
    assert_eq!(insns[0].imm, -7);
    let ex = calc_relo(&local, &v_huge, &tg).unwrap();
    assert_eq!(ex.result.new_val, 1 << 40);
    // ld_imm64 r0 = 1 patched to 1 << 40.
    let mut insns = vec![Insn::new(0x18, 0, 0, 0, 1), Insn::new(0, 0, 0, 0, 0)];
    patch_insn(&mut insns, 0, &ex.result).unwrap();
    assert_eq!((insns[0].imm, insns[1].imm), (0, 256));
}

#[test]
fn patch_checks_the_original_value_and_poisons_ld_imm64_both_slots() {
    let (mut b, t) = local_task();
    let r = relo(&mut b, t, "0:0", ReloKind::FieldByteOffset);
    let bytes = [b.build(), target_task()];
    let [local, target] = parse(&bytes);
    let mut res = calc_relo(&local, &r, &Targets::new("vmlinux", &target))
        .unwrap()
        .result;
    let mut insns = vec![Insn::new(0x61, 1, 1, 4, 0)];
    let e = patch_insn(&mut insns, 0, &res).unwrap_err();
    assert!(e.contains("expected 0, got 4"), "{e}");
    // ALU with a register source cannot take a relocation.
    let mut insns = vec![Insn::new(0x0f, 1, 2, 0, 0)];
    assert!(patch_insn(&mut insns, 0, &res).is_err());
    assert!(patch_insn(&mut insns, 5, &res).is_err());
    res.poison = true;
    let mut insns = vec![Insn::new(0x18, 0, 0, 0, 0), Insn::new(0, 0, 0, 0, 0)];
    patch_insn(&mut insns, 0, &res).unwrap();
    assert!(is_poisoned(&insns[0]) && is_poisoned(&insns[1]));
}

#[test]
fn load_size_is_adjusted_for_unsigned_ints_and_poisoned_for_signed() {
    // local u32 field; target u64 (unsigned: the ldx becomes 8 bytes) / s64 (poison).
    for (enc, poisoned) in [(0u8, false), (INT_SIGNED, true)] {
        let mut b = BtfBuilder::new();
        let u = b.add_int("unsigned int", 4, enc);
        let t = b.add_struct("s", 4, &[("v", u, 0)]);
        let r = relo(&mut b, t, "0:0", ReloKind::FieldByteOffset);
        let mut tb = BtfBuilder::new();
        let tl = tb.add_int("unsigned long", 8, enc);
        tb.add_struct("s", 16, &[("pad", tl, 0), ("v", tl, 64)]);
        let bytes = [b.build(), tb.build()];
        let [local, target] = parse(&bytes);
        let ex = calc_relo(&local, &r, &Targets::new("vmlinux", &target)).unwrap();
        let mut insns = vec![Insn::new(0x61, 1, 1, 0, 0)];
        patch_insn(&mut insns, 0, &ex.result).unwrap();
        assert_eq!(is_poisoned(&insns[0]), poisoned);
        if !poisoned {
            assert_eq!((insns[0].code, insns[0].off), (0x79, 8));
        }
    }
}

#[test]
fn module_btf_is_searched_only_without_vmlinux_candidates() {
    let mut b = BtfBuilder::new();
    let int = b.add_int("int", 4, INT_SIGNED);
    let t = b.add_struct("nf_conn___x", 4, &[("mark", int, 0)]);
    let r = relo(&mut b, t, "0:0", ReloKind::FieldByteOffset);
    let mut vb = BtfBuilder::new();
    vb.add_int("int", 4, INT_SIGNED);
    let vm = vb.build();
    let vm = Btf::parse(&vm).unwrap();
    // Module BTF: vmlinux's types plus struct nf_conn { int pad; int mark; }.
    let mut mb2 = BtfBuilder::from_btf(&vm).unwrap();
    mb2.add_struct("nf_conn", 8, &[("pad", 1, 0), ("mark", 1, 32)]);
    let full = mb2.build();
    let local = b.build();
    let local = Btf::parse(&local).unwrap();
    // Without modules: poisoned. With the module (as a full BTF here): found there.
    let ex = calc_relo(&local, &r, &Targets::new("vmlinux", &vm)).unwrap();
    assert!(ex.result.poison);
    let module = Btf::parse(&full).unwrap();
    let tg =
        Targets::new("vmlinux", &vm).with_lazy_modules(|| vec![("nf_conntrack".into(), &module)]);
    let ex = calc_relo(&local, &r, &tg).unwrap();
    assert_eq!(ex.result.new_val, 4);
    assert_eq!(ex.candidates[0].btf, "nf_conntrack");
}

#[test]
fn bad_records_are_errors_not_panics() {
    let (mut b, t) = local_task();
    let bad_access = relo(&mut b, t, "0:x", ReloKind::FieldByteOffset);
    let past = relo(&mut b, t, "0:9", ReloKind::FieldByteOffset);
    let type_with_path = relo(&mut b, t, "0:1", ReloKind::TypeSize);
    let signed_on_elem = relo(&mut b, t, "0:1:1", ReloKind::FieldSigned);
    let mut unknown = relo(&mut b, t, "0", ReloKind::TypeSize);
    unknown.kind = 99;
    let bytes = [b.build(), target_task()];
    let [local, target] = parse(&bytes);
    let tg = Targets::new("vmlinux", &target);
    for (r, want) in [
        (&bad_access, "is not an index"),
        (&past, "member 9"),
        (&type_with_path, "want \"0\""),
        (&signed_on_elem, "array element"),
        (&unknown, "unknown relocation kind 99"),
    ] {
        let e = calc_relo(&local, r, &tg).unwrap_err().to_string();
        assert!(e.contains(want), "{e} should contain {want}");
    }
}

#[test]
fn later_relocations_see_only_candidates_that_matched_earlier() {
    // As libbpf's candidate cache: a.a matched only s___x, so b (only in s___y) poisons.
    let mut b = BtfBuilder::new();
    let int = b.add_int("int", 4, INT_SIGNED);
    let t = b.add_struct("s", 8, &[("a", int, 0), ("b", int, 32)]);
    let ra = relo(&mut b, t, "0:0", ReloKind::FieldByteOffset);
    let rb = relo(&mut b, t, "0:1", ReloKind::FieldByteOffset);
    let mut tb = BtfBuilder::new();
    let ti = tb.add_int("int", 4, INT_SIGNED);
    tb.add_struct("s___x", 4, &[("a", ti, 0)]);
    tb.add_struct("s___y", 8, &[("pad", ti, 0), ("b", ti, 32)]);
    let bytes = [b.build(), tb.build()];
    let [local, target] = parse(&bytes);
    // Alone, b finds s___y.
    let fresh = Targets::new("vmlinux", &target);
    assert_eq!(calc_relo(&local, &rb, &fresh).unwrap().result.new_val, 4);
    let tg = Targets::new("vmlinux", &target);
    assert_eq!(calc_relo(&local, &ra, &tg).unwrap().result.new_val, 0);
    let ex = calc_relo(&local, &rb, &tg).unwrap();
    assert!(ex.result.poison);
    assert_eq!(ex.candidates.len(), 1);
    assert_eq!(ex.candidates[0].path, "s___x");
}

#[test]
fn shifts_of_a_wide_non_bitfield_member_do_not_overflow() {
    // RSHIFT_U64 of a 16-byte array member: 64 - 128 wraps as in libbpf (u32 there).
    let (mut b, t) = local_task();
    let r = relo(&mut b, t, "0:1", ReloKind::FieldRshiftU64);
    let bytes = [b.build(), target_task()];
    let [local, target] = parse(&bytes);
    let ex = calc_relo(&local, &r, &Targets::new("vmlinux", &target)).unwrap();
    assert_eq!(ex.result.new_val, 64u64.wrapping_sub(128));
}

#[test]
fn field_candidates_at_different_offsets_are_ambiguous_even_for_exists() {
    let (mut b, t) = local_task();
    let r = relo(&mut b, t, "0:0", ReloKind::FieldExists);
    let mut tb = BtfBuilder::new();
    let ti = tb.add_int("int", 4, INT_SIGNED);
    tb.add_struct("task_struct", 4, &[("pid", ti, 0)]);
    tb.add_struct("task_struct___v2", 8, &[("x", ti, 0), ("pid", ti, 32)]);
    let bytes = [b.build(), tb.build()];
    let [local, target] = parse(&bytes);
    let e = calc_relo(&local, &r, &Targets::new("vmlinux", &target)).unwrap_err();
    assert!(e.to_string().contains("candidates disagree"), "{e}");
}

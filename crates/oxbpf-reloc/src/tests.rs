//! Linking hand-made ObjectSpecs (no ELF, no kernel).

use oxbpf_asm::{CALL, Insn, PSEUDO_FUNC, PSEUDO_MAP_FD, PSEUDO_MAP_VALUE};
use oxbpf_btf::{BtfBuilder, BtfExtBuilder, Endian};
use oxbpf_obj::ObjectSpec;

use super::*;

#[path = "../tests/common/mod.rs"]
mod common;
use common::{func, spec};

/// `call` to a bpf function with the given imm.
fn pcall(imm: i32) -> Insn {
    Insn::new(CALL, 0, 1, 0, imm)
}

fn rel(insn: usize, target: RelocTarget, symbol: &str) -> Relocation {
    Relocation {
        insn,
        target,
        symbol: symbol.into(),
    }
}

fn call_to(offset: u64) -> RelocTarget {
    RelocTarget::Call {
        section: ".text".into(),
        offset,
    }
}

/// prog → a (relocation) → b (pc-relative inside .text, imm negative in the object).
fn chain() -> ObjectSpec {
    let b = func(
        ".text_b",
        ".text",
        0,
        vec![Insn::mov64_imm(0, 2), Insn::exit()],
        vec![],
    );
    // a sits at .text+16; its call at section slot 3 targets slot 0: imm = 0 - (3 + 1).
    let a = func(
        "a",
        ".text",
        16,
        vec![Insn::mov64_imm(0, 1), pcall(-4), Insn::exit()],
        vec![],
    );
    let p = func(
        "prog",
        "xdp",
        0,
        vec![pcall(-1), Insn::exit()],
        vec![rel(0, call_to(16), "a")],
    );
    spec(vec![p], vec![b, a])
}

#[test]
fn appends_transitively_called_subprograms_and_patches_offsets() {
    let linked = link_program(&chain(), 0).unwrap();
    assert_eq!(
        linked.functions,
        [
            ("prog".to_string(), 0),
            ("a".to_string(), 2),
            (".text_b".to_string(), 5)
        ]
    );
    assert_eq!(linked.insns.len(), 7);
    // prog's call (slot 0) → a at 2: imm = 2 - 1.
    assert_eq!(linked.insns[0].imm, 1);
    // a's call (slot 3) → b at 5: imm = 5 - 4.
    assert_eq!(linked.insns[3].imm, 1);
    assert_eq!(linked.insns[5], Insn::mov64_imm(0, 2));
    assert!(linked.relocations.is_empty());
    assert!(linked.func_info.is_empty() && linked.line_info.is_empty());
}

#[test]
fn callback_address_becomes_pseudo_func() {
    let ld = Insn::ld_imm64(2, 0, 0x10);
    let cb = func(
        "cb",
        ".text",
        16,
        vec![Insn::mov64_imm(0, 0), Insn::exit()],
        vec![],
    );
    let other = func(
        "other",
        ".text",
        0,
        vec![Insn::mov64_imm(0, 9), Insn::exit()],
        vec![],
    );
    let p = func(
        "prog",
        "tp/a/b",
        0,
        vec![ld[0], ld[1], Insn::call_helper(181), Insn::exit()],
        vec![rel(
            0,
            RelocTarget::Func {
                section: ".text".into(),
                offset: 16,
            },
            ".text",
        )],
    );
    let linked = link_program(&spec(vec![p], vec![other, cb]), 0).unwrap();
    assert_eq!(linked.functions[1], ("cb".to_string(), 4));
    assert_eq!(linked.insns.len(), 6, "only the callback is appended");
    assert_eq!(linked.insns[0].src, PSEUDO_FUNC);
    assert_eq!(linked.insns[0].imm, 3); // 4 - (0 + 1)
    assert_eq!(linked.insns[1].imm, 0);
    // The helper call is untouched.
    assert_eq!(linked.insns[2], Insn::call_helper(181));
}

#[test]
fn shared_and_recursive_subprograms_are_placed_once() {
    // .text: a at 0 (calls b via relocation), b at 16 (calls itself pc-relatively).
    let a = func(
        "a",
        ".text",
        0,
        vec![pcall(-1), Insn::exit()],
        vec![rel(0, call_to(16), "b")],
    );
    let b = func("b", ".text", 16, vec![pcall(-1), Insn::exit()], vec![]);
    let p = func(
        "prog",
        "xdp",
        0,
        vec![pcall(-1), pcall(-1), Insn::exit()],
        vec![rel(0, call_to(0), "a"), rel(1, call_to(16), "b")],
    );
    let linked = link_program(&spec(vec![p], vec![a, b]), 0).unwrap();
    let names: Vec<&str> = linked.functions.iter().map(|f| f.0.as_str()).collect();
    assert_eq!(names, ["prog", "a", "b"]);
    assert_eq!(linked.insns.len(), 3 + 2 + 2);
    assert_eq!(linked.insns[0].imm, 3 - 1); // → a at 3
    assert_eq!(linked.insns[1].imm, 5 - 2); // → b at 5
    assert_eq!(linked.insns[3].imm, 5 - 4); // a → b
    assert_eq!(linked.insns[5].imm, -1); // b → b (self)
}

#[test]
fn call_to_missing_function_names_it() {
    let p = func(
        "prog",
        "xdp",
        0,
        vec![pcall(-1), Insn::exit()],
        vec![rel(0, call_to(0x40), "helper_fn")],
    );
    let e = link_program(&spec(vec![p], vec![]), 0).unwrap_err();
    assert_eq!(
        e.to_string(),
        "program \"prog\": call at insn 0 of function \"prog\" targets \".text\"+0x40 (symbol \"helper_fn\"), where no function starts"
    );
    // A pc-relative call into the middle of nowhere.
    let p = func("prog", "xdp", 0, vec![pcall(5), Insn::exit()], vec![]);
    let e = link_program(&spec(vec![p], vec![]), 0).unwrap_err();
    assert!(
        matches!(e, Error::MissingFunction { offset: 48, .. }),
        "{e}"
    );
    let p = func("prog", "xdp", 0, vec![pcall(-5), Insn::exit()], vec![]);
    assert!(link_program(&spec(vec![p], vec![]), 0).is_err());
}

#[test]
fn rejects_call_into_another_entry_program() {
    let p1 = func(
        "one",
        "xdp",
        0,
        vec![pcall(1), Insn::exit(), Insn::exit()],
        vec![],
    );
    let p2 = func("two", "xdp", 16, vec![Insn::exit()], vec![]);
    let e = link_program(&spec(vec![p1, p2], vec![]), 0).unwrap_err();
    assert!(matches!(e, Error::CallToEntryProgram { .. }), "{e}");
    assert!(e.to_string().contains("\"two\""), "{e}");
}

#[test]
fn rejects_program_index_out_of_range() {
    let e = link_program(&chain(), 3).unwrap_err();
    assert_eq!(e.to_string(), "no program #3: the object has 1 programs");
}

#[test]
fn pseudo_func_without_relocation_is_an_error() {
    let ld = Insn::ld_imm64(2, PSEUDO_FUNC, 0);
    let p = func("prog", "xdp", 0, vec![ld[0], ld[1], Insn::exit()], vec![]);
    let e = link_program(&spec(vec![p], vec![]), 0).unwrap_err();
    assert!(e.to_string().contains("no relocation"), "{e}");
}

fn with_maps() -> ObjectSpec {
    let ld = Insn::ld_imm64(1, 0, 0);
    let ld_data = Insn::ld_imm64(1, 0, 12);
    let sub = func(
        "get",
        ".text",
        0,
        vec![ld_data[0], ld_data[1], Insn::exit()],
        vec![rel(0, RelocTarget::Data { map: 1, offset: 12 }, ".data")],
    );
    let p = func(
        "prog",
        "xdp",
        0,
        vec![ld[0], ld[1], pcall(-1), Insn::exit()],
        vec![
            rel(0, RelocTarget::Map { map: 0 }, "events"),
            rel(2, call_to(0), "get"),
        ],
    );
    spec(vec![p], vec![sub])
}

#[test]
fn carries_map_and_data_relocations_with_moved_indices() {
    let linked = link_program(&with_maps(), 0).unwrap();
    let r: Vec<(usize, &RelocTarget)> = linked
        .relocations
        .iter()
        .map(|r| (r.insn, &r.target))
        .collect();
    assert_eq!(
        r,
        [
            (0, &RelocTarget::Map { map: 0 }),
            (4, &RelocTarget::Data { map: 1, offset: 12 })
        ]
    );
}

#[test]
fn resolve_maps_patches_fds_and_offsets() {
    let mut linked = link_program(&with_maps(), 0).unwrap();
    resolve_maps(&mut linked, &|m| Some([7, 9][m])).unwrap();
    assert_eq!(
        (linked.insns[0].src, linked.insns[0].imm),
        (PSEUDO_MAP_FD, 7)
    );
    assert_eq!(linked.insns[1].imm, 0);
    assert_eq!(
        (linked.insns[4].src, linked.insns[4].imm),
        (PSEUDO_MAP_VALUE, 9)
    );
    assert_eq!(linked.insns[5].imm, 12);
}

#[test]
fn resolve_maps_reports_missing_fd() {
    let mut linked = link_program(&with_maps(), 0).unwrap();
    let e = resolve_maps(&mut linked, &|m| (m == 0).then_some(3)).unwrap_err();
    assert_eq!(
        e.to_string(),
        "insn 4: no file descriptor for map #1 (symbol \".data\")"
    );
}

#[test]
fn resolve_maps_rejects_relocation_on_a_plain_instruction() {
    let mut linked = link_program(&with_maps(), 0).unwrap();
    linked.relocations[0].insn = 3; // the exit
    let e = resolve_maps(&mut linked, &|_| Some(1)).unwrap_err();
    assert!(e.to_string().contains("not on an ld_imm64"), "{e}");
}

#[test]
fn extern_calls_are_carried_not_linked() {
    let p = func(
        "prog",
        "xdp",
        0,
        vec![pcall(-1), Insn::exit()],
        vec![rel(
            0,
            RelocTarget::Extern {
                name: "bpf_rcu_read_lock".into(),
                index: 0,
            },
            "bpf_rcu_read_lock",
        )],
    );
    let linked = link_program(&spec(vec![p], vec![]), 0).unwrap();
    assert_eq!(linked.insns[0].imm, -1);
    assert_eq!(linked.relocations.len(), 1);
}

/// The chain object plus BTF with FUNCs and a .BTF.ext describing its three functions.
fn chain_with_ext(drop_func_info_of_a: bool) -> ObjectSpec {
    let mut s = chain();
    let mut b = BtfBuilder::new();
    let int = b.add_int("int", 4, oxbpf_btf::INT_SIGNED);
    let proto = b.add_func_proto(int, &[]);
    let f_prog = b.add_func("prog", proto, oxbpf_btf::LINKAGE_GLOBAL);
    let f_b = b.add_func("b", proto, oxbpf_btf::LINKAGE_STATIC);
    let f_a = b.add_func("a", proto, oxbpf_btf::LINKAGE_STATIC);
    let xdp = b.add_str("xdp");
    let text = b.add_str(".text");
    let file = b.add_str("prog.c");
    let line = b.add_str("return 0;");
    let li = |insn_off, l| oxbpf_btf::LineInfo {
        insn_off,
        file_name_off: file,
        line_off: line,
        line: l,
        col: 3,
    };
    let fi = |insn_off, type_id| oxbpf_btf::FuncInfo { insn_off, type_id };
    let mut ext = BtfExtBuilder::new();
    ext.add_func_info(xdp, &[fi(0, f_prog)]);
    let mut text_funcs = vec![fi(0, f_b)];
    if !drop_func_info_of_a {
        text_funcs.push(fi(16, f_a));
    }
    ext.add_func_info(text, &text_funcs);
    ext.add_line_info(xdp, &[li(0, 10), li(8, 11)]);
    // .text: b at 0..16, a at 16..40 (records out of order on purpose).
    ext.add_line_info(text, &[li(24, 21), li(0, 30), li(16, 20)]);
    s.btf = Some(b.build());
    s.btf_ext = Some(ext.build(Endian::Little));
    s
}

#[test]
fn rebases_func_info_and_line_info_onto_final_slots() {
    let linked = link_program(&chain_with_ext(false), 0).unwrap();
    // prog at 0, a at 2, b at 5; FUNC ids: prog 3, b 4, a 5.
    assert_eq!(
        linked.func_info,
        [
            FuncInfo {
                insn: 0,
                type_id: 3
            },
            FuncInfo {
                insn: 2,
                type_id: 5
            },
            FuncInfo {
                insn: 5,
                type_id: 4
            },
        ]
    );
    let lines: Vec<(u32, u32)> = linked.line_info.iter().map(|l| (l.insn, l.line)).collect();
    assert_eq!(lines, [(0, 10), (1, 11), (2, 20), (3, 21), (5, 30)]);
}

#[test]
fn missing_func_info_for_a_placed_function_is_an_error() {
    let e = link_program(&chain_with_ext(true), 0).unwrap_err();
    assert_eq!(
        e.to_string(),
        "program \"prog\": function \"a\": no func_info record for \".text\"+0x10"
    );
}

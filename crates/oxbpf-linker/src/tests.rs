//! Unit tests on small objects built here (with the crate's own ELF writer and
//! oxbpf-btf's builders), plus bad-input tests on the committed fixtures.

use object::elf;
use oxbpf_btf::{
    Btf, BtfBuilder, BtfExt, BtfExtBuilder, Endian, FuncInfo, INT_SIGNED, Kind, LINKAGE_EXTERN,
    LINKAGE_GLOBAL, LINKAGE_STATIC, LineInfo, Type, VAR_GLOBAL_ALLOCATED, VAR_GLOBAL_EXTERN,
};

use crate::elf_write::{self, WSection, WSymbol};
use crate::input::{InSymbol, Input, R_BPF_64_32, R_BPF_64_64};
use crate::{Error, Linker, link};

const EXIT: [u8; 8] = [0x95, 0, 0, 0, 0, 0, 0, 0];
const MOV_R0_0: [u8; 8] = [0xb7, 0, 0, 0, 0, 0, 0, 0];

fn call(imm: i32) -> Vec<u8> {
    let mut v = vec![0x85, 0x10, 0, 0];
    v.extend_from_slice(&imm.to_le_bytes());
    v
}

fn ld_imm64(imm: i32) -> Vec<u8> {
    let mut v = vec![0x18, 0x01, 0, 0];
    v.extend_from_slice(&imm.to_le_bytes());
    v.extend_from_slice(&[0; 8]);
    v
}

fn code(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

const LOCAL: u8 = elf::STB_LOCAL;
const GLOBAL: u8 = elf::STB_GLOBAL;
const WEAK: u8 = elf::STB_WEAK;
const FUNC: u8 = elf::STT_FUNC;
const OBJECT: u8 = elf::STT_OBJECT;
const SECTION: u8 = elf::STT_SECTION;
const NOTYPE: u8 = elf::STT_NOTYPE;

/// A test object under construction.
#[derive(Default)]
struct T {
    secs: Vec<WSection>,
    syms: Vec<WSymbol>,
    rels: Vec<(usize, Vec<u8>)>,
    btf: Option<Vec<u8>>,
    ext: Option<Vec<u8>>,
}

impl T {
    fn sec(&mut self, name: &str, data: &[u8]) -> usize {
        let exec = name == ".text" || name == "xdp" || name.contains('/') || name == "syscall";
        let flags = if exec {
            u64::from(elf::SHF_ALLOC | elf::SHF_EXECINSTR)
        } else if name == ".rodata" {
            u64::from(elf::SHF_ALLOC)
        } else {
            u64::from(elf::SHF_ALLOC | elf::SHF_WRITE)
        };
        self.secs.push(WSection {
            name: name.to_string(),
            sh_type: elf::SHT_PROGBITS,
            flags,
            align: if name == "license" { 1 } else { 8 },
            entsize: 0,
            rel_target: None,
            data: data.to_vec(),
            nobits_size: 0,
        });
        self.secs.len() - 1
    }

    /// Adds a symbol (locals must come first) and returns its ELF index.
    fn sym(
        &mut self,
        name: &str,
        bind: u8,
        kind: u8,
        sec: Option<usize>,
        value: u64,
        size: u64,
    ) -> u32 {
        self.syms.push(WSymbol {
            name: name.to_string(),
            info: (bind << 4) | kind,
            other: 0,
            section: sec.ok_or(elf::SHN_UNDEF),
            value,
            size,
        });
        self.syms.len() as u32
    }

    fn rel(&mut self, target: usize, offset: u64, sym: u32, rtype: u32) {
        let r = elf_write::rel_bytes(offset, sym, rtype);
        match self.rels.iter_mut().find(|(t, _)| *t == target) {
            Some((_, d)) => d.extend_from_slice(&r),
            None => self.rels.push((target, r.to_vec())),
        }
    }

    fn bytes(&self) -> Vec<u8> {
        let mut secs = self.secs.clone();
        for (t, data) in &self.rels {
            secs.push(WSection {
                name: format!(".rel{}", self.secs[*t].name),
                sh_type: elf::SHT_REL,
                flags: u64::from(elf::SHF_INFO_LINK),
                align: 8,
                entsize: 16,
                rel_target: Some(*t),
                data: data.clone(),
                nobits_size: 0,
            });
        }
        for (name, d) in [(".BTF", &self.btf), (".BTF.ext", &self.ext)] {
            if let Some(d) = d {
                secs.push(WSection {
                    name: name.to_string(),
                    sh_type: elf::SHT_PROGBITS,
                    flags: 0,
                    align: 8,
                    entsize: 0,
                    rel_target: None,
                    data: d.clone(),
                    nobits_size: 0,
                });
            }
        }
        elf_write::write(&secs, &self.syms)
    }
}

fn parse(bytes: &[u8]) -> Input {
    Input::parse("out", bytes).expect("the linker's output parses")
}

fn symbol<'a>(o: &'a Input, name: &str) -> &'a InSymbol {
    o.symbols
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no symbol {name:?}"))
}

fn sec_of<'a>(o: &'a Input, s: &InSymbol) -> &'a str {
    &o.sections[s.section().unwrap()].name
}

fn out_btf(o: &Input) -> Btf<'_> {
    Btf::parse(o.btf.as_ref().expect("output has .BTF")).unwrap()
}

/// BTF with one FUNC `name` (int f(int x)) of `linkage`.
fn func_btf(funcs: &[(&str, u16)]) -> Vec<u8> {
    let mut b = BtfBuilder::new();
    let int = b.add_int("int", 4, INT_SIGNED);
    let proto = b.add_func_proto(int, &[("x", int)]);
    for &(name, linkage) in funcs {
        b.add_func(name, proto, linkage);
    }
    b.build()
}

/// An object with a `.text` function `name` of `bind` returning `ret`.
fn text_func(name: &str, bind: u8, ret: u8) -> T {
    let mut t = T::default();
    let mut mov = MOV_R0_0;
    mov[4] = ret;
    let text = t.sec(".text", &code(&[&mov, &EXIT]));
    t.sym(name, bind, FUNC, Some(text), 0, 16);
    t.btf = Some(func_btf(&[(name, LINKAGE_GLOBAL)]));
    t
}

fn link2(a: &T, b: &T) -> crate::Result<Vec<u8>> {
    link(&[("a.o", &a.bytes()), ("b.o", &b.bytes())])
}

#[test]
fn strong_definition_beats_weak_in_either_order() {
    let weak = text_func("f", WEAK, 1);
    let strong = text_func("f", GLOBAL, 2);
    let out = parse(&link2(&weak, &strong).unwrap());
    let f = symbol(&out, "f");
    assert_eq!(
        (f.bind(), f.value),
        (GLOBAL, 16),
        "b's strong f after a's 16 bytes"
    );
    let out = parse(&link2(&strong, &weak).unwrap());
    let f = symbol(&out, "f");
    assert_eq!((f.bind(), f.value), (GLOBAL, 0), "a's strong f stays");
    assert_eq!(out.symbols.iter().filter(|s| s.name == "f").count(), 1);
}

#[test]
fn first_weak_definition_wins_among_weak_ones() {
    let out = parse(&link2(&text_func("f", WEAK, 1), &text_func("f", WEAK, 2)).unwrap());
    let f = symbol(&out, "f");
    assert_eq!((f.bind(), f.value), (WEAK, 0));
}

#[test]
fn two_strong_definitions_are_an_error_naming_both_objects() {
    let e = link2(&text_func("f", GLOBAL, 1), &text_func("f", GLOBAL, 2)).unwrap_err();
    match &e {
        Error::DuplicateSymbol {
            symbol,
            first,
            second,
        } => {
            assert_eq!(
                (symbol.as_str(), first.as_str(), second.as_str()),
                ("f", "a.o", "b.o")
            );
        }
        other => panic!("{other}"),
    }
    assert_eq!(
        e.to_string(),
        "symbol \"f\" is defined (non-weak) in both \"a.o\" and \"b.o\""
    );
}

/// `xdp` program calling extern `g` (call -1 + R_BPF_64_32 against the undefined symbol).
fn caller_of(g: &str) -> T {
    let mut t = T::default();
    let prog = t.sec("xdp", &code(&[&call(-1), &EXIT]));
    t.sym("prog", GLOBAL, FUNC, Some(prog), 0, 16);
    let g_sym = t.sym(g, GLOBAL, NOTYPE, None, 0, 0);
    t.rel(prog, 0, g_sym, R_BPF_64_32);
    t.btf = Some(func_btf(&[("prog", LINKAGE_GLOBAL), (g, LINKAGE_EXTERN)]));
    t
}

#[test]
fn extern_function_binds_to_the_definition_in_another_object() {
    let out = parse(&link2(&caller_of("g"), &text_func("g", GLOBAL, 7)).unwrap());
    let g = symbol(&out, "g");
    assert_eq!(
        (sec_of(&out, g), g.bind(), g.kind()),
        (".text", GLOBAL, FUNC)
    );
    let rs = out
        .rels
        .iter()
        .find(|r| out.sections[r.target].name == "xdp")
        .unwrap();
    assert_eq!(rs.rels.len(), 1);
    assert_eq!(out.symbols[rs.rels[0].sym as usize].name, "g");
    // In BTF, one FUNC g, the definition's (global linkage).
    let btf = out_btf(&out);
    let funcs: Vec<_> = btf
        .find_all_by_name("g")
        .filter(|&id| btf.kind(id).unwrap() == Kind::Func)
        .collect();
    assert_eq!(funcs.len(), 1);
    let Type::Func(f) = btf.type_by_id(funcs[0]).unwrap() else {
        panic!()
    };
    assert_eq!(f.linkage, LINKAGE_GLOBAL);
    // Either order.
    let out = parse(&link2(&text_func("g", GLOBAL, 7), &caller_of("g")).unwrap());
    assert_eq!(sec_of(&out, symbol(&out, "g")), ".text");
}

#[test]
fn unresolved_externs_stay_undefined() {
    let out = parse(&link(&[("a.o", &caller_of("g").bytes())]).unwrap());
    assert!(symbol(&out, "g").is_undef());
}

#[test]
fn extern_without_btf_is_an_error() {
    let mut t = caller_of("g");
    t.btf = None;
    let e = link(&[("a.o", &t.bytes())]).unwrap_err();
    assert!(
        e.to_string().contains("extern symbol \"g\" needs BTF"),
        "{e}"
    );
}

/// An object with `.rodata` (8 bytes) and a program `name` in `sec` loading `.rodata`+4
/// through the section symbol, then calling its static `.text` function `helper` through
/// the `.text` section symbol (imm = 0 - 1 + 1... as clang does for offset 0).
fn rodata_user(name: &str, sec: &str, rodata: u8) -> T {
    let mut t = T::default();
    let prog = t.sec(sec, &code(&[&ld_imm64(4), &call(-1), &EXIT]));
    let text = t.sec(".text", &code(&[&MOV_R0_0, &EXIT]));
    let ro = t.sec(".rodata", &[rodata; 8]);
    let ro_sym = t.sym("", LOCAL, SECTION, Some(ro), 0, 0);
    let text_sym = t.sym("", LOCAL, SECTION, Some(text), 0, 0);
    t.sym("helper", LOCAL, FUNC, Some(text), 0, 16);
    t.sym(name, GLOBAL, FUNC, Some(prog), 0, 32);
    t.rel(prog, 0, ro_sym, R_BPF_64_64);
    t.rel(prog, 16, text_sym, R_BPF_64_32);
    t
}

fn imm(o: &Input, sec: &str, off: usize) -> i32 {
    let s = &o.sections[o.section_by_name(sec).unwrap()].data;
    i32::from_le_bytes(s[off + 4..off + 8].try_into().unwrap())
}

#[test]
fn section_symbol_relocations_are_rebased_to_the_piece_offset() {
    let a = rodata_user("pa", "xdp", 0xaa);
    let b = rodata_user("pb", "xdp", 0xbb);
    let out = parse(&link2(&a, &b).unwrap());
    // a's xdp is 32 bytes; b's program follows.
    assert_eq!(symbol(&out, "pb").value, 32);
    // ld_imm64 against .rodata: a's keeps 4, b's gets + 8 (a's .rodata size).
    assert_eq!(imm(&out, "xdp", 0), 4);
    assert_eq!(imm(&out, "xdp", 32), 12);
    // call against .text: a's keeps -1, b's gets + 16 / 8 = 2 instructions.
    assert_eq!(imm(&out, "xdp", 16), -1);
    assert_eq!(imm(&out, "xdp", 48), 1);
    let ro = &out.sections[out.section_by_name(".rodata").unwrap()];
    assert_eq!(ro.data, [[0xaa; 8], [0xbb; 8]].concat());
    // Relocation offsets moved with the code, against one .text/.rodata section symbol.
    let rs = out
        .rels
        .iter()
        .find(|r| out.sections[r.target].name == "xdp")
        .unwrap();
    let offs: Vec<u64> = rs.rels.iter().map(|r| r.offset).collect();
    assert_eq!(offs, [0, 16, 32, 48]);
    assert_eq!(rs.rels[0].sym, rs.rels[2].sym);
    assert_eq!(rs.rels[1].sym, rs.rels[3].sym);
    // Static `helper`s stay apart, one per object, in .text at 0 and 16.
    let helpers: Vec<u64> = out
        .symbols
        .iter()
        .filter(|s| s.name == "helper")
        .map(|s| {
            assert_eq!(s.bind(), LOCAL);
            s.value
        })
        .collect();
    assert_eq!(helpers, [0, 16]);
    // Locals come before globals in the symbol table.
    let first_global = out.symbols.iter().position(|s| s.bind() != LOCAL).unwrap();
    assert!(
        out.symbols[first_global..]
            .iter()
            .all(|s| s.bind() != LOCAL)
    );
}

#[test]
fn sections_are_aligned_when_concatenated() {
    // As libbpf does: each piece starts at the larger of the two alignments.
    let mut a = T::default();
    let d = a.sec(".data", &[1; 3]);
    a.secs[d].align = 1;
    let mut b = T::default();
    let d = b.sec(".data", &[2; 4]);
    b.secs[d].align = 4;
    let out = parse(&link2(&a, &b).unwrap());
    let s = &out.sections[out.section_by_name(".data").unwrap()];
    assert_eq!(s.data, [1, 1, 1, 0, 2, 2, 2, 2]);
    assert_eq!(s.align, 4);
    let mut a = T::default();
    a.sec(".data", &[1; 3]); // align 8
    let out = parse(&link2(&a, &b).unwrap());
    let s = &out.sections[out.section_by_name(".data").unwrap()];
    assert_eq!(
        s.data,
        [1, 1, 1, 0, 0, 0, 0, 0, 2, 2, 2, 2],
        "b's align-4 piece at 8"
    );
    assert_eq!(s.align, 8);
}

fn licensed(text: &[u8]) -> T {
    let mut t = T::default();
    let l = t.sec("license", text);
    t.sym("LICENSE", GLOBAL, OBJECT, Some(l), 0, text.len() as u64);
    t
}

#[test]
fn license_appears_once_and_must_be_identical() {
    let out = parse(&link2(&licensed(b"GPL\0"), &licensed(b"GPL\0")).unwrap());
    assert_eq!(
        out.sections[out.section_by_name("license").unwrap()].data,
        b"GPL\0"
    );
    let e = link2(&licensed(b"GPL\0"), &licensed(b"MIT\0")).unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("\"license\"") && msg.contains("\"GPL\" vs \"MIT\""),
        "{msg}"
    );
}

/// `.data` with one u32 or u64 variable `name` (BTF VAR of `linkage`), or an extern.
fn data_var(name: &str, size: u32, linkage: u32) -> T {
    let mut t = T::default();
    let mut b = BtfBuilder::new();
    let ty = if size == 4 {
        b.add_int("unsigned int", 4, 0)
    } else {
        b.add_int("unsigned long long", 8, 0)
    };
    let var = b.add_var(name, ty, linkage);
    if linkage == VAR_GLOBAL_EXTERN {
        t.sym(name, GLOBAL, NOTYPE, None, 0, 0);
        b.add_datasec(".extern", 0, &[(var, 0, size)]);
    } else {
        let d = t.sec(".data", &vec![0x11; size as usize]);
        t.sym(name, GLOBAL, OBJECT, Some(d), 0, u64::from(size));
        b.add_datasec(".data", 0, &[(var, 0, size)]);
    }
    t.btf = Some(b.build());
    t
}

#[test]
fn mismatched_extern_variable_type_is_an_error_naming_both_objects() {
    let e = link2(
        &data_var("v", 4, VAR_GLOBAL_EXTERN),
        &data_var("v", 8, VAR_GLOBAL_ALLOCATED),
    )
    .unwrap_err();
    match &e {
        Error::TypeMismatch {
            symbol,
            first,
            second,
            reason,
            ..
        } => {
            assert_eq!(
                (symbol.as_str(), first.as_str(), second.as_str()),
                ("v", "a.o", "b.o")
            );
            assert!(reason.contains("size 4 vs 8"), "{reason}");
        }
        other => panic!("{other}"),
    }
    // Matching types link, and the extern's VAR becomes the definition's.
    let out = parse(
        &link2(
            &data_var("v", 8, VAR_GLOBAL_EXTERN),
            &data_var("v", 8, VAR_GLOBAL_ALLOCATED),
        )
        .unwrap(),
    );
    let btf = out_btf(&out);
    let vars: Vec<_> = btf
        .find_all_by_name("v")
        .filter(|&id| btf.kind(id).unwrap() == Kind::Var)
        .collect();
    assert_eq!(vars.len(), 1);
    let Type::Var(v) = btf.type_by_id(vars[0]).unwrap() else {
        panic!()
    };
    assert_eq!(v.linkage, VAR_GLOBAL_ALLOCATED);
    // The extern's `.extern` DATASEC is gone with it.
    assert!(btf.datasec_by_name(".extern").unwrap().is_none());
}

#[test]
fn mismatched_extern_function_prototype_is_an_error() {
    let mut def = text_func("g", GLOBAL, 7);
    let mut b = BtfBuilder::new();
    let int = b.add_int("int", 4, INT_SIGNED);
    let proto = b.add_func_proto(int, &[("x", int), ("y", int)]);
    b.add_func("g", proto, LINKAGE_GLOBAL);
    def.btf = Some(b.build());
    let e = link2(&caller_of("g"), &def).unwrap_err();
    assert!(e.to_string().contains("1 parameters vs 2"), "{e}");
}

#[test]
fn datasec_variables_move_with_their_section_piece() {
    let a = data_var("x", 8, VAR_GLOBAL_ALLOCATED);
    let b = data_var("y", 4, VAR_GLOBAL_ALLOCATED);
    let out = parse(&link2(&a, &b).unwrap());
    assert_eq!(symbol(&out, "y").value, 8);
    let btf = out_btf(&out);
    let (_, ds) = btf.datasec_by_name(".data").unwrap().unwrap();
    assert_eq!(ds.size, 12);
    let vars: Vec<(String, u32, u32)> = ds
        .vars()
        .map(|v| {
            let v = v.unwrap();
            (btf.type_name(v.ty).unwrap().to_string(), v.offset, v.size)
        })
        .collect();
    assert_eq!(vars, [("x".into(), 0, 8), ("y".into(), 8, 4)]);
}

/// BTF with `struct node { struct node *next; int v; }`, `struct point {int x, y}` and a
/// static FUNC `fname` (each object's own copy).
fn shared_types(fname: &str) -> Vec<u8> {
    let mut b = BtfBuilder::new();
    let int = b.add_int("int", 4, INT_SIGNED);
    let node_ptr = b.add_ptr(3);
    let node = b.add_struct("node", 16, &[("next", node_ptr, 0), ("v", int, 64)]);
    assert_eq!(node, 3);
    b.add_struct("point", 8, &[("x", int, 0), ("y", int, 32)]);
    let proto = b.add_func_proto(int, &[("n", node_ptr)]);
    b.add_func(fname, proto, LINKAGE_STATIC);
    b.build()
}

#[test]
fn identical_types_are_merged_including_self_referential_ones() {
    let mut a = text_func("fa", GLOBAL, 1);
    a.btf = Some(shared_types("fa"));
    let mut b = text_func("fb", GLOBAL, 2);
    b.btf = Some(shared_types("fb"));
    let out = parse(&link2(&a, &b).unwrap());
    let btf = out_btf(&out);
    let count = |name: &str| btf.find_all_by_name(name).count();
    assert_eq!(count("int"), 1);
    assert_eq!(count("node"), 1);
    assert_eq!(count("point"), 1);
    assert_eq!((count("fa"), count("fb")), (1, 1));
    let ptrs = btf
        .types()
        .filter(|t| t.as_ref().is_ok_and(|t| t.1.kind() == Kind::Ptr))
        .count();
    assert_eq!(ptrs, 1, "one struct node *");
    let protos = btf
        .types()
        .filter(|t| t.as_ref().is_ok_and(|t| t.1.kind() == Kind::FuncProto))
        .count();
    assert_eq!(protos, 1);
    // A struct of the same name with other members is kept apart.
    let mut c = text_func("fc", GLOBAL, 3);
    let mut bb = BtfBuilder::new();
    let int = bb.add_int("int", 4, INT_SIGNED);
    bb.add_struct("point", 4, &[("x", int, 0)]);
    c.btf = Some(bb.build());
    let out = parse(&link(&[("a.o", &a.bytes()), ("c.o", &c.bytes())]).unwrap());
    let btf = out_btf(&out);
    assert_eq!(btf.find_all_by_name("point").count(), 2);
}

/// A `.maps` map `m` (ARRAY, max_entries) defined or extern.
fn map_obj(max_entries: u32, is_extern: bool) -> T {
    let mut t = T::default();
    let mut b = BtfBuilder::new();
    let int = b.add_int("int", 4, INT_SIGNED);
    let arr_t = b.add_array(int, int, 2);
    let p_t = b.add_ptr(arr_t);
    let arr_m = b.add_array(int, int, max_entries);
    let p_m = b.add_ptr(arr_m);
    let s = b.add_struct("", 16, &[("type", p_t, 0), ("max_entries", p_m, 64)]);
    let linkage = if is_extern {
        VAR_GLOBAL_EXTERN
    } else {
        VAR_GLOBAL_ALLOCATED
    };
    let var = b.add_var("m", s, linkage);
    b.add_datasec(".maps", 0, &[(var, 0, 16)]);
    if is_extern {
        t.sym("m", GLOBAL, NOTYPE, None, 0, 0);
    } else {
        let m = t.sec(".maps", &[0; 16]);
        t.sym("m", GLOBAL, OBJECT, Some(m), 0, 16);
    }
    t.btf = Some(b.build());
    t
}

#[test]
fn map_declared_in_two_objects_is_one_map_when_definitions_agree() {
    for (a, b) in [
        (map_obj(8, false), map_obj(8, true)),
        (map_obj(8, true), map_obj(8, false)),
    ] {
        let out = parse(&link2(&a, &b).unwrap());
        let m = symbol(&out, "m");
        assert_eq!((sec_of(&out, m), m.value), (".maps", 0));
        let btf = out_btf(&out);
        let (_, ds) = btf.datasec_by_name(".maps").unwrap().unwrap();
        assert_eq!((ds.size, ds.vlen()), (16, 1));
    }
}

#[test]
fn incompatible_map_definitions_name_the_field_and_both_objects() {
    let e = link2(&map_obj(8, false), &map_obj(16, true)).unwrap_err();
    match &e {
        Error::MapMismatch(m) => {
            assert_eq!(
                (
                    m.map.as_str(),
                    m.field.as_str(),
                    m.first.as_str(),
                    m.first_value.as_str()
                ),
                ("m", "max_entries", "a.o", "8")
            );
            assert_eq!((m.second.as_str(), m.second_value.as_str()), ("b.o", "16"));
        }
        other => panic!("{other}"),
    }
    assert_eq!(
        e.to_string(),
        "map \"m\": max_entries differs between \"a.o\" (8) and \"b.o\" (16)"
    );
}

/// A program `name` in section `xdp` of `n` instructions with func_info and line_info at 0.
fn prog_with_ext(name: &str, n: usize) -> T {
    let mut t = text_func(name, GLOBAL, 0);
    t.secs.clear();
    t.syms.clear();
    let mut body = vec![0u8; 0];
    for _ in 0..n - 1 {
        body.extend_from_slice(&MOV_R0_0);
    }
    body.extend_from_slice(&EXIT);
    let p = t.sec("xdp", &body);
    t.sym(name, GLOBAL, FUNC, Some(p), 0, body.len() as u64);
    let mut b = BtfBuilder::new();
    let int = b.add_int("int", 4, INT_SIGNED);
    let proto = b.add_func_proto(int, &[]);
    let f = b.add_func(name, proto, LINKAGE_GLOBAL);
    let sec = b.add_str("xdp");
    let file = b.add_str("x.c");
    let line = b.add_str(name);
    let mut e = BtfExtBuilder::new();
    e.add_func_info(
        sec,
        &[FuncInfo {
            insn_off: 0,
            type_id: f,
        }],
    );
    let li = LineInfo {
        insn_off: 8,
        file_name_off: file,
        line_off: line,
        line: 3,
        col: 2,
    };
    e.add_line_info(sec, &[li]);
    t.btf = Some(b.build());
    t.ext = Some(e.build(Endian::Little));
    t
}

#[test]
fn btf_ext_records_are_rebased_to_the_new_section_offsets() {
    let out = parse(&link2(&prog_with_ext("p1", 3), &prog_with_ext("p2", 2)).unwrap());
    let btf = out_btf(&out);
    let ext = BtfExt::parse(out.btf_ext.as_ref().unwrap(), &btf).unwrap();
    let fi: Vec<(String, u32, String)> = ext
        .func_info()
        .flat_map(|s| {
            let s = s.unwrap();
            s.records()
                .map(|r| r.unwrap())
                .map(|r| {
                    (
                        s.section.to_string(),
                        r.insn_off,
                        btf.type_name(r.type_id).unwrap().to_string(),
                    )
                })
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(
        fi,
        [
            ("xdp".into(), 0, "p1".into()),
            ("xdp".into(), 24, "p2".into())
        ]
    );
    let li: Vec<(u32, String)> = ext
        .line_info()
        .flat_map(|s| s.unwrap().records().map(|r| r.unwrap()).collect::<Vec<_>>())
        .map(|r| (r.insn_off, btf.str_at(r.line_off).unwrap().to_string()))
        .collect();
    assert_eq!(li, [(8, "p1".into()), (32, "p2".into())]);
}

#[test]
fn weak_function_that_loses_drops_the_relocations_in_its_dead_code() {
    // a: weak f in .text that loads .rodata (a relocation inside the dead code).
    let mut a = T::default();
    let text = a.sec(".text", &code(&[&ld_imm64(0), &EXIT]));
    let ro = a.sec(".rodata", &[1; 8]);
    let ro_sym = a.sym("", LOCAL, SECTION, Some(ro), 0, 0);
    a.sym("f", WEAK, FUNC, Some(text), 0, 24);
    a.rel(text, 0, ro_sym, R_BPF_64_64);
    a.btf = Some(func_btf(&[("f", LINKAGE_GLOBAL)]));
    let out = parse(&link2(&a, &text_func("f", GLOBAL, 2)).unwrap());
    assert_eq!(symbol(&out, "f").value, 24);
    assert!(
        out.rels
            .iter()
            .all(|r| out.sections[r.target].name != ".text"),
        "the dead weak f's relocation is dropped"
    );
}

#[test]
fn mismatched_section_flags_are_an_error() {
    let mut a = T::default();
    a.sec(".data", &[0; 8]);
    let mut b = T::default();
    let d = b.sec(".data", &[0; 8]);
    b.secs[d].flags = u64::from(elf::SHF_ALLOC);
    let e = link2(&a, &b).unwrap_err();
    assert!(matches!(e, Error::SectionMismatch { .. }), "{e}");
}

#[test]
fn empty_linker_is_an_error() {
    assert!(matches!(Linker::new().finish(), Err(Error::Empty)));
}

fn fixture(name: &str) -> Vec<u8> {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures")
        .join(name);
    std::fs::read(p).unwrap()
}

#[test]
fn truncated_objects_are_errors_naming_the_object_never_panics() {
    let a = fixture("link_a.bpf.o");
    for len in 0..a.len() {
        let mut l = Linker::new();
        if let Err(e) = l.add("cut.o", &a[..len]) {
            assert!(e.to_string().contains("\"cut.o\""), "{e}");
        } else {
            // Some cuts only lose trailing bytes nobody reads; the link must still not panic.
            let _ = l.finish();
        }
    }
    let e = Linker::new().add("x.o", &a[..63]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "object \"x.o\": bad ELF: truncated: 63 bytes, the ELF64 header needs 64"
    );
}

#[test]
fn corrupted_bytes_never_panic() {
    let a = fixture("link_a.bpf.o");
    let b = fixture("link_b.bpf.o");
    // Every byte position, two flips: parse and link must return, not panic.
    for pos in 0..a.len() {
        for flip in [0xff, 0x01] {
            let mut c = a.clone();
            c[pos] ^= flip;
            let mut l = Linker::new();
            if l.add("bad.o", &c).is_ok() && l.add("b.o", &b).is_ok() {
                let _ = l.finish();
            }
        }
    }
}

#[test]
fn not_bpf_or_not_relocatable_is_rejected() {
    let mut a = fixture("link_a.bpf.o");
    a[18] = 62; // e_machine = x86-64
    let e = Linker::new().add("x.o", &a).unwrap_err();
    assert!(e.to_string().contains("e_machine 62"), "{e}");
    let mut a = fixture("link_a.bpf.o");
    a[16] = 2; // e_type = ET_EXEC
    let e = Linker::new().add("x.o", &a).unwrap_err();
    assert!(e.to_string().contains("e_type 2"), "{e}");
}

/// An object declaring `.kconfig` extern `CONFIG_X` (u64) and using it from `prog_name`.
fn kconfig_user(prog_name: &str) -> T {
    let mut t = T::default();
    let prog = t.sec("xdp", &code(&[&ld_imm64(0), &EXIT]));
    t.sym(prog_name, GLOBAL, FUNC, Some(prog), 0, 24);
    let k = t.sym("CONFIG_X", GLOBAL, NOTYPE, None, 0, 0);
    t.rel(prog, 0, k, R_BPF_64_64);
    let mut b = BtfBuilder::new();
    let u64t = b.add_int("unsigned long long", 8, 0);
    let var = b.add_var("CONFIG_X", u64t, VAR_GLOBAL_EXTERN);
    b.add_datasec(".kconfig", 0, &[(var, 0, 8)]);
    t.btf = Some(b.build());
    t
}

#[test]
fn the_same_kconfig_extern_in_two_objects_stays_one_extern() {
    let out = parse(&link2(&kconfig_user("p1"), &kconfig_user("p2")).unwrap());
    let k: Vec<&InSymbol> = out
        .symbols
        .iter()
        .filter(|s| s.name == "CONFIG_X")
        .collect();
    assert_eq!(k.len(), 1);
    assert!(k[0].is_undef());
    let rs = out
        .rels
        .iter()
        .find(|r| out.sections[r.target].name == "xdp")
        .unwrap();
    assert!(
        rs.rels
            .iter()
            .all(|r| out.symbols[r.sym as usize].name == "CONFIG_X")
    );
    assert_eq!(rs.rels.len(), 2);
    let btf = out_btf(&out);
    let (_, ds) = btf.datasec_by_name(".kconfig").unwrap().unwrap();
    assert_eq!(ds.vlen(), 1, "one CONFIG_X in .kconfig");
}

#[test]
fn the_duplicate_license_leaves_no_variable_behind() {
    let with_btf = |var: &str| {
        let mut t = T::default();
        let l = t.sec("license", b"GPL\0");
        t.sym(var, GLOBAL, OBJECT, Some(l), 0, 4);
        let mut b = BtfBuilder::new();
        let ch = b.add_int("char", 1, 0);
        let int = b.add_int("int", 4, 0);
        let arr = b.add_array(ch, int, 4);
        let v = b.add_var(var, arr, VAR_GLOBAL_ALLOCATED);
        b.add_datasec("license", 0, &[(v, 0, 4)]);
        t.btf = Some(b.build());
        t
    };
    let out = parse(&link2(&with_btf("LICENSE"), &with_btf("_license")).unwrap());
    assert!(out.symbols.iter().all(|s| s.name != "_license"));
    let btf = out_btf(&out);
    assert_eq!(btf.find_all_by_name("_license").count(), 0);
    let (_, ds) = btf.datasec_by_name("license").unwrap().unwrap();
    assert_eq!((ds.size, ds.vlen()), (4, 1));
}

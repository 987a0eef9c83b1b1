//! Golden tests for the C dump: hand-built BTF for each construct, dumped and compared
//! exactly with `tests/golden/c_dump/<case>.h`. When clang-19 is installed each golden
//! header is also compiled for the BPF target together with `_Static_assert`s of the
//! BTF's sizes, so a golden file cannot bless a layout clang disagrees with.
//!
//! `OXBPF_BLESS=1 cargo test -p oxbpf-btf --test c_dump_golden` rewrites the files;
//! review the diff.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use oxbpf_btf::{
    Btf, BtfBuilder, CDumpError, CDumpOptions, INT_BOOL, INT_SIGNED, Kind, LINKAGE_GLOBAL, TypeId,
    VAR_GLOBAL_ALLOCATED, dump_c, dump_c_type,
};

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/c_dump")
}

fn bare() -> CDumpOptions {
    CDumpOptions {
        header_guard: false,
        preserve_access_index: false,
        type_tags: true,
    }
}

/// Compile `header` plus size assertions of `checks` (C type, BTF type id) with clang-19.
fn compiles(name: &str, header: &str, btf: &Btf<'_>, checks: &[(&str, TypeId)]) {
    if Command::new("clang-19").arg("--version").output().is_err() {
        eprintln!("{name}: clang-19 not installed, compile check skipped");
        return;
    }
    let mut src = header.to_string();
    for &(cty, id) in checks {
        let size = btf.resolve_size(id).expect("size");
        let _ = writeln!(
            src,
            "_Static_assert(sizeof({cty}) == {size}, \"sizeof({cty})\");"
        );
    }
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("c_dump_golden");
    std::fs::create_dir_all(&dir).expect("tmp dir");
    let file = dir.join(format!("{name}.c"));
    std::fs::write(&file, &src).expect("write");
    let out = Command::new("clang-19")
        .args(["-target", "bpf", "-Wall", "-Werror", "-fsyntax-only"])
        .arg(&file)
        .output()
        .expect("run clang-19");
    assert!(
        out.status.success(),
        "{name}: clang-19 rejects the dump:\n{src}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Dump `b` with `opts`, compare with the golden file, compile-check `checks`.
fn golden(name: &str, b: &BtfBuilder, opts: &CDumpOptions, checks: &[(&str, TypeId)]) {
    let blob = b.build();
    let btf = Btf::parse(&blob).expect("builder output parses");
    let mut text = String::new();
    dump_c(&btf, &mut text, opts).unwrap_or_else(|e| panic!("{name}: {e}"));
    check_golden(name, &text);
    compiles(name, &text, &btf, checks);
}

fn check_golden(name: &str, text: &str) {
    let path = golden_dir().join(format!("{name}.h"));
    if std::env::var_os("OXBPF_BLESS").is_some() {
        std::fs::create_dir_all(golden_dir()).expect("golden dir");
        std::fs::write(&path, text).expect("write golden");
        return;
    }
    let want = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (run with OXBPF_BLESS=1)", path.display()));
    assert_eq!(text, want, "{name}: dump differs from {}", path.display());
}

#[test]
fn header_with_guard_and_pragma() {
    let mut b = BtfBuilder::new();
    let int = b.add_int("int", 4, INT_SIGNED);
    let point = b.add_struct("point", 8, &[("x", int, 0), ("y", int, 32)]);
    let t = b.add_typedef("point_t", point);
    golden(
        "header",
        &b,
        &CDumpOptions::default(),
        &[("struct point", point), ("point_t", t)],
    );
}

#[test]
fn forward_declarations_break_pointer_cycles() {
    let mut b = BtfBuilder::new();
    let int = b.add_int("int", 4, INT_SIGNED);
    // struct list { struct list *next; int v; }
    let list_ptr = b.next_id() + 1;
    let list = b.add_struct("list", 16, &[("next", list_ptr, 0), ("v", int, 64)]);
    b.add_ptr(list);
    // struct a { struct b *b; }; struct b { struct a a; struct a *pa; };
    let pb = b.next_id() + 1;
    let a = b.add_struct("a", 8, &[("b", pb, 0)]);
    b.add_ptr(a + 3);
    let pa = b.add_ptr(a);
    let sb = b.add_struct("b", 16, &[("a", a, 0), ("pa", pa, 64)]);
    // A pointer to a struct declared but never defined.
    let fwd = b.add_fwd("opaque", false);
    let pfwd = b.add_ptr(fwd);
    let ufwd = b.add_fwd("opaque_u", true);
    let pufwd = b.add_ptr(ufwd);
    let holder = b.add_struct("holder", 16, &[("o", pfwd, 0), ("u", pufwd, 64)]);
    golden(
        "forward_decls",
        &b,
        &bare(),
        &[
            ("struct list", list),
            ("struct a", a),
            ("struct b", sb),
            ("struct holder", holder),
        ],
    );
}

#[test]
fn anonymous_types_are_inlined() {
    let mut b = BtfBuilder::new();
    let int = b.add_int("int", 4, INT_SIGNED);
    let uint = b.add_int("unsigned int", 4, 0);
    let ch = b.add_int("char", 1, 0);
    let long = b.add_int("long unsigned int", 8, 0);
    let inner = b.add_struct("", 8, &[("lo", uint, 0), ("hi", uint, 32)]);
    let un = b.add_union("", 8, &[("raw", long, 0), ("", inner, 0)]);
    let state = b.add_enum("", 4, false, &[("ST_IDLE", 0), ("ST_BUSY", 1)]);
    let anon_ptr_target = b.add_struct("", 4, &[("c", ch, 0)]);
    let anon_ptr = b.add_ptr(anon_ptr_target);
    let outer = b.add_struct(
        "outer",
        32,
        &[
            ("kind", int, 0),
            ("", un, 64),
            ("state", state, 128),
            ("p", anon_ptr, 192),
        ],
    );
    // A top-level anonymous enum nothing refers to: global constants.
    b.add_enum("", 4, false, &[("MAX_THINGS", 16)]);
    golden("anonymous", &b, &bare(), &[("struct outer", outer)]);
}

#[test]
fn bitfields_and_padding() {
    let mut b = BtfBuilder::new();
    let uint = b.add_int("unsigned int", 4, 0);
    let int = b.add_int("int", 4, INT_SIGNED);
    let u8_ = b.add_int("unsigned char", 1, 0);
    let long = b.add_int("long int", 8, INT_SIGNED);
    let flags = b.add_composite_bitfields(
        false,
        "flags",
        8,
        &[
            ("a", uint, 0, 3),
            ("b", uint, 3, 5),
            // a 4-bit gap
            ("c", int, 12, 7),
            ("d", u8_, 32, 0),
            ("e", uint, 40, 1),
        ],
    );
    // Gap before a naturally aligned member and explicit trailing space.
    let gaps = b.add_struct("gaps", 24, &[("c", u8_, 0), ("l", long, 64)]);
    golden(
        "bitfields",
        &b,
        &bare(),
        &[("struct flags", flags), ("struct gaps", gaps)],
    );
}

#[test]
fn packed_and_aligned_layouts() {
    let mut b = BtfBuilder::new();
    let int = b.add_int("int", 4, INT_SIGNED);
    let ch = b.add_int("char", 1, INT_SIGNED);
    let short = b.add_int("short int", 2, INT_SIGNED);
    // int at offset 1: packed.
    let p1 = b.add_struct("packed_fields", 5, &[("c", ch, 0), ("i", int, 8)]);
    // size not a multiple of the alignment: packed.
    let p2 = b.add_struct("packed_trailing", 6, &[("i", int, 0), ("s", short, 32)]);
    // trailing space beyond natural size: aligned(64).
    let a64 = b.add_struct("cacheline", 64, &[("x", int, 0)]);
    // embedded over-aligned struct.
    let emb = b.add_struct("embeds", 128, &[("c", ch, 0), ("line", a64, 512)]);
    // a packed struct holding the over-aligned one at an odd offset.
    let odd = b.add_struct("odd", 65, &[("c", ch, 0), ("line", a64, 8)]);
    // union larger than its members: aligned(16); memberless union with a size.
    let u16_ = b.add_union("wide", 16, &[("i", int, 0)]);
    let empty = b.add_union("", 8, &[]);
    let t = b.add_typedef("opaque_arg", empty);
    golden(
        "packed_aligned",
        &b,
        &bare(),
        &[
            ("struct packed_fields", p1),
            ("struct packed_trailing", p2),
            ("struct cacheline", a64),
            ("struct embeds", emb),
            ("struct odd", odd),
            ("union wide", u16_),
            ("opaque_arg", t),
        ],
    );
}

#[test]
fn arrays_of_every_shape() {
    let mut b = BtfBuilder::new();
    let int = b.add_int("int", 4, INT_SIGNED);
    let idx = b.add_int("__ARRAY_SIZE_TYPE__", 4, 0);
    let ch = b.add_int("char", 1, INT_SIGNED);
    let a4 = b.add_array(int, idx, 4);
    let row = b.add_array(int, idx, 3);
    let m = b.add_array(row, idx, 2);
    let pint = b.add_ptr(int);
    let ptrs = b.add_array(pint, idx, 2);
    let parr = b.add_ptr(a4);
    let flex = b.add_array(ch, idx, 0);
    let s = b.add_struct(
        "arrays",
        72,
        &[
            ("a", a4, 0),
            ("m", m, 128),
            ("ptrs", ptrs, 320),
            ("parr", parr, 448),
            ("len", int, 512),
            ("data", flex, 544),
        ],
    );
    let t = b.add_typedef("matrix_t", m);
    golden(
        "arrays",
        &b,
        &bare(),
        &[("struct arrays", s), ("matrix_t", t)],
    );
}

#[test]
fn function_pointers() {
    let mut b = BtfBuilder::new();
    let int = b.add_int("int", 4, INT_SIGNED);
    let ch = b.add_int("char", 1, INT_SIGNED);
    let cch = b.add_const(ch);
    let pcch = b.add_ptr(cch);
    let inode = b.add_fwd("inode", false);
    let pinode = b.add_ptr(inode);
    let open = b.add_func_proto(int, &[("", pinode), ("flags", int)]);
    let popen = b.add_ptr(open);
    let release = b.add_func_proto(0, &[]);
    let prelease = b.add_ptr(release);
    let printf = b.add_func_proto(int, &[("fmt", pcch), ("", 0)]);
    let pprintf = b.add_ptr(printf);
    // int (*(*get_handler)(int))(char const *, ...): returns a function pointer.
    let get = b.add_func_proto(pprintf, &[("", int)]);
    let pget = b.add_ptr(get);
    let ops = b.add_struct(
        "ops",
        32,
        &[
            ("open", popen, 0),
            ("release", prelease, 64),
            ("printf", pprintf, 128),
            ("get_handler", pget, 192),
        ],
    );
    let fn_t = b.add_typedef("handler_fn", printf);
    let pfn = b.add_ptr(fn_t);
    let table = b.add_array(pfn, int, 3);
    let cb = b.add_typedef("handler_table", table);
    golden(
        "func_ptrs",
        &b,
        &bare(),
        &[("struct ops", ops), ("handler_table", cb)],
    );
}

#[test]
fn enums_of_every_width() {
    let mut b = BtfBuilder::new();
    let signed = b.add_enum("sign", 4, true, &[("NEG", -1), ("ZERO", 0)]);
    let unsigned = b.add_enum("big32", 4, false, &[("TOP", 0xffff_ffff)]);
    let byte = b.add_enum("small", 1, false, &[("S_A", 1), ("S_B", 2)]);
    let half = b.add_enum("half", 2, false, &[("H_A", 1)]);
    let wide = b.add_enum64("wide", 8, false, &[("W_BIG", 1 << 40), ("W_ONE", 1)]);
    let wide_small = b.add_enum64("wide_small", 8, false, &[("WS_ONE", 1)]);
    let wide_neg = b.add_enum64("wide_neg", 8, true, &[("WN_MIN", i128::from(i64::MIN))]);
    let word = b.add_enum("word32", 8, false, &[("WORD_A", 3)]);
    let fwd = b.add_enum("declared_only", 4, false, &[]);
    let pfwd = b.add_ptr(fwd);
    let holder = b.add_struct("enum_user", 8, &[("p", pfwd, 0)]);
    golden(
        "enums",
        &b,
        &bare(),
        &[
            ("enum sign", signed),
            ("enum big32", unsigned),
            ("enum small", byte),
            ("enum half", half),
            ("enum wide", wide),
            ("enum wide_small", wide_small),
            ("enum wide_neg", wide_neg),
            ("enum word32", word),
            ("struct enum_user", holder),
        ],
    );
}

#[test]
fn qualifiers_in_place() {
    let mut b = BtfBuilder::new();
    let int = b.add_int("int", 4, INT_SIGNED);
    let ch = b.add_int("char", 1, INT_SIGNED);
    let cch = b.add_const(ch);
    let pcch = b.add_ptr(cch); // const char *
    let pch = b.add_ptr(ch);
    let cpch = b.add_const(pch); // char * const
    let vint = b.add_volatile(int); // volatile int
    let pint = b.add_ptr(int);
    let rpint = b.add_restrict(pint); // int * restrict
    let cvint = b.add_const(vint); // const volatile int
    let pcvint = b.add_ptr(cvint);
    let cpcvint = b.add_const(pcvint); // const volatile int * const
    let s = b.add_struct(
        "quals",
        48,
        &[
            ("name", pcch, 0),
            ("buf", cpch, 64),
            ("flag", vint, 128),
            ("p", rpint, 192),
            ("cv", cpcvint, 256),
            ("ci", cvint, 320),
        ],
    );
    golden("qualifiers", &b, &bare(), &[("struct quals", s)]);
}

/// `struct task { struct task __tag *parent; void __attribute__((address_space(1))) *mem; }`
fn tagged() -> (BtfBuilder, TypeId) {
    let mut b = BtfBuilder::new();
    let task_tag = b.next_id() + 1;
    let ptr_parent = b.add_ptr(task_tag);
    let tag = b.add_type_tag("rcu", task_tag + 3);
    assert_eq!(tag, task_tag);
    // A kind_flag type tag is an attribute spelled as is.
    let space = b.add_raw("address_space(1)", Kind::TypeTag, true, 0, 0, &[]);
    let pspace = b.add_ptr(space);
    let task = b.add_struct(
        "task",
        16,
        &[("parent", ptr_parent, 0), ("mem", pspace, 64)],
    );
    (b, task)
}

#[test]
fn type_tags_as_attributes() {
    let (b, task) = tagged();
    golden("type_tags", &b, &bare(), &[("struct task", task)]);
}

#[test]
fn type_tags_dropped_when_asked() {
    let (b, task) = tagged();
    let opts = CDumpOptions {
        type_tags: false,
        ..bare()
    };
    golden("type_tags_off", &b, &opts, &[("struct task", task)]);
}

#[test]
fn name_collisions_get_suffixes() {
    let mut b = BtfBuilder::new();
    let int = b.add_int("int", 4, INT_SIGNED);
    let long = b.add_int("long int", 8, INT_SIGNED);
    let d1 = b.add_struct("dup", 4, &[("x", int, 0)]);
    let d2 = b.add_struct("dup", 8, &[("y", long, 0)]);
    // A typedef lives in another namespace: no suffix.
    let t = b.add_typedef("dup", d2);
    // An enum tag shares the struct namespace; enumerators share the typedef one.
    let e = b.add_enum("dup", 4, false, &[("dup", 0), ("OTHER", 1)]);
    let e2 = b.add_enum("other_enum", 4, false, &[("OTHER", 2)]);
    let user = b.add_struct("user", 24, &[("a", d1, 0), ("b", d2, 64), ("c", t, 128)]);
    golden(
        "collisions",
        &b,
        &bare(),
        &[
            ("struct dup", d1),
            ("struct dup___2", d2),
            ("enum dup___3", e),
            ("enum other_enum", e2),
            ("struct user", user),
        ],
    );
}

#[test]
fn floats_bools_and_int128() {
    let mut b = BtfBuilder::new();
    let dbl = b.add_float("double", 8);
    let flt = b.add_float("float", 4);
    let i128_ = b.add_int("__int128", 16, INT_SIGNED);
    let u128_ = b.add_int("__int128 unsigned", 16, 0);
    let boolean = b.add_int("_Bool", 1, INT_BOOL);
    let odd_name = b.add_int("u8", 1, 0);
    let s = b.add_struct(
        "numbers",
        48,
        &[
            ("d", dbl, 0),
            ("f", flt, 64),
            ("ok", boolean, 96),
            ("raw", odd_name, 104),
            ("x", i128_, 128),
            ("y", u128_, 256),
        ],
    );
    // __int128 at offset 8 only fits a packed struct on the BPF target.
    let p = b.add_struct("int128_at_8", 24, &[("tag", dbl, 0), ("v", i128_, 64)]);
    golden(
        "numbers",
        &b,
        &bare(),
        &[("struct numbers", s), ("struct int128_at_8", p)],
    );
}

#[test]
fn funcs_vars_datasecs_and_decl_tags_are_skipped() {
    let mut b = BtfBuilder::new();
    let int = b.add_int("int", 4, INT_SIGNED);
    let proto = b.add_func_proto(int, &[("x", int)]);
    let f = b.add_func("do_thing", proto, LINKAGE_GLOBAL);
    b.add_decl_tag("bpf_kfunc", f, -1);
    let v = b.add_var("counter", int, VAR_GLOBAL_ALLOCATED);
    b.add_datasec(".data", 4, &[(v, 0, 4)]);
    let s = b.add_struct("kept", 4, &[("x", int, 0)]);
    b.add_decl_tag("tagged", s, 0);
    golden("skipped", &b, &bare(), &[("struct kept", s)]);
}

#[test]
fn one_type_with_its_dependencies() {
    let mut b = BtfBuilder::new();
    let int = b.add_int("int", 4, INT_SIGNED);
    let u = b.add_int("unsigned int", 4, 0);
    let u32_ = b.add_typedef("__u32", u);
    let unrelated = b.add_struct("unrelated", 4, &[("z", int, 0)]);
    let _ = unrelated;
    let inner = b.add_struct("inner", 4, &[("v", u32_, 0)]);
    let next = b.next_id() + 1;
    let outer = b.add_struct("outer", 16, &[("in", inner, 0), ("next", next, 64)]);
    b.add_ptr(outer);
    let blob = b.build();
    let btf = Btf::parse(&blob).expect("parse");
    let mut text = String::new();
    dump_c_type(&btf, outer, &mut text, &bare()).expect("dump outer");
    check_golden("one_type", &text);
    assert!(!text.contains("unrelated"), "{text}");
    compiles("one_type", &text, &btf, &[("struct outer", outer)]);
}

#[test]
fn struct_containing_itself_by_value_is_an_error() {
    let mut b = BtfBuilder::new();
    let me = b.next_id();
    b.add_struct("ouroboros", 8, &[("self", me, 0)]);
    let blob = b.build();
    let btf = Btf::parse(&blob).expect("parse");
    let err = dump_c(&btf, &mut String::new(), &bare()).unwrap_err();
    assert!(
        matches!(err, CDumpError::Cycle { id, .. } if id == me),
        "{err}"
    );
    assert!(err.to_string().contains("ouroboros"), "{err}");
}

#[test]
fn modifier_loop_is_an_error_not_a_hang() {
    let mut b = BtfBuilder::new();
    let c1 = b.next_id();
    b.add_const(c1 + 1);
    b.add_volatile(c1);
    let s = b.add_struct("s", 4, &[("x", c1, 0)]);
    let blob = b.build();
    let btf = Btf::parse(&blob).expect("parse");
    let err = dump_c(&btf, &mut String::new(), &bare()).unwrap_err();
    assert!(matches!(err, CDumpError::TooDeep { .. }), "{err}");
    let err = dump_c_type(&btf, s, &mut String::new(), &bare()).unwrap_err();
    assert!(matches!(err, CDumpError::TooDeep { .. }), "{err}");
}

#[test]
fn out_of_range_ids_are_errors() {
    let mut b = BtfBuilder::new();
    b.add_struct("s", 4, &[("x", 99, 0)]);
    let blob = b.build();
    let btf = Btf::parse(&blob).expect("parse");
    let err = dump_c(&btf, &mut String::new(), &bare()).unwrap_err();
    assert!(err.to_string().contains("99"), "{err}");
    let err = dump_c_type(&btf, 7, &mut String::new(), &bare()).unwrap_err();
    assert!(err.to_string().contains('7'), "{err}");
}

//! The C dump of the host's kernel BTF (`/sys/kernel/btf/vmlinux`): it compiles with
//! `clang-19 -target bpf`, clang agrees with the BTF on every size and member offset, and
//! it declares the same named types as `bpftool btf dump ... format c`.
//!
//! The layout proof is a generated C file that includes the dump and holds
//! `_Static_assert(sizeof(struct X) == N, ...)` and
//! `_Static_assert(__builtin_offsetof(struct X, m) == off, ...)` for every struct/union
//! whose name is unique (types renamed `X___2` by the dump are left out), for every
//! non-bitfield named member (members of anonymous inner structs/unions too), and
//! `sizeof` for every uniquely named enum and sized typedef, N and off taken from the BTF.
//!
//! Each test skips, saying why, when the kernel has no BTF or clang-19/bpftool is missing.

use std::collections::{BTreeSet, HashMap};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use oxbpf_btf::{Btf, CDumpOptions, Type, TypeId, dump_c};

const VMLINUX: &str = "/sys/kernel/btf/vmlinux";

fn vmlinux() -> Option<Vec<u8>> {
    match std::fs::read(VMLINUX) {
        Ok(b) => Some(b),
        Err(e) => {
            eprintln!("skipped: cannot read {VMLINUX}: {e}");
            None
        }
    }
}

fn have(tool: &str) -> bool {
    let ok = Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!("skipped: {tool} is not installed");
    }
    ok
}

fn work_dir() -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join("c_dump_vmlinux");
    std::fs::create_dir_all(&d).expect("create work dir");
    d
}

fn dump(btf: &Btf<'_>) -> String {
    let mut out = String::new();
    dump_c(btf, &mut out, &CDumpOptions::default()).expect("dump vmlinux as C");
    out
}

/// Names used by exactly one type in their C namespace, so the dump did not rename them.
struct Unique<'a> {
    tags: HashMap<&'a str, u32>,
    idents: HashMap<&'a str, u32>,
}

impl<'a> Unique<'a> {
    fn new(btf: &Btf<'a>) -> Unique<'a> {
        let mut u = Unique {
            tags: HashMap::new(),
            idents: HashMap::new(),
        };
        for t in btf.types() {
            let (_, t) = t.expect("type");
            match t {
                Type::Struct(c) | Type::Union(c) if !c.name.is_empty() => {
                    *u.tags.entry(c.name).or_default() += 1
                }
                Type::Enum(e) | Type::Enum64(e) => {
                    if !e.name.is_empty() && e.vlen() > 0 {
                        *u.tags.entry(e.name).or_default() += 1;
                    }
                    for v in e.values() {
                        *u.idents.entry(v.expect("enum value").0).or_default() += 1;
                    }
                }
                Type::Typedef(r) => *u.idents.entry(r.name).or_default() += 1,
                _ => {}
            }
        }
        u
    }

    fn tag(&self, name: &str) -> bool {
        self.tags.get(name) == Some(&1)
    }

    fn ident(&self, name: &str) -> bool {
        self.idents.get(name) == Some(&1)
    }
}

/// `offsetof` assertions for the named non-bitfield members of `id`, descending into
/// anonymous struct/union members (C11 lets offsetof name their fields directly).
fn member_asserts(
    btf: &Btf<'_>,
    out: &mut String,
    what: &str,
    id: TypeId,
    base_bits: u32,
    count: &mut usize,
) {
    let (Type::Struct(c) | Type::Union(c)) = btf.type_by_id(id).expect("type") else {
        return;
    };
    for m in c.members() {
        let m = m.expect("member");
        let off = base_bits + m.bit_offset;
        if m.name.is_empty() {
            let inner = btf.skip_mods_and_typedefs(m.ty).expect("member type");
            member_asserts(btf, out, what, inner, off, count);
            continue;
        }
        if m.bitfield_size != 0 {
            continue;
        }
        assert_eq!(
            off % 8,
            0,
            "{what}.{}: byte-aligned non-bitfield member",
            m.name
        );
        let _ = writeln!(
            out,
            "_Static_assert(__builtin_offsetof({what}, {}) == {}, \"{what}.{}\");",
            m.name,
            off / 8,
            m.name
        );
        *count += 1;
    }
}

/// Whether `id` holds `__builtin_va_list` by value: its size is the target's (8 bytes on
/// BPF, 24 on x86-64), so such types cannot match the kernel's layout (bpftool's dump
/// has the same limit).
fn holds_va_list(btf: &Btf<'_>, id: TypeId, depth: u32) -> bool {
    if depth > 64 {
        return false;
    }
    match btf.type_by_id(id).expect("type") {
        Type::Typedef(r) if r.name == "__builtin_va_list" => true,
        Type::Typedef(r) | Type::Const(r) | Type::Volatile(r) | Type::Restrict(r) => {
            holds_va_list(btf, r.ty, depth + 1)
        }
        Type::TypeTag(r) => holds_va_list(btf, r.ty, depth + 1),
        Type::Array(a) => holds_va_list(btf, a.elem, depth + 1),
        Type::Struct(c) | Type::Union(c) => c
            .members()
            .any(|m| holds_va_list(btf, m.expect("member").ty, depth + 1)),
        _ => false,
    }
}

/// The assertion file: (text, number of assertions).
fn layout_asserts(btf: &Btf<'_>) -> (String, usize) {
    let unique = Unique::new(btf);
    let mut out = String::from("#include \"vmlinux.h\"\n\n");
    let mut n = 0;
    for t in btf.types() {
        let (id, t) = t.expect("type");
        let what = match t {
            Type::Struct(c) if unique.tag(c.name) => format!("struct {}", c.name),
            Type::Union(c) if unique.tag(c.name) => format!("union {}", c.name),
            Type::Enum(e) | Type::Enum64(e) if e.vlen() > 0 && unique.tag(e.name) => {
                format!("enum {}", e.name)
            }
            Type::Typedef(r)
                if unique.ident(r.name)
                    && r.name != "__builtin_va_list"
                    && !matches!(
                        btf.type_by_id(btf.skip_mods_and_typedefs(id).expect("typedef")),
                        Ok(Type::FuncProto(_) | Type::Void)
                    ) =>
            {
                r.name.to_string()
            }
            _ => continue,
        };
        let Ok(size) = btf.resolve_size(id) else {
            continue;
        };
        if holds_va_list(btf, id, 0) {
            continue;
        }
        let _ = writeln!(
            out,
            "_Static_assert(sizeof({what}) == {size}, \"sizeof({what})\");"
        );
        n += 1;
        if matches!(t, Type::Struct(_) | Type::Union(_)) {
            member_asserts(btf, &mut out, &what, id, 0, &mut n);
        }
    }
    (out, n)
}

#[test]
fn vmlinux_dump_compiles_and_matches_btf_layouts() {
    let Some(bytes) = vmlinux() else { return };
    if !have("clang-19") {
        return;
    }
    let btf = Btf::parse(&bytes).expect("parse vmlinux");
    let header = dump(&btf);
    let dir = work_dir();
    std::fs::write(dir.join("vmlinux.h"), &header).expect("write vmlinux.h");
    let (asserts, n) = layout_asserts(&btf);
    assert!(n > 50_000, "only {n} layout assertions generated");
    std::fs::write(dir.join("layout.c"), asserts).expect("write layout.c");
    let out = Command::new("clang-19")
        .args(["-target", "bpf", "-O2", "-ferror-limit=50", "-c"])
        .arg(dir.join("layout.c"))
        .arg("-o")
        .arg(dir.join("layout.o"))
        .output()
        .expect("run clang-19");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "clang-19 rejected the dump or a layout assertion ({n} assertions; files in {}):\n{}",
        dir.display(),
        stderr.lines().take(80).collect::<Vec<_>>().join("\n")
    );
    eprintln!("{n} layout assertions hold");
}

/// Top-level declarations of a C header: `struct|union|enum NAME` (definitions and
/// forward declarations) and the number of typedefs.
fn declared(header: &str) -> (BTreeSet<String>, BTreeSet<String>, usize) {
    let mut defined = BTreeSet::new();
    let mut fwd = BTreeSet::new();
    let mut typedefs = 0;
    for line in header.lines() {
        if line.starts_with("typedef ") {
            typedefs += 1;
            continue;
        }
        for kw in ["struct ", "union ", "enum "] {
            let Some(rest) = line.strip_prefix(kw) else {
                continue;
            };
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if name.is_empty() {
                continue;
            }
            let key = format!("{kw}{name}");
            if rest[name.len()..].starts_with(" {") {
                defined.insert(key);
            } else if rest[name.len()..].starts_with(';') {
                fwd.insert(key);
            }
        }
    }
    (defined, fwd, typedefs)
}

#[test]
fn vmlinux_dump_declares_what_bpftool_declares() {
    let Some(bytes) = vmlinux() else { return };
    if !have("bpftool") {
        return;
    }
    let btf = Btf::parse(&bytes).expect("parse vmlinux");
    let ours = dump(&btf);
    let out = Command::new("bpftool")
        .args(["btf", "dump", "file", VMLINUX, "format", "c"])
        .output()
        .expect("run bpftool");
    assert!(out.status.success(), "bpftool failed");
    let theirs = String::from_utf8(out.stdout).expect("bpftool prints UTF-8");
    let (our_defs, our_fwds, our_typedefs) = declared(&ours);
    let (their_defs, their_fwds, their_typedefs) = declared(&theirs);
    let missing: Vec<_> = their_defs.difference(&our_defs).take(20).collect();
    let extra: Vec<_> = our_defs.difference(&their_defs).take(20).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "defined types differ from bpftool's: missing {missing:?}, extra {extra:?}"
    );
    assert_eq!(our_fwds, their_fwds, "forward declarations differ");
    assert_eq!(our_typedefs, their_typedefs, "typedef count differs");
    assert!(
        our_defs.len() > 10_000,
        "only {} definitions",
        our_defs.len()
    );
}

#[test]
fn vmlinux_dump_of_one_type_compiles() {
    let Some(bytes) = vmlinux() else { return };
    if !have("clang-19") {
        return;
    }
    let btf = Btf::parse(&bytes).expect("parse vmlinux");
    let id = btf
        .find_by_name("task_struct", oxbpf_btf::Kind::Struct)
        .expect("lookup")
        .expect("task_struct in vmlinux");
    let mut text = String::new();
    oxbpf_btf::dump_c_type(&btf, id, &mut text, &CDumpOptions::default()).expect("dump");
    let size = btf.resolve_size(id).expect("size");
    let _ = writeln!(
        text,
        "_Static_assert(sizeof(struct task_struct) == {size}, \"task_struct\");"
    );
    let dir = work_dir();
    std::fs::write(dir.join("task_struct.c"), &text).expect("write");
    let out = Command::new("clang-19")
        .args(["-target", "bpf", "-fsyntax-only"])
        .arg(dir.join("task_struct.c"))
        .output()
        .expect("run clang-19");
    assert!(
        out.status.success(),
        "task_struct with dependencies does not compile:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

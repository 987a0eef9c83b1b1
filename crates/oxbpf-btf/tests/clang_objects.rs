//! Real inputs: BPF objects compiled by clang at test time (skipped if clang-19 is missing).

use std::path::PathBuf;
use std::process::Command;

use object::{Object, ObjectSection, ObjectSymbol};
use oxbpf_btf::{Btf, BtfExt, Kind, Type, fixup_for_load};

const SRC: &str = r#"
typedef unsigned int u32;
typedef unsigned long long u64;
struct task { int pid; int tgid; char comm[16]; } __attribute__((preserve_access_index));

int counter = 1;
u64 hits;
u64 more_hits;
const volatile u32 limit = 5;

static __attribute__((noinline)) int helper(int x) { return x * 2 + counter; }

__attribute__((section("tracepoint/syscalls/sys_enter_getpid"), used))
int prog(struct task *t)
{
    hits++;
    more_hits += 2;
    if (counter > limit)
        return 0;
    return helper(t->pid) + t->tgid;
}

char _license[] __attribute__((section("license"), used)) = "GPL";
"#;

/// Compile SRC into a temp dir; `None` (with the reason printed) if clang-19 is unavailable.
fn compile() -> Option<Vec<u8>> {
    if Command::new("clang-19").arg("--version").output().is_err() {
        eprintln!("skipping: clang-19 not found on PATH");
        return None;
    }
    let dir: PathBuf = std::env::temp_dir().join(format!("oxbpf-btf-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let c = dir.join("prog.c");
    let o = dir.join("prog.o");
    std::fs::write(&c, SRC).unwrap();
    let out = Command::new("clang-19")
        .args(["-target", "bpf", "-g", "-O2", "-c"])
        .arg(&c)
        .arg("-o")
        .arg(&o)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "clang failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bytes = std::fs::read(&o).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    Some(bytes)
}

fn section<'a>(obj: &object::File<'a>, name: &str) -> &'a [u8] {
    obj.section_by_name(name)
        .unwrap_or_else(|| panic!("no {name} section"))
        .data()
        .unwrap()
}

#[test]
fn clang_object_btf_and_ext_parse_and_fix_up() {
    let Some(elf) = compile() else { return };
    let obj = object::File::parse(&*elf).unwrap();
    let btf_bytes = section(&obj, ".BTF");
    let ext_bytes = section(&obj, ".BTF.ext");

    let btf = Btf::parse(btf_bytes).unwrap();
    for t in btf.types() {
        t.unwrap();
    }
    let prog = btf
        .find_by_name("prog", Kind::Func)
        .unwrap()
        .expect("FUNC prog");
    let helper = btf
        .find_by_name("helper", Kind::Func)
        .unwrap()
        .expect("FUNC helper");
    let Type::Func(f) = btf.type_by_id(prog).unwrap() else {
        panic!()
    };
    let Type::FuncProto(p) = btf.type_by_id(f.proto).unwrap() else {
        panic!()
    };
    let params: Vec<_> = p.params().map(Result::unwrap).collect();
    assert_eq!(params.len(), 1);
    assert_eq!(params[0].0, "t");
    let task = btf
        .find_by_name("task", Kind::Struct)
        .unwrap()
        .expect("struct task");
    assert_eq!(btf.resolve_size(task).unwrap(), 24);
    let Type::Struct(s) = btf.type_by_id(task).unwrap() else {
        panic!()
    };
    let m: Vec<_> = s
        .members()
        .map(|m| m.map(|m| (m.name, m.bit_offset)))
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(m, [("pid", 0), ("tgid", 32), ("comm", 64)]);

    // .BTF.ext: func_info per section, line_info with the source file, CO-RE relocations.
    let ext = BtfExt::parse(ext_bytes, &btf).unwrap();
    let mut func_secs = Vec::new();
    for s in ext.func_info() {
        let s = s.unwrap();
        let ids: Vec<u32> = s.records().map(|r| r.unwrap().type_id).collect();
        func_secs.push((s.section, ids));
    }
    assert!(
        func_secs.contains(&("tracepoint/syscalls/sys_enter_getpid", vec![prog])),
        "{func_secs:?}"
    );
    assert!(
        func_secs.contains(&(".text", vec![helper])),
        "{func_secs:?}"
    );
    let mut lines = 0;
    for s in ext.line_info() {
        for l in s.unwrap().records() {
            let l = l.unwrap();
            assert!(btf.str_at(l.file_name_off).unwrap().ends_with("prog.c"));
            assert!(l.line > 0 && l.line < 40, "line {}", l.line);
            assert_eq!(l.insn_off % 8, 0);
            lines += 1;
        }
    }
    assert!(lines >= 3, "only {lines} line_info records");
    let mut access = Vec::new();
    for s in ext.core_relos() {
        let s = s.unwrap();
        assert_eq!(s.section, "tracepoint/syscalls/sys_enter_getpid");
        for r in s.records() {
            let r = r.unwrap();
            assert_eq!(r.type_id, task);
            access.push(btf.str_at(r.access_str_off).unwrap());
        }
    }
    access.sort();
    assert_eq!(access, ["0:0", "0:1"]);

    // fixup_for_load with the object's own section sizes and symbol values.
    let (_, orig_bss) = btf.datasec_by_name(".bss").unwrap().unwrap();
    assert_eq!(orig_bss.size, 0, "clang leaves DATASEC sizes to the loader");
    let size_of = |name: &str| obj.section_by_name(name).map(|s| s.size() as u32);
    let sym_value = |sec: &str, var: &str| {
        obj.symbols()
            .find(|s| {
                s.name() == Ok(var)
                    && s.section_index()
                        .and_then(|i| obj.section_by_index(i).ok())
                        .and_then(|s| s.name().ok().map(|n| n == sec))
                        == Some(true)
            })
            .map(|s| s.address() as u32)
    };
    let fixed = fixup_for_load(&btf, &size_of, &sym_value).unwrap();
    let fixed = Btf::parse(&fixed).unwrap();
    for name in [".data", ".bss", ".rodata"] {
        let (_, d) = fixed
            .datasec_by_name(name)
            .unwrap()
            .unwrap_or_else(|| panic!("{name}"));
        assert_eq!(Some(d.size), size_of(name), "{name} size");
        let vars: Vec<_> = d.vars().map(Result::unwrap).collect();
        assert!(
            vars.windows(2)
                .all(|w| w[0].offset + w[0].size <= w[1].offset),
            "{name}: {vars:?}"
        );
        for v in vars {
            let var_name = fixed.type_name(v.ty).unwrap();
            assert_eq!(
                Some(v.offset),
                sym_value(name, var_name),
                "{name}/{var_name}"
            );
        }
    }
    let (_, bss) = fixed.datasec_by_name(".bss").unwrap().unwrap();
    assert_eq!(bss.vlen(), 2);
}

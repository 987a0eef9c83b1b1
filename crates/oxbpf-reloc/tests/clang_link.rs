//! Links a real clang-19 object end to end. Skipped (with the reason printed) without clang-19.

use std::path::PathBuf;
use std::process::Command;

use oxbpf_asm::PSEUDO_FUNC;
use oxbpf_obj::{ObjectSpec, RelocTarget};
use oxbpf_reloc::{link_program, resolve_maps};

const SRC: &str = r#"
#include "mini.h"
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, __u64);
} counts SEC(".maps");
__u64 counter = 1;
__u32 hits;
static __noinline int add(int a) { return a + counter; }
__noinline int twice(int a) { return add(a) * 2; }
static int cb(__u32 i, void *ctx) { hits++; return 0; }
SEC("tracepoint/syscalls/sys_enter_openat")
int on_open(void *ctx) {
	__u32 k = 0;
	__u64 *v = bpf_map_lookup_elem(&counts, &k);
	if (v) *v = twice(3);
	bpf_loop(4, cb, 0, 0);
	return 0;
}
char LICENSE[] SEC("license") = "GPL";
"#;

fn compile() -> Option<Vec<u8>> {
    compile_src(SRC, "p")
}

fn compile_src(src: &str, name: &str) -> Option<Vec<u8>> {
    if !Command::new("clang-19")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        eprintln!("skipping: clang-19 is not installed");
        return None;
    }
    let dir = std::env::temp_dir().join(format!("oxbpf-reloc-test-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let include = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../oxbpf-obj/tests/bpf");
    std::fs::write(dir.join("p.c"), src).unwrap();
    let out = Command::new("clang-19")
        .args(["-target", "bpf", "-g", "-O2", "-c"])
        .arg("-I")
        .arg(&include)
        .arg(dir.join("p.c"))
        .arg("-o")
        .arg(dir.join("p.o"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bytes = std::fs::read(dir.join("p.o")).unwrap();
    std::fs::remove_dir_all(&dir).ok();
    Some(bytes)
}

#[test]
fn links_a_clang_object_with_subprograms_callbacks_and_ext_info() {
    let Some(bytes) = compile() else { return };
    let spec = ObjectSpec::from_bytes(&bytes).unwrap();
    let idx = spec
        .programs
        .iter()
        .position(|p| p.name == "on_open")
        .unwrap();
    let mut linked = link_program(&spec, idx).unwrap();

    let names: Vec<&str> = linked.functions.iter().map(|f| f.0.as_str()).collect();
    assert_eq!(names, ["on_open", "twice", "cb", "add"]);
    let start = |n: &str| linked.functions.iter().find(|f| f.0 == n).unwrap().1;
    let len = |n: &str| {
        spec.subprograms
            .iter()
            .find(|s| s.name == n)
            .unwrap()
            .insns
            .len()
    };
    assert_eq!(start("twice"), spec.programs[idx].insns.len());
    assert_eq!(start("cb"), start("twice") + len("twice"));
    assert_eq!(linked.insns.len(), start("add") + len("add"));

    // Every bpf-to-bpf call and callback lands on a function start.
    let starts: Vec<usize> = linked.functions.iter().map(|f| f.1).collect();
    let mut i = 0;
    while i < linked.insns.len() {
        let insn = linked.insns[i];
        if insn.is_pseudo_call() || insn.is_pseudo_func() {
            let target = (i as i64 + 1 + i64::from(insn.imm)) as usize;
            assert!(starts.contains(&target), "insn {i} targets {target}");
        }
        i += if insn.is_ld_imm64() { 2 } else { 1 };
    }
    assert!(
        linked
            .insns
            .iter()
            .any(|i| i.is_ld_imm64() && i.src == PSEUDO_FUNC)
    );

    // func_info: one per function at its start; line_info sorted and within the program.
    let fi: Vec<u32> = linked.func_info.iter().map(|f| f.insn).collect();
    assert_eq!(fi, starts.iter().map(|&s| s as u32).collect::<Vec<_>>());
    let btf = spec.btf().unwrap().unwrap();
    for (f, (name, _)) in linked.func_info.iter().zip(&linked.functions) {
        assert_eq!(btf.type_name(f.type_id).unwrap(), name);
    }
    assert!(!linked.line_info.is_empty());
    assert!(linked.line_info.windows(2).all(|w| w[0].insn <= w[1].insn));
    assert!(
        linked
            .line_info
            .iter()
            .all(|l| (l.insn as usize) < linked.insns.len())
    );
    for &s in &starts {
        assert!(
            linked.line_info.iter().any(|l| l.insn as usize == s),
            "no line at {s}"
        );
    }

    // Map and data relocations moved with their functions, then patched.
    let counts = spec.maps.iter().position(|m| m.name == "counts").unwrap();
    let data = spec.maps.iter().position(|m| m.name == ".data").unwrap();
    let bss = spec.maps.iter().position(|m| m.name == ".bss").unwrap();
    let targets: Vec<&RelocTarget> = linked.relocations.iter().map(|r| &r.target).collect();
    assert!(targets.contains(&&RelocTarget::Map { map: counts }));
    let add_data = linked
        .relocations
        .iter()
        .find(|r| {
            r.target
                == RelocTarget::Data {
                    map: data,
                    offset: 0,
                }
        })
        .unwrap();
    assert!(add_data.insn >= start("add"));
    let cb_bss = linked
        .relocations
        .iter()
        .find(|r| {
            r.target
                == RelocTarget::Data {
                    map: bss,
                    offset: 0,
                }
        })
        .unwrap();
    assert!((start("cb")..start("add")).contains(&cb_bss.insn));
    let add_data_insn = add_data.insn;
    resolve_maps(&mut linked, &|m| Some(100 + m as i32)).unwrap();
    assert_eq!(linked.insns[add_data_insn].imm, 100 + data as i32);
}

#[test]
fn an_exception_callback_nothing_calls_is_linked_with_its_program() {
    let src = r#"
#include "mini.h"
__noinline int on_exc(__u64 cookie) { return cookie + 7; }
__attribute__((btf_decl_tag("exception_callback:on_exc")))
SEC("tc") int with_cb(void *ctx) { return 0; }
SEC("tc") int without_cb(void *ctx) { return 1; }
char LICENSE[] SEC("license") = "GPL";
"#;
    let Some(bytes) = compile_src(src, "exc") else {
        return;
    };
    let spec = ObjectSpec::from_bytes(&bytes).unwrap();
    let index = |name: &str| spec.programs.iter().position(|p| p.name == name).unwrap();
    let with = link_program(&spec, index("with_cb")).unwrap();
    let names: Vec<&str> = with.functions.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["with_cb", "on_exc"]);
    // The callback is a function of the program for the verifier: it has a func_info.
    assert_eq!(with.func_info.len(), 2);
    assert_eq!(with.func_info[1].insn as usize, with.functions[1].1);
    let without = link_program(&spec, index("without_cb")).unwrap();
    assert_eq!(without.functions.len(), 1);
}

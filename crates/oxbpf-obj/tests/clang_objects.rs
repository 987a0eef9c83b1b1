//! Real objects: C snippets compiled with `clang-19 -target bpf -g -O2` at test time and
//! read back. Skipped (with the reason printed) when clang-19 is not installed.

mod common;

use std::path::PathBuf;

use oxbpf_obj::{
    AttachPoint, AttachType, DataSection, MapKind, MapType, ObjectSpec, ProgramType, RelocTarget,
};

use common::{clang_available, compile_c};

/// Compiles `src` (which may include tests/bpf/mini.h) and returns the object's bytes.
fn compile(src: &str) -> Vec<u8> {
    let include = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/bpf");
    let include = include.to_str().expect("UTF-8 path");
    compile_c("obj", src, &["-g", "-O2", "-I", include])
}

const TRACE: &str = r#"
#include "mini.h"
struct event { __u32 pid; __u64 ts; char comm[16]; };
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 128);
	__type(key, __u32);
	__type(value, struct event);
} events SEC(".maps");
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} rb SEC(".maps");
const volatile __u32 target_pid = 0;
__u64 counter = 1;
__u32 hits;
static __noinline int add(int a) { return a + counter; }
__noinline int twice(int a) { return add(a) * 2; }
static int cb(__u32 i, void *ctx) { hits++; return 0; }
SEC("tracepoint/syscalls/sys_enter_openat")
int on_open(void *ctx) {
	__u32 k = target_pid;
	struct event *e = bpf_map_lookup_elem(&events, &k);
	if (e) e->pid = twice(3);
	bpf_loop(4, cb, 0, 0);
	bpf_trace_printk("hi %d\n", 7, k);
	return 0;
}
SEC("?xdp") int drop(void *ctx) { return add(1); }
char LICENSE[] SEC("license") = "Dual MIT/GPL";
"#;

#[test]
fn reads_programs_maps_and_relocations_of_a_tracing_object() {
    if !clang_available() {
        return;
    }
    let spec = ObjectSpec::from_bytes(&compile(TRACE)).unwrap();
    assert_eq!(spec.license, "Dual MIT/GPL");
    assert_eq!(spec.kernel_version, None);
    assert!(spec.btf.is_some() && spec.btf_ext.is_some());

    // Programs and their section definitions.
    let names: Vec<&str> = spec.programs.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["on_open", "drop"]);
    let on_open = spec.program("on_open").unwrap();
    assert_eq!(on_open.section, "tracepoint/syscalls/sys_enter_openat");
    assert_eq!(on_open.def.prog_type, ProgramType::TRACEPOINT);
    assert_eq!(
        on_open.def.attach,
        AttachPoint::Tracepoint {
            category: "syscalls".into(),
            name: "sys_enter_openat".into()
        }
    );
    assert!(on_open.def.autoload);
    let drop = spec.program("drop").unwrap();
    assert_eq!(drop.def.prog_type, ProgramType::XDP);
    assert_eq!(drop.def.expected_attach_type, Some(AttachType::XDP));
    assert!(!drop.def.autoload);

    // Subprograms: all .text functions, static or global.
    let mut subs: Vec<&str> = spec.subprograms.iter().map(|p| p.name.as_str()).collect();
    subs.sort();
    assert_eq!(subs, ["add", "cb", "twice"]);
    for s in &spec.subprograms {
        assert_eq!(s.section, ".text");
        assert_eq!(s.def.prog_type, ProgramType::UNSPEC);
        assert_eq!(s.insns.len() * 8 % 8, 0);
    }

    // Maps: BTF maps first, then data maps.
    let events = spec.map("events").unwrap();
    assert_eq!(events.kind, MapKind::Btf);
    assert_eq!(events.map_type, MapType::HASH);
    assert_eq!(events.max_entries, 128);
    assert_eq!(events.key_size, 4);
    assert_eq!(events.value_size, 32);
    assert!(events.btf_key_type.is_some() && events.btf_value_type.is_some());
    let btf = spec.btf().unwrap().unwrap();
    assert_eq!(
        btf.type_name(events.btf_value_type.unwrap()).unwrap(),
        "event"
    );
    let rb = spec.map("rb").unwrap();
    assert_eq!(rb.map_type, MapType::RINGBUF);
    assert_eq!(rb.max_entries, 4096);
    assert_eq!((rb.key_size, rb.value_size), (0, 0));
    assert_eq!(&spec.maps[0].name, "events");
    assert_eq!(&spec.maps[1].name, "rb");

    let rodata = spec.map(".rodata").unwrap();
    assert_eq!(rodata.kind, MapKind::Data(DataSection::Rodata));
    assert_eq!(rodata.map_type, MapType::ARRAY);
    assert_eq!(
        (rodata.key_size, rodata.value_size, rodata.max_entries),
        (4, 4, 1)
    );
    assert_eq!(
        spec.map(".data").unwrap().data.as_deref(),
        Some(&1u64.to_le_bytes()[..])
    );
    assert_eq!(
        spec.map(".bss").unwrap().data.as_deref(),
        Some(&[0u8; 4][..])
    );
    let strs = spec.map(".rodata.str1.1").unwrap();
    assert_eq!(strs.data.as_deref(), Some(&b"hi %d\n\0"[..]));

    // Globals.
    let tp = spec
        .globals
        .iter()
        .find(|g| g.name == "target_pid")
        .unwrap();
    assert_eq!(spec.maps[tp.map].name, ".rodata");
    assert_eq!((tp.offset, tp.size), (0, 4));
    assert!(tp.btf_type.is_some());
    assert!(spec.globals.iter().any(|g| g.name == "counter"));
    assert!(spec.globals.iter().any(|g| g.name == "hits"));
    assert!(!spec.globals.iter().any(|g| g.name == "LICENSE"));

    // Relocations of on_open, in instruction order.
    let idx = |n: &str| spec.maps.iter().position(|m| m.name == n).unwrap();
    let r = &on_open.relocations;
    let targets: Vec<(usize, &RelocTarget)> = r.iter().map(|r| (r.insn, &r.target)).collect();
    let text_off = |n: &str| {
        spec.subprograms
            .iter()
            .find(|s| s.name == n)
            .unwrap()
            .section_offset
    };
    assert_eq!(
        targets,
        [
            (
                0,
                &RelocTarget::Data {
                    map: idx(".rodata"),
                    offset: 0
                }
            ),
            (6, &RelocTarget::Map { map: idx("events") }),
            (
                12,
                &RelocTarget::Call {
                    section: ".text".into(),
                    offset: text_off("twice")
                }
            ),
            (
                15,
                &RelocTarget::Func {
                    section: ".text".into(),
                    offset: text_off("cb")
                }
            ),
            (
                21,
                &RelocTarget::Data {
                    map: idx(".rodata.str1.1"),
                    offset: 0
                }
            ),
        ]
    );
    assert_eq!(r[1].symbol, "events");
    assert_eq!(r[4].symbol, ".rodata.str1.1");

    // drop calls the static `add` through a section-symbol relocation.
    assert_eq!(
        drop.relocations[0].target,
        RelocTarget::Call {
            section: ".text".into(),
            offset: text_off("add")
        }
    );
    // `twice` calls `add` pc-relatively: no relocation for that call.
    let twice = spec.subprograms.iter().find(|s| s.name == "twice").unwrap();
    assert!(twice.relocations.is_empty());
}

#[test]
fn data_offsets_combine_symbol_value_and_addend() {
    if !clang_available() {
        return;
    }
    // clang addresses static variables as `.data` section symbol + imm, and global ones as
    // their own symbol (value = offset in .data) + imm 0.
    let spec = ObjectSpec::from_bytes(&compile(
        r#"
#include "mini.h"
__u64 a = 1;
__u64 b[4] = {2, 3, 4, 5};
static __u64 c[4] = {2, 3, 4, 5};
static __u64 d = 7;
SEC("socket") int prog(void *ctx) { c[1]++; d++; return b[2] + a; }
char LICENSE[] SEC("license") = "GPL";
"#,
    ))
    .unwrap();
    let p = spec.program("prog").unwrap();
    assert_eq!(p.def.attach, AttachPoint::SocketFilter);
    let data = spec.maps.iter().position(|m| m.name == ".data").unwrap();
    let (a, b, d) = (
        spec.global("a").unwrap().offset,
        spec.global("b").unwrap().offset,
        spec.global("d").unwrap().offset,
    );
    assert_eq!((a, b, d), (0, 8, 0x30));
    let got: Vec<(&str, &RelocTarget)> = p
        .relocations
        .iter()
        .map(|r| (r.symbol.as_str(), &r.target))
        .collect();
    let data_at = |offset| RelocTarget::Data { map: data, offset };
    assert_eq!(
        got,
        [
            (".data", &data_at(0x28)), // c[1]: section symbol, imm 0x28
            (".data", &data_at(d)),    // d: section symbol, imm 0x30
            ("b", &data_at(b)),        // b: symbol value 8, imm 0
            ("a", &data_at(a)),
        ]
    );
}

#[test]
fn reads_legacy_maps_and_version() {
    if !clang_available() {
        return;
    }
    let spec = ObjectSpec::from_bytes(&compile(
        r#"
#include "mini.h"
struct bpf_map_def SEC("maps") counts = { .type = BPF_MAP_TYPE_ARRAY, .key_size = 4, .value_size = 8, .max_entries = 16 };
struct bpf_map_def SEC("maps") other = { .type = BPF_MAP_TYPE_HASH, .key_size = 8, .value_size = 2, .max_entries = 3, .map_flags = 1 };
SEC("kprobe/vfs_read") int probe(void *ctx) {
	__u32 k = 0;
	bpf_map_lookup_elem(&other, &k);
	return bpf_map_lookup_elem(&counts, &k) != 0;
}
__u32 _version SEC("version") = 0x060100;
char LICENSE[] SEC("license") = "GPL";
"#,
    ))
    .unwrap();
    assert_eq!(spec.kernel_version, Some(0x060100));
    let counts = spec.map("counts").unwrap();
    assert_eq!(counts.kind, MapKind::Legacy);
    assert_eq!(
        (
            counts.map_type,
            counts.key_size,
            counts.value_size,
            counts.max_entries,
            counts.flags
        ),
        (MapType::ARRAY, 4, 8, 16, 0)
    );
    let other = spec.map("other").unwrap();
    assert_eq!(
        (other.map_type, other.flags, other.max_entries),
        (MapType::HASH, 1, 3)
    );
    let p = spec.program("probe").unwrap();
    assert_eq!(
        p.def.attach,
        AttachPoint::Kprobe {
            func: "vfs_read".into(),
            offset: 0,
            retprobe: false
        }
    );
    let maps: Vec<&RelocTarget> = p.relocations.iter().map(|r| &r.target).collect();
    let i = |n: &str| spec.maps.iter().position(|m| m.name == n).unwrap();
    assert_eq!(
        maps,
        [
            &RelocTarget::Map { map: i("other") },
            &RelocTarget::Map { map: i("counts") }
        ]
    );
}

#[test]
fn extern_symbols_become_extern_relocations() {
    if !clang_available() {
        return;
    }
    let spec = ObjectSpec::from_bytes(&compile(
        r#"
#include "mini.h"
extern int LINUX_KERNEL_VERSION __attribute__((section(".kconfig"), weak));
extern void bpf_rcu_read_lock(void) __attribute__((section(".ksyms")));
SEC("tp_btf/sched_switch") int prog(void *ctx) { bpf_rcu_read_lock(); return LINUX_KERNEL_VERSION; }
char LICENSE[] SEC("license") = "GPL";
"#,
    ))
    .unwrap();
    let p = spec.program("prog").unwrap();
    assert_eq!(p.def.expected_attach_type, Some(AttachType::TRACE_RAW_TP));
    let names: Vec<&RelocTarget> = p.relocations.iter().map(|r| &r.target).collect();
    let index = |n: &str| spec.externs.iter().position(|e| e.name == n).unwrap();
    assert!(names.contains(&&RelocTarget::Extern {
        name: "LINUX_KERNEL_VERSION".into(),
        index: index("LINUX_KERNEL_VERSION"),
    }));
    assert!(names.contains(&&RelocTarget::Extern {
        name: "bpf_rcu_read_lock".into(),
        index: index("bpf_rcu_read_lock"),
    }));
    let kv = spec.extern_by_name("LINUX_KERNEL_VERSION").unwrap();
    assert!(kv.weak);
    assert!(matches!(
        kv.kind,
        oxbpf_obj::ExternKind::Kconfig(oxbpf_obj::KconfigExtern {
            ty: oxbpf_obj::KconfigType::Int,
            size: 4,
            offset: 0,
            ..
        })
    ));
    let kf = spec.extern_by_name("bpf_rcu_read_lock").unwrap();
    assert!(!kf.weak);
    assert!(matches!(kf.kind, oxbpf_obj::ExternKind::Kfunc { .. }));
    // The .kconfig map is synthesized, and the BTF completes for the kernel (it failed
    // with "no ELF section of that name" for .ksyms before).
    let m = &spec.maps[spec.kconfig_map().unwrap()];
    assert_eq!(m.value_size, 4);
    let btf = spec.btf_for_load().unwrap().unwrap();
    let btf = oxbpf_obj::oxbpf_btf::Btf::parse(&btf).unwrap();
    let (_, ks) = btf.datasec_by_name(".ksyms").unwrap().unwrap();
    assert_eq!(ks.size, 4);
}

#[test]
fn set_global_rewrites_rodata() {
    if !clang_available() {
        return;
    }
    let mut spec = ObjectSpec::from_bytes(&compile(TRACE)).unwrap();
    spec.set_global("target_pid", &42u32.to_le_bytes()).unwrap();
    assert_eq!(
        spec.map(".rodata").unwrap().data.as_deref(),
        Some(&42u32.to_le_bytes()[..])
    );
    let e = spec.set_global("target_pid", &[1, 2]).unwrap_err();
    assert!(e.to_string().contains("4 bytes"), "{e}");
    let e = spec.set_global("nope", &[1]).unwrap_err();
    assert!(e.to_string().contains("\"nope\""), "{e}");
}

#[test]
fn unknown_program_section_opens_without_a_program_type() {
    if !clang_available() {
        return;
    }
    let spec = ObjectSpec::from_bytes(&compile(
        r#"
#include "mini.h"
SEC("frobnicate/x") int prog(void *ctx) { return 0; }
SEC("?frob2") int off(void *ctx) { return 1; }
char LICENSE[] SEC("license") = "GPL";
"#,
    ))
    .unwrap();
    let prog = spec.programs.iter().find(|p| p.name == "prog").unwrap();
    assert_eq!(prog.section, "frobnicate/x");
    assert_eq!(prog.def.prog_type, oxbpf_obj::ProgramType::UNSPEC);
    assert!(prog.def.autoload);
    let off = spec.programs.iter().find(|p| p.name == "off").unwrap();
    assert!(!off.def.autoload);
}

#[test]
fn a_missing_license_is_the_empty_license_as_in_libbpf() {
    if !clang_available() {
        return;
    }
    let spec = ObjectSpec::from_bytes(&compile(
        r#"
#include "mini.h"
SEC("xdp") int prog(void *ctx) { return 2; }
"#,
    ))
    .unwrap();
    assert_eq!(spec.license, "");
    assert_eq!(spec.programs[0].name, "prog");
}

#[test]
fn hidden_global_functions_go_to_the_kernel_as_static_as_in_libbpf() {
    if !clang_available() {
        return;
    }
    let spec = ObjectSpec::from_bytes(&compile(
        r#"
#include "mini.h"
__attribute__((visibility("hidden"))) __noinline int helper_hidden(int *p) { return *p + 1; }
__noinline int helper_global(int *p) { return p ? *p : 0; }
SEC("xdp") int prog(void *ctx) { int v = 1; return helper_hidden(&v) + helper_global(&v); }
char LICENSE[] SEC("license") = "GPL";
"#,
    ))
    .unwrap();
    assert_eq!(spec.datasec_layout.hidden_funcs, ["helper_hidden"]);
    let linkage = |bytes: &[u8], name: &str| {
        let btf = oxbpf_btf::Btf::parse(bytes).unwrap();
        btf.types()
            .map(|t| t.unwrap().1)
            .find_map(|t| match t {
                oxbpf_btf::Type::Func(f) if f.name == name => Some(f.linkage),
                _ => None,
            })
            .unwrap_or_else(|| panic!("no FUNC {name}"))
    };
    // The object's own BTF keeps what clang wrote; the BTF for the kernel has the change.
    let own = spec.btf().unwrap().unwrap();
    assert_eq!(
        linkage(own.bytes(), "helper_hidden"),
        oxbpf_btf::LINKAGE_GLOBAL
    );
    let load = spec.btf_for_load().unwrap().unwrap();
    assert_eq!(linkage(&load, "helper_hidden"), oxbpf_btf::LINKAGE_STATIC);
    assert_eq!(linkage(&load, "helper_global"), oxbpf_btf::LINKAGE_GLOBAL);
    assert_eq!(linkage(&load, "prog"), oxbpf_btf::LINKAGE_GLOBAL);
}

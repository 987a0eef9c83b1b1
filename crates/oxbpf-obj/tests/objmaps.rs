//! Map-in-map and prog-array initial values, inner map templates, `__ulong` fields,
//! struct_ops variables and arena globals: C snippets compiled with clang-19 at test time
//! (skipped, with the reason printed, when it is not installed) and read back, plus the
//! errors for definitions that cannot work.

mod common;

use oxbpf_obj::{MapKind, MapSlot, MapType, ObjectSpec, RelocTarget};

use common::{clang_available, compile_c};

const HEADER: &str = r#"
typedef unsigned int __u32;
typedef unsigned long long __u64;
#define SEC(name) __attribute__((section(name), used))
#define __uint(name, val) int (*name)[val]
#define __type(name, val) typeof(val) *name
#define __array(name, val) typeof(val) *name[]
#define __ulong(name, val) enum { ___u_##name = val } name
struct sk;
char LICENSE[] SEC("license") = "GPL";
"#;

/// Compiles `src` (after [`HEADER`]) and returns the object's bytes.
fn compile(src: &str) -> Vec<u8> {
    compile_c(
        "objmaps",
        &format!("{HEADER}\n{src}"),
        &["-mcpu=v3", "-g", "-O2"],
    )
}

fn parse(src: &str) -> oxbpf_obj::Result<ObjectSpec> {
    ObjectSpec::from_bytes(&compile(src))
}

const INNER: &str = r#"
struct inner {
	__uint(type, 2);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
};
struct inner in_a SEC(".maps"), in_b SEC(".maps");
"#;

#[test]
fn map_in_map_has_inner_template_and_initial_slots() {
    if !clang_available() {
        return;
    }
    let spec = parse(&format!(
        r#"{INNER}
struct {{
	__uint(type, 12);
	__uint(max_entries, 4);
	__type(key, __u32);
	__uint(numa_node, 0);
	__ulong(map_extra, 0x123456789aULL);
	__array(values, struct inner);
}} outer SEC(".maps") = {{ .values = {{ [3] = &in_a, [1] = &in_b }} }};
"#
    ))
    .unwrap();
    let outer = spec.map("outer").unwrap();
    assert_eq!(outer.map_type, MapType::ARRAY_OF_MAPS);
    assert_eq!((outer.key_size, outer.value_size), (4, 4), "slots hold fds");
    assert_eq!(outer.numa_node, Some(0));
    assert_eq!(outer.map_extra, 0x12_3456_789a, "__ulong is a 64-bit enum");
    let inner = outer.inner.as_deref().unwrap();
    assert_eq!(inner.name, "outer.inner");
    assert_eq!(inner.map_type, MapType::ARRAY);
    assert_eq!(
        (inner.key_size, inner.value_size, inner.max_entries),
        (4, 8, 1)
    );
    let a = spec.maps.iter().position(|m| m.name == "in_a").unwrap();
    let b = spec.maps.iter().position(|m| m.name == "in_b").unwrap();
    assert_eq!(
        outer.initial_slots,
        vec![(1, MapSlot::Map(b)), (3, MapSlot::Map(a))],
        "sorted by index"
    );
    assert!(spec.map("in_a").unwrap().initial_slots.is_empty());
}

#[test]
fn prog_array_slots_name_entry_programs() {
    if !clang_available() {
        return;
    }
    let spec = parse(
        r#"
SEC("socket") int one(void *ctx) { return 1; }
SEC("socket") int two(void *ctx) { return 2; }
struct {
	__uint(type, 3);
	__uint(max_entries, 8);
	__uint(key_size, 4);
	__array(values, int (void *));
} jmp SEC(".maps") = { .values = { [0] = (void *)&two, [7] = (void *)&one } };
"#,
    )
    .unwrap();
    let jmp = spec.map("jmp").unwrap();
    assert_eq!(jmp.value_size, 4);
    assert!(jmp.inner.is_none());
    assert_eq!(
        jmp.initial_slots,
        vec![
            (0, MapSlot::Program("two".into())),
            (7, MapSlot::Program("one".into()))
        ]
    );
}

#[test]
fn rejects_slot_past_max_entries() {
    if !clang_available() {
        return;
    }
    let err = parse(&format!(
        r#"{INNER}
struct {{
	__uint(type, 13);
	__uint(max_entries, 2);
	__type(key, __u32);
	__array(values, struct inner);
}} outer SEC(".maps") = {{ .values = {{ [2] = &in_a }} }};
"#
    ))
    .unwrap_err()
    .to_string();
    assert!(err.contains("\"outer\""), "{err}");
    assert!(err.contains("slot 2 is past max_entries (2)"), "{err}");
}

#[test]
fn rejects_map_slot_pointing_at_a_non_map() {
    if !clang_available() {
        return;
    }
    let err = parse(&format!(
        r#"{INNER}
__u64 not_a_map = 1;
struct {{
	__uint(type, 12);
	__uint(max_entries, 2);
	__type(key, __u32);
	__array(values, struct inner);
}} outer SEC(".maps") = {{ .values = {{ [0] = (void *)&not_a_map }} }};
"#
    ))
    .unwrap_err()
    .to_string();
    assert!(err.contains("not_a_map"), "{err}");
    assert!(err.contains("not a map defined in .maps"), "{err}");
}

#[test]
fn rejects_prog_slot_pointing_at_a_subprogram() {
    if !clang_available() {
        return;
    }
    let err = parse(
        r#"
static __attribute__((noinline)) int helper(void *ctx) { return 3; }
SEC("socket") int entry(void *ctx) { return helper(ctx); }
struct {
	__uint(type, 3);
	__uint(max_entries, 2);
	__uint(key_size, 4);
	__array(values, int (void *));
} jmp SEC(".maps") = { .values = { [1] = (void *)&helper } };
"#,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("\"jmp\""), "{err}");
    assert!(err.contains("not an entry program"), "{err}");
}

#[test]
fn rejects_values_on_a_plain_map_and_nested_inner_maps() {
    if !clang_available() {
        return;
    }
    let err = parse(
        r#"
struct {
	__uint(type, 1);
	__uint(max_entries, 2);
	__type(key, __u32);
	__array(values, int (void *));
} h SEC(".maps");
"#,
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("needs a map-in-map or prog-array type"),
        "{err}"
    );

    let err = parse(
        r#"
struct lvl2 { __uint(type, 2); __uint(max_entries, 1); __type(key, __u32); __type(value, __u32); };
struct lvl1 { __uint(type, 12); __uint(max_entries, 1); __type(key, __u32); __array(values, struct lvl2); };
struct {
	__uint(type, 12);
	__uint(max_entries, 1);
	__type(key, __u32);
	__array(values, struct lvl1);
} top SEC(".maps");
"#,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("multi-level inner maps"), "{err}");
}

const OPS: &str = r#"
struct demo_ops {
	__u32 (*first)(struct sk *s);
	void (*second)(struct sk *s);
	__u32 flags;
	char name[16];
};
SEC("struct_ops/first") __u32 first_impl(__u64 *ctx) { return 1; }
SEC("struct_ops/second") void second_impl(__u64 *ctx) { }
"#;

#[test]
fn struct_ops_variables_become_maps_with_shadow_data_and_programs() {
    if !clang_available() {
        return;
    }
    let spec = parse(&format!(
        r#"{OPS}
SEC(".struct_ops") struct demo_ops plain = {{ .first = (void *)first_impl, .flags = 5, .name = "plain" }};
SEC(".struct_ops.link") struct demo_ops linked = {{
	.first = (void *)first_impl, .second = (void *)second_impl, .name = "linked" }};
"#
    ))
    .unwrap();
    let plain = spec.map("plain").unwrap();
    assert_eq!(plain.kind, MapKind::StructOps);
    assert_eq!(plain.map_type, MapType::STRUCT_OPS);
    assert_eq!((plain.key_size, plain.max_entries, plain.flags), (4, 1, 0));
    let ops = plain.struct_ops.as_ref().unwrap();
    assert_eq!(ops.type_name, "demo_ops");
    assert!(!ops.link);
    let names: Vec<(&str, u32, u32, bool, Option<&str>)> = ops
        .members
        .iter()
        .map(|m| {
            (
                m.name.as_str(),
                m.offset,
                m.size,
                m.is_func,
                m.program.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        names,
        [
            ("first", 0, 8, true, Some("first_impl")),
            ("second", 8, 8, true, None),
            ("flags", 16, 4, false, None),
            ("name", 20, 16, false, None),
        ]
    );
    let data = plain.data.as_ref().unwrap();
    assert_eq!(data.len(), 40);
    assert_eq!(u32::from_le_bytes(data[16..20].try_into().unwrap()), 5);
    assert_eq!(&data[20..26], b"plain\0");

    let linked = spec.map("linked").unwrap();
    let ops = linked.struct_ops.as_ref().unwrap();
    assert!(ops.link);
    assert_eq!(linked.flags, 1 << 13, "BPF_F_LINK");
    assert_eq!(ops.members[1].program.as_deref(), Some("second_impl"));
}

#[test]
fn rejects_struct_ops_member_pointing_at_a_non_struct_ops_program() {
    if !clang_available() {
        return;
    }
    let err = parse(&format!(
        r#"{OPS}
SEC("socket") __u32 sock_prog(void *ctx) {{ return 0; }}
SEC(".struct_ops") struct demo_ops bad = {{ .first = (void *)sock_prog }};
"#
    ))
    .unwrap_err()
    .to_string();
    assert!(err.contains("sock_prog"), "{err}");
    assert!(err.contains("not a struct_ops program"), "{err}");
}

#[test]
fn arena_globals_are_the_arena_maps_initial_data() {
    if !clang_available() {
        return;
    }
    let spec = parse(
        r#"
#define __arena __attribute__((address_space(1)))
struct {
	__uint(type, 33);
	__uint(map_flags, 1 << 10);
	__uint(max_entries, 2);
	__ulong(map_extra, 1ULL << 40);
} ar SEC(".maps");
__u32 __arena a_zero;
__u64 __arena a_init = 0x1122334455667788ULL;
SEC("syscall") int prog(void *ctx) { a_zero = a_init + 1; return 0; }
"#,
    )
    .unwrap();
    let idx = spec.maps.iter().position(|m| m.name == "ar").unwrap();
    let ar = &spec.maps[idx];
    assert_eq!(ar.map_type, MapType::ARENA);
    assert_eq!(ar.map_extra, 1 << 40);
    let data = ar.data.as_ref().unwrap();
    let g = spec.global("a_init").unwrap();
    assert_eq!(g.map, idx);
    let at = g.offset as usize;
    assert_eq!(
        u64::from_le_bytes(data[at..at + 8].try_into().unwrap()),
        0x1122_3344_5566_7788
    );
    let p = spec.program("prog").unwrap();
    let data_relos: Vec<&RelocTarget> = p
        .relocations
        .iter()
        .map(|r| &r.target)
        .filter(|t| matches!(t, RelocTarget::Data { map, .. } if *map == idx))
        .collect();
    assert_eq!(data_relos.len(), 2, "{:?}", p.relocations);
}

#[test]
fn rejects_arena_globals_without_an_arena_map() {
    if !clang_available() {
        return;
    }
    let err = parse(
        r#"
__u32 __attribute__((address_space(1))) lonely = 3;
SEC("syscall") int prog(void *ctx) { return lonely; }
"#,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains(".addr_space.1"), "{err}");
    assert!(err.contains("need an arena map"), "{err}");
}

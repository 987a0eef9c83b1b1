// SPDX-License-Identifier: (GPL-2.0-only OR MIT)
/*
 * mapinmap: initial values of map-in-map and prog-array slots, written in the map
 * definitions (`.values = { [i] = &x }`, relocations in `.maps`).
 *
 * - outer_arr (ARRAY_OF_MAPS, 3 slots): [0] = inner_b, [2] = inner_a, [1] empty;
 * - outer_hash (HASH_OF_MAPS, 5 entries): key 1 = inner_a, key 4 = inner_b;
 * - templ_only (HASH_OF_MAPS): an inner template and no initial values;
 * - jmp (PROG_ARRAY, 4 slots): [1] = tail_one, [3] = tail_three.
 * `read_outer` writes, for every slot of both outer maps, the value at key 0 of the inner
 * map there (or 0xffffffff for an empty slot) into `arr_seen` / `hash_seen`;
 * `tail_entry` tail-calls jmp[tail_idx] and returns 100 if that slot is empty.
 */
#include "oxbpf_helpers.h"

/* 12: jump to prog_array[index] (no return on success). */
static long (* const bpf_tail_call)(void *ctx, void *prog_array, __u32 index) = (void *) 12;

struct inner {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
};

struct inner inner_a SEC(".maps");
struct inner inner_b SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 3);
	__type(key, __u32);
	__array(values, struct inner);
} outer_arr SEC(".maps") = {
	.values = { [0] = &inner_b, [2] = &inner_a },
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
	__uint(max_entries, 5);
	__type(key, __u32);
	__array(values, struct inner);
} outer_hash SEC(".maps") = {
	.values = { [1] = &inner_a, [4] = &inner_b },
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
	__uint(max_entries, 2);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__array(values, struct {
		__uint(type, BPF_MAP_TYPE_HASH);
		__uint(max_entries, 8);
		__type(key, __u64);
		__type(value, __u64);
	});
} templ_only SEC(".maps");

__u32 arr_seen[3];
__u32 hash_seen[5];
__u32 tail_idx;

static __always_inline __u32 inner_value(void *inner)
{
	__u32 zero = 0, *v;

	if (!inner)
		return 0xffffffff;
	v = bpf_map_lookup_elem(inner, &zero);
	return v ? *v : 0xfffffffe;
}

SEC("socket")
int read_outer(struct __sk_buff *skb)
{
	for (__u32 i = 0; i < 3; i++) {
		__u32 k = i;
		arr_seen[i & 3] = inner_value(bpf_map_lookup_elem(&outer_arr, &k));
	}
	for (__u32 i = 0; i < 5; i++) {
		__u32 k = i;
		hash_seen[i & 7] = inner_value(bpf_map_lookup_elem(&outer_hash, &k));
	}
	return 0;
}

SEC("socket")
int tail_one(struct __sk_buff *skb)
{
	return 1;
}

SEC("socket")
int tail_three(struct __sk_buff *skb)
{
	return 3;
}

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 4);
	__uint(key_size, sizeof(__u32));
	__array(values, int (struct __sk_buff *));
} jmp SEC(".maps") = {
	.values = { [1] = (void *)&tail_one, [3] = (void *)&tail_three },
};

SEC("socket")
int tail_entry(struct __sk_buff *skb)
{
	bpf_tail_call(skb, &jmp, tail_idx);
	return 100;
}

char LICENSE[] SEC("license") = "GPL";

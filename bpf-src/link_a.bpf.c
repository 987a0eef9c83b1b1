// SPDX-License-Identifier: (GPL-2.0-only OR MIT)
/*
 * link_a + link_b: two objects that only work once statically linked (oxbpf link,
 * bpftool gen object). link_a holds the program `link_main` (SEC("syscall"), run with
 * BPF_PROG_TEST_RUN); it
 *   - defines the map `link_results` (ARRAY of 10 __u64), which link_b declares `extern`,
 *   - calls `link_b_scale`, a global function defined only in link_b (extern here),
 *   - reads and bumps `link_counter`, a global variable defined in link_b's .data,
 *   - calls `link_pick`, weak here (x + 1) and overridden by link_b's strong one (x * 3),
 *   - reads its own .rodata `link_a_bias` (link_b has a .rodata too),
 *   - does a CO-RE read (field size of task_struct::comm, 16) so .BTF.ext merges matter,
 *   - defines `link_both` weak (x + link_a_bias); link_b has a weak one too (x + its
 *     .rodata factor), which loses: the first weak definition wins, and its code (with a
 *     relocation) stays behind as dead code.
 * Slots of link_results written by link_main:
 *   0: link_b_scale(5) = 5 * 7 + 2 * 5 = 45     3: link_a_bias = 1000
 *   1: link_pick(2) = 6 (the weak one: 3)        4: sizeof task_struct::comm = 16
 *   2: link_counter before the bump = 40 (then 41)
 * link_b's `link_second` writes slots 5..8 (see link_b.bpf.c).
 */
#include "oxbpf_helpers.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 10);
} link_results SEC(".maps");

extern __u64 link_counter;
extern __u64 link_b_scale(__u64 x);

const volatile __u64 link_a_bias = 1000;

struct task_struct___a {
	char comm[16];
	int pid;
} __attribute__((preserve_access_index));

__weak __noinline __u64 link_pick(__u64 x)
{
	return x + 1;
}

__weak __noinline __u64 link_both(__u64 x)
{
	return x + link_a_bias;
}

static __always_inline void put(__u32 slot, __u64 v)
{
	__u64 *p = bpf_map_lookup_elem(&link_results, &slot);

	if (p)
		*p = v;
}

SEC("syscall")
int link_main(void *ctx)
{
	struct task_struct___a *t = 0;

	put(0, link_b_scale(5));
	put(1, link_pick(2));
	put(2, link_counter);
	link_counter += 1;
	put(3, link_a_bias);
	put(4, __builtin_preserve_field_info(t->comm, 1 /* BYTE_SIZE */));
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

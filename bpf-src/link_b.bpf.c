// SPDX-License-Identifier: (GPL-2.0-only OR MIT)
/*
 * link_b: the second half of link_a (see link_a.bpf.c). It
 *   - declares `link_results` extern (the definition is link_a's, the same map),
 *   - defines `link_counter` (.data, 40), `link_b_factor` (.rodata, 7),
 *   - defines the global function `link_b_scale(x)` = x * link_b_factor + b_twice(x),
 *     with the static subprogram `b_twice` (so a call through a section symbol of
 *     link_b's .text, which lands after link_a's .text in the linked object),
 *   - defines the strong `link_pick(x)` = x * 3, overriding link_a's weak one,
 *   - defines a weak `link_both(x)` = x + link_b_factor, which loses to link_a's weak
 *     one (x + link_a_bias: the first weak definition wins),
 *   - holds the program `link_second` (SEC("syscall")), which writes
 *       5: bpf_core_type_size(struct task_struct) (the kernel's size; locally 4)
 *       6: link_counter (41 after link_main ran once)
 *       7: link_pick(4) = 12
 *       8: link_both(1) = 1001 (link_a's; this object's own would give 8)
 */
#include "oxbpf_helpers.h"

extern struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 10);
} link_results __attribute__((section(".maps"))); /* SEC() adds `used`, not for externs */

__u64 link_counter = 40;
const volatile __u64 link_b_factor = 7;

struct task_struct {
	int pid;
} __attribute__((preserve_access_index));

static __noinline __u64 b_twice(__u64 x)
{
	return x * 2;
}

__noinline __u64 link_b_scale(__u64 x)
{
	return x * link_b_factor + b_twice(x);
}

__noinline __u64 link_pick(__u64 x)
{
	return x * 3;
}

__weak __noinline __u64 link_both(__u64 x)
{
	return x + link_b_factor;
}

static __always_inline void put(__u32 slot, __u64 v)
{
	__u64 *p = bpf_map_lookup_elem(&link_results, &slot);

	if (p)
		*p = v;
}

SEC("syscall")
int link_second(void *ctx)
{
	put(5, __builtin_preserve_type_info(*(struct task_struct *)0, 1 /* TYPE_SIZE */));
	put(6, link_counter);
	put(7, link_pick(4));
	put(8, link_both(1));
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

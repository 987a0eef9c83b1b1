// SPDX-License-Identifier: (GPL-2.0-only OR MIT)
/*
 * freplace_ext: an extension (program type EXT) replacing the global function `verdict`
 * of freplace_target.bpf.o: it answers XDP_DROP (1) and counts in array `replaced`.
 */
#include "oxbpf_helpers.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} replaced SEC(".maps");

SEC("freplace/verdict")
int new_verdict(__u32 len)
{
	__u32 zero = 0;
	__u64 *n = bpf_map_lookup_elem(&replaced, &zero);

	if (n)
		__sync_fetch_and_add(n, 1);
	return XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";

// SPDX-License-Identifier: (GPL-2.0-only OR MIT)
/*
 * freplace_target: an XDP program whose verdict comes from the global function
 * `verdict`, the function freplace_ext.bpf.o replaces. Unreplaced, `verdict` answers
 * XDP_PASS (2) and counts in array `calls` slot 0.
 */
#include "oxbpf_helpers.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} calls SEC(".maps");

__noinline int verdict(__u32 len)
{
	__u32 zero = 0;
	__u64 *n = bpf_map_lookup_elem(&calls, &zero);

	if (n)
		__sync_fetch_and_add(n, 1);
	return len ? XDP_PASS : XDP_ABORTED;
}

SEC("xdp")
int xdp_target(struct xdp_md *ctx)
{
	return verdict(ctx->data_end - ctx->data);
}

char LICENSE[] SEC("license") = "GPL";

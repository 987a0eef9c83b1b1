// SPDX-License-Identifier: (GPL-2.0-only OR MIT)
/*
 * netfilter_count: counts the packets that pass a netfilter hook and accepts them.
 *
 * Array `packets` (BPF_MAP_TYPE_ARRAY, 1 x __u64): packets seen.
 */
#include "oxbpf_helpers.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} packets SEC(".maps");

SEC("netfilter")
int nf_count(struct bpf_nf_ctx *ctx)
{
	__u32 zero = 0;
	__u64 *n = bpf_map_lookup_elem(&packets, &zero);

	if (n)
		__sync_fetch_and_add(n, 1);
	return NF_ACCEPT;
}

char LICENSE[] SEC("license") = "GPL";

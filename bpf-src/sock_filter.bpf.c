// SPDX-License-Identifier: (GPL-2.0-only OR MIT)
/*
 * sock_filter: a socket filter that keeps short packets and drops long ones.
 *
 * Array `stats` (BPF_MAP_TYPE_ARRAY, 2 x __u64): [0] packets seen, [1] packets dropped.
 * A packet is dropped (return 0) when skb->len > 20, kept whole otherwise.
 */
#include "oxbpf_helpers.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

SEC("socket")
int drop_long(struct __sk_buff *skb)
{
	__u32 seen = 0, dropped = 1;
	__u64 *v;

	v = bpf_map_lookup_elem(&stats, &seen);
	if (v)
		__sync_fetch_and_add(v, 1);
	if (skb->len > 20) {
		v = bpf_map_lookup_elem(&stats, &dropped);
		if (v)
			__sync_fetch_and_add(v, 1);
		return 0;
	}
	return skb->len;
}

char LICENSE[] SEC("license") = "GPL";

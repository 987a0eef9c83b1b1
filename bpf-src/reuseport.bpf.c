// SPDX-License-Identifier: (GPL-2.0-only OR MIT)
/*
 * reuseport: picks which socket of a SO_REUSEPORT group receives each UDP datagram —
 * always the socket at index `choice[0]` of REUSEPORT_SOCKARRAY `group` — and counts the
 * selections in array `picked` (2 x __u64: 0 selected, 1 selection failed).
 */
#include "oxbpf_helpers.h"
#include "oxbpf_sock.h"

struct {
	__uint(type, BPF_MAP_TYPE_REUSEPORT_SOCKARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} group SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} choice SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} picked SEC(".maps");

SEC("sk_reuseport")
int pick(struct sk_reuseport_md *md)
{
	__u32 zero = 0, slot, *idx;
	__u64 *n;

	idx = bpf_map_lookup_elem(&choice, &zero);
	if (!idx)
		return SK_DROP;
	slot = bpf_sk_select_reuseport(md, &group, idx, 0) ? 1 : 0;
	n = bpf_map_lookup_elem(&picked, &slot);
	if (n)
		__sync_fetch_and_add(n, 1);
	return SK_PASS;
}

char LICENSE[] SEC("license") = "GPL";

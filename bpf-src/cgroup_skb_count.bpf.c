// SPDX-License-Identifier: (GPL-2.0-only OR MIT)
/*
 * cgroup_skb_count: counts the IPv4 packets a cgroup's sockets send, by IP protocol,
 * and lets every packet through.
 *
 * Map `counts`: BPF_MAP_TYPE_HASH, key __u32 (IP protocol, 1 = ICMP), value __u64.
 */
#include "oxbpf_helpers.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, __u32);
	__type(value, __u64);
} counts SEC(".maps");

SEC("cgroup_skb/egress")
int cg_egress(struct __sk_buff *skb)
{
	__u8 *p = (__u8 *)(long)skb->data;
	__u8 *end = (__u8 *)(long)skb->data_end;
	__u64 one = 1, *val;
	__u32 key;

	/* cgroup_skb data starts at the IP header. */
	if (p + 20 > end)
		return 1;
	if ((p[0] >> 4) != 4)
		return 1;
	key = p[9];
	val = bpf_map_lookup_elem(&counts, &key);
	if (val)
		__sync_fetch_and_add(val, 1);
	else
		bpf_map_update_elem(&counts, &key, &one, BPF_NOEXIST);
	return 1;
}

char LICENSE[] SEC("license") = "GPL";

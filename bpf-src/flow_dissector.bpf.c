// SPDX-License-Identifier: (GPL-2.0-only OR MIT)
/*
 * flow_dissector: a minimal IPv4 dissector (no options past the header length, no
 * fragments, no encapsulation): fills addresses, protocol and ports of UDP/TCP packets,
 * and counts in array `dissected` (4 x __u64): 0 IPv4 packets, 1 UDP ones, 2 other
 * ethertypes (dropped: the kernel's own dissector then gives up on them too),
 * 3 the last UDP destination port seen (host byte order).
 */
#include "oxbpf_helpers.h"
#include "oxbpf_sock.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} dissected SEC(".maps");

static __always_inline void add(__u32 slot)
{
	__u64 *v = bpf_map_lookup_elem(&dissected, &slot);

	if (v)
		__sync_fetch_and_add(v, 1);
}

static __always_inline __u16 bswap16(__u16 x)
{
	return (__u16)((x << 8) | (x >> 8));
}

SEC("flow_dissector")
int dissect(struct oxbpf_skb *skb)
{
	struct bpf_flow_keys *keys = skb->flow_keys;
	__u8 *data = (__u8 *)(long)skb->data;
	__u8 *end = (__u8 *)(long)skb->data_end;
	__u8 *ip, *l4;
	__u32 nhoff, ihl, slot = 3;
	__u64 *last;

	if (keys->n_proto != bswap16(0x0800)) {
		add(2);
		return BPF_DROP;
	}
	/* Direct packet access: bpf_skb_load_bytes needs an skb, which
	 * BPF_PROG_TEST_RUN of a flow dissector does not have. */
	nhoff = keys->nhoff;
	if (nhoff > 64)
		return BPF_DROP;
	ip = data + nhoff;
	if (ip + 20 > end)
		return BPF_DROP;
	ihl = (ip[0] & 0xf) * 4;
	if ((ip[0] >> 4) != 4 || ihl < 20)
		return BPF_DROP;
	add(0);
	keys->addr_proto = bswap16(0x0800);
	keys->ip_proto = ip[9];
	keys->ipv4_src = *(__u32 *)&ip[12];
	keys->ipv4_dst = *(__u32 *)&ip[16];
	keys->thoff = nhoff + ihl;
	if (ip[9] != 17 && ip[9] != 6)
		return BPF_OK;
	l4 = ip + ihl;
	if (l4 + 4 > end)
		return BPF_OK;
	keys->sport = *(__u16 *)&l4[0];
	keys->dport = *(__u16 *)&l4[2];
	if (ip[9] == 17) {
		add(1);
		last = bpf_map_lookup_elem(&dissected, &slot);
		if (last)
			*last = bswap16(*(__u16 *)&l4[2]);
	}
	return BPF_OK;
}

char LICENSE[] SEC("license") = "GPL";

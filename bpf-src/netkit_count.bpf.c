// SPDX-License-Identifier: (GPL-2.0-only OR MIT)
/*
 * netkit_count: counts the UDP/IPv4 packets each side of a netkit pair transmits, in
 * array `sent` (2 x __u64: 0 primary, 1 peer), and lets every packet through
 * (NETKIT_PASS). Only UDP, so the ICMP errors the receiver sends back (no listener on
 * the port) are not counted for its side.
 */
#include "oxbpf_helpers.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} sent SEC(".maps");

/* Netkit verdicts (enum netkit_action). */
enum {
	NETKIT_NEXT = -1,
	NETKIT_PASS = 0,
	NETKIT_DROP = 2,
};

static __always_inline int count(struct __sk_buff *skb, __u32 slot)
{
	__u8 proto = 0;
	__u64 *v;

	/* skb->protocol is ETH_P_IP in network byte order. */
	if (skb->protocol != 0x0008)
		return NETKIT_PASS;
	/* The IP header starts the data in L3 mode; after an Ethernet header in L2 mode. */
	if (bpf_skb_load_bytes(skb, 0, &proto, 1))
		return NETKIT_PASS;
	if (bpf_skb_load_bytes(skb, (proto >> 4) == 4 ? 9 : 14 + 9, &proto, 1) || proto != 17)
		return NETKIT_PASS;
	v = bpf_map_lookup_elem(&sent, &slot);
	if (v)
		__sync_fetch_and_add(v, 1);
	return NETKIT_PASS;
}

SEC("netkit/primary")
int nk_primary(struct __sk_buff *skb)
{
	return count(skb, 0);
}

SEC("netkit/peer")
int nk_peer(struct __sk_buff *skb)
{
	return count(skb, 1);
}

char LICENSE[] SEC("license") = "GPL";

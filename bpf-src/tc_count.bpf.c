// SPDX-License-Identifier: (GPL-2.0-only OR MIT)
/*
 * tc_count: tc classifiers for the tcx and clsact tests.
 *
 * `tc_count` (SEC "tc"): counts IPv4 packets by IP protocol into `counts` (HASH, key
 * __u32 protocol, value __u64) and returns TC_ACT_OK.
 * `tc_a`, `tc_b` (SEC "tcx/ingress"): each counts the packet in `order` (HASH, key __u32
 * `(me << 16) | (mark seen & 0xffff)`, value __u64), sets skb->mark = me (0xA or 0xB)
 * and returns TCX_NEXT, so the key tells which program ran before which.
 */
#include "oxbpf_helpers.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, __u32);
	__type(value, __u64);
} counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u64);
} order SEC(".maps");

static __always_inline void bump(void *map, __u32 key)
{
	__u64 one = 1, *val;

	val = bpf_map_lookup_elem(map, &key);
	if (val) {
		__sync_fetch_and_add(val, 1);
		return;
	}
	if (bpf_map_update_elem(map, &key, &one, BPF_NOEXIST) == 0)
		return;
	val = bpf_map_lookup_elem(map, &key);
	if (val)
		__sync_fetch_and_add(val, 1);
}

SEC("tc")
int tc_count(struct __sk_buff *skb)
{
	__u8 *p = (__u8 *)(long)skb->data;
	__u8 *end = (__u8 *)(long)skb->data_end;

	if (p + 34 > end)
		return TC_ACT_OK;
	if (p[12] != 0x08 || p[13] != 0x00)
		return TC_ACT_OK;
	bump(&counts, p[23]);
	return TC_ACT_OK;
}

static __always_inline int tag(struct __sk_buff *skb, __u32 me)
{
	bump(&order, (me << 16) | (skb->mark & 0xffff));
	skb->mark = me;
	return TCX_NEXT;
}

SEC("tcx/ingress")
int tc_a(struct __sk_buff *skb)
{
	return tag(skb, 0xA);
}

SEC("tcx/ingress")
int tc_b(struct __sk_buff *skb)
{
	return tag(skb, 0xB);
}

char LICENSE[] SEC("license") = "GPL";

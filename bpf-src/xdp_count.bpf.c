// SPDX-License-Identifier: (GPL-2.0-only OR MIT)
/*
 * xdp_count: counts IPv4 packets by IP protocol and passes every packet.
 *
 * Maps `counts` and `alt_counts`: BPF_MAP_TYPE_HASH, key __u32 (IP protocol number,
 * 1 = ICMP), value __u64 (packets), 256 entries. `xdp_count` counts into `counts`,
 * `xdp_count_alt` into `alt_counts` (to tell which program is attached after a replace).
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
	__uint(max_entries, 256);
	__type(key, __u32);
	__type(value, __u64);
} alt_counts SEC(".maps");

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

static __always_inline int count(void *map, struct xdp_md *ctx)
{
	__u8 *p = (__u8 *)(long)ctx->data;
	__u8 *end = (__u8 *)(long)ctx->data_end;

	/* Ethernet (14 bytes) + the first 20 bytes of an IPv4 header. */
	if (p + 34 > end)
		return XDP_PASS;
	if (p[12] != 0x08 || p[13] != 0x00)
		return XDP_PASS;
	bump(map, p[23]);
	return XDP_PASS;
}

SEC("xdp")
int xdp_count(struct xdp_md *ctx)
{
	return count(&counts, ctx);
}

SEC("xdp")
int xdp_count_alt(struct xdp_md *ctx)
{
	return count(&alt_counts, ctx);
}

char LICENSE[] SEC("license") = "GPL";

// SPDX-License-Identifier: (GPL-2.0-only OR MIT)
/*
 * xsk_redirect: hands IPv4 UDP packets to the AF_XDP socket of their receive queue, for
 * the XskMap kernel test (kernel_xsk.rs).
 *
 *   to_xsk (xdp): counts every packet in `counts[0]`; an IPv4 UDP packet also in
 *       `counts[1]`, and is returned as bpf_redirect_map(&xsks, ctx->rx_queue_index,
 *       XDP_PASS) — redirected to the socket at that index, or passed to the stack when
 *       the slot is empty — with `counts[2]` counting those the helper redirected.
 *       Everything else (ARP, IPv6 neighbour discovery) passes, so the stack keeps
 *       resolving addresses while a socket is in the map.
 *
 * Maps: `xsks` XSKMAP of 4 (key: queue index, value: AF_XDP socket fd), `counts` ARRAY
 * of 4 __u64.
 */
#include "oxbpf_helpers.h"

/* 51: redirect to the target of `key` in `map`; the low bits of `flags` are the action
 * returned when the slot is empty. */
static long (* const bpf_redirect_map)(void *map, __u64 key, __u64 flags) = (void *) 51;

struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u32);
} xsks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} counts SEC(".maps");

static __always_inline void bump(__u32 key)
{
	__u64 *val = bpf_map_lookup_elem(&counts, &key);

	if (val)
		__sync_fetch_and_add(val, 1);
}

SEC("xdp")
int to_xsk(struct xdp_md *ctx)
{
	__u8 *p = (__u8 *)(long)ctx->data;
	__u8 *end = (__u8 *)(long)ctx->data_end;
	long ret;

	bump(0);
	/* Ethernet (14 bytes) + the first 20 bytes of an IPv4 header; protocol at 23. */
	if (p + 34 > end)
		return XDP_PASS;
	if (p[12] != 0x08 || p[13] != 0x00 || p[23] != 17)
		return XDP_PASS;
	bump(1);
	ret = bpf_redirect_map(&xsks, ctx->rx_queue_index, XDP_PASS);
	if (ret == XDP_REDIRECT)
		bump(2);
	return ret;
}

char LICENSE[] SEC("license") = "GPL";

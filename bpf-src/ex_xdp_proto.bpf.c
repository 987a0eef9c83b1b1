// SPDX-License-Identifier: (GPL-2.0-only OR MIT)
/*
 * ex_xdp_proto: per-CPU packet counts by IP protocol, the program of examples/xdp-counter.
 *
 * `count_proto` (SEC "xdp"): for each IPv4 packet adds one to `counts`
 * (PERCPU_ARRAY of 256 __u64, index = IP protocol number) on the CPU that saw it,
 * without atomics; passes every packet.
 */
#include "oxbpf_helpers.h"

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 256);
	__type(key, __u32);
	__type(value, __u64);
} counts SEC(".maps");

SEC("xdp")
int count_proto(struct xdp_md *ctx)
{
	__u8 *p = (__u8 *)(long)ctx->data;
	__u8 *end = (__u8 *)(long)ctx->data_end;
	__u32 proto;
	__u64 *n;

	/* Ethernet (14 bytes) + the first 20 bytes of an IPv4 header. */
	if (p + 34 > end)
		return XDP_PASS;
	if (p[12] != 0x08 || p[13] != 0x00)
		return XDP_PASS;
	proto = p[23];
	n = bpf_map_lookup_elem(&counts, &proto);
	if (n)
		*n += 1;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

// SPDX-License-Identifier: (GPL-2.0-only OR MIT)
/*
 * unaligned_pkt: an XDP program that reads a 4-byte word at packet offset 1.
 *
 * `read_odd` (SEC "xdp"): returns the native-endian u32 at bytes 1..5 of the frame (0 for
 * frames shorter than 5 bytes). The verifier accepts the unaligned packet load on x86
 * (efficient unaligned access) and rejects it under BPF_F_STRICT_ALIGNMENT ("misaligned
 * packet access").
 */
#include "oxbpf_helpers.h"

SEC("xdp")
int read_odd(struct xdp_md *ctx)
{
	__u8 *p = (__u8 *)(long)ctx->data;
	__u8 *end = (__u8 *)(long)ctx->data_end;

	if (p + 5 > end)
		return 0;
	return *(__u32 *)(p + 1);
}

char LICENSE[] SEC("license") = "GPL";

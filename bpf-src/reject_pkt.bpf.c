// SPDX-License-Identifier: (GPL-2.0-only OR MIT)
/*
 * reject_pkt: an XDP program that reads the packet without comparing against
 * data_end first: "invalid access to packet". Marker: "oxbpf-test: rejected here".
 */
#include "oxbpf_helpers.h"

SEC("xdp")
int no_bounds(struct xdp_md *ctx)
{
	unsigned char *data = (unsigned char *)(long)ctx->data;

	if (data[12] == 0x08) /* oxbpf-test: rejected here */
		return 1;
	return 2;
}

char LICENSE[] SEC("license") = "GPL";

// SPDX-License-Identifier: (GPL-2.0-only OR MIT)
/*
 * reject_ctx: an XDP program reads its context past struct xdp_md: "invalid
 * bpf_context access". Marker: "oxbpf-test: rejected here".
 */
#include "oxbpf_helpers.h"

SEC("xdp")
int bad_ctx(struct xdp_md *ctx)
{
	__u32 *p = (__u32 *)ctx;

	return p[40]; /* oxbpf-test: rejected here */
}

char LICENSE[] SEC("license") = "GPL";

// SPDX-License-Identifier: (GPL-2.0-only OR MIT)
/*
 * reject_helper: a socket filter calls bpf_redirect(), a TC/XDP helper that socket
 * filters may not use ("program of this type cannot use helper" on 6.x, "unknown func"
 * on older kernels). Marker: "oxbpf-test: rejected here".
 */
#include "oxbpf_helpers.h"

static long (* const bpf_redirect)(__u32 ifindex, __u64 flags) = (void *) 23;

SEC("socket")
int wrong_helper(struct __sk_buff *skb)
{
	return bpf_redirect(1, 0); /* oxbpf-test: rejected here */
}

char LICENSE[] SEC("license") = "GPL";

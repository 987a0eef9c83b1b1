// SPDX-License-Identifier: (GPL-2.0-only OR MIT)
/*
 * reject_stack: each function stays under clang's 512-byte limit, but the call chain
 * needs more: "combined stack size of 2 calls is ... Too large". Marker:
 * "oxbpf-test: rejected here" (on the call). A socket filter, because tracing programs
 * get a private stack on 6.13+ and escape the combined limit.
 */
#include "oxbpf_helpers.h"

static __noinline int inner(__u64 seed)
{
	volatile __u64 big[48];

#pragma clang loop unroll(full)
	for (int i = 0; i < 48; i++)
		big[i] = seed + i;
	return big[seed & 31];
}

SEC("socket")
int deep(struct __sk_buff *skb)
{
	volatile __u64 big[60];
	__u64 seed = skb->len;

#pragma clang loop unroll(full)
	for (int i = 0; i < 60; i++)
		big[i] = seed ^ i;
	return inner(big[seed & 31]); /* oxbpf-test: rejected here */
}

char LICENSE[] SEC("license") = "GPL";

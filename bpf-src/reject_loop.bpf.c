// SPDX-License-Identifier: (GPL-2.0-only OR MIT)
/*
 * reject_loop: a loop the verifier cannot bound. The exit condition depends only on a
 * random number, so the verifier walks it until the 1M-instruction limit ("BPF program
 * is too large") or reports an infinite loop. Marker: "oxbpf-test: rejected here".
 */
#include "oxbpf_helpers.h"

static __u32 (* const bpf_get_prandom_u32)(void) = (void *) 7;

SEC("tracepoint/syscalls/sys_enter_getpid")
int spin(void *ctx)
{
	__u64 n = 0;

	while (bpf_get_prandom_u32() != 12345) /* oxbpf-test: rejected here */
		n += 3;
	return n & 1;
}

char LICENSE[] SEC("license") = "GPL";

// SPDX-License-Identifier: (GPL-2.0-only OR MIT)
/*
 * reject_loop: a loop the verifier cannot bound. Its exit depends only on a random
 * number and its body changes nothing, so the verifier sees the same state at the loop
 * head twice: "infinite loop detected" (5.3+; "back-edge from insn" before). A loop that
 * does change state runs into "BPF program is too large" instead, after a 1M-instruction
 * walk and a ~40 MB log. Marker: "oxbpf-test: rejected here".
 */
#include "oxbpf_helpers.h"

static __u32 (* const bpf_get_prandom_u32)(void) = (void *) 7;

SEC("tracepoint/syscalls/sys_enter_getpid")
int spin(void *ctx)
{
	while (bpf_get_prandom_u32() != 12345) /* oxbpf-test: rejected here */
		;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

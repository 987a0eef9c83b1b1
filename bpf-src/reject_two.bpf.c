// SPDX-License-Identifier: (GPL-2.0-only OR MIT)
/*
 * reject_two: two programs the verifier refuses, for different reasons, with a good one
 * between them. A load reports both rejections, each with its own log:
 *
 *   first_bad   dereferences a hash map value without a NULL check (an array's, at a
 *               constant key in range, is known non-NULL since 6.8):
 *               "R0 invalid mem access 'map_value_or_null'"
 *   fine        loads
 *   second_bad  dereferences a random number: "R1 invalid mem access 'scalar'"
 *
 * Markers: "oxbpf-test: first rejected here", "oxbpf-test: second rejected here".
 */
#include "oxbpf_helpers.h"

static __u32 (* const bpf_get_prandom_u32)(void) = (void *) 7;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} counts SEC(".maps");

SEC("syscall")
int first_bad(void *ctx)
{
	__u32 key = 0;
	__u64 *v = bpf_map_lookup_elem(&counts, &key);

	*v += 1; /* oxbpf-test: first rejected here */
	return 0;
}

SEC("syscall")
int fine(void *ctx)
{
	__u32 key = 0;
	__u64 *v = bpf_map_lookup_elem(&counts, &key);

	if (v)
		*v += 1;
	return 0;
}

SEC("syscall")
int second_bad(void *ctx)
{
	return *(int *)(long)bpf_get_prandom_u32(); /* oxbpf-test: second rejected here */
}

char LICENSE[] SEC("license") = "GPL";

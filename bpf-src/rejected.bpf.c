// SPDX-License-Identifier: (GPL-2.0-only OR MIT)
/*
 * rejected: a program the verifier must refuse.
 *
 * The value pointer returned by bpf_map_lookup_elem() is dereferenced without a
 * NULL check, so the verifier stops with
 *   R0 invalid mem access 'map_value_or_null'
 * at the instruction of the marked line below. Tests map the log's instruction
 * back to that source line (through .BTF.ext line info) and look for the marker
 * "oxbpf-test: rejected here". Keep the marker on the dereferencing line.
 */
#include "oxbpf_helpers.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, __u64);
} values SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_getpid")
int bad_deref(void *ctx)
{
	__u32 key = 0;
	__u64 *val;

	val = bpf_map_lookup_elem(&values, &key);
	*val += 1; /* oxbpf-test: rejected here */
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

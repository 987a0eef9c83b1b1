// SPDX-License-Identifier: (GPL-2.0-only OR MIT)
/*
 * reject_ref: a ring buffer record is reserved and never submitted or discarded:
 * "Unreleased reference". The verifier reports it at the exit instruction and names the
 * acquiring one (alloc_insn=), whose line carries the marker "oxbpf-test: acquired here".
 */
#include "oxbpf_helpers.h"

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} rb SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_getpid")
int leak(void *ctx)
{
	__u64 *rec = bpf_ringbuf_reserve(&rb, sizeof(*rec), 0); /* oxbpf-test: acquired here */

	if (!rec)
		return 0;
	*rec = bpf_get_current_pid_tgid();
	return 1;
}

char LICENSE[] SEC("license") = "GPL";

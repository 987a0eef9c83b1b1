// SPDX-License-Identifier: (GPL-2.0-only OR MIT)
/*
 * maptypes: programs for the typed-map tests of map kinds that need a program.
 *
 *   entry  (raw_tp): bpf_tail_call(ctx, &jmp, 0); returns 1 if the tail call did not
 *                    happen (empty slot).
 *   target (raw_tp): counts its runs in `target_runs` (.bss), returns 42.
 *   stack  (raw_tp): stores bpf_get_stackid(ctx, &stacks, 0) (kernel stack) in
 *                    `last_stackid` (.bss), returns 0.
 *
 * Maps: `jmp` PROG_ARRAY of 4; `stacks` STACK_TRACE of 64 ids, 127 frames each.
 * All three are run with BPF_PROG_TEST_RUN.
 */
#include "oxbpf_helpers.h"

#define STACK_DEPTH 127

/* 12: jump to program `index` of `prog_array_map`; returns only if the slot is empty. */
static long (* const bpf_tail_call)(void *ctx, void *prog_array_map, __u32 index) = (void *) 12;

/* 27: id of the current stack in `map` (flags 0: kernel stack). */
static long (* const bpf_get_stackid)(void *ctx, void *map, __u64 flags) = (void *) 27;

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 4);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} jmp SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, 64);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, STACK_DEPTH * sizeof(__u64));
} stacks SEC(".maps");

__u64 target_runs;
__s64 last_stackid = -1;

SEC("raw_tp")
int entry(void *ctx)
{
	bpf_tail_call(ctx, &jmp, 0);
	return 1;
}

SEC("raw_tp")
int target(void *ctx)
{
	target_runs++;
	return 42;
}

SEC("raw_tp")
int stack(void *ctx)
{
	last_stackid = bpf_get_stackid(ctx, &stacks, 0);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

// SPDX-License-Identifier: (GPL-2.0-only OR MIT)
/*
 * arena: a BPF_MAP_TYPE_ARENA (Linux 6.9+) of 4 pages mapped at a fixed user address
 * (map_extra), with global `__arena` variables in `.addr_space.1`: the loader places them
 * at the start of the arena with their initial values. `arena_rw` (syscall) reads
 * `from_user` (written by user space through the mapping), writes `to_user =
 * from_user * 2 + 1`, bumps `runs` (initially 40) and returns `to_user`.
 */
#include "oxbpf_helpers.h"

#define __arena __attribute__((address_space(1)))
#define __ulong(name, val) enum { ___oxbpf_##name = val } name

struct {
	__uint(type, BPF_MAP_TYPE_ARENA);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 4);
	__ulong(map_extra, 0x100000000000ULL);
} arena SEC(".maps");

__u32 __arena from_user;
__u32 __arena to_user = 7;
__u64 __arena runs = 40;

SEC("syscall")
int arena_rw(void *ctx)
{
	to_user = from_user * 2 + 1;
	runs++;
	return to_user;
}

char LICENSE[] SEC("license") = "GPL";

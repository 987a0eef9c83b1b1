// SPDX-License-Identifier: (GPL-2.0-only OR MIT)
/*
 * pinned: a hash map pinned by name (LIBBPF_PIN_BY_NAME) that two loads of the
 * object share, and a syscall program that copies key 1's value to key 2.
 *
 *   shared  HASH, key __u32, value __u64, 64 entries, pinned as <pin_root>/shared
 *   local   ARRAY of 1 __u64, not pinned
 */
#include "oxbpf_helpers.h"

#define LIBBPF_PIN_BY_NAME 1

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} shared SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} local SEC(".maps");

SEC("syscall")
int copy_one(void *ctx)
{
	__u32 from = 1, to = 2;
	__u64 *v = bpf_map_lookup_elem(&shared, &from);

	if (!v)
		return 1;
	bpf_map_update_elem(&shared, &to, v, BPF_ANY);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

// SPDX-License-Identifier: (GPL-2.0-only OR MIT)
/*
 * counter: counts getpid() calls per process.
 *
 * Map `counts`: BPF_MAP_TYPE_HASH, key __u32 (tgid, i.e. user space's pid),
 * value __u64 (number of getpid() calls), 1024 entries.
 */
#include "oxbpf_helpers.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u64);
} counts SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_getpid")
int count_getpid(void *ctx)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	__u64 *val;

	val = bpf_map_lookup_elem(&counts, &tgid);
	if (!val) {
		__u64 one = 1;

		/* Lost a race with another thread of the same process: count there. */
		if (bpf_map_update_elem(&counts, &tgid, &one, BPF_NOEXIST) == 0)
			return 0;
		val = bpf_map_lookup_elem(&counts, &tgid);
		if (!val)
			return 0;
	}
	__sync_fetch_and_add(val, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

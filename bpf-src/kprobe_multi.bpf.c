// SPDX-License-Identifier: (GPL-2.0-only OR MIT)
/*
 * kprobe_multi: one kprobe.multi program on vfs_read* (a glob: vfs_read, vfs_readv, ...), counting
 * into `counts[0]` for the thread `target_tid`. Needs CONFIG_FPROBE to attach.
 */
#include "oxbpf_helpers.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} counts SEC(".maps");

const volatile __u32 target_tid = 0;

SEC("kprobe.multi/vfs_read*")
int kpm_vfs(void *ctx)
{
	__u32 zero = 0;
	__u64 *v;

	if (target_tid && (__u32)bpf_get_current_pid_tgid() != target_tid)
		return 0;
	v = bpf_map_lookup_elem(&counts, &zero);
	if (v)
		__sync_fetch_and_add(v, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

// SPDX-License-Identifier: (GPL-2.0-only OR MIT)
/*
 * kprobes: kprobe, kretprobe and kprobe.multi on vfs_read, counting into `counts`
 * (slot 0 kprobe, 1 kretprobe, 2 kprobe.multi) for the thread `target_tid`. Loads
 * everywhere; attaches only on kernels with CONFIG_KPROBES (kprobe.multi: CONFIG_FPROBE).
 */
#include "oxbpf_helpers.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} counts SEC(".maps");

const volatile __u32 target_tid = 0;

static __always_inline void count(__u32 slot)
{
	__u64 *v;

	if (target_tid && (__u32)bpf_get_current_pid_tgid() != target_tid)
		return;
	v = bpf_map_lookup_elem(&counts, &slot);
	if (v)
		__sync_fetch_and_add(v, 1);
}

SEC("kprobe/vfs_read")
int kp_vfs_read(void *ctx)
{
	count(0);
	return 0;
}

SEC("kretprobe/vfs_read")
int krp_vfs_read(void *ctx)
{
	count(1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

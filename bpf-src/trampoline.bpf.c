// SPDX-License-Identifier: (GPL-2.0-only OR MIT)
/*
 * trampoline: fentry and fexit on vfs_read, counting into `counts` (slot 0 fentry,
 * 1 fexit) for the thread `target_tid`; slot 2 holds the last fexit return value.
 * Needs BPF trampolines (on the build host BPF_PROG_LOAD answers EPERM).
 */
#include "oxbpf_helpers.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} counts SEC(".maps");

const volatile __u32 target_tid = 0;

static __always_inline __u64 *slot(__u32 i)
{
	if (target_tid && (__u32)bpf_get_current_pid_tgid() != target_tid)
		return NULL;
	return bpf_map_lookup_elem(&counts, &i);
}

/* vfs_read(struct file *file, char *buf, size_t count, loff_t *pos) */
SEC("fentry/vfs_read")
int fentry_vfs_read(__u64 *ctx)
{
	__u64 *v = slot(0);

	if (v)
		__sync_fetch_and_add(v, 1);
	return 0;
}

/* fexit sees the arguments, then the return value (ssize_t) as ctx[4]. */
SEC("fexit/vfs_read")
int fexit_vfs_read(__u64 *ctx)
{
	__u64 *v = slot(1);
	__u64 *r = slot(2);

	if (v)
		__sync_fetch_and_add(v, 1);
	if (r)
		*r = ctx[4];
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

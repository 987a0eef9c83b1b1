// SPDX-License-Identifier: (GPL-2.0-only OR MIT)
/*
 * cookie: a uprobe storing the BPF cookie it was attached with (bpf_get_attach_cookie,
 * Linux 5.15) in `cookies[0]`, and counting its runs in `cookies[1]`, for the thread
 * `target_tid`. Kept apart from tracing.bpf.o so that object loads on older kernels.
 */
#include "oxbpf_helpers.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} cookies SEC(".maps");

const volatile __u32 target_tid = 0;

SEC("uprobe")
int with_cookie(void *ctx)
{
	__u32 zero = 0, one = 1;
	__u64 *v;

	if (target_tid && (__u32)bpf_get_current_pid_tgid() != target_tid)
		return 0;
	v = bpf_map_lookup_elem(&cookies, &zero);
	if (v)
		*v = bpf_get_attach_cookie(ctx);
	v = bpf_map_lookup_elem(&cookies, &one);
	if (v)
		__sync_fetch_and_add(v, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

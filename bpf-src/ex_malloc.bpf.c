// SPDX-License-Identifier: (GPL-2.0-only OR MIT)
/*
 * ex_malloc: latency histogram of libc malloc, the program of examples/uprobe-malloc.
 *
 * `malloc_enter` (uprobe/libc.so.6:malloc) stores the entry time per thread in `start`
 * (HASH, key __u64 pid_tgid, value __u64 ns); `malloc_exit` (uretprobe/libc.so.6:malloc)
 * adds one to `hist` (ARRAY of 32 __u64) at bucket floor(log2(ns)) (capped at 31).
 * `.rodata` `target_tgid`: only this process (0: every process).
 */
#include "oxbpf_helpers.h"

#define HIST_SLOTS 32

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u64);
	__type(value, __u64);
} start SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, HIST_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
} hist SEC(".maps");

const volatile __u32 target_tgid = 0;

static __always_inline __u32 log2_u64(__u64 v)
{
	__u32 r = 0, shift;

	shift = (v > 0xffffffffULL) << 5; v >>= shift; r |= shift;
	shift = (v > 0xffff) << 4; v >>= shift; r |= shift;
	shift = (v > 0xff) << 3; v >>= shift; r |= shift;
	shift = (v > 0xf) << 2; v >>= shift; r |= shift;
	shift = (v > 0x3) << 1; v >>= shift; r |= shift;
	r |= (v >> 1);
	return r;
}

static __always_inline int ours(__u64 id)
{
	return !target_tgid || (__u32)(id >> 32) == target_tgid;
}

SEC("uprobe/libc.so.6:malloc")
int malloc_enter(void *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u64 ts;

	if (!ours(id))
		return 0;
	ts = bpf_ktime_get_ns();
	bpf_map_update_elem(&start, &id, &ts, BPF_ANY);
	return 0;
}

SEC("uretprobe/libc.so.6:malloc")
int malloc_exit(void *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u64 *ts, *slot;
	__u32 bucket;

	if (!ours(id))
		return 0;
	ts = bpf_map_lookup_elem(&start, &id);
	if (!ts)
		return 0;
	bucket = log2_u64(bpf_ktime_get_ns() - *ts);
	bpf_map_delete_elem(&start, &id);
	if (bucket >= HIST_SLOTS)
		bucket = HIST_SLOTS - 1;
	slot = bpf_map_lookup_elem(&hist, &bucket);
	if (slot)
		__sync_fetch_and_add(slot, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

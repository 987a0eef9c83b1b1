// SPDX-License-Identifier: (GPL-2.0-only OR MIT)
/*
 * evmix: on every getpid() of the process `target_tgid` (a .rodata constant set
 * before load), writes one `struct evmix_event` to the ring buffer `ring_events`
 * AND to the perf event array `perf_events` (BPF_F_CURRENT_CPU). Used by the
 * `oxbpf run` tests: both kinds of sources streamed on one epoll.
 *
 * Record (16 bytes): __u32 tgid, __u32 seq (0, 1, ... per load, one counter shared
 * by both outputs), __u64 magic = EVMIX_MAGIC.
 */
#include "oxbpf_helpers.h"

#define BPF_F_CURRENT_CPU 0xffffffffULL
#define EVMIX_MAGIC 0x786d7665ULL /* "evmx" */

/* 25: copy `size` bytes of `data` into `map`'s perf event of the CPU in `flags`. */
static long (* const bpf_perf_event_output)(void *ctx, void *map, __u64 flags,
					    void *data, __u64 size) = (void *) 25;

struct evmix_event {
	__u32 tgid;
	__u32 seq;
	__u64 magic;
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
	__type(value, struct evmix_event);
} ring_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} perf_events SEC(".maps");

const volatile __u32 target_tgid = 0;

/* Next sequence number (.bss). */
__u32 next_seq;

SEC("tracepoint/syscalls/sys_enter_getpid")
int on_getpid(void *ctx)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct evmix_event e;

	if (tgid != target_tgid)
		return 0;
	e.tgid = tgid;
	e.seq = next_seq++;
	e.magic = EVMIX_MAGIC;
	bpf_ringbuf_output(&ring_events, &e, sizeof(e), 0);
	bpf_perf_event_output(ctx, &perf_events, BPF_F_CURRENT_CPU, &e, sizeof(e));
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

// SPDX-License-Identifier: (GPL-2.0-only OR MIT)
/*
 * perfout: writes samples into the perf event array `events` with
 * bpf_perf_event_output(BPF_F_CURRENT_CPU), from a raw_tp program run with
 * BPF_PROG_TEST_RUN (BPF_F_TEST_RUN_ON_CPU picks the CPU). Used by the perf
 * buffer tests.
 *
 * Input (ctx, as raw_tp arguments, __u64 each):
 *   ctx[0] count  - samples to write, at most 2048
 *   ctx[1] size   - payload size in bytes, 16..256 (clamped)
 *   ctx[2] first  - sequence number of the first sample
 * Sample payload: __u64 seq (first, first + 1, ...), __u32 cpu
 *   (bpf_get_smp_processor_id), __u32 size, then bytes (seq + i) & 0xff up to size.
 * Return value: the number of samples the kernel refused (ring full: each is
 *   also counted in a PERF_RECORD_LOST record).
 */
#include "oxbpf_helpers.h"

#define PERFOUT_MAX 2048
#define PERFOUT_SIZE_MAX 256
#define BPF_F_CURRENT_CPU 0xffffffffULL

/* 8: the CPU the program runs on. */
static __u32 (* const bpf_get_smp_processor_id)(void) = (void *) 8;

/* 25: copy `size` bytes of `data` into `map`'s perf event of the CPU in `flags`. */
static long (* const bpf_perf_event_output)(void *ctx, void *map, __u64 flags,
					    void *data, __u64 size) = (void *) 25;

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} events SEC(".maps");

struct sample {
	__u64 seq;
	__u32 cpu;
	__u32 size;
	__u8 fill[PERFOUT_SIZE_MAX - 16];
};

/* The payload source (.bss). */
struct sample payload;

SEC("raw_tp")
int emit(__u64 *ctx)
{
	__u64 count = ctx[0];
	__u64 size = ctx[1];
	__u64 first = ctx[2];
	__u32 refused = 0;

	if (count > PERFOUT_MAX)
		count = PERFOUT_MAX;
	if (size < 16)
		size = 16;
	if (size > PERFOUT_SIZE_MAX)
		size = PERFOUT_SIZE_MAX;
	payload.cpu = bpf_get_smp_processor_id();
	payload.size = size;
	for (__u32 i = 0; i < PERFOUT_MAX; i++) {
		if (i >= count)
			break;
		payload.seq = first + i;
		payload.fill[0] = (first + i) & 0xff;
		if (bpf_perf_event_output(ctx, &events, BPF_F_CURRENT_CPU, &payload, size))
			refused++;
	}
	return refused;
}

char LICENSE[] SEC("license") = "GPL";

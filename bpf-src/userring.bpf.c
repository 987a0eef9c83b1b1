// SPDX-License-Identifier: (GPL-2.0-only OR MIT)
/*
 * userring: drains the user ring buffer `urb` (BPF_MAP_TYPE_USER_RINGBUF, 6.1+) with
 * bpf_user_ringbuf_drain from a syscall program run with BPF_PROG_TEST_RUN. Used by
 * the user ring buffer producer tests.
 *
 * Sample (at least 16 bytes, written by user space): __u32 seq, __u32 len, __u64 tag.
 * For each sample drained, in order, the program counts it in `total` and, while
 * fewer than USERRING_MAX are recorded, appends seq, len and tag to seen_seq[],
 * seen_len[], seen_tag[] (.bss) and bumps `seen`; samples shorter than 16 bytes
 * count in `short_samples` only. Draining never stops early. The program returns what
 * bpf_user_ringbuf_drain returned (samples drained, or a negative errno).
 */
#include "oxbpf_helpers.h"

#define USERRING_MAX 64

struct bpf_dynptr {
	__u64 __opaque[2];
} __attribute__((aligned(8)));

/* 201: copy `len` bytes at `offset` of dynptr `src` into `dst`. */
static long (* const bpf_dynptr_read)(void *dst, __u32 len, const struct bpf_dynptr *src,
				      __u32 offset, __u64 flags) = (void *) 201;

/* 209: call `callback_fn(dynptr, ctx)` for each sample of user ring buffer `map`. */
static long (* const bpf_user_ringbuf_drain)(void *map, void *callback_fn, void *ctx,
					     __u64 flags) = (void *) 209;

struct {
	__uint(type, BPF_MAP_TYPE_USER_RINGBUF);
	__uint(max_entries, 4096);
} urb SEC(".maps");

__u32 seen_seq[USERRING_MAX];
__u32 seen_len[USERRING_MAX];
__u64 seen_tag[USERRING_MAX];
__u32 seen;
__u32 total;
__u32 short_samples;

struct sample_head {
	__u32 seq;
	__u32 len;
	__u64 tag;
};

static long on_sample(struct bpf_dynptr *d, void *ctx)
{
	struct sample_head h;
	__u32 i = seen;

	if (bpf_dynptr_read(&h, sizeof(h), d, 0, 0)) {
		short_samples++;
		return 0;
	}
	total++;
	if (i >= USERRING_MAX)
		return 0;
	seen_seq[i] = h.seq;
	seen_len[i] = h.len;
	seen_tag[i] = h.tag;
	seen = i + 1;
	return 0;
}

SEC("syscall")
int drain(void *ctx)
{
	return bpf_user_ringbuf_drain(&urb, on_sample, NULL, 0);
}

char LICENSE[] SEC("license") = "GPL";

// SPDX-License-Identifier: (GPL-2.0-only OR MIT)
/*
 * overrun: writes records into the small (4 KiB) ring buffer `small_rb` and counts,
 * in .bss, every record it tried (`produced`) and every one the ring refused
 * (`dropped`), from a raw_tp program run with BPF_PROG_TEST_RUN. Used by the
 * overrun test: delivered + dropped == produced, exactly.
 *
 * Input (ctx, raw_tp arguments, __u64 each): ctx[0] count - records to try, at most
 * OVERRUN_MAX per run.
 * Record (48 bytes): __u64 seq (the value of `produced` before the attempt), then
 * zeros. Odd seqs go through bpf_ringbuf_reserve/submit, even ones through
 * bpf_ringbuf_output, so both failure paths are counted.
 * Return value: the number of records refused in this run.
 */
#include "oxbpf_helpers.h"

#define OVERRUN_MAX 256
#define OVERRUN_WORDS 6

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} small_rb SEC(".maps");

__u64 produced;
__u64 dropped;

SEC("raw_tp")
int overrun(__u64 *ctx)
{
	__u64 count = ctx[0];
	__u32 refused = 0;

	for (__u32 i = 0; i < OVERRUN_MAX; i++) {
		__u64 seq;

		if (i >= count)
			break;
		seq = produced++;
		if (seq & 1) {
			__u64 *p = bpf_ringbuf_reserve(&small_rb, OVERRUN_WORDS * 8, 0);

			if (!p) {
				dropped++;
				refused++;
				continue;
			}
			p[0] = seq;
			for (int w = 1; w < OVERRUN_WORDS; w++)
				p[w] = 0;
			bpf_ringbuf_submit(p, 0);
		} else {
			__u64 rec[OVERRUN_WORDS] = { seq };

			if (bpf_ringbuf_output(&small_rb, rec, sizeof(rec), 0)) {
				dropped++;
				refused++;
			}
		}
	}
	return refused;
}

char LICENSE[] SEC("license") = "GPL";

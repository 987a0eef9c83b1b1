// SPDX-License-Identifier: (GPL-2.0-only OR MIT)
/*
 * ringfill: fills the 64 MiB ring buffer `rb` with fixed-size records, from a
 * BPF_PROG_TYPE_SYSCALL program run with BPF_PROG_TEST_RUN (ctx_in = struct
 * fill_args). Used by the ring buffer tests and the benchmark.
 *
 * Input:  count - records to write at most; 0 means "until the ring is full"
 *                 (capped at bpf_loop's limit of 1 << 23 iterations),
 *         size  - record payload size: 64 or 1024 bytes (anything else: the
 *                 program writes nothing and returns -22, EINVAL).
 * Output: the program's return value is the number of records written; it
 *         stops at the first record that does not fit (the ring is full).
 * Record: `size` bytes; the first 8 hold the record's sequence number (a
 *         little-endian __u64 counting from 0 in each run), the rest are zero.
 * Records are written with BPF_RB_NO_WAKEUP: a consumer polls or reads the
 * positions, it is not woken per record.
 */
#include "oxbpf_helpers.h"

#define FILL_SMALL 64
#define FILL_LARGE 1024
#define FILL_MAX_LOOPS (1U << 23)

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 << 20);
} rb SEC(".maps");

struct fill_args {
	__u32 count;
	__u32 size;
};

/* The payload source (.bss): record bytes are copied from here. */
__u8 payload[FILL_LARGE];

struct fill_state {
	__u64 written;
	__u32 large;
};

static long fill_one(__u32 i, void *ctx)
{
	struct fill_state *st = ctx;
	long err;

	*(__u64 *)payload = st->written;
	/* Constant sizes on each branch keep the verifier's bounds exact. */
	if (st->large)
		err = bpf_ringbuf_output(&rb, payload, FILL_LARGE, BPF_RB_NO_WAKEUP);
	else
		err = bpf_ringbuf_output(&rb, payload, FILL_SMALL, BPF_RB_NO_WAKEUP);
	if (err)
		return 1; /* full: stop */
	st->written++;
	return 0;
}

SEC("syscall")
int fill(struct fill_args *args)
{
	struct fill_state st = { .written = 0, .large = 0 };
	__u64 loops = args->count;
	__u32 size = args->size;

	if (size == FILL_LARGE)
		st.large = 1;
	else if (size != FILL_SMALL)
		return -22;
	if (loops == 0 || loops > FILL_MAX_LOOPS)
		loops = FILL_MAX_LOOPS;
	/* Keep `loops` a zero-extended 64-bit register: the kernel's inlined
	 * bpf_loop compares all 64 bits of R1 against its limit. */
	barrier_var(loops);

	bpf_loop(loops, fill_one, &st, 0);
	return st.written;
}

char LICENSE[] SEC("license") = "GPL";

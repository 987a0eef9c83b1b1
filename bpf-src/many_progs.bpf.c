// SPDX-License-Identifier: (GPL-2.0-only OR MIT)
/*
 * many_progs: 64 syscall programs (p00 .. p63) whose verification is slow enough to
 * dominate a load: each walks a bounded loop of MANY_LOOPS iterations that the verifier
 * follows one iteration at a time. They share two maps:
 *
 *   config   ARRAY of 1 __u32: the seed every program starts from
 *   results  ARRAY of 64 __u32: program N writes work(seed, N) to [N]
 *
 * work(seed, n): acc = seed ^ n; then for i in 0..MANY_LOOPS:
 *   acc = acc * 1103515245 + 12345 + i; if (acc & 0x10000) acc ^= n * 2654435761;
 * (all u32, wrapping). A program returns work(seed, N) too; it returns 0xffffffff if the
 * config map could not be read.
 */
#include "oxbpf_helpers.h"

#define MANY_LOOPS 256

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u32);
} results SEC(".maps");

static __always_inline __u32 work(__u32 n)
{
	__u32 zero = 0, acc, i;
	__u32 *seed = bpf_map_lookup_elem(&config, &zero);

	if (!seed)
		return 0xffffffff;
	acc = *seed ^ n;
#pragma clang loop unroll(disable)
	for (i = 0; i < MANY_LOOPS; i++) {
		acc = acc * 1103515245u + 12345u + i;
		if (acc & 0x10000)
			acc ^= n * 2654435761u;
	}
	bpf_map_update_elem(&results, &n, &acc, BPF_ANY);
	return acc;
}

#define PROG(N) \
	SEC("syscall") int p##N(void *ctx) { return work(1##N - 100); }

PROG(00) PROG(01) PROG(02) PROG(03) PROG(04) PROG(05) PROG(06) PROG(07)
PROG(08) PROG(09) PROG(10) PROG(11) PROG(12) PROG(13) PROG(14) PROG(15)
PROG(16) PROG(17) PROG(18) PROG(19) PROG(20) PROG(21) PROG(22) PROG(23)
PROG(24) PROG(25) PROG(26) PROG(27) PROG(28) PROG(29) PROG(30) PROG(31)
PROG(32) PROG(33) PROG(34) PROG(35) PROG(36) PROG(37) PROG(38) PROG(39)
PROG(40) PROG(41) PROG(42) PROG(43) PROG(44) PROG(45) PROG(46) PROG(47)
PROG(48) PROG(49) PROG(50) PROG(51) PROG(52) PROG(53) PROG(54) PROG(55)
PROG(56) PROG(57) PROG(58) PROG(59) PROG(60) PROG(61) PROG(62) PROG(63)

char LICENSE[] SEC("license") = "GPL";

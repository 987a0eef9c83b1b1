// SPDX-License-Identifier: (GPL-2.0-only OR MIT)
/*
 * globals: global data in every kind of section, a bpf-to-bpf call and a
 * bpf_loop callback, on the syscalls/sys_enter_getpid tracepoint.
 *
 *   .rodata       target_tgid (__u32, 0), step (__u64, 1)  - set before load
 *   .data         data_counter (__u64, 100)
 *   .bss          bss_hits (__u64), bss_last_sum (__u64)
 *   .data.custom  custom_counter (__u32, 7)
 *
 * On each getpid() by the process whose tgid == target_tgid:
 *   bss_hits      = bump(&bss_hits, step)     (a real call to a subprogram)
 *   data_counter += step
 *   custom_counter += 1
 *   bss_last_sum  = 0 + 1 + 2 + 3 = 6         (bpf_loop(4, sum_cb, ...))
 * Other processes leave everything untouched.
 */
#include "oxbpf_helpers.h"

const volatile __u32 target_tgid = 0;
const volatile __u64 step = 1;

__u64 data_counter = 100;

__u64 bss_hits;
__u64 bss_last_sum;

__u32 custom_counter SEC(".data.custom") = 7;

/* A subprogram, kept out of line: the caller gets `call` + a relocation. */
static __noinline __u64 bump(__u64 *slot, __u64 by)
{
	__u64 v = *slot;

	return v + by;
}

struct sum_ctx {
	__u64 sum;
};

/* bpf_loop callback: adds each index to the caller's stack struct. */
static long sum_cb(__u32 i, void *ctx)
{
	struct sum_ctx *c = ctx;

	c->sum += i;
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_getpid")
int on_getpid(void *ctx)
{
	struct sum_ctx sc = { .sum = 0 };
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	__u64 *slot = &bss_hits;

	if (tgid != target_tgid)
		return 0;

	/* Hide the pointer's value so clang keeps bump()'s two arguments
	 * instead of specialising it for &bss_hits. */
	barrier_var(slot);
	bss_hits = bump(slot, step);
	data_counter += step;
	custom_counter += 1;

	bpf_loop(4, sum_cb, &sc, 0);
	bss_last_sum = sc.sum;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

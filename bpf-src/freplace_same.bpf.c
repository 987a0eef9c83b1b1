// SPDX-License-Identifier: (GPL-2.0-only OR MIT)
/*
 * freplace_same: an freplace program whose target is a program of the same object, so
 * the loader must load the target first and pass its fd (attach_prog_fd) and the
 * function's BTF id (attach_btf_id).
 *
 *   caller       (syscall) returns compute(41): 42 while nothing replaces compute
 *   new_compute  (freplace/compute) a replacement returning x * 3 (123 once attached)
 *
 * The freplace program comes first in the object, before its target.
 */
#include "oxbpf_helpers.h"

__attribute__((noinline)) int compute(int x)
{
	return x + 1;
}

SEC("freplace/compute")
int new_compute(int x)
{
	return x * 3;
}

SEC("syscall")
int caller(void *ctx)
{
	return compute(41);
}

char LICENSE[] SEC("license") = "GPL";

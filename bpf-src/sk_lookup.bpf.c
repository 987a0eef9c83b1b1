// SPDX-License-Identifier: (GPL-2.0-only OR MIT)
/*
 * sk_lookup: steers TCP connections for local port 7777 to the socket in `target`.
 *
 * Map `target`: BPF_MAP_TYPE_SOCKMAP, 1 entry (key __u32 0, value __u64 socket fd when
 * written from user space). Array `steered` (1 x __u64): connections assigned.
 */
#include "oxbpf_helpers.h"

struct {
	__uint(type, BPF_MAP_TYPE_SOCKMAP);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} target SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} steered SEC(".maps");

SEC("sk_lookup")
int steer_7777(struct bpf_sk_lookup *ctx)
{
	__u32 zero = 0;
	__u64 *n;
	void *sk;
	long err;

	if (ctx->protocol != 6 /* IPPROTO_TCP */ || ctx->local_port != 7777)
		return SK_PASS;
	sk = bpf_map_lookup_elem(&target, &zero);
	if (!sk)
		return SK_PASS;
	err = bpf_sk_assign(ctx, sk, 0);
	bpf_sk_release(sk);
	if (err)
		return SK_DROP;
	n = bpf_map_lookup_elem(&steered, &zero);
	if (n)
		__sync_fetch_and_add(n, 1);
	return SK_PASS;
}

char LICENSE[] SEC("license") = "GPL";

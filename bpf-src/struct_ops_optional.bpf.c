// SPDX-License-Identifier: (GPL-2.0-only OR MIT)
/*
 * struct_ops_optional: a `?.struct_ops` map (libbpf's autocreate off) next to a plain
 * `.struct_ops` one. oxopt_missing's type, `tcp_congestion_ops___missing` (the kernel's
 * tcp_congestion_ops, flavored), has a member `does_not_exist` the kernel lacks: creating
 * that map fails, so the object loads only if the loader leaves it out, as libbpf does,
 * and its program oxopt_never (referenced by no created map) is not loaded either.
 * oxopt_cc (`.struct_ops`, name "oxopt_cc") is created as usual.
 */
#include "oxbpf_helpers.h"

struct sock;

struct tcp_congestion_ops {
	__u32 (*ssthresh)(struct sock *sk);
	void (*cong_avoid)(struct sock *sk, __u32 ack, __u32 acked);
	__u32 (*undo_cwnd)(struct sock *sk);
	char name[16];
};

struct tcp_congestion_ops___missing {
	__u32 (*ssthresh)(struct sock *sk);
	void (*cong_avoid)(struct sock *sk, __u32 ack, __u32 acked);
	__u32 (*undo_cwnd)(struct sock *sk);
	void (*does_not_exist)(struct sock *sk);
	char name[16];
};

SEC("struct_ops/oxopt_ssthresh")
__u32 oxopt_ssthresh(__u64 *ctx)
{
	return 2;
}

SEC("struct_ops/oxopt_cong_avoid")
void oxopt_cong_avoid(__u64 *ctx)
{
}

SEC("struct_ops/oxopt_undo_cwnd")
__u32 oxopt_undo_cwnd(__u64 *ctx)
{
	return 10;
}

SEC("struct_ops/oxopt_never")
void oxopt_never(__u64 *ctx)
{
}

SEC(".struct_ops")
struct tcp_congestion_ops oxopt_cc = {
	.ssthresh = (void *)oxopt_ssthresh,
	.cong_avoid = (void *)oxopt_cong_avoid,
	.undo_cwnd = (void *)oxopt_undo_cwnd,
	.name = "oxopt_cc",
};

SEC("?.struct_ops")
struct tcp_congestion_ops___missing oxopt_missing = {
	.ssthresh = (void *)oxopt_ssthresh,
	.cong_avoid = (void *)oxopt_cong_avoid,
	.undo_cwnd = (void *)oxopt_undo_cwnd,
	.does_not_exist = (void *)oxopt_never,
	.name = "oxopt_missing",
};

char LICENSE[] SEC("license") = "GPL";

// SPDX-License-Identifier: (GPL-2.0-only OR MIT)
/*
 * struct_ops_obj: a TCP congestion control declared as a struct_ops variable, so the
 * loader builds the struct_ops map from the object: oxbpf_cc (SEC(".struct_ops"), name
 * "oxobj_cc"), registered with the map update (Linux 5.6+). `init` runs when a socket
 * starts using the algorithm: it counts into `init_calls`. `flags` is
 * TCP_CONG_NON_RESTRICTED, so a network namespace other than the initial one may make
 * the algorithm its default (the kernel test does, to use it without setsockopt).
 * `struct tcp_congestion_ops` here declares only the members used; the loader matches
 * them by name against the kernel's type and copies non-function members (`name`,
 * `flags`) from this shadow data. struct_ops_link.bpf.c adds a .struct_ops.link map.
 */
#include "oxbpf_helpers.h"

struct sock;

/* include/net/tcp.h: any netns may pick the algorithm (not only the initial one). */
#define TCP_CONG_NON_RESTRICTED 0x1

struct tcp_congestion_ops {
	__u32 (*ssthresh)(struct sock *sk);
	void (*cong_avoid)(struct sock *sk, __u32 ack, __u32 acked);
	__u32 (*undo_cwnd)(struct sock *sk);
	void (*init)(struct sock *sk);
	__u32 flags;
	char name[16];
};

__u64 init_calls;

SEC("struct_ops/oxobj_ssthresh")
__u32 oxobj_ssthresh(__u64 *ctx)
{
	return 2;
}

SEC("struct_ops/oxobj_cong_avoid")
void oxobj_cong_avoid(__u64 *ctx)
{
}

SEC("struct_ops/oxobj_undo_cwnd")
__u32 oxobj_undo_cwnd(__u64 *ctx)
{
	return 10;
}

SEC("struct_ops/oxobj_init")
void oxobj_init(__u64 *ctx)
{
	__sync_fetch_and_add(&init_calls, 1);
}

SEC(".struct_ops")
struct tcp_congestion_ops oxbpf_cc = {
	.ssthresh = (void *)oxobj_ssthresh,
	.cong_avoid = (void *)oxobj_cong_avoid,
	.undo_cwnd = (void *)oxobj_undo_cwnd,
	.init = (void *)oxobj_init,
	.flags = TCP_CONG_NON_RESTRICTED,
	.name = "oxobj_cc",
};

char LICENSE[] SEC("license") = "GPL";

// SPDX-License-Identifier: (GPL-2.0-only OR MIT)
/*
 * struct_ops_link: the programs of struct_ops_obj.bpf.c serving two TCP congestion
 * controls at once (a program may implement the same member of several maps):
 * - oxbpf_ccp (SEC(".struct_ops"), name "oxobj_ccp"): registered with the map update;
 * - oxbpf_ccl (SEC(".struct_ops.link"), name "oxobj_ccl"): created with BPF_F_LINK and
 *   registered by a BPF_LINK_CREATE (BPF_STRUCT_OPS, Linux 6.4+), unregistered when the
 *   link closes.
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
struct tcp_congestion_ops oxbpf_ccp = {
	.ssthresh = (void *)oxobj_ssthresh,
	.cong_avoid = (void *)oxobj_cong_avoid,
	.undo_cwnd = (void *)oxobj_undo_cwnd,
	.init = (void *)oxobj_init,
	.flags = TCP_CONG_NON_RESTRICTED,
	.name = "oxobj_ccp",
};

SEC(".struct_ops.link")
struct tcp_congestion_ops oxbpf_ccl = {
	.ssthresh = (void *)oxobj_ssthresh,
	.cong_avoid = (void *)oxobj_cong_avoid,
	.undo_cwnd = (void *)oxobj_undo_cwnd,
	.init = (void *)oxobj_init,
	.flags = TCP_CONG_NON_RESTRICTED,
	.name = "oxobj_ccl",
};

char LICENSE[] SEC("license") = "GPL";

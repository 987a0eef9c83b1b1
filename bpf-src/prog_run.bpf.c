// SPDX-License-Identifier: (GPL-2.0-only OR MIT)
/*
 * prog_run: programs whose results BPF_PROG_TEST_RUN reads back (`oxbpf prog run`).
 *
 * `sock_len` (SEC "socket"): returns skb->len (the packet without its Ethernet header).
 * `xdp_swap` (SEC "xdp"): swaps the destination and source MAC addresses of a frame of
 *   at least 14 bytes and returns XDP_TX (3); shorter frames: XDP_DROP (1).
 * `xdp_len` (SEC "xdp"): returns bpf_xdp_get_buff_len() (the frame's whole length).
 * `frags_len` (SEC "xdp.frags"): the same, loaded with BPF_F_XDP_HAS_FRAGS, so it runs
 *   on frames larger than a page (which the kernel builds with fragments).
 * `sum_args` (SEC "syscall"): ctx is struct args { u32 a, b; u64 sum; }: sets
 *   sum = a + b and returns a * b.
 * `raw_args` (SEC "raw_tp/sys_enter"): returns ctx[0] + 2 * ctx[1] (the u64 arguments).
 * `kp` (SEC "kprobe/do_nanosleep"): a program type with no test run (returns 0).
 */
#include "oxbpf_helpers.h"

static __u64 (* const bpf_xdp_get_buff_len)(struct xdp_md *ctx) = (void *) 188;

SEC("socket")
int sock_len(struct __sk_buff *skb)
{
	return skb->len;
}

SEC("xdp")
int xdp_swap(struct xdp_md *ctx)
{
	__u8 *p = (__u8 *)(long)ctx->data;
	__u8 *end = (__u8 *)(long)ctx->data_end;
	__u8 t;
	int i;

	if (p + 14 > end)
		return XDP_DROP;
	for (i = 0; i < 6; i++) {
		t = p[i];
		p[i] = p[i + 6];
		p[i + 6] = t;
	}
	return XDP_TX;
}

SEC("xdp")
int xdp_len(struct xdp_md *ctx)
{
	return bpf_xdp_get_buff_len(ctx);
}

SEC("xdp.frags")
int frags_len(struct xdp_md *ctx)
{
	return bpf_xdp_get_buff_len(ctx);
}

struct args {
	__u32 a;
	__u32 b;
	__u64 sum;
};

SEC("syscall")
int sum_args(struct args *ctx)
{
	ctx->sum = (__u64)ctx->a + ctx->b;
	return ctx->a * ctx->b;
}

SEC("raw_tp/sys_enter")
int raw_args(__u64 *ctx)
{
	return ctx[0] + 2 * ctx[1];
}

SEC("kprobe/do_nanosleep")
int kp(void *ctx)
{
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

// SPDX-License-Identifier: (GPL-2.0-only OR MIT)
/*
 * redirect: XDP redirects through a devmap and a cpumap, and the programs those maps run
 * on redirected frames, for the DevMap / CpuMap tests (run with BPF_PROG_TEST_RUN on
 * live frames, 5.18+).
 *
 *   to_dev (xdp): bpf_redirect_map(&devs, 0, 0).
 *   to_cpu (xdp): bpf_redirect_map(&cpus, 0, 0).
 *   on_dev (xdp/devmap): a devmap entry's program: counts `dev_runs` and the
 *       `dev_ifindex` it runs for (ctx->egress_ifindex), drops the frame.
 *   on_cpu (xdp/cpumap): a cpumap entry's program, run by the CPU's kthread: counts
 *       `cpu_runs`, drops the frame.
 *   pass (xdp): lets everything through; attached natively to the target veth's peer,
 *       since a veth only accepts redirected frames (NETDEV_XDP_ACT_NDO_XMIT) while its
 *       peer has an XDP program (or GRO).
 *
 * Maps: `devs` DEVMAP of 4 with struct bpf_devmap_val values, `cpus` CPUMAP of 4 with
 * struct bpf_cpumap_val values.
 */
#include "oxbpf_helpers.h"

/* 51: redirect to the target of `key` in `map`. */
static long (* const bpf_redirect_map)(void *map, __u64 key, __u64 flags) = (void *) 51;

struct xdp_md_full {
	__u32 data;
	__u32 data_end;
	__u32 data_meta;
	__u32 ingress_ifindex;
	__u32 rx_queue_index;
	__u32 egress_ifindex;
};

struct bpf_devmap_val {
	__u32 ifindex;
	union {
		int fd;
		__u32 id;
	} bpf_prog;
};

struct bpf_cpumap_val {
	__u32 qsize;
	union {
		int fd;
		__u32 id;
	} bpf_prog;
};

struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, struct bpf_devmap_val);
} devs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_CPUMAP);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, struct bpf_cpumap_val);
} cpus SEC(".maps");

__u64 dev_runs;
__u32 dev_ifindex;
__u64 cpu_runs;

SEC("xdp")
int to_dev(struct xdp_md_full *ctx)
{
	return bpf_redirect_map(&devs, 0, 0);
}

SEC("xdp")
int to_cpu(struct xdp_md_full *ctx)
{
	return bpf_redirect_map(&cpus, 0, 0);
}

SEC("xdp/devmap")
int on_dev(struct xdp_md_full *ctx)
{
	__sync_fetch_and_add(&dev_runs, 1);
	dev_ifindex = ctx->egress_ifindex;
	return 1; /* XDP_DROP */
}

SEC("xdp/cpumap")
int on_cpu(struct xdp_md_full *ctx)
{
	__sync_fetch_and_add(&cpu_runs, 1);
	return 1; /* XDP_DROP */
}

SEC("xdp")
int pass(struct xdp_md_full *ctx)
{
	return 2; /* XDP_PASS */
}

char LICENSE[] SEC("license") = "GPL";

// SPDX-License-Identifier: (GPL-2.0-only OR MIT)
/*
 * cgroup_hooks: one program per cgroup hook family beyond cgroup_skb, each counting what
 * it saw in array `hits` (16 x __u64) and, where the hook can, changing the outcome so a
 * test sees the program ran:
 *
 *   hits[0]  sockops: BPF_SOCK_OPS_TCP_CONNECT_CB       hits[1]  ACTIVE_ESTABLISHED_CB
 *   hits[2]  cgroup/sock_create: IPv4 sockets created   hits[3]  cgroup/connect4 rewrites
 *   hits[4]  cgroup/sysctl: reads of "ostype"           hits[5]  cgroup/getsockopt SO_MARK
 *   hits[6]  cgroup/dev: accesses to char 1:5 (/dev/zero), refused
 *   hits[7]  cgroup/post_bind4: binds                   hits[8]  cgroup/setsockopt SO_MARK
 *   hits[9]  cgroup/sock_create by the second, multi-attached program
 *
 * `.rodata`-free: the connect4 rewrite reads its ports from array `ports`
 * (0: the port connected to, 1: the port it is rewritten to; host byte order).
 */
#include "oxbpf_helpers.h"
#include "oxbpf_sock.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, __u64);
} hits SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u32);
} ports SEC(".maps");

static __always_inline void hit(__u32 slot)
{
	__u64 *v = bpf_map_lookup_elem(&hits, &slot);

	if (v)
		__sync_fetch_and_add(v, 1);
}

static __always_inline __u16 bswap16(__u16 x)
{
	return (__u16)((x << 8) | (x >> 8));
}

SEC("sockops")
int count_sockops(struct bpf_sock_ops *ctx)
{
	if (ctx->op == BPF_SOCK_OPS_TCP_CONNECT_CB)
		hit(0);
	else if (ctx->op == BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB)
		hit(1);
	return 1;
}

SEC("cgroup/sock_create")
int count_sock_create(struct bpf_sock *sk)
{
	if (sk->family == 2 /* AF_INET */)
		hit(2);
	return 1;
}

SEC("cgroup/sock_create")
int count_sock_create_too(struct bpf_sock *sk)
{
	if (sk->family == 2)
		hit(9);
	return 1;
}

SEC("cgroup/post_bind4")
int count_post_bind4(struct bpf_sock *sk)
{
	hit(7);
	return 1;
}

SEC("cgroup/connect4")
int rewrite_connect4(struct bpf_sock_addr *ctx)
{
	__u32 k0 = 0, k1 = 1, *from, *to;

	from = bpf_map_lookup_elem(&ports, &k0);
	to = bpf_map_lookup_elem(&ports, &k1);
	if (!from || !to || !*from)
		return 1;
	if (ctx->user_port == bswap16((__u16)*from)) {
		ctx->user_port = bswap16((__u16)*to);
		hit(3);
	}
	return 1;
}

SEC("cgroup/sysctl")
int count_sysctl(struct bpf_sysctl *ctx)
{
	char name[8] = {};

	if (ctx->write)
		return 1;
	if (bpf_sysctl_get_name(ctx, name, sizeof(name), BPF_F_SYSCTL_BASE_NAME) != 6)
		return 1;
	if (name[0] == 'o' && name[1] == 's' && name[2] == 't' && name[3] == 'y' &&
	    name[4] == 'p' && name[5] == 'e')
		hit(4);
	return 1;
}

#define SOL_SOCKET 1
#define SO_MARK 36

SEC("cgroup/getsockopt")
int getsockopt_mark(struct bpf_sockopt *ctx)
{
	__u32 *val = ctx->optval;

	if (ctx->level != SOL_SOCKET || ctx->optname != SO_MARK)
		return 1;
	if ((void *)(val + 1) > ctx->optval_end)
		return 1;
	/* Report a mark the socket does not have: the caller sees the program's answer. */
	*val = 0x0bbf;
	ctx->optlen = 4;
	/* Separate 4-byte stores: the context takes no 8-byte write over both fields. */
	barrier();
	ctx->retval = 0;
	hit(5);
	return 1;
}

SEC("cgroup/setsockopt")
int setsockopt_mark(struct bpf_sockopt *ctx)
{
	if (ctx->level == SOL_SOCKET && ctx->optname == SO_MARK)
		hit(8);
	/* optlen 0 keeps the caller's buffer; -1 would bypass the kernel handler. */
	ctx->optlen = 0;
	return 1;
}

SEC("cgroup/dev")
int deny_dev_zero(struct bpf_cgroup_dev_ctx *ctx)
{
	if ((ctx->access_type & 0xffff) == BPF_DEVCG_DEV_CHAR && ctx->major == 1 &&
	    ctx->minor == 5) {
		hit(6);
		return 0;
	}
	return 1;
}

char LICENSE[] SEC("license") = "GPL";

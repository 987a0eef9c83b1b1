// SPDX-License-Identifier: (GPL-2.0-only OR MIT)
/*
 * usdt: a USDT probe program reading its arguments through oxbpf's spec map (the layout
 * documented in crates/oxbpf-attach/src/usdt.rs). oxbpf_usdt_attach writes one spec per
 * probe site into `oxbpf_usdt_specs` and attaches a uprobe whose BPF cookie is the
 * site's spec id (bpf_get_attach_cookie: Linux 5.15).
 *
 * Map `seen`: BPF_MAP_TYPE_ARRAY of 8 __u64: [0] hits, [1] argument count, [2..5] the
 * first four arguments of the last hit, [6] the spec's cookie, [7] errors (a missing spec
 * or an unreadable argument).
 */
#include "oxbpf_helpers.h"

/* Helpers this fixture needs beyond the shared header. */
static long (* const usdt_probe_read_user)(void *dst, __u32 size, const void *src) = (void *) 112;
static long (* const usdt_probe_read_kernel)(void *dst, __u32 size, const void *src) = (void *) 113;

#define OXBPF_USDT_MAX_ARGS 12

struct oxbpf_usdt_arg {
	__s64 value;
	__u16 reg_off;
	__u8 kind; /* 0 constant, 1 register, 2 memory at register + value */
	__u8 size;
	__u8 is_signed;
	__u8 _pad[3];
};

struct oxbpf_usdt_spec {
	struct oxbpf_usdt_arg args[OXBPF_USDT_MAX_ARGS];
	__u64 cookie;
	__u16 arg_cnt;
	__u8 _pad[6];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, struct oxbpf_usdt_spec);
} oxbpf_usdt_specs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, __u64);
} seen SEC(".maps");

/* Argument `n` of the probe that fired into *res; 0 or a negative error. */
static __always_inline int oxbpf_usdt_arg(void *ctx, __u32 n, __s64 *res)
{
	__u32 id = (__u32)bpf_get_attach_cookie(ctx);
	struct oxbpf_usdt_spec *spec = bpf_map_lookup_elem(&oxbpf_usdt_specs, &id);
	struct oxbpf_usdt_arg *a;
	__u64 val = 0;
	int shift;

	if (!spec)
		return -1;
	if (n >= OXBPF_USDT_MAX_ARGS || n >= spec->arg_cnt)
		return -2;
	a = &spec->args[n];
	switch (a->kind) {
	case 0:
		val = a->value;
		break;
	case 1:
		if (usdt_probe_read_kernel(&val, sizeof(val), (char *)ctx + (a->reg_off & 0xff)))
			return -3;
		break;
	case 2:
		if (usdt_probe_read_kernel(&val, sizeof(val), (char *)ctx + (a->reg_off & 0xff)))
			return -3;
		if (usdt_probe_read_user(&val, sizeof(val), (void *)(val + a->value)))
			return -4;
		break;
	default:
		return -5;
	}
	shift = 64 - 8 * (a->size & 0xf);
	if (shift > 0 && shift < 64) {
		val <<= shift;
		if (a->is_signed)
			val = (__u64)((__s64)val >> shift);
		else
			val >>= shift;
	}
	*res = (__s64)val;
	return 0;
}

static __always_inline void put(__u32 slot, __u64 v)
{
	__u64 *p = bpf_map_lookup_elem(&seen, &slot);

	if (p)
		*p = v;
}

SEC("usdt")
int on_hit(void *ctx)
{
	__u32 zero = 0, errs = 7, id = (__u32)bpf_get_attach_cookie(ctx);
	struct oxbpf_usdt_spec *spec = bpf_map_lookup_elem(&oxbpf_usdt_specs, &id);
	__u64 *p;
	__s64 v;
	__u32 i;

	if (!spec) {
		p = bpf_map_lookup_elem(&seen, &errs);
		if (p)
			__sync_fetch_and_add(p, 1);
		return 0;
	}
	put(1, spec->arg_cnt);
	put(6, spec->cookie);
	for (i = 0; i < 4; i++) {
		if (oxbpf_usdt_arg(ctx, i, &v) == 0) {
			put(2 + i, (__u64)v);
		} else if (i < spec->arg_cnt) {
			p = bpf_map_lookup_elem(&seen, &errs);
			if (p)
				__sync_fetch_and_add(p, 1);
		}
	}
	p = bpf_map_lookup_elem(&seen, &zero);
	if (p)
		__sync_fetch_and_add(p, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

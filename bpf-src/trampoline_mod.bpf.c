// SPDX-License-Identifier: (GPL-2.0-only OR MIT)
/*
 * trampoline_mod: fentry and fexit on a function of a module, veth_open of the veth
 * module (`fentry/<module>:<function>`: attach_btf_id from the module's BTF, its BTF
 * object as attach_btf_obj_fd). Counts in array `opens` (0 fentry, 1 fexit): bringing a
 * veth device up calls veth_open. Needs trampolines and veth as a module with BTF.
 */
#include "oxbpf_helpers.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} opens SEC(".maps");

static __always_inline void bump(__u32 i)
{
	__u64 *v = bpf_map_lookup_elem(&opens, &i);

	if (v)
		__sync_fetch_and_add(v, 1);
}

/* int veth_open(struct net_device *dev) */
SEC("fentry/veth:veth_open")
int fentry_veth_open(__u64 *ctx)
{
	bump(0);
	return 0;
}

SEC("fexit/veth:veth_open")
int fexit_veth_open(__u64 *ctx)
{
	bump(1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

// SPDX-License-Identifier: (GPL-2.0-only OR MIT)
/*
 * cgroup_storage: legacy cgroup storage (BPF_MAP_TYPE_CGROUP_STORAGE, 4.19+, and
 * BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE, 4.20+) used by a cgroup_skb program, for the
 * CgroupStorage / PerCpuCgroupStorage views. Entries exist per (cgroup, attach type)
 * the program is attached to, keyed by struct bpf_cgroup_storage_key.
 *
 *   cg_egress (cgroup_skb/egress): for each packet, in `cg_shared` (struct val):
 *       `seen_user` (.bss) := from_user, packets++; in `cg_percpu` (__u64 per CPU): this
 *       CPU's count++. Lets every packet through.
 */
#include "oxbpf_helpers.h"

/* 81: this program's storage of `map` for the cgroup it runs for. */
static void *(* const bpf_get_local_storage)(void *map, __u64 flags) = (void *) 81;

struct bpf_cgroup_storage_key {
	__u64 cgroup_inode_id;
	__u32 attach_type;
};

struct val {
	__u64 from_user;
	__u64 packets;
};

struct {
	__uint(type, BPF_MAP_TYPE_CGROUP_STORAGE);
	__type(key, struct bpf_cgroup_storage_key);
	__type(value, struct val);
} cg_shared SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE);
	__type(key, struct bpf_cgroup_storage_key);
	__type(value, __u64);
} cg_percpu SEC(".maps");

__u64 seen_user;

SEC("cgroup_skb/egress")
int cg_egress(struct __sk_buff *skb)
{
	struct val *v = bpf_get_local_storage(&cg_shared, 0);
	__u64 *c = bpf_get_local_storage(&cg_percpu, 0);

	seen_user = v->from_user;
	__sync_fetch_and_add(&v->packets, 1);
	*c += 1;
	return 1;
}

char LICENSE[] SEC("license") = "GPL";

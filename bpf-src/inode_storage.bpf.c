// SPDX-License-Identifier: (GPL-2.0-only OR MIT)
/*
 * inode_storage: an inode local storage map (BPF_MAP_TYPE_INODE_STORAGE, 5.10+, needs
 * CONFIG_BPF_LSM) for the InodeStorage view. Only BPF LSM programs may call
 * bpf_inode_storage_get, and the host refuses LSM programs, so user space alone uses the
 * map; `keep` is a socket filter that does nothing, so the object has a program.
 */
#include "oxbpf_helpers.h"

struct val {
	__u64 from_user;
	__u64 from_prog;
	__u64 hits;
};

struct {
	__uint(type, BPF_MAP_TYPE_INODE_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct val);
} inode_store SEC(".maps");

SEC("socket")
int keep(void *ctx)
{
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

// SPDX-License-Identifier: (GPL-2.0-only OR MIT)
/*
 * cgrp_storage: cgroup local storage (BPF_MAP_TYPE_CGRP_STORAGE, 6.2+) written by a
 * program that really runs, for the CgrpStorage view.
 *
 *   on_getpid (tp_btf/sys_enter, syscall 39 = getpid, only for the thread `target_tid`):
 *       the storage of the current task's cgroup v2 (task->cgroups->dfl_cgrp, the cgroup
 *       whose directory user space opens) is fetched with BPF_LOCAL_STORAGE_GET_F_CREATE;
 *       `cg_seen` := from_user, then from_prog := CG_MAGIC ^ from_user, hits++.
 */
#include "oxbpf_helpers.h"

#define CG_MAGIC 0xc9a0000000000004ULL
#define GET_F_CREATE 1

static void *(* const bpf_cgrp_storage_get)(void *map, void *cgroup, void *value, __u64 flags) = (void *) 210;
static void *(* const bpf_get_current_task_btf)(void) = (void *) 158;

struct cgroup;

struct css_set {
	struct cgroup *dfl_cgrp;
} __attribute__((preserve_access_index));

struct task_struct {
	struct css_set *cgroups;
} __attribute__((preserve_access_index));

struct val {
	__u64 from_user;
	__u64 from_prog;
	__u64 hits;
};

struct {
	__uint(type, BPF_MAP_TYPE_CGRP_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct val);
} cg_store SEC(".maps");

__u32 target_tid;
__u64 cg_seen;

SEC("tp_btf/sys_enter")
int on_getpid(__u64 *ctx)
{
	struct task_struct *task;
	struct val *v;

	if (ctx[1] != 39 || target_tid == 0 || (__u32)bpf_get_current_pid_tgid() != target_tid)
		return 0;
	task = bpf_get_current_task_btf();
	v = bpf_cgrp_storage_get(&cg_store, task->cgroups->dfl_cgrp, 0, GET_F_CREATE);
	if (!v)
		return 0;
	cg_seen = v->from_user;
	v->from_prog = CG_MAGIC ^ v->from_user;
	v->hits++;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

// SPDX-License-Identifier: (GPL-2.0-only OR MIT)
/*
 * storage: local storage maps written by programs that really run, for the typed
 * storage views (5.11+: task and socket storage from tracing programs).
 *
 * Every value is struct val { __u64 from_user, from_prog, hits; }. Programs act only
 * for the thread whose id user space puts in `target_tid` (.bss).
 *
 *   on_getpid (tp_btf/sys_enter, syscall 39 = getpid): the task storage `task_store` of
 *       our process (current->group_leader, which a pidfd names) is fetched with
 *       BPF_LOCAL_STORAGE_GET_F_CREATE; `task_seen` := from_user, then from_prog :=
 *       TASK_MAGIC ^ from_user, hits++.
 *   on_sock_state (tp_btf/inet_sock_set_state): a socket of ours changing TCP state:
 *       if it has `sk_store` storage (written by user space, no create), `sk_seen` :=
 *       from_user, from_prog := SK_MAGIC ^ from_user, hits++; and a socket entering
 *       TCP_LISTEN gets `sk_made` storage created with from_prog := LISTEN_MAGIC, hits++.
 */
#include "oxbpf_helpers.h"

#define TASK_MAGIC 0x7a5c000000000001ULL
#define SK_MAGIC 0x5c0c000000000002ULL
#define LISTEN_MAGIC 0x115e000000000003ULL
#define GET_F_CREATE 1
#define TCP_LISTEN 10

static void *(* const bpf_sk_storage_get)(void *map, void *sk, void *value, __u64 flags) = (void *) 107;
static void *(* const bpf_task_storage_get)(void *map, void *task, void *value, __u64 flags) = (void *) 156;
static void *(* const bpf_get_current_task_btf)(void) = (void *) 158;

struct task_struct {
	struct task_struct *group_leader;
} __attribute__((preserve_access_index));

struct sock;

struct val {
	__u64 from_user;
	__u64 from_prog;
	__u64 hits;
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct val);
} task_store SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct val);
} sk_store SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct val);
} sk_made SEC(".maps");

__u32 target_tid;
__u64 task_seen;
__u64 sk_seen;
__u64 listens;

static __always_inline int ours(void)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();

	return target_tid != 0 && tid == target_tid;
}

SEC("tp_btf/sys_enter")
int on_getpid(__u64 *ctx)
{
	struct task_struct *task;
	struct val *v;

	if (ctx[1] != 39 || !ours())
		return 0;
	task = bpf_get_current_task_btf();
	v = bpf_task_storage_get(&task_store, task->group_leader, 0, GET_F_CREATE);
	if (!v)
		return 0;
	task_seen = v->from_user;
	v->from_prog = TASK_MAGIC ^ v->from_user;
	v->hits++;
	return 0;
}

SEC("tp_btf/inet_sock_set_state")
int on_sock_state(__u64 *ctx)
{
	struct sock *sk = (struct sock *)ctx[0];
	int newstate = (int)ctx[2];
	struct val *v;

	if (!ours())
		return 0;
	v = bpf_sk_storage_get(&sk_store, sk, 0, 0);
	if (v) {
		sk_seen = v->from_user;
		v->from_prog = SK_MAGIC ^ v->from_user;
		v->hits++;
	}
	if (newstate == TCP_LISTEN) {
		v = bpf_sk_storage_get(&sk_made, sk, 0, GET_F_CREATE);
		if (v) {
			v->from_prog = LISTEN_MAGIC;
			v->hits++;
			listens++;
		}
	}
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

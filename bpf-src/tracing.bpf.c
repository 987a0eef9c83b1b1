// SPDX-License-Identifier: (GPL-2.0-only OR MIT)
/*
 * tracing: one program per tracing hook that runs on the host kernel, each counting
 * into `counts` (see the slot enum) for the thread `target_tid` only.
 */
#include "oxbpf_helpers.h"

/* Slots of `counts`. */
enum {
	RAW_TP_GETPID = 0, /* raw_tp sys_enter with syscall nr 39 (getpid) */
	TP_BTF_EXEC = 1,   /* tp_btf sched_process_exec, any process */
	UPROBE_HITS = 2,   /* uprobe entries */
	UPROBE_ARG = 3,    /* first argument (di) of the last uprobe entry */
	URETPROBE_HITS = 4,
	URETPROBE_RET = 5, /* return value (ax) of the last uretprobe */
	MULTI_HITS = 6,    /* uprobe.multi entries */
	PERF_HITS = 7,     /* perf_event samples, any thread */
	ITER_TASKS = 8,    /* tasks the iterator saw */
	LIBC_GETPID = 9,   /* uprobe on libc's getpid */
	NSLOTS = 16,
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, NSLOTS);
	__type(key, __u32);
	__type(value, __u64);
} counts SEC(".maps");

/* Exec'd processes by the pid they had before exec (tp_btf). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u32);
} execs SEC(".maps");

/* The thread whose events count (set before load; 0 counts every thread). */
const volatile __u32 target_tid = 0;

static __always_inline int mine(void)
{
	return target_tid == 0 || (__u32)bpf_get_current_pid_tgid() == target_tid;
}

static __always_inline void add(__u32 slot, __u64 n)
{
	__u64 *v = bpf_map_lookup_elem(&counts, &slot);

	if (v)
		__sync_fetch_and_add(v, n);
}

static __always_inline void set(__u32 slot, __u64 x)
{
	__u64 *v = bpf_map_lookup_elem(&counts, &slot);

	if (v)
		*v = x;
}

/* ctx->args[1] of sys_enter is the syscall number. */
SEC("raw_tp/sys_enter")
int raw_getpid(__u64 *ctx)
{
	if (ctx[1] == 39 && mine())
		add(RAW_TP_GETPID, 1);
	return 0;
}

/* (struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm) */
SEC("tp_btf/sched_process_exec")
int btf_exec(__u64 *ctx)
{
	__u32 old_pid = (__u32)ctx[1];
	__u32 one = 1;

	bpf_map_update_elem(&execs, &old_pid, &one, BPF_ANY);
	add(TP_BTF_EXEC, 1);
	return 0;
}

SEC("uprobe")
int on_entry(void *ctx)
{
	if (!mine())
		return 0;
	add(UPROBE_HITS, 1);
	set(UPROBE_ARG, *(__u64 *)((char *)ctx + PT_REGS_DI));
	return 0;
}

SEC("uretprobe")
int on_return(void *ctx)
{
	if (!mine())
		return 0;
	add(URETPROBE_HITS, 1);
	set(URETPROBE_RET, *(__u64 *)((char *)ctx + PT_REGS_AX));
	return 0;
}

SEC("uprobe.multi")
int on_multi(void *ctx)
{
	if (mine())
		add(MULTI_HITS, 1);
	return 0;
}

SEC("uprobe/libc.so.6:getpid")
int libc_getpid(void *ctx)
{
	if (mine())
		add(LIBC_GETPID, 1);
	return 0;
}

SEC("perf_event")
int on_sample(void *ctx)
{
	add(PERF_HITS, 1);
	return 0;
}

/* Writes one byte per task, so the output's length is the number of tasks seen. */
SEC("iter/task")
int each_task(struct bpf_iter__task *ctx)
{
	struct seq_file *seq = ctx->meta->seq;
	char c = 't';

	if (!ctx->task)
		return 0;
	bpf_seq_write(seq, &c, 1);
	add(ITER_TASKS, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

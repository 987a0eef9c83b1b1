// SPDX-License-Identifier: (GPL-2.0-only OR MIT)
/*
 * externs: libbpf-style externs, resolved by the loader on the running kernel.
 *
 * read_externs (raw_tp, run with BPF_PROG_TEST_RUN; loads on 5.10+) records into .bss:
 *   kernel_version     LINUX_KERNEL_VERSION
 *   bpf_syscall        CONFIG_BPF_SYSCALL as bool
 *   bpf_char           CONFIG_BPF as char ('y')
 *   veth               CONFIG_VETH as enum libbpf_tristate (__weak: 0 if not set)
 *   nr_cpus            CONFIG_NR_CPUS as unsigned int
 *   hostname           CONFIG_DEFAULT_HOSTNAME as char[4] (__weak; truncated, NUL-ended)
 *   missing            CONFIG_OXBPF_NOT_A_CONFIG (__weak, absent: 0)
 *   syscall_wrapper    LINUX_HAS_SYSCALL_WRAPPER (__weak)
 *   vfs_read_addr      &vfs_read: a typeless __ksym, its kallsyms address
 *   missing_kfunc      bpf_ksym_exists(a __weak kfunc the kernel lacks) (0; its call is
 *                      poisoned and pruned as dead code)
 *   runs               how many times it ran.
 *
 * read_percpu (?raw_tp: the kernel resolves a typed variable ksym through kallsyms, which
 * lists data symbols only with CONFIG_KALLSYMS_ALL) records:
 *   rq_cpu             bpf_this_cpu_ptr(&runqueues)->cpu: a typed per-CPU __ksym (BTF id)
 *   rq0_cpu            bpf_per_cpu_ptr(&runqueues, 0)->cpu
 *   cpu                bpf_get_smp_processor_id()
 *
 * call_kfuncs (?syscall, kfuncs of 6.2+; loaded only when asked) takes { pid } as its
 * context and records task_tgid = bpf_task_from_pid(pid)->tgid (then bpf_task_release),
 * kfunc_guard = bpf_ksym_exists(the missing __weak kfunc) (0), and rcu_guard =
 * bpf_ksym_exists(bpf_rcu_read_lock), a __weak kfunc the kernel has (1: its address is
 * an ld_imm64 of its BTF id), calling it and bpf_rcu_read_unlock when present.
 */
#include "oxbpf_helpers.h"

#define __kconfig __attribute__((section(".kconfig")))
#define __ksym __attribute__((section(".ksyms")))
#define bpf_ksym_exists(sym) ({ \
	_Static_assert(!__builtin_constant_p(!!sym), #sym " should be marked as __weak"); \
	!!sym; \
})

enum libbpf_tristate { TRI_NO = 0, TRI_YES = 1, TRI_MODULE = 2 };

extern unsigned int LINUX_KERNEL_VERSION __kconfig;
extern _Bool LINUX_HAS_SYSCALL_WRAPPER __kconfig __weak;
extern _Bool CONFIG_BPF_SYSCALL __kconfig;
extern char CONFIG_BPF __kconfig;
extern enum libbpf_tristate CONFIG_VETH __kconfig __weak;
extern unsigned int CONFIG_NR_CPUS __kconfig;
extern char CONFIG_DEFAULT_HOSTNAME[4] __kconfig __weak;
extern int CONFIG_OXBPF_NOT_A_CONFIG __kconfig __weak;

struct rq {
	int cpu;
} __attribute__((preserve_access_index));

extern const struct rq runqueues __ksym;
extern const void vfs_read __ksym;

struct task_struct {
	int pid;
	int tgid;
} __attribute__((preserve_access_index));

extern struct task_struct *bpf_task_from_pid(int pid) __ksym;
extern void bpf_task_release(struct task_struct *p) __ksym;
extern void bpf_oxbpf_no_such_kfunc(void) __ksym __weak;
extern void bpf_rcu_read_lock(void) __ksym __weak;
extern void bpf_rcu_read_unlock(void) __ksym __weak;

static void *(* const bpf_per_cpu_ptr)(const void *percpu_ptr, __u32 cpu) = (void *) 153;
static void *(* const bpf_this_cpu_ptr)(const void *percpu_ptr) = (void *) 154;
static __u32 (* const bpf_get_smp_processor_id)(void) = (void *) 8;

__u32 kernel_version;
__u32 bpf_syscall;
__u32 bpf_char;
__u32 veth;
__u32 nr_cpus;
char hostname[4];
__u32 missing;
__u32 syscall_wrapper;
__u64 vfs_read_addr;
__s32 rq_cpu = -1;
__s32 rq0_cpu = -1;
__u32 cpu;
__u32 missing_kfunc = 77;
__u32 runs;

SEC("raw_tp")
int read_externs(void *ctx)
{
	int i;

	kernel_version = LINUX_KERNEL_VERSION;
	bpf_syscall = CONFIG_BPF_SYSCALL;
	bpf_char = CONFIG_BPF;
	veth = CONFIG_VETH;
	nr_cpus = CONFIG_NR_CPUS;
	for (i = 0; i < 4; i++)
		hostname[i] = CONFIG_DEFAULT_HOSTNAME[i];
	missing = CONFIG_OXBPF_NOT_A_CONFIG;
	syscall_wrapper = LINUX_HAS_SYSCALL_WRAPPER;
	vfs_read_addr = (__u64)&vfs_read;
	missing_kfunc = bpf_ksym_exists(bpf_oxbpf_no_such_kfunc);
	if (bpf_ksym_exists(bpf_oxbpf_no_such_kfunc))
		bpf_oxbpf_no_such_kfunc();
	__sync_fetch_and_add(&runs, 1);
	return 0;
}

SEC("?raw_tp")
int read_percpu(void *ctx)
{
	const struct rq *rq;

	rq = bpf_this_cpu_ptr(&runqueues);
	rq_cpu = rq->cpu;
	rq = bpf_per_cpu_ptr(&runqueues, 0);
	if (rq)
		rq0_cpu = rq->cpu;
	cpu = bpf_get_smp_processor_id();
	return 0;
}

struct kfunc_args {
	int pid;
};

__s32 task_tgid = -1;
__u32 kfunc_guard = 77;
__u32 rcu_guard = 77;

SEC("?syscall")
int call_kfuncs(struct kfunc_args *args)
{
	struct task_struct *t;

	kfunc_guard = bpf_ksym_exists(bpf_oxbpf_no_such_kfunc);
	if (bpf_ksym_exists(bpf_oxbpf_no_such_kfunc))
		bpf_oxbpf_no_such_kfunc();
	rcu_guard = bpf_ksym_exists(bpf_rcu_read_lock);
	if (bpf_ksym_exists(bpf_rcu_read_lock) && bpf_ksym_exists(bpf_rcu_read_unlock)) {
		bpf_rcu_read_lock();
		bpf_rcu_read_unlock();
	}
	t = bpf_task_from_pid(args->pid);
	if (!t)
		return 1;
	task_tgid = t->tgid;
	bpf_task_release(t);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

// SPDX-License-Identifier: (GPL-2.0-only OR MIT)
/*
 * core_task: CO-RE reads of the current task against the host's vmlinux BTF, with small
 * hand-written struct flavours instead of a vmlinux.h. On our thread's getpid (tp_btf
 * sys_enter, syscall 39) it records into .bss:
 *   got_pid / got_tgid   task->pid / task->tgid by direct BTF-pointer loads (LDX offsets
 *                        relocated) and through bpf_probe_read_kernel (ALU offsets);
 *   got_comm             task->comm (16 bytes);
 *   comm_size            bpf_core_field_size(task->comm)           (16)
 *   missing_exists       bpf_core_field_exists(task->oxbpf_no_such_field) (0), and the
 *   missing_value        guarded read of that field, which never runs (stays 77);
 *   task_exists          bpf_core_type_exists(struct task_struct)   (1)
 *   task_size            bpf_core_type_size(struct task_struct)     (vmlinux's size)
 *   nope_exists          bpf_core_type_exists(struct oxbpf_no_such_type) (0)
 *   list_matches         bpf_core_type_matches(struct list_head___mine) (1)
 *   tgid_enum            bpf_core_enum_value(enum pid_type___mine, PIDTYPE_TGID___mine)
 *                        (the kernel's 1, though locally 7)
 *   tgid_enum_exists     bpf_core_enum_value_exists(..., PIDTYPE_TGID___mine) (1)
 *   gone_enum_exists     bpf_core_enum_value_exists(..., OXBPF_NO_SUCH_PIDTYPE) (0)
 *   target_type_id       bpf_core_type_id_kernel(struct task_struct) (vmlinux's id)
 *   local_type_id        bpf_core_type_id_local(struct task_struct___mine) (nonzero)
 *   in_execve, sched_reset_on_fork   1-bit bitfields read as BPF_CORE_READ_BITFIELD_PROBED
 *                        does (byte offset/size, lshift, rshift, signed relocations): 0
 *   hits                 how many times it ran for us.
 */
#include "oxbpf_helpers.h"

/* ---- CO-RE builtins (as libbpf's bpf_core_read.h spells them) ---- */
#define CORE_FIELD_BYTE_OFFSET 0
#define CORE_FIELD_BYTE_SIZE 1
#define CORE_FIELD_EXISTS 2
#define CORE_FIELD_SIGNED 3
#define CORE_FIELD_LSHIFT_U64 4
#define CORE_FIELD_RSHIFT_U64 5
#define CORE_TYPE_ID_LOCAL 0
#define CORE_TYPE_ID_TARGET 1
#define CORE_TYPE_EXISTS 0
#define CORE_TYPE_SIZE 1
#define CORE_TYPE_MATCHES 2
#define CORE_ENUMVAL_EXISTS 0
#define CORE_ENUMVAL_VALUE 1

#define core_field_exists(field) __builtin_preserve_field_info(field, CORE_FIELD_EXISTS)
#define core_field_size(field) __builtin_preserve_field_info(field, CORE_FIELD_BYTE_SIZE)
#define core_type_exists(type) __builtin_preserve_type_info(*(typeof(type) *)0, CORE_TYPE_EXISTS)
#define core_type_size(type) __builtin_preserve_type_info(*(typeof(type) *)0, CORE_TYPE_SIZE)
#define core_type_matches(type) __builtin_preserve_type_info(*(typeof(type) *)0, CORE_TYPE_MATCHES)
#define core_type_id_local(type) __builtin_btf_type_id(*(typeof(type) *)0, CORE_TYPE_ID_LOCAL)
#define core_type_id_kernel(type) __builtin_btf_type_id(*(typeof(type) *)0, CORE_TYPE_ID_TARGET)
#define core_enum_value_exists(enum_type, enum_value) \
	__builtin_preserve_enum_value(*(typeof(enum_type) *)enum_value, CORE_ENUMVAL_EXISTS)
#define core_enum_value(enum_type, enum_value) \
	__builtin_preserve_enum_value(*(typeof(enum_type) *)enum_value, CORE_ENUMVAL_VALUE)

static long (* const core_probe_read_kernel)(void *dst, __u32 size, const void *src) = (void *) 113;

/* A bitfield through bpf_probe_read_kernel, relocated (libbpf's BPF_CORE_READ_BITFIELD_PROBED). */
#define core_read_bitfield(s, field) ({						\
	unsigned long long __v = 0;						\
	core_probe_read_kernel(&__v,						\
		__builtin_preserve_field_info((s)->field, CORE_FIELD_BYTE_SIZE),	\
		(const char *)(s) +						\
		__builtin_preserve_field_info((s)->field, CORE_FIELD_BYTE_OFFSET)); \
	__v <<= __builtin_preserve_field_info((s)->field, CORE_FIELD_LSHIFT_U64); \
	if (__builtin_preserve_field_info((s)->field, CORE_FIELD_SIGNED))	\
		__v = ((long long)__v) >>					\
			__builtin_preserve_field_info((s)->field, CORE_FIELD_RSHIFT_U64); \
	else									\
		__v = __v >> __builtin_preserve_field_info((s)->field, CORE_FIELD_RSHIFT_U64); \
	__v;									\
})
static void *(* const core_get_current_task_btf)(void) = (void *) 158;

struct list_head___mine {
	struct list_head___mine *next, *prev;
} __attribute__((preserve_access_index));

/* Locally in another order and with a field the kernel does not have. */
struct task_struct___mine {
	char comm[16];
	int oxbpf_no_such_field;
	int tgid;
	int pid;
	unsigned int sched_reset_on_fork : 1;
	unsigned int in_execve : 1;
} __attribute__((preserve_access_index));

struct task_struct {
	int pid;
} __attribute__((preserve_access_index));

struct oxbpf_no_such_type {
	int x;
} __attribute__((preserve_access_index));

enum pid_type___mine {
	PIDTYPE_PID___mine = 5,
	PIDTYPE_TGID___mine = 7,
	OXBPF_NO_SUCH_PIDTYPE = 9,
};

const volatile __u32 target_tid = 0;

__u64 hits;
__u64 got_pid;
__u64 got_tgid;
__u64 read_pid;
__u64 read_tgid;
char got_comm[16];
__u64 comm_size;
__u64 missing_exists;
__u64 missing_value = 77;
__u64 task_exists;
__u64 task_size;
__u64 nope_exists;
__u64 list_matches;
__u64 tgid_enum;
__u64 tgid_enum_exists;
__u64 gone_enum_exists;
__u64 target_type_id;
__u64 local_type_id;
__u64 in_execve = 99;
__u64 sched_reset_on_fork = 99;

/* (struct pt_regs *regs, long id) */
SEC("tp_btf/sys_enter")
int core_getpid(__u64 *ctx)
{
	struct task_struct___mine *t;
	int v = 0;

	if (ctx[1] != 39 || (__u32)bpf_get_current_pid_tgid() != target_tid)
		return 0;
	t = core_get_current_task_btf();
	got_pid = t->pid;
	got_tgid = t->tgid;
	core_probe_read_kernel(&v, sizeof(v), &t->pid);
	read_pid = v;
	core_probe_read_kernel(&v, sizeof(v), &t->tgid);
	read_tgid = v;
	core_probe_read_kernel(got_comm, sizeof(got_comm), &t->comm);
	comm_size = core_field_size(t->comm);
	missing_exists = core_field_exists(t->oxbpf_no_such_field);
	if (core_field_exists(t->oxbpf_no_such_field))
		missing_value = t->oxbpf_no_such_field;
	task_exists = core_type_exists(struct task_struct);
	task_size = core_type_size(struct task_struct);
	nope_exists = core_type_exists(struct oxbpf_no_such_type);
	list_matches = core_type_matches(struct list_head___mine);
	tgid_enum = core_enum_value(enum pid_type___mine, PIDTYPE_TGID___mine);
	tgid_enum_exists = core_enum_value_exists(enum pid_type___mine, PIDTYPE_TGID___mine);
	gone_enum_exists = core_enum_value_exists(enum pid_type___mine, OXBPF_NO_SUCH_PIDTYPE);
	target_type_id = core_type_id_kernel(struct task_struct);
	local_type_id = core_type_id_local(struct task_struct___mine);
	in_execve = core_read_bitfield(t, in_execve);
	sched_reset_on_fork = core_read_bitfield(t, sched_reset_on_fork);
	hits++;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

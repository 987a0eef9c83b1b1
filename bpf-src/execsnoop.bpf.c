// SPDX-License-Identifier: (GPL-2.0-only OR MIT)
/*
 * execsnoop: one ring buffer record per successful exec, from the
 * sched/sched_process_exec tracepoint.
 *
 * Record: struct exec_event (156 bytes, 4-byte aligned), in the ring buffer map
 * `events` (256 KiB).
 */
#include "oxbpf_helpers.h"

/*
 * The tracepoint's context, written from
 * /sys/kernel/tracing/events/sched/sched_process_exec/format:
 *
 *   field:unsigned short common_type;         offset:0;  size:2
 *   field:unsigned char common_flags;         offset:2;  size:1
 *   field:unsigned char common_preempt_count; offset:3;  size:1
 *   field:int common_pid;                     offset:4;  size:4
 *   field:__data_loc char[] filename;         offset:8;  size:4
 *   field:pid_t pid;                          offset:12; size:4
 *   field:pid_t old_pid;                      offset:16; size:4
 *
 * A __data_loc field holds the string's offset from the start of the record in
 * its low 16 bits and its length (with the NUL) in its high 16 bits.
 */
struct sched_process_exec_ctx {
	__u16 common_type;
	__u8 common_flags;
	__u8 common_preempt_count;
	__s32 common_pid;
	__u32 __data_loc_filename;
	int pid;
	int old_pid;
};

#define EXEC_COMM_LEN 16
#define EXEC_FILENAME_LEN 128

struct exec_event {
	__u32 pid;  /* tgid of the exec'ing task: upper 32 bits of bpf_get_current_pid_tgid() */
	__u32 tgid; /* the tracepoint's own `pid` field (after exec the task leads its thread
		     * group, so this equals `pid`; read from the context, so a test that
		     * compares the two checks the context layout too) */
	__u32 uid;  /* low 32 bits of bpf_get_current_uid_gid() */
	char comm[EXEC_COMM_LEN];         /* the new comm (set by exec before the tracepoint) */
	char filename[EXEC_FILENAME_LEN]; /* path given to exec, NUL-terminated, truncated */
};

/*
 * Ring buffer of exec_event records.
 *
 * oxbpf convention: a ring buffer map may name its record type with
 * `__type(value, T)`. The kernel requires key_size == value_size == 0 for
 * BPF_MAP_TYPE_RINGBUF, so the oxbpf loader creates the map with both sizes 0
 * and no BTF key/value ids, and keeps T (from the map's BTF) only to decode the
 * records it reads. Other loaders (libbpf/bpftool) may refuse this member.
 */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
	__type(value, struct exec_event);
} events SEC(".maps");

SEC("tracepoint/sched/sched_process_exec")
int handle_exec(struct sched_process_exec_ctx *ctx)
{
	struct exec_event *e;
	__u32 loc = ctx->__data_loc_filename;

	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e)
		return 0;

	e->pid = bpf_get_current_pid_tgid() >> 32;
	e->tgid = ctx->pid;
	e->uid = (__u32)bpf_get_current_uid_gid();
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	bpf_probe_read_kernel_str(e->filename, sizeof(e->filename),
				  (void *)ctx + (loc & 0xffff));

	bpf_ringbuf_submit(e, 0);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

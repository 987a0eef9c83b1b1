// SPDX-License-Identifier: (GPL-2.0-only OR MIT)
/*
 * ex_opensnoop: one ring buffer record per open, from whichever hook the kernel offers.
 * The program of examples/opensnoop. Every program is autoload-off (`?`): the example
 * turns on one at a time and falls back to the next when load or attach fails:
 *
 *   open_fentry   (fentry/do_sys_openat2)                   trampoline, BTF-typed args
 *   open_kprobe   (kprobe/do_sys_openat2)                   CONFIG_KPROBES
 *   open_tp       (tracepoint/syscalls/sys_enter_openat)    always there
 *
 * Record: struct open_event (152 bytes) in the ring buffer `events`; `source` says which
 * hook produced it (1 fentry, 2 kprobe, 3 tracepoint). `.rodata` `target_tgid`: only
 * this process (0: every process).
 */
#include "oxbpf_helpers.h"

/*
 * The start of x86_64's struct pt_regs (its member names tell oxbpf's arch check that
 * this object is for __TARGET_ARCH_x86; only si, the second argument, is read;
 * the layout up to sp matches the kernel's).
 */
struct pt_regs {
	unsigned long r15, r14, r13, r12, bp, bx, r11, r10, r9, r8, ax, cx, dx, si, di;
	unsigned long orig_ax, ip;
	union {
		unsigned short cs;
		unsigned long csx;
	};
	unsigned long flags, sp;
};

/* /sys/kernel/tracing/events/syscalls/sys_enter_openat/format */
struct sys_enter_openat_ctx {
	__u64 common; /* common_type, flags, preempt_count, pid */
	__s32 syscall_nr;
	__u32 pad;
	__u64 dfd;
	const char *filename;
	__u64 flags;
	__u64 mode;
};

struct open_event {
	__u32 tgid;
	__u32 source;
	char comm[16];
	char filename[128];
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
	__type(value, struct open_event);
} events SEC(".maps");

const volatile __u32 target_tgid = 0;

static __always_inline int emit(const char *filename, __u32 source)
{
	struct open_event *e;
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;

	if (target_tgid && tgid != target_tgid)
		return 0;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e)
		return 0;
	e->tgid = tgid;
	e->source = source;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	bpf_probe_read_user_str(e->filename, sizeof(e->filename), filename);
	bpf_ringbuf_submit(e, 0);
	return 0;
}

/* do_sys_openat2(int dfd, const char __user *filename, struct open_how *how) */
SEC("?fentry/do_sys_openat2")
int open_fentry(__u64 *ctx)
{
	return emit((const char *)ctx[1], 1);
}

SEC("?kprobe/do_sys_openat2")
int open_kprobe(struct pt_regs *regs)
{
	return emit((const char *)regs->si, 2);
}

SEC("?tracepoint/syscalls/sys_enter_openat")
int open_tp(struct sys_enter_openat_ctx *ctx)
{
	return emit(ctx->filename, 3);
}

char LICENSE[] SEC("license") = "GPL";

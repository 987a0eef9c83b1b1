/* SPDX-License-Identifier: (GPL-2.0-only OR MIT) */
/*
 * oxbpf_helpers.h - the one header of oxbpf's BPF C fixtures.
 *
 * Written for this project: no libbpf headers, no vmlinux.h, no system headers.
 * It holds only what the fixtures in bpf-src/ use:
 *   - fixed-width integer typedefs,
 *   - the section / BTF map-definition macros (SEC, __uint, __type, __array),
 *   - the map type, update flag and ring buffer flag values of the kernel UAPI,
 *   - the networking program contexts (leading fields) and verdicts,
 *   - helper declarations in the standard "function pointer with the helper id as
 *     its value" form, which clang turns into `call <id>`.
 *
 * Numeric values are those of the kernel's include/uapi/linux/bpf.h
 * (enum bpf_map_type, BPF_ANY..BPF_F_LOCK, BPF_RB_*, and the helper ids of
 * ___BPF_FUNC_MAPPER). They are kernel ABI and never change.
 */
#ifndef OXBPF_HELPERS_H
#define OXBPF_HELPERS_H

/* ---- fixed-width integers (LP64: long is 64-bit on the BPF target) ---- */

typedef unsigned char __u8;
typedef signed char __s8;
typedef unsigned short __u16;
typedef signed short __s16;
typedef unsigned int __u32;
typedef signed int __s32;
typedef unsigned long long __u64;
typedef signed long long __s64;

typedef __u16 __be16;
typedef __u32 __be32;
typedef __u64 __be64;

#ifndef NULL
#define NULL ((void *)0)
#endif

/* ---- attributes ---- */

/* Place a function or variable in ELF section `name` (program type, ".maps",
 * "license", ".data.custom", ...); `used` keeps it even if nothing references it. */
#define SEC(name) __attribute__((section(name), used))

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif
#define __noinline __attribute__((noinline))
#define __weak __attribute__((weak))
#define __hidden __attribute__((visibility("hidden")))

/* Compiler barriers: stop clang from merging, reordering or constant-folding
 * across a point (barrier) or through a variable (barrier_var). */
#define barrier() asm volatile("" ::: "memory")
#define barrier_var(var) asm volatile("" : "+r"(var))

/* ---- BTF-defined map members (struct { ... } name SEC(".maps")) ----
 * The loader reads these from the BTF of the map variable, not from data:
 *   __uint(name, val)  -> member `name` of type pointer-to-array-of-`val` (the
 *                         array's element count carries the number),
 *   __type(name, val)  -> member `name` of type pointer-to-`val` (key / value types),
 *   __array(name, val) -> member `name`, a flexible array of pointers to `val`
 *                         (inner map definitions of map-in-map, prog arrays). */
#define __uint(name, val) int (*name)[val]
#define __type(name, val) typeof(val) *name
#define __array(name, val) typeof(val) *name[]

/* ---- enum bpf_map_type (include/uapi/linux/bpf.h) ---- */

enum bpf_map_type {
	BPF_MAP_TYPE_UNSPEC = 0,
	BPF_MAP_TYPE_HASH = 1,
	BPF_MAP_TYPE_ARRAY = 2,
	BPF_MAP_TYPE_PROG_ARRAY = 3,
	BPF_MAP_TYPE_PERF_EVENT_ARRAY = 4,
	BPF_MAP_TYPE_PERCPU_HASH = 5,
	BPF_MAP_TYPE_PERCPU_ARRAY = 6,
	BPF_MAP_TYPE_STACK_TRACE = 7,
	BPF_MAP_TYPE_CGROUP_ARRAY = 8,
	BPF_MAP_TYPE_LRU_HASH = 9,
	BPF_MAP_TYPE_LRU_PERCPU_HASH = 10,
	BPF_MAP_TYPE_LPM_TRIE = 11,
	BPF_MAP_TYPE_ARRAY_OF_MAPS = 12,
	BPF_MAP_TYPE_HASH_OF_MAPS = 13,
	BPF_MAP_TYPE_DEVMAP = 14,
	BPF_MAP_TYPE_SOCKMAP = 15,
	BPF_MAP_TYPE_CPUMAP = 16,
	BPF_MAP_TYPE_XSKMAP = 17,
	BPF_MAP_TYPE_SOCKHASH = 18,
	BPF_MAP_TYPE_CGROUP_STORAGE = 19,
	BPF_MAP_TYPE_REUSEPORT_SOCKARRAY = 20,
	BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE = 21,
	BPF_MAP_TYPE_QUEUE = 22,
	BPF_MAP_TYPE_STACK = 23,
	BPF_MAP_TYPE_SK_STORAGE = 24,
	BPF_MAP_TYPE_DEVMAP_HASH = 25,
	BPF_MAP_TYPE_STRUCT_OPS = 26,
	BPF_MAP_TYPE_RINGBUF = 27,
	BPF_MAP_TYPE_INODE_STORAGE = 28,
	BPF_MAP_TYPE_TASK_STORAGE = 29,
	BPF_MAP_TYPE_BLOOM_FILTER = 30,
	BPF_MAP_TYPE_USER_RINGBUF = 31,
	BPF_MAP_TYPE_CGRP_STORAGE = 32,
	BPF_MAP_TYPE_ARENA = 33,
};

/* ---- flags of bpf_map_update_elem ---- */

enum {
	BPF_ANY = 0,     /* create a new element or update an existing one */
	BPF_NOEXIST = 1, /* create a new element only if it did not exist */
	BPF_EXIST = 2,   /* update an existing element */
	BPF_F_LOCK = 4,  /* spin_lock-ed map_lookup/map_update */
};

/* ---- map_flags of map definitions ---- */

enum {
	BPF_F_NO_PREALLOC = 1U << 0,
	BPF_F_RDONLY_PROG = 1U << 7,
	BPF_F_MMAPABLE = 1U << 10,
};

/* ---- flags of bpf_ringbuf_output / _submit / _discard ---- */

enum {
	BPF_RB_NO_WAKEUP = 1ULL << 0,
	BPF_RB_FORCE_WAKEUP = 1ULL << 1,
};

/* ---- bpf_ringbuf_query flags ---- */

enum {
	BPF_RB_AVAIL_DATA = 0,
	BPF_RB_RING_SIZE = 1,
	BPF_RB_CONS_POS = 2,
	BPF_RB_PROD_POS = 3,
};

/* ---- helpers (id = position in ___BPF_FUNC_MAPPER) ---- */

/* 1: pointer to the value of `key` in `map`, or NULL. */
static void *(* const bpf_map_lookup_elem)(void *map, const void *key) = (void *) 1;

/* 2: create or update the element `key` of `map` (flags: BPF_ANY/NOEXIST/EXIST). */
static long (* const bpf_map_update_elem)(void *map, const void *key, const void *value,
					  __u64 flags) = (void *) 2;

/* 3: delete the element `key` of `map`. */
static long (* const bpf_map_delete_elem)(void *map, const void *key) = (void *) 3;

/* 5: nanoseconds since boot, not counting suspend (CLOCK_MONOTONIC). */
static __u64 (* const bpf_ktime_get_ns)(void) = (void *) 5;

/* 14: (tgid << 32) | pid of the current task (user space's pid is the tgid). */
static __u64 (* const bpf_get_current_pid_tgid)(void) = (void *) 14;

/* 15: (gid << 32) | uid of the current task. */
static __u64 (* const bpf_get_current_uid_gid)(void) = (void *) 15;

/* 16: copy the current task's comm (NUL-terminated) into buf. */
static long (* const bpf_get_current_comm)(void *buf, __u32 size_of_buf) = (void *) 16;

/* 114: copy a NUL-terminated string from user memory; returns its length with the NUL. */
static long (* const bpf_probe_read_user_str)(void *dst, __u32 size,
					      const void *unsafe_ptr) = (void *) 114;

/* 115: copy a NUL-terminated string from kernel memory; returns its length with the NUL. */
static long (* const bpf_probe_read_kernel_str)(void *dst, __u32 size,
						const void *unsafe_ptr) = (void *) 115;

/* 130: copy `size` bytes of `data` into the ring buffer as one record. */
static long (* const bpf_ringbuf_output)(void *ringbuf, void *data, __u64 size,
					 __u64 flags) = (void *) 130;

/* 131: reserve `size` bytes in the ring buffer; NULL if it is full. */
static void *(* const bpf_ringbuf_reserve)(void *ringbuf, __u64 size, __u64 flags) = (void *) 131;

/* 132: publish a reserved record. */
static void (* const bpf_ringbuf_submit)(void *data, __u64 flags) = (void *) 132;

/* 133: drop a reserved record. */
static void (* const bpf_ringbuf_discard)(void *data, __u64 flags) = (void *) 133;

/* 181: call callback_fn(i, callback_ctx) for i in 0..nr_loops until it returns 1;
 * returns the number of iterations run. callback_fn must be a static function. */
static long (* const bpf_loop)(__u32 nr_loops, void *callback_fn, void *callback_ctx,
			       __u64 flags) = (void *) 181;

/* ---- networking program contexts and verdicts (include/uapi/linux/bpf.h) ----
 * Context structs are read by field offset, which the verifier rewrites; only the
 * leading fields the fixtures use are declared, at their UAPI offsets. */

/* XDP context (struct xdp_md). */
struct xdp_md {
	__u32 data;            /*  0 */
	__u32 data_end;        /*  4 */
	__u32 data_meta;       /*  8 */
	__u32 ingress_ifindex; /* 12 */
	__u32 rx_queue_index;  /* 16 */
	__u32 egress_ifindex;  /* 20 */
};

enum xdp_action {
	XDP_ABORTED = 0,
	XDP_DROP = 1,
	XDP_PASS = 2,
	XDP_TX = 3,
	XDP_REDIRECT = 4,
};

/* Socket buffer context of tc, cgroup_skb and socket filter programs (struct __sk_buff,
 * the fields up to data_end). */
struct __sk_buff {
	__u32 len;             /*  0 */
	__u32 pkt_type;        /*  4 */
	__u32 mark;            /*  8 */
	__u32 queue_mapping;   /* 12 */
	__u32 protocol;        /* 16 */
	__u32 vlan_present;    /* 20 */
	__u32 vlan_tci;        /* 24 */
	__u32 vlan_proto;      /* 28 */
	__u32 priority;        /* 32 */
	__u32 ingress_ifindex; /* 36 */
	__u32 ifindex;         /* 40 */
	__u32 tc_index;        /* 44 */
	__u32 cb[5];           /* 48 */
	__u32 hash;            /* 68 */
	__u32 tc_classid;      /* 72 */
	__u32 data;            /* 76 */
	__u32 data_end;        /* 80 */
};

/* tc verdicts (TC_ACT_*) and their tcx names. */
enum {
	TC_ACT_UNSPEC = -1,
	TC_ACT_OK = 0,
	TC_ACT_SHOT = 2,
	TCX_NEXT = -1,
	TCX_PASS = 0,
	TCX_DROP = 2,
};

/* sk_lookup verdicts. */
enum {
	SK_DROP = 0,
	SK_PASS = 1,
};

struct bpf_sock;

/* sk_lookup context (struct bpf_sk_lookup). */
struct bpf_sk_lookup {
	union {
		struct bpf_sock *sk; /*  0 */
		__u64 cookie;
	};
	__u32 family;          /*  8 */
	__u32 protocol;        /* 12 */
	__u32 remote_ip4;      /* 16, network byte order */
	__u32 remote_ip6[4];   /* 20 */
	__be16 remote_port;    /* 36, network byte order */
	__u16 :16;             /* 38 */
	__u32 local_ip4;       /* 40, network byte order */
	__u32 local_ip6[4];    /* 44 */
	__u32 local_port;      /* 60, host byte order */
	__u32 ingress_ifindex; /* 64 */
};

/* netfilter context (struct bpf_nf_ctx): kernel pointers, used opaquely here. */
struct bpf_nf_ctx {
	const void *state;
	void *skb;
};

/* netfilter verdicts. */
enum {
	NF_DROP = 0,
	NF_ACCEPT = 1,
};

/* 26: copy `len` bytes at `offset` of the packet into `to`. */
static long (* const bpf_skb_load_bytes)(const void *skb, __u32 offset, void *to,
					 __u32 len) = (void *) 26;

/* 86: release a socket reference taken by a lookup. */
static long (* const bpf_sk_release)(void *sock) = (void *) 86;

/* 124: (sk_lookup) select `sk` as the socket that receives the connection/packet. */
static long (* const bpf_sk_assign)(void *ctx, void *sk, __u64 flags) = (void *) 124;

/* ---- tracing: pt_regs offsets, iterator contexts, seq_file output ---- */

/* x86-64 struct pt_regs: byte offsets of the registers kprobe/uprobe programs read
 * (first argument in di, return value in ax). */
enum {
	PT_REGS_AX = 80,
	PT_REGS_DI = 112,
	PT_REGS_SI = 104,
};

/* Iterator contexts (struct bpf_iter_meta, struct bpf_iter__task): pointers to kernel
 * objects, read by the verifier through vmlinux BTF. */
struct seq_file;
struct task_struct;
struct bpf_iter_meta {
	struct seq_file *seq; /*  0 */
	__u64 session_id;     /*  8 */
	__u64 seq_num;        /* 16 */
};
struct bpf_iter__task {
	struct bpf_iter_meta *meta; /* 0 */
	struct task_struct *task;   /* 8: NULL once at the end */
};

/* 127: (iterators) write `len` bytes of `data` to the seq_file. */
static long (* const bpf_seq_write)(struct seq_file *m, const void *data, __u32 len) = (void *) 127;

/* 174: the BPF cookie given when the program was attached (0 if none). */
static __u64 (* const bpf_get_attach_cookie)(void *ctx) = (void *) 174;

#endif /* OXBPF_HELPERS_H */

/* SPDX-License-Identifier: (GPL-2.0-only OR MIT) */
/*
 * oxbpf_sock.h: contexts, constants and helpers of the socket-level hooks (sockops,
 * cgroup sock/sock_addr/sockopt/sysctl/device, sk_msg, sk_skb, flow dissector,
 * sk_reuseport), written for the oxbpf fixtures from the layouts in the kernel's
 * include/uapi/linux/bpf.h. Include after oxbpf_helpers.h.
 */
#ifndef OXBPF_SOCK_H
#define OXBPF_SOCK_H

#define __oxbpf_md_ptr(type, name) \
	union {                    \
		type name;         \
		__u64 : 64;        \
	} __attribute__((aligned(8)))

/* struct __sk_buff in full (oxbpf_helpers.h stops at data_end): flow dissector and
 * sk_skb programs read fields past it. */
struct oxbpf_skb {
	__u32 len;             /*   0 */
	__u32 pkt_type;        /*   4 */
	__u32 mark;            /*   8 */
	__u32 queue_mapping;   /*  12 */
	__u32 protocol;        /*  16 */
	__u32 vlan_present;    /*  20 */
	__u32 vlan_tci;        /*  24 */
	__u32 vlan_proto;      /*  28 */
	__u32 priority;        /*  32 */
	__u32 ingress_ifindex; /*  36 */
	__u32 ifindex;         /*  40 */
	__u32 tc_index;        /*  44 */
	__u32 cb[5];           /*  48 */
	__u32 hash;            /*  68 */
	__u32 tc_classid;      /*  72 */
	__u32 data;            /*  76 */
	__u32 data_end;        /*  80 */
	__u32 napi_id;         /*  84 */
	__u32 family;          /*  88 */
	__u32 remote_ip4;      /*  92 */
	__u32 local_ip4;       /*  96 */
	__u32 remote_ip6[4];   /* 100 */
	__u32 local_ip6[4];    /* 116 */
	__u32 remote_port;     /* 132 */
	__u32 local_port;      /* 136 */
	__u32 data_meta;       /* 140 */
	__oxbpf_md_ptr(struct bpf_flow_keys *, flow_keys); /* 144 */
};

/* sockops context (struct bpf_sock_ops), the fields up to local_port. */
struct bpf_sock_ops {
	__u32 op;
	union {
		__u32 args[4];
		__u32 reply;
		__u32 replylong[4];
	};
	__u32 family;
	__u32 remote_ip4;    /* network byte order */
	__u32 local_ip4;     /* network byte order */
	__u32 remote_ip6[4];
	__u32 local_ip6[4];
	__u32 remote_port;   /* network byte order */
	__u32 local_port;    /* host byte order */
};

/* sockops `op` values. */
enum {
	BPF_SOCK_OPS_VOID = 0,
	BPF_SOCK_OPS_TIMEOUT_INIT = 1,
	BPF_SOCK_OPS_RWND_INIT = 2,
	BPF_SOCK_OPS_TCP_CONNECT_CB = 3,
	BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB = 4,
	BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB = 5,
	BPF_SOCK_OPS_NEEDS_ECN = 6,
};

/* cgroup/sock* context (struct bpf_sock), the fields up to priority. */
struct bpf_sock {
	__u32 bound_dev_if;
	__u32 family;
	__u32 type;
	__u32 protocol;
	__u32 mark;
	__u32 priority;
};

/* cgroup sock_addr context (struct bpf_sock_addr). */
struct bpf_sock_addr {
	__u32 user_family;
	__u32 user_ip4;      /* network byte order */
	__u32 user_ip6[4];
	__u32 user_port;     /* network byte order */
	__u32 family;
	__u32 type;
	__u32 protocol;
	__u32 msg_src_ip4;
	__u32 msg_src_ip6[4];
	__oxbpf_md_ptr(struct bpf_sock *, sk);
};

/* cgroup/sysctl context (struct bpf_sysctl). */
struct bpf_sysctl {
	__u32 write;
	__u32 file_pos;
};

/* cgroup/getsockopt, cgroup/setsockopt context (struct bpf_sockopt). */
struct bpf_sockopt {
	__oxbpf_md_ptr(struct bpf_sock *, sk);
	__oxbpf_md_ptr(void *, optval);
	__oxbpf_md_ptr(void *, optval_end);
	__s32 level;
	__s32 optname;
	__s32 optlen;
	__s32 retval;
};

/* cgroup/dev context (struct bpf_cgroup_dev_ctx); access_type is
 * (BPF_DEVCG_ACC_* << 16) | BPF_DEVCG_DEV_*. */
struct bpf_cgroup_dev_ctx {
	__u32 access_type;
	__u32 major;
	__u32 minor;
};

enum {
	BPF_DEVCG_ACC_MKNOD = 1,
	BPF_DEVCG_ACC_READ = 2,
	BPF_DEVCG_ACC_WRITE = 4,
	BPF_DEVCG_DEV_BLOCK = 1,
	BPF_DEVCG_DEV_CHAR = 2,
};

/* sk_msg context (struct sk_msg_md). */
struct sk_msg_md {
	__oxbpf_md_ptr(void *, data);
	__oxbpf_md_ptr(void *, data_end);
	__u32 family;
	__u32 remote_ip4;
	__u32 local_ip4;
	__u32 remote_ip6[4];
	__u32 local_ip6[4];
	__u32 remote_port;
	__u32 local_port;
	__u32 size;          /* total size of the message */
	__oxbpf_md_ptr(struct bpf_sock *, sk);
};

/* Flow dissector output (struct bpf_flow_keys). */
struct bpf_flow_keys {
	__u16 nhoff;
	__u16 thoff;
	__u16 addr_proto;
	__u8 is_frag;
	__u8 is_first_frag;
	__u8 is_encap;
	__u8 ip_proto;
	__be16 n_proto;
	__be16 sport;
	__be16 dport;
	union {
		struct {
			__be32 ipv4_src;
			__be32 ipv4_dst;
		};
		struct {
			__u32 ipv6_src[4];
			__u32 ipv6_dst[4];
		};
	};
	__u32 flags;
	__be32 flow_label;
};

/* Flow dissector verdicts. */
enum {
	BPF_OK = 0,
	BPF_DROP = 2,
};

/* sk_reuseport context (struct sk_reuseport_md), the fields up to hash. */
struct sk_reuseport_md {
	__oxbpf_md_ptr(void *, data);
	__oxbpf_md_ptr(void *, data_end);
	__u32 len;
	__u32 eth_protocol;
	__u32 ip_protocol;
	__u32 bind_inany;
	__u32 hash;
};

/* 82: (sk_reuseport) pick the socket at `key` of REUSEPORT_SOCKARRAY `map`. */
static long (* const bpf_sk_select_reuseport)(void *reuse, void *map, void *key,
					      __u64 flags) = (void *) 82;

/* 101: (cgroup/sysctl) the sysctl's name ("kernel/ostype"; with flag 1 only "ostype"). */
static long (* const bpf_sysctl_get_name)(struct bpf_sysctl *ctx, char *buf,
					  unsigned long buf_len, __u64 flags) = (void *) 101;

#define BPF_F_SYSCTL_BASE_NAME 1

#endif /* OXBPF_SOCK_H */

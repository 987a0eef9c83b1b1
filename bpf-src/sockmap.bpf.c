// SPDX-License-Identifier: (GPL-2.0-only OR MIT)
/*
 * sockmap: programs that run on the sockets of a sockmap (attached to the map, not to a
 * socket), all passing the data on unchanged and counting in array `seen` (4 x __u64):
 *
 *   seen[0]  sk_msg: messages sent      seen[1]  sk_msg: bytes sent
 *   seen[2]  sk_skb/stream_parser runs  seen[3]  sk_skb/stream_verdict (or /verdict) bytes
 *
 * Maps `msg_socks` and `skb_socks`: SOCKMAP, 2 entries (key __u32, value __u64 socket fd
 * when written from user space), one per program kind so each test attaches to its own.
 */
#include "oxbpf_helpers.h"
#include "oxbpf_sock.h"

struct {
	__uint(type, BPF_MAP_TYPE_SOCKMAP);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} msg_socks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_SOCKMAP);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} skb_socks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} seen SEC(".maps");

static __always_inline void add(__u32 slot, __u64 n)
{
	__u64 *v = bpf_map_lookup_elem(&seen, &slot);

	if (v)
		__sync_fetch_and_add(v, n);
}

SEC("sk_msg")
int msg_count(struct sk_msg_md *msg)
{
	add(0, 1);
	add(1, msg->size);
	return SK_PASS;
}

SEC("sk_skb/stream_parser")
int skb_parse(struct oxbpf_skb *skb)
{
	add(2, 1);
	/* The whole skb is one message. */
	return skb->len;
}

SEC("sk_skb/stream_verdict")
int skb_verdict(struct oxbpf_skb *skb)
{
	add(3, skb->len);
	return SK_PASS;
}

SEC("sk_skb/verdict")
int skb_verdict_only(struct oxbpf_skb *skb)
{
	add(3, skb->len);
	return SK_PASS;
}

char LICENSE[] SEC("license") = "GPL";

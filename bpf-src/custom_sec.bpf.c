// SPDX-License-Identifier: (GPL-2.0-only OR MIT)
/*
 * custom_sec: a program in a section no convention names (SEC("abc"), as libbpf's
 * custom section handlers use) beside an ordinary socket filter.
 *
 * Both return skb->len + a constant: `custom` 1000, `plain` 2000. The object opens; the
 * loader refuses `custom` until its program type is set, and loads `plain` alone.
 */
#include "oxbpf_helpers.h"

SEC("abc")
int custom(struct __sk_buff *skb)
{
	return skb->len + 1000;
}

SEC("socket")
int plain(struct __sk_buff *skb)
{
	return skb->len + 2000;
}

char LICENSE[] SEC("license") = "GPL";

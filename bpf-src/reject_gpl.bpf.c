// SPDX-License-Identifier: (GPL-2.0-only OR MIT)
/*
 * reject_gpl: a program with a non-GPL license calls bpf_probe_read_kernel_str(), a
 * GPL-only helper: "cannot call GPL-restricted function from non-GPL compatible program".
 * Marker: "oxbpf-test: rejected here".
 */
#include "oxbpf_helpers.h"

SEC("tracepoint/syscalls/sys_enter_getpid")
int not_gpl(void *ctx)
{
	char buf[8];

	bpf_probe_read_kernel_str(buf, sizeof(buf), ctx); /* oxbpf-test: rejected here */
	return buf[0];
}

char LICENSE[] SEC("license") = "Proprietary";

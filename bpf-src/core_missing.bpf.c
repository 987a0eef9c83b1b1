// SPDX-License-Identifier: (GPL-2.0-only OR MIT)
/*
 * core_missing: reads a task_struct field the kernel does not have, unguarded. The
 * relocation finds task_struct but no such member, so the load instruction is poisoned
 * and the verifier rejects the program there; the loader's error names the relocation
 * (task_struct___gone::oxbpf_no_such_field).
 */
#include "oxbpf_helpers.h"

static void *(* const core_get_current_task_btf)(void) = (void *) 158;

struct task_struct___gone {
	int oxbpf_no_such_field;
} __attribute__((preserve_access_index));

__u64 seen;

SEC("tp_btf/sys_enter")
int core_unguarded(__u64 *ctx)
{
	struct task_struct___gone *t = core_get_current_task_btf();

	seen = t->oxbpf_no_such_field;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

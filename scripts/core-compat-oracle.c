// SPDX-License-Identifier: (GPL-2.0-only OR MIT)
/*
 * Test-only oracle for scripts/core-compat: runs libbpf's CO-RE (built from the same
 * linux-source tree as the selftests) on OBJ against the BTF in TARGET and prints, for
 * every program libbpf would load, its final instructions:
 *
 *   prog <name>
 *   <16 hex digits per instruction, the 8 bytes in memory order>
 *   end
 *
 * Nothing reaches the kernel: bpf_prog_load is wrapped (link with
 * -Wl,--wrap=bpf_prog_load) to print the instructions and hand back a dummy descriptor,
 * so a relocation the kernel would reject still shows libbpf's (poisoned) instructions.
 * usage: core-compat-oracle OBJ TARGET
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include <bpf/bpf.h>

int __wrap_bpf_prog_load(enum bpf_prog_type prog_type, const char *prog_name,
			 const char *license, const struct bpf_insn *insns, size_t insn_cnt,
			 struct bpf_prog_load_opts *opts)
{
	const unsigned char *b = (const unsigned char *)insns;
	size_t i, j;

	(void)prog_type;
	(void)license;
	(void)opts;
	if (prog_name && prog_name[0] && strncmp(prog_name, "libbpf_", 7) != 0) {
		printf("prog %s\n", prog_name);
		for (i = 0; i < insn_cnt; i++) {
			for (j = 0; j < 8; j++)
				printf("%02x", b[i * 8 + j]);
			printf("\n");
		}
		printf("end\n");
	}
	return open("/dev/null", O_RDONLY | O_CLOEXEC);
}

static int quiet(enum libbpf_print_level level, const char *fmt, va_list args)
{
	if (level == LIBBPF_DEBUG)
		return 0;
	return vfprintf(stderr, fmt, args);
}

int main(int argc, char **argv)
{
	LIBBPF_OPTS(bpf_object_open_opts, o);
	struct bpf_object *obj;
	int err;

	if (argc != 3) {
		fprintf(stderr, "usage: %s OBJ TARGET\n", argv[0]);
		return 2;
	}
	libbpf_set_print(quiet);
	o.btf_custom_path = argv[2];
	obj = bpf_object__open_file(argv[1], &o);
	if (!obj) {
		fprintf(stderr, "open %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	err = bpf_object__load(obj);
	printf("load %d\n", err);
	bpf_object__close(obj);
	return 0;
}

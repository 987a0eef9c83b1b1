// SPDX-License-Identifier: (GPL-2.0-only OR MIT)
/*
 * layouts: one of each layout oxbpf-gen must reproduce, crossing the boundary as map
 * keys/values and globals: bitfields, unions, anonymous members, a flexible array,
 * enum and enum64, packed and aligned structs, char arrays, bool, pointers.
 */
#define SEC(name) __attribute__((section(name), used))
#define __uint(name, val) int (*name)[val]
#define __type(name, val) typeof(val) *name

struct bits {
	unsigned int a : 3;
	unsigned int b : 5;
	int c : 7;
	unsigned long long d : 40;
	unsigned char tail;
};

union num {
	unsigned int u;
	int i;
	float f;
	unsigned char b[8];
};

enum color { RED = 0, GREEN = 1, BLUE = 0xffffffff };
enum big { BIG_A = 1, BIG_B = 0x100000000ULL };
enum sgn { NEG = -2, POS = 3 };

struct __attribute__((packed)) pk {
	char c;
	unsigned int x;
	unsigned short y;
};

struct __attribute__((aligned(16))) al {
	unsigned int x;
};

struct anon_holder {
	int kind;
	union {
		unsigned int u;
		unsigned long long l;
	};
	struct {
		char p[3];
	} inner;
};

struct flex {
	unsigned int len;
	unsigned char data[];
};

struct everything {
	struct bits bits;
	union num num;
	enum color color;
	enum big big;
	enum sgn sgn;
	struct pk pk;
	struct al al;
	struct anon_holder ah;
	char name[16];
	unsigned char uname[4];
	_Bool flag;
	void *ptr;
};

struct {
	__uint(type, 1); /* BPF_MAP_TYPE_HASH */
	__uint(max_entries, 4);
	__type(key, struct pk);
	__type(value, struct everything);
} everything_map SEC(".maps");

struct {
	__uint(type, 2); /* BPF_MAP_TYPE_ARRAY */
	__uint(max_entries, 1);
	__type(key, unsigned int);
	__type(value, struct flex);
} flex_map SEC(".maps");

const volatile struct al al_ro = { 7 };
struct bits bits_bss;
enum big big_data = BIG_B;

static long (*bpf_map_lookup_elem)(void *map, const void *key) = (void *)1;

SEC("tracepoint/syscalls/sys_enter_getpid")
int touch(void *ctx)
{
	struct pk k = {};

	bits_bss.a = al_ro.x;
	bpf_map_lookup_elem(&everything_map, &k);
	return big_data == BIG_B;
}

char LICENSE[] SEC("license") = "GPL";

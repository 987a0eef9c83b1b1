// Ordinary C, as clang -mcpu=v4 -O2 compiles it: globals (ld_imm64 with relocations),
// helper calls, loops, bpf-to-bpf calls, atomics and sign-extended/byte-swapped data.
typedef unsigned long long u64;
typedef long long s64;
typedef unsigned int u32;
typedef signed char s8;
typedef short s16;

static void *(*bpf_map_lookup_elem)(void *map, const void *key) = (void *)1;
static u64 (*bpf_ktime_get_ns)(void) = (void *)5;

char map[64];
u64 counter;
int scounter;

__attribute__((noinline)) static int sub(int x, s8 *p)
{
	return x / 3 + (x % -7) + *p;
}

int prog(u64 *ctx)
{
	u32 key = 0;
	s64 *v = bpf_map_lookup_elem(&map, &key);
	s16 h = *(s16 *)ctx;
	u64 acc = 0;

	if (!v)
		return 0;
	for (int i = 0; i < 8; i++)
		acc += (s64)(s8)ctx[i] * i;
	__sync_fetch_and_add(&counter, acc);
	__sync_fetch_and_or(&scounter, 3);
	acc ^= __builtin_bswap64(*v) + __builtin_bswap16(h);
	acc += __sync_val_compare_and_swap(&counter, acc, 7);
	acc += __sync_lock_test_and_set(&counter, 9);
	acc += bpf_ktime_get_ns() / (s64)h;
	return sub((int)acc, (s8 *)ctx) + (s64)acc % 1000;
}

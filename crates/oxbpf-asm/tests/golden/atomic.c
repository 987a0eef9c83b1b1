// BPF_ATOMIC forms: add/or/and/xor with and without fetch, xchg, cmpxchg; 32 and 64 bit.
void atomic(void)
{
	asm volatile(
		"lock *(u64 *)(r1 + 0) += r2\n lock *(u64 *)(r1 + 8) |= r2\n lock *(u64 *)(r1 - 8) &= r2\n lock *(u64 *)(r1 + 16) ^= r2\n"
		"lock *(u32 *)(r1 + 0) += w2\n lock *(u32 *)(r1 + 4) |= w2\n lock *(u32 *)(r1 - 4) &= w2\n lock *(u32 *)(r1 + 12) ^= w2\n"
		"r0 = atomic_fetch_add((u64 *)(r1 + 0), r0)\n r2 = atomic_fetch_or((u64 *)(r1 + 0), r2)\n"
		"r3 = atomic_fetch_and((u64 *)(r1 + 0), r3)\n r4 = atomic_fetch_xor((u64 *)(r1 + 0), r4)\n"
		"w0 = atomic_fetch_add((u32 *)(r1 + 0), w0)\n w2 = atomic_fetch_or((u32 *)(r1 + 0), w2)\n"
		"w3 = atomic_fetch_and((u32 *)(r1 + 0), w3)\n w4 = atomic_fetch_xor((u32 *)(r1 + 0), w4)\n"
		"r5 = xchg_64(r1 + 8, r5)\n w5 = xchg32_32(r1 + 8, w5)\n"
		"r0 = cmpxchg_64(r1 - 16, r0, r6)\n w0 = cmpxchg32_32(r1 + 16, w0, w6)\n"
	);
}

// Loads, stores, store-immediates, sign-extending loads and legacy packet loads.
void mem(void)
{
	asm volatile(
		"r0 = *(u8 *)(r1 + 0)\n r0 = *(u16 *)(r1 + 2)\n r0 = *(u32 *)(r1 + 4)\n r0 = *(u64 *)(r1 + 8)\n"
		"w0 = *(u8 *)(r1 - 1)\n w0 = *(u16 *)(r1 - 2)\n w0 = *(u32 *)(r1 + 32767)\n r0 = *(u64 *)(r10 - 32768)\n"
		"r0 = *(s8 *)(r1 + 0)\n r0 = *(s16 *)(r1 + 2)\n r0 = *(s32 *)(r1 - 4)\n"
		"*(u8 *)(r10 - 1) = r1\n *(u16 *)(r10 - 2) = r1\n *(u32 *)(r10 - 4) = r1\n *(u64 *)(r10 - 8) = r1\n"
		"*(u8 *)(r10 - 1) = w1\n *(u16 *)(r10 - 2) = w1\n *(u32 *)(r10 - 4) = w1\n"
		"*(u8 *)(r10 - 1) = 1\n *(u16 *)(r10 - 2) = -1\n *(u32 *)(r10 - 4) = 0x7fffffff\n *(u64 *)(r10 - 8) = -2147483648\n"
		"r0 = *(u8 *)skb[1]\n r0 = *(u16 *)skb[-2]\n r0 = *(u32 *)skb[0x100]\n"
		"r0 = *(u8 *)skb[r1]\n r0 = *(u16 *)skb[r2]\n r0 = *(u32 *)skb[r3]\n"
	);
}

// ALU and ALU64 forms, immediates and registers, signed div/mod, movsx, neg, byte swaps.
void alu(void)
{
	asm volatile(
		"r0 += r1\n r0 -= r1\n r0 *= r1\n r0 /= r1\n r0 s/= r1\n r0 |= r1\n r0 &= r1\n"
		"r0 <<= r1\n r0 >>= r1\n r0 %= r1\n r0 s%= r1\n r0 ^= r1\n r0 = r1\n r0 s>>= r1\n"
		"w0 += w1\n w0 -= w1\n w0 *= w1\n w0 /= w1\n w0 s/= w1\n w0 |= w1\n w0 &= w1\n"
		"w0 <<= w1\n w0 >>= w1\n w0 %= w1\n w0 s%= w1\n w0 ^= w1\n w0 = w1\n w0 s>>= w1\n"
		"r2 += 1\n r2 -= -1\n r2 *= 0x7fffffff\n r2 /= 3\n r2 s/= -3\n r2 |= 0x10\n r2 &= 255\n"
		"r2 <<= 63\n r2 >>= 1\n r2 %= 7\n r2 s%= -7\n r2 ^= -2147483648\n r2 = -5\n r2 s>>= 2\n"
		"w3 += 1\n w3 -= -1\n w3 *= 2\n w3 /= 3\n w3 s/= -3\n w3 |= 0x10\n w3 &= 255\n"
		"w3 <<= 31\n w3 >>= 1\n w3 %= 7\n w3 s%= -7\n w3 ^= 1\n w3 = -1\n w3 s>>= 2\n"
		"r4 = -r4\n w4 = -w4\n"
		"r5 = (s8)r6\n r5 = (s16)r6\n r5 = (s32)r6\n w5 = (s8)w6\n w5 = (s16)w6\n"
		"r7 = be16 r7\n r7 = be32 r7\n r7 = be64 r7\n r7 = le16 r7\n r7 = le32 r7\n r7 = le64 r7\n"
		"r7 = bswap16 r7\n r7 = bswap32 r7\n r7 = bswap64 r7\n"
		"r8 = addr_space_cast(r9, 0, 1)\n r8 = addr_space_cast(r9, 1, 0)\n"
		"r1 = 0 ll\n r1 = 0x123456789abcdef0 ll\n r9 = -1 ll\n r2 = 2147483648 ll\n"
		"r10 = r10\n w11 = w1\n"
	);
}

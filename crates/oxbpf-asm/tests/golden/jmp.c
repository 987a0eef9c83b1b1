// Jumps (JMP and JMP32, immediate and register), gotol, may_goto, calls, exit.
void jmp(void)
{
	asm volatile(
		"if r1 == r2 goto +1\n if r1 > r2 goto +1\n if r1 >= r2 goto +1\n if r1 & r2 goto +1\n"
		"if r1 != r2 goto +1\n if r1 s> r2 goto +1\n if r1 s>= r2 goto +1\n if r1 < r2 goto +1\n"
		"if r1 <= r2 goto +1\n if r1 s< r2 goto +1\n if r1 s<= r2 goto +1\n"
		"if r1 == 0 goto -1\n if r1 > 1 goto -2\n if r1 >= -1 goto +0\n if r1 & 0x80 goto +3\n"
		"if r1 != 5 goto +1\n if r1 s> -5 goto +1\n if r1 s>= 7 goto +1\n if r1 < 8 goto +1\n"
		"if r1 <= 9 goto +1\n if r1 s< -10 goto +1\n if r1 s<= 11 goto +1\n"
		"if w1 == w2 goto +1\n if w1 > w2 goto +1\n if w1 >= w2 goto +1\n if w1 & w2 goto +1\n"
		"if w1 != w2 goto +1\n if w1 s> w2 goto +1\n if w1 s>= w2 goto +1\n if w1 < w2 goto +1\n"
		"if w1 <= w2 goto +1\n if w1 s< w2 goto +1\n if w1 s<= w2 goto +1\n"
		"if w1 == 0 goto +1\n if w1 s< -1 goto +1\n if w1 & 2 goto -3\n"
		"goto +0\n goto -1\n goto +32767\n gotol +0\n gotol -5\n gotol +32767\n"
		"may_goto +0\n may_goto +3\n may_goto -2\n"
		"call 1\n call 0x7fffffff\n call -1\n callx r5\n"
		"exit\n"
	);
}

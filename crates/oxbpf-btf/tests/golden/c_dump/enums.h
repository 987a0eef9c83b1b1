enum sign {
	NEG = -1,
	ZERO = 0,
};

enum big32 {
	TOP = 4294967295,
};

enum small {
	S_A = 1,
	S_B = 2,
} __attribute__((mode(byte)));

enum half {
	H_A = 1,
} __attribute__((mode(HI)));

enum wide {
	W_BIG = 1099511627776ULL,
	W_ONE = 1ULL,
};

enum wide_small {
	WS_ONE = 1ULL,
} __attribute__((mode(word)));

enum wide_neg {
	WN_MIN = (-9223372036854775807LL - 1),
};

enum word32 {
	WORD_A = 3,
} __attribute__((mode(word)));

enum declared_only;

struct enum_user {
	enum declared_only *p;
};


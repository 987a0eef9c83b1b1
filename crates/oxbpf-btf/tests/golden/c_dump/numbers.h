struct numbers {
	double d;
	float f;
	_Bool ok;
	unsigned char raw;
	__int128 x;
	__int128 unsigned y;
};

struct int128_at_8 {
	double tag;
	__int128 v;
} __attribute__((packed));


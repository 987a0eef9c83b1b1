struct flags {
	unsigned int a: 3;
	unsigned int b: 5;
	char: 4;
	int c: 7;
	int: 0;
	unsigned char d;
	unsigned int e: 1;
};

struct gaps {
	unsigned char c;
	long int l;
	long: 64;
};


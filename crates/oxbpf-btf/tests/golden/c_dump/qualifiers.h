struct quals {
	const char *name;
	char * const buf;
	volatile int flag;
	int * restrict p;
	volatile const int * const cv;
	volatile const int ci;
};


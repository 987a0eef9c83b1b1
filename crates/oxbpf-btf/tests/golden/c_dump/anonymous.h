struct outer {
	int kind;
	union {
		long unsigned int raw;
		struct {
			unsigned int lo;
			unsigned int hi;
		};
	};
	enum {
		ST_IDLE = 0,
		ST_BUSY = 1,
	} state;
	struct {
		char c;
	} __attribute__((aligned(4))) *p;
};

enum {
	MAX_THINGS = 16,
};


struct packed_fields {
	char c;
	int i;
} __attribute__((packed));

struct packed_trailing {
	int i;
	short int s;
} __attribute__((packed));

struct cacheline {
	int x;
} __attribute__((aligned(64)));

struct embeds {
	char c;
	long: 64;
	long: 64;
	long: 64;
	long: 64;
	long: 64;
	long: 64;
	long: 64;
	struct cacheline line;
};

struct odd {
	char c;
	struct cacheline line;
} __attribute__((packed));

union wide {
	int i;
} __attribute__((aligned(16)));

typedef union {
	struct {
		long: 64;
	};
} opaque_arg;


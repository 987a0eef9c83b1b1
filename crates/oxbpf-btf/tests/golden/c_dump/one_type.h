typedef unsigned int __u32;

struct inner {
	__u32 v;
};

struct outer {
	struct inner in;
	struct outer *next;
};


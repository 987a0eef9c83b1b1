struct list {
	struct list *next;
	int v;
};

struct b;

struct a {
	struct b *b;
};

struct b {
	struct a a;
	struct a *pa;
};

struct opaque;

union opaque_u;

struct holder {
	struct opaque *o;
	union opaque_u *u;
};


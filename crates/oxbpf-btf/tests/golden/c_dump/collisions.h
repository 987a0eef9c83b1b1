struct dup {
	int x;
};

struct dup___2 {
	long int y;
};

typedef struct dup___2 dup;

enum dup___3 {
	dup___2 = 0,
	OTHER = 1,
};

enum other_enum {
	OTHER___2 = 2,
};

struct user {
	struct dup a;
	struct dup___2 b;
	dup c;
};


struct inode;

struct ops {
	int (*open)(struct inode *, int flags);
	void (*release)(void);
	int (*printf)(const char *fmt, ...);
	int (* (*get_handler)(int))(const char *fmt, ...);
};

typedef int handler_fn(const char *fmt, ...);

typedef handler_fn *handler_table[3];


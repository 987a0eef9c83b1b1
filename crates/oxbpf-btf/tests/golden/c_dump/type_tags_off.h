struct task {
	struct task *parent;
	void *mem;
};


struct task {
	struct task __attribute__((btf_type_tag("rcu"))) *parent;
	void __attribute__((address_space(1))) *mem;
};


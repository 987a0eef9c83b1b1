struct kept {
	int x;
};


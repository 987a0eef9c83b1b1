struct arrays {
	int a[4];
	int m[2][3];
	int *ptrs[2];
	int (*parr)[4];
	int len;
	char data[0];
};

typedef int matrix_t[2][3];


// Fixture for tests/format_golden.rs: global data whose BTF and initial bytes clang
// writes into the object. Rebuild: OXBPF_BLESS=1 cargo test -p oxbpf-btf --test format_golden
typedef unsigned int __u32;
typedef unsigned char __u8;
typedef unsigned long long __u64;

enum state { IDLE, BUSY = 5, NEG = -1 };
enum big64 { HUGE = 0x1000000000ULL };

struct exec_event {
    __u32 pid;
    __u32 tgid;
    __u32 uid;
    char comm[16];
    char filename[128];
};

struct bits {
    unsigned a : 3;
    int b : 5;
    unsigned c : 12;
    int d : 12;
    enum state st : 4;
    int : 4; /* unnamed padding, skipped */
    _Bool on : 1;
};

struct sk {
    int family;
    union {
        int ip4;
        struct {
            short port;
            short pad;
        };
    };
    __u8 mac[6];
    unsigned char label[4];
};

struct exec_event ev = { 1234, 1235, 1000, "bash", "/usr/bin/ls" };
struct bits bf = { 5, -3, 0xabc, -2048, BUSY, 1 };
struct sk s = { 2, { .ip4 = 8080 }, { 1, 2, 3, 4, 5, 6 }, "lo" };
enum state st = NEG;
enum state st_miss = 3;
enum big64 e64 = HUGE;
_Bool flag = 1;
char lone = 'A';
__u64 big = 18446744073709551615ULL;
long neg = -5;
int grid[2][2] = { { 1, -2 }, { 3, -4 } };
char escaped[16] = "t\tq\"b\\\x01\xff";
double ratio = 0.25;
float third = 1.0f / 3.0f;
unsigned __int128 wide = ~(unsigned __int128)0;

int counter;       /* .bss */
void *where;       /* .bss */

const volatile __u32 limit = 7; /* .rodata */

__attribute__((section("tracepoint/syscalls/sys_enter_getpid"), used))
int prog(void *ctx)
{
    /* Non-static globals are emitted whether or not they are used. */
    return ev.pid + counter + limit;
}

char _license[] __attribute__((section("license"), used)) = "GPL";

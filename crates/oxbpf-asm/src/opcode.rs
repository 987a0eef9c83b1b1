//! Opcode and pseudo-source constants, named as in `include/uapi/linux/bpf.h`
//! (without the `BPF_` prefix).

/// `BPF_LD`.
pub const CLASS_LD: u8 = 0x00;
/// `BPF_LDX`.
pub const CLASS_LDX: u8 = 0x01;
/// `BPF_ST`.
pub const CLASS_ST: u8 = 0x02;
/// `BPF_STX`.
pub const CLASS_STX: u8 = 0x03;
/// `BPF_ALU` (32-bit).
pub const CLASS_ALU: u8 = 0x04;
/// `BPF_JMP`.
pub const CLASS_JMP: u8 = 0x05;
/// `BPF_JMP32`.
pub const CLASS_JMP32: u8 = 0x06;
/// `BPF_ALU64`.
pub const CLASS_ALU64: u8 = 0x07;

/// `BPF_K`: immediate operand.
pub const SRC_K: u8 = 0x00;
/// `BPF_X`: register operand.
pub const SRC_X: u8 = 0x08;

/// `BPF_MOV`.
pub const ALU_MOV: u8 = 0xb0;
/// `BPF_EXIT`.
pub const JMP_EXIT: u8 = 0x90;
/// `BPF_CALL`.
pub const JMP_CALL: u8 = 0x80;

/// `BPF_LD | BPF_IMM | BPF_DW`: the 16-byte wide load.
pub const LD_IMM64: u8 = 0x18;
/// `BPF_JMP | BPF_CALL`.
pub const CALL: u8 = 0x85;

/// `BPF_PSEUDO_MAP_FD`: ld_imm64 imm is a map fd.
pub const PSEUDO_MAP_FD: u8 = 1;
/// `BPF_PSEUDO_MAP_VALUE`: ld_imm64 imm is a map fd, next imm an offset into its value.
pub const PSEUDO_MAP_VALUE: u8 = 2;
/// `BPF_PSEUDO_BTF_ID`: ld_imm64 imm is a BTF id (ksym).
pub const PSEUDO_BTF_ID: u8 = 3;
/// `BPF_PSEUDO_FUNC`: ld_imm64 imm is a relative subprogram offset.
pub const PSEUDO_FUNC: u8 = 4;
/// `BPF_PSEUDO_MAP_IDX`: ld_imm64 imm is an index into fd_array.
pub const PSEUDO_MAP_IDX: u8 = 5;
/// `BPF_PSEUDO_MAP_IDX_VALUE`: as `PSEUDO_MAP_IDX`, plus a value offset.
pub const PSEUDO_MAP_IDX_VALUE: u8 = 6;
/// `BPF_PSEUDO_CALL`: call imm is a relative subprogram offset.
pub const PSEUDO_CALL: u8 = 1;
/// `BPF_PSEUDO_KFUNC_CALL`: call imm is a kfunc BTF id.
pub const PSEUDO_KFUNC_CALL: u8 = 2;

/// Mask of the class bits of `code`.
pub const CLASS_MASK: u8 = 0x07;
/// Mask of the source bit of ALU/JMP `code`s.
pub const SRC_MASK: u8 = 0x08;
/// Mask of the operation bits of ALU/JMP `code`s.
pub const OP_MASK: u8 = 0xf0;
/// Mask of the size bits of load/store `code`s.
pub const SIZE_MASK: u8 = 0x18;
/// Mask of the mode bits of load/store `code`s.
pub const MODE_MASK: u8 = 0xe0;

/// `BPF_ADD`.
pub const ALU_ADD: u8 = 0x00;
/// `BPF_SUB`.
pub const ALU_SUB: u8 = 0x10;
/// `BPF_MUL`.
pub const ALU_MUL: u8 = 0x20;
/// `BPF_DIV` (signed with `off == 1`).
pub const ALU_DIV: u8 = 0x30;
/// `BPF_OR`.
pub const ALU_OR: u8 = 0x40;
/// `BPF_AND`.
pub const ALU_AND: u8 = 0x50;
/// `BPF_LSH`.
pub const ALU_LSH: u8 = 0x60;
/// `BPF_RSH`.
pub const ALU_RSH: u8 = 0x70;
/// `BPF_NEG`.
pub const ALU_NEG: u8 = 0x80;
/// `BPF_MOD` (signed with `off == 1`).
pub const ALU_MOD: u8 = 0x90;
/// `BPF_XOR`.
pub const ALU_XOR: u8 = 0xa0;
/// `BPF_ARSH`.
pub const ALU_ARSH: u8 = 0xc0;
/// `BPF_END`: byte swap (`BPF_ALU`: to LE/BE by source bit; `BPF_ALU64`: unconditional).
pub const ALU_END: u8 = 0xd0;

/// `BPF_TO_LE` (same bit as `BPF_K`) for `BPF_END`.
pub const END_TO_LE: u8 = 0x00;
/// `BPF_TO_BE` (same bit as `BPF_X`) for `BPF_END`.
pub const END_TO_BE: u8 = 0x08;

/// `off` of `BPF_DIV`/`BPF_MOD` that makes them signed (`sdiv`, `smod`).
pub const OFF_SIGNED_DIV: i16 = 1;
/// `BPF_ADDR_SPACE_CAST`: `off` of an ALU64 `BPF_MOV | BPF_X` that casts address spaces.
pub const OFF_ADDR_SPACE_CAST: i16 = 1;

/// `BPF_JA` (`BPF_JMP`: 16-bit `off`; `BPF_JMP32`: 32-bit `imm`, "gotol").
pub const JMP_JA: u8 = 0x00;
/// `BPF_JEQ`.
pub const JMP_JEQ: u8 = 0x10;
/// `BPF_JGT`.
pub const JMP_JGT: u8 = 0x20;
/// `BPF_JGE`.
pub const JMP_JGE: u8 = 0x30;
/// `BPF_JSET`.
pub const JMP_JSET: u8 = 0x40;
/// `BPF_JNE`.
pub const JMP_JNE: u8 = 0x50;
/// `BPF_JSGT`.
pub const JMP_JSGT: u8 = 0x60;
/// `BPF_JSGE`.
pub const JMP_JSGE: u8 = 0x70;
/// `BPF_JLT`.
pub const JMP_JLT: u8 = 0xa0;
/// `BPF_JLE`.
pub const JMP_JLE: u8 = 0xb0;
/// `BPF_JSLT`.
pub const JMP_JSLT: u8 = 0xc0;
/// `BPF_JSLE`.
pub const JMP_JSLE: u8 = 0xd0;
/// `BPF_JCOND`: conditional pseudo jumps (`src == BPF_MAY_GOTO`).
pub const JMP_JCOND: u8 = 0xe0;
/// `BPF_MAY_GOTO`: `src` of a `BPF_JCOND`.
pub const MAY_GOTO: u8 = 0;

/// `BPF_W`: 4 bytes.
pub const SIZE_W: u8 = 0x00;
/// `BPF_H`: 2 bytes.
pub const SIZE_H: u8 = 0x08;
/// `BPF_B`: 1 byte.
pub const SIZE_B: u8 = 0x10;
/// `BPF_DW`: 8 bytes.
pub const SIZE_DW: u8 = 0x18;

/// `BPF_IMM` mode (only `ld_imm64`).
pub const MODE_IMM: u8 = 0x00;
/// `BPF_ABS`: legacy packet load at a constant offset.
pub const MODE_ABS: u8 = 0x20;
/// `BPF_IND`: legacy packet load at a register offset.
pub const MODE_IND: u8 = 0x40;
/// `BPF_MEM`: ordinary load/store.
pub const MODE_MEM: u8 = 0x60;
/// `BPF_MEMSX`: sign-extending load.
pub const MODE_MEMSX: u8 = 0x80;
/// `BPF_ATOMIC`: atomic operation, kind in `imm`.
pub const MODE_ATOMIC: u8 = 0xc0;

/// `BPF_FETCH`: atomic returns the old value in `src`.
pub const ATOMIC_FETCH: i32 = 0x01;
/// Atomic `imm` for add (`BPF_ADD`).
pub const ATOMIC_ADD: i32 = 0x00;
/// Atomic `imm` for or (`BPF_OR`).
pub const ATOMIC_OR: i32 = 0x40;
/// Atomic `imm` for and (`BPF_AND`).
pub const ATOMIC_AND: i32 = 0x50;
/// Atomic `imm` for xor (`BPF_XOR`).
pub const ATOMIC_XOR: i32 = 0xa0;
/// `BPF_XCHG` (`0xe0 | BPF_FETCH`).
pub const ATOMIC_XCHG: i32 = 0xe1;
/// `BPF_CMPXCHG` (`0xf0 | BPF_FETCH`): compares with r0, old value into r0.
pub const ATOMIC_CMPXCHG: i32 = 0xf1;
/// `BPF_LOAD_ACQ`: load-acquire (`dst = *(src + off)`).
pub const ATOMIC_LOAD_ACQ: i32 = 0x100;
/// `BPF_STORE_REL`: store-release (`*(dst + off) = src`).
pub const ATOMIC_STORE_REL: i32 = 0x110;

/// `BPF_JMP | BPF_JA`: `goto`.
pub const JA: u8 = CLASS_JMP | JMP_JA;
/// `BPF_JMP32 | BPF_JA`: `gotol` (offset in `imm`).
pub const JA32: u8 = CLASS_JMP32 | JMP_JA;
/// `BPF_JMP | BPF_CALL | BPF_X`: `callx` (LLVM's indirect call, register in `dst`).
pub const CALLX: u8 = CLASS_JMP | JMP_CALL | SRC_X;
/// `BPF_JMP | BPF_EXIT`.
pub const EXIT: u8 = CLASS_JMP | JMP_EXIT;
/// `BPF_JMP | BPF_JCOND`: `may_goto`.
pub const JCOND: u8 = CLASS_JMP | JMP_JCOND;

/// `BPF_REG_AX`: the kernel's auxiliary register r11 (only in translated programs).
pub const REG_AX: u8 = 11;
/// The frame pointer r10.
pub const REG_FP: u8 = 10;

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

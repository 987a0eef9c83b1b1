//! The decoded, semantic view of instructions: [`Instruction`] and [`decode`].
//!
//! Decoding is *strict*: every field the kernel defines as reserved (must be zero) must be
//! zero, so each variant has exactly one encoding and [`Instruction::encode`] gives back
//! the very slots it was decoded from. Anything else — unknown opcodes, reserved fields
//! set, registers above r11 — decodes to [`Instruction::Unknown`], never to an error.
//! Registers are `0..=11`: r11 is the kernel's `BPF_REG_AX`, seen only in translated code.

use crate::opcode::*;
use crate::{Error, Insn};

/// Operation width of ALU and jump instructions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Width {
    /// `BPF_ALU` / `BPF_JMP32`: the low 32 bits (`wN` registers).
    W32,
    /// `BPF_ALU64` / `BPF_JMP`: full 64 bits (`rN` registers).
    W64,
}

/// Access size of loads and stores.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Size {
    /// `BPF_B`: 1 byte.
    B,
    /// `BPF_H`: 2 bytes.
    H,
    /// `BPF_W`: 4 bytes.
    W,
    /// `BPF_DW`: 8 bytes.
    DW,
}

impl Size {
    /// The size from the `BPF_SIZE` bits of `code`.
    pub const fn from_code(code: u8) -> Size {
        match code & SIZE_MASK {
            SIZE_W => Size::W,
            SIZE_H => Size::H,
            SIZE_B => Size::B,
            _ => Size::DW,
        }
    }

    /// The `BPF_SIZE` bits.
    pub const fn code(self) -> u8 {
        match self {
            Size::B => SIZE_B,
            Size::H => SIZE_H,
            Size::W => SIZE_W,
            Size::DW => SIZE_DW,
        }
    }

    /// Size in bits (8, 16, 32, 64).
    pub const fn bits(self) -> u32 {
        match self {
            Size::B => 8,
            Size::H => 16,
            Size::W => 32,
            Size::DW => 64,
        }
    }
}

/// Second operand of ALU and conditional jump instructions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Operand {
    /// `BPF_X`: a register.
    Reg(u8),
    /// `BPF_K`: the sign-extended 32-bit immediate.
    Imm(i32),
}

/// Two-operand ALU operations (`dst op= src`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AluOp {
    /// `+=`.
    Add,
    /// `-=`.
    Sub,
    /// `*=`.
    Mul,
    /// `/=` (unsigned).
    Div,
    /// `s/=` (`BPF_DIV` with `off == 1`).
    SDiv,
    /// `|=`.
    Or,
    /// `&=`.
    And,
    /// `<<=`.
    Lsh,
    /// `>>=` (logical).
    Rsh,
    /// `%=` (unsigned).
    Mod,
    /// `s%=` (`BPF_MOD` with `off == 1`).
    SMod,
    /// `^=`.
    Xor,
    /// `=`.
    Mov,
    /// `s>>=` (arithmetic).
    Arsh,
}

impl AluOp {
    /// `(BPF_OP bits, off)` of the operation.
    pub const fn encoding(self) -> (u8, i16) {
        match self {
            AluOp::Add => (ALU_ADD, 0),
            AluOp::Sub => (ALU_SUB, 0),
            AluOp::Mul => (ALU_MUL, 0),
            AluOp::Div => (ALU_DIV, 0),
            AluOp::SDiv => (ALU_DIV, OFF_SIGNED_DIV),
            AluOp::Or => (ALU_OR, 0),
            AluOp::And => (ALU_AND, 0),
            AluOp::Lsh => (ALU_LSH, 0),
            AluOp::Rsh => (ALU_RSH, 0),
            AluOp::Mod => (ALU_MOD, 0),
            AluOp::SMod => (ALU_MOD, OFF_SIGNED_DIV),
            AluOp::Xor => (ALU_XOR, 0),
            AluOp::Mov => (ALU_MOV, 0),
            AluOp::Arsh => (ALU_ARSH, 0),
        }
    }

    /// The operation for `BPF_OP` bits and `off`, if defined.
    pub const fn from_encoding(op: u8, off: i16) -> Option<AluOp> {
        Some(match (op, off) {
            (ALU_ADD, 0) => AluOp::Add,
            (ALU_SUB, 0) => AluOp::Sub,
            (ALU_MUL, 0) => AluOp::Mul,
            (ALU_DIV, 0) => AluOp::Div,
            (ALU_DIV, 1) => AluOp::SDiv,
            (ALU_OR, 0) => AluOp::Or,
            (ALU_AND, 0) => AluOp::And,
            (ALU_LSH, 0) => AluOp::Lsh,
            (ALU_RSH, 0) => AluOp::Rsh,
            (ALU_MOD, 0) => AluOp::Mod,
            (ALU_MOD, 1) => AluOp::SMod,
            (ALU_XOR, 0) => AluOp::Xor,
            (ALU_MOV, 0) => AluOp::Mov,
            (ALU_ARSH, 0) => AluOp::Arsh,
            _ => return None,
        })
    }
}

/// Conditions of conditional jumps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum JmpCond {
    /// `==`.
    Eq,
    /// `>` (unsigned).
    Gt,
    /// `>=` (unsigned).
    Ge,
    /// `&` (`BPF_JSET`: jump if any bit in common).
    Set,
    /// `!=`.
    Ne,
    /// `s>`.
    Sgt,
    /// `s>=`.
    Sge,
    /// `<` (unsigned).
    Lt,
    /// `<=` (unsigned).
    Le,
    /// `s<`.
    Slt,
    /// `s<=`.
    Sle,
}

impl JmpCond {
    /// The `BPF_OP` bits.
    pub const fn op(self) -> u8 {
        match self {
            JmpCond::Eq => JMP_JEQ,
            JmpCond::Gt => JMP_JGT,
            JmpCond::Ge => JMP_JGE,
            JmpCond::Set => JMP_JSET,
            JmpCond::Ne => JMP_JNE,
            JmpCond::Sgt => JMP_JSGT,
            JmpCond::Sge => JMP_JSGE,
            JmpCond::Lt => JMP_JLT,
            JmpCond::Le => JMP_JLE,
            JmpCond::Slt => JMP_JSLT,
            JmpCond::Sle => JMP_JSLE,
        }
    }

    /// The condition for `BPF_OP` bits, if it is one.
    pub const fn from_op(op: u8) -> Option<JmpCond> {
        Some(match op {
            JMP_JEQ => JmpCond::Eq,
            JMP_JGT => JmpCond::Gt,
            JMP_JGE => JmpCond::Ge,
            JMP_JSET => JmpCond::Set,
            JMP_JNE => JmpCond::Ne,
            JMP_JSGT => JmpCond::Sgt,
            JMP_JSGE => JmpCond::Sge,
            JMP_JLT => JmpCond::Lt,
            JMP_JLE => JmpCond::Le,
            JMP_JSLT => JmpCond::Slt,
            JMP_JSLE => JmpCond::Sle,
            _ => return None,
        })
    }
}

/// Read-modify-write atomic operations (`BPF_ATOMIC` with an ALU op in `imm`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AtomicOp {
    /// `BPF_ADD`.
    Add,
    /// `BPF_OR`.
    Or,
    /// `BPF_AND`.
    And,
    /// `BPF_XOR`.
    Xor,
}

impl AtomicOp {
    /// The `imm` value without `BPF_FETCH`.
    pub const fn imm(self) -> i32 {
        match self {
            AtomicOp::Add => ATOMIC_ADD,
            AtomicOp::Or => ATOMIC_OR,
            AtomicOp::And => ATOMIC_AND,
            AtomicOp::Xor => ATOMIC_XOR,
        }
    }

    /// The operation for an `imm` without `BPF_FETCH`.
    pub const fn from_imm(imm: i32) -> Option<AtomicOp> {
        Some(match imm {
            ATOMIC_ADD => AtomicOp::Add,
            ATOMIC_OR => AtomicOp::Or,
            ATOMIC_AND => AtomicOp::And,
            ATOMIC_XOR => AtomicOp::Xor,
            _ => return None,
        })
    }
}

/// Byte-order operations (`BPF_END`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Endian {
    /// `leN`: to little endian (`BPF_ALU | BPF_END | BPF_TO_LE`).
    Le,
    /// `beN`: to big endian (`BPF_ALU | BPF_END | BPF_TO_BE`).
    Be,
    /// `bswapN`: unconditional swap (`BPF_ALU64 | BPF_END`).
    Swap,
}

/// What a `call` (`BPF_JMP | BPF_CALL`) calls, from its `src` field.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CallKind {
    /// `src == 0`: helper number `imm`.
    Helper,
    /// `src == BPF_PSEUDO_CALL`: subprogram at relative slot offset `imm`.
    Local,
    /// `src == BPF_PSEUDO_KFUNC_CALL`: kfunc with BTF id `imm`, BTF fd index in `off`.
    Kfunc,
}

/// One decoded instruction. Registers are 4-bit numbers `0..=11`.
///
/// For atomics, `dst` is the base address register and `src` the value register (which
/// receives the old value when `fetch`), as in the encoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Instruction {
    /// `dst op= src` (`BPF_ALU`/`BPF_ALU64`, including `mov`, `sdiv`, `smod`).
    Alu {
        /// Operation width.
        width: Width,
        /// Operation.
        op: AluOp,
        /// Destination register.
        dst: u8,
        /// Source register or immediate.
        src: Operand,
    },
    /// `dst = -dst`.
    Neg {
        /// Operation width.
        width: Width,
        /// Register.
        dst: u8,
    },
    /// `dst = (sN)src`: sign-extending move (`BPF_MOV | BPF_X` with `off` 8/16/32).
    MovSx {
        /// Operation width (`W32` allows 8 and 16 only).
        width: Width,
        /// Destination register.
        dst: u8,
        /// Source register.
        src: u8,
        /// Bits kept from `src` before sign extension: 8, 16 or 32.
        bits: u8,
    },
    /// `dst = addr_space_cast(src, dst_as, src_as)` (ALU64 mov with `off == 1`).
    AddrSpaceCast {
        /// Destination register.
        dst: u8,
        /// Source register.
        src: u8,
        /// Destination address space (upper 16 bits of `imm`).
        dst_as: u16,
        /// Source address space (lower 16 bits of `imm`).
        src_as: u16,
    },
    /// `dst = be16 dst` and friends.
    Endian {
        /// Kind of swap.
        kind: Endian,
        /// Register.
        dst: u8,
        /// 16, 32 or 64.
        bits: u8,
    },
    /// `dst = imm ll`: the two-slot 64-bit load, `src` the pseudo-source tag.
    LdImm64 {
        /// Destination register.
        dst: u8,
        /// Pseudo-source (`PSEUDO_MAP_FD`, ...), 0 for a plain constant.
        src: u8,
        /// The 64-bit constant (low half from slot 1, high half from slot 2).
        imm: u64,
    },
    /// `r0 = *(uN *)skb[imm]`: legacy packet load at a constant offset.
    LdAbs {
        /// Size (not `DW`).
        size: Size,
        /// Offset.
        imm: i32,
    },
    /// `r0 = *(uN *)skb[src + imm]`: legacy packet load at a register offset.
    LdInd {
        /// Size (not `DW`).
        size: Size,
        /// Offset register.
        src: u8,
        /// Added offset.
        imm: i32,
    },
    /// `dst = *(uN *)(src + off)`.
    Load {
        /// Size.
        size: Size,
        /// Destination register.
        dst: u8,
        /// Base register.
        src: u8,
        /// Offset.
        off: i16,
    },
    /// `dst = *(sN *)(src + off)`: sign-extending load (`BPF_MEMSX`).
    LoadSx {
        /// Size (not `DW`).
        size: Size,
        /// Destination register.
        dst: u8,
        /// Base register.
        src: u8,
        /// Offset.
        off: i16,
    },
    /// `*(uN *)(dst + off) = src`.
    Store {
        /// Size.
        size: Size,
        /// Base register.
        dst: u8,
        /// Value register.
        src: u8,
        /// Offset.
        off: i16,
    },
    /// `*(uN *)(dst + off) = imm`.
    StoreImm {
        /// Size.
        size: Size,
        /// Base register.
        dst: u8,
        /// Offset.
        off: i16,
        /// Value.
        imm: i32,
    },
    /// `lock *(uN *)(dst + off) op= src`, or with `fetch` `src = atomic_fetch_op(...)`.
    Atomic {
        /// `W` or `DW`.
        size: Size,
        /// Operation.
        op: AtomicOp,
        /// `BPF_FETCH`: `src` receives the old value.
        fetch: bool,
        /// Base register.
        dst: u8,
        /// Value register.
        src: u8,
        /// Offset.
        off: i16,
    },
    /// `src = xchg(dst + off, src)`.
    Xchg {
        /// `W` or `DW`.
        size: Size,
        /// Base register.
        dst: u8,
        /// Value register, receives the old value.
        src: u8,
        /// Offset.
        off: i16,
    },
    /// `r0 = cmpxchg(dst + off, r0, src)`.
    CmpXchg {
        /// `W` or `DW`.
        size: Size,
        /// Base register.
        dst: u8,
        /// New-value register.
        src: u8,
        /// Offset.
        off: i16,
    },
    /// `dst = load_acquire((uN *)(src + off))` (`BPF_LOAD_ACQ`).
    LoadAcquire {
        /// Size.
        size: Size,
        /// Destination register.
        dst: u8,
        /// Base register.
        src: u8,
        /// Offset.
        off: i16,
    },
    /// `store_release((uN *)(dst + off), src)` (`BPF_STORE_REL`).
    StoreRelease {
        /// Size.
        size: Size,
        /// Base register.
        dst: u8,
        /// Value register.
        src: u8,
        /// Offset.
        off: i16,
    },
    /// `goto off` (`BPF_JMP | BPF_JA`).
    Ja {
        /// Slot offset from the next instruction.
        off: i16,
    },
    /// `gotol imm` (`BPF_JMP32 | BPF_JA`).
    JaLong {
        /// Slot offset from the next instruction.
        imm: i32,
    },
    /// `may_goto off` (`BPF_JMP | BPF_JCOND`, `src == BPF_MAY_GOTO`).
    MayGoto {
        /// Slot offset from the next instruction.
        off: i16,
    },
    /// `if dst cond src goto off`.
    Jmp {
        /// Comparison width.
        width: Width,
        /// Condition.
        cond: JmpCond,
        /// Left register.
        dst: u8,
        /// Right register or immediate.
        src: Operand,
        /// Slot offset from the next instruction.
        off: i16,
    },
    /// `call imm`.
    Call {
        /// What is called.
        kind: CallKind,
        /// Helper id, relative slot offset or kfunc BTF id.
        imm: i32,
        /// For kfuncs: index of the module BTF in `fd_array` (0: vmlinux); else 0.
        off: i16,
    },
    /// `callx dst`: LLVM's indirect call (register in `dst`).
    CallX {
        /// Register holding the target.
        dst: u8,
    },
    /// `exit`.
    Exit,
    /// An encoding this crate does not define (or with reserved fields set).
    Unknown(Insn),
}

const MAX_REG: u8 = REG_AX;

fn regs_ok(i: &Insn) -> bool {
    i.dst <= MAX_REG && i.src <= MAX_REG
}

fn width_of_alu(class: u8) -> Width {
    if class == CLASS_ALU64 {
        Width::W64
    } else {
        Width::W32
    }
}

/// Decodes the instruction starting at slot `at`.
///
/// Returns the instruction and the number of slots it uses (2 for `ld_imm64`, else 1).
/// Undefined encodings give `Instruction::Unknown` of the one slot. Errors only when `at`
/// is past the end, or an `ld_imm64` lacks its well-formed second slot.
pub fn decode(insns: &[Insn], at: usize) -> Result<(Instruction, usize), Error> {
    let Some(&i) = insns.get(at) else {
        return Err(Error::OutOfRange {
            index: at,
            len: insns.len(),
        });
    };
    if i.code == LD_IMM64 {
        if i.off != 0 || !regs_ok(&i) || i.src > MAX_REG {
            return Ok((Instruction::Unknown(i), 1));
        }
        let Some(&hi) = insns.get(at + 1) else {
            return Err(Error::BadLdImm64 {
                index: at,
                reason: "is missing its second slot",
            });
        };
        if hi.code != 0 || hi.dst != 0 || hi.src != 0 || hi.off != 0 {
            return Err(Error::BadLdImm64 {
                index: at,
                reason: "second slot has non-zero code, registers or offset",
            });
        }
        let imm = (i.imm as u32 as u64) | ((hi.imm as u32 as u64) << 32);
        return Ok((
            Instruction::LdImm64 {
                dst: i.dst,
                src: i.src,
                imm,
            },
            2,
        ));
    }
    Ok((decode_one(i), 1))
}

/// Decodes one slot; `ld_imm64` (which needs two) gives `Unknown`.
pub fn decode_one(i: Insn) -> Instruction {
    decode_inner(i).unwrap_or(Instruction::Unknown(i))
}

fn decode_inner(i: Insn) -> Option<Instruction> {
    if !regs_ok(&i) {
        return None;
    }
    let class = i.class();
    match class {
        CLASS_ALU | CLASS_ALU64 => decode_alu(i, width_of_alu(class)),
        CLASS_JMP | CLASS_JMP32 => decode_jmp(i),
        CLASS_LD => decode_ld(i),
        CLASS_LDX => decode_ldx(i),
        CLASS_ST => decode_st(i),
        _ => decode_stx(i),
    }
}

fn decode_alu(i: Insn, width: Width) -> Option<Instruction> {
    let op = i.code & OP_MASK;
    let x = i.code & SRC_MASK == SRC_X;
    match op {
        ALU_NEG => (!x && i.src == 0 && i.off == 0 && i.imm == 0)
            .then_some(Instruction::Neg { width, dst: i.dst }),
        ALU_END => {
            if i.src != 0 || i.off != 0 || !matches!(i.imm, 16 | 32 | 64) {
                return None;
            }
            let kind = match (width, x) {
                (Width::W32, false) => Endian::Le,
                (Width::W32, true) => Endian::Be,
                (Width::W64, false) => Endian::Swap,
                (Width::W64, true) => return None,
            };
            Some(Instruction::Endian {
                kind,
                dst: i.dst,
                bits: i.imm as u8,
            })
        }
        ALU_MOV if x && i.off != 0 => {
            if width == Width::W64 && i.off == OFF_ADDR_SPACE_CAST {
                return Some(Instruction::AddrSpaceCast {
                    dst: i.dst,
                    src: i.src,
                    dst_as: (i.imm as u32 >> 16) as u16,
                    src_as: i.imm as u32 as u16,
                });
            }
            let ok = match width {
                Width::W64 => matches!(i.off, 8 | 16 | 32),
                Width::W32 => matches!(i.off, 8 | 16),
            };
            (ok && i.imm == 0).then_some(Instruction::MovSx {
                width,
                dst: i.dst,
                src: i.src,
                bits: i.off as u8,
            })
        }
        _ => {
            let op = AluOp::from_encoding(op, i.off)?;
            let src = source_operand(i, x)?;
            Some(Instruction::Alu {
                width,
                op,
                dst: i.dst,
                src,
            })
        }
    }
}

/// The source operand of an ALU or JMP instruction: `src_reg` for `BPF_X` (the unused
/// `imm` must be 0), `imm` for `BPF_K` (the unused `src_reg` must be 0).
fn source_operand(i: Insn, x: bool) -> Option<Operand> {
    if x {
        (i.imm == 0).then_some(Operand::Reg(i.src))
    } else {
        (i.src == 0).then_some(Operand::Imm(i.imm))
    }
}

fn decode_jmp(i: Insn) -> Option<Instruction> {
    let op = i.code & OP_MASK;
    let x = i.code & SRC_MASK == SRC_X;
    let jmp32 = i.class() == CLASS_JMP32;
    let width = if jmp32 { Width::W32 } else { Width::W64 };
    let zero_regs = i.dst == 0 && i.src == 0;
    match op {
        JMP_JA if !x && zero_regs => {
            if jmp32 {
                (i.off == 0).then_some(Instruction::JaLong { imm: i.imm })
            } else {
                (i.imm == 0).then_some(Instruction::Ja { off: i.off })
            }
        }
        JMP_CALL if !jmp32 => {
            if x {
                return (i.src == 0 && i.off == 0 && i.imm == 0)
                    .then_some(Instruction::CallX { dst: i.dst });
            }
            if i.dst != 0 {
                return None;
            }
            let kind = match i.src {
                0 => CallKind::Helper,
                PSEUDO_CALL => CallKind::Local,
                PSEUDO_KFUNC_CALL => CallKind::Kfunc,
                _ => return None,
            };
            if kind != CallKind::Kfunc && i.off != 0 {
                return None;
            }
            Some(Instruction::Call {
                kind,
                imm: i.imm,
                off: i.off,
            })
        }
        JMP_EXIT if !jmp32 && !x => {
            (zero_regs && i.off == 0 && i.imm == 0).then_some(Instruction::Exit)
        }
        JMP_JCOND if !jmp32 && !x => (zero_regs && i.src == MAY_GOTO && i.imm == 0)
            .then_some(Instruction::MayGoto { off: i.off }),
        _ => {
            let cond = JmpCond::from_op(op)?;
            let src = source_operand(i, x)?;
            Some(Instruction::Jmp {
                width,
                cond,
                dst: i.dst,
                src,
                off: i.off,
            })
        }
    }
}

fn decode_ld(i: Insn) -> Option<Instruction> {
    let size = Size::from_code(i.code);
    if size == Size::DW || i.dst != 0 || i.off != 0 {
        return None;
    }
    match i.code & MODE_MASK {
        MODE_ABS if i.src == 0 => Some(Instruction::LdAbs { size, imm: i.imm }),
        MODE_IND => Some(Instruction::LdInd {
            size,
            src: i.src,
            imm: i.imm,
        }),
        _ => None,
    }
}

fn decode_ldx(i: Insn) -> Option<Instruction> {
    let size = Size::from_code(i.code);
    if i.imm != 0 {
        return None;
    }
    let (dst, src, off) = (i.dst, i.src, i.off);
    match i.code & MODE_MASK {
        MODE_MEM => Some(Instruction::Load {
            size,
            dst,
            src,
            off,
        }),
        MODE_MEMSX if size != Size::DW => Some(Instruction::LoadSx {
            size,
            dst,
            src,
            off,
        }),
        _ => None,
    }
}

fn decode_st(i: Insn) -> Option<Instruction> {
    (i.code & MODE_MASK == MODE_MEM && i.src == 0).then_some(Instruction::StoreImm {
        size: Size::from_code(i.code),
        dst: i.dst,
        off: i.off,
        imm: i.imm,
    })
}

fn decode_stx(i: Insn) -> Option<Instruction> {
    let size = Size::from_code(i.code);
    let (dst, src, off) = (i.dst, i.src, i.off);
    match i.code & MODE_MASK {
        MODE_MEM if i.imm == 0 => Some(Instruction::Store {
            size,
            dst,
            src,
            off,
        }),
        MODE_ATOMIC => match i.imm {
            ATOMIC_LOAD_ACQ => Some(Instruction::LoadAcquire {
                size,
                dst,
                src,
                off,
            }),
            ATOMIC_STORE_REL => Some(Instruction::StoreRelease {
                size,
                dst,
                src,
                off,
            }),
            _ if !matches!(size, Size::W | Size::DW) => None,
            ATOMIC_XCHG => Some(Instruction::Xchg {
                size,
                dst,
                src,
                off,
            }),
            ATOMIC_CMPXCHG => Some(Instruction::CmpXchg {
                size,
                dst,
                src,
                off,
            }),
            imm => {
                let fetch = imm & ATOMIC_FETCH != 0;
                let op = AtomicOp::from_imm(imm & !ATOMIC_FETCH)?;
                Some(Instruction::Atomic {
                    size,
                    op,
                    fetch,
                    dst,
                    src,
                    off,
                })
            }
        },
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(i: Insn) -> Instruction {
        decode_one(i)
    }

    /// `i` decodes to [`Instruction::Unknown`].
    #[track_caller]
    fn assert_unknown(i: Insn) {
        let got = d(i);
        assert!(
            matches!(got, Instruction::Unknown(_)),
            "{i:?} decoded as {got:?}"
        );
    }

    #[test]
    fn sdiv_is_div_with_off_one() {
        assert_eq!(
            d(Insn::new(0x3f, 1, 2, 1, 0)),
            Instruction::Alu {
                width: Width::W64,
                op: AluOp::SDiv,
                dst: 1,
                src: Operand::Reg(2)
            }
        );
        assert_unknown(Insn::new(0x3f, 1, 2, 2, 0));
    }

    #[test]
    fn alu32_movsx_rejects_32_bit_extension() {
        assert_unknown(Insn::new(0xbc, 1, 2, 32, 0));
        assert!(matches!(
            d(Insn::new(0xbf, 1, 2, 32, 0)),
            Instruction::MovSx { bits: 32, .. }
        ));
    }

    #[test]
    fn reserved_imm_on_register_alu_is_unknown() {
        assert_unknown(Insn::new(0x0f, 1, 2, 0, 5));
    }

    #[test]
    fn registers_above_r11_are_unknown() {
        assert_unknown(Insn::new(0x0f, 12, 2, 0, 0));
        assert!(matches!(
            d(Insn::new(0x0f, 11, 2, 0, 0)),
            Instruction::Alu { dst: 11, .. }
        ));
    }

    #[test]
    fn ld_imm64_joins_both_halves() {
        let [a, b] = Insn::ld_imm64(3, 0, 0x1122_3344_5566_7788);
        assert_eq!(
            decode(&[a, b], 0).unwrap(),
            (
                Instruction::LdImm64 {
                    dst: 3,
                    src: 0,
                    imm: 0x1122_3344_5566_7788
                },
                2
            )
        );
    }

    #[test]
    fn ld_imm64_without_second_slot_is_an_error_naming_the_slot() {
        let [a, _] = Insn::ld_imm64(1, 0, 7);
        let err = decode(&[Insn::exit(), a], 1).unwrap_err();
        assert_eq!(
            err,
            Error::BadLdImm64 {
                index: 1,
                reason: "is missing its second slot"
            }
        );
    }

    #[test]
    fn decode_past_end_is_an_error() {
        assert_eq!(
            decode(&[], 0).unwrap_err(),
            Error::OutOfRange { index: 0, len: 0 }
        );
    }

    #[test]
    fn atomics_decode_by_imm() {
        let x = |imm| d(Insn::new(0xdb, 1, 2, 0, imm));
        assert!(matches!(
            x(0x01),
            Instruction::Atomic {
                op: AtomicOp::Add,
                fetch: true,
                ..
            }
        ));
        assert!(matches!(
            x(0xa0),
            Instruction::Atomic {
                op: AtomicOp::Xor,
                fetch: false,
                ..
            }
        ));
        assert!(matches!(x(0xe1), Instruction::Xchg { .. }));
        assert!(matches!(x(0xf1), Instruction::CmpXchg { .. }));
        assert!(matches!(x(0x100), Instruction::LoadAcquire { .. }));
        assert!(matches!(x(0x110), Instruction::StoreRelease { .. }));
        assert!(matches!(x(0xe0), Instruction::Unknown(_)));
        // Read-modify-write atomics exist only for W and DW.
        assert_unknown(Insn::new(0xd3, 1, 2, 0, 0));
        assert!(matches!(
            d(Insn::new(0xd3, 1, 2, 0, 0x100)),
            Instruction::LoadAcquire { size: Size::B, .. }
        ));
    }

    #[test]
    fn jmp32_ja_is_gotol_and_kfunc_call_keeps_off() {
        assert_eq!(
            d(Insn::new(0x06, 0, 0, 0, -7)),
            Instruction::JaLong { imm: -7 }
        );
        assert_eq!(
            d(Insn::new(0x85, 0, 2, 3, 99)),
            Instruction::Call {
                kind: CallKind::Kfunc,
                imm: 99,
                off: 3
            }
        );
        assert_unknown(Insn::new(0x85, 0, 1, 3, 99));
    }

    #[test]
    fn encode_gives_back_the_decoded_slot() {
        for code in 0..=255u8 {
            for (dst, src, off, imm) in [(1, 2, 0, 0), (0, 0, 0, 0), (1, 0, 8, 16), (0, 1, 1, 1)] {
                let i = Insn::new(code, dst, src, off, imm);
                if i.is_ld_imm64() {
                    continue;
                }
                let (enc, n) = d(i).encode();
                assert_eq!((enc[0], n), (i, 1), "{i:?}");
            }
        }
    }
}

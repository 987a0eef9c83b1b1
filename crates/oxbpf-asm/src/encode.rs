//! Encoding of [`Instruction`] back into slots (the inverse of [`crate::decode`]).

use crate::Insn;
use crate::instruction::*;
use crate::opcode::*;

fn alu_class(width: Width) -> u8 {
    match width {
        Width::W32 => CLASS_ALU,
        Width::W64 => CLASS_ALU64,
    }
}

fn jmp_class(width: Width) -> u8 {
    match width {
        Width::W32 => CLASS_JMP32,
        Width::W64 => CLASS_JMP,
    }
}

fn operand_fields(src: Operand) -> (u8, u8, i32) {
    match src {
        Operand::Reg(r) => (SRC_X, r, 0),
        Operand::Imm(imm) => (SRC_K, 0, imm),
    }
}

impl Instruction {
    /// Number of slots the instruction occupies (2 for `ld_imm64`, else 1).
    pub const fn slots(&self) -> usize {
        match self {
            Instruction::LdImm64 { .. } => 2,
            _ => 1,
        }
    }

    /// Encodes back into slots; the second slot is meaningful only for `ld_imm64`.
    ///
    /// Decoding the result gives `self` again (for values [`decode`] can produce).
    pub fn encode(&self) -> ([Insn; 2], usize) {
        use Instruction as I;
        let one = |i: Insn| ([i, Insn::default()], 1);
        match *self {
            I::Alu {
                width,
                op,
                dst,
                src,
            } => {
                let (opbits, off) = op.encoding();
                let (s, sreg, imm) = operand_fields(src);
                one(Insn::new(
                    alu_class(width) | opbits | s,
                    dst,
                    sreg,
                    off,
                    imm,
                ))
            }
            I::Neg { width, dst } => one(Insn::new(alu_class(width) | ALU_NEG, dst, 0, 0, 0)),
            I::MovSx {
                width,
                dst,
                src,
                bits,
            } => one(Insn::new(
                alu_class(width) | ALU_MOV | SRC_X,
                dst,
                src,
                bits as i16,
                0,
            )),
            I::AddrSpaceCast {
                dst,
                src,
                dst_as,
                src_as,
            } => one(Insn::new(
                CLASS_ALU64 | ALU_MOV | SRC_X,
                dst,
                src,
                OFF_ADDR_SPACE_CAST,
                ((dst_as as u32) << 16 | src_as as u32) as i32,
            )),
            I::Endian { kind, dst, bits } => {
                let code = match kind {
                    Endian::Le => CLASS_ALU | ALU_END | END_TO_LE,
                    Endian::Be => CLASS_ALU | ALU_END | END_TO_BE,
                    Endian::Swap => CLASS_ALU64 | ALU_END,
                };
                one(Insn::new(code, dst, 0, 0, bits as i32))
            }
            I::LdImm64 { dst, src, imm } => (Insn::ld_imm64(dst, src, imm), 2),
            I::LdAbs { size, imm } => {
                one(Insn::new(CLASS_LD | MODE_ABS | size.code(), 0, 0, 0, imm))
            }
            I::LdInd { size, src, imm } => {
                one(Insn::new(CLASS_LD | MODE_IND | size.code(), 0, src, 0, imm))
            }
            I::Load {
                size,
                dst,
                src,
                off,
            } => one(Insn::new(
                CLASS_LDX | MODE_MEM | size.code(),
                dst,
                src,
                off,
                0,
            )),
            I::LoadSx {
                size,
                dst,
                src,
                off,
            } => one(Insn::new(
                CLASS_LDX | MODE_MEMSX | size.code(),
                dst,
                src,
                off,
                0,
            )),
            I::Store {
                size,
                dst,
                src,
                off,
            } => one(Insn::new(
                CLASS_STX | MODE_MEM | size.code(),
                dst,
                src,
                off,
                0,
            )),
            I::StoreImm {
                size,
                dst,
                off,
                imm,
            } => one(Insn::new(
                CLASS_ST | MODE_MEM | size.code(),
                dst,
                0,
                off,
                imm,
            )),
            I::Atomic {
                size,
                op,
                fetch,
                dst,
                src,
                off,
            } => {
                let imm = op.imm() | if fetch { ATOMIC_FETCH } else { 0 };
                one(atomic(size, dst, src, off, imm))
            }
            I::Xchg {
                size,
                dst,
                src,
                off,
            } => one(atomic(size, dst, src, off, ATOMIC_XCHG)),
            I::CmpXchg {
                size,
                dst,
                src,
                off,
            } => one(atomic(size, dst, src, off, ATOMIC_CMPXCHG)),
            I::LoadAcquire {
                size,
                dst,
                src,
                off,
            } => one(atomic(size, dst, src, off, ATOMIC_LOAD_ACQ)),
            I::StoreRelease {
                size,
                dst,
                src,
                off,
            } => one(atomic(size, dst, src, off, ATOMIC_STORE_REL)),
            I::Ja { off } => one(Insn::new(JA, 0, 0, off, 0)),
            I::JaLong { imm } => one(Insn::new(JA32, 0, 0, 0, imm)),
            I::MayGoto { off } => one(Insn::new(JCOND, 0, MAY_GOTO, off, 0)),
            I::Jmp {
                width,
                cond,
                dst,
                src,
                off,
            } => {
                let (s, sreg, imm) = operand_fields(src);
                one(Insn::new(
                    jmp_class(width) | cond.op() | s,
                    dst,
                    sreg,
                    off,
                    imm,
                ))
            }
            I::Call { kind, imm, off } => {
                let src = match kind {
                    CallKind::Helper => 0,
                    CallKind::Local => PSEUDO_CALL,
                    CallKind::Kfunc => PSEUDO_KFUNC_CALL,
                };
                one(Insn::new(CALL, 0, src, off, imm))
            }
            I::CallX { dst } => one(Insn::new(CALLX, dst, 0, 0, 0)),
            I::Exit => one(Insn::exit()),
            I::Unknown(i) => one(i),
        }
    }
}

fn atomic(size: Size, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
    Insn::new(CLASS_STX | MODE_ATOMIC | size.code(), dst, src, off, imm)
}

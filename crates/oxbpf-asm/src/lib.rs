//! oxbpf-asm: the BPF instruction model.
//!
//! Owns [`Insn`] (the kernel's `struct bpf_insn`, 8 bytes), encoding and decoding of
//! instruction streams, opcode constants, and the LLVM-syntax text of instructions
//! (the same text `llvm-objdump -d` prints). A 16-byte `ld_imm64` occupies two [`Insn`]
//! slots, as in the kernel: slot indices are the unit every relocation, jump offset and
//! `func_info`/`line_info` record counts in.
//!
//! Layers, bottom up:
//! - [`Insn`] and [`opcode`]: raw slots and the kernel's opcode constants;
//! - [`decode`] → [`Instruction`]: a strict semantic view (every variant has exactly
//!   one encoding, anything else is [`Instruction::Unknown`]), and
//!   [`Instruction::encode`] back;
//! - [`disassemble`]: the text `llvm-objdump-19 -d --no-show-raw-insn` prints, slot
//!   by slot ([`DisasmOptions`] mirrors `--no-print-imm-hex` and `--mattr=+alu32`, and
//!   adds `.8byte` data for unknown encodings, helper names and the lossless form);
//! - [`asm::assemble`]: that text (and llvm-objdump listings) back to slots, with
//!   labels, helper names and relocations for maps/globals and undefined functions;
//! - [`helpers`]: the kernel's helper ids and names;
//! - [`listing`]: whole llvm-objdump-style listings (headers, raw bytes, relocations);
//! - [`builder`]: programs written in Rust, jumps resolved at build time.
//!
//! Which text round-trips: [`DisasmOptions::lossless`] always does (assembling it gives
//! the disassembled bytes back). llvm-objdump 19's text does for what clang emits,
//! except 32-bit atomics without alu32 (LLVM prints them all as `lock ... +=`) and
//! bpf-to-bpf/kfunc calls (LLVM prints `call imm` for every `src`).
//!
//! It does no I/O and knows nothing of ELF, maps or the kernel.
//!
//! ```
//! use oxbpf_asm::{DisasmOptions, Insn, decode, disassemble, insns_from_bytes, insns_to_bytes};
//! let prog = [Insn::mov64_imm(0, 0), Insn::exit()];
//! let bytes = insns_to_bytes(&prog);
//! assert_eq!(insns_from_bytes(&bytes).unwrap(), prog);
//!
//! let (first, slots) = decode(&prog, 0).unwrap();
//! assert_eq!((first.to_string(), slots), ("r0 = 0x0".to_string(), 1));
//! let lines: Vec<String> = disassemble(&prog, &DisasmOptions::default())
//!     .map(|(slot, text)| format!("{slot}: {text}"))
//!     .collect();
//! assert_eq!(lines, ["0: r0 = 0x0", "1: exit"]);
//!
//! let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
//! assert_eq!(oxbpf_asm::assemble(&text).unwrap().insns, prog);
//! ```
#![forbid(unsafe_code)]

pub mod asm;
pub mod builder;
mod encode;
pub mod helpers;
pub mod instruction;
pub mod listing;
pub mod opcode;
pub mod text;

pub use asm::{AsmError, AsmOutput, AsmReloc, RelocKind, assemble};
pub use helpers::{Helper, helper_id, helper_name};
pub use instruction::{
    AluOp, AtomicOp, CallKind, Endian, Instruction, JmpCond, Operand, Size, Width, decode,
    decode_one,
};
pub use opcode::*;
pub use text::{DisasmOptions, DisplayInstruction, Line, disassemble, disassemble_lines};

/// One 8-byte BPF instruction slot (`struct bpf_insn`).
///
/// `dst` and `src` are the 4-bit register fields; `off` is the signed 16-bit offset and
/// `imm` the signed 32-bit immediate. The second slot of an `ld_imm64` has `code == 0`
/// and carries the upper 32 bits of the constant in `imm`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Insn {
    /// Opcode byte: class | size/source | mode/operation.
    pub code: u8,
    /// Destination register (0..=10; 4 bits).
    pub dst: u8,
    /// Source register or pseudo-source tag (4 bits).
    pub src: u8,
    /// Signed offset.
    pub off: i16,
    /// Signed immediate.
    pub imm: i32,
}

/// Errors from decoding instruction bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The byte length is not a multiple of 8.
    #[error("instruction bytes: length {len} is not a multiple of 8 (trailing {} bytes at offset {})", len % 8, len - len % 8)]
    TrailingBytes {
        /// Total length given.
        len: usize,
    },
    /// An `ld_imm64` whose second slot is missing or malformed.
    #[error("instruction {index}: ld_imm64 {reason}")]
    BadLdImm64 {
        /// Slot index of the first half.
        index: usize,
        /// What is wrong.
        reason: &'static str,
    },
    /// A slot index past the end of the instructions.
    #[error("instruction {index}: past the end of {len} slots")]
    OutOfRange {
        /// Slot index asked for.
        index: usize,
        /// Number of slots.
        len: usize,
    },
}

impl Insn {
    /// Size of one slot in bytes.
    pub const SIZE: usize = 8;

    /// Builds an instruction from its fields (registers are masked to 4 bits).
    pub const fn new(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Self {
        Insn {
            code,
            dst: dst & 0xf,
            src: src & 0xf,
            off,
            imm,
        }
    }

    /// Decodes one little-endian slot.
    pub fn from_bytes(b: [u8; 8]) -> Self {
        Insn {
            code: b[0],
            dst: b[1] & 0xf,
            src: b[1] >> 4,
            off: i16::from_le_bytes([b[2], b[3]]),
            imm: i32::from_le_bytes([b[4], b[5], b[6], b[7]]),
        }
    }

    /// Encodes one little-endian slot.
    pub fn to_bytes(&self) -> [u8; 8] {
        let off = self.off.to_le_bytes();
        let imm = self.imm.to_le_bytes();
        [
            self.code,
            (self.dst & 0xf) | (self.src << 4),
            off[0],
            off[1],
            imm[0],
            imm[1],
            imm[2],
            imm[3],
        ]
    }

    /// The instruction class (low 3 bits of `code`).
    pub const fn class(&self) -> u8 {
        self.code & 0x07
    }

    /// True for the first slot of a 16-byte `ld_imm64` (`BPF_LD | BPF_IMM | BPF_DW`).
    pub const fn is_ld_imm64(&self) -> bool {
        self.code == LD_IMM64
    }

    /// True for `call` (`BPF_JMP | BPF_CALL`), helper, subprogram or kfunc.
    pub const fn is_call(&self) -> bool {
        self.code == CALL
    }

    /// True for a bpf-to-bpf call (`call` with `src == BPF_PSEUDO_CALL`).
    pub const fn is_pseudo_call(&self) -> bool {
        self.code == CALL && self.src == PSEUDO_CALL
    }

    /// True for an `ld_imm64` that loads a subprogram address (`src == BPF_PSEUDO_FUNC`).
    pub const fn is_pseudo_func(&self) -> bool {
        self.code == LD_IMM64 && self.src == PSEUDO_FUNC
    }

    /// `rD = imm` (64-bit move of a sign-extended immediate).
    pub const fn mov64_imm(dst: u8, imm: i32) -> Self {
        Insn::new(CLASS_ALU64 | ALU_MOV | SRC_K, dst, 0, 0, imm)
    }

    /// `exit`.
    pub const fn exit() -> Self {
        Insn::new(CLASS_JMP | JMP_EXIT, 0, 0, 0, 0)
    }

    /// `call imm` to helper `id`.
    pub const fn call_helper(id: i32) -> Self {
        Insn::new(CALL, 0, 0, 0, id)
    }

    /// The two slots of `rD = imm64 ll` with pseudo-source `src`.
    pub const fn ld_imm64(dst: u8, src: u8, imm: u64) -> [Self; 2] {
        [
            Insn::new(LD_IMM64, dst, src, 0, imm as u32 as i32),
            Insn::new(0, 0, 0, 0, (imm >> 32) as u32 as i32),
        ]
    }
}

/// Decodes a byte stream into slots, checking that every `ld_imm64` has its second half.
pub fn insns_from_bytes(bytes: &[u8]) -> Result<Vec<Insn>, Error> {
    if bytes.len() % Insn::SIZE != 0 {
        return Err(Error::TrailingBytes { len: bytes.len() });
    }
    let insns: Vec<Insn> = bytes
        .chunks_exact(Insn::SIZE)
        .map(|c| Insn::from_bytes(c.try_into().expect("chunks_exact gives 8 bytes")))
        .collect();
    let mut i = 0;
    while i < insns.len() {
        if insns[i].is_ld_imm64() {
            match insns.get(i + 1) {
                None => {
                    return Err(Error::BadLdImm64 {
                        index: i,
                        reason: "is missing its second slot",
                    });
                }
                Some(n) if n.code != 0 || n.dst != 0 || n.src != 0 || n.off != 0 => {
                    return Err(Error::BadLdImm64 {
                        index: i,
                        reason: "second slot has non-zero code, registers or offset",
                    });
                }
                Some(_) => i += 2,
            }
        } else {
            i += 1;
        }
    }
    Ok(insns)
}

/// Encodes slots into little-endian bytes.
pub fn insns_to_bytes(insns: &[Insn]) -> Vec<u8> {
    insns.iter().flat_map(|i| i.to_bytes()).collect()
}

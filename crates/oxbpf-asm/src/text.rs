//! LLVM-syntax text of instructions: the instruction column of `llvm-objdump -d`.
//!
//! Two entry points:
//! - [`Instruction::display`] (and `Display` on [`Instruction`], with default options)
//!   prints one decoded instruction. It prints what the instruction *means*, in LLVM's
//!   syntax, including kinds LLVM 19 cannot print (load-acquire/store-release, spelled as
//!   LLVM 21 does).
//! - [`disassemble`] reproduces, slot by slot, exactly what `llvm-objdump-19 -d
//!   --no-show-raw-insn` prints, including its leniencies: LLVM 19 ignores most fields
//!   an instruction does not use (so `r1 += r2` with a stray `imm` still prints as
//!   `r1 += r2`), accepts r11, prints every `call` as `call imm` whatever its `src`, and
//!   prints encodings it has no instruction for as `<unknown>`. Jump targets are printed
//!   as `+N`/`-N` without llvm-objdump's trailing `<symbol>` annotation.

use std::fmt;

use crate::Insn;
use crate::instruction::*;
use crate::opcode::*;

/// Options for the text (the llvm-objdump flags that change it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DisasmOptions {
    /// Immediates and offsets in hex (`0x10`), llvm-objdump 19's default; `false` is
    /// `--no-print-imm-hex` (decimal).
    pub imm_hex: bool,
    /// Decode as `--mattr=+alu32` does: 8/16/32-bit loads, stores and atomics use `wN`
    /// registers, and 32-bit atomics other than plain add are known. llvm-objdump's
    /// default is `false`.
    pub alu32: bool,
    /// Print what cannot be decoded as `.8byte 0x…` (the slot as a little-endian
    /// 64-bit word, which the assembler turns back into the same bytes) instead of
    /// llvm-objdump 19's `<unknown>`.
    pub unknown_as_data: bool,
    /// Print helper calls by name (`call bpf_map_lookup_elem`) when the id is a known
    /// helper, instead of `call 0x1`.
    pub helper_names: bool,
    /// The lossless text: decode strictly ([`crate::decode`]) and print each
    /// instruction with [`Instruction::display`], so that assembling the text gives back
    /// the very bytes. Fields LLVM 19 ignores, `ld_pseudo` high halves, 32-bit atomics
    /// and non-helper calls all survive; whatever the strict decoder rejects is
    /// `.8byte` data. Implies `unknown_as_data`.
    pub lossless: bool,
}

impl Default for DisasmOptions {
    fn default() -> Self {
        DisasmOptions {
            imm_hex: true,
            alu32: false,
            unknown_as_data: false,
            helper_names: false,
            lossless: false,
        }
    }
}

impl DisasmOptions {
    /// Decimal immediates (`--no-print-imm-hex`).
    pub fn decimal(mut self) -> Self {
        self.imm_hex = false;
        self
    }

    /// The `--mattr=+alu32` view.
    pub fn with_alu32(mut self) -> Self {
        self.alu32 = true;
        self
    }

    /// `.8byte 0x…` for undecodable slots instead of `<unknown>`.
    pub fn with_unknown_as_data(mut self) -> Self {
        self.unknown_as_data = true;
        self
    }

    /// Helper calls by name (`call bpf_map_lookup_elem`).
    pub fn with_helper_names(mut self) -> Self {
        self.helper_names = true;
        self
    }

    /// The lossless text (see [`DisasmOptions::lossless`]).
    pub fn lossless(mut self) -> Self {
        self.lossless = true;
        self.unknown_as_data = true;
        self
    }
}

/// The `.8byte` data line for one slot: its bytes as a little-endian 64-bit word.
pub fn data_line(i: Insn) -> String {
    DataLine(i).to_string()
}

/// `.8byte 0x…` of one slot, written without allocating.
struct DataLine(Insn);

impl fmt::Display for DataLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, ".8byte 0x{:016x}", u64::from_le_bytes(self.0.to_bytes()))
    }
}

/// An [`Instruction`] paired with options, printable with `{}`.
#[derive(Clone, Copy, Debug)]
pub struct DisplayInstruction<'a> {
    insn: &'a Instruction,
    opts: DisasmOptions,
}

impl Instruction {
    /// The instruction's text with the given options.
    pub fn display(&self, opts: DisasmOptions) -> DisplayInstruction<'_> {
        DisplayInstruction { insn: self, opts }
    }
}

impl fmt::Display for Instruction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.display(DisasmOptions::default()).fmt(f)
    }
}

struct Imm(i64, bool);

impl fmt::Display for Imm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Imm(v, hex) = *self;
        if !hex {
            write!(f, "{v}")
        } else if v < 0 {
            write!(f, "-0x{:x}", v.unsigned_abs())
        } else {
            write!(f, "0x{v:x}")
        }
    }
}

/// A jump target: `+N` or `-N`.
struct Target(i64, bool);

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 >= 0 {
            f.write_str("+")?;
        }
        Imm(self.0, self.1).fmt(f)
    }
}

struct Reg(u8, bool);

impl fmt::Display for Reg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", if self.1 { 'w' } else { 'r' }, self.0)
    }
}

/// `(rN + 0x8)` style address: base register and signed offset.
struct Addr(u8, i16, bool);

impl fmt::Display for Addr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Addr(r, off, hex) = *self;
        let off = i64::from(off);
        if off >= 0 {
            write!(f, "r{r} + {}", Imm(off, hex))
        } else {
            write!(f, "r{r} - {}", Imm(-off, hex))
        }
    }
}

fn alu_op_str(op: AluOp) -> &'static str {
    match op {
        AluOp::Add => "+=",
        AluOp::Sub => "-=",
        AluOp::Mul => "*=",
        AluOp::Div => "/=",
        AluOp::SDiv => "s/=",
        AluOp::Or => "|=",
        AluOp::And => "&=",
        AluOp::Lsh => "<<=",
        AluOp::Rsh => ">>=",
        AluOp::Mod => "%=",
        AluOp::SMod => "s%=",
        AluOp::Xor => "^=",
        AluOp::Mov => "=",
        AluOp::Arsh => "s>>=",
    }
}

fn cond_str(c: JmpCond) -> &'static str {
    match c {
        JmpCond::Eq => "==",
        JmpCond::Gt => ">",
        JmpCond::Ge => ">=",
        JmpCond::Set => "&",
        JmpCond::Ne => "!=",
        JmpCond::Sgt => "s>",
        JmpCond::Sge => "s>=",
        JmpCond::Lt => "<",
        JmpCond::Le => "<=",
        JmpCond::Slt => "s<",
        JmpCond::Sle => "s<=",
    }
}

fn atomic_op_name(op: AtomicOp) -> (&'static str, &'static str) {
    match op {
        AtomicOp::Add => ("+", "add"),
        AtomicOp::Or => ("|", "or"),
        AtomicOp::And => ("&", "and"),
        AtomicOp::Xor => ("^", "xor"),
    }
}

impl fmt::Display for DisplayInstruction<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use Instruction as I;
        let hex = self.opts.imm_hex;
        let alu32 = self.opts.alu32;
        let imm = |v: i32| Imm(i64::from(v), hex);
        let w = |width: Width| width == Width::W32;
        // Sub-64-bit memory accesses use wN registers in the alu32 view.
        let mem32 = |size: Size| alu32 && size != Size::DW;
        match *self.insn {
            I::Alu {
                width,
                op,
                dst,
                src,
            } => {
                write!(f, "{} {} ", Reg(dst, w(width)), alu_op_str(op))?;
                match src {
                    Operand::Reg(s) => Reg(s, w(width)).fmt(f),
                    Operand::Imm(v) => imm(v).fmt(f),
                }
            }
            I::Neg { width, dst } => {
                let r = Reg(dst, w(width));
                write!(f, "{r} = -{r}")
            }
            I::MovSx {
                width,
                dst,
                src,
                bits,
            } => write!(
                f,
                "{} = (s{bits}){}",
                Reg(dst, w(width)),
                Reg(src, w(width))
            ),
            I::AddrSpaceCast {
                dst,
                src,
                dst_as,
                src_as,
            } => write!(
                f,
                "r{dst} = addr_space_cast(r{src}, {}, {})",
                Imm(dst_as.into(), hex),
                Imm(src_as.into(), hex)
            ),
            I::Endian { kind, dst, bits } => {
                let name = match kind {
                    Endian::Le => "le",
                    Endian::Be => "be",
                    Endian::Swap => "bswap",
                };
                write!(f, "r{dst} = {name}{bits} r{dst}")
            }
            I::LdImm64 { dst, src: 0, imm } => write!(f, "r{dst} = {} ll", Imm(imm as i64, hex)),
            I::LdImm64 { dst, src, imm } => write!(
                f,
                "ld_pseudo\tr{dst}, {}, {}",
                Imm(src.into(), hex),
                Imm(imm as i64, hex)
            ),
            I::LdAbs { size, imm: v } => write!(f, "r0 = *(u{} *)skb[{}]", size.bits(), imm(v)),
            I::LdInd { size, src, imm: 0 } => {
                write!(f, "r0 = *(u{} *)skb[r{src}]", size.bits())
            }
            I::LdInd { size, src, imm: v } => {
                write!(f, "r0 = *(u{} *)skb[r{src} + {}]", size.bits(), imm(v))
            }
            I::Load {
                size,
                dst,
                src,
                off,
            } => write!(
                f,
                "{} = *(u{} *)({})",
                Reg(dst, mem32(size)),
                size.bits(),
                Addr(src, off, hex)
            ),
            I::LoadSx {
                size,
                dst,
                src,
                off,
            } => write!(f, "r{dst} = *(s{} *)({})", size.bits(), Addr(src, off, hex)),
            I::Store {
                size,
                dst,
                src,
                off,
            } => write!(
                f,
                "*(u{} *)({}) = {}",
                size.bits(),
                Addr(dst, off, hex),
                Reg(src, mem32(size))
            ),
            I::StoreImm {
                size,
                dst,
                off,
                imm: v,
            } => write!(
                f,
                "*(u{} *)({}) = {}",
                size.bits(),
                Addr(dst, off, hex),
                imm(v)
            ),
            I::Atomic {
                size,
                op,
                fetch: false,
                dst,
                src,
                off,
            } => write!(
                f,
                "lock *(u{} *)({}) {}= {}",
                size.bits(),
                Addr(dst, off, hex),
                atomic_op_name(op).0,
                Reg(src, mem32(size))
            ),
            I::Atomic {
                size,
                op,
                fetch: true,
                dst,
                src,
                off,
            } => {
                let r = Reg(src, size != Size::DW);
                write!(
                    f,
                    "{r} = atomic_fetch_{}((u{} *)({}), {r})",
                    atomic_op_name(op).1,
                    size.bits(),
                    Addr(dst, off, hex)
                )
            }
            I::Xchg {
                size,
                dst,
                src,
                off,
            } => {
                let r = Reg(src, size != Size::DW);
                let name = if size == Size::DW { "xchg" } else { "xchg32" };
                write!(
                    f,
                    "{r} = {name}_{}({}, {r})",
                    size.bits(),
                    Addr(dst, off, hex)
                )
            }
            I::CmpXchg {
                size,
                dst,
                src,
                off,
            } => {
                let is32 = size != Size::DW;
                let name = if is32 { "cmpxchg32" } else { "cmpxchg" };
                write!(
                    f,
                    "{r0} = {name}_{}({}, {r0}, {})",
                    size.bits(),
                    Addr(dst, off, hex),
                    Reg(src, is32),
                    r0 = Reg(0, is32)
                )
            }
            I::LoadAcquire {
                size,
                dst,
                src,
                off,
            } => write!(
                f,
                "{} = load_acquire((u{} *)({}))",
                Reg(dst, size != Size::DW),
                size.bits(),
                Addr(src, off, hex)
            ),
            I::StoreRelease {
                size,
                dst,
                src,
                off,
            } => write!(
                f,
                "store_release((u{} *)({}), {})",
                size.bits(),
                Addr(dst, off, hex),
                Reg(src, size != Size::DW)
            ),
            I::Ja { off } => write!(f, "goto {}", Target(off.into(), hex)),
            I::JaLong { imm } => write!(f, "gotol {}", Target(imm.into(), hex)),
            I::MayGoto { off } => write!(f, "may_goto {}", Target(off.into(), hex)),
            I::Jmp {
                width,
                cond,
                dst,
                src,
                off,
            } => {
                write!(f, "if {} {} ", Reg(dst, w(width)), cond_str(cond))?;
                match src {
                    Operand::Reg(s) => Reg(s, w(width)).fmt(f)?,
                    Operand::Imm(v) => imm(v).fmt(f)?,
                }
                write!(f, " goto {}", Target(off.into(), hex))
            }
            I::Call {
                kind: CallKind::Helper,
                imm: v,
                ..
            } => match self
                .opts
                .helper_names
                .then(|| crate::helpers::helper_name(v))
                .flatten()
            {
                Some(name) => write!(f, "call {name}"),
                None => write!(f, "call {}", imm(v)),
            },
            I::Call {
                kind: CallKind::Local,
                imm: v,
                ..
            } => write!(f, "call pc{}", Target(v.into(), hex)),
            I::Call {
                kind: CallKind::Kfunc,
                imm: v,
                off: 0,
            } => write!(f, "call kfunc {}", imm(v)),
            I::Call {
                kind: CallKind::Kfunc,
                imm: v,
                off,
            } => write!(f, "call kfunc {}, {}", imm(v), Imm(off.into(), hex)),
            I::CallX { dst } => write!(f, "callx r{dst}"),
            I::Exit => f.write_str("exit"),
            I::Unknown(i) if self.opts.unknown_as_data => DataLine(i).fmt(f),
            I::Unknown(_) => f.write_str("<unknown>"),
        }
    }
}

/// Classifies slot `at` as llvm-objdump 19 does: the instruction LLVM prints (`None` for
/// `<unknown>`) and the slots it takes. Fields LLVM does not read are dropped.
///
/// `at` must be in range.
fn llvm19_decode(insns: &[Insn], at: usize, alu32: bool) -> (Option<Instruction>, usize) {
    let i = insns[at];
    if i.code == LD_IMM64 {
        // LLVM reads only the high `imm` of the second slot; fewer than 16 bytes fail.
        return match insns.get(at + 1) {
            Some(hi) if i.off == 0 && i.dst <= REG_AX => {
                // `ld_pseudo` (src != 0) shows only the low 32 bits, zero-extended.
                let high = if i.src == 0 { hi.imm as u32 as u64 } else { 0 };
                let imm = (i.imm as u32 as u64) | (high << 32);
                let dst = i.dst;
                (
                    Some(Instruction::LdImm64 {
                        dst,
                        src: i.src,
                        imm,
                    }),
                    2,
                )
            }
            _ => (None, 1),
        };
    }
    (llvm19_one(i, alu32), 1)
}

fn llvm19_one(i: Insn, alu32: bool) -> Option<Instruction> {
    let reg = |r: u8| (r <= REG_AX).then_some(r);
    let class = i.class();
    let op = i.code & OP_MASK;
    let x = i.code & SRC_MASK == SRC_X;
    let size = Size::from_code(i.code);
    let mode = i.code & MODE_MASK;
    Some(match class {
        CLASS_ALU | CLASS_ALU64 => {
            let width = if class == CLASS_ALU64 {
                Width::W64
            } else {
                Width::W32
            };
            let dst = reg(i.dst)?;
            match op {
                ALU_NEG if !x => Instruction::Neg { width, dst },
                ALU_END if matches!(i.imm, 16 | 32 | 64) => {
                    let kind = match (width, x) {
                        (Width::W32, false) => Endian::Le,
                        (Width::W32, true) => Endian::Be,
                        (Width::W64, false) => Endian::Swap,
                        (Width::W64, true) => return None,
                    };
                    Instruction::Endian {
                        kind,
                        dst,
                        bits: i.imm as u8,
                    }
                }
                ALU_MOV if x && i.off != 0 => {
                    let src = reg(i.src)?;
                    match (width, i.off) {
                        (Width::W64, OFF_ADDR_SPACE_CAST) => Instruction::AddrSpaceCast {
                            dst,
                            src,
                            dst_as: (i.imm as u32 >> 16) as u16,
                            src_as: i.imm as u32 as u16,
                        },
                        (Width::W64, 8 | 16 | 32) | (Width::W32, 8 | 16) => Instruction::MovSx {
                            width,
                            dst,
                            src,
                            bits: i.off as u8,
                        },
                        _ => return None,
                    }
                }
                ALU_NEG | ALU_END => return None,
                _ => Instruction::Alu {
                    width,
                    op: AluOp::from_encoding(op, i.off)?,
                    dst,
                    src: if x {
                        Operand::Reg(reg(i.src)?)
                    } else {
                        Operand::Imm(i.imm)
                    },
                },
            }
        }
        CLASS_JMP | CLASS_JMP32 => {
            let jmp32 = class == CLASS_JMP32;
            match op {
                JMP_JA if !x && jmp32 => Instruction::JaLong { imm: i.imm },
                JMP_JA if !x => Instruction::Ja { off: i.off },
                JMP_CALL if !jmp32 && !x => Instruction::Call {
                    kind: CallKind::Helper,
                    imm: i.imm,
                    off: 0,
                },
                JMP_CALL if !jmp32 => Instruction::CallX { dst: reg(i.dst)? },
                JMP_EXIT if !jmp32 && !x && i.imm == 0 => Instruction::Exit,
                JMP_JCOND if !jmp32 && !x => Instruction::MayGoto { off: i.off },
                _ => Instruction::Jmp {
                    width: if jmp32 { Width::W32 } else { Width::W64 },
                    cond: JmpCond::from_op(op)?,
                    dst: reg(i.dst)?,
                    src: if x {
                        Operand::Reg(reg(i.src)?)
                    } else {
                        Operand::Imm(i.imm)
                    },
                    off: i.off,
                },
            }
        }
        CLASS_LD => match mode {
            _ if size == Size::DW => return None,
            MODE_ABS => Instruction::LdAbs { size, imm: i.imm },
            MODE_IND => Instruction::LdInd {
                size,
                src: reg(i.src)?,
                imm: 0,
            },
            _ => return None,
        },
        CLASS_LDX => {
            let (dst, src, off) = (reg(i.dst)?, reg(i.src)?, i.off);
            match mode {
                MODE_MEM => Instruction::Load {
                    size,
                    dst,
                    src,
                    off,
                },
                MODE_MEMSX if size != Size::DW => Instruction::LoadSx {
                    size,
                    dst,
                    src,
                    off,
                },
                _ => return None,
            }
        }
        CLASS_ST if mode == MODE_MEM => Instruction::StoreImm {
            size,
            dst: reg(i.dst)?,
            off: i.off,
            imm: i.imm,
        },
        CLASS_ST => return None,
        _ => {
            let (dst, src, off) = (reg(i.dst)?, reg(i.src)?, i.off);
            match mode {
                MODE_MEM => Instruction::Store {
                    size,
                    dst,
                    src,
                    off,
                },
                MODE_ATOMIC if matches!(size, Size::W | Size::DW) => {
                    llvm19_atomic(size, dst, src, off, i.imm, alu32)?
                }
                _ => return None,
            }
        }
    })
}

/// LLVM 19 reads only bits 7..0 of an atomic's `imm`; without alu32 the only 32-bit
/// atomic it knows is the plain add (`XADDW`, which ignores bits 3..0).
fn llvm19_atomic(
    size: Size,
    dst: u8,
    src: u8,
    off: i16,
    imm: i32,
    alu32: bool,
) -> Option<Instruction> {
    let (hi, lo) = ((imm >> 4) & 0xf, imm & 0xf);
    let fetch = lo == ATOMIC_FETCH;
    if size == Size::W && !alu32 {
        return (hi == 0).then_some(Instruction::Atomic {
            size,
            op: AtomicOp::Add,
            fetch: false,
            dst,
            src,
            off,
        });
    }
    Some(match hi {
        0xe if fetch => Instruction::Xchg {
            size,
            dst,
            src,
            off,
        },
        0xf if fetch => Instruction::CmpXchg {
            size,
            dst,
            src,
            off,
        },
        _ => Instruction::Atomic {
            size,
            op: AtomicOp::from_imm(hi << 4)?,
            fetch,
            dst,
            src,
            off,
        },
    })
}

/// The text llvm-objdump 19 prints for each instruction, as `(slot, text)` pairs.
///
/// Yields one item per instruction (an `ld_imm64` takes two slots and yields once).
/// Never fails: what LLVM cannot decode is `<unknown>` (or `.8byte` data), one slot
/// each. With [`DisasmOptions::lossless`] the text is that of the strict decoder.
/// [`disassemble_lines`] gives the same text without a `String` per instruction.
///
/// ```
/// use oxbpf_asm::{DisasmOptions, Insn, disassemble};
/// let prog = [Insn::mov64_imm(0, 16), Insn::exit()];
/// let text: Vec<_> = disassemble(&prog, &DisasmOptions::default()).collect();
/// assert_eq!(text, [(0, "r0 = 0x10".to_string()), (1, "exit".to_string())]);
/// ```
pub fn disassemble<'a>(
    insns: &'a [Insn],
    opts: &DisasmOptions,
) -> impl Iterator<Item = (usize, String)> + 'a {
    disassemble_lines(insns, opts).map(|l| (l.slot(), l.to_string()))
}

/// The lines of [`disassemble`] as [`Line`]s, which print (`{}`) without allocating:
/// decoding allocates nothing, so formatting into one reused buffer costs no allocation
/// per instruction.
///
/// ```
/// use std::fmt::Write;
/// use oxbpf_asm::{DisasmOptions, Insn, disassemble_lines};
/// let prog = [Insn::mov64_imm(0, 16), Insn::exit()];
/// let mut out = String::new();
/// for line in disassemble_lines(&prog, &DisasmOptions::default().decimal()) {
///     writeln!(out, "{}: {line}", line.slot()).unwrap();
/// }
/// assert_eq!(out, "0: r0 = 16\n1: exit\n");
/// ```
pub fn disassemble_lines<'a>(
    insns: &'a [Insn],
    opts: &DisasmOptions,
) -> impl Iterator<Item = Line<'a>> + 'a {
    let opts = *opts;
    let mut at = 0;
    std::iter::from_fn(move || {
        if at >= insns.len() {
            return None;
        }
        let (ins, n) = decode_for_text(insns, at, &opts);
        let line = Line {
            insns,
            slot: at,
            slots: n,
            ins,
            opts,
        };
        at += n;
        Some(line)
    })
}

/// One instruction's text from [`disassemble_lines`], printable with `{}`.
#[derive(Clone, Copy, Debug)]
pub struct Line<'a> {
    insns: &'a [Insn],
    slot: usize,
    slots: usize,
    ins: Option<Instruction>,
    opts: DisasmOptions,
}

impl Line<'_> {
    /// Slot index of the instruction's first slot.
    pub fn slot(&self) -> usize {
        self.slot
    }

    /// Number of slots it takes (2 for `ld_imm64`, else 1).
    pub fn slots(&self) -> usize {
        self.slots
    }

    /// The decoded instruction shown; `None` where the text is data (`<unknown>` or
    /// `.8byte`), except that the lossless view gives undefined encodings as
    /// [`Instruction::Unknown`].
    pub fn instruction(&self) -> Option<&Instruction> {
        self.ins.as_ref()
    }
}

impl fmt::Display for Line<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_text(f, self.insns, self.slot, self.ins.as_ref(), &self.opts)
    }
}

/// The instruction the text at slot `at` shows (`None`: undecodable) and its slots,
/// following the options' decoder (strict when lossless, else LLVM 19's). `at` must be
/// in range.
pub(crate) fn decode_for_text(
    insns: &[Insn],
    at: usize,
    opts: &DisasmOptions,
) -> (Option<Instruction>, usize) {
    if opts.lossless {
        match decode(insns, at) {
            Ok((ins, n)) => (Some(ins), n),
            Err(_) => (None, 1),
        }
    } else {
        llvm19_decode(insns, at, opts.alu32)
    }
}

/// Writes the text of what [`decode_for_text`] returned for slot `at`.
pub(crate) fn write_text(
    f: &mut dyn fmt::Write,
    insns: &[Insn],
    at: usize,
    ins: Option<&Instruction>,
    opts: &DisasmOptions,
) -> fmt::Result {
    match ins {
        Some(ins) => write!(f, "{}", ins.display(*opts)),
        None if opts.unknown_as_data => write!(f, "{}", DataLine(insns[at])),
        None => f.write_str("<unknown>"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(i: Insn) -> String {
        disassemble(&[i], &DisasmOptions::default())
            .next()
            .map(|(_, t)| t)
            .unwrap_or_default()
    }

    #[test]
    fn negative_offsets_print_with_minus() {
        assert_eq!(
            text(Insn::new(0x7b, 10, 1, -8, 0)),
            "*(u64 *)(r10 - 0x8) = r1"
        );
        assert_eq!(
            text(Insn::new(0x79, 1, 2, i16::MIN, 0)),
            "r1 = *(u64 *)(r2 - 0x8000)"
        );
        assert_eq!(text(Insn::new(0x05, 0, 0, -2, 0)), "goto -0x2");
    }

    #[test]
    fn hex_and_decimal_immediates() {
        let i = Insn::new(0x07, 1, 0, 0, i32::MIN);
        assert_eq!(text(i), "r1 += -0x80000000");
        let dec: Vec<_> = disassemble(&[i], &DisasmOptions::default().decimal()).collect();
        assert_eq!(dec[0].1, "r1 += -2147483648");
    }

    #[test]
    fn llvm_ignores_unused_fields_but_decode_does_not() {
        let i = Insn::new(0x0f, 1, 2, 0, 5);
        assert_eq!(text(i), "r1 += r2");
        assert_eq!(decode_one(i).to_string(), "<unknown>");
    }

    #[test]
    fn ld_imm64_at_end_of_stream_is_unknown() {
        let [a, _] = Insn::ld_imm64(1, 0, 1);
        let out: Vec<_> = disassemble(&[a], &DisasmOptions::default()).collect();
        assert_eq!(out, [(0, "<unknown>".to_string())]);
    }

    #[test]
    fn atomics_32_bit_depend_on_alu32() {
        let i = Insn::new(0xc3, 1, 2, 0, ATOMIC_ADD | ATOMIC_FETCH);
        assert_eq!(text(i), "lock *(u32 *)(r1 + 0x0) += r2");
        let a: Vec<_> = disassemble(&[i], &DisasmOptions::default().with_alu32()).collect();
        assert_eq!(a[0].1, "w2 = atomic_fetch_add((u32 *)(r1 + 0x0), w2)");
    }

    #[test]
    fn load_acquire_prints_in_llvm21_syntax() {
        let i = decode_one(Insn::new(0xdb, 0, 1, 0, ATOMIC_LOAD_ACQ));
        assert_eq!(i.to_string(), "r0 = load_acquire((u64 *)(r1 + 0x0))");
        let s = decode_one(Insn::new(0xc3, 1, 2, 4, ATOMIC_STORE_REL));
        assert_eq!(s.to_string(), "store_release((u32 *)(r1 + 0x4), w2)");
    }

    #[test]
    fn lines_print_what_disassemble_returns_with_slot_counts() {
        let mut prog = Vec::from(Insn::ld_imm64(1, 0, 7));
        prog.extend([
            Insn::new(0xff, 1, 2, 3, 4),
            Insn::call_helper(1),
            Insn::exit(),
        ]);
        for opts in [
            DisasmOptions::default(),
            DisasmOptions::default().lossless().with_helper_names(),
        ] {
            let strings: Vec<_> = disassemble(&prog, &opts).collect();
            let lines: Vec<_> = disassemble_lines(&prog, &opts)
                .map(|l| {
                    (
                        l.slot(),
                        l.slots(),
                        l.instruction().is_some(),
                        l.to_string(),
                    )
                })
                .collect();
            assert_eq!(lines.len(), 4);
            assert_eq!(
                lines.iter().map(|l| (l.0, l.1, l.2)).collect::<Vec<_>>(),
                [
                    (0, 2, true),
                    (2, 1, opts.lossless),
                    (3, 1, true),
                    (4, 1, true)
                ]
            );
            for (l, s) in lines.iter().zip(&strings) {
                assert_eq!((l.0, &l.3), (s.0, &s.1));
            }
        }
    }

    #[test]
    fn pseudo_ld_imm64_prints_ld_pseudo() {
        let p = Insn::ld_imm64(1, PSEUDO_MAP_FD, 3);
        let out: Vec<_> = disassemble(&p, &DisasmOptions::default()).collect();
        assert_eq!(out, [(0, "ld_pseudo\tr1, 0x1, 0x3".to_string())]);
    }
}

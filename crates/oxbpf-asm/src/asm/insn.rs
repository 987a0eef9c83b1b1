//! One instruction's text → [`Instruction`] (plus a symbolic target still to resolve).

use super::AsmError;
use super::cursor::{Cursor, Reg};
use crate::instruction::*;
use crate::{Insn, helpers};

/// What a symbol in an instruction stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum SymUse {
    /// `goto L`, `if ... goto L`, `may_goto L`: 16-bit `off`.
    Jump16,
    /// `gotol L`: 32-bit `imm`.
    Jump32,
    /// `call f`: a subprogram (label) or an undefined function (relocation).
    Call,
    /// `rN = name ll`: a map or global (relocation).
    LdImm64,
}

/// A symbol the instruction refers to, with the byte offset of its name in the line.
#[derive(Debug, Clone)]
pub(super) struct SymRef {
    pub(super) name: String,
    pub(super) kind: SymUse,
    pub(super) pos: usize,
}

type Parsed = (Instruction, Option<SymRef>);

fn width(r: Reg) -> Width {
    if r.w { Width::W32 } else { Width::W64 }
}

/// Parses a whole instruction; the cursor must end at the end of the line.
pub(super) fn parse(c: &mut Cursor<'_>) -> Result<Parsed, AsmError> {
    let p = parse_inner(c)?;
    c.expect_end()?;
    Ok(p)
}

fn parse_inner(c: &mut Cursor<'_>) -> Result<Parsed, AsmError> {
    c.ws();
    if c.eat_word("exit") {
        return Ok((Instruction::Exit, None));
    }
    if c.eat_word("callx") {
        let dst = c.reg64()?;
        return Ok((Instruction::CallX { dst }, None));
    }
    if c.eat_word("call") {
        return call(c);
    }
    if c.eat_word("gotol") {
        return target(c, SymUse::Jump32, |off| Instruction::JaLong {
            imm: off as i32,
        });
    }
    if c.eat_word("goto") {
        return target(c, SymUse::Jump16, |off| Instruction::Ja { off: off as i16 });
    }
    if c.eat_word("may_goto") {
        return target(c, SymUse::Jump16, |off| Instruction::MayGoto {
            off: off as i16,
        });
    }
    if c.eat_word("if") {
        return cond_jump(c);
    }
    if c.eat_word("lock") {
        return lock(c);
    }
    if c.eat_word("ld_pseudo") {
        let dst = c.reg64()?;
        c.expect(",")?;
        let src = c.num_in(0, 15, "pseudo source")? as u8;
        c.expect(",")?;
        let imm = imm64(c)?;
        return Ok((Instruction::LdImm64 { dst, src, imm }, None));
    }
    if c.eat_word(".8byte") || c.eat_word(".quad") {
        let v = c.num_in(i128::from(i64::MIN), i128::from(u64::MAX), "data")?;
        let i = Insn::from_bytes((v as u64).to_le_bytes());
        return Ok((Instruction::Unknown(i), None));
    }
    if c.eat_word("store_release") {
        c.expect("(")?;
        c.expect("(")?;
        let (_, size) = c.size()?;
        c.expect("*")?;
        c.expect(")")?;
        c.expect("(")?;
        let (dst, off) = c.addr()?;
        c.expect(")")?;
        c.expect(",")?;
        let src = c.reg()?.n;
        c.expect(")")?;
        let i = Instruction::StoreRelease {
            size,
            dst,
            src,
            off,
        };
        return Ok((i, None));
    }
    if c.eat("*") {
        return store(c);
    }
    if let Some(dst) = c.try_reg()? {
        return reg_first(c, dst);
    }
    if c.rest().starts_with("<unknown>") {
        return Err(c.err(
            "cannot assemble \"<unknown>\" (disassemble with unknown_as_data for .8byte lines)",
        ));
    }
    Err(c.expected("an instruction"))
}

/// A jump target: `+N`/`-N`/`N` (slots from the next instruction) or a label name.
fn target(
    c: &mut Cursor<'_>,
    kind: SymUse,
    make: impl Fn(i64) -> Instruction,
) -> Result<Parsed, AsmError> {
    c.ws();
    let at = c.pos;
    if let Some(name) = c.ident() {
        let sym = SymRef {
            name: name.to_string(),
            kind,
            pos: at,
        };
        return Ok((make(0), Some(sym)));
    }
    let v = match kind {
        SymUse::Jump32 => c.num_in(i128::from(i32::MIN), i128::from(i32::MAX), "jump offset")?,
        _ => c.num_in(i128::from(i16::MIN), i128::from(i16::MAX), "jump offset")?,
    };
    Ok((make(v as i64), None))
}

fn call(c: &mut Cursor<'_>) -> Result<Parsed, AsmError> {
    let call = |kind, imm, off| Instruction::Call { kind, imm, off };
    c.ws();
    let at = c.pos;
    if c.eat_word("kfunc") {
        let imm = c.imm32()?;
        let off = if c.eat(",") { c.off16()? } else { 0 };
        return Ok((call(CallKind::Kfunc, imm, off), None));
    }
    if c.rest().starts_with("pc+") || c.rest().starts_with("pc-") {
        c.pos += 2;
        let imm = c.imm32()?;
        return Ok((call(CallKind::Local, imm, 0), None));
    }
    if let Some(name) = c.ident() {
        if let Some(id) = helpers::helper_id(name) {
            return Ok((call(CallKind::Helper, id, 0), None));
        }
        let sym = SymRef {
            name: name.to_string(),
            kind: SymUse::Call,
            pos: at,
        };
        return Ok((call(CallKind::Local, -1, 0), Some(sym)));
    }
    let imm = c.imm32()?;
    Ok((call(CallKind::Helper, imm, 0), None))
}

fn cond(c: &mut Cursor<'_>) -> Result<JmpCond, AsmError> {
    // Longest spellings first.
    const OPS: [(&str, JmpCond); 11] = [
        ("s>=", JmpCond::Sge),
        ("s<=", JmpCond::Sle),
        ("s>", JmpCond::Sgt),
        ("s<", JmpCond::Slt),
        ("==", JmpCond::Eq),
        ("!=", JmpCond::Ne),
        (">=", JmpCond::Ge),
        ("<=", JmpCond::Le),
        (">", JmpCond::Gt),
        ("<", JmpCond::Lt),
        ("&", JmpCond::Set),
    ];
    for (s, k) in OPS {
        if c.eat(s) {
            return Ok(k);
        }
    }
    Err(c.expected("a comparison (==, !=, >, >=, <, <=, s>, s>=, s<, s<=, &)"))
}

/// Second operand of an ALU or jump: a register of the same width, or an immediate.
fn operand(c: &mut Cursor<'_>, dst: Reg) -> Result<Operand, AsmError> {
    c.ws();
    let at = c.pos;
    if let Some(s) = c.try_reg()? {
        if s.w != dst.w {
            let (want, got) = if dst.w { ('w', 'r') } else { ('r', 'w') };
            return Err(c.err_at(
                at,
                format!(
                    "expected a {want} register like the destination, found \"{got}{}\"",
                    s.n
                ),
            ));
        }
        return Ok(Operand::Reg(s.n));
    }
    Ok(Operand::Imm(c.imm32()?))
}

fn cond_jump(c: &mut Cursor<'_>) -> Result<Parsed, AsmError> {
    let dst = c.reg()?;
    let cond = cond(c)?;
    let src = operand(c, dst)?;
    if !c.eat_word("goto") {
        return Err(c.expected("\"goto\""));
    }
    target(c, SymUse::Jump16, |off| Instruction::Jmp {
        width: width(dst),
        cond,
        dst: dst.n,
        src,
        off: off as i16,
    })
}

/// `*(uN *)(` ... `)`: size and address.
fn mem(c: &mut Cursor<'_>) -> Result<(bool, Size, u8, i16), AsmError> {
    c.expect("(")?;
    let (signed, size) = c.size()?;
    c.expect("*")?;
    c.expect(")")?;
    c.expect("(")?;
    let (base, off) = c.addr()?;
    c.expect(")")?;
    Ok((signed, size, base, off))
}

fn unsigned(c: &mut Cursor<'_>, signed: bool) -> Result<(), AsmError> {
    if signed {
        return Err(c.err("stores and atomics take u8/u16/u32/u64, not a signed size"));
    }
    Ok(())
}

fn store(c: &mut Cursor<'_>) -> Result<Parsed, AsmError> {
    let (signed, size, dst, off) = mem(c)?;
    unsigned(c, signed)?;
    c.expect("=")?;
    if let Some(src) = c.try_reg()? {
        let i = Instruction::Store {
            size,
            dst,
            src: src.n,
            off,
        };
        return Ok((i, None));
    }
    let imm = c.imm32()?;
    Ok((
        Instruction::StoreImm {
            size,
            dst,
            off,
            imm,
        },
        None,
    ))
}

fn lock(c: &mut Cursor<'_>) -> Result<Parsed, AsmError> {
    c.expect("*")?;
    let (signed, size, dst, off) = mem(c)?;
    unsigned(c, signed)?;
    let op = if c.eat("+=") {
        AtomicOp::Add
    } else if c.eat("|=") {
        AtomicOp::Or
    } else if c.eat("&=") {
        AtomicOp::And
    } else if c.eat("^=") {
        AtomicOp::Xor
    } else {
        return Err(c.expected("an atomic operation (+=, |=, &=, ^=)"));
    };
    let src = c.reg()?.n;
    let i = Instruction::Atomic {
        size,
        op,
        fetch: false,
        dst,
        src,
        off,
    };
    Ok((i, None))
}

fn imm64(c: &mut Cursor<'_>) -> Result<u64, AsmError> {
    let v = c.num_in(
        i128::from(i64::MIN),
        i128::from(u64::MAX),
        "64-bit immediate",
    )?;
    Ok(v as u64)
}

/// The register to repeat in `dst = op(..., dst)` forms: must equal `want`.
fn same_reg(c: &mut Cursor<'_>, want: u8, what: &str) -> Result<(), AsmError> {
    c.ws();
    let at = c.pos;
    let r = c.reg()?;
    if r.n != want {
        return Err(c.err_at(
            at,
            format!("{what}: expected r{want}/w{want}, found register {}", r.n),
        ));
    }
    Ok(())
}

fn reg_first(c: &mut Cursor<'_>, dst: Reg) -> Result<Parsed, AsmError> {
    const ALU: [(&str, AluOp); 13] = [
        ("s>>=", AluOp::Arsh),
        ("s/=", AluOp::SDiv),
        ("s%=", AluOp::SMod),
        ("<<=", AluOp::Lsh),
        (">>=", AluOp::Rsh),
        ("+=", AluOp::Add),
        ("-=", AluOp::Sub),
        ("*=", AluOp::Mul),
        ("/=", AluOp::Div),
        ("|=", AluOp::Or),
        ("&=", AluOp::And),
        ("%=", AluOp::Mod),
        ("^=", AluOp::Xor),
    ];
    for (s, op) in ALU {
        if c.eat(s) {
            let src = operand(c, dst)?;
            let i = Instruction::Alu {
                width: width(dst),
                op,
                dst: dst.n,
                src,
            };
            return Ok((i, None));
        }
    }
    c.expect("=")?;
    assign(c, dst)
}

/// Everything of the form `dst = ...`.
fn assign(c: &mut Cursor<'_>, dst: Reg) -> Result<Parsed, AsmError> {
    let w = width(dst);
    let d = dst.n;
    // `rD = -rD` (a negative immediate is a mov).
    let save = c.pos;
    if c.eat("-") {
        if let Some(r) = c.try_reg()? {
            if r != dst {
                return Err(c.err("negation: the source must be the destination register"));
            }
            return Ok((Instruction::Neg { width: w, dst: d }, None));
        }
        c.pos = save;
    }
    if c.eat("(") {
        // `(s8)rS`.
        let (signed, size) = c.size()?;
        if !signed || size == Size::DW {
            return Err(c.err("sign-extending move takes (s8), (s16) or (s32)"));
        }
        c.expect(")")?;
        let src = c.reg()?.n;
        let bits = size.bits() as u8;
        return Ok((
            Instruction::MovSx {
                width: w,
                dst: d,
                src,
                bits,
            },
            None,
        ));
    }
    if c.eat("*") {
        return load(c, dst);
    }
    c.ws();
    let at = c.pos;
    if c.try_reg()?.is_some() {
        c.pos = at;
    } else if let Some(word) = c.ident() {
        return assign_word(c, dst, word, at);
    } else {
        // An immediate move, or an `ll` constant.
        let (v, vat) = c.num()?;
        if c.eat_word("ll") {
            if v < i128::from(i64::MIN) || v > i128::from(u64::MAX) {
                return Err(c.err_at(vat, format!("64-bit immediate {v} out of range")));
            }
            if dst.w {
                return Err(c.err_at(vat, "a 64-bit load takes an r register"));
            }
            let i = Instruction::LdImm64 {
                dst: d,
                src: 0,
                imm: v as u64,
            };
            return Ok((i, None));
        }
        c.pos = at;
    }
    let src = operand(c, dst)?;
    Ok((
        Instruction::Alu {
            width: w,
            op: AluOp::Mov,
            dst: d,
            src,
        },
        None,
    ))
}

/// `dst = WORD ...`: byte swaps, atomics with results, casts, symbolic `ll` loads.
fn assign_word(c: &mut Cursor<'_>, dst: Reg, word: &str, at: usize) -> Result<Parsed, AsmError> {
    let d = dst.n;
    let swap = [
        ("be", Endian::Be),
        ("le", Endian::Le),
        ("bswap", Endian::Swap),
    ];
    for (name, kind) in swap {
        if let Some(bits) = word.strip_prefix(name)
            && let Ok(bits @ (16 | 32 | 64)) = bits.parse::<u8>()
        {
            same_reg(c, d, "byte swap")?;
            return Ok((Instruction::Endian { kind, dst: d, bits }, None));
        }
    }
    for (name, op) in [
        ("atomic_fetch_add", AtomicOp::Add),
        ("atomic_fetch_or", AtomicOp::Or),
        ("atomic_fetch_and", AtomicOp::And),
        ("atomic_fetch_xor", AtomicOp::Xor),
    ] {
        if word == name {
            c.expect("(")?;
            let (signed, size, base, off) = mem(c)?;
            unsigned(c, signed)?;
            c.expect(",")?;
            same_reg(c, d, name)?;
            c.expect(")")?;
            let i = Instruction::Atomic {
                size,
                op,
                fetch: true,
                dst: base,
                src: d,
                off,
            };
            return Ok((i, None));
        }
    }
    match word {
        "xchg_64" | "xchg32_32" | "cmpxchg_64" | "cmpxchg32_32" => {
            let size = if word.ends_with("_64") {
                Size::DW
            } else {
                Size::W
            };
            c.expect("(")?;
            let (base, off) = c.addr()?;
            c.expect(",")?;
            if word.starts_with("xchg") {
                same_reg(c, d, "xchg")?;
                c.expect(")")?;
                let i = Instruction::Xchg {
                    size,
                    dst: base,
                    src: d,
                    off,
                };
                return Ok((i, None));
            }
            if d != 0 {
                return Err(c.err_at(at, "cmpxchg: the result register is r0"));
            }
            same_reg(c, 0, "cmpxchg")?;
            c.expect(",")?;
            let src = c.reg()?.n;
            c.expect(")")?;
            let i = Instruction::CmpXchg {
                size,
                dst: base,
                src,
                off,
            };
            Ok((i, None))
        }
        "load_acquire" => {
            c.expect("(")?;
            let (signed, size, src, off) = mem(c)?;
            unsigned(c, signed)?;
            c.expect(")")?;
            let i = Instruction::LoadAcquire {
                size,
                dst: d,
                src,
                off,
            };
            Ok((i, None))
        }
        "addr_space_cast" => {
            c.expect("(")?;
            let src = c.reg64()?;
            c.expect(",")?;
            let dst_as = c.num_in(0, i128::from(u16::MAX), "address space")? as u16;
            c.expect(",")?;
            let src_as = c.num_in(0, i128::from(u16::MAX), "address space")? as u16;
            c.expect(")")?;
            let i = Instruction::AddrSpaceCast {
                dst: d,
                src,
                dst_as,
                src_as,
            };
            Ok((i, None))
        }
        _ => {
            if !c.eat_word("ll") {
                return Err(c.err_at(
                    at,
                    format!("expected a register, number or \"NAME ll\", found {word:?}"),
                ));
            }
            if dst.w {
                return Err(c.err_at(at, "a 64-bit load takes an r register"));
            }
            let i = Instruction::LdImm64 {
                dst: d,
                src: 0,
                imm: 0,
            };
            let sym = SymRef {
                name: word.to_string(),
                kind: SymUse::LdImm64,
                pos: at,
            };
            Ok((i, Some(sym)))
        }
    }
}

/// `dst = *(uN *)(rS + off)`, `*(sN *)(...)`, or the legacy `*(uN *)skb[...]`.
fn load(c: &mut Cursor<'_>, dst: Reg) -> Result<Parsed, AsmError> {
    c.expect("(")?;
    let (signed, size) = c.size()?;
    c.expect("*")?;
    c.expect(")")?;
    if c.eat("skb") {
        if signed || size == Size::DW {
            return Err(c.err("packet loads take u8, u16 or u32"));
        }
        if dst.n != 0 {
            return Err(c.err("packet loads write r0"));
        }
        c.expect("[")?;
        let i = if let Some(src) = c.try_reg()? {
            let imm = if c.eat("+") { c.imm32()? } else { 0 };
            Instruction::LdInd {
                size,
                src: src.n,
                imm,
            }
        } else {
            Instruction::LdAbs {
                size,
                imm: c.imm32()?,
            }
        };
        c.expect("]")?;
        return Ok((i, None));
    }
    c.expect("(")?;
    let (src, off) = c.addr()?;
    c.expect(")")?;
    let i = if signed {
        if size == Size::DW {
            return Err(c.err("sign-extending loads take s8, s16 or s32"));
        }
        Instruction::LoadSx {
            size,
            dst: dst.n,
            src,
            off,
        }
    } else {
        Instruction::Load {
            size,
            dst: dst.n,
            src,
            off,
        }
    };
    Ok((i, None))
}

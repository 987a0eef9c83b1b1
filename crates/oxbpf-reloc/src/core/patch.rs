//! Writing a relocation result into its instruction, or poisoning it (`bpf_core_patch_insn`).

use oxbpf_asm::Insn;
use oxbpf_asm::opcode::{
    CLASS_ALU, CLASS_ALU64, CLASS_LD, CLASS_LDX, CLASS_MASK, CLASS_ST, CLASS_STX, SIZE_B, SIZE_DW,
    SIZE_H, SIZE_MASK, SIZE_W, SRC_MASK, SRC_X,
};

use super::ReloResult;

/// The helper id a poisoned instruction calls (libbpf's 0xbad2310): no such helper
/// exists, so the verifier rejects the program at exactly that instruction.
pub const POISON_HELPER: i32 = 0x0bad_2310;

/// Whether `insn` is a poisoned CO-RE instruction.
pub fn is_poisoned(insn: &Insn) -> bool {
    insn.code == oxbpf_asm::opcode::CALL && insn.src == 0 && insn.imm == POISON_HELPER
}

fn poison_one(insn: &mut Insn) {
    *insn = Insn {
        code: oxbpf_asm::opcode::CALL,
        dst: 0,
        src: 0,
        off: 0,
        imm: POISON_HELPER,
    };
}

fn poison(insns: &mut [Insn], idx: usize) {
    if insns[idx].is_ld_imm64()
        && let Some(next) = insns.get_mut(idx + 1)
    {
        poison_one(next);
    }
    poison_one(&mut insns[idx]);
}

fn size_bytes(code: u8) -> u32 {
    match code & SIZE_MASK {
        SIZE_B => 1,
        SIZE_H => 2,
        SIZE_W => 4,
        _ => 8,
    }
}

fn size_code(bytes: u32) -> Option<u8> {
    Some(match bytes {
        1 => SIZE_B,
        2 => SIZE_H,
        4 => SIZE_W,
        8 => SIZE_DW,
        _ => return None,
    })
}

/// Applies `res` to the instruction at slot `idx`: ALU/ALU64 with an immediate get
/// `imm`, LDX/ST/STX get `off` (and their size when the field size changed), ld_imm64
/// gets its 64-bit value; `res.poison` (or a size that cannot be adjusted) poisons it.
/// With `res.validate`, the instruction must hold `res.orig_val` first. Returns what was
/// done, or why the instruction cannot take the relocation.
pub fn patch_insn(insns: &mut [Insn], idx: usize, res: &ReloResult) -> Result<String, String> {
    let Some(&insn) = insns.get(idx) else {
        return Err(format!(
            "instruction {idx} is past the program's {} slots",
            insns.len()
        ));
    };
    if res.poison {
        poison(insns, idx);
        return Ok("poisoned (call 0xbad2310)".into());
    }
    let (orig, new) = (res.orig_val, res.new_val);
    match insn.code & CLASS_MASK {
        CLASS_ALU | CLASS_ALU64 => {
            if insn.code & SRC_MASK == SRC_X {
                return Err(
                    "ALU instruction with a register source cannot take a relocation".into(),
                );
            }
            if res.validate && insn.imm as i64 as u64 != orig && insn.imm as u32 as u64 != orig {
                return Err(format!(
                    "unexpected insn imm (expected {orig}, got {})",
                    insn.imm
                ));
            }
            let imm = i32::try_from(new as i64)
                .ok()
                .or_else(|| u32::try_from(new).ok().map(|v| v as i32))
                .ok_or_else(|| format!("value {new} does not fit a 32-bit immediate"))?;
            insns[idx].imm = imm;
            Ok(format!("imm {} -> {imm}", insn.imm))
        }
        CLASS_LDX | CLASS_ST | CLASS_STX => {
            if res.validate && insn.off as i64 as u64 != orig {
                return Err(format!(
                    "unexpected insn off (expected {orig}, got {})",
                    insn.off
                ));
            }
            if new > i16::MAX as u64 {
                return Err(format!("offset {new} is too big for LDX/ST/STX"));
            }
            if res.fail_memsz_adjust {
                poison(insns, idx);
                return Ok(format!(
                    "poisoned (call 0xbad2310): field size {} -> {} cannot be adjusted",
                    res.orig_sz, res.new_sz
                ));
            }
            let mut what = format!("off {} -> {new}", insn.off);
            let i = &mut insns[idx];
            i.off = new as i16;
            if res.new_sz != res.orig_sz {
                let have = size_bytes(insn.code);
                if have != res.orig_sz {
                    return Err(format!(
                        "unexpected mem size: got {have}, expected {}",
                        res.orig_sz
                    ));
                }
                let sz = size_code(res.new_sz)
                    .ok_or_else(|| format!("invalid new mem size {}", res.new_sz))?;
                i.code = (insn.code & !SIZE_MASK) | sz;
                what.push_str(&format!(", size {have} -> {}", res.new_sz));
            }
            Ok(what)
        }
        CLASS_LD if insn.is_ld_imm64() => {
            let Some(&hi) = insns.get(idx + 1) else {
                return Err("ld_imm64 is missing its second slot".into());
            };
            if insn.src != 0
                || insn.off != 0
                || hi.code != 0
                || hi.dst != 0
                || hi.src != 0
                || hi.off != 0
            {
                return Err("ld_imm64 has an unexpected form".into());
            }
            let imm = u64::from(insn.imm as u32) | (u64::from(hi.imm as u32) << 32);
            if res.validate && imm != orig {
                return Err(format!(
                    "unexpected ld_imm64 value (expected {orig}, got {imm})"
                ));
            }
            insns[idx].imm = new as u32 as i32;
            insns[idx + 1].imm = (new >> 32) as u32 as i32;
            Ok(format!("ld_imm64 {imm} -> {new}"))
        }
        _ => Err(format!(
            "instruction with opcode {:#04x} cannot take a CO-RE relocation",
            insn.code
        )),
    }
}

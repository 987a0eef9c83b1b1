//! A Rust API to write programs in code: labels, jumps resolved at build time, helpers
//! by name, map references recorded as relocations.
//!
//! ```
//! use oxbpf_asm::builder::{Builder, R0, R1};
//! use oxbpf_asm::{Helper, JmpCond};
//! let mut b = Builder::new();
//! b.mov64_imm(R0, 0);
//! let out = b.label();
//! b.jmp_imm(JmpCond::Eq, R1, 0, out);
//! b.ld_map(R1, "my_map");
//! b.call_helper(Helper::MapLookupElem);
//! b.bind(out);
//! b.exit();
//! let prog = b.build().unwrap();
//! let text = "r0 = 0\nif r1 == 0 goto L\nr1 = my_map ll\ncall bpf_map_lookup_elem\nL:\nexit";
//! assert_eq!(prog.insns, oxbpf_asm::assemble(text).unwrap().insns);
//! assert_eq!(prog.relocations[0].symbol, "my_map");
//! ```

use crate::asm::{AsmOutput, AsmReloc, RelocKind};
use crate::helpers::Helper;
use crate::instruction::*;

/// `r0`: return value.
pub const R0: u8 = 0;
/// `r1`: first argument / context.
pub const R1: u8 = 1;
/// `r2`.
pub const R2: u8 = 2;
/// `r3`.
pub const R3: u8 = 3;
/// `r4`.
pub const R4: u8 = 4;
/// `r5`.
pub const R5: u8 = 5;
/// `r6` (callee-saved).
pub const R6: u8 = 6;
/// `r7` (callee-saved).
pub const R7: u8 = 7;
/// `r8` (callee-saved).
pub const R8: u8 = 8;
/// `r9` (callee-saved).
pub const R9: u8 = 9;
/// `r10`: the read-only frame pointer.
pub const R10: u8 = 10;

/// A jump or call target, bound to a position with [`Builder::bind`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Label(usize);

/// Why [`Builder::build`] failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BuildError {
    /// A jump or call uses a label that was never bound.
    #[error("instruction {insn}: label {label} is never bound")]
    UnboundLabel {
        /// Slot of the jump.
        insn: usize,
        /// The label's number (creation order).
        label: usize,
    },
    /// A label was bound twice.
    #[error("label {label} bound twice (at slots {first} and {second})")]
    BoundTwice {
        /// The label's number.
        label: usize,
        /// First position.
        first: usize,
        /// Second position.
        second: usize,
    },
    /// The target is further than the jump's offset field reaches.
    #[error("instruction {insn}: jump of {offset} slots does not fit its offset field")]
    OutOfRange {
        /// Slot of the jump.
        insn: usize,
        /// Offset from the next instruction.
        offset: i64,
    },
}

#[derive(Debug, Clone)]
struct Item {
    ins: Instruction,
    target: Option<Label>,
}

/// Builds a program instruction by instruction.
#[derive(Debug, Clone, Default)]
pub struct Builder {
    items: Vec<Item>,
    slots: usize,
    labels: Vec<Vec<usize>>,
    names: Vec<Option<String>>,
    relocs: Vec<AsmReloc>,
}

impl Builder {
    /// An empty program.
    pub fn new() -> Self {
        Builder::default()
    }

    /// Slot index of the next instruction.
    pub fn here(&self) -> usize {
        self.slots
    }

    /// Appends any instruction (jump offsets taken as given).
    pub fn push(&mut self, ins: Instruction) -> &mut Self {
        self.push_to(ins, None)
    }

    fn push_to(&mut self, ins: Instruction, target: Option<Label>) -> &mut Self {
        self.slots += ins.slots();
        self.items.push(Item { ins, target });
        self
    }

    /// A new unbound label.
    pub fn label(&mut self) -> Label {
        self.labels.push(Vec::new());
        self.names.push(None);
        Label(self.labels.len() - 1)
    }

    /// A new unbound label that appears by `name` in [`AsmOutput::labels`].
    pub fn named_label(&mut self, name: impl Into<String>) -> Label {
        let l = self.label();
        self.names[l.0] = Some(name.into());
        l
    }

    /// Binds `label` to the next instruction.
    pub fn bind(&mut self, label: Label) -> &mut Self {
        if let Some(b) = self.labels.get_mut(label.0) {
            b.push(self.slots);
        }
        self
    }

    /// `dst = imm` (64-bit).
    pub fn mov64_imm(&mut self, dst: u8, imm: i32) -> &mut Self {
        self.alu64(AluOp::Mov, dst, Operand::Imm(imm))
    }

    /// `dst = src` (64-bit).
    pub fn mov64_reg(&mut self, dst: u8, src: u8) -> &mut Self {
        self.alu64(AluOp::Mov, dst, Operand::Reg(src))
    }

    /// `wdst = imm` (32-bit, zero-extends).
    pub fn mov32_imm(&mut self, dst: u8, imm: i32) -> &mut Self {
        self.alu32(AluOp::Mov, dst, Operand::Imm(imm))
    }

    /// `dst op= src` (64-bit).
    pub fn alu64(&mut self, op: AluOp, dst: u8, src: Operand) -> &mut Self {
        self.push(Instruction::Alu {
            width: Width::W64,
            op,
            dst,
            src,
        })
    }

    /// `wdst op= src` (32-bit).
    pub fn alu32(&mut self, op: AluOp, dst: u8, src: Operand) -> &mut Self {
        self.push(Instruction::Alu {
            width: Width::W32,
            op,
            dst,
            src,
        })
    }

    /// `dst += imm` (64-bit).
    pub fn add64_imm(&mut self, dst: u8, imm: i32) -> &mut Self {
        self.alu64(AluOp::Add, dst, Operand::Imm(imm))
    }

    /// `dst = imm ll`: a 64-bit constant.
    pub fn ld_imm64(&mut self, dst: u8, imm: u64) -> &mut Self {
        self.push(Instruction::LdImm64 { dst, src: 0, imm })
    }

    /// `dst = map ll`: the address of map (or global) `name`, as a relocation.
    pub fn ld_map(&mut self, dst: u8, name: impl Into<String>) -> &mut Self {
        self.relocs.push(AsmReloc {
            insn: self.slots,
            symbol: name.into(),
            kind: RelocKind::LdImm64,
        });
        self.ld_imm64(dst, 0)
    }

    /// `dst = ld_pseudo src, imm`: a wide load with a pseudo source (e.g. a map fd).
    pub fn ld_pseudo(&mut self, dst: u8, src: u8, imm: u64) -> &mut Self {
        self.push(Instruction::LdImm64 { dst, src, imm })
    }

    /// `dst = *(size *)(src + off)`.
    pub fn load(&mut self, size: Size, dst: u8, src: u8, off: i16) -> &mut Self {
        self.push(Instruction::Load {
            size,
            dst,
            src,
            off,
        })
    }

    /// `*(size *)(dst + off) = src`.
    pub fn store(&mut self, size: Size, dst: u8, src: u8, off: i16) -> &mut Self {
        self.push(Instruction::Store {
            size,
            dst,
            src,
            off,
        })
    }

    /// `*(size *)(dst + off) = imm`.
    pub fn store_imm(&mut self, size: Size, dst: u8, off: i16, imm: i32) -> &mut Self {
        self.push(Instruction::StoreImm {
            size,
            dst,
            off,
            imm,
        })
    }

    /// `if dst cond imm goto label` (64-bit compare).
    pub fn jmp_imm(&mut self, cond: JmpCond, dst: u8, imm: i32, label: Label) -> &mut Self {
        self.jmp(Width::W64, cond, dst, Operand::Imm(imm), label)
    }

    /// `if dst cond src goto label` (64-bit compare).
    pub fn jmp_reg(&mut self, cond: JmpCond, dst: u8, src: u8, label: Label) -> &mut Self {
        self.jmp(Width::W64, cond, dst, Operand::Reg(src), label)
    }

    /// A conditional jump of either width to `label`.
    pub fn jmp(
        &mut self,
        width: Width,
        cond: JmpCond,
        dst: u8,
        src: Operand,
        label: Label,
    ) -> &mut Self {
        let ins = Instruction::Jmp {
            width,
            cond,
            dst,
            src,
            off: 0,
        };
        self.push_to(ins, Some(label))
    }

    /// `if dst == imm goto label`.
    pub fn jeq_imm(&mut self, dst: u8, imm: i32, label: Label) -> &mut Self {
        self.jmp_imm(JmpCond::Eq, dst, imm, label)
    }

    /// `if dst != imm goto label`.
    pub fn jne_imm(&mut self, dst: u8, imm: i32, label: Label) -> &mut Self {
        self.jmp_imm(JmpCond::Ne, dst, imm, label)
    }

    /// `goto label`.
    pub fn ja(&mut self, label: Label) -> &mut Self {
        self.push_to(Instruction::Ja { off: 0 }, Some(label))
    }

    /// `gotol label` (32-bit offset).
    pub fn ja_long(&mut self, label: Label) -> &mut Self {
        self.push_to(Instruction::JaLong { imm: 0 }, Some(label))
    }

    /// `call helper`.
    pub fn call_helper(&mut self, helper: Helper) -> &mut Self {
        self.push(Instruction::Call {
            kind: CallKind::Helper,
            imm: helper.id(),
            off: 0,
        })
    }

    /// `call label`: a bpf-to-bpf call to a subprogram in this program.
    pub fn call_local(&mut self, label: Label) -> &mut Self {
        let ins = Instruction::Call {
            kind: CallKind::Local,
            imm: 0,
            off: 0,
        };
        self.push_to(ins, Some(label))
    }

    /// `call name`: a function defined elsewhere, as a relocation (`call -1`, src 1).
    pub fn call_extern(&mut self, name: impl Into<String>) -> &mut Self {
        self.relocs.push(AsmReloc {
            insn: self.slots,
            symbol: name.into(),
            kind: RelocKind::Call,
        });
        self.push(Instruction::Call {
            kind: CallKind::Local,
            imm: -1,
            off: 0,
        })
    }

    /// `exit`.
    pub fn exit(&mut self) -> &mut Self {
        self.push(Instruction::Exit)
    }

    /// Resolves jumps and returns the slots, bound labels and relocations.
    pub fn build(&self) -> Result<AsmOutput, BuildError> {
        let mut out = AsmOutput::default();
        for (i, b) in self.labels.iter().enumerate() {
            if let [first, second, ..] = b[..] {
                return Err(BuildError::BoundTwice {
                    label: i,
                    first,
                    second,
                });
            }
            if let Some(&slot) = b.first() {
                let name = self.names[i].clone().unwrap_or_else(|| format!("L{i}"));
                out.labels.push((name, slot));
            }
        }
        let mut slot = 0;
        for item in &self.items {
            let ins = match item.target {
                None => item.ins,
                Some(label) => {
                    let Some(&t) = self.labels.get(label.0).and_then(|b| b.first()) else {
                        return Err(BuildError::UnboundLabel {
                            insn: slot,
                            label: label.0,
                        });
                    };
                    let offset = t as i64 - (slot as i64 + 1);
                    let bad = BuildError::OutOfRange { insn: slot, offset };
                    let off16 = i16::try_from(offset).map_err(|_| bad.clone());
                    match item.ins {
                        Instruction::Ja { .. } => Instruction::Ja { off: off16? },
                        Instruction::JaLong { .. } => Instruction::JaLong {
                            imm: i32::try_from(offset).map_err(|_| bad.clone())?,
                        },
                        Instruction::MayGoto { .. } => Instruction::MayGoto { off: off16? },
                        Instruction::Jmp {
                            width,
                            cond,
                            dst,
                            src,
                            ..
                        } => Instruction::Jmp {
                            width,
                            cond,
                            dst,
                            src,
                            off: off16?,
                        },
                        Instruction::Call { kind, off, .. } => Instruction::Call {
                            kind,
                            imm: i32::try_from(offset).map_err(|_| bad.clone())?,
                            off,
                        },
                        other => other,
                    }
                }
            };
            let (enc, n) = ins.encode();
            out.insns.extend_from_slice(&enc[..n]);
            slot += n;
        }
        out.relocations = self.relocs.clone();
        out.relocations.sort_by_key(|r| r.insn);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assemble;

    fn same_as_text(b: &Builder, text: &str) {
        let built = b.build().expect("builds");
        let asm = assemble(text).expect("assembles");
        assert_eq!(built.insns, asm.insns, "{text}");
        assert_eq!(built.relocations, asm.relocations, "{text}");
    }

    #[test]
    fn loop_with_backward_and_forward_jumps_matches_assembled_text() {
        let mut b = Builder::new();
        b.mov64_imm(R0, 0);
        let top = b.label();
        let done = b.label();
        b.bind(top);
        b.jmp_imm(JmpCond::Sgt, R0, 9, done);
        b.add64_imm(R0, 1);
        b.ja(top);
        b.bind(done);
        b.exit();
        same_as_text(
            &b,
            "r0 = 0\ntop:\nif r0 s> 9 goto done\nr0 += 1\ngoto top\ndone:\nexit\n",
        );
        assert_eq!(
            b.build().expect("builds").labels,
            [("L0".into(), 1), ("L1".into(), 4)]
        );
    }

    #[test]
    fn map_lookup_program_records_the_map_relocation() {
        let mut b = Builder::new();
        b.store_imm(Size::W, R10, -4, 0);
        b.mov64_reg(R2, R10);
        b.add64_imm(R2, -4);
        b.ld_map(R1, "counts");
        b.call_helper(Helper::MapLookupElem);
        let out = b.label();
        b.jeq_imm(R0, 0, out);
        b.load(Size::DW, R1, R0, 0);
        b.store(Size::DW, R0, R1, 8);
        b.bind(out);
        b.mov32_imm(R0, 0);
        b.exit();
        same_as_text(
            &b,
            "*(u32 *)(r10 - 4) = 0\nr2 = r10\nr2 += -4\nr1 = counts ll\n\
             call bpf_map_lookup_elem\nif r0 == 0 goto out\nr1 = *(u64 *)(r0 + 0)\n\
             *(u64 *)(r0 + 8) = r1\nout:\nw0 = 0\nexit\n",
        );
    }

    #[test]
    fn local_and_extern_calls_match_assembled_text() {
        let mut b = Builder::new();
        let sub = b.named_label("sub");
        b.call_local(sub);
        b.call_extern("other");
        b.exit();
        b.bind(sub);
        b.mov64_imm(R0, 1);
        b.exit();
        same_as_text(&b, "call sub\ncall other\nexit\nsub:\nr0 = 1\nexit\n");
        assert_eq!(b.build().expect("builds").labels, [("sub".into(), 3)]);
    }

    #[test]
    fn unbound_label_is_an_error_naming_the_jump() {
        let mut b = Builder::new();
        b.exit();
        let l = b.label();
        b.ja(l);
        assert_eq!(
            b.build(),
            Err(BuildError::UnboundLabel { insn: 1, label: 0 })
        );
    }

    #[test]
    fn rejects_jump_beyond_i16_but_gotol_reaches() {
        let mut b = Builder::new();
        let far = b.label();
        b.ja(far);
        for _ in 0..40_000 {
            b.mov64_imm(R0, 0);
        }
        b.bind(far);
        b.exit();
        assert_eq!(
            b.build(),
            Err(BuildError::OutOfRange {
                insn: 0,
                offset: 40_000
            })
        );
        let mut b2 = Builder::new();
        let far = b2.label();
        b2.ja_long(far);
        for _ in 0..40_000 {
            b2.mov64_imm(R0, 0);
        }
        b2.bind(far);
        b2.exit();
        assert_eq!(
            b2.build().expect("builds").insns[0],
            crate::Insn::new(crate::JA32, 0, 0, 0, 40_000)
        );
    }

    #[test]
    fn binding_a_label_twice_is_an_error() {
        let mut b = Builder::new();
        let l = b.label();
        b.bind(l);
        b.exit();
        b.bind(l);
        assert_eq!(
            b.build(),
            Err(BuildError::BoundTwice {
                label: 0,
                first: 0,
                second: 1
            })
        );
    }

    #[test]
    fn wide_loads_count_two_slots_for_jump_offsets() {
        let mut b = Builder::new();
        let l = b.label();
        b.ja(l);
        b.ld_imm64(R1, 0x1_0000_0000);
        b.bind(l);
        b.exit();
        same_as_text(&b, "goto +2\nr1 = 0x100000000 ll\nexit\n");
    }
}

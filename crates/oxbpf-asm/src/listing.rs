//! Whole listings like `llvm-objdump -d` prints them: function headers, slot addresses,
//! an optional raw-bytes column, `<sym+0x10>` jump annotations and `-r` relocation
//! lines, from the instruction slots plus a symbol list and relocations passed in.

use std::fmt;

use crate::asm::AsmReloc;
use crate::text::{DisasmOptions, decode_for_text, write_text};
use crate::{Insn, Instruction};

/// What a symbol in a listing marks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SymbolKind {
    /// A function: starts a `0000000000000000 <name>:` block.
    Function,
    /// A local label (`LBB0_2`): only names jump targets.
    Label,
}

/// A named slot of the listed instructions.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Symbol {
    /// The name.
    pub name: String,
    /// Slot index it names.
    pub slot: usize,
    /// Function or label.
    pub kind: SymbolKind,
}

impl Symbol {
    /// A function symbol at `slot`.
    pub fn function(name: impl Into<String>, slot: usize) -> Self {
        Symbol {
            name: name.into(),
            slot,
            kind: SymbolKind::Function,
        }
    }

    /// A label at `slot`.
    pub fn label(name: impl Into<String>, slot: usize) -> Self {
        Symbol {
            name: name.into(),
            slot,
            kind: SymbolKind::Label,
        }
    }
}

/// Listing options beyond the instruction text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ListingOptions {
    /// The instruction text.
    pub text: DisasmOptions,
    /// The raw-bytes column (`b7 00 00 00 00 00 00 00`), llvm-objdump's default;
    /// `false` is `--no-show-raw-insn`.
    pub raw_bytes: bool,
    /// ` <sym+0x10>` after jump targets, from the symbols (as llvm-objdump does).
    pub jump_annotations: bool,
    /// Relocation lines after the instructions they patch (`llvm-objdump -r`).
    pub relocations: bool,
}

impl Default for ListingOptions {
    fn default() -> Self {
        ListingOptions {
            text: DisasmOptions::default(),
            raw_bytes: false,
            jump_annotations: true,
            relocations: true,
        }
    }
}

/// A printable listing of one section's instructions (`{}` writes it).
///
/// ```
/// use oxbpf_asm::listing::{Listing, ListingOptions, Symbol};
/// use oxbpf_asm::{AsmReloc, Insn, RelocKind};
/// let mut prog = Vec::from(Insn::ld_imm64(1, 0, 0));
/// prog.extend([Insn::new(0x15, 1, 0, 0, 0), Insn::exit()]);
/// let syms = [Symbol::function("f", 0)];
/// let relocs = [AsmReloc { insn: 0, symbol: "m".into(), kind: RelocKind::LdImm64 }];
/// let text = Listing::new(&prog, &syms, &relocs, ListingOptions::default()).to_string();
/// assert_eq!(text, "\n0000000000000000 <f>:\n       0:\tr1 = 0x0 ll\n\
///     \t\t0000000000000000:  R_BPF_64_64\tm\n       2:\tif r1 == 0x0 goto +0x0 <f+0x18>\n\
///     \x20      3:\texit\n");
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Listing<'a> {
    insns: &'a [Insn],
    symbols: &'a [Symbol],
    relocs: &'a [AsmReloc],
    opts: ListingOptions,
}

impl<'a> Listing<'a> {
    /// A listing of `insns` with symbols and relocations (any order).
    pub fn new(
        insns: &'a [Insn],
        symbols: &'a [Symbol],
        relocs: &'a [AsmReloc],
        opts: ListingOptions,
    ) -> Self {
        Listing {
            insns,
            symbols,
            relocs,
            opts,
        }
    }

    /// The annotation for byte address `addr`: the nearest symbol at or before it
    /// (functions before labels, then the greatest name, as llvm-objdump 19 picks).
    fn annotate(&self, addr: u64) -> Option<(&'a str, u64)> {
        self.symbols
            .iter()
            .filter(|s| (s.slot as u64).wrapping_mul(8) <= addr)
            .max_by_key(|s| (s.slot, s.kind == SymbolKind::Function, s.name.as_str()))
            .map(|s| (s.name.as_str(), addr.wrapping_sub(s.slot as u64 * 8)))
    }
}

/// Slot offset of a jump's target relative to the next instruction, if it is a jump.
fn jump_offset(ins: &Instruction) -> Option<i64> {
    match *ins {
        Instruction::Ja { off } | Instruction::MayGoto { off } | Instruction::Jmp { off, .. } => {
            Some(off.into())
        }
        Instruction::JaLong { imm } => Some(imm.into()),
        _ => None,
    }
}

impl fmt::Display for Listing<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut at = 0;
        while at < self.insns.len() {
            // Of several functions at one address llvm-objdump 19 prints one header (the
            // greatest name; all of them only with --show-all-symbols).
            let header = self
                .symbols
                .iter()
                .filter(|s| s.slot == at && s.kind == SymbolKind::Function)
                .max_by(|a, b| a.name.cmp(&b.name));
            if let Some(s) = header {
                write!(f, "\n{:016x} <{}>:\n", at as u64 * 8, s.name)?;
            }
            let (ins, n) = decode_for_text(self.insns, at, &self.opts.text);
            write!(f, "{at:>8}:\t")?;
            if self.opts.raw_bytes {
                for (k, i) in self.insns[at..at + n].iter().enumerate() {
                    for (j, b) in i.to_bytes().iter().enumerate() {
                        if k + j > 0 {
                            f.write_str(" ")?;
                        }
                        write!(f, "{b:02x}")?;
                    }
                }
                f.write_str("\t")?;
            }
            write_text(f, self.insns, at, ins.as_ref(), &self.opts.text)?;
            if self.opts.jump_annotations
                && let Some(off) = ins.as_ref().and_then(jump_offset)
            {
                let target = (at as i64 + 1 + off) as u64;
                if let Some((name, delta)) = self.annotate(target.wrapping_mul(8)) {
                    if delta == 0 {
                        write!(f, " <{name}>")?;
                    } else {
                        write!(f, " <{name}+0x{delta:x}>")?;
                    }
                }
            }
            f.write_str("\n")?;
            if self.opts.relocations {
                for r in self.relocs.iter().filter(|r| r.insn == at) {
                    writeln!(
                        f,
                        "\t\t{:016x}:  {}\t{}",
                        at as u64 * 8,
                        r.kind.elf_name(),
                        r.symbol
                    )?;
                }
            }
            at += n;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RelocKind;

    #[test]
    fn raw_bytes_column_shows_both_halves_of_a_wide_load() {
        let prog = Insn::ld_imm64(1, 0, 0x1_0000_0002);
        let opts = ListingOptions {
            raw_bytes: true,
            ..ListingOptions::default()
        };
        let text = Listing::new(&prog, &[], &[], opts).to_string();
        assert_eq!(
            text,
            "       0:\t18 01 00 00 02 00 00 00 00 00 00 00 01 00 00 00\tr1 = 0x100000002 ll\n"
        );
    }

    #[test]
    fn jump_to_a_label_is_annotated_with_its_name() {
        let prog = [
            Insn::new(0x05, 0, 0, 1, 0),
            Insn::exit(),
            Insn::new(0x05, 0, 0, -3, 0),
        ];
        let syms = [Symbol::function("f", 0), Symbol::label("LBB0_2", 2)];
        let text = Listing::new(&prog, &syms, &[], ListingOptions::default()).to_string();
        assert_eq!(
            text,
            "\n0000000000000000 <f>:\n       0:\tgoto +0x1 <LBB0_2>\n       1:\texit\n       2:\tgoto -0x3 <f>\n"
        );
    }

    #[test]
    fn one_header_per_address_with_the_greatest_name_like_llvm_objdump() {
        let prog = [Insn::new(0x05, 0, 0, 0, 0), Insn::exit()];
        let syms = [
            Symbol::function("zz", 0),
            Symbol::function("aa", 0),
            Symbol::function("l0_13", 1),
            Symbol::function("back_jump", 1),
        ];
        let text = Listing::new(&prog, &syms, &[], ListingOptions::default()).to_string();
        assert_eq!(
            text,
            "\n0000000000000000 <zz>:\n       0:\tgoto +0x0 <l0_13>\n\
             \n0000000000000008 <l0_13>:\n       1:\texit\n"
        );
    }

    #[test]
    fn unknown_slots_print_as_data_and_relocations_can_be_hidden() {
        let prog = [Insn::new(0xff, 1, 2, 3, 4), Insn::call_helper(1)];
        let relocs = [AsmReloc {
            insn: 1,
            symbol: "x".into(),
            kind: RelocKind::Call,
        }];
        let opts = ListingOptions {
            text: DisasmOptions::default()
                .with_unknown_as_data()
                .with_helper_names(),
            relocations: false,
            ..ListingOptions::default()
        };
        let text = Listing::new(&prog, &[], &relocs, opts).to_string();
        assert_eq!(
            text,
            "       0:\t.8byte 0x00000004000321ff\n       1:\tcall bpf_map_lookup_elem\n"
        );
    }

    #[test]
    fn listing_text_assembles_back_with_labels_and_relocations() {
        let src = "f:\n r1 = m ll\n if r1 == 0 goto L\n call g\nL:\n exit\n";
        let out = crate::assemble(src).expect("assembles");
        let syms = [Symbol::function("f", 0), Symbol::label("L", 4)];
        let opts = ListingOptions {
            raw_bytes: true,
            ..ListingOptions::default()
        };
        let text = Listing::new(&out.insns, &syms, &out.relocations, opts).to_string();
        let again = crate::assemble(&text).expect("listing assembles");
        assert_eq!(again.insns, out.insns);
        assert_eq!(again.relocations, out.relocations);
    }
}

//! The input as instruction slots: the lossless disassembly (in every option set) must
//! assemble back to exactly those slots, and llvm-objdump-style text and listings must
//! assemble without panicking. The input as UTF-8 text: `assemble` must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use oxbpf_asm::listing::{Listing, ListingOptions, Symbol};
use oxbpf_asm::{DisasmOptions, Insn, assemble, disassemble};

fn text(insns: &[Insn], opts: &DisasmOptions) -> String {
    disassemble(insns, opts).map(|(_, t)| t + "\n").collect()
}

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = assemble(s);
    }
    let insns: Vec<Insn> = data
        .chunks_exact(8)
        .map(|c| Insn::from_bytes(c.try_into().expect("8 bytes")))
        .collect();
    if insns.is_empty() {
        return;
    }
    let base = DisasmOptions::default().lossless();
    for opts in [
        base,
        base.decimal(),
        base.with_alu32(),
        base.decimal().with_helper_names(),
    ] {
        let t = text(&insns, &opts);
        let out = assemble(&t).unwrap_or_else(|e| panic!("lossless text rejected: {e}\n{t}"));
        if out.insns != insns {
            let at = out.insns.iter().zip(&insns).position(|(a, b)| a != b);
            panic!(
                "lossless round trip differs at slot {at:?} ({} vs {} slots)\n{t}",
                out.insns.len(),
                insns.len()
            );
        }
    }
    // llvm-objdump's own text may lose fields, but must still assemble to as many slots.
    for opts in [
        DisasmOptions::default().with_unknown_as_data(),
        DisasmOptions::default().decimal().with_alu32().with_unknown_as_data(),
    ] {
        let t = text(&insns, &opts);
        let out = assemble(&t).unwrap_or_else(|e| panic!("llvm text rejected: {e}\n{t}"));
        assert_eq!(out.insns.len(), insns.len(), "slot count of llvm text\n{t}");
    }
    // A whole listing (headers, raw bytes, annotations) assembles back losslessly.
    let syms = [Symbol::function("f", 0), Symbol::label("L", insns.len() / 2)];
    let lopts = ListingOptions {
        text: base,
        raw_bytes: true,
        ..ListingOptions::default()
    };
    let l = Listing::new(&insns, &syms, &[], lopts).to_string();
    let out = assemble(&l).unwrap_or_else(|e| panic!("listing rejected: {e}\n{l}"));
    assert!(out.insns == insns, "listing round trip differs\n{l}");
});

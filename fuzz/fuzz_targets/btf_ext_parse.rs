//! BtfExt::parse on arbitrary bytes (the first 2 bytes pick how much of the rest is the
//! `.BTF` it refers to), then every record of every section: must never panic or hang.
#![no_main]

use libfuzzer_sys::fuzz_target;
use oxbpf_btf::{Btf, BtfExt};

fuzz_target!(|data: &[u8]| {
    let Some((len, rest)) = data.split_first_chunk::<2>() else {
        return;
    };
    let split = usize::from(u16::from_le_bytes(*len)).min(rest.len());
    let (btf, ext) = rest.split_at(split);
    let Ok(btf) = Btf::parse(btf) else {
        return;
    };
    let Ok(ext) = BtfExt::parse(ext, &btf) else {
        return;
    };
    for s in ext.func_info().flatten() {
        s.records().for_each(drop);
    }
    for s in ext.line_info().flatten() {
        s.records().for_each(drop);
    }
    for s in ext.core_relos().flatten() {
        s.records().for_each(drop);
    }
});

//! Btf::parse on arbitrary bytes, then every accessor over every type: must never panic
//! or hang.
#![no_main]

use libfuzzer_sys::fuzz_target;
use oxbpf_btf::{Btf, BtfBuilder, BtfFeatures, Type, sanitize};

fuzz_target!(|data: &[u8]| {
    let Ok(btf) = Btf::parse(data) else {
        return;
    };
    for t in btf.types() {
        let Ok((id, t)) = t else {
            break;
        };
        let _ = btf.resolve_size(id);
        let _ = btf.type_name(id);
        let _ = btf.skip_mods_and_typedefs(id);
        match t {
            Type::Struct(c) | Type::Union(c) => c.members().for_each(drop),
            Type::Enum(e) | Type::Enum64(e) => e.values().for_each(drop),
            Type::FuncProto(p) => p.params().for_each(drop),
            Type::Datasec(d) => d.vars().for_each(drop),
            _ => {}
        }
    }
    // The writer and the sanitizer take the same input.
    if let Ok(b) = BtfBuilder::from_btf(&btf) {
        let _ = Btf::parse(&b.build()).map(|_| ());
    }
    let _ = sanitize(&btf, &BtfFeatures::none());
});

//! Fixing up an object's BTF for BPF_BTF_LOAD: DATASEC sizes, variable offsets, ordering.

use crate::btf::Btf;
use crate::error::{Error, Result};
use crate::types::{Type, VarSecinfo};

/// Returns an owned copy of `btf` fixed up for loading.
///
/// For each DATASEC whose size is 0 in the object (clang leaves them to the loader), the
/// size is set from `section_size(name)` and each VAR's offset from
/// `var_offset(section_name, var_name)` (the ELF symbol value). Every DATASEC's entries are
/// then sorted by offset and checked to be non-overlapping and inside the section, as the
/// kernel requires. Unknown sections or variables are errors naming them; extern sections
/// (`.kconfig`, `.ksyms`) must be sized by the caller's `section_size` like any other.
/// Pure: no kernel access.
pub fn fixup_for_load(
    btf: &Btf<'_>,
    section_size: &dyn Fn(&str) -> Option<u32>,
    var_offset: &dyn Fn(&str, &str) -> Option<u32>,
) -> Result<Vec<u8>> {
    let mut out = btf.bytes().to_vec();
    let endian = btf.endian();
    let mut vars: Vec<VarSecinfo> = Vec::new();
    for t in btf.types() {
        let (id, t) = t?;
        let Type::Datasec(d) = t else { continue };
        // type_offset is Some for every id yielded by types().
        let Some(off) = btf.type_offset(id) else {
            continue;
        };
        let sec = d.name;
        let mut size = d.size;
        let fix_offsets = size == 0;
        if fix_offsets {
            size = section_size(sec).ok_or_else(|| Error::UnknownSection {
                id,
                section: sec.to_string(),
            })?;
            endian.write_u32(&mut out, off + 8, size);
        }
        vars.clear();
        for v in d.vars() {
            let mut v = v?;
            if fix_offsets {
                let var = match btf.type_by_id(v.ty)? {
                    Type::Var(var) => var,
                    other => {
                        return Err(Error::BadDatasec {
                            id,
                            section: sec.to_string(),
                            reason: format!(
                                "entry for type {} is a {:?}, not a VAR",
                                v.ty,
                                other.kind()
                            ),
                        });
                    }
                };
                // An extern VAR (a map or variable another object defines) keeps its
                // offset and has no symbol to take one from (libbpf's btf_fixup_datasec).
                if var.linkage != crate::VAR_GLOBAL_EXTERN {
                    v.offset = var_offset(sec, var.name).ok_or_else(|| Error::UnknownVar {
                        id: v.ty,
                        section: sec.to_string(),
                        var: var.name.to_string(),
                    })?;
                }
            }
            vars.push(v);
        }
        vars.sort_by_key(|v| v.offset);
        let mut prev: Option<&VarSecinfo> = None;
        // Extern VARs take no room in this object's section: not range-checked.
        let is_extern = |v: &VarSecinfo| matches!(btf.type_by_id(v.ty), Ok(Type::Var(var)) if var.linkage == crate::VAR_GLOBAL_EXTERN);
        for v in vars.iter().filter(|v| !is_extern(v)) {
            let end = u64::from(v.offset) + u64::from(v.size);
            if end > u64::from(size) {
                return Err(Error::BadDatasec {
                    id,
                    section: sec.to_string(),
                    reason: format!(
                        "variable {:?} (type {}) at {:#x}+{:#x} runs past the section size {size:#x}",
                        btf.type_name(v.ty).unwrap_or("?"),
                        v.ty,
                        v.offset,
                        v.size
                    ),
                });
            }
            if let Some(p) = prev {
                if u64::from(p.offset) + u64::from(p.size) > u64::from(v.offset) {
                    return Err(Error::BadDatasec {
                        id,
                        section: sec.to_string(),
                        reason: format!(
                            "variable {:?} (type {}) at {:#x}+{:#x} overlaps {:?} (type {}) at {:#x}",
                            btf.type_name(p.ty).unwrap_or("?"),
                            p.ty,
                            p.offset,
                            p.size,
                            btf.type_name(v.ty).unwrap_or("?"),
                            v.ty,
                            v.offset
                        ),
                    });
                }
            }
            prev = Some(v);
        }
        for (i, v) in vars.iter().enumerate() {
            let at = off + 12 + i * 12;
            endian.write_u32(&mut out, at, v.ty);
            endian.write_u32(&mut out, at + 4, v.offset);
            endian.write_u32(&mut out, at + 8, v.size);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::endian::Endian;
    use crate::write::BtfBuilder;

    fn object_like(endian: Endian) -> Vec<u8> {
        let mut b = BtfBuilder::new();
        let int = b.add_int("int", 4, 0); // 1
        let u64t = b.add_int("u64", 8, 0); // 2
        let a = b.add_var("a", int, 1); // 3
        let bb = b.add_var("b", u64t, 1); // 4
        b.add_datasec(".data", 0, &[(a, 0, 4), (bb, 0, 8)]); // 5
        let c = b.add_var("c", int, 1); // 6
        let d = b.add_var("d", int, 1); // 7
        b.add_datasec(".rodata", 8, &[(d, 4, 4), (c, 0, 4)]); // 8
        b.build_endian(endian)
    }

    fn sizes(name: &str) -> Option<u32> {
        match name {
            ".data" => Some(16),
            ".rodata" => Some(8),
            _ => None,
        }
    }

    fn offsets(sec: &str, var: &str) -> Option<u32> {
        match (sec, var) {
            (".data", "a") => Some(8),
            (".data", "b") => Some(0),
            _ => None,
        }
    }

    fn vars(btf: &Btf<'_>, name: &str) -> (u32, Vec<(u32, u32, u32)>) {
        let (_, d) = btf.datasec_by_name(name).unwrap().unwrap();
        (
            d.size,
            d.vars()
                .map(|v| v.map(|v| (v.ty, v.offset, v.size)).unwrap())
                .collect(),
        )
    }

    #[test]
    fn sets_datasec_size_and_var_offsets_and_sorts() {
        for endian in [Endian::Little, Endian::Big] {
            let blob = object_like(endian);
            let btf = Btf::parse(&blob).unwrap();
            let fixed = fixup_for_load(&btf, &sizes, &offsets).unwrap();
            assert_eq!(fixed.len(), blob.len());
            let out = Btf::parse(&fixed).unwrap();
            assert_eq!(vars(&out, ".data"), (16, vec![(4, 0, 8), (3, 8, 4)]));
            // Sized sections keep size and offsets but are sorted.
            assert_eq!(vars(&out, ".rodata"), (8, vec![(6, 0, 4), (7, 4, 4)]));
            // The rest of the blob is untouched.
            assert_eq!(out.type_name(3).unwrap(), "a");
            assert_eq!(out.len(), btf.len());
        }
    }

    #[test]
    fn extern_vars_keep_their_offset_and_are_not_range_checked() {
        // A `.maps` of one extern map (size 0, no symbol) next to a defined variable.
        let mut b = BtfBuilder::new();
        let int = b.add_int("int", 4, 0);
        let m = b.add_var("link_results", int, crate::VAR_GLOBAL_EXTERN);
        b.add_datasec(".maps", 0, &[(m, 0, 32)]);
        let a = b.add_var("a", int, 1);
        let e = b.add_var("e", int, crate::VAR_GLOBAL_EXTERN);
        b.add_datasec(".data", 0, &[(e, 0, 4), (a, 0, 4)]);
        let blob = b.build();
        let btf = Btf::parse(&blob).unwrap();
        let size = |s: &str| Some(if s == ".data" { 8 } else { 0 });
        let off = |s: &str, v: &str| (s == ".data" && v == "a").then_some(4);
        let out = fixup_for_load(&btf, &size, &off).unwrap();
        let out = Btf::parse(&out).unwrap();
        assert_eq!(vars(&out, ".maps"), (0, vec![(m, 0, 32)]));
        assert_eq!(vars(&out, ".data"), (8, vec![(e, 0, 4), (a, 4, 4)]));
        // A defined VAR past the section is still an error.
        let e = fixup_for_load(&btf, &|_| Some(4), &off).unwrap_err();
        assert!(e.to_string().contains("\"a\""), "{e}");
    }

    #[test]
    fn rejects_unknown_section() {
        let blob = object_like(Endian::Little);
        let btf = Btf::parse(&blob).unwrap();
        let e = fixup_for_load(&btf, &|_| None, &offsets).unwrap_err();
        assert_eq!(
            e.to_string(),
            "BTF fixup: DATASEC \".data\" (type 5): no ELF section of that name"
        );
    }

    #[test]
    fn rejects_unknown_var() {
        let blob = object_like(Endian::Little);
        let btf = Btf::parse(&blob).unwrap();
        let e = fixup_for_load(&btf, &sizes, &|_, v| (v == "b").then_some(0)).unwrap_err();
        assert_eq!(
            e.to_string(),
            "BTF fixup: DATASEC \".data\": variable \"a\" (type 3) has no ELF symbol"
        );
    }

    #[test]
    fn rejects_overlapping_vars() {
        let blob = object_like(Endian::Little);
        let btf = Btf::parse(&blob).unwrap();
        let e =
            fixup_for_load(&btf, &sizes, &|_, v| Some(if v == "a" { 4 } else { 0 })).unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains("variable \"b\" (type 4) at 0x0+0x8 overlaps \"a\" (type 3) at 0x4"),
            "{msg}"
        );
    }

    #[test]
    fn rejects_var_past_section_size() {
        let blob = object_like(Endian::Little);
        let btf = Btf::parse(&blob).unwrap();
        let e =
            fixup_for_load(&btf, &sizes, &|_, v| Some(if v == "a" { 14 } else { 0 })).unwrap_err();
        assert!(
            e.to_string().contains("runs past the section size 0x10"),
            "{e}"
        );
    }
}

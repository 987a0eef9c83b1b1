//! Externs: undefined ELF symbols described by the object's `.kconfig` and `.ksyms`
//! DATASECs (libbpf's `__kconfig`, `__ksym` and kfuncs), and the BTF rewrite that makes
//! those DATASECs loadable.
//!
//! An extern is a symbol with `st_shndx == SHN_UNDEF`, binding `GLOBAL` or `WEAK` and type
//! `NOTYPE`, whose BTF is a `VAR` (linkage extern) or a `FUNC` (linkage extern) inside the
//! `.kconfig` or `.ksyms` DATASEC. `.kconfig` ones live in a synthesized read-only array
//! map named `.kconfig` (laid out as libbpf does: by alignment descending, size
//! ascending, then name); `.ksyms` ones are resolved against the kernel's BTF or kallsyms
//! by the loader. Pure: no kernel access.

use std::collections::HashMap;

use object::elf;
use oxbpf_btf::{
    Btf, BtfBuilder, INT_BOOL, INT_SIGNED, Kind, LINKAGE_EXTERN, LINKAGE_GLOBAL, Type, TypeRecord,
    VAR_GLOBAL_ALLOCATED, VAR_GLOBAL_EXTERN,
};

use crate::elf::{Elf, SymSection};
use crate::error::{Error, Result};
use crate::kinds::MapType;
use crate::spec::{DataSection, MapKind, MapSpec};

/// The DATASEC (and synthesized map) of `__kconfig` externs.
pub const KCONFIG_SEC: &str = ".kconfig";
/// The DATASEC of `__ksym` externs and kfuncs.
pub const KSYMS_SEC: &str = ".ksyms";

/// One extern the object declares.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Extern {
    /// The symbol (and BTF) name.
    pub name: String,
    /// What it is and where its value goes.
    pub kind: ExternKind,
    /// Declared `__weak`: absent on the kernel means zero (vars) or a poisoned call
    /// (kfuncs), not an error.
    pub weak: bool,
    /// The extern's `VAR` or `FUNC` type id in the object's BTF.
    pub btf_id: u32,
}

/// What an extern is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExternKind {
    /// A `__kconfig` variable: a value in the `.kconfig` map.
    Kconfig(KconfigExtern),
    /// A typed `__ksym` variable: resolved to a kernel BTF `VAR` (`BPF_PSEUDO_BTF_ID`).
    Ksym {
        /// The variable's type in the object's BTF (modifiers and typedefs skipped).
        type_id: u32,
    },
    /// A `__ksym` variable of type `void`: resolved to its address in kallsyms.
    KsymTypeless,
    /// An extern function in `.ksyms`: a kfunc (`BPF_PSEUDO_KFUNC_CALL`).
    Kfunc {
        /// Its `FUNC_PROTO` in the object's BTF.
        proto: u32,
    },
    /// An extern in neither `.kconfig` nor `.ksyms` (or without BTF): defined by another
    /// object, to be resolved by static linking; such an object does not load as is.
    Linked,
}

impl ExternKind {
    /// A word for messages: "kconfig", "ksym", "typeless ksym", "kfunc".
    pub fn describe(&self) -> &'static str {
        match self {
            ExternKind::Kconfig(_) => "kconfig",
            ExternKind::Ksym { .. } => "ksym",
            ExternKind::KsymTypeless => "typeless ksym",
            ExternKind::Kfunc { .. } => "kfunc",
            ExternKind::Linked => "unlinked extern",
        }
    }
}

/// Where and how a `__kconfig` extern is stored in the `.kconfig` map.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KconfigExtern {
    /// The value type, as libbpf classifies it.
    pub ty: KconfigType,
    /// Byte size.
    pub size: u32,
    /// Alignment in bytes.
    pub align: u32,
    /// Signed integer.
    pub signed: bool,
    /// Byte offset in the `.kconfig` map value.
    pub offset: u32,
}

/// The types a `__kconfig` extern may have (libbpf's `enum kcfg_type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum KconfigType {
    /// `bool` (1 byte): `y` is 1, `n` is 0.
    Bool,
    /// `enum libbpf_tristate`: `n` 0, `y` 1, `m` 2.
    Tristate,
    /// `char` (any 1-byte integer): the letter `y`/`n`/`m` itself, or a number.
    Char,
    /// An integer of 2, 4 or 8 bytes.
    Int,
    /// A `char` array: a quoted string value, NUL-terminated and truncated to fit.
    CharArray,
}

fn bad(name: &str, reason: impl Into<String>) -> Error {
    Error::BadExtern {
        name: name.to_string(),
        reason: reason.into(),
    }
}

/// Classifies a `__kconfig` variable's type (libbpf's `find_kcfg_type`); `None` if
/// unsupported.
fn kconfig_type(btf: &Btf<'_>, id: u32) -> oxbpf_btf::Result<Option<(KconfigType, bool)>> {
    let id = btf.skip_mods_and_typedefs(id)?;
    Ok(match btf.type_by_id(id)? {
        Type::Int(i) => {
            if i.encoding & INT_BOOL != 0 {
                (i.size == 1).then_some((KconfigType::Bool, false))
            } else {
                let signed = i.encoding & INT_SIGNED != 0;
                match i.size {
                    1 => Some((KconfigType::Char, signed)),
                    2 | 4 | 8 => Some((KconfigType::Int, signed)),
                    _ => None,
                }
            }
        }
        Type::Enum(e) if e.size == 4 && e.name == "libbpf_tristate" => {
            Some((KconfigType::Tristate, false))
        }
        Type::Enum64(e) if e.name == "libbpf_tristate" => Some((KconfigType::Tristate, false)),
        Type::Array(a) if a.nelems > 0 => match kconfig_type(btf, a.elem)? {
            Some((KconfigType::Char, _)) => Some((KconfigType::CharArray, false)),
            _ => None,
        },
        _ => None,
    })
}

/// The extern's VAR or FUNC id: the first VAR/FUNC of that name, which must have extern
/// linkage (libbpf's `find_extern_btf_id`).
fn extern_btf_id(btf: &Btf<'_>, name: &str) -> Result<u32> {
    let ctx = || format!("looking up extern {name:?}");
    for id in btf.find_all_by_name(name) {
        match btf.type_by_id(id).map_err(|e| Error::btf(ctx(), e))? {
            Type::Var(v) if v.linkage == VAR_GLOBAL_EXTERN => return Ok(id),
            Type::Func(f) if f.linkage == LINKAGE_EXTERN => return Ok(id),
            Type::Var(_) | Type::Func(_) => {
                return Err(bad(
                    name,
                    format!("BTF type {id} of that name does not have extern linkage"),
                ));
            }
            _ => {}
        }
    }
    Err(bad(name, "no BTF VAR or FUNC of that name describes it"))
}

/// The name of the DATASEC (`.kconfig` / `.ksyms`) that lists type `id`, if any.
fn section_of(btf: &Btf<'_>, id: u32) -> Result<Option<&'static str>> {
    for sec in [KCONFIG_SEC, KSYMS_SEC] {
        let ctx = || format!("DATASEC {sec:?}");
        let Some((_, ds)) = btf.datasec_by_name(sec).map_err(|e| Error::btf(ctx(), e))? else {
            continue;
        };
        for v in ds.vars() {
            if v.map_err(|e| Error::btf(ctx(), e))?.ty == id {
                return Ok(Some(sec));
            }
        }
    }
    Ok(None)
}

/// Whether DATASEC `sec` lists at least one VAR and only extern-linkage VARs (e.g. the
/// `.maps` of an object that only declares `extern` maps).
pub(crate) fn only_externs_in(btf: &Btf<'_>, sec: &str) -> bool {
    let Ok(Some((_, ds))) = btf.datasec_by_name(sec) else {
        return false;
    };
    let mut any = false;
    for v in ds.vars() {
        match v.map(|v| btf.type_by_id(v.ty)) {
            Ok(Ok(Type::Var(var))) if var.linkage == VAR_GLOBAL_EXTERN => any = true,
            _ => return false,
        }
    }
    any
}

/// The object's externs, sorted and laid out as libbpf does, plus, per ELF symbol index,
/// the extern's index (for classifying relocations).
pub(crate) fn collect(
    elf: &Elf<'_>,
    btf: Option<&Btf<'_>>,
) -> Result<(Vec<Extern>, HashMap<u32, usize>)> {
    let mut found: Vec<(u32, Extern)> = Vec::new();
    for (i, sym) in elf.symbols.iter().enumerate() {
        let is_extern = sym.section == SymSection::Undefined
            && (sym.bind == elf::STB_GLOBAL || sym.bind == elf::STB_WEAK)
            && sym.kind == elf::STT_NOTYPE
            && !sym.name.is_empty();
        if !is_extern {
            continue;
        }
        let name = sym.name;
        let weak = sym.bind == elf::STB_WEAK;
        let linked = |btf_id| Extern {
            name: name.to_string(),
            kind: ExternKind::Linked,
            weak,
            btf_id,
        };
        // Without BTF, or outside the extern DATASECs: for the static linker (libbpf
        // refuses to open such objects; reading them is still useful).
        let Some(btf) = btf else {
            found.push((i as u32, linked(0)));
            continue;
        };
        let Ok(btf_id) = extern_btf_id(btf, name) else {
            found.push((i as u32, linked(0)));
            continue;
        };
        let ctx = |what: &str| format!("extern {name:?} (type {btf_id}): {what}");
        let Some(sec) = section_of(btf, btf_id)? else {
            found.push((i as u32, linked(btf_id)));
            continue;
        };
        let t = btf
            .type_by_id(btf_id)
            .map_err(|e| Error::btf(ctx("type"), e))?;
        let kind = match (sec, t) {
            (KCONFIG_SEC, Type::Var(v)) => {
                let size = btf
                    .resolve_size(v.ty)
                    .map_err(|e| Error::btf(ctx("size"), e))?;
                let (ty, signed) = kconfig_type(btf, v.ty)
                    .map_err(|e| Error::btf(ctx("type"), e))?
                    .ok_or_else(|| {
                        bad(
                            name,
                            format!(
                                "{KCONFIG_SEC} type {} is not bool, enum libbpf_tristate, char, an integer or a char array",
                                v.ty
                            ),
                        )
                    })?;
                if size == 0 {
                    return Err(bad(name, format!("{KCONFIG_SEC} type {} has size 0", v.ty)));
                }
                let align = match ty {
                    KconfigType::CharArray => 1,
                    _ => size.min(8),
                };
                ExternKind::Kconfig(KconfigExtern {
                    ty,
                    size,
                    align,
                    signed,
                    offset: 0,
                })
            }
            (KCONFIG_SEC, _) => {
                return Err(bad(
                    name,
                    format!("functions are not supported in {KCONFIG_SEC}"),
                ));
            }
            (_, Type::Var(v)) => {
                let type_id = btf
                    .skip_mods_and_typedefs(v.ty)
                    .map_err(|e| Error::btf(ctx("type"), e))?;
                if type_id == 0 {
                    ExternKind::KsymTypeless
                } else {
                    ExternKind::Ksym { type_id }
                }
            }
            (_, Type::Func(f)) => ExternKind::Kfunc { proto: f.proto },
            (_, other) => {
                return Err(bad(
                    name,
                    format!(
                        "BTF type {btf_id} is a {:?}, not a VAR or FUNC",
                        other.kind()
                    ),
                ));
            }
        };
        found.push((
            i as u32,
            Extern {
                name: name.to_string(),
                kind,
                weak,
                btf_id,
            },
        ));
    }
    // libbpf's order: kconfig before ksyms; kconfig by alignment (descending), then size;
    // ties by name.
    found.sort_by(|(_, a), (_, b)| {
        let key = |e: &Extern| match &e.kind {
            ExternKind::Kconfig(k) => (0, u32::MAX - k.align, k.size),
            _ => (1, 0, 0),
        };
        key(a).cmp(&key(b)).then_with(|| a.name.cmp(&b.name))
    });
    let mut off: u32 = 0;
    for (_, e) in &mut found {
        if let ExternKind::Kconfig(k) = &mut e.kind {
            k.offset = off.div_ceil(k.align) * k.align;
            off = k
                .offset
                .checked_add(k.size)
                .ok_or_else(|| bad(&e.name, "the .kconfig map would exceed 4 GiB"))?;
        }
    }
    let by_sym = found
        .iter()
        .enumerate()
        .map(|(i, (sym, _))| (*sym, i))
        .collect();
    Ok((found.into_iter().map(|(_, e)| e).collect(), by_sym))
}

/// The size of the `.kconfig` map value: the end of the last `__kconfig` extern.
pub(crate) fn kconfig_size(externs: &[Extern]) -> u32 {
    externs
        .iter()
        .filter_map(|e| match &e.kind {
            ExternKind::Kconfig(k) => Some(k.offset + k.size),
            _ => None,
        })
        .max()
        .unwrap_or(0)
}

/// The synthesized `.kconfig` map (libbpf's internal kconfig map: an array of one
/// read-only value, zeroed until the loader fills in the values), if any extern needs it.
pub(crate) fn kconfig_map(externs: &[Extern]) -> Option<MapSpec> {
    let size = kconfig_size(externs);
    (size > 0).then(|| {
        let mut m =
            crate::maps::empty_spec(KCONFIG_SEC, KCONFIG_SEC, MapKind::Data(DataSection::Rodata));
        m.map_type = MapType::ARRAY;
        m.key_size = 4;
        m.value_size = size;
        m.max_entries = 1;
        m.data = Some(vec![0; size as usize]);
        m
    })
}

fn rec(btf: &BtfBuilder, id: u32) -> Result<TypeRecord> {
    btf.type_record(id).cloned().ok_or_else(|| Error::Btf {
        context: format!("rewriting extern type {id}"),
        source: oxbpf_btf::Error::TypeIdOutOfRange {
            id,
            count: btf.next_id() as usize,
        },
    })
}

/// `btf` with the `.kconfig` and `.ksyms` DATASECs completed as libbpf does, so the kernel
/// accepts them: every extern VAR becomes an allocated global; `.kconfig` entries get their
/// offsets in the `.kconfig` map; `.ksyms` entries become 4-byte ints at consecutive
/// offsets, kfunc entries pointing at an added `dummy_ksym` VAR (a DATASEC may list only
/// VARs), kfunc FUNCs turn global and their unnamed parameters get a name. `None` when the
/// object has no externs (nothing to change).
pub(crate) fn btf_with_externs(btf: &Btf<'_>, externs: &[Extern]) -> Result<Option<Vec<u8>>> {
    if externs.is_empty() {
        return Ok(None);
    }
    let berr = |context: &str| {
        let context = context.to_string();
        move |source| Error::Btf { context, source }
    };
    let mut b = BtfBuilder::from_btf(btf).map_err(berr("reading .BTF to complete externs"))?;
    // Entries are matched to externs by BTF id (names may be edited on the spec).
    let by_id: HashMap<u32, &Extern> = externs.iter().map(|e| (e.btf_id, e)).collect();
    let name_of = |b: &BtfBuilder, id: u32| -> Result<String> {
        let r = rec(b, id)?;
        Ok(b.str_at(r.name_off()).unwrap_or("").to_string())
    };

    if let Some((sec_id, ds)) = btf
        .datasec_by_name(KSYMS_SEC)
        .map_err(berr("DATASEC .ksyms"))?
    {
        let entries: Vec<u32> = ds
            .vars()
            .map(|v| v.map(|v| v.ty))
            .collect::<oxbpf_btf::Result<_>>()
            .map_err(berr("DATASEC .ksyms"))?;
        // A 32-bit int for the fake variables (libbpf's find_int_btf_id), added if absent.
        let mut int_id = None;
        for t in btf.types() {
            let (id, t) = t.map_err(berr("looking for an int type"))?;
            if let Type::Int(i) = t {
                if i.bits == 32 {
                    int_id = Some(id);
                    break;
                }
            }
        }
        let int_id = match int_id {
            Some(id) => id,
            None => b.add_int("int", 4, INT_SIGNED),
        };
        let has_func = entries
            .iter()
            .any(|&id| matches!(btf.kind(id), Ok(Kind::Func)));
        let dummy = has_func.then(|| b.add_var("dummy_ksym", int_id, VAR_GLOBAL_ALLOCATED));
        let dummy_name = b.add_str("dummy_ksym");
        let mut trailing = Vec::with_capacity(entries.len() * 3);
        for (i, &id) in entries.iter().enumerate() {
            let name = name_of(&b, id)?;
            if !by_id.contains_key(&id) {
                return Err(bad(
                    &name,
                    format!(
                        "listed in {KSYMS_SEC} (type {id}) but no undefined symbol has that name"
                    ),
                ));
            }
            let r = rec(&b, id)?;
            let entry_ty = match r.kind() {
                Kind::Func => {
                    let proto_id = r.size_or_type();
                    let mut proto = rec(&b, proto_id)?;
                    for p in proto.trailing_mut().chunks_exact_mut(2) {
                        if p[1] != 0 && p[0] == 0 {
                            p[0] = dummy_name;
                        }
                    }
                    b.set_type(proto_id, proto)
                        .map_err(berr("rewriting a kfunc prototype"))?;
                    let func = TypeRecord::new(
                        Kind::Func,
                        r.name_off(),
                        r.kind_flag(),
                        LINKAGE_GLOBAL,
                        proto_id,
                        Vec::new(),
                    );
                    b.set_type(id, func).map_err(berr("rewriting a kfunc"))?;
                    dummy.unwrap_or(id)
                }
                Kind::Var => {
                    let var = TypeRecord::new(
                        Kind::Var,
                        r.name_off(),
                        r.kind_flag(),
                        0,
                        int_id,
                        vec![VAR_GLOBAL_ALLOCATED],
                    );
                    b.set_type(id, var).map_err(berr("rewriting a ksym"))?;
                    id
                }
                k => {
                    return Err(bad(
                        &name,
                        format!("{KSYMS_SEC} entry type {id} is a {k:?}, not a VAR or FUNC"),
                    ));
                }
            };
            trailing.extend([entry_ty, i as u32 * 4, 4]);
        }
        let sec = rec(&b, sec_id)?;
        let size = entries.len() as u32 * 4;
        let new = TypeRecord::new(
            Kind::Datasec,
            sec.name_off(),
            sec.kind_flag(),
            sec.vlen(),
            size,
            trailing,
        );
        b.set_type(sec_id, new).map_err(berr("rewriting .ksyms"))?;
    }

    if let Some((sec_id, ds)) = btf
        .datasec_by_name(KCONFIG_SEC)
        .map_err(berr("DATASEC .kconfig"))?
    {
        let mut trailing = Vec::new();
        for v in ds.vars() {
            let v = v.map_err(berr("DATASEC .kconfig"))?;
            let name = name_of(&b, v.ty)?;
            let Some(Extern {
                kind: ExternKind::Kconfig(k),
                ..
            }) = by_id.get(&v.ty)
            else {
                return Err(bad(
                    &name,
                    format!(
                        "listed in {KCONFIG_SEC} (type {}) but is not a kconfig extern",
                        v.ty
                    ),
                ));
            };
            let r = rec(&b, v.ty)?;
            let var = TypeRecord::new(
                Kind::Var,
                r.name_off(),
                r.kind_flag(),
                0,
                r.size_or_type(),
                vec![VAR_GLOBAL_ALLOCATED],
            );
            b.set_type(v.ty, var)
                .map_err(berr("rewriting a kconfig var"))?;
            trailing.extend([v.ty, k.offset, k.size]);
        }
        let sec = rec(&b, sec_id)?;
        let new = TypeRecord::new(
            Kind::Datasec,
            sec.name_off(),
            sec.kind_flag(),
            sec.vlen(),
            kconfig_size(externs),
            trailing,
        );
        b.set_type(sec_id, new)
            .map_err(berr("rewriting .kconfig"))?;
    }
    Ok(Some(b.build_endian(btf.endian())))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// BTF with a `.kconfig` holding (name, type) VARs and a `.ksyms` holding a typed VAR,
    /// a typeless VAR and a kfunc with an unnamed parameter.
    fn btf() -> (Vec<u8>, Vec<Extern>) {
        let mut b = BtfBuilder::new();
        let int = b.add_int("int", 4, INT_SIGNED);
        let u64_ = b.add_int("unsigned long long", 8, 0);
        let boolean = b.add_int("_Bool", 1, INT_BOOL);
        let ch = b.add_int("char", 1, oxbpf_btf::INT_CHAR);
        let arr = b.add_array(ch, int, 10);
        let tri = b.add_enum(
            "libbpf_tristate",
            4,
            false,
            &[("TRI_NO", 0), ("TRI_YES", 1), ("TRI_MODULE", 2)],
        );
        let kv = |b: &mut BtfBuilder, n: &str, t| b.add_var(n, t, VAR_GLOBAL_EXTERN);
        let v_bool = kv(&mut b, "CONFIG_B", boolean);
        let v_arr = kv(&mut b, "CONFIG_S", arr);
        let v_u64 = kv(&mut b, "CONFIG_U", u64_);
        let v_tri = kv(&mut b, "CONFIG_T", tri);
        b.add_datasec(
            KCONFIG_SEC,
            0,
            &[(v_bool, 0, 1), (v_arr, 0, 10), (v_u64, 0, 8), (v_tri, 0, 4)],
        );
        let typed = kv(&mut b, "runqueues", int);
        let typeless = kv(&mut b, "vfs_read", 0);
        let proto = b.add_func_proto(int, &[("", int)]);
        let kfunc = b.add_func("bpf_task_release", proto, LINKAGE_EXTERN);
        b.add_datasec(
            KSYMS_SEC,
            0,
            &[(typed, 0, 4), (typeless, 0, 1), (kfunc, 0, 0)],
        );
        let bytes = b.build();
        let externs = {
            let btf = Btf::parse(&bytes).unwrap();
            let mut v = Vec::new();
            for n in [
                "CONFIG_B",
                "CONFIG_S",
                "CONFIG_U",
                "CONFIG_T",
                "runqueues",
                "vfs_read",
                "bpf_task_release",
            ] {
                let id = extern_btf_id(&btf, n).unwrap();
                let kind = match (
                    section_of(&btf, id).unwrap().unwrap(),
                    btf.type_by_id(id).unwrap(),
                ) {
                    (KCONFIG_SEC, Type::Var(var)) => {
                        let (ty, signed) = kconfig_type(&btf, var.ty).unwrap().unwrap();
                        let size = btf.resolve_size(var.ty).unwrap();
                        ExternKind::Kconfig(KconfigExtern {
                            ty,
                            size,
                            align: if ty == KconfigType::CharArray {
                                1
                            } else {
                                size
                            },
                            signed,
                            offset: 0,
                        })
                    }
                    (_, Type::Var(var)) if var.ty == 0 => ExternKind::KsymTypeless,
                    (_, Type::Var(var)) => ExternKind::Ksym { type_id: var.ty },
                    (_, Type::Func(f)) => ExternKind::Kfunc { proto: f.proto },
                    _ => unreachable!(),
                };
                v.push(Extern {
                    name: n.into(),
                    kind,
                    weak: false,
                    btf_id: id,
                });
            }
            v
        };
        (bytes, externs)
    }

    #[test]
    fn classifies_kconfig_types_as_libbpf() {
        let (bytes, externs) = btf();
        let btf = Btf::parse(&bytes).unwrap();
        let ty = |n: &str| {
            let id = extern_btf_id(&btf, n).unwrap();
            let Type::Var(v) = btf.type_by_id(id).unwrap() else {
                panic!()
            };
            kconfig_type(&btf, v.ty).unwrap()
        };
        assert_eq!(ty("CONFIG_B"), Some((KconfigType::Bool, false)));
        assert_eq!(ty("CONFIG_S"), Some((KconfigType::CharArray, false)));
        assert_eq!(ty("CONFIG_U"), Some((KconfigType::Int, false)));
        assert_eq!(ty("CONFIG_T"), Some((KconfigType::Tristate, false)));
        // A typed ksym of type int would be Int, but pointers are not kconfig types.
        assert_eq!(externs[6].kind.describe(), "kfunc");
        assert_eq!(externs[5].kind, ExternKind::KsymTypeless);
    }

    #[test]
    fn rejects_extern_without_extern_linkage() {
        let mut b = BtfBuilder::new();
        let int = b.add_int("int", 4, INT_SIGNED);
        b.add_var("CONFIG_X", int, VAR_GLOBAL_ALLOCATED);
        let bytes = b.build();
        let btf = Btf::parse(&bytes).unwrap();
        let e = extern_btf_id(&btf, "CONFIG_X").unwrap_err();
        assert!(e.to_string().contains("CONFIG_X"), "{e}");
        assert!(e.to_string().contains("extern linkage"), "{e}");
        let e = extern_btf_id(&btf, "CONFIG_Y").unwrap_err();
        assert!(e.to_string().contains("no BTF VAR or FUNC"), "{e}");
    }

    #[test]
    fn completes_kconfig_and_ksyms_datasecs_for_the_kernel() {
        let (bytes, mut externs) = btf();
        // Lay out the kconfig externs: u64 (8) first, then the tristate (4), bool, array.
        let mut off = 0;
        for n in ["CONFIG_U", "CONFIG_T", "CONFIG_B", "CONFIG_S"] {
            let e = externs.iter_mut().find(|e| e.name == n).unwrap();
            let ExternKind::Kconfig(k) = &mut e.kind else {
                panic!()
            };
            k.offset = off;
            off += k.size;
        }
        let btf = Btf::parse(&bytes).unwrap();
        let out = btf_with_externs(&btf, &externs).unwrap().unwrap();
        let out = Btf::parse(&out).unwrap();
        let (_, kc) = out.datasec_by_name(KCONFIG_SEC).unwrap().unwrap();
        assert_eq!(kc.size, 8 + 4 + 1 + 10);
        let offs: Vec<(String, u32, u32)> = kc
            .vars()
            .map(|v| {
                let v = v.unwrap();
                let Type::Var(var) = out.type_by_id(v.ty).unwrap() else {
                    panic!()
                };
                assert_eq!(var.linkage, VAR_GLOBAL_ALLOCATED);
                (var.name.to_string(), v.offset, v.size)
            })
            .collect();
        assert!(offs.contains(&("CONFIG_U".into(), 0, 8)), "{offs:?}");
        assert!(offs.contains(&("CONFIG_S".into(), 13, 10)), "{offs:?}");
        let (_, ks) = out.datasec_by_name(KSYMS_SEC).unwrap().unwrap();
        assert_eq!(ks.size, 12);
        let mut funcs = 0;
        for (i, v) in ks.vars().enumerate() {
            let v = v.unwrap();
            assert_eq!((v.offset, v.size), (i as u32 * 4, 4));
            let Type::Var(var) = out.type_by_id(v.ty).unwrap() else {
                panic!("entry {i} is not a VAR")
            };
            assert_eq!(var.linkage, VAR_GLOBAL_ALLOCATED);
            assert_eq!(out.resolve_size(var.ty).unwrap(), 4);
            if var.name == "dummy_ksym" {
                funcs += 1;
            }
        }
        assert_eq!(funcs, 1);
        let f = out
            .find_by_name("bpf_task_release", Kind::Func)
            .unwrap()
            .unwrap();
        let Type::Func(f) = out.type_by_id(f).unwrap() else {
            panic!()
        };
        assert_eq!(f.linkage, LINKAGE_GLOBAL);
        let Type::FuncProto(p) = out.type_by_id(f.proto).unwrap() else {
            panic!()
        };
        let names: Vec<String> = p.params().map(|p| p.unwrap().0.to_string()).collect();
        assert_eq!(names, ["dummy_ksym"]);
        // The result still completes: fixup_for_load finds nothing left to size.
        oxbpf_btf::fixup_for_load(&out, &|_| None, &|_, _| None).unwrap();
    }

    #[test]
    fn kconfig_map_is_sized_by_the_last_extern() {
        let (_, mut externs) = btf();
        assert!(kconfig_map(&externs[4..]).is_none());
        if let ExternKind::Kconfig(k) = &mut externs[1].kind {
            k.offset = 100;
        }
        let m = kconfig_map(&externs).unwrap();
        assert_eq!(m.value_size, 110);
        assert_eq!(m.kind, MapKind::Data(DataSection::Rodata));
        assert_eq!(m.data.as_deref().map(<[u8]>::len), Some(110));
    }
}

//! Extern patching: writes resolved `__kconfig` / `__ksym` / kfunc values into the
//! instructions that refer to them (libbpf's `RELO_EXTERN_LD64` / `RELO_EXTERN_CALL`).
//!
//! Pure: the caller resolves each extern against the kernel (config file, BTF, kallsyms)
//! and hands over an [`ExternValue`] per extern; this module only rewrites instructions.

use oxbpf_asm::{Insn, PSEUDO_BTF_ID, PSEUDO_KFUNC_CALL, PSEUDO_MAP_VALUE};
use oxbpf_obj::{ExternKind, ObjectSpec, RelocTarget};

use crate::error::{Error, Result};
use crate::link::LinkedProgram;

/// libbpf's `POISON_CALL_KFUNC_BASE`: a call to an absent `__weak` kfunc becomes a call of
/// helper `POISON_CALL_KFUNC_BASE + extern index`, which the verifier rejects only if the
/// call is reachable (`bpf_ksym_exists()` guards prune it).
pub const POISON_CALL_KFUNC_BASE: i32 = 2_002_000_000;

/// The DATASEC (e.g. `.maps`) that lists BTF type `btf_id`, if any.
fn linked_section(spec: &ObjectSpec, btf_id: u32) -> Option<String> {
    let btf = spec.btf().ok()??;
    for t in btf.types() {
        if let Ok((_, oxbpf_btf::Type::Datasec(d))) = t {
            if btf_id != 0 && d.vars().any(|v| v.is_ok_and(|v| v.ty == btf_id)) {
                return Some(d.name.to_string());
            }
        }
    }
    None
}

/// `BPF_JMP | BPF_CALL`.
const CALL: u8 = 0x85;

/// What an extern resolved to on the running kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExternValue {
    /// A `__kconfig` value at `offset` in the `.kconfig` map `map_fd`.
    Kconfig {
        /// The `.kconfig` map's fd.
        map_fd: i32,
        /// Byte offset of the value.
        offset: u32,
    },
    /// A kernel BTF object: a typed ksym's `VAR` or a kfunc's `FUNC`.
    Btf {
        /// Type id in the kernel BTF object.
        btf_id: u32,
        /// fd of the module's BTF object, 0 for vmlinux (`ld_imm64` second slot).
        btf_obj_fd: i32,
        /// Index of that fd in the program's `fd_array`, 0 for vmlinux (kfunc `call` off).
        fd_array_idx: i16,
    },
    /// A typeless ksym's address (from kallsyms).
    Address(u64),
    /// Not on this kernel (or no value for it): a `__weak` extern reads as 0 and a
    /// `__weak` kfunc call is poisoned; a strong one is an error.
    Absent,
}

/// The helper id a call to absent `__weak` kfunc number `index` is poisoned with.
pub fn poisoned_kfunc_id(index: usize) -> i32 {
    POISON_CALL_KFUNC_BASE.saturating_add(i32::try_from(index).unwrap_or(i32::MAX))
}

/// The extern index of a poisoned kfunc call (the inverse of [`poisoned_kfunc_id`]).
pub fn poisoned_kfunc_index(insn: &Insn) -> Option<usize> {
    if insn.code != CALL || insn.src != 0 {
        return None;
    }
    let i = insn.imm.checked_sub(POISON_CALL_KFUNC_BASE)?;
    // Real helper ids are small; libbpf reserves the whole 2002000000.. range.
    (0..1_000_000).contains(&i).then_some(i as usize)
}

/// Patches every extern relocation of `prog` with the value `value(index)` gives for the
/// extern (`index` into `spec.externs`):
///
/// - `ld_imm64` of a `__kconfig`: `BPF_PSEUDO_MAP_VALUE` (`imm` = map fd, second slot =
///   offset), like other data;
/// - `ld_imm64` of a typed ksym or a kfunc: `BPF_PSEUDO_BTF_ID` (`imm` = BTF id, second
///   slot = module BTF fd or 0);
/// - `ld_imm64` of a typeless ksym: its address as a 64-bit constant;
/// - `call` of a kfunc: `BPF_PSEUDO_KFUNC_CALL` (`imm` = BTF id, `off` = fd_array index);
/// - an absent `__weak` extern: `ld_imm64` 0, and a kfunc call becomes a call of helper
///   [`poisoned_kfunc_id`] (libbpf's poisoning).
///
/// An absent strong extern is [`Error::UnresolvedExtern`] naming it and its kind.
pub fn resolve_externs(
    prog: &mut LinkedProgram,
    spec: &ObjectSpec,
    value: &dyn Fn(usize) -> ExternValue,
) -> Result<()> {
    let program = prog
        .functions
        .first()
        .map_or_else(String::new, |(n, _)| n.clone());
    for r in &prog.relocations {
        let RelocTarget::Extern { name, index } = &r.target else {
            continue;
        };
        let function = || {
            prog.functions
                .iter()
                .rev()
                .find(|(_, s)| *s <= r.insn)
                .map_or_else(String::new, |(n, _)| n.clone())
        };
        let bad = |reason: String| Error::BadInstruction {
            program: program.clone(),
            function: function(),
            insn: r.insn,
            reason,
        };
        let ext = spec.externs.get(*index).ok_or_else(|| {
            bad(format!(
                "relocation against extern {name:?} names extern #{index}, but the object has {}",
                spec.externs.len()
            ))
        })?;
        let insn = *prog
            .insns
            .get(r.insn)
            .ok_or_else(|| bad("relocation is past the program's end".into()))?;
        let is_call = insn.is_call();
        let two_slot_ld = insn.is_ld_imm64() && r.insn + 1 < prog.insns.len();
        if !(is_call || two_slot_ld) {
            return Err(bad(format!(
                "extern {name:?} relocation is on neither a call nor a two-slot ld_imm64 (opcode {:#04x})",
                insn.code
            )));
        }
        // Declared here, defined in another object: not resolvable at load, weak or not.
        if ext.kind == ExternKind::Linked {
            return Err(bad(format!(
                "extern {name:?}{} is defined in another object: link the objects first (`oxbpf link a.o b.o -o out.o`); this object is meant for the static linker and does not load on its own",
                linked_section(spec, ext.btf_id).map_or_else(String::new, |s| format!(
                    " (in DATASEC {s:?}{})",
                    if s == ".maps" { ", an extern map" } else { "" }
                ))
            )));
        }
        let v = value(*index);
        if v == ExternValue::Absent && !ext.weak {
            return Err(Error::UnresolvedExtern {
                program: program.clone(),
                name: ext.name.clone(),
                kind: ext.kind.describe(),
                insn: r.insn,
            });
        }
        let is_kfunc = matches!(ext.kind, ExternKind::Kfunc { .. });
        if is_call {
            if !is_kfunc {
                return Err(bad(format!(
                    "call of extern {name:?}, which is a {}, not a kfunc",
                    ext.kind.describe()
                )));
            }
            let i = &mut prog.insns[r.insn];
            match v {
                ExternValue::Btf {
                    btf_id,
                    fd_array_idx,
                    ..
                } => {
                    i.src = PSEUDO_KFUNC_CALL;
                    i.imm = btf_id as i32;
                    i.off = fd_array_idx;
                }
                ExternValue::Absent => {
                    *i = Insn {
                        code: CALL,
                        dst: 0,
                        src: 0,
                        off: 0,
                        imm: poisoned_kfunc_id(*index),
                    };
                }
                other => {
                    return Err(bad(format!(
                        "kfunc {name:?} resolved to {other:?}, not a BTF id"
                    )));
                }
            }
            continue;
        }
        let (src, lo, hi) = match (v, &ext.kind) {
            (ExternValue::Kconfig { map_fd, offset }, ExternKind::Kconfig(_)) => {
                (PSEUDO_MAP_VALUE, map_fd, offset as i32)
            }
            (
                ExternValue::Btf {
                    btf_id, btf_obj_fd, ..
                },
                ExternKind::Ksym { .. } | ExternKind::Kfunc { .. },
            ) => (PSEUDO_BTF_ID, btf_id as i32, btf_obj_fd),
            (ExternValue::Address(a), ExternKind::KsymTypeless) => {
                (0, a as u32 as i32, (a >> 32) as u32 as i32)
            }
            (ExternValue::Absent, _) => (0, 0, 0),
            (other, kind) => {
                return Err(bad(format!(
                    "extern {name:?} is a {}, but resolved to {other:?}",
                    kind.describe()
                )));
            }
        };
        let i = &mut prog.insns[r.insn];
        i.src = src;
        i.imm = lo;
        prog.insns[r.insn + 1].imm = hi;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use oxbpf_obj::{Extern, KconfigExtern, KconfigType, ProgramSpec, Relocation, SectionDef};

    fn ext(name: &str, kind: ExternKind, weak: bool) -> Extern {
        Extern {
            name: name.into(),
            kind,
            weak,
            btf_id: 1,
        }
    }

    /// A program: ld_imm64 of each extern but the last, a call of the last, exit.
    fn setup(externs: Vec<Extern>) -> (ObjectSpec, LinkedProgram) {
        let mut insns = Vec::new();
        let mut relocations = Vec::new();
        let n = externs.len();
        for (i, e) in externs.iter().enumerate() {
            let at = insns.len();
            if i + 1 == n && matches!(e.kind, ExternKind::Kfunc { .. }) {
                let mut c = Insn::call_helper(0);
                c.src = PSEUDO_KFUNC_CALL;
                c.imm = -1;
                insns.push(c);
            } else {
                insns.extend(Insn::ld_imm64(1, 0, 0));
            }
            relocations.push(Relocation {
                insn: at,
                target: RelocTarget::Extern {
                    name: e.name.clone(),
                    index: i,
                },
                symbol: e.name.clone(),
            });
        }
        insns.push(Insn::exit());
        let prog = ProgramSpec {
            name: "prog".into(),
            section: "syscall".into(),
            section_offset: 0,
            def: SectionDef::from_section_name("syscall").unwrap(),
            insns,
            relocations,
        };
        let spec = ObjectSpec {
            license: "GPL".into(),
            kernel_version: None,
            programs: vec![prog],
            subprograms: vec![],
            maps: vec![],
            globals: vec![],
            btf: None,
            btf_ext: None,
            datasec_layout: Default::default(),
            externs,
        };
        let linked = crate::link_program(&spec, 0).unwrap();
        (spec, linked)
    }

    fn kconfig() -> ExternKind {
        ExternKind::Kconfig(KconfigExtern {
            ty: KconfigType::Int,
            size: 4,
            align: 4,
            signed: false,
            offset: 8,
        })
    }

    #[test]
    fn extern_map_of_an_unlinked_object_is_an_error_naming_it_even_if_weak() {
        let mut b = oxbpf_btf::BtfBuilder::new();
        let int = b.add_int("int", 4, 0);
        let m = b.add_var("link_results", int, oxbpf_btf::VAR_GLOBAL_EXTERN);
        b.add_datasec(".maps", 0, &[(m, 0, 32)]);
        let mut e = ext("link_results", ExternKind::Linked, true);
        e.btf_id = m;
        let (mut spec, mut p) = setup(vec![e]);
        spec.btf = Some(b.build());
        let before = p.insns.clone();
        let err = resolve_externs(&mut p, &spec, &|_| ExternValue::Absent).unwrap_err();
        let msg = err.to_string();
        for want in ["\"link_results\"", "\".maps\"", "extern map", "oxbpf link"] {
            assert!(msg.contains(want), "{want} not in: {msg}");
        }
        assert_eq!(p.insns, before, "nothing patched");
    }

    #[test]
    fn patches_each_extern_kind_as_libbpf() {
        let (spec, mut p) = setup(vec![
            ext("CONFIG_HZ", kconfig(), false),
            ext("runqueues", ExternKind::Ksym { type_id: 5 }, false),
            ext("vfs_read", ExternKind::KsymTypeless, false),
            ext("bpf_task_release", ExternKind::Kfunc { proto: 3 }, false),
        ]);
        resolve_externs(&mut p, &spec, &|i| match i {
            0 => ExternValue::Kconfig {
                map_fd: 7,
                offset: 8,
            },
            1 => ExternValue::Btf {
                btf_id: 1234,
                btf_obj_fd: 9,
                fd_array_idx: 0,
            },
            2 => ExternValue::Address(0xffff_ffff_8123_4567),
            _ => ExternValue::Btf {
                btf_id: 4321,
                btf_obj_fd: 11,
                fd_array_idx: 2,
            },
        })
        .unwrap();
        let i = &p.insns;
        assert_eq!((i[0].src, i[0].imm, i[1].imm), (PSEUDO_MAP_VALUE, 7, 8));
        assert_eq!((i[2].src, i[2].imm, i[3].imm), (PSEUDO_BTF_ID, 1234, 9));
        assert_eq!(
            (i[4].src, i[4].imm as u32, i[5].imm as u32),
            (0, 0x8123_4567, 0xffff_ffff)
        );
        assert_eq!(
            (i[6].code, i[6].src, i[6].imm, i[6].off),
            (CALL, PSEUDO_KFUNC_CALL, 4321, 2)
        );
    }

    #[test]
    fn absent_weak_externs_read_zero_and_kfunc_calls_are_poisoned() {
        let (spec, mut p) = setup(vec![
            ext("CONFIG_MISSING", kconfig(), true),
            ext("bpf_missing_kfunc", ExternKind::Kfunc { proto: 3 }, true),
            ext("bpf_missing_kfunc2", ExternKind::Kfunc { proto: 3 }, true),
        ]);
        p.insns[0].imm = 55;
        resolve_externs(&mut p, &spec, &|_| ExternValue::Absent).unwrap();
        let i = &p.insns;
        assert_eq!((i[0].src, i[0].imm, i[1].imm), (0, 0, 0));
        // bpf_ksym_exists(bpf_missing_kfunc) loads 0.
        assert_eq!((i[2].src, i[2].imm, i[3].imm), (0, 0, 0));
        assert_eq!(
            (i[4].code, i[4].src, i[4].off, i[4].imm),
            (CALL, 0, 0, POISON_CALL_KFUNC_BASE + 2)
        );
        assert_eq!(poisoned_kfunc_index(&i[4]), Some(2));
        assert_eq!(poisoned_kfunc_index(&Insn::call_helper(6)), None);
    }

    #[test]
    fn absent_strong_extern_is_an_error_naming_it_and_its_kind() {
        let (spec, mut p) = setup(vec![ext(
            "bpf_not_here",
            ExternKind::Kfunc { proto: 3 },
            false,
        )]);
        let e = resolve_externs(&mut p, &spec, &|_| ExternValue::Absent).unwrap_err();
        assert!(
            matches!(e, Error::UnresolvedExtern { kind: "kfunc", .. }),
            "{e}"
        );
        let msg = e.to_string();
        assert!(
            msg.contains("bpf_not_here") && msg.contains("kfunc"),
            "{msg}"
        );
        let (spec, mut p) = setup(vec![ext(
            "runqueues",
            ExternKind::Ksym { type_id: 5 },
            false,
        )]);
        let e = resolve_externs(&mut p, &spec, &|_| ExternValue::Absent).unwrap_err();
        assert!(e.to_string().contains("ksym \"runqueues\""), "{e}");
    }

    #[test]
    fn mismatched_value_is_an_error_not_a_wrong_patch() {
        let (spec, mut p) = setup(vec![ext("vfs_read", ExternKind::KsymTypeless, false)]);
        let e = resolve_externs(&mut p, &spec, &|_| ExternValue::Kconfig {
            map_fd: 1,
            offset: 0,
        })
        .unwrap_err();
        assert!(e.to_string().contains("typeless ksym"), "{e}");
    }
}

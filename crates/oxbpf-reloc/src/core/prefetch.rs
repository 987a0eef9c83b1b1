//! The main-BTF candidates of all of an object's CO-RE local types, found in one pass.
//!
//! Looking candidates up one local type at a time builds the target's whole name index
//! (vmlinux: ~70k names hashed and sorted, ~2.5 ms). An object relocates a handful of
//! local types; [`CandidateQueries::run`] finds all their candidates in one pass over the
//! target ([`Btf::find_by_essential_names`], ~0.5 ms for vmlinux). The queries are plain
//! owned data, so a loader can compute them from the object first and run them on another
//! thread while it creates maps.

use std::collections::HashMap;

use oxbpf_btf::{Btf, BtfExt, Kind, TypeId};

use super::{ReloKind, Targets};

/// The candidate lookups an object's CO-RE records need: one per local type they relocate
/// (records of kind `TYPE_ID_LOCAL` need none), with its essential name and the target
/// kinds it may match (its own; enum and enum64 match each other).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CandidateQueries {
    /// (local type id, local type name, acceptable target kinds), by local type id.
    queries: Vec<(TypeId, String, Vec<Kind>)>,
}

impl CandidateQueries {
    /// The queries of the CO-RE records in `ext` (of local BTF `local`). Records or types
    /// that cannot be read are left out: relocating them reports the error.
    pub fn of(local: &Btf<'_>, ext: &BtfExt<'_>) -> CandidateQueries {
        let mut ids: Vec<TypeId> = Vec::new();
        for sec in ext.core_relos().filter_map(|s| s.ok()) {
            ids.extend(
                sec.records()
                    .filter_map(|r| r.ok())
                    .filter(|r| {
                        ReloKind::from_raw(r.kind).is_some_and(|k| k != ReloKind::TypeIdLocal)
                    })
                    .map(|r| r.type_id),
            );
        }
        ids.sort_unstable();
        ids.dedup();
        let queries = ids
            .into_iter()
            .filter_map(|id| {
                let t = local.type_by_id(id).ok()?;
                // Anonymous local types have no candidates (relocating them is an error).
                if t.name().is_empty() {
                    return None;
                }
                // The kinds `compat::kinds_compat` accepts for this local kind.
                let kinds = match t.kind() {
                    Kind::Enum | Kind::Enum64 => vec![Kind::Enum, Kind::Enum64],
                    k => vec![k],
                };
                Some((id, t.name().to_string(), kinds))
            })
            .collect();
        CandidateQueries { queries }
    }

    /// The queries of an object's `.BTF` and `.BTF.ext` (none if it has either not, or
    /// they do not parse).
    pub fn of_object(spec: &oxbpf_obj::ObjectSpec) -> CandidateQueries {
        let (Some(btf), Some(ext)) = (&spec.btf, &spec.btf_ext) else {
            return CandidateQueries::default();
        };
        let Ok(btf) = Btf::parse_with_offsets(btf) else {
            return CandidateQueries::default();
        };
        match BtfExt::parse(ext, &btf) {
            Ok(ext) => CandidateQueries::of(&btf, &ext),
            Err(_) => CandidateQueries::default(),
        }
    }

    /// Number of local types to look up.
    pub fn len(&self) -> usize {
        self.queries.len()
    }

    /// True if there is nothing to look up.
    pub fn is_empty(&self) -> bool {
        self.queries.is_empty()
    }

    /// Finds the candidates in `main` (the main BTF of the [`Targets`] they will be given
    /// to) in one pass.
    pub fn run(&self, main: &Btf<'_>) -> MainCandidates {
        self.answered(main.find_by_essential_names(&self.as_queries()))
    }

    /// The queries as [`Btf::find_by_essential_names`] and
    /// [`Btf::parse_finding_essential_names`] take them.
    pub fn as_queries(&self) -> Vec<(&str, &[Kind])> {
        self.queries
            .iter()
            .map(|(_, n, ks)| (n.as_str(), ks.as_slice()))
            .collect()
    }

    /// The candidates from the answers to [`CandidateQueries::as_queries`] (one list per
    /// query, in order).
    pub fn answered(&self, lists: Vec<Vec<TypeId>>) -> MainCandidates {
        MainCandidates {
            by_local: self.queries.iter().map(|(id, ..)| *id).zip(lists).collect(),
        }
    }
}

/// Candidate type ids in a main BTF per local type id, from [`CandidateQueries::run`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MainCandidates {
    by_local: HashMap<TypeId, Vec<TypeId>>,
}

impl MainCandidates {
    /// The candidates of local type `local_id`, ascending; `None` if it was not looked up.
    pub fn get(&self, local_id: TypeId) -> Option<&[TypeId]> {
        self.by_local.get(&local_id).map(Vec::as_slice)
    }
}

impl<'t, 'a> Targets<'t, 'a> {
    /// Uses `found` (for the same local BTF, run on this set's main BTF) as the main-BTF
    /// candidates of the local types it covers; others are looked up as usual.
    pub fn with_main_candidates(self, found: MainCandidates) -> Self {
        *self.main_cands.borrow_mut() = Some(found);
        self
    }

    /// The main BTF (candidates for [`Targets::with_main_candidates`] must come from it).
    pub fn main(&self) -> &'t Btf<'a> {
        self.main
    }

    /// Finds the main-BTF candidates of every local type `ext`'s CO-RE records of `local`
    /// relocate, in one pass ([`CandidateQueries`]), unless this set has them already.
    /// [`super::apply_core`] calls it.
    pub fn prefetch(&self, local: &Btf<'_>, ext: &BtfExt<'_>) {
        if self.main_cands.borrow().is_some() {
            return;
        }
        let found = CandidateQueries::of(local, ext).run(self.main);
        *self.main_cands.borrow_mut() = Some(found);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core_relo::calc_relo;
    use oxbpf_btf::{BtfBuilder, BtfExtBuilder, CoreRelo, Endian, INT_SIGNED};

    /// Local: struct task_struct___mine {int pid; int tgid;}, enum state {A}, struct
    /// anon-less cred {int uid;}; records on each (one TYPE_ID_LOCAL).
    fn local() -> (Vec<u8>, Vec<u8>) {
        let mut l = BtfBuilder::new();
        let int = l.add_int("int", 4, INT_SIGNED);
        let task = l.add_struct(
            "task_struct___mine",
            8,
            &[("pid", int, 0), ("tgid", int, 32)],
        );
        let state = l.add_enum("state", 4, false, &[("RUNNING", 0)]);
        let cred = l.add_struct("cred", 4, &[("uid", int, 0)]);
        let missing = l.add_struct("not_in_kernel", 4, &[("x", int, 0)]);
        let (a0, a1) = (l.add_str("0:0"), l.add_str("0:1"));
        let sec = l.add_str("kprobe/x");
        let btf = l.build();
        let relo = |insn: u32, type_id, access_str_off, kind| CoreRelo {
            insn_off: insn * 8,
            type_id,
            access_str_off,
            kind,
        };
        let mut ext = BtfExtBuilder::new();
        ext.add_core_relos(
            sec,
            &[
                relo(0, task, a0, 0),
                relo(1, task, a1, 0),
                relo(2, state, a0, 11),
                relo(3, cred, a0, 0),
                relo(4, missing, a0, 2),
                relo(5, task, a0, 6),
            ],
        );
        (btf, ext.build(Endian::Little))
    }

    /// Target: two task_struct flavours (one a union), enum64 state, cred.
    fn target() -> Vec<u8> {
        let mut k = BtfBuilder::new();
        let int = k.add_int("int", 4, INT_SIGNED);
        k.add_struct(
            "task_struct",
            16,
            &[("state", int, 0), ("pid", int, 64), ("tgid", int, 96)],
        );
        k.add_union("task_struct", 4, &[("pid", int, 0)]);
        k.add_struct(
            "task_struct___old",
            16,
            &[("pid", int, 64), ("tgid", int, 96)],
        );
        k.add_enum64("state", 8, false, &[("RUNNING", 5)]);
        k.add_struct("cred", 8, &[("gid", int, 0), ("uid", int, 32)]);
        k.build()
    }

    #[test]
    fn queries_cover_each_relocated_local_type_once() {
        let (l, e) = local();
        let btf = Btf::parse(&l).unwrap();
        let ext = BtfExt::parse(&e, &btf).unwrap();
        let q = CandidateQueries::of(&btf, &ext);
        let names: Vec<&str> = q.queries.iter().map(|(_, n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            ["task_struct___mine", "state", "cred", "not_in_kernel"]
        );
        assert_eq!(q.queries[1].2, [Kind::Enum, Kind::Enum64]);
        let k = target();
        let kernel = Btf::parse(&k).unwrap();
        let found = q.run(&kernel);
        assert_eq!(
            found.get(2),
            Some(&[2, 4][..]),
            "the structs, not the union"
        );
        assert_eq!(found.get(3), Some(&[5][..]));
        assert_eq!(found.get(5), Some(&[][..]));
    }

    #[test]
    fn prefetched_candidates_give_the_same_relocations_as_single_lookups() {
        let (l, e) = local();
        let btf = Btf::parse(&l).unwrap();
        let ext = BtfExt::parse(&e, &btf).unwrap();
        let k = target();
        let (k1, k2) = (Btf::parse(&k).unwrap(), Btf::parse(&k).unwrap());
        let single = Targets::new("vmlinux", &k1);
        let pre = Targets::new("vmlinux", &k2);
        pre.prefetch(&btf, &ext);
        assert!(pre.main_cands.borrow().is_some());
        let mut n = 0;
        for sec in ext.core_relos() {
            for r in sec.unwrap().records() {
                let r = r.unwrap();
                let a = calc_relo(&btf, &r, &single).map_err(|e| e.to_string());
                let b = calc_relo(&btf, &r, &pre).map_err(|e| e.to_string());
                assert_eq!(a, b, "record {r:?}");
                n += 1;
            }
        }
        assert_eq!(n, 6);
        // The single-lookup set had to build the index; the prefetching one did not.
        assert!(format!("{k1:?}").contains("indexed: true"));
        assert!(format!("{k2:?}").contains("indexed: false"));
    }
}

//! Merging the inputs' BTF into one: every type of every object (DATASECs aside, which
//! the linker rebuilds per output section) becomes a node, externs and other duplicate
//! declarations of one global symbol are aliased to one node, and structurally identical
//! types are deduplicated by partition refinement (Moore's algorithm: start from classes
//! of equal local content, split until the classes of referenced types agree), which
//! also merges equal self-referential types. VARs are never merged (each is one
//! variable). Output ids follow the first appearance of each class.

use std::collections::{HashMap, HashSet};

use oxbpf_btf::{BtfBuilder, Kind, TypeId, TypeRecord};

use crate::btf_types::{ObjBtf, Word, base_is_type, word_role};

/// Maps an (object, type id) to the (object, type id) standing for it.
pub(crate) type Aliases = HashMap<(usize, TypeId), (usize, TypeId)>;

/// The merged types.
#[derive(Debug)]
pub(crate) struct Merged {
    pub(crate) builder: BtfBuilder,
    /// Per object (indexed like the inputs), local type id → output id (0 for void, for
    /// DATASECs and for objects without BTF).
    pub(crate) map: Vec<Vec<TypeId>>,
}

struct Node {
    obj: usize,
    id: TypeId,
    key: Vec<u32>,
    refs: Vec<Option<usize>>,
}

/// Merges the types of `objs` (None: an object without BTF); types in `dropped` are left
/// out (references to them become void).
pub(crate) fn merge(
    objs: &[Option<&ObjBtf>],
    aliases: &Aliases,
    dropped: &HashSet<(usize, TypeId)>,
) -> Merged {
    let mut node_of: HashMap<(usize, TypeId), usize> = HashMap::new();
    let mut nodes: Vec<Node> = Vec::new();
    for (oi, o) in objs.iter().enumerate() {
        let Some(o) = o else { continue };
        for id in 1..o.count {
            if o.kind(id) == Kind::Datasec || dropped.contains(&(oi, id)) {
                continue;
            }
            if aliases.get(&(oi, id)).is_some_and(|&t| t != (oi, id)) {
                continue;
            }
            node_of.insert((oi, id), nodes.len());
            nodes.push(Node {
                obj: oi,
                id,
                key: Vec::new(),
                refs: Vec::new(),
            });
        }
    }
    let resolve = |oi: usize, id: TypeId| -> Option<usize> {
        if id == 0 {
            return None;
        }
        let t = aliases.get(&(oi, id)).copied().unwrap_or((oi, id));
        node_of.get(&t).copied()
    };
    let mut strings: HashMap<String, u32> = HashMap::new();
    let mut intern = |s: &str| -> u32 {
        let n = strings.len() as u32;
        *strings.entry(s.to_string()).or_insert(n)
    };
    for (ni, n) in nodes.iter_mut().enumerate() {
        let Some(o) = objs[n.obj] else { continue };
        let Some(rec) = o.rec(n.id) else { continue };
        let kind = rec.kind();
        let mut key = vec![
            u32::from(kind.to_raw()),
            u32::from(rec.kind_flag()),
            u32::from(rec.vlen()),
            intern(o.str(rec.name_off())),
        ];
        if base_is_type(kind) {
            n.refs.push(resolve(n.obj, rec.size_or_type()));
        } else {
            key.push(rec.size_or_type());
        }
        for (i, &w) in rec.trailing().iter().enumerate() {
            match word_role(kind, i) {
                Word::Type => n.refs.push(resolve(n.obj, w)),
                Word::Str => key.push(intern(o.str(w))),
                Word::Plain => key.push(w),
            }
        }
        if kind == Kind::Var {
            // Each VAR is its own variable: never merged.
            key.push(u32::MAX);
            key.push(ni as u32);
        }
        n.key = key;
    }

    // Partition refinement.
    let mut class: Vec<u32> = {
        let mut ids: HashMap<&[u32], u32> = HashMap::new();
        nodes
            .iter()
            .map(|n| {
                let k = ids.len() as u32;
                *ids.entry(&n.key).or_insert(k)
            })
            .collect()
    };
    let mut count = class.iter().copied().max().map_or(0, |m| m + 1);
    loop {
        let mut ids: HashMap<Vec<u32>, u32> = HashMap::new();
        let next: Vec<u32> = nodes
            .iter()
            .enumerate()
            .map(|(i, n)| {
                let mut sig = Vec::with_capacity(n.refs.len() + 1);
                sig.push(class[i]);
                sig.extend(n.refs.iter().map(|r| r.map_or(u32::MAX, |r| class[r])));
                let k = ids.len() as u32;
                *ids.entry(sig).or_insert(k)
            })
            .collect();
        let new_count = ids.len() as u32;
        class = next;
        if new_count == count {
            break;
        }
        count = new_count;
    }

    // Output ids: one per class, in order of first appearance.
    let mut class_out: HashMap<u32, TypeId> = HashMap::new();
    let mut reps = Vec::new();
    for (i, &c) in class.iter().enumerate() {
        if let std::collections::hash_map::Entry::Vacant(e) = class_out.entry(c) {
            e.insert(reps.len() as TypeId + 1);
            reps.push(i);
        }
    }
    let out_of = |n: Option<usize>| n.map_or(0, |n| class_out[&class[n]]);
    let mut builder = BtfBuilder::new();
    for &ni in &reps {
        let n = &nodes[ni];
        let Some(o) = objs[n.obj] else { continue };
        let Some(rec) = o.rec(n.id) else { continue };
        let mut refs = n.refs.iter();
        let mut next_ref = || out_of(refs.next().copied().flatten());
        let size_or_type = if base_is_type(rec.kind()) {
            next_ref()
        } else {
            rec.size_or_type()
        };
        let trailing: Vec<u32> = rec
            .trailing()
            .iter()
            .enumerate()
            .map(|(i, &w)| match word_role(rec.kind(), i) {
                Word::Type => next_ref(),
                Word::Str => builder.add_str(o.str(w)),
                Word::Plain => w,
            })
            .collect();
        let name_off = builder.add_str(o.str(rec.name_off()));
        let out = TypeRecord::new(
            rec.kind(),
            name_off,
            rec.kind_flag(),
            rec.vlen(),
            size_or_type,
            trailing,
        );
        // String offsets come from this builder's add_str: push cannot fail.
        let _ = builder.push(out);
    }
    let map = objs
        .iter()
        .enumerate()
        .map(|(oi, o)| match o {
            None => Vec::new(),
            Some(o) => (0..o.count)
                .map(|id| {
                    if o.kind(id) == Kind::Datasec {
                        0
                    } else {
                        out_of(resolve(oi, id))
                    }
                })
                .collect(),
        })
        .collect();
    Merged { builder, map }
}

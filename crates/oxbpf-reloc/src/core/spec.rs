//! Access specifications: the parsed form of a relocation's access string ("0:1:2")
//! against the local BTF, and the matching of one against a candidate target type.

use oxbpf_btf::{Btf, Type, TypeId};

use super::compat::{fields_are_compat, names_match, types_are_compat, types_match};
use super::{CoreFail, ReloKind};

/// Longest access string accepted (libbpf's BPF_CORE_SPEC_MAX_LEN).
pub(crate) const MAX_SPEC_LEN: usize = 64;

/// One step of a spec: a named member, an enumerator, or an array index (`name: None`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Accessor {
    /// For a member: the composite holding it; for an index: the element type; for an
    /// enumerator: the enum.
    pub type_id: TypeId,
    /// Member / element / enumerator index.
    pub idx: u32,
    /// Member or enumerator name; `None` for an array index.
    pub name: Option<String>,
}

/// A resolved access path in one BTF.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Spec {
    /// The relocation's root type.
    pub root_type_id: TypeId,
    /// Named member and index accessors (anonymous members are only in `raw`).
    pub acc: Vec<Accessor>,
    /// Every index of the path, including anonymous members.
    pub raw: Vec<u32>,
    /// Bit offset of the accessed field from the root.
    pub bit_offset: u64,
}

fn fail(msg: impl Into<String>) -> CoreFail {
    CoreFail::Invalid(msg.into())
}

/// Is the array reached through `prev` (the last accessor, a member) a flexible array:
/// zero elements and the composite's last member?
fn is_flex_arr(btf: &Btf<'_>, prev: Option<&Accessor>, nelems: u32) -> Result<bool, CoreFail> {
    let Some(prev) = prev else { return Ok(false) };
    if prev.name.is_none() || nelems > 0 {
        return Ok(false);
    }
    Ok(match btf.type_by_id(prev.type_id)? {
        Type::Struct(c) | Type::Union(c) => prev.idx + 1 == u32::from(c.vlen()),
        _ => false,
    })
}

fn size_bits(btf: &Btf<'_>, id: TypeId) -> Result<u64, CoreFail> {
    Ok(u64::from(btf.resolve_size(id)?) * 8)
}

/// Parses `access` ("0:1:2") for relocation `kind` on local root `type_id`
/// (`bpf_core_parse_spec`).
pub(crate) fn parse_spec(
    btf: &Btf<'_>,
    type_id: TypeId,
    access: &str,
    kind: ReloKind,
) -> Result<Spec, CoreFail> {
    let mut raw = Vec::new();
    for part in access.split(':') {
        let v: u32 = part.parse().map_err(|_| {
            fail(format!(
                "access string {access:?}: {part:?} is not an index"
            ))
        })?;
        raw.push(v);
        if raw.len() > MAX_SPEC_LEN {
            return Err(fail(format!(
                "access string {access:?} is longer than {MAX_SPEC_LEN}"
            )));
        }
    }
    let mut spec = Spec {
        root_type_id: type_id,
        acc: Vec::new(),
        raw: raw.clone(),
        bit_offset: 0,
    };
    if kind.is_type_based() {
        if access != "0" {
            return Err(fail(format!(
                "type relocation with access string {access:?} (want \"0\")"
            )));
        }
        return Ok(spec);
    }
    let mut id = btf.skip_mods_and_typedefs(type_id)?;
    let t = btf.type_by_id(id)?;
    let first = raw[0];
    if kind.is_enumval_based() {
        let (Type::Enum(e) | Type::Enum64(e)) = t else {
            return Err(fail(format!(
                "enum value relocation on type {type_id}, a {:?}",
                t.kind()
            )));
        };
        if raw.len() > 1 {
            return Err(fail(format!(
                "enum value relocation with access string {access:?} (want one index)"
            )));
        }
        let name = e
            .values()
            .nth(first as usize)
            .ok_or_else(|| {
                fail(format!(
                    "enumerator {first} of type {type_id} (it has {})",
                    e.vlen()
                ))
            })??
            .0;
        spec.acc.push(Accessor {
            type_id: id,
            idx: first,
            name: Some(name.to_string()),
        });
        return Ok(spec);
    }
    spec.acc.push(Accessor {
        type_id: id,
        idx: first,
        name: None,
    });
    spec.bit_offset = u64::from(first) * size_bits(btf, id)?;
    for &idx in &raw[1..] {
        id = btf.skip_mods_and_typedefs(id)?;
        match btf.type_by_id(id)? {
            Type::Struct(c) | Type::Union(c) => {
                let m = c.members().nth(idx as usize).ok_or_else(|| {
                    fail(format!(
                        "member {idx} of type {id} (it has {} members)",
                        c.vlen()
                    ))
                })??;
                spec.bit_offset += u64::from(m.bit_offset);
                if !m.name.is_empty() {
                    spec.acc.push(Accessor {
                        type_id: id,
                        idx,
                        name: Some(m.name.to_string()),
                    });
                }
                id = m.ty;
            }
            Type::Array(a) => {
                let elem = btf.skip_mods_and_typedefs(a.elem)?;
                let flex = is_flex_arr(btf, spec.acc.last(), a.nelems)?;
                if !flex && idx >= a.nelems {
                    return Err(fail(format!(
                        "index {idx} past array type {id} of {} elements",
                        a.nelems
                    )));
                }
                spec.acc.push(Accessor {
                    type_id: elem,
                    idx,
                    name: None,
                });
                spec.bit_offset += u64::from(idx) * size_bits(btf, elem)?;
                id = elem;
            }
            t => {
                return Err(fail(format!(
                    "access string {access:?} reaches type {id}, a {:?}, that has no members or elements",
                    t.kind()
                )));
            }
        }
    }
    Ok(spec)
}

/// Finds local member `acc` in target composite `targ_id`, descending into anonymous
/// members (`bpf_core_match_member`). On a match pushes onto `ts` and returns the
/// member's target type.
fn match_member(
    local: &Btf<'_>,
    acc: &Accessor,
    targ: &Btf<'_>,
    targ_id: TypeId,
    ts: &mut Spec,
    depth: usize,
) -> Result<Result<TypeId, String>, CoreFail> {
    let lname = acc.name.as_deref().unwrap_or("");
    let lmember = match local.type_by_id(acc.type_id)? {
        Type::Struct(c) | Type::Union(c) => c
            .members()
            .nth(acc.idx as usize)
            .ok_or_else(|| fail(format!("member {} of type {}", acc.idx, acc.type_id)))??,
        _ => return Err(fail(format!("type {} is not a composite", acc.type_id))),
    };
    let targ_id = targ.skip_mods_and_typedefs(targ_id)?;
    let tc = match targ.type_by_id(targ_id)? {
        Type::Struct(c) | Type::Union(c) => c,
        t => {
            return Ok(Err(format!(
                "target type {targ_id} is a {:?}, not a struct or union with member {lname}",
                t.kind()
            )));
        }
    };
    for (i, m) in tc.members().enumerate() {
        let m = m?;
        if ts.raw.len() >= MAX_SPEC_LEN || depth > MAX_SPEC_LEN {
            return Err(fail("too deep struct/union nesting"));
        }
        let saved_off = ts.bit_offset;
        ts.bit_offset += u64::from(m.bit_offset);
        ts.raw.push(i as u32);
        if m.name.is_empty() {
            let inner = targ.skip_mods_and_typedefs(m.ty)?;
            if matches!(
                targ.kind(inner)?,
                oxbpf_btf::Kind::Struct | oxbpf_btf::Kind::Union
            ) {
                if let Ok(found) = match_member(local, acc, targ, inner, ts, depth + 1)? {
                    return Ok(Ok(found));
                }
            }
        } else if m.name == lname {
            if !fields_are_compat(local, lmember.ty, targ, m.ty)? {
                return Ok(Err(format!(
                    "member {lname} of target type {targ_id} has an incompatible type"
                )));
            }
            ts.acc.push(Accessor {
                type_id: targ_id,
                idx: i as u32,
                name: Some(m.name.to_string()),
            });
            return Ok(Ok(m.ty));
        }
        ts.raw.pop();
        ts.bit_offset = saved_off;
    }
    Ok(Err(format!("target type {targ_id} has no member {lname}")))
}

/// Matches local spec `ls` against candidate `targ_id` (`bpf_core_spec_match`):
/// `Ok(Ok(spec))` on a match, `Ok(Err(reason))` when the candidate does not fit.
pub(crate) fn match_spec(
    local: &Btf<'_>,
    ls: &Spec,
    kind: ReloKind,
    targ: &Btf<'_>,
    targ_id: TypeId,
) -> Result<Result<Spec, String>, CoreFail> {
    let mut ts = Spec {
        root_type_id: targ_id,
        acc: Vec::new(),
        raw: Vec::new(),
        bit_offset: 0,
    };
    if kind.is_type_based() {
        let ok = if kind == ReloKind::TypeMatches {
            types_match(local, ls.root_type_id, targ, targ_id)?
        } else {
            types_are_compat(local, ls.root_type_id, targ, targ_id)?
        };
        return Ok(if ok {
            Ok(ts)
        } else if kind == ReloKind::TypeMatches {
            Err("types do not match".into())
        } else {
            Err("types are not compatible".into())
        });
    }
    if kind.is_enumval_based() {
        let Some(lname) = ls.acc.first().and_then(|a| a.name.as_deref()) else {
            return Err(fail("enum value spec without a name"));
        };
        let tid = targ.skip_mods_and_typedefs(targ_id)?;
        let (Type::Enum(e) | Type::Enum64(e)) = targ.type_by_id(tid)? else {
            return Ok(Err(format!("target type {tid} is not an enum")));
        };
        for (i, v) in e.values().enumerate() {
            let (n, _) = v?;
            if !n.is_empty() && names_match(lname, n) {
                ts.acc.push(Accessor {
                    type_id: tid,
                    idx: i as u32,
                    name: Some(n.to_string()),
                });
                ts.raw.push(i as u32);
                return Ok(Ok(ts));
            }
        }
        return Ok(Err(format!("target enum {tid} has no enumerator {lname}")));
    }
    let mut tid = targ_id;
    for (i, la) in ls.acc.iter().enumerate() {
        if i > 0 {
            tid = targ.skip_mods_and_typedefs(tid)?;
        }
        if la.name.is_some() {
            match match_member(local, la, targ, tid, &mut ts, 0)? {
                Ok(next) => tid = next,
                Err(why) => return Ok(Err(why)),
            }
        } else {
            if i > 0 {
                let Type::Array(a) = targ.type_by_id(tid)? else {
                    return Ok(Err(format!("target type {tid} is not an array")));
                };
                let flex = is_flex_arr(targ, ts.acc.last(), a.nelems)?;
                if !flex && la.idx >= a.nelems {
                    return Ok(Err(format!(
                        "index {} past target array {tid} of {} elements",
                        la.idx, a.nelems
                    )));
                }
                tid = targ.skip_mods_and_typedefs(a.elem)?;
            }
            if ts.raw.len() >= MAX_SPEC_LEN {
                return Err(fail("too deep struct/union/array nesting"));
            }
            ts.acc.push(Accessor {
                type_id: tid,
                idx: la.idx,
                name: None,
            });
            ts.raw.push(la.idx);
            ts.bit_offset += u64::from(la.idx) * size_bits(targ, tid)?;
        }
    }
    Ok(Ok(ts))
}

/// C-like text of a spec: `task_struct::pid`, `ctx::args[1]`, `enum e::V`, `struct s`.
pub(crate) fn format_spec(btf: &Btf<'_>, spec: &Spec, kind: ReloKind) -> String {
    let root = btf.type_by_id(spec.root_type_id).ok();
    let rname = root.map(|t| t.name()).unwrap_or("");
    let rname = if rname.is_empty() { "(anon)" } else { rname };
    if kind.is_type_based() {
        let kw = match root.map(|t| t.kind()) {
            Some(oxbpf_btf::Kind::Struct) => "struct ",
            Some(oxbpf_btf::Kind::Union) => "union ",
            Some(oxbpf_btf::Kind::Enum | oxbpf_btf::Kind::Enum64) => "enum ",
            _ => "",
        };
        return format!("{kw}{rname}");
    }
    if kind.is_enumval_based() {
        let v = spec
            .acc
            .first()
            .and_then(|a| a.name.as_deref())
            .unwrap_or("?");
        return format!("enum {rname}::{v}");
    }
    let mut s = rname.to_string();
    for (i, a) in spec.acc.iter().enumerate() {
        match &a.name {
            Some(n) => {
                s.push_str(if i == 1 { "::" } else { "." });
                s.push_str(n);
            }
            None if i == 0 && a.idx == 0 => {}
            None => s.push_str(&format!("[{}]", a.idx)),
        }
    }
    s
}

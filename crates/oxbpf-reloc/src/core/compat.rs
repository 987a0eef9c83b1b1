//! Type compatibility as CO-RE defines it: `types_are_compat` (TYPE_* relocations and
//! candidate roots), `fields_are_compat` (a matched member's type) and `types_match`
//! (TYPE_MATCHES), following the rules of the kernel's `relo_core.c`.

use oxbpf_btf::{Btf, Kind, Result, Type, TypeId, essential_name};

/// Maximum recursion depth of the compatibility checks (libbpf uses 32).
const MAX_DEPTH: u32 = 32;

/// Same kind, or both enums (ENUM and ENUM64 are interchangeable).
pub(crate) fn kinds_compat(a: Kind, b: Kind) -> bool {
    a == b || (is_enum(a) && is_enum(b))
}

fn is_enum(k: Kind) -> bool {
    matches!(k, Kind::Enum | Kind::Enum64)
}

/// Essential names equal; an anonymous target matches only an anonymous local.
pub(crate) fn names_match(local: &str, targ: &str) -> bool {
    if targ.is_empty() {
        return local.is_empty();
    }
    essential_name(local) == essential_name(targ)
}

fn int_offset_zero(t: &Type<'_>) -> bool {
    match t {
        Type::Int(i) => i.bit_offset == 0,
        _ => true,
    }
}

/// One step of a walk down both sides: the types `lid` (in `local`) and `tid` (in `targ`)
/// stand for once modifiers and typedefs are skipped, or `None` when the `depth` steps
/// left are used up (the walk gives up: not compatible).
fn next_pair<'l, 't>(
    local: &Btf<'l>,
    lid: TypeId,
    targ: &Btf<'t>,
    tid: TypeId,
    depth: &mut u32,
) -> Result<Option<(Type<'l>, Type<'t>)>> {
    if *depth == 0 {
        return Ok(None);
    }
    *depth -= 1;
    let lid = local.skip_mods_and_typedefs(lid)?;
    let tid = targ.skip_mods_and_typedefs(tid)?;
    Ok(Some((local.type_by_id(lid)?, targ.type_by_id(tid)?)))
}

/// `bpf_core_types_are_compat`: kinds agree after modifiers/typedefs, ints have no bit
/// offset, pointers/arrays/func protos compare what they refer to.
pub(crate) fn types_are_compat(
    local: &Btf<'_>,
    local_id: TypeId,
    targ: &Btf<'_>,
    targ_id: TypeId,
) -> Result<bool> {
    types_are_compat_depth(local, local_id, targ, targ_id, MAX_DEPTH)
}

fn types_are_compat_depth(
    local: &Btf<'_>,
    mut lid: TypeId,
    targ: &Btf<'_>,
    mut tid: TypeId,
    mut depth: u32,
) -> Result<bool> {
    loop {
        let Some((lt, tt)) = next_pair(local, lid, targ, tid, &mut depth)? else {
            return Ok(false);
        };
        if !kinds_compat(lt.kind(), tt.kind()) {
            return Ok(false);
        }
        match (&lt, &tt) {
            (Type::Void, _)
            | (Type::Struct(_), _)
            | (Type::Union(_), _)
            | (Type::Enum(_), _)
            | (Type::Enum64(_), _)
            | (Type::Fwd(_), _) => return Ok(true),
            (Type::Int(_), _) => return Ok(int_offset_zero(&lt) && int_offset_zero(&tt)),
            (Type::Ptr(l), Type::Ptr(t)) => {
                lid = l.ty;
                tid = t.ty;
            }
            (Type::Array(l), Type::Array(t)) => {
                lid = l.elem;
                tid = t.elem;
            }
            (Type::FuncProto(l), Type::FuncProto(t)) => {
                if l.vlen() != t.vlen() {
                    return Ok(false);
                }
                for (lp, tp) in l.params().zip(t.params()) {
                    let (lp, tp) = (lp?, tp?);
                    if !types_are_compat_depth(local, lp.1, targ, tp.1, depth)? {
                        return Ok(false);
                    }
                }
                lid = l.ret;
                tid = t.ret;
            }
            _ => return Ok(false),
        }
    }
}

/// `bpf_core_fields_are_compat`: composites always, pointers and floats always, enums
/// and fwds by essential name, ints without bit offset, arrays by element.
pub(crate) fn fields_are_compat(
    local: &Btf<'_>,
    mut lid: TypeId,
    targ: &Btf<'_>,
    mut tid: TypeId,
) -> Result<bool> {
    let mut depth = MAX_DEPTH;
    loop {
        let Some((lt, tt)) = next_pair(local, lid, targ, tid, &mut depth)? else {
            return Ok(false);
        };
        let composite = |k: Kind| matches!(k, Kind::Struct | Kind::Union);
        if composite(lt.kind()) && composite(tt.kind()) {
            return Ok(true);
        }
        if !kinds_compat(lt.kind(), tt.kind()) {
            return Ok(false);
        }
        match (&lt, &tt) {
            (Type::Ptr(_), _) | (Type::Float(_), _) => return Ok(true),
            (Type::Fwd(_), _) | (Type::Enum(_), _) | (Type::Enum64(_), _) => {
                // One of them anonymous, or both with the same essential name.
                let (l, t) = (essential_name(lt.name()), essential_name(tt.name()));
                return Ok(l.is_empty() || t.is_empty() || l == t);
            }
            (Type::Int(_), _) => return Ok(int_offset_zero(&lt) && int_offset_zero(&tt)),
            (Type::Array(l), Type::Array(t)) => {
                lid = l.elem;
                tid = t.elem;
            }
            _ => return Ok(false),
        }
    }
}

/// `bpf_core_types_match` (TYPE_MATCHES): a stricter, structural match — names,
/// sizes and signedness of ints, enumerators by name, members by name with matching
/// types, array lengths; behind a pointer a composite also matches a fwd of its kind.
pub(crate) fn types_match(
    local: &Btf<'_>,
    local_id: TypeId,
    targ: &Btf<'_>,
    targ_id: TypeId,
) -> Result<bool> {
    types_match_depth(local, local_id, targ, targ_id, false, MAX_DEPTH)
}

fn types_match_depth(
    local: &Btf<'_>,
    mut lid: TypeId,
    targ: &Btf<'_>,
    mut tid: TypeId,
    mut behind_ptr: bool,
    mut depth: u32,
) -> Result<bool> {
    loop {
        let Some((lt, tt)) = next_pair(local, lid, targ, tid, &mut depth)? else {
            return Ok(false);
        };
        if !names_match(lt.name(), tt.name()) {
            return Ok(false);
        }
        let (lk, tk) = (lt.kind(), tt.kind());
        match (&lt, &tt) {
            (Type::Void, _) => return Ok(lk == tk),
            (Type::Fwd(lf), _) => {
                return Ok(match &tt {
                    Type::Fwd(tf) => lf.is_union == tf.is_union,
                    Type::Struct(_) if behind_ptr => !lf.is_union,
                    Type::Union(_) if behind_ptr => lf.is_union,
                    _ => false,
                });
            }
            (Type::Enum(le), _) | (Type::Enum64(le), _) => {
                let (Type::Enum(te) | Type::Enum64(te)) = &tt else {
                    return Ok(false);
                };
                if le.size != te.size || le.vlen() > te.vlen() {
                    return Ok(false);
                }
                for lv in le.values() {
                    let (ln, _) = lv?;
                    let mut found = false;
                    for tv in te.values() {
                        if names_match(ln, tv?.0) {
                            found = true;
                            break;
                        }
                    }
                    if !found {
                        return Ok(false);
                    }
                }
                return Ok(true);
            }
            (Type::Struct(lc), _) | (Type::Union(lc), _) => {
                if behind_ptr {
                    return Ok(match &tt {
                        Type::Fwd(tf) => tf.is_union == (lk == Kind::Union),
                        _ => lk == tk,
                    });
                }
                if lk != tk {
                    return Ok(false);
                }
                let (Type::Struct(tc) | Type::Union(tc)) = &tt else {
                    return Ok(false);
                };
                if lc.vlen() > tc.vlen() {
                    return Ok(false);
                }
                for lm in lc.members() {
                    let lm = lm?;
                    let mut found = false;
                    for tm in tc.members() {
                        let tm = tm?;
                        if names_match(lm.name, tm.name)
                            && types_match_depth(local, lm.ty, targ, tm.ty, behind_ptr, depth)?
                        {
                            found = true;
                            break;
                        }
                    }
                    if !found {
                        return Ok(false);
                    }
                }
                return Ok(true);
            }
            (Type::Int(li), Type::Int(ti)) => {
                let signed = |e: u8| e & oxbpf_btf::INT_SIGNED != 0;
                return Ok(li.size == ti.size && signed(li.encoding) == signed(ti.encoding));
            }
            (Type::Ptr(l), Type::Ptr(t)) => {
                behind_ptr = true;
                lid = l.ty;
                tid = t.ty;
            }
            (Type::Array(l), Type::Array(t)) => {
                if l.nelems != t.nelems {
                    return Ok(false);
                }
                lid = l.elem;
                tid = t.elem;
            }
            (Type::FuncProto(l), Type::FuncProto(t)) => {
                if l.vlen() != t.vlen() {
                    return Ok(false);
                }
                for (lp, tp) in l.params().zip(t.params()) {
                    let (lp, tp) = (lp?, tp?);
                    if !types_match_depth(local, lp.1, targ, tp.1, behind_ptr, depth)? {
                        return Ok(false);
                    }
                }
                lid = l.ret;
                tid = t.ret;
            }
            _ => return Ok(false),
        }
    }
}

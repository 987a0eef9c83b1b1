//! One input object's BTF as owned [`TypeRecord`]s (via [`BtfBuilder::from_btf`]), with
//! the helpers the linker needs: which words are type ids and string offsets, modifier
//! skipping, sizes, the non-static VAR/FUNC by name, and the compatibility check of an
//! extern against its definition (the rules of libbpf's linker).

use std::collections::HashMap;

use oxbpf_btf::{Btf, BtfBuilder, Kind, TypeId, TypeRecord};

use crate::error::{Error, Result};

/// Deepest type chain followed (modifiers, pointers, members) before giving up.
const MAX_DEPTH: u32 = 64;
/// Most type pairs one [`types_match`] visits (bounds the work on adversarial BTF).
const MAX_STEPS: u32 = 100_000;

/// `size_or_type` holds a type id for these kinds.
pub(crate) fn base_is_type(kind: Kind) -> bool {
    matches!(
        kind,
        Kind::Ptr
            | Kind::Typedef
            | Kind::Volatile
            | Kind::Const
            | Kind::Restrict
            | Kind::Func
            | Kind::FuncProto
            | Kind::Var
            | Kind::DeclTag
            | Kind::TypeTag
    )
}

/// What a trailing word of a type record holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Word {
    /// A type id.
    Type,
    /// A string offset.
    Str,
    /// Anything else (offsets, sizes, values, linkage).
    Plain,
}

/// What trailing word `i` of a record of `kind` holds.
pub(crate) fn word_role(kind: Kind, i: usize) -> Word {
    match (kind, i) {
        (Kind::Array, 0 | 1) => Word::Type,
        (Kind::Struct | Kind::Union, i) if i % 3 == 1 => Word::Type,
        (Kind::Struct | Kind::Union | Kind::Enum64, i) if i % 3 == 0 => Word::Str,
        (Kind::FuncProto, i) if i % 2 == 1 => Word::Type,
        (Kind::FuncProto | Kind::Enum, i) if i % 2 == 0 => Word::Str,
        (Kind::Datasec, i) if i % 3 == 0 => Word::Type,
        _ => Word::Plain,
    }
}

/// An input's BTF.
#[derive(Debug, Clone)]
pub(crate) struct ObjBtf {
    pub(crate) b: BtfBuilder,
    /// Number of types including void.
    pub(crate) count: u32,
    /// Non-static VAR / FUNC by name: (type id, name of the DATASEC holding it).
    pub(crate) globals: HashMap<String, (TypeId, Option<String>)>,
}

impl ObjBtf {
    /// Parses and checks `.BTF` of object `obj`: every type id in range, every string
    /// offset valid.
    pub(crate) fn parse(obj: &str, bytes: &[u8]) -> Result<ObjBtf> {
        let err = |what: &str, source| Error::Btf {
            object: obj.to_string(),
            what: what.to_string(),
            source,
        };
        let btf = Btf::parse(bytes).map_err(|e| err("parsing .BTF", e))?;
        let b = BtfBuilder::from_btf(&btf).map_err(|e| err("reading .BTF types", e))?;
        let count = btf.len() as u32;
        let mut o = ObjBtf {
            b,
            count,
            globals: HashMap::new(),
        };
        let bad = |type_id: u32, reason: String| Error::BadBtf {
            object: obj.to_string(),
            type_id,
            reason,
        };
        for id in 1..count {
            let Some(rec) = o.b.type_record(id) else {
                return Err(bad(id, "missing record".into()));
            };
            if base_is_type(rec.kind()) && rec.size_or_type() >= count {
                return Err(bad(
                    id,
                    format!(
                        "refers to type [{}], past the last type [{}]",
                        rec.size_or_type(),
                        count - 1
                    ),
                ));
            }
            if o.b.str_at(rec.name_off()).is_none() {
                return Err(bad(
                    id,
                    format!("name offset {:#x} is not a valid string", rec.name_off()),
                ));
            }
            for (i, &w) in rec.trailing().iter().enumerate() {
                match word_role(rec.kind(), i) {
                    Word::Type if w >= count => {
                        return Err(bad(
                            id,
                            format!("refers to type [{w}], past the last type [{}]", count - 1),
                        ));
                    }
                    Word::Str if o.b.str_at(w).is_none() => {
                        return Err(bad(
                            id,
                            format!("string offset {w:#x} is not a valid string"),
                        ));
                    }
                    _ => {}
                }
            }
        }
        // Non-static VARs / FUNCs: free-floating ones first, then DATASEC membership.
        let mut globals = HashMap::new();
        for id in 1..count {
            if o.is_non_static(id) {
                globals.insert(o.name(id).to_string(), (id, None));
            }
        }
        for id in 1..count {
            let Some(rec) = o.b.type_record(id) else {
                continue;
            };
            if rec.kind() != Kind::Datasec {
                continue;
            }
            let sec = o.name(id).to_string();
            for v in rec.trailing().chunks_exact(3) {
                if o.is_non_static(v[0]) {
                    globals.insert(o.name(v[0]).to_string(), (v[0], Some(sec.clone())));
                }
            }
        }
        o.globals = globals;
        Ok(o)
    }

    pub(crate) fn rec(&self, id: TypeId) -> Option<&TypeRecord> {
        self.b.type_record(id)
    }

    pub(crate) fn kind(&self, id: TypeId) -> Kind {
        self.rec(id).map_or(Kind::Void, TypeRecord::kind)
    }

    pub(crate) fn str(&self, off: u32) -> &str {
        self.b.str_at(off).unwrap_or("")
    }

    pub(crate) fn name(&self, id: TypeId) -> &str {
        self.rec(id).map_or("", |r| self.str(r.name_off()))
    }

    /// VAR linkage, or FUNC linkage (vlen), else None.
    pub(crate) fn linkage(&self, id: TypeId) -> Option<u32> {
        let r = self.rec(id)?;
        match r.kind() {
            Kind::Var => r.trailing().first().copied(),
            Kind::Func => Some(u32::from(r.vlen())),
            _ => None,
        }
    }

    /// A VAR or FUNC that is not static.
    pub(crate) fn is_non_static(&self, id: TypeId) -> bool {
        self.linkage(id).is_some_and(|l| l != 0)
    }

    /// Skips typedefs and modifiers (const, volatile, restrict, type tags).
    pub(crate) fn skip_mods(&self, mut id: TypeId) -> TypeId {
        for _ in 0..MAX_DEPTH {
            match self.rec(id) {
                Some(r)
                    if matches!(
                        r.kind(),
                        Kind::Typedef
                            | Kind::Volatile
                            | Kind::Const
                            | Kind::Restrict
                            | Kind::TypeTag
                    ) =>
                {
                    id = r.size_or_type()
                }
                _ => return id,
            }
        }
        id
    }

    /// Byte size of a type, if it has one.
    pub(crate) fn size(&self, id: TypeId) -> Option<u64> {
        let mut id = id;
        let mut mult = 1u64;
        for _ in 0..MAX_DEPTH {
            id = self.skip_mods(id);
            let r = self.rec(id)?;
            match r.kind() {
                Kind::Int
                | Kind::Struct
                | Kind::Union
                | Kind::Enum
                | Kind::Enum64
                | Kind::Float
                | Kind::Datasec => return mult.checked_mul(u64::from(r.size_or_type())),
                Kind::Ptr => return mult.checked_mul(8),
                Kind::Var => id = r.size_or_type(),
                Kind::Array => {
                    mult = mult.checked_mul(u64::from(r.trailing()[2]))?;
                    id = r.trailing()[0];
                }
                _ => return None,
            }
        }
        None
    }
}

fn kind_name(k: Kind) -> String {
    format!("{k:?}").to_lowercase()
}

/// Checks that type `ia` of `a` and `ib` of `b` describe the same thing, as libbpf's
/// linker does for an extern and its definition: names of named kinds, sizes of ints,
/// floats and enums, struct/union members (names, offsets, types) when `exact`, only the
/// shape behind pointers (a FWD matches a struct/union of its name), array element types
/// (not lengths), prototypes (parameter and return types, not parameter names), and
/// static vs non-static linkage of VARs and FUNCs. The error says what differs.
pub(crate) fn types_match(
    a: &ObjBtf,
    ia: TypeId,
    b: &ObjBtf,
    ib: TypeId,
    exact: bool,
) -> std::result::Result<(), String> {
    let steps = std::cell::Cell::new(0);
    match_rec(a, ia, b, ib, exact, 0, &steps)
}

fn match_rec(
    a: &ObjBtf,
    ia: TypeId,
    b: &ObjBtf,
    ib: TypeId,
    exact: bool,
    depth: u32,
    steps: &std::cell::Cell<u32>,
) -> std::result::Result<(), String> {
    if depth > MAX_DEPTH {
        return Err(format!("types nest deeper than {MAX_DEPTH} levels"));
    }
    steps.set(steps.get() + 1);
    if steps.get() > MAX_STEPS {
        return Err(format!(
            "comparing the types takes more than {MAX_STEPS} steps"
        ));
    }
    let (ia, ib) = (a.skip_mods(ia), b.skip_mods(ib));
    let (ka, kb) = (a.kind(ia), b.kind(ib));
    let (na, nb) = (a.name(ia), b.name(ib));
    if !exact && (ka == Kind::Fwd) != (kb == Kind::Fwd) {
        if na != nb {
            return Err(format!("forward declaration {na:?} vs {nb:?}"));
        }
        let (fwd_obj, fid, other) = if ka == Kind::Fwd {
            (a, ia, kb)
        } else {
            (b, ib, ka)
        };
        let is_union = fwd_obj.rec(fid).is_some_and(TypeRecord::kind_flag);
        return match (is_union, other) {
            (true, Kind::Union) | (false, Kind::Struct) => Ok(()),
            _ => Err(format!(
                "{} forward declaration {na:?} vs {}",
                if is_union { "union" } else { "struct" },
                kind_name(other)
            )),
        };
    }
    if ka != kb {
        return Err(format!("kind {} vs {}", kind_name(ka), kind_name(kb)));
    }
    if matches!(
        ka,
        Kind::Struct | Kind::Union | Kind::Enum | Kind::Enum64 | Kind::Fwd | Kind::Func | Kind::Var
    ) && na != nb
    {
        return Err(format!("{} name {na:?} vs {nb:?}", kind_name(ka)));
    }
    let (Some(ra), Some(rb)) = (a.rec(ia), b.rec(ib)) else {
        return Ok(()); // both void
    };
    match ka {
        Kind::Void | Kind::Fwd => Ok(()),
        Kind::Int | Kind::Float | Kind::Enum | Kind::Enum64 => {
            if ra.size_or_type() == rb.size_or_type() {
                Ok(())
            } else {
                Err(format!(
                    "{} {na:?} size {} vs {}",
                    kind_name(ka),
                    ra.size_or_type(),
                    rb.size_or_type()
                ))
            }
        }
        Kind::Ptr => match_rec(
            a,
            ra.size_or_type(),
            b,
            rb.size_or_type(),
            false,
            depth + 1,
            steps,
        ),
        Kind::Array => match_rec(
            a,
            ra.trailing()[0],
            b,
            rb.trailing()[0],
            exact,
            depth + 1,
            steps,
        ),
        Kind::Func | Kind::Var => {
            let (la, lb) = (a.linkage(ia).unwrap_or(0), b.linkage(ib).unwrap_or(0));
            if (la == 0) != (lb == 0) {
                return Err(format!(
                    "{} {na:?}: static vs non-static linkage",
                    kind_name(ka)
                ));
            }
            match_rec(
                a,
                ra.size_or_type(),
                b,
                rb.size_or_type(),
                exact,
                depth + 1,
                steps,
            )
        }
        Kind::Struct | Kind::Union => {
            if !exact {
                return Ok(());
            }
            if ra.vlen() != rb.vlen() {
                return Err(format!(
                    "{} {na:?}: {} members vs {}",
                    kind_name(ka),
                    ra.vlen(),
                    rb.vlen()
                ));
            }
            for (i, (ma, mb)) in ra
                .trailing()
                .chunks_exact(3)
                .zip(rb.trailing().chunks_exact(3))
                .enumerate()
            {
                let (sa, sb) = (a.str(ma[0]), b.str(mb[0]));
                if sa != sb {
                    return Err(format!(
                        "{} {na:?}: member {i} named {sa:?} vs {sb:?}",
                        kind_name(ka)
                    ));
                }
                if ma[2] != mb[2] {
                    return Err(format!(
                        "{} {na:?}: member {sa:?} at a different offset",
                        kind_name(ka)
                    ));
                }
                match_rec(a, ma[1], b, mb[1], exact, depth + 1, steps)
                    .map_err(|e| format!("{} {na:?}: member {sa:?}: {e}", kind_name(ka)))?;
            }
            Ok(())
        }
        Kind::FuncProto => {
            if ra.vlen() != rb.vlen() {
                return Err(format!("{} parameters vs {}", ra.vlen(), rb.vlen()));
            }
            for (i, (pa, pb)) in ra
                .trailing()
                .chunks_exact(2)
                .zip(rb.trailing().chunks_exact(2))
                .enumerate()
            {
                match_rec(a, pa[1], b, pb[1], exact, depth + 1, steps)
                    .map_err(|e| format!("parameter {i}: {e}"))?;
            }
            match_rec(
                a,
                ra.size_or_type(),
                b,
                rb.size_or_type(),
                exact,
                depth + 1,
                steps,
            )
            .map_err(|e| format!("return type: {e}"))
        }
        other => Err(format!(
            "unsupported kind {} for a global",
            kind_name(other)
        )),
    }
}

/// A BTF-defined map (`struct { __uint(type, ...); ... } name SEC(".maps")`), as far
/// as the linker compares definitions.
#[derive(Debug, Clone, Default)]
pub(crate) struct MapDef {
    /// `__uint` fields by member name (type, max_entries, map_flags, ...).
    pub(crate) uints: Vec<(String, u64)>,
    pub(crate) key: Option<TypeId>,
    pub(crate) value: Option<TypeId>,
    /// `values` (map-in-map / prog array): the inner definition's type, if a struct.
    pub(crate) inner: Option<TypeId>,
    pub(crate) has_values: bool,
}

impl MapDef {
    fn uint(&self, name: &str) -> Option<u64> {
        self.uints.iter().find(|(n, _)| n == name).map(|&(_, v)| v)
    }
}

/// Reads the map definition of VAR (or struct) `id`.
pub(crate) fn map_def(o: &ObjBtf, id: TypeId) -> std::result::Result<MapDef, String> {
    let mut t = o.skip_mods(id);
    if o.kind(t) == Kind::Var {
        t = o.skip_mods(o.rec(t).map_or(0, TypeRecord::size_or_type));
    }
    let Some(r) = o.rec(t).filter(|r| r.kind() == Kind::Struct) else {
        return Err(format!("type [{t}] is not a struct"));
    };
    let mut def = MapDef::default();
    for m in r.trailing().chunks_exact(3) {
        let name = o.str(m[0]).to_string();
        let mt = o.skip_mods(m[1]);
        let ptr_target = o
            .rec(mt)
            .filter(|r| r.kind() == Kind::Ptr)
            .map(TypeRecord::size_or_type);
        match name.as_str() {
            "key" => def.key = ptr_target,
            "value" => def.value = ptr_target,
            "values" => {
                def.has_values = true;
                // array of pointers to the inner definition
                if let Some(a) = o.rec(mt).filter(|r| r.kind() == Kind::Array) {
                    let elem = o.skip_mods(a.trailing()[0]);
                    if let Some(p) = o.rec(elem).filter(|r| r.kind() == Kind::Ptr) {
                        let inner = o.skip_mods(p.size_or_type());
                        if o.kind(inner) == Kind::Struct {
                            def.inner = Some(inner);
                        }
                    }
                }
            }
            _ => {
                let v = ptr_target
                    .map(|p| o.skip_mods(p))
                    .and_then(|p| o.rec(p).filter(|r| r.kind() == Kind::Array))
                    .map(|a| u64::from(a.trailing()[2]));
                match v {
                    Some(v) => def.uints.push((name, v)),
                    None => return Err(format!("member {name:?} is not __uint(...)")),
                }
            }
        }
    }
    Ok(def)
}

/// Compares two map definitions; `Err((field, first value, second value))`.
pub(crate) fn map_defs_match(
    a: &ObjBtf,
    da: &MapDef,
    b: &ObjBtf,
    db: &MapDef,
) -> std::result::Result<(), (String, String, String)> {
    let show = |v: Option<u64>| v.map_or("unset".to_string(), |v| v.to_string());
    for f in [
        "type",
        "max_entries",
        "map_flags",
        "numa_node",
        "pinning",
        "map_extra",
    ] {
        let (x, y) = (da.uint(f), db.uint(f));
        if x.unwrap_or(0) != y.unwrap_or(0) {
            return Err((f.to_string(), show(x), show(y)));
        }
    }
    for (what, ta, tb, sz_field) in [
        ("key", da.key, db.key, "key_size"),
        ("value", da.value, db.value, "value_size"),
    ] {
        let sa = da.uint(sz_field).or_else(|| ta.and_then(|t| a.size(t)));
        let sb = db.uint(sz_field).or_else(|| tb.and_then(|t| b.size(t)));
        if sa != sb {
            return Err((sz_field.to_string(), show(sa), show(sb)));
        }
        match (ta, tb) {
            (Some(x), Some(y)) => {
                if let Err(e) = types_match(a, x, b, y, true) {
                    return Err((
                        what.to_string(),
                        format!("[{x}] {:?}", a.name(a.skip_mods(x))),
                        format!("[{y}] {:?}: {e}", b.name(b.skip_mods(y))),
                    ));
                }
            }
            (None, None) => {}
            (x, y) => {
                let s = |t: Option<u32>| if t.is_some() { "typed" } else { "untyped" }.to_string();
                return Err((format!("{what} type"), s(x), s(y)));
            }
        }
    }
    if da.has_values != db.has_values {
        return Err((
            "values".into(),
            da.has_values.to_string(),
            db.has_values.to_string(),
        ));
    }
    match (da.inner, db.inner) {
        (Some(x), Some(y)) => {
            let ia = map_def(a, x).map_err(|e| ("values".to_string(), e, String::new()))?;
            let ib = map_def(b, y).map_err(|e| ("values".to_string(), String::new(), e))?;
            map_defs_match(a, &ia, b, &ib).map_err(|(f, x, y)| (format!("inner map {f}"), x, y))
        }
        (None, None) => Ok(()),
        _ => Err((
            "inner map".into(),
            format!("{:?}", da.inner),
            format!("{:?}", db.inner),
        )),
    }
}

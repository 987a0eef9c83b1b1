//! BTF types → `#[repr(C)]` Rust types with layout assertions.
//!
//! Every composite is laid out explicitly: each member at its BTF byte offset, gaps filled
//! with `__pad_N: [u8; K]` fields, bitfield runs stored as `__bf_N: [u8; K]` with
//! getter/setter methods, so the Rust type has no implicit padding (it can be `Pod`).
//! Unions become a byte array (`bytes: [u8; SIZE]`) with an accessor pair per member: a
//! `Pod` type needs every byte initialised, which a Rust `union` does not promise.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;

use oxbpf_btf::{Btf, INT_BOOL, INT_SIGNED, Type, TypeId};

use crate::error::{Error, Result};

/// Rust keywords that cannot be raw identifiers.
const NON_RAW: &[&str] = &["self", "Self", "super", "crate", "_"];
const KEYWORDS: &[&str] = &[
    "as", "async", "await", "break", "const", "continue", "dyn", "else", "enum", "extern", "false",
    "fn", "for", "gen", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub",
    "ref", "return", "static", "struct", "trait", "true", "type", "unsafe", "use", "where",
    "while", "abstract", "become", "box", "do", "final", "macro", "override", "priv", "typeof",
    "unsized", "virtual", "yield", "try",
];

/// A Rust identifier for a C name: invalid characters become `_`, keywords become raw
/// identifiers (`r#type`), names that cannot be raw get a trailing `_`.
pub(crate) fn ident(name: &str) -> String {
    let mut s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.is_empty() || s.starts_with(|c: char| c.is_ascii_digit()) {
        s.insert(0, '_');
    }
    if NON_RAW.contains(&s.as_str()) {
        s.push('_');
    } else if KEYWORDS.contains(&s.as_str()) {
        s.insert_str(0, "r#");
    }
    s
}

/// `.data.custom` → `DataCustom`, `globals` → `Globals`.
pub(crate) fn camel(name: &str) -> String {
    let mut out = String::new();
    for part in name.split(|c: char| !c.is_ascii_alphanumeric()) {
        let mut cs = part.chars();
        if let Some(c) = cs.next() {
            out.push(c.to_ascii_uppercase());
            out.extend(cs);
        }
    }
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, 'X');
    }
    out
}

/// `.data.custom` → `data_custom`.
pub(crate) fn snake(name: &str) -> String {
    let s: String = name
        .trim_start_matches('.')
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    ident(&s)
}

fn round_up(v: u32, a: u32) -> u32 {
    v.div_ceil(a.max(1)) * a.max(1)
}

/// One member of a planned layout.
#[derive(Clone, Debug)]
enum Field {
    /// A typed member at a byte offset.
    Typed {
        name: String,
        cname: String,
        ty: String,
        off: u32,
        size: u32,
        /// Extra doc text.
        doc: String,
    },
    /// Filler bytes.
    Pad { name: String, len: u32 },
    /// A run of bitfields stored in `len` bytes at `off`.
    Bits {
        name: String,
        off: u32,
        len: u32,
        members: Vec<BitMember>,
    },
}

/// One bitfield inside a storage run.
#[derive(Clone, Debug)]
struct BitMember {
    name: String,
    shift: u32,
    bits: u32,
    /// The getter's type and how it is built from the raw bits.
    ty: BitTy,
}

#[derive(Clone, Debug)]
enum BitTy {
    /// An integer type (`u32`, `i8`, ...), signed or not.
    Int { ty: String, signed: bool },
    /// An enum newtype over an integer.
    Enum { name: String, repr: String },
}

/// A composite's layout decision.
#[derive(Clone, Debug)]
pub(crate) struct Plan {
    fields: Vec<Field>,
    packed: bool,
    /// `align(N)` if larger than the fields' natural alignment.
    forced_align: Option<u32>,
    /// The Rust alignment of the emitted type.
    pub(crate) align: u32,
    pub(crate) size: u32,
    /// `align(N)` on this type or on a member type (transitively).
    has_align: bool,
}

/// The type generator: names, plans and emitted source.
pub(crate) struct TypeGen<'b, 'a> {
    pub(crate) btf: &'b Btf<'a>,
    names: HashMap<TypeId, String>,
    used: HashSet<String>,
    plans: HashMap<TypeId, Plan>,
    /// Names of emitted types that carry `align(N)` themselves or inside (a packed struct
    /// cannot contain them).
    aligned: HashSet<String>,
    in_progress: HashSet<TypeId>,
    emitted: HashSet<TypeId>,
    pending: Vec<TypeId>,
    pub(crate) out: String,
    /// The path of the `oxbpf` crate in generated code (`::oxbpf`); `None` = no `Pod` impls.
    pub(crate) krate: Option<String>,
}

impl<'b, 'a> TypeGen<'b, 'a> {
    /// A generator over `btf`; `reserved` names are never given to BTF types.
    pub(crate) fn new(btf: &'b Btf<'a>, krate: Option<String>, reserved: &[String]) -> Self {
        let mut used: HashSet<String> = [
            "u8", "u16", "u32", "u64", "u128", "i8", "i16", "i32", "i64", "i128", "f32", "f64",
            "bool", "char", "str", "usize", "isize", "Option", "Result", "Vec", "String",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        used.extend(reserved.iter().cloned());
        TypeGen {
            btf,
            names: HashMap::new(),
            used,
            plans: HashMap::new(),
            aligned: HashSet::new(),
            in_progress: HashSet::new(),
            emitted: HashSet::new(),
            pending: Vec::new(),
            out: String::new(),
            krate,
        }
    }

    fn err(id: TypeId, reason: impl Into<String>) -> Error {
        Error::Type {
            id,
            reason: reason.into(),
        }
    }

    fn unique(&mut self, base: String, id: TypeId) -> String {
        let name = if self.used.contains(&base) {
            format!("{base}_{id}")
        } else {
            base
        };
        self.used.insert(name.clone());
        name
    }

    /// The Rust name of a struct/union/enum, assigned on first use (`__anon_<id>` when
    /// anonymous, or the typedef's name when `via_typedef` names it).
    fn name_of(&mut self, id: TypeId, via_typedef: Option<&str>) -> Result<String> {
        if let Some(n) = self.names.get(&id) {
            return Ok(n.clone());
        }
        let t = self.btf.type_by_id(id)?;
        let base = match (t.name(), via_typedef) {
            ("", Some(td)) => ident(td).trim_start_matches("r#").to_string(),
            ("", None) => format!("__anon_{id}"),
            (n, _) => ident(n).trim_start_matches("r#").to_string(),
        };
        let name = self.unique(base, id);
        self.names.insert(id, name.clone());
        self.pending.push(id);
        Ok(name)
    }

    /// Strips const/volatile/restrict/type_tag.
    fn strip_mods(&self, mut id: TypeId) -> Result<TypeId> {
        for _ in 0..64 {
            match self.btf.type_by_id(id)? {
                Type::Const(r) | Type::Volatile(r) | Type::Restrict(r) | Type::TypeTag(r) => {
                    id = r.ty
                }
                _ => return Ok(id),
            }
        }
        Err(Self::err(id, "modifier chain longer than 64"))
    }

    /// The Rust type for `id` with its (size, align); queues composites for emission.
    pub(crate) fn rust_ty(&mut self, id: TypeId) -> Result<(String, u32, u32)> {
        self.rust_ty_depth(id, None, 0)
    }

    fn rust_ty_depth(
        &mut self,
        id: TypeId,
        td: Option<&str>,
        depth: u32,
    ) -> Result<(String, u32, u32)> {
        if depth > 64 {
            return Err(Self::err(id, "type chain deeper than 64"));
        }
        let t = self.btf.type_by_id(id)?;
        Ok(match t {
            Type::Void => return Err(Self::err(id, "void has no layout")),
            Type::Int(i) => {
                let (ty, size) = int_ty(i.size, i.encoding).ok_or_else(|| {
                    Self::err(id, format!("int {:?} of {} bytes", i.name, i.size))
                })?;
                (ty.to_string(), size, size)
            }
            Type::Ptr(_) => ("u64".into(), 8, 8),
            Type::Float(f) => match f.size {
                4 => ("f32".into(), 4, 4),
                8 => ("f64".into(), 8, 8),
                n => (format!("[u8; {n}]"), n, 1),
            },
            Type::Array(a) => {
                let (e, es, ea) = self.rust_ty_depth(a.elem, None, depth + 1)?;
                let size = es
                    .checked_mul(a.nelems)
                    .ok_or_else(|| Self::err(id, "array size overflows u32"))?;
                (format!("[{e}; {}]", a.nelems), size, ea)
            }
            Type::Struct(_) | Type::Union(_) => {
                let name = self.name_of(id, td)?;
                let plan = self.plan(id)?;
                (name, plan.size, plan.align)
            }
            Type::Enum(e) | Type::Enum64(e) => {
                let name = self.name_of(id, td)?;
                let (_, size) = int_ty(e.size, if e.signed { INT_SIGNED } else { 0 })
                    .ok_or_else(|| Self::err(id, format!("enum of {} bytes", e.size)))?;
                (name, size, size)
            }
            Type::Typedef(r) => {
                let target = self.strip_mods(r.ty)?;
                let anon = matches!(
                    self.btf.type_by_id(target)?,
                    Type::Struct(_) | Type::Union(_) | Type::Enum(_) | Type::Enum64(_)
                ) && self.btf.type_by_id(target)?.name().is_empty();
                let name = r.name.to_string();
                self.rust_ty_depth(target, anon.then_some(name.as_str()), depth + 1)?
            }
            Type::Const(r) | Type::Volatile(r) | Type::Restrict(r) | Type::TypeTag(r) => {
                self.rust_ty_depth(r.ty, td, depth + 1)?
            }
            Type::Fwd(f) => {
                return Err(Self::err(
                    id,
                    format!("forward declaration {:?} has no layout", f.name),
                ));
            }
            other => {
                return Err(Self::err(
                    id,
                    format!("{:?} cannot be a data type", other.kind()),
                ));
            }
        })
    }

    /// The layout plan of struct/union `id` (memoised).
    fn plan(&mut self, id: TypeId) -> Result<Plan> {
        if let Some(p) = self.plans.get(&id) {
            return Ok(p.clone());
        }
        if !self.in_progress.insert(id) {
            return Err(Self::err(id, "type contains itself"));
        }
        let r = self.plan_uncached(id);
        self.in_progress.remove(&id);
        let p = r?;
        if p.has_align
            && let Some(n) = self.names.get(&id)
        {
            self.aligned.insert(n.clone());
        }
        self.plans.insert(id, p.clone());
        Ok(p)
    }

    fn plan_uncached(&mut self, id: TypeId) -> Result<Plan> {
        let (c, is_union) = match self.btf.type_by_id(id)? {
            Type::Struct(c) => (c, false),
            Type::Union(c) => (c, true),
            _ => return Err(Self::err(id, "not a struct or union")),
        };
        let mut members = Vec::new();
        for m in c.members() {
            members.push(m?);
        }
        let mut input = Vec::new();
        let mut anon = 0;
        for (i, m) in members.iter().enumerate() {
            let name = if m.name.is_empty() {
                anon += 1;
                format!("__anon_{}", anon - 1)
            } else {
                ident(m.name)
            };
            input.push(MemberIn {
                name,
                cname: if m.name.is_empty() {
                    format!("member {i}")
                } else {
                    m.name.to_string()
                },
                ty: m.ty,
                bit_offset: m.bit_offset,
                bitfield_size: u32::from(m.bitfield_size),
            });
        }
        if is_union {
            self.plan_union(id, c.size, &input)
        } else {
            self.plan_struct(id, c.size, &input)
        }
    }

    /// Whether Rust type `ty` (a name or nested arrays of one) carries `align(N)`.
    fn contains_align(&self, ty: &str) -> bool {
        let base = ty.trim_start_matches('[');
        let base = base.split(';').next().unwrap_or(base).trim();
        self.aligned.contains(base)
    }

    /// Lays out struct members at their offsets (also used for DATASECs).
    pub(crate) fn plan_struct(
        &mut self,
        id: TypeId,
        size: u32,
        input: &[MemberIn],
    ) -> Result<Plan> {
        let mut fields = Vec::new();
        let mut cursor = 0u32;
        let mut npad = 0;
        let mut nbf = 0;
        let mut packed = false;
        let mut nat_align = 1u32;
        let mut run: Option<(u32, u32, Vec<BitMember>)> = None;
        let mut bf_align = 1u32;
        for m in input {
            let (bit_off, bits, bit_ty) = self.bitfield_info(m)?;
            if let Some(bits) = bits {
                // The declared type's storage unit aligns the struct (as in C).
                let unit = self.btf.resolve_size(m.ty).unwrap_or(1).clamp(1, 8);
                bf_align = bf_align.max(unit);
                let start = bit_off / 8;
                let end = (bit_off + bits).div_ceil(8);
                let extend = matches!(&run, Some((rs, re, _)) if start < *re && end - rs <= 16);
                if !extend {
                    if let Some((rs, re, ms)) = run.take() {
                        push_bits(&mut fields, &mut nbf, rs, re, ms);
                        cursor = re;
                    }
                    if start < cursor {
                        return Err(Self::err(
                            id,
                            format!("bitfield {} overlaps the previous member", m.cname),
                        ));
                    }
                    if start > cursor {
                        fields.push(pad(&mut npad, start - cursor));
                    }
                    run = Some((start, end, Vec::new()));
                }
                if let Some((rs, re, ms)) = run.as_mut() {
                    *re = (*re).max(end);
                    ms.push(BitMember {
                        name: m.name.trim_start_matches("r#").to_string(),
                        shift: bit_off - *rs * 8,
                        bits,
                        ty: bit_ty.ok_or_else(|| {
                            Self::err(id, format!("bitfield {} is not an integer", m.cname))
                        })?,
                    });
                }
                continue;
            }
            if let Some((rs, re, ms)) = run.take() {
                push_bits(&mut fields, &mut nbf, rs, re, ms);
                cursor = re;
            }
            if bit_off % 8 != 0 {
                return Err(Self::err(
                    id,
                    format!(
                        "member {} at bit offset {bit_off} is not byte aligned",
                        m.cname
                    ),
                ));
            }
            let off = bit_off / 8;
            let (ty, msize, malign) = self.rust_ty(m.ty)?;
            if off < cursor {
                return Err(Self::err(
                    id,
                    format!(
                        "member {} at byte {off} overlaps the previous member",
                        m.cname
                    ),
                ));
            }
            if off > cursor {
                fields.push(pad(&mut npad, off - cursor));
            }
            if off % malign != 0 {
                packed = true;
            }
            nat_align = nat_align.max(malign);
            fields.push(Field::Typed {
                name: m.name.clone(),
                cname: m.cname.clone(),
                ty,
                off,
                size: msize,
                doc: String::new(),
            });
            cursor = off + msize;
        }
        if let Some((rs, re, ms)) = run.take() {
            push_bits(&mut fields, &mut nbf, rs, re, ms);
            cursor = re;
        }
        if cursor > size {
            return Err(Self::err(
                id,
                format!("members end at byte {cursor}, past the size {size}"),
            ));
        }
        if size % nat_align != 0 {
            packed = true;
        }
        let mut forced_align = None;
        if !packed && size > round_up(cursor, nat_align) {
            // Tail padding the members' alignment does not explain: the type is aligned
            // further (`__attribute__((aligned(N)))`, or a bitfield's storage unit).
            let mut p = nat_align * 2;
            while p <= 64 && round_up(cursor, p) < size {
                p *= 2;
            }
            if p <= 64 && round_up(cursor, p) == size && size % p == 0 {
                forced_align = Some(p);
            }
        }
        if !packed && bf_align > forced_align.unwrap_or(nat_align) && size % bf_align == 0 {
            forced_align = Some(bf_align);
        }
        if size > cursor {
            fields.push(pad(&mut npad, size - cursor));
        }
        let mut has_align = forced_align.is_some();
        for f in &mut fields {
            if let Field::Typed { ty, size, doc, .. } = f
                && self.contains_align(ty)
            {
                if packed {
                    // Rust forbids an aligned type inside a packed one: keep the bytes.
                    *doc =
                        format!(" Stored as bytes: `{ty}` is aligned and this struct is packed.");
                    *ty = format!("[u8; {size}]");
                } else {
                    has_align = true;
                }
            }
        }
        let align = if packed {
            1
        } else {
            forced_align.unwrap_or(nat_align)
        };
        Ok(Plan {
            fields,
            packed,
            forced_align,
            align,
            size,
            has_align,
        })
    }

    fn plan_union(&mut self, id: TypeId, size: u32, input: &[MemberIn]) -> Result<Plan> {
        let mut fields = Vec::new();
        let mut align = 1u32;
        let mut bf = Vec::new();
        for m in input {
            let (bit_off, bits, bit_ty) = self.bitfield_info(m)?;
            if let Some(bits) = bits {
                if bit_off + bits > size * 8 || bits > 64 {
                    return Err(Self::err(
                        id,
                        format!("bitfield {} outside the union", m.cname),
                    ));
                }
                bf.push(BitMember {
                    name: m.name.trim_start_matches("r#").to_string(),
                    shift: bit_off,
                    bits,
                    ty: bit_ty.ok_or_else(|| {
                        Self::err(id, format!("bitfield {} is not an integer", m.cname))
                    })?,
                });
                continue;
            }
            let (ty, msize, malign) = self.rust_ty(m.ty)?;
            if bit_off != 0 || msize > size {
                return Err(Self::err(
                    id,
                    format!("union member {} does not fit at offset 0", m.cname),
                ));
            }
            align = align.max(malign);
            fields.push(Field::Typed {
                name: m.name.clone(),
                cname: m.cname.clone(),
                ty,
                off: 0,
                size: msize,
                doc: String::new(),
            });
        }
        let packed = size % align != 0;
        if !bf.is_empty() && size > 16 {
            return Err(Self::err(
                id,
                "union bitfields in a union larger than 16 bytes",
            ));
        }
        if !bf.is_empty() {
            fields.push(Field::Bits {
                name: "bytes".into(),
                off: 0,
                len: size,
                members: bf,
            });
        }
        Ok(Plan {
            fields,
            packed,
            forced_align: (!packed && align > 1).then_some(align),
            align: if packed { 1 } else { align },
            size,
            has_align: !packed && align > 1,
        })
    }

    /// (absolute bit offset, bitfield width if a bitfield, the getter type if integral).
    fn bitfield_info(&mut self, m: &MemberIn) -> Result<(u32, Option<u32>, Option<BitTy>)> {
        let target = self.btf.skip_mods_and_typedefs(m.ty)?;
        let t = self.btf.type_by_id(target)?;
        let (mut bit_off, mut bits) = (m.bit_offset, m.bitfield_size);
        if let Type::Int(i) = t
            && bits == 0
            && (u32::from(i.bits) != i.size * 8 || i.bit_offset != 0)
        {
            // Legacy (kind_flag = 0) bitfield: the width lives in the int.
            bit_off += u32::from(i.bit_offset);
            bits = u32::from(i.bits);
        }
        if bits == 0 {
            return Ok((bit_off, None, None));
        }
        if self.btf.endian() == oxbpf_btf::Endian::Big {
            return Err(Self::err(
                m.ty,
                format!(
                    "bitfield {}: accessors are generated for little-endian objects only",
                    m.cname
                ),
            ));
        }
        if bits > 64 {
            return Err(Self::err(
                m.ty,
                format!("bitfield {} is {bits} bits wide (at most 64)", m.cname),
            ));
        }
        let ty = match t {
            Type::Int(i) => int_ty(i.size, i.encoding).map(|(ty, _)| BitTy::Int {
                ty: ty.to_string(),
                signed: i.encoding & INT_SIGNED != 0,
            }),
            Type::Enum(e) | Type::Enum64(e) => {
                let name = self.rust_ty(m.ty)?.0;
                int_ty(e.size, if e.signed { INT_SIGNED } else { 0 }).map(|(r, _)| BitTy::Enum {
                    name,
                    repr: r.to_string(),
                })
            }
            _ => None,
        };
        Ok((bit_off, Some(bits), ty))
    }

    /// Emits every queued type (and what they pull in).
    pub(crate) fn flush(&mut self) -> Result<()> {
        while let Some(id) = self.pending.pop() {
            if !self.emitted.insert(id) {
                continue;
            }
            self.emit(id)?;
        }
        Ok(())
    }

    fn emit(&mut self, id: TypeId) -> Result<()> {
        let name = self.names.get(&id).cloned().unwrap_or_default();
        match self.btf.type_by_id(id)? {
            Type::Enum(e) | Type::Enum64(e) => {
                let (repr, size) = int_ty(e.size, if e.signed { INT_SIGNED } else { 0 })
                    .ok_or_else(|| Self::err(id, format!("enum of {} bytes", e.size)))?;
                let cname = if e.name.is_empty() {
                    "(anonymous)"
                } else {
                    e.name
                };
                let kind = if e.is_enum64() { "enum64" } else { "enum" };
                let mut s = String::new();
                let _ = writeln!(
                    s,
                    "/// C `{kind} {cname}` (BTF id {id}): a newtype, so values the program \
                     writes that have no name here stay representable."
                );
                let _ = writeln!(s, "#[repr(transparent)]");
                let _ = writeln!(
                    s,
                    "#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]"
                );
                let _ = writeln!(s, "#[allow(non_camel_case_types)]");
                let _ = writeln!(s, "pub struct {name}(pub {repr});");
                let _ = writeln!(s, "#[allow(non_upper_case_globals, dead_code)]");
                let _ = writeln!(s, "impl {name} {{");
                let mut seen = HashSet::new();
                for v in e.values() {
                    let (vname, value) = v?;
                    let vid = ident(vname);
                    if !seen.insert(vid.clone()) {
                        continue;
                    }
                    let _ = writeln!(s, "    /// `{vname}` = {value}.");
                    let _ = writeln!(
                        s,
                        "    pub const {vid}: {name} = {name}({});",
                        int_literal(value, size, e.signed)
                    );
                }
                let _ = writeln!(s, "}}");
                self.write_asserts(&mut s, &name, size, size, &[]);
                if let Some(k) = &self.krate {
                    let _ = writeln!(s, "{k}::sys::impl_pod!({name});");
                }
                self.out.push_str(&s);
                self.out.push('\n');
                Ok(())
            }
            t @ (Type::Struct(_) | Type::Union(_)) => {
                let cname = if t.name().is_empty() {
                    "(anonymous)"
                } else {
                    t.name()
                };
                let kind = if matches!(t, Type::Union(_)) {
                    "union"
                } else {
                    "struct"
                };
                let plan = self.plan(id)?;
                let doc = format!("C `{kind} {cname}` (BTF id {id}).");
                let s = if kind == "union" {
                    self.render_union(&name, &doc, &plan)
                } else {
                    self.render_struct(&name, &doc, &plan)
                };
                self.out.push_str(&s);
                self.out.push('\n');
                Ok(())
            }
            _ => Ok(()),
        }
    }

    fn repr_attr(plan: &Plan) -> String {
        if plan.packed {
            "#[repr(C, packed)]".into()
        } else if let Some(a) = plan.forced_align {
            format!("#[repr(C, align({a}))]")
        } else {
            "#[repr(C)]".into()
        }
    }

    /// Renders a planned struct: definition, bitfield accessors, assertions, `Pod`.
    pub(crate) fn render_struct(&self, name: &str, doc: &str, plan: &Plan) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "/// {doc}");
        let _ = writeln!(s, "{}", Self::repr_attr(plan));
        let _ = writeln!(s, "#[derive(Clone, Copy, Debug)]");
        let _ = writeln!(s, "#[allow(non_camel_case_types, non_snake_case)]");
        let _ = writeln!(s, "pub struct {name} {{");
        let mut checks = Vec::new();
        let mut off = 0u32;
        for f in &plan.fields {
            match f {
                Field::Typed {
                    name: fname,
                    cname,
                    ty,
                    off: o,
                    size,
                    doc,
                } => {
                    let _ = writeln!(s, "    /// `{cname}` at byte {o} ({size} bytes).{doc}");
                    let _ = writeln!(s, "    pub {fname}: {ty},");
                    checks.push((fname.clone(), *o));
                    off = o + size;
                }
                Field::Pad { name: p, len } => {
                    let _ = writeln!(s, "    /// Padding (bytes {off}..{}).", off + len);
                    let _ = writeln!(s, "    pub {p}: [u8; {len}],");
                    checks.push((p.clone(), off));
                    off += len;
                }
                Field::Bits {
                    name: b,
                    off: o,
                    len,
                    members,
                } => {
                    let names: Vec<&str> = members.iter().map(|m| m.name.as_str()).collect();
                    let _ = writeln!(
                        s,
                        "    /// Bitfield storage for {} (bytes {o}..{}).",
                        names.join(", "),
                        o + len
                    );
                    let _ = writeln!(s, "    pub {b}: [u8; {len}],");
                    checks.push((b.clone(), *o));
                    off = o + len;
                }
            }
        }
        let _ = writeln!(s, "}}");
        let accessors = render_bit_accessors(&plan.fields);
        if !accessors.is_empty() {
            let _ = writeln!(s, "#[allow(dead_code, non_snake_case)]");
            let _ = writeln!(s, "impl {name} {{\n{accessors}}}");
        }
        self.write_asserts(&mut s, name, plan.size, plan.align, &checks);
        if let Some(k) = &self.krate {
            let _ = writeln!(s, "{k}::sys::impl_pod!({name});");
        }
        s
    }

    fn render_union(&self, name: &str, doc: &str, plan: &Plan) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "/// {doc} Stored as bytes (every byte initialised, so it is `Pod`); read and \
             write members with the accessors."
        );
        let _ = writeln!(s, "{}", Self::repr_attr(plan));
        let _ = writeln!(s, "#[derive(Clone, Copy, Debug)]");
        let _ = writeln!(s, "#[allow(non_camel_case_types)]");
        let _ = writeln!(s, "pub struct {name} {{");
        let _ = writeln!(s, "    /// The union's bytes.");
        let _ = writeln!(s, "    pub bytes: [u8; {}],", plan.size);
        let _ = writeln!(s, "}}");
        let mut acc = String::new();
        let mut member_checks = String::new();
        if let Some(k) = &self.krate {
            for f in &plan.fields {
                if let Field::Typed {
                    name: fname,
                    cname,
                    ty,
                    size,
                    ..
                } = f
                {
                    let bare = fname.trim_start_matches("r#");
                    let _ = writeln!(acc, "    /// Reads member `{cname}`.");
                    let _ = writeln!(acc, "    pub fn {fname}(&self) -> {ty} {{");
                    let _ = writeln!(acc, "        let mut v: {ty} = {k}::sys::pod::zeroed();");
                    let _ = writeln!(
                        acc,
                        "        {k}::sys::pod::bytes_of_mut(&mut v).copy_from_slice(&self.bytes[..{size}]);"
                    );
                    let _ = writeln!(acc, "        v\n    }}");
                    let _ = writeln!(acc, "    /// Writes member `{cname}`.");
                    let _ = writeln!(acc, "    pub fn set_{bare}(&mut self, v: {ty}) {{");
                    let _ = writeln!(
                        acc,
                        "        self.bytes[..{size}].copy_from_slice({k}::sys::pod::bytes_of(&v));\n    }}"
                    );
                    let _ = writeln!(
                        member_checks,
                        "    assert!(::core::mem::size_of::<{ty}>() == {size}, \"oxbpf-gen: size of {name}.{bare} differs from BTF ({size} bytes)\");"
                    );
                }
            }
        }
        acc.push_str(&render_bit_accessors(&plan.fields));
        if !acc.is_empty() {
            let _ = writeln!(s, "#[allow(dead_code, non_snake_case)]");
            let _ = writeln!(s, "impl {name} {{\n{acc}}}");
        }
        if !member_checks.is_empty() {
            let _ = writeln!(s, "const _: () = {{\n{member_checks}}};");
        }
        self.write_asserts(&mut s, name, plan.size, plan.align, &[("bytes".into(), 0)]);
        if let Some(k) = &self.krate {
            let _ = writeln!(s, "{k}::sys::impl_pod!({name});");
        }
        s
    }

    fn write_asserts(
        &self,
        s: &mut String,
        name: &str,
        size: u32,
        align: u32,
        fields: &[(String, u32)],
    ) {
        let _ = writeln!(s, "const _: () = {{");
        let _ = writeln!(
            s,
            "    assert!(::core::mem::size_of::<{name}>() == {size}, \"oxbpf-gen: size of {name} differs from BTF ({size} bytes)\");"
        );
        let _ = writeln!(
            s,
            "    assert!(::core::mem::align_of::<{name}>() == {align}, \"oxbpf-gen: alignment of {name} differs from BTF ({align})\");"
        );
        for (f, off) in fields {
            let bare = f.trim_start_matches("r#");
            let _ = writeln!(
                s,
                "    assert!(::core::mem::offset_of!({name}, {f}) == {off}, \"oxbpf-gen: offset of {name}.{bare} differs from BTF (byte {off})\");"
            );
        }
        let _ = writeln!(s, "}};");
    }

    /// Plans a section struct from (name, type, offset) variables; variables whose type
    /// cannot be generated (or whose size disagrees) become byte arrays.
    pub(crate) fn plan_section(
        &mut self,
        size: u32,
        vars: &[(String, Option<TypeId>, u32, u32)],
    ) -> Result<(Plan, Vec<(String, String)>)> {
        let mut fields = Vec::new();
        let mut cursor = 0u32;
        let mut npad = 0;
        let mut nat_align = 1u32;
        let mut typed = Vec::new();
        let mut sorted: Vec<_> = vars.to_vec();
        sorted.sort_by_key(|v| v.2);
        for (vname, ty, off, vsize) in &sorted {
            if *off < cursor {
                continue;
            }
            let (mut rty, mut rsize, mut ralign) = (format!("[u8; {vsize}]"), *vsize, 1);
            if let Some(t) = ty
                && let Ok((t, s, a)) = self.rust_ty(*t)
                && s == *vsize
                && off % a == 0
            {
                (rty, rsize, ralign) = (t, s, a);
            }
            if *off > cursor {
                fields.push(pad(&mut npad, off - cursor));
            }
            nat_align = nat_align.max(ralign);
            typed.push((ident(vname), rty.clone()));
            fields.push(Field::Typed {
                name: ident(vname),
                cname: vname.clone(),
                ty: rty,
                off: *off,
                size: rsize,
                doc: String::new(),
            });
            cursor = off + rsize;
        }
        let size = round_up(size.max(cursor), nat_align);
        if size > cursor {
            fields.push(pad(&mut npad, size - cursor));
        }
        Ok((
            Plan {
                fields,
                packed: false,
                forced_align: None,
                align: nat_align,
                size,
                has_align: false,
            },
            typed,
        ))
    }
}

/// A member as read from BTF (or a DATASEC variable).
#[derive(Clone, Debug)]
pub(crate) struct MemberIn {
    name: String,
    cname: String,
    ty: TypeId,
    bit_offset: u32,
    bitfield_size: u32,
}

fn pad(n: &mut u32, len: u32) -> Field {
    *n += 1;
    Field::Pad {
        name: format!("__pad_{}", *n - 1),
        len,
    }
}

fn push_bits(fields: &mut Vec<Field>, n: &mut u32, start: u32, end: u32, members: Vec<BitMember>) {
    *n += 1;
    fields.push(Field::Bits {
        name: format!("__bf_{}", *n - 1),
        off: start,
        len: end - start,
        members,
    });
}

fn render_bit_accessors(fields: &[Field]) -> String {
    let mut s = String::new();
    for f in fields {
        let Field::Bits {
            name: store,
            len,
            members,
            ..
        } = f
        else {
            continue;
        };
        for m in members {
            let (shift, bits) = (m.shift, m.bits);
            let low: u128 = if bits >= 128 {
                u128::MAX
            } else {
                (1u128 << bits) - 1
            };
            let (low_lit, mask_lit) = (format!("{low:#x}"), format!("{:#x}", low << shift));
            let (ret, build, raw_in) = match &m.ty {
                BitTy::Int { ty, signed: true } => (
                    ty.clone(),
                    format!("(((v << {k}) as i128) >> {k}) as {ty}", k = 128 - bits),
                    "v as i128 as u128".to_string(),
                ),
                BitTy::Int { ty, signed: false } => {
                    (ty.clone(), format!("v as {ty}"), "v as u128".to_string())
                }
                BitTy::Enum { name, repr } => (
                    name.clone(),
                    format!("{name}(v as {repr})"),
                    "v.0 as u128".to_string(),
                ),
            };
            let (get, put) = if shift == 0 {
                (
                    format!("u128::from_le_bytes(b) & {low_lit}"),
                    format!("({raw_in}) & {mask_lit}"),
                )
            } else {
                (
                    format!("(u128::from_le_bytes(b) >> {shift}) & {low_lit}"),
                    format!("(({raw_in}) << {shift}) & {mask_lit}"),
                )
            };
            let _ = writeln!(
                s,
                "    /// Bitfield `{}` ({bits} bits at bit {shift} of `{store}`).",
                m.name
            );
            let _ = writeln!(s, "    pub fn {}(&self) -> {ret} {{", ident(&m.name));
            let _ = writeln!(s, "        let mut b = [0u8; 16];");
            let _ = writeln!(s, "        b[..{len}].copy_from_slice(&self.{store});");
            let _ = writeln!(s, "        let v = {get};");
            let _ = writeln!(s, "        {build}\n    }}");
            let _ = writeln!(
                s,
                "    /// Sets bitfield `{}` (truncated to {bits} bits).",
                m.name
            );
            let _ = writeln!(s, "    pub fn set_{}(&mut self, v: {ret}) {{", m.name);
            let _ = writeln!(s, "        let mut b = [0u8; 16];");
            let _ = writeln!(s, "        b[..{len}].copy_from_slice(&self.{store});");
            let _ = writeln!(
                s,
                "        let raw = (u128::from_le_bytes(b) & !{mask_lit}) | ({put});"
            );
            let _ = writeln!(
                s,
                "        self.{store}.copy_from_slice(&raw.to_le_bytes()[..{len}]);\n    }}"
            );
        }
    }
    s
}

/// The Rust integer for a BTF int of `size` bytes and `encoding`: (type, size).
fn int_ty(size: u32, encoding: u8) -> Option<(&'static str, u32)> {
    let signed = encoding & INT_SIGNED != 0 && encoding & INT_BOOL == 0;
    Some(match (size, signed) {
        (1, false) => ("u8", 1),
        (1, true) => ("i8", 1),
        (2, false) => ("u16", 2),
        (2, true) => ("i16", 2),
        (4, false) => ("u32", 4),
        (4, true) => ("i32", 4),
        (8, false) => ("u64", 8),
        (8, true) => ("i64", 8),
        (16, false) => ("u128", 16),
        (16, true) => ("i128", 16),
        _ => return None,
    })
}

/// An enum value as a literal of its `size`-byte representation.
fn int_literal(v: i128, size: u32, signed: bool) -> String {
    let bits = size * 8;
    let masked = (v as u128)
        & if bits >= 128 {
            u128::MAX
        } else {
            (1u128 << bits) - 1
        };
    if signed {
        let shift = 128 - bits;
        let sv = ((masked << shift) as i128) >> shift;
        if sv < 0 {
            format!("{sv}i{bits}")
        } else {
            format!("{sv}")
        }
    } else {
        format!("{masked:#x}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use oxbpf_btf::BtfBuilder;

    fn gen_for(b: &BtfBuilder, id: TypeId) -> Result<String> {
        let bytes = b.build();
        let btf = Btf::parse(&bytes).unwrap();
        crate::generate_types(&btf, &[id], None).and_then(|s| {
            if let Some(l) = s.lines().find(|l| l.starts_with("// not generated")) {
                Err(Error::Config(l.to_string()))
            } else {
                Ok(s)
            }
        })
    }

    #[test]
    fn misaligned_member_makes_the_struct_packed() {
        let mut b = BtfBuilder::new();
        let u8t = b.add_int("unsigned char", 1, 0);
        let u32t = b.add_int("unsigned int", 4, 0);
        let s = b.add_struct("p", 5, &[("c", u8t, 0), ("x", u32t, 8)]);
        let src = gen_for(&b, s).unwrap();
        assert!(src.contains("#[repr(C, packed)]\n"), "{src}");
        assert!(src.contains("offset_of!(p, x) == 1"), "{src}");
    }

    #[test]
    fn gaps_become_padding_fields_and_tail_padding_implies_alignment() {
        let mut b = BtfBuilder::new();
        let u32t = b.add_int("unsigned int", 4, 0);
        let s = b.add_struct("g", 16, &[("a", u32t, 0), ("b", u32t, 64)]);
        let src = gen_for(&b, s).unwrap();
        assert!(src.contains("pub __pad_0: [u8; 4],"), "{src}");
        // 12 bytes of members in 16: the smallest alignment that explains it is 8.
        assert!(src.contains("#[repr(C, align(8))]"), "{src}");
    }

    #[test]
    fn rejects_overlapping_members_with_the_type_id() {
        let mut b = BtfBuilder::new();
        let u32t = b.add_int("unsigned int", 4, 0);
        let s = b.add_struct("o", 8, &[("a", u32t, 0), ("b", u32t, 16)]);
        let e = gen_for(&b, s).unwrap_err().to_string();
        assert!(
            e.contains(&format!("BTF type id {s}")) && e.contains("overlaps"),
            "{e}"
        );
    }

    #[test]
    fn rejects_members_past_the_struct_size() {
        let mut b = BtfBuilder::new();
        let u64t = b.add_int("unsigned long", 8, 0);
        let s = b.add_struct("short", 4, &[("a", u64t, 0)]);
        let e = gen_for(&b, s).unwrap_err().to_string();
        assert!(e.contains("past the size 4"), "{e}");
    }

    #[test]
    fn forward_declared_member_is_an_error_not_a_panic() {
        let mut b = BtfBuilder::new();
        let f = b.add_fwd("opaque", false);
        let s = b.add_struct("holder", 8, &[("o", f, 0)]);
        let e = gen_for(&b, s).unwrap_err().to_string();
        assert!(e.contains("forward declaration \"opaque\""), "{e}");
    }

    #[test]
    fn self_containing_struct_is_an_error() {
        let mut b = BtfBuilder::new();
        // The struct will be id 1 and names itself as its member's type.
        let s = b.add_struct("loop", 4, &[("me", 1, 0)]);
        assert_eq!(s, 1);
        let e = gen_for(&b, s).unwrap_err().to_string();
        assert!(e.contains("contains itself"), "{e}");
    }

    #[test]
    fn typedef_names_an_anonymous_struct_and_pointers_are_u64() {
        let mut b = BtfBuilder::new();
        let u8t = b.add_int("char", 1, INT_SIGNED);
        let p = b.add_ptr(u8t);
        let s = b.add_struct("", 8, &[("p", p, 0)]);
        let t = b.add_typedef("named_t", s);
        let src = gen_for(&b, t).unwrap();
        assert!(src.contains("pub struct named_t {"), "{src}");
        assert!(src.contains("pub p: u64,"), "{src}");
    }

    #[test]
    fn legacy_int_bitfield_gets_accessors() {
        let mut b = BtfBuilder::new();
        let bf = b.add_int_bits("unsigned int", 4, 0, 4, 3);
        let u32t = b.add_int("unsigned int", 4, 0);
        let s = b.add_struct("legacy", 4, &[("f", bf, 0)]);
        let _ = u32t;
        let src = gen_for(&b, s).unwrap();
        assert!(src.contains("pub fn f(&self) -> u32"), "{src}");
        assert!(src.contains(">> 4"), "{src}");
    }

    #[test]
    fn keywords_become_raw_identifiers() {
        assert_eq!(ident("type"), "r#type");
        assert_eq!(ident("self"), "self_");
        assert_eq!(ident("a.b"), "a_b");
        assert_eq!(ident("1x"), "_1x");
    }

    #[test]
    fn section_names_become_type_and_method_names() {
        assert_eq!(camel(".data.custom"), "DataCustom");
        assert_eq!(camel("execsnoop"), "Execsnoop");
        assert_eq!(snake(".data.custom"), "data_custom");
        assert_eq!(snake(".bss"), "bss");
    }

    #[test]
    fn enum_literals_fit_their_width() {
        assert_eq!(int_literal(-1, 4, true), "-1i32");
        assert_eq!(int_literal(0xffff_ffff, 4, false), "0xffffffff");
        assert_eq!(int_literal(-1, 8, false), "0xffffffffffffffff");
        assert_eq!(int_literal(5, 1, true), "5");
    }
}

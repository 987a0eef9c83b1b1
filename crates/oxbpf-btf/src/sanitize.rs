//! Rewriting an object's BTF for kernels that lack newer kinds, as libbpf's
//! `bpf_object__sanitize_btf` does: every type keeps its id, so map key/value type ids and
//! func_info/line_info references stay valid.

use crate::btf::Btf;
use crate::error::{Error, Result};
use crate::types::{Kind, Type, TypeId};
use crate::write::{BtfBuilder, TypeRecord};

/// The BTF capabilities of a kernel; `true` means the kernel accepts it.
///
/// [`BtfFeatures::all`] (the `Default`) is a modern kernel, which needs no rewriting.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct BtfFeatures {
    /// `BTF_KIND_FUNC` and `BTF_KIND_FUNC_PROTO` (5.0).
    pub func: bool,
    /// FUNC with global linkage (5.6).
    pub func_global: bool,
    /// `BTF_KIND_VAR` and `BTF_KIND_DATASEC` (5.2).
    pub datasec: bool,
    /// DATASEC names starting with `?` (`SEC("?.struct_ops")`; 6.10).
    pub qmark_datasec: bool,
    /// `BTF_KIND_FLOAT` (5.13).
    pub float: bool,
    /// `BTF_KIND_DECL_TAG` (5.16).
    pub decl_tag: bool,
    /// `BTF_KIND_TYPE_TAG` (5.17).
    pub type_tag: bool,
    /// `BTF_KIND_ENUM64` and signed enums (6.0).
    pub enum64: bool,
}

impl Default for BtfFeatures {
    fn default() -> Self {
        Self::all()
    }
}

impl BtfFeatures {
    /// Every feature present (a modern kernel).
    pub const fn all() -> BtfFeatures {
        BtfFeatures {
            func: true,
            func_global: true,
            datasec: true,
            qmark_datasec: true,
            float: true,
            decl_tag: true,
            type_tag: true,
            enum64: true,
        }
    }

    /// Every feature missing (BTF of the 4.18 kind: only the original kinds).
    pub const fn none() -> BtfFeatures {
        BtfFeatures {
            func: false,
            func_global: false,
            datasec: false,
            qmark_datasec: false,
            float: false,
            decl_tag: false,
            type_tag: false,
            enum64: false,
        }
    }

    /// True if every feature is present, so [`sanitize`] would change nothing.
    pub fn is_all(&self) -> bool {
        *self == Self::all()
    }

    /// Each feature by name with its state, in declaration order.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, bool)> {
        [
            ("func", self.func),
            ("func_global", self.func_global),
            ("datasec", self.datasec),
            ("qmark_datasec", self.qmark_datasec),
            ("float", self.float),
            ("decl_tag", self.decl_tag),
            ("type_tag", self.type_tag),
            ("enum64", self.enum64),
        ]
        .into_iter()
    }

    /// Set the feature called `name` (as in [`BtfFeatures::iter`]); false if unknown.
    pub fn set(&mut self, name: &str, on: bool) -> bool {
        let f = match name {
            "func" => &mut self.func,
            "func_global" => &mut self.func_global,
            "datasec" => &mut self.datasec,
            "qmark_datasec" => &mut self.qmark_datasec,
            "float" => &mut self.float,
            "decl_tag" => &mut self.decl_tag,
            "type_tag" => &mut self.type_tag,
            "enum64" => &mut self.enum64,
            _ => return false,
        };
        *f = on;
        true
    }
}

/// Name of the 1-byte INT that ENUM64 values become members of when ENUM64 is missing.
pub const ENUM64_PLACEHOLDER: &str = "enum64_placeholder";

/// Rewrite `btf` so a kernel with features `f` accepts it; returns the new blob (in
/// `btf`'s byte order). Type ids do not change; at most one type is appended (the
/// [`ENUM64_PLACEHOLDER`] INT).
///
/// The rewrites, each applied only when its feature is missing (first match wins, in
/// this order, like libbpf):
/// - VAR (no `datasec`) and DECL_TAG (no `decl_tag`) → INT of 1 byte, 8 bits, same name;
/// - DATASEC (no `datasec`) → STRUCT of the same size, named with `.` and `?` replaced by
///   `_`, one member per variable: the variable's name and type at its offset;
/// - DATASEC named `?…` (no `qmark_datasec`) → the `?` becomes `_`;
/// - FUNC_PROTO (no `func`) → ENUM of size 4, one value per parameter (name, type id);
/// - FUNC (no `func`) → TYPEDEF of its prototype;
/// - FUNC with global or extern linkage (no `func_global`) → static FUNC;
/// - FLOAT (no `float`) → anonymous STRUCT of the same size without members;
/// - TYPE_TAG (no `type_tag`) → anonymous CONST of the same type;
/// - ENUM (no `enum64`) → its signedness flag cleared;
/// - ENUM64 (no `enum64`) → UNION of the same size with one member per value, each of type
///   [`ENUM64_PLACEHOLDER`] at offset 0.
///
/// Errors come from corrupt input (names the type id and offset).
pub fn sanitize(btf: &Btf<'_>, f: &BtfFeatures) -> Result<Vec<u8>> {
    let mut b = BtfBuilder::from_btf(btf)?;
    let mut placeholder: Option<TypeId> = None;
    for t in btf.types() {
        let (id, t) = t?;
        // from_btf holds every id of btf, so this is Some.
        let Some(orig) = b.type_record(id).cloned() else {
            continue;
        };
        let name_off = orig.name_off();
        let rec = match t {
            Type::Var(_) if !f.datasec => Some(int_1byte(name_off)),
            Type::DeclTag(_) if !f.decl_tag => Some(int_1byte(name_off)),
            Type::Datasec(d) if !f.datasec => {
                let name: String = d
                    .name
                    .chars()
                    .map(|c| if c == '.' || c == '?' { '_' } else { c })
                    .collect();
                let name_off = b.add_str(&name);
                let mut members = Vec::with_capacity(usize::from(d.vlen()) * 3);
                for v in d.vars() {
                    let v = v?;
                    let var_name = b.type_record(v.ty).map(TypeRecord::name_off).ok_or(
                        Error::TypeIdOutOfRange {
                            id: v.ty,
                            count: btf.len(),
                        },
                    )?;
                    let bit_off = v.offset.checked_mul(8).ok_or(Error::SizeOverflow { id })?;
                    members.extend_from_slice(&[var_name, v.ty, bit_off]);
                }
                Some(TypeRecord::new(
                    Kind::Struct,
                    name_off,
                    false,
                    orig.vlen(),
                    d.size,
                    members,
                ))
            }
            Type::Datasec(d) if !f.qmark_datasec && d.name.starts_with('?') => {
                let name_off = b.add_str(&format!("_{}", &d.name[1..]));
                Some(TypeRecord::new(
                    Kind::Datasec,
                    name_off,
                    orig.kind_flag(),
                    orig.vlen(),
                    orig.size_or_type(),
                    orig.trailing().to_vec(),
                ))
            }
            Type::FuncProto(_) if !f.func => Some(TypeRecord::new(
                Kind::Enum,
                name_off,
                false,
                orig.vlen(),
                4,
                orig.trailing().to_vec(),
            )),
            Type::Func(fun) if !f.func => Some(TypeRecord::new(
                Kind::Typedef,
                name_off,
                false,
                0,
                fun.proto,
                Vec::new(),
            )),
            Type::Func(fun) if !f.func_global => Some(TypeRecord::new(
                Kind::Func,
                name_off,
                false,
                0,
                fun.proto,
                Vec::new(),
            )),
            Type::Float(fl) if !f.float => Some(TypeRecord::new(
                Kind::Struct,
                0,
                false,
                0,
                fl.size,
                Vec::new(),
            )),
            Type::TypeTag(r) if !f.type_tag => {
                Some(TypeRecord::new(Kind::Const, 0, false, 0, r.ty, Vec::new()))
            }
            Type::Enum(e) if !f.enum64 && e.signed => Some(TypeRecord::new(
                Kind::Enum,
                name_off,
                false,
                orig.vlen(),
                e.size,
                orig.trailing().to_vec(),
            )),
            Type::Enum64(e) if !f.enum64 => {
                let ph = match placeholder {
                    Some(ph) => ph,
                    None => {
                        let ph = b.add_int(ENUM64_PLACEHOLDER, 1, 0);
                        placeholder = Some(ph);
                        ph
                    }
                };
                let members: Vec<u32> = orig
                    .trailing()
                    .chunks_exact(3)
                    .flat_map(|v| [v[0], ph, 0])
                    .collect();
                Some(TypeRecord::new(
                    Kind::Union,
                    name_off,
                    false,
                    orig.vlen(),
                    e.size,
                    members,
                ))
            }
            _ => None,
        };
        if let Some(rec) = rec {
            b.set_type(id, rec)?;
        }
    }
    Ok(b.build_endian(btf.endian()))
}

/// `INT` of 1 byte with 8 value bits and no encoding, named `name_off`.
fn int_1byte(name_off: u32) -> TypeRecord {
    TypeRecord::new(Kind::Int, name_off, false, 0, 1, vec![8])
}

#[cfg(test)]
mod tests;

//! C declarators: turning a BTF chain such as typedef → array → ptr → const → int into
//! `const int *name[4]`, including function pointers and inline anonymous types.
//!
//! As in libbpf's `btf_dump_emit_type_decl`, the chain is pushed onto a stack until a
//! terminal type (int, float, enum, struct, union, fwd, typedef, void); it is then written
//! from the terminal outwards: modifiers before a terminal go to its left, pointers and
//! their modifiers to the right, arrays and prototypes wrap what is left in parentheses.

use std::fmt::Write as _;

use super::{CDumpError, Dumper, MAX_DUMP_DEPTH};
use crate::{INT_BOOL, INT_SIGNED, Kind, Type, TypeId};

/// A view of the shared declaration stack: `len` ids from `start`, the top is the last.
#[derive(Clone, Copy)]
struct Frame {
    start: usize,
    len: usize,
}

impl Dumper<'_, '_> {
    /// Write the declaration of `fname` with type `id` (`fname` may be empty).
    pub(super) fn emit_type_decl(
        &mut self,
        id: TypeId,
        fname: &str,
        lvl: usize,
    ) -> Result<(), CDumpError> {
        let start = self.decl_stack.len();
        let r = self.push_chain(id).and_then(|()| {
            let mut frame = Frame {
                start,
                len: self.decl_stack.len() - start,
            };
            self.emit_chain(&mut frame, fname, lvl)
        });
        self.decl_stack.truncate(start);
        r
    }

    fn push_chain(&mut self, id: TypeId) -> Result<(), CDumpError> {
        let mut cur = id;
        for _ in 0..MAX_DUMP_DEPTH {
            if cur == 0 {
                self.decl_stack.push(0);
                return Ok(());
            }
            let ty = self.btf.type_by_id(cur)?;
            let skip = matches!(ty, Type::TypeTag(_)) && !self.opts.type_tags;
            if !skip {
                self.decl_stack.push(cur);
            }
            cur = match ty {
                Type::Ptr(r)
                | Type::Volatile(r)
                | Type::Const(r)
                | Type::Restrict(r)
                | Type::TypeTag(r) => r.ty,
                Type::FuncProto(p) => p.ret,
                Type::Array(a) => a.elem,
                Type::Int(_)
                | Type::Float(_)
                | Type::Enum(_)
                | Type::Enum64(_)
                | Type::Fwd(_)
                | Type::Struct(_)
                | Type::Union(_)
                | Type::Typedef(_) => return Ok(()),
                Type::Void | Type::Func(_) | Type::Var(_) | Type::Datasec(_) | Type::DeclTag(_) => {
                    return Err(CDumpError::Unsupported {
                        id: cur,
                        name: ty.name().to_owned(),
                        kind: ty.kind(),
                        reason: format!("cannot be part of a declaration (reached from type {id})"),
                    });
                }
            };
        }
        Err(CDumpError::TooDeep {
            id,
            max: MAX_DUMP_DEPTH,
        })
    }

    fn top_kind(&self, f: &Frame) -> Result<Option<Kind>, CDumpError> {
        if f.len == 0 {
            return Ok(None);
        }
        let id = self.decl_stack[f.start + f.len - 1];
        Ok(Some(self.btf.kind(id)?))
    }

    /// Write const/volatile/restrict on top of the stack, left of a terminal type.
    fn emit_mods(&mut self, f: &mut Frame) -> Result<(), CDumpError> {
        while let Some(k) = self.top_kind(f)? {
            let word = match k {
                Kind::Volatile => "volatile ",
                Kind::Const => "const ",
                Kind::Restrict => "restrict ",
                _ => return Ok(()),
            };
            self.out.push_str(word);
            f.len -= 1;
        }
        Ok(())
    }

    /// Drop modifiers on top of the stack (qualifiers of arrays and prototypes mean nothing).
    fn drop_mods(&mut self, f: &mut Frame) -> Result<(), CDumpError> {
        while let Some(k) = self.top_kind(f)? {
            if !matches!(
                k,
                Kind::Volatile | Kind::Const | Kind::Restrict | Kind::TypeTag
            ) {
                return Ok(());
            }
            f.len -= 1;
        }
        Ok(())
    }

    fn emit_name(&mut self, name: &str, last_was_ptr: bool) {
        if !name.is_empty() && !last_was_ptr {
            self.out.push(' ');
        }
        self.out.push_str(name);
    }

    fn emit_chain(&mut self, f: &mut Frame, fname: &str, lvl: usize) -> Result<(), CDumpError> {
        let mut last_was_ptr = true;
        while f.len > 0 {
            f.len -= 1;
            let id = self.decl_stack[f.start + f.len];
            if id == 0 {
                self.emit_mods(f)?;
                self.out.push_str("void");
                last_was_ptr = false;
                continue;
            }
            let ty = self.btf.type_by_id(id)?;
            match ty {
                Type::Int(t) => {
                    self.emit_mods(f)?;
                    let name = c_int_name(t.name, t.size, t.encoding);
                    self.out.push_str(name);
                }
                Type::Float(t) => {
                    self.emit_mods(f)?;
                    self.out.push_str(c_float_name(t.name, t.size));
                }
                Type::Struct(c) | Type::Union(c) => {
                    self.emit_mods(f)?;
                    if c.name.is_empty() {
                        self.emit_struct_def(id, &c, lvl)?;
                    } else {
                        self.emit_struct_fwd(id, ty.kind() == Kind::Union);
                    }
                }
                Type::Enum(e) | Type::Enum64(e) => {
                    self.emit_mods(f)?;
                    if e.name.is_empty() {
                        self.emit_enum_def(id, &e, lvl)?;
                    } else {
                        self.out.push_str("enum ");
                        self.push_type_name(id, e.name);
                    }
                }
                Type::Fwd(fw) => {
                    self.emit_mods(f)?;
                    self.emit_struct_fwd(id, fw.is_union);
                }
                Type::Typedef(r) => {
                    self.emit_mods(f)?;
                    self.push_ident_name(id, r.name);
                }
                Type::Ptr(_) => self.out.push_str(if last_was_ptr { "*" } else { " *" }),
                Type::Volatile(_) => self.out.push_str(" volatile"),
                Type::Const(_) => self.out.push_str(" const"),
                Type::Restrict(_) => self.out.push_str(" restrict"),
                Type::TypeTag(r) => {
                    self.emit_mods(f)?;
                    if self.raw_kind_flag(id) {
                        let _ = write!(self.out, " __attribute__(({}))", r.name);
                    } else {
                        let _ = write!(self.out, " __attribute__((btf_type_tag(\"{}\")))", r.name);
                    }
                }
                Type::Array(a) => {
                    self.drop_mods(f)?;
                    if f.len == 0 {
                        self.emit_name(fname, last_was_ptr);
                        let _ = write!(self.out, "[{}]", a.nelems);
                        return Ok(());
                    }
                    let multidim = self.top_kind(f)? == Some(Kind::Array);
                    if !fname.is_empty() && !last_was_ptr {
                        self.out.push(' ');
                    }
                    if !multidim {
                        self.out.push('(');
                    }
                    self.emit_chain(f, fname, lvl)?;
                    if !multidim {
                        self.out.push(')');
                    }
                    let _ = write!(self.out, "[{}]", a.nelems);
                    return Ok(());
                }
                Type::FuncProto(p) => {
                    self.drop_mods(f)?;
                    if f.len > 0 {
                        self.out.push_str(" (");
                        self.emit_chain(f, fname, lvl)?;
                        self.out.push(')');
                    } else {
                        self.emit_name(fname, last_was_ptr);
                    }
                    self.out.push('(');
                    let n = usize::from(p.vlen());
                    let mut params = p.params();
                    if n == 0 {
                        self.out.push_str("void)");
                        return Ok(());
                    }
                    for i in 0..n {
                        let Some(param) = params.next() else { break };
                        let (pname, pty) = param?;
                        if n == 1 && pty == 0 {
                            self.out.push_str("void");
                            break;
                        }
                        if i > 0 {
                            self.out.push_str(", ");
                        }
                        // A trailing void parameter means varargs.
                        if i == n - 1 && pty == 0 {
                            self.out.push_str("...");
                            break;
                        }
                        self.emit_type_decl(pty, pname, lvl)?;
                    }
                    self.out.push(')');
                    return Ok(());
                }
                Type::Void | Type::Func(_) | Type::Var(_) | Type::Datasec(_) | Type::DeclTag(_) => {
                    return Err(CDumpError::Unsupported {
                        id,
                        name: ty.name().to_owned(),
                        kind: ty.kind(),
                        reason: "cannot be part of a declaration".to_owned(),
                    });
                }
            }
            last_was_ptr = matches!(ty, Type::Ptr(_));
        }
        self.emit_name(fname, last_was_ptr);
        Ok(())
    }

    /// `struct name` / `union name` (for named composites and forward declarations).
    pub(super) fn emit_struct_fwd(&mut self, id: TypeId, is_union: bool) {
        self.out
            .push_str(if is_union { "union " } else { "struct " });
        let name = self.btf.type_name(id).unwrap_or("");
        self.push_type_name(id, name);
    }

    /// The raw `kind_flag` bit of type `id` (for TYPE_TAG, which the views do not expose).
    fn raw_kind_flag(&self, id: TypeId) -> bool {
        let btf = match self.btf.base() {
            Some(base) if id < self.btf.start_id() => base,
            _ => self.btf,
        };
        btf.type_offset(id)
            .and_then(|off| btf.endian().read_u32(btf.bytes(), off + 4))
            .is_some_and(|info| info >> 31 != 0)
    }
}

/// The C spelling of an INT: its BTF name when that is a C type name, else a standard
/// name for its size and signedness (BTF from other front ends can say `u8`, `ssizetype`).
pub(super) fn c_int_name(name: &str, size: u32, encoding: u8) -> &str {
    let is_c = !name.is_empty()
        && name.split(' ').all(|w| {
            matches!(
                w,
                "signed" | "unsigned" | "char" | "short" | "int" | "long" | "_Bool" | "__int128"
            )
        });
    if is_c {
        return name;
    }
    if encoding & INT_BOOL != 0 {
        return "_Bool";
    }
    match (size, encoding & INT_SIGNED != 0) {
        (1, true) => "signed char",
        (1, false) => "unsigned char",
        (2, true) => "short",
        (2, false) => "unsigned short",
        (4, true) => "int",
        (4, false) => "unsigned int",
        (8, true) => "long",
        (8, false) => "unsigned long",
        (16, true) => "__int128",
        (16, false) => "unsigned __int128",
        _ => name,
    }
}

/// The C spelling of a FLOAT: its BTF name when C knows it, else one for its size.
pub(super) fn c_float_name(name: &str, size: u32) -> &str {
    match name {
        "float" | "double" | "long double" | "_Float16" | "__fp16" | "__bf16" | "_Float128"
        | "__float128" => name,
        _ => match size {
            2 => "_Float16",
            4 => "float",
            8 => "double",
            16 => "long double",
            _ => name,
        },
    }
}

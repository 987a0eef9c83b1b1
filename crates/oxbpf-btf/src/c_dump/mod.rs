//! BTF → C header: the text `bpftool btf dump file X format c` prints, as a pure function.
//!
//! [`dump_c`] writes every type of a blob as a header that compiles with
//! `clang -target bpf` and reproduces the BTF's sizes and member offsets;
//! [`dump_c_type`] writes one type with the types it needs. The algorithm is libbpf's
//! (`tools/lib/bpf/btf_dump.c`):
//!
//! - types are topologically ordered so that a type is defined before anything embeds it
//!   by value; a named struct/union reached only through pointers gets a forward
//!   declaration (`struct foo;`) when it is not yet defined, which also breaks cycles
//!   through pointers; a struct that contains itself by value is an error;
//! - anonymous structs, unions and enums are written inline where they are used;
//! - bitfields as `int x: 3;`, gaps as unnamed bitfields (`long: 64;`), unnaturally
//!   aligned layouts as `__attribute__((packed))`, over-aligned ones as
//!   `__attribute__((aligned(N)))` (see `layout.rs` for the exact rules);
//! - enums of 1, 2 and 8 bytes get `__attribute__((mode(byte|HI|word)))` where their values
//!   do not already force that size; ENUM64 values are written with `LL`/`ULL`;
//! - a name used by two different types in the same C namespace (struct/union/enum tags;
//!   typedefs and enumerators) gets `___2`, `___3`, ... on later uses, like bpftool;
//! - TYPE_TAG is written as `__attribute__((btf_type_tag("tag")))` (or, with its
//!   kind_flag set, as `__attribute__((tag))`), unless [`CDumpOptions::type_tags`] is off;
//!   DECL_TAG, FUNC, VAR and DATASEC are skipped, as bpftool does;
//! - `__builtin_va_list` typedefs are skipped (the compiler has its own).
//!
//! ```
//! use oxbpf_btf::{Btf, BtfBuilder, CDumpOptions, INT_SIGNED, dump_c};
//!
//! let mut b = BtfBuilder::new();
//! let int = b.add_int("int", 4, INT_SIGNED);
//! b.add_struct("point", 8, &[("x", int, 0), ("y", int, 32)]);
//! let blob = b.build();
//! let btf = Btf::parse(&blob)?;
//!
//! let mut header = String::new();
//! dump_c(&btf, &mut header, &CDumpOptions::default())?;
//! assert!(header.contains("struct point {\n\tint x;\n\tint y;\n};\n"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod decl;
mod layout;

use std::collections::HashMap;
use std::fmt::Write as _;

use crate::{Btf, Composite, Enum, Error, Kind, Type, TypeId};

/// How deeply type references may nest while dumping before it is treated as a loop.
pub const MAX_DUMP_DEPTH: u32 = 256;

/// What [`dump_c`] writes around the types.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CDumpOptions {
    /// Wrap the header in `#ifndef __VMLINUX_H__` / `#define` / `#endif`.
    pub header_guard: bool,
    /// Push `__attribute__((preserve_access_index))` on every record (CO-RE), guarded by
    /// `#ifndef BPF_NO_PRESERVE_ACCESS_INDEX`.
    pub preserve_access_index: bool,
    /// Write TYPE_TAGs as attributes (else they are dropped from declarations).
    pub type_tags: bool,
}

impl Default for CDumpOptions {
    fn default() -> CDumpOptions {
        CDumpOptions {
            header_guard: true,
            preserve_access_index: true,
            type_tags: true,
        }
    }
}

/// Why BTF could not be written as C.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CDumpError {
    /// Reading the BTF failed (a corrupt type, an id out of range, ...).
    #[error(transparent)]
    Btf(#[from] Error),
    /// A type contains itself by value (not through a pointer): no C definition exists.
    #[error("BTF type {id} {name:?}: unsatisfiable type cycle (the type contains itself by value)")]
    Cycle {
        /// A type on the cycle.
        id: TypeId,
        /// Its name.
        name: String,
    },
    /// References nest deeper than [`MAX_DUMP_DEPTH`] (a loop in the BTF, most likely).
    #[error("BTF type {id}: type references nest deeper than {max} levels (a reference loop?)")]
    TooDeep {
        /// The type at which the limit was hit.
        id: TypeId,
        /// The depth limit.
        max: u32,
    },
    /// A type that has no C spelling where it is used.
    #[error("BTF type {id} {name:?} ({kind:?}): {reason}")]
    Unsupported {
        /// The type.
        id: TypeId,
        /// Its name.
        name: String,
        /// Its kind.
        kind: Kind,
        /// What is wrong.
        reason: String,
    },
}

/// Write all types of `btf` to `out` as a C header (see the [module docs](self)).
///
/// On error `out` holds what was written so far.
pub fn dump_c(btf: &Btf<'_>, out: &mut String, opts: &CDumpOptions) -> Result<(), CDumpError> {
    if opts.header_guard {
        out.push_str("#ifndef __VMLINUX_H__\n#define __VMLINUX_H__\n\n");
    }
    if opts.preserve_access_index {
        out.push_str(
            "#ifndef BPF_NO_PRESERVE_ACCESS_INDEX\n#pragma clang attribute push \
             (__attribute__((preserve_access_index)), apply_to = record)\n#endif\n\n",
        );
    }
    let mut d = Dumper::new(btf, out, opts)?;
    for id in 1..btf.len() as TypeId {
        d.dump_type(id)?;
    }
    if opts.preserve_access_index {
        out.push_str(
            "#ifndef BPF_NO_PRESERVE_ACCESS_INDEX\n#pragma clang attribute pop\n#endif\n\n",
        );
    }
    if opts.header_guard {
        out.push_str("#endif /* __VMLINUX_H__ */\n");
    }
    Ok(())
}

/// Write type `id` and every type it needs (definitions or forward declarations) to
/// `out`, without the header guard and pragma. FUNC, VAR, DATASEC and DECL_TAG write
/// nothing.
pub fn dump_c_type(
    btf: &Btf<'_>,
    id: TypeId,
    out: &mut String,
    opts: &CDumpOptions,
) -> Result<(), CDumpError> {
    if id as usize >= btf.len() {
        return Err(Error::TypeIdOutOfRange {
            id,
            count: btf.len(),
        }
        .into());
    }
    Dumper::new(btf, out, opts)?.dump_type(id)
}

#[derive(Clone, Copy, Default, PartialEq, Eq)]
enum Order {
    #[default]
    None,
    Ordering,
    Ordered,
}

#[derive(Clone, Copy, Default, PartialEq, Eq)]
enum Emit {
    #[default]
    None,
    Emitting,
    Emitted,
}

#[derive(Clone, Copy, Default)]
struct State {
    order: Order,
    emit: Emit,
    fwd_emitted: bool,
    /// Some other type refers to this one (an unreferenced anonymous enum is a top-level
    /// declaration of constants).
    referenced: bool,
    /// 0: name not resolved yet; 1: the name as is; n: `name___n`.
    dup: u32,
}

/// The dumping state over one blob (libbpf's `struct btf_dump`).
struct Dumper<'o, 'a> {
    btf: &'o Btf<'a>,
    out: &'o mut String,
    opts: &'o CDumpOptions,
    states: Vec<State>,
    queue: Vec<TypeId>,
    decl_stack: Vec<TypeId>,
    /// Occurrences of struct/union/enum tags.
    type_names: HashMap<&'a str, u32>,
    /// Occurrences of typedef names and enumerators (the ordinary identifier namespace).
    ident_names: HashMap<&'a str, u32>,
    layouts: HashMap<TypeId, layout::Layout>,
}

impl<'o, 'a> Dumper<'o, 'a> {
    fn new(
        btf: &'o Btf<'a>,
        out: &'o mut String,
        opts: &'o CDumpOptions,
    ) -> Result<Self, CDumpError> {
        let mut states = vec![State::default(); btf.len()];
        states[0].order = Order::Ordered;
        states[0].emit = Emit::Emitted;
        let mut mark = |id: TypeId| {
            if let Some(s) = states.get_mut(id as usize) {
                s.referenced = true;
            }
        };
        for t in btf.types() {
            match t?.1 {
                Type::Array(a) => {
                    mark(a.elem);
                    mark(a.index);
                }
                Type::Struct(c) | Type::Union(c) => {
                    for m in c.members() {
                        mark(m?.ty);
                    }
                }
                Type::FuncProto(p) => {
                    mark(p.ret);
                    for param in p.params() {
                        mark(param?.1);
                    }
                }
                Type::Datasec(d) => {
                    for v in d.vars() {
                        mark(v?.ty);
                    }
                }
                other => {
                    if let Some(r) = other.referenced() {
                        mark(r);
                    }
                }
            }
        }
        Ok(Dumper {
            btf,
            out,
            opts,
            states,
            queue: Vec::new(),
            decl_stack: Vec::new(),
            type_names: HashMap::new(),
            ident_names: HashMap::new(),
            layouts: HashMap::new(),
        })
    }

    fn dump_type(&mut self, id: TypeId) -> Result<(), CDumpError> {
        self.queue.clear();
        self.order(id, false, 0)?;
        let queue = std::mem::take(&mut self.queue);
        for &q in &queue {
            self.emit_type(q, 0, 0)?;
        }
        self.queue = queue;
        Ok(())
    }

    fn state(&mut self, id: TypeId) -> &mut State {
        // Ids were checked by type_by_id before any state is touched.
        let idx = (id as usize).min(self.states.len() - 1);
        &mut self.states[idx]
    }

    /// Topological ordering; returns whether `id` is a strong dependency (must be defined,
    /// not just declared, before its user). libbpf's `btf_dump_order_type`.
    fn order(&mut self, id: TypeId, through_ptr: bool, depth: u32) -> Result<bool, CDumpError> {
        self.check_depth(id, depth)?;
        let ty = self.btf.type_by_id(id)?;
        match self.state(id).order {
            Order::Ordered => return Ok(true),
            Order::Ordering => {
                let named_composite =
                    matches!(ty, Type::Struct(_) | Type::Union(_)) && !ty.name().is_empty();
                if named_composite && through_ptr {
                    return Ok(false);
                }
                return Err(CDumpError::Cycle {
                    id,
                    name: ty.name().to_owned(),
                });
            }
            Order::None => {}
        }
        let d = depth + 1;
        Ok(match ty {
            Type::Void => true,
            Type::Int(_) | Type::Float(_) => {
                self.state(id).order = Order::Ordered;
                false
            }
            Type::Ptr(r) => {
                let strong = self.order(r.ty, true, d)?;
                self.state(id).order = Order::Ordered;
                strong
            }
            Type::Array(a) => self.order(a.elem, false, d)?,
            Type::Struct(c) | Type::Union(c) => {
                if through_ptr && !c.name.is_empty() {
                    return Ok(false);
                }
                self.state(id).order = Order::Ordering;
                for m in c.members() {
                    self.order(m?.ty, false, d)?;
                }
                if !c.name.is_empty() {
                    self.queue.push(id);
                }
                self.state(id).order = Order::Ordered;
                true
            }
            Type::Enum(_) | Type::Enum64(_) | Type::Fwd(_) => {
                if !ty.name().is_empty() || !self.state(id).referenced {
                    self.queue.push(id);
                }
                self.state(id).order = Order::Ordered;
                true
            }
            Type::Typedef(r) => {
                let strong = self.order(r.ty, through_ptr, d)?;
                if through_ptr && !strong {
                    return Ok(false);
                }
                self.queue.push(id);
                self.state(id).order = Order::Ordered;
                true
            }
            Type::Volatile(r) | Type::Const(r) | Type::Restrict(r) | Type::TypeTag(r) => {
                self.order(r.ty, through_ptr, d)?
            }
            Type::FuncProto(p) => {
                let mut strong = self.order(p.ret, through_ptr, d)?;
                for param in p.params() {
                    strong |= self.order(param?.1, through_ptr, d)?;
                }
                strong
            }
            Type::Func(_) | Type::Var(_) | Type::Datasec(_) | Type::DeclTag(_) => {
                self.state(id).order = Order::Ordered;
                false
            }
        })
    }

    /// Emit the definition of queued type `id`, first declaring what it refers to;
    /// `cont` is the enclosing named struct (0 at top level). libbpf's `btf_dump_emit_type`.
    fn emit_type(&mut self, id: TypeId, cont: TypeId, depth: u32) -> Result<(), CDumpError> {
        self.check_depth(id, depth)?;
        let ty = self.btf.type_by_id(id)?;
        let st = *self.state(id);
        if st.emit == Emit::Emitted {
            return Ok(());
        }
        let top_level = cont == 0;
        let d = depth + 1;
        if st.emit == Emit::Emitting {
            if st.fwd_emitted {
                return Ok(());
            }
            match ty {
                Type::Struct(c) | Type::Union(c) => {
                    // A reference to the struct being defined needs no declaration.
                    if id == cont || c.name.is_empty() {
                        return Ok(());
                    }
                    self.emit_struct_fwd(id, ty.kind() == Kind::Union);
                    self.out.push_str(";\n\n");
                    self.state(id).fwd_emitted = true;
                }
                Type::Typedef(r) => {
                    if !is_blacklisted(r.name) {
                        self.emit_typedef_def(id, r.name, r.ty, 0)?;
                        self.out.push_str(";\n\n");
                    }
                    self.state(id).fwd_emitted = true;
                }
                _ => {}
            }
            return Ok(());
        }
        match ty {
            Type::Int(_) | Type::Float(_) => self.state(id).emit = Emit::Emitted,
            Type::Enum(e) | Type::Enum64(e) => {
                if top_level {
                    self.emit_enum_def(id, &e, 0)?;
                    self.out.push_str(";\n\n");
                }
                self.state(id).emit = Emit::Emitted;
            }
            Type::Ptr(r)
            | Type::Volatile(r)
            | Type::Const(r)
            | Type::Restrict(r)
            | Type::TypeTag(r) => self.emit_type(r.ty, cont, d)?,
            Type::Array(a) => self.emit_type(a.elem, cont, d)?,
            Type::Fwd(f) => {
                self.emit_struct_fwd(id, f.is_union);
                self.out.push_str(";\n\n");
                self.state(id).emit = Emit::Emitted;
            }
            Type::Typedef(r) => {
                self.state(id).emit = Emit::Emitting;
                self.emit_type(r.ty, id, d)?;
                if !self.state(id).fwd_emitted && !is_blacklisted(r.name) {
                    self.emit_typedef_def(id, r.name, r.ty, 0)?;
                    self.out.push_str(";\n\n");
                }
                self.state(id).emit = Emit::Emitted;
            }
            Type::Struct(c) | Type::Union(c) => {
                self.state(id).emit = Emit::Emitting;
                if top_level || c.name.is_empty() {
                    let new_cont = if c.name.is_empty() { cont } else { id };
                    for m in c.members() {
                        self.emit_type(m?.ty, new_cont, d)?;
                    }
                } else if !st.fwd_emitted && id != cont {
                    self.emit_struct_fwd(id, ty.kind() == Kind::Union);
                    self.out.push_str(";\n\n");
                    self.state(id).fwd_emitted = true;
                }
                if top_level {
                    self.emit_struct_def(id, &c, 0)?;
                    self.out.push_str(";\n\n");
                    self.state(id).emit = Emit::Emitted;
                } else {
                    self.state(id).emit = Emit::None;
                }
            }
            Type::FuncProto(p) => {
                self.emit_type(p.ret, cont, d)?;
                for param in p.params() {
                    self.emit_type(param?.1, cont, d)?;
                }
            }
            Type::Void | Type::Func(_) | Type::Var(_) | Type::Datasec(_) | Type::DeclTag(_) => {}
        }
        Ok(())
    }

    fn newline(&mut self, lvl: usize) {
        self.out.push('\n');
        for _ in 0..lvl {
            self.out.push('\t');
        }
    }

    fn emit_struct_def(
        &mut self,
        id: TypeId,
        c: &Composite<'a>,
        lvl: usize,
    ) -> Result<(), CDumpError> {
        let is_struct = matches!(self.btf.type_by_id(id)?, Type::Struct(_));
        let layout = self.layout(id, c, 0)?;
        self.out
            .push_str(if is_struct { "struct" } else { "union" });
        if !c.name.is_empty() {
            self.out.push(' ');
            self.push_type_name(id, c.name);
        }
        self.out.push_str(" {");
        let mut off = 0u64;
        let mut prev_bitfield = false;
        for m in c.members() {
            let m = m?;
            let m_off = u64::from(m.bit_offset);
            let m_sz = u64::from(m.bitfield_size);
            let m_align = if layout.packed {
                1
            } else {
                self.align_of(m.ty, 0)?
            };
            let in_bitfield = prev_bitfield && m_sz != 0;
            if is_struct {
                self.emit_bit_padding(off, m_off, m_align, in_bitfield, lvl + 1);
            }
            self.newline(lvl + 1);
            self.emit_type_decl(m.ty, m.name, lvl + 1)?;
            if m_sz != 0 {
                let _ = write!(self.out, ": {m_sz}");
                off = m_off + m_sz;
                prev_bitfield = true;
            } else {
                let size = self.btf.resolve_size(m.ty).map_or(0, u64::from);
                off = m_off + size * 8;
                prev_bitfield = false;
            }
            self.out.push(';');
        }
        let size_bits = u64::from(c.size) * 8;
        if is_struct && layout.aligned.is_none() {
            let align = layout.align;
            self.emit_bit_padding(off, size_bits, align, false, lvl + 1);
        } else if !is_struct
            && layout.aligned.is_none()
            && layout.end.next_multiple_of(u64::from(layout.align)) < u64::from(c.size)
        {
            // A union is as large as its largest member: make one of padding.
            self.newline(lvl + 1);
            self.out.push_str("struct {");
            self.emit_bit_padding(0, size_bits, 1, false, lvl + 2);
            self.newline(lvl + 1);
            self.out.push_str("};");
        }
        if c.vlen() > 0 || c.size > 0 {
            self.newline(lvl);
        }
        self.out.push('}');
        if layout.packed {
            self.out.push_str(" __attribute__((packed))");
        }
        if let Some(n) = layout.aligned {
            let _ = write!(self.out, " __attribute__((aligned({n})))");
        }
        Ok(())
    }

    fn emit_enum_def(&mut self, id: TypeId, e: &Enum<'a>, lvl: usize) -> Result<(), CDumpError> {
        self.out.push_str("enum");
        if !e.name.is_empty() {
            self.out.push(' ');
            self.push_type_name(id, e.name);
        }
        if e.vlen() == 0 {
            return Ok(());
        }
        self.out.push_str(" {");
        let (mut min, mut max) = (0i128, 0i128);
        for v in e.values() {
            let (name, value) = v?;
            let dup = bump(&mut self.ident_names, name);
            self.newline(lvl + 1);
            self.out.push_str(name);
            if dup > 1 {
                let _ = write!(self.out, "___{dup}");
            }
            // Values are sign- or zero-extended from their stored width by the reader.
            let raw = value as u64;
            min = min.min(value);
            max = max.max(value);
            if e.is_enum64() {
                if e.signed && value as i64 == i64::MIN {
                    // The literal 9223372036854775808 does not fit in long long.
                    let _ = write!(self.out, " = ({}LL - 1),", i64::MIN + 1);
                } else if e.signed {
                    let _ = write!(self.out, " = {}LL,", value as i64);
                } else {
                    let _ = write!(self.out, " = {raw}ULL,");
                }
            } else if e.signed {
                let _ = write!(self.out, " = {},", value as i32);
            } else {
                let _ = write!(self.out, " = {},", value as u32);
            }
        }
        self.newline(lvl);
        self.out.push('}');
        match e.size {
            1 => self.out.push_str(" __attribute__((mode(byte)))"),
            2 => self.out.push_str(" __attribute__((mode(HI)))"),
            // Values that fit in int or unsigned int leave the enum 4 bytes wide.
            8 if (min >= i128::from(i32::MIN) && max <= i128::from(i32::MAX))
                || (min >= 0 && max <= i128::from(u32::MAX)) =>
            {
                self.out.push_str(" __attribute__((mode(word)))")
            }
            _ => {}
        }
        Ok(())
    }

    fn emit_typedef_def(
        &mut self,
        id: TypeId,
        name: &'a str,
        target: TypeId,
        lvl: usize,
    ) -> Result<(), CDumpError> {
        if target == 0 && name == "__gnuc_va_list" {
            self.out
                .push_str("typedef __builtin_va_list __gnuc_va_list");
            return Ok(());
        }
        self.out.push_str("typedef ");
        let mut ident = String::new();
        self.ident_name_into(id, name, &mut ident);
        self.emit_type_decl(target, &ident, lvl)
    }

    /// Write the tag name of struct/union/enum/fwd `id`, with its `___N` suffix if any.
    fn push_type_name(&mut self, id: TypeId, name: &'a str) {
        let fwd_like = match self.btf.type_by_id(id) {
            Ok(Type::Fwd(_)) => true,
            Ok(Type::Enum(e) | Type::Enum64(e)) => e.vlen() == 0,
            _ => false,
        };
        let dup = self.resolve(id, name, fwd_like, true);
        self.out.push_str(name);
        if dup > 1 {
            let _ = write!(self.out, "___{dup}");
        }
    }

    /// Write the typedef name of `id`, with its `___N` suffix if any.
    fn push_ident_name(&mut self, id: TypeId, name: &'a str) {
        let dup = self.resolve(id, name, false, false);
        self.out.push_str(name);
        if dup > 1 {
            let _ = write!(self.out, "___{dup}");
        }
    }

    fn ident_name_into(&mut self, id: TypeId, name: &'a str, into: &mut String) {
        let dup = self.resolve(id, name, false, false);
        into.push_str(name);
        if dup > 1 {
            let _ = write!(into, "___{dup}");
        }
    }

    /// The occurrence number of `id`'s name in its namespace (assigned on first use).
    fn resolve(&mut self, id: TypeId, name: &'a str, fwd_like: bool, tag: bool) -> u32 {
        let st = self.state(id).dup;
        if st != 0 {
            return st;
        }
        let dup = if name.is_empty() || fwd_like {
            1
        } else if tag {
            bump(&mut self.type_names, name)
        } else {
            bump(&mut self.ident_names, name)
        };
        self.state(id).dup = dup;
        dup
    }
}

/// Count one more use of `name`; returns the new count.
fn bump<'a>(names: &mut HashMap<&'a str, u32>, name: &'a str) -> u32 {
    let n = names.entry(name).or_insert(0);
    *n += 1;
    *n
}

/// Typedefs the compiler defines itself.
fn is_blacklisted(name: &str) -> bool {
    name == "__builtin_va_list"
}

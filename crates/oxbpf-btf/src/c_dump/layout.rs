//! Struct/union layout decisions for the C dump: alignment of each type under the BPF
//! target's C ABI, when a composite needs `__attribute__((packed))` or
//! `__attribute__((aligned(N)))`, and the unnamed bitfields that pad gaps.
//!
//! The rules follow libbpf's `btf_dump.c` (`btf__align_of`, `btf_is_struct_packed`,
//! `btf_dump_emit_bit_padding`), with three additions: a 16-byte int aligns to 16 (clang's
//! BPF data layout has `i128:128`), a bitfield that straddles a storage unit of its type
//! marks the struct packed, and trailing space beyond the natural size is expressed as
//! `aligned(N)` when some power of two N gives exactly the BTF size (a union cannot be
//! padded any other way).

use std::fmt::Write as _;

use super::{CDumpError, Dumper, MAX_DUMP_DEPTH};
use crate::{Composite, Type, TypeId};

/// Pointer size of the BPF target in bytes.
pub(super) const PTR_SIZE: u32 = 8;

/// How a composite is to be written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Layout {
    /// Needs `__attribute__((packed))`.
    pub(super) packed: bool,
    /// Needs `__attribute__((aligned(N)))`.
    pub(super) aligned: Option<u32>,
    /// The alignment the emitted definition has.
    pub(super) align: u32,
    /// Bytes up to the end of the last member.
    pub(super) end: u64,
}

impl Dumper<'_, '_> {
    /// Alignment of type `id` as the dumped C declares it.
    pub(super) fn align_of(&mut self, id: TypeId, depth: u32) -> Result<u32, CDumpError> {
        self.check_depth(id, depth)?;
        Ok(match self.btf.type_by_id(id)? {
            Type::Int(t) if t.size == 16 => 16,
            Type::Int(t) => t.size.clamp(1, PTR_SIZE),
            Type::Enum(e) | Type::Enum64(e) => e.size.clamp(1, PTR_SIZE),
            Type::Float(f) => f.size.clamp(1, PTR_SIZE),
            Type::Ptr(_) => PTR_SIZE,
            Type::Typedef(r)
            | Type::Volatile(r)
            | Type::Const(r)
            | Type::Restrict(r)
            | Type::TypeTag(r) => self.align_of(r.ty, depth + 1)?,
            Type::Array(a) => self.align_of(a.elem, depth + 1)?,
            Type::Struct(c) | Type::Union(c) => self.layout(id, &c, depth + 1)?.align,
            // Not a value type (void, fwd, func, ...): no constraint.
            _ => 1,
        })
    }

    /// The layout decision for composite `id` (cached).
    pub(super) fn layout(
        &mut self,
        id: TypeId,
        c: &Composite<'_>,
        depth: u32,
    ) -> Result<Layout, CDumpError> {
        if let Some(l) = self.layouts.get(&id) {
            return Ok(*l);
        }
        self.check_depth(id, depth)?;
        let mut natural = 1u32;
        let mut packed = false;
        let mut end_bits = 0u64;
        for m in c.members() {
            let m = m?;
            let align = self.align_of(m.ty, depth + 1)?;
            natural = natural.max(align);
            let off = u64::from(m.bit_offset);
            if m.bitfield_size == 0 {
                if off % (8 * u64::from(align)) != 0 {
                    packed = true;
                }
                let size = self.btf.resolve_size(m.ty).map_or(0, u64::from);
                end_bits = end_bits.max(off + size * 8);
            } else {
                let bits = u64::from(m.bitfield_size);
                let unit = self.btf.resolve_size(m.ty).map_or(0, u64::from) * 8;
                // A non-packed bitfield lives inside one storage unit of its type.
                if unit > 0 && off / unit != (off + bits - 1) / unit {
                    packed = true;
                }
                end_bits = end_bits.max(off + bits);
            }
        }
        let size = u64::from(c.size);
        if size % u64::from(natural) != 0 {
            packed = true;
        }
        let mut layout = Layout {
            packed,
            aligned: None,
            align: if packed { 1 } else { natural },
            end: end_bits.div_ceil(8),
        };
        let end = layout.end;
        if !packed && end.next_multiple_of(u64::from(natural)) < size {
            // Trailing space: an over-aligned type. Find the least alignment that explains it.
            let mut n = u64::from(natural) * 2;
            while n <= size && n <= 1 << 16 {
                if end.next_multiple_of(n) == size {
                    layout.aligned = Some(n as u32);
                    layout.align = n as u32;
                    break;
                }
                n *= 2;
            }
            // Without a fitting alignment a struct gets explicit trailing padding instead.
        }
        self.layouts.insert(id, layout);
        Ok(layout)
    }

    /// Emit unnamed bitfields that move the offset from `cur` to `next` bits, given that the
    /// next member aligns to `next_align` bytes (libbpf's `btf_dump_emit_bit_padding`).
    pub(super) fn emit_bit_padding(
        &mut self,
        cur: u64,
        next: u64,
        next_align: u32,
        in_bitfield: bool,
        lvl: usize,
    ) {
        const PADS: [(&str, u64); 4] = [
            ("long", PTR_SIZE as u64 * 8),
            ("int", 32),
            ("short", 16),
            ("char", 8),
        ];
        if cur >= next {
            return;
        }
        let mut cur = cur;
        let (mut pad_type, mut pad_bits) = PADS[PADS.len() - 1];
        let mut new_off = 0;
        for &(name, bits) in &PADS {
            pad_type = name;
            pad_bits = bits;
            new_off = cur.next_multiple_of(bits);
            if new_off <= next {
                break;
            }
        }
        if new_off > cur && new_off <= next {
            let natural = cur.next_multiple_of(u64::from(next_align) * 8);
            if in_bitfield
                || (new_off == next && natural != new_off)
                || (new_off != next && next - new_off <= new_off - cur)
            {
                let width = if in_bitfield { new_off - cur } else { 0 };
                self.newline(lvl);
                let _ = write!(self.out, "{pad_type}: {width};");
            }
            cur = new_off;
        }
        while cur < next {
            let bits = (next - cur).min(pad_bits);
            if bits == pad_bits {
                self.newline(lvl);
                let _ = write!(self.out, "{pad_type}: {pad_bits};");
                cur += bits;
                continue;
            }
            // The remainder: the smallest type that holds it.
            for &(name, pbits) in PADS.iter().rev() {
                if pbits >= bits {
                    self.newline(lvl);
                    let _ = write!(self.out, "{name}: {bits};");
                    cur += bits;
                    break;
                }
            }
        }
    }

    pub(super) fn check_depth(&self, id: TypeId, depth: u32) -> Result<(), CDumpError> {
        if depth > MAX_DUMP_DEPTH {
            return Err(CDumpError::TooDeep {
                id,
                max: MAX_DUMP_DEPTH,
            });
        }
        Ok(())
    }
}

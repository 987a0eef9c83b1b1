//! The generated layouts behave like C: bitfield accessors put bits where a little-endian
//! C compiler does, union accessors share bytes, enums keep unknown values, and every
//! fixture's generated types exist with their BTF sizes (the compile-time assertions
//! already held for the crate to build).

use oxbpf::sys::pod::{bytes_of, from_bytes, zeroed};
use oxbpf_gen_test::fixtures;

#[test]
fn fixture_types_have_their_btf_sizes() {
    assert_eq!(size_of::<fixtures::execsnoop::exec_event>(), 156);
    assert_eq!(size_of::<fixtures::globals::Rodata>(), 16);
    assert_eq!(size_of::<fixtures::globals::Bss>(), 16);
    assert_eq!(size_of::<fixtures::globals::DataCustom>(), 4);
}

#[test]
fn rodata_defaults_come_from_the_object() {
    let mut b = fixtures::globals::GlobalsSkel::open().unwrap();
    assert_eq!(b.rodata().target_tgid, 0);
    assert_eq!(b.rodata().step, 1, "const volatile __u64 step = 1");
}

#[test]
fn stale_bindings_are_refused_at_open() {
    let e = fixtures::stale::StaleSkel::open().unwrap_err().to_string();
    assert!(e.contains("regenerate them"), "{e}");
    assert!(e.contains(".rodata") && e.contains("target_tgid"), "{e}");
}

#[cfg(oxbpf_gen_layouts)]
mod layouts {
    use super::*;
    use oxbpf_gen_test::layouts as l;

    #[test]
    fn bitfields_land_where_c_puts_them() {
        let mut b: l::bits = zeroed();
        b.set_a(5);
        b.set_b(31);
        b.set_c(-3);
        b.set_d(0xab_cdef_0123);
        b.tail = 0x42;
        // Little-endian C: fields fill the unit from the least significant bit.
        let c7 = (-3i64 as u64) & 0x7f;
        let want = 5u64 | (31 << 3) | (c7 << 8) | (0xab_cdef_0123u64 << 15) | (0x42u64 << 56);
        assert_eq!(bytes_of(&b), want.to_le_bytes());
        assert_eq!((b.a(), b.b(), b.c(), b.d()), (5, 31, -3, 0xab_cdef_0123));
        b.set_a(9); // truncated to 3 bits; neighbours untouched
        assert_eq!((b.a(), b.b(), b.c()), (1, 31, -3));
    }

    #[test]
    fn union_members_share_bytes() {
        let mut n: l::num = zeroed();
        n.set_f(1.0);
        assert_eq!(n.u(), 1.0f32.to_bits());
        n.set_i(-1);
        assert_eq!(n.u(), u32::MAX);
        assert_eq!(n.b()[..4], [0xff; 4]);
        let mut h: l::anon_holder = zeroed();
        h.__anon_0.set_l(0x1_0000_0002);
        assert_eq!(h.__anon_0.u(), 2);
        assert_eq!(std::mem::offset_of!(l::anon_holder, inner), 16);
    }

    #[test]
    fn enums_are_newtypes_that_keep_unknown_values() {
        assert_eq!(l::color::BLUE.0, 0xffff_ffff);
        assert_eq!(l::big::BIG_B.0, 0x1_0000_0000, "enum64 values are u64");
        assert_eq!(l::sgn::NEG.0, -2);
        let unknown: l::color = from_bytes(&7u32.to_ne_bytes()).unwrap();
        assert_eq!(unknown, l::color(7));
    }

    #[test]
    fn packed_aligned_flexible_and_char_arrays() {
        assert_eq!((size_of::<l::pk>(), align_of::<l::pk>()), (7, 1));
        assert_eq!((size_of::<l::al>(), align_of::<l::al>()), (16, 16));
        assert_eq!(size_of::<l::flex>(), 4, "flexible array is [u8; 0]");
        assert_eq!(std::mem::offset_of!(l::flex, data), 4);
        assert_eq!(size_of::<l::everything>(), 128);
        let e: l::everything = zeroed();
        let _: [i8; 16] = e.name;
        let _: [u8; 4] = e.uname;
        let _: u8 = e.flag;
        let _: u64 = e.ptr;
        let pk = l::pk {
            c: 1,
            x: 0x0403_0201,
            y: 7,
        };
        assert_eq!(bytes_of(&pk), [1, 1, 2, 3, 4, 7, 0]);
    }

    #[test]
    fn layouts_rodata_is_typed() {
        let mut b = l::LayoutsSkel::open().unwrap();
        assert_eq!(b.rodata().al_ro.x, 7);
        b.rodata().al_ro.x = 9;
        assert_eq!(b.rodata().al_ro.x, 9);
    }
}

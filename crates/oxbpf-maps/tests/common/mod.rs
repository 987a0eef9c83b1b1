//! Helpers shared by the kernel tests of this crate: map creation that skips where the
//! kernel refuses, a few instruction encodings, and loading and running hand-assembled
//! XDP programs (BPF_PROG_TEST_RUN).

#![allow(dead_code)]

use oxbpf_asm::{CLASS_ALU64, CLASS_JMP, Insn, SRC_K, SRC_X, insns_to_bytes};
use oxbpf_maps::Map;
use oxbpf_sys::ProgFd;
use oxbpf_sys::bpf::{self, MapCreate, ProgLoad};

/// XDP, not SYSCALL: `oxbpf_sys::bpf::prog_test_run` passes `repeat = 1`, which the
/// kernel rejects (EINVAL) for BPF_PROG_TYPE_SYSCALL; XDP test runs accept it and the
/// ring buffer helpers are available to every program type.
pub const BPF_PROG_TYPE_XDP: u32 = 6;

/// Creates a map, or prints why the kernel refused and returns `None`.
pub fn create(name: &str, t: u32, k: u32, v: u32, n: u32) -> Option<Map> {
    // Kernels before 5.11 charge BPF memory to RLIMIT_MEMLOCK (64 KiB by default, and
    // freed objects stay charged for a while): the facade raises it, these lower-layer
    // tests do it themselves as a user of this crate must (refused on newer hosts: fine).
    let _ = oxbpf_sys::raise_memlock_rlimit();
    let mut attr = MapCreate::new(t, k, v, n);
    attr.map_name = bpf::object_name(name);
    match bpf::map_create(&attr) {
        Ok(fd) => Some(Map::from_fd(name, fd).expect("map info")),
        Err(e) => {
            eprintln!("skipping: cannot create map {name:?}: {e} (needs root / CAP_BPF)");
            None
        }
    }
}

// --- instruction helpers (encodings from the kernel's include/uapi/linux/bpf.h) ---

/// `r{dst} = *(u64 *)(r{src} + off)`.
pub fn ldx_dw(dst: u8, src: u8, off: i16) -> Insn {
    Insn::new(0x79, dst, src, off, 0) // BPF_LDX | BPF_MEM | BPF_DW
}
/// `*(u64 *)(r{dst} + off) = r{src}`.
pub fn stx_dw(dst: u8, off: i16, src: u8) -> Insn {
    Insn::new(0x7b, dst, src, off, 0) // BPF_STX | BPF_MEM | BPF_DW
}
/// `r{dst} = r{src}`.
pub fn mov_reg(dst: u8, src: u8) -> Insn {
    Insn::new(CLASS_ALU64 | 0xb0 | SRC_X, dst, src, 0, 0)
}
/// `r{dst} += imm`.
pub fn add_imm(dst: u8, imm: i32) -> Insn {
    Insn::new(CLASS_ALU64 | SRC_K, dst, 0, 0, imm) // BPF_ADD = 0x00
}
/// `if r{dst} == imm goto +off`.
pub fn jeq_imm(dst: u8, imm: i32, off: i16) -> Insn {
    Insn::new(CLASS_JMP | 0x10 | SRC_K, dst, 0, off, imm)
}
/// `if r{dst} != imm goto +off`.
pub fn jne_imm(dst: u8, imm: i32, off: i16) -> Insn {
    Insn::new(CLASS_JMP | 0x50 | SRC_K, dst, 0, off, imm)
}
/// `goto +off`.
pub fn ja(off: i16) -> Insn {
    Insn::new(CLASS_JMP, 0, 0, off, 0)
}
/// `r{dst} = *(u32 *)(r{src} + off)`.
pub fn ldx_w(dst: u8, src: u8, off: i16) -> Insn {
    Insn::new(0x61, dst, src, off, 0) // BPF_LDX | BPF_MEM | BPF_W
}
/// `if r{dst} > r{src} goto +off` (unsigned).
pub fn jgt_reg(dst: u8, src: u8, off: i16) -> Insn {
    Insn::new(CLASS_JMP | 0x20 | SRC_X, dst, src, off, 0)
}

/// Slots 0..7: loads the packet's first two u64s into r6 and r7; jumps to slot
/// `fail_slot` if the packet is shorter than 16 bytes.
pub fn read_packet(fail_slot: i16) -> [Insn; 7] {
    [
        ldx_w(2, 1, 0), // r2 = ctx->data
        ldx_w(3, 1, 4), // r3 = ctx->data_end
        mov_reg(4, 2),
        add_imm(4, 16),
        jgt_reg(4, 3, fail_slot - 5), // at slot 4
        ldx_dw(6, 2, 0),
        ldx_dw(7, 2, 8),
    ]
}

/// `r{dst} = map` (ld_imm64 with BPF_PSEUDO_MAP_FD).
pub fn ld_map(dst: u8, map: &Map) -> [Insn; 2] {
    Insn::ld_imm64(
        dst,
        1, /* BPF_PSEUDO_MAP_FD */
        map.map_fd().raw() as u64,
    )
}

/// Loads `insns` as an XDP program; panics with the verifier log if refused.
pub fn load(name: &str, insns: &[Insn]) -> ProgFd {
    let bytes = insns_to_bytes(insns);
    let mut log = vec![0u8; 1 << 16];
    let out = bpf::prog_load(
        &ProgLoad {
            prog_type: BPF_PROG_TYPE_XDP,
            insns: &bytes,
            license: "GPL",
            name,
            ..Default::default()
        },
        1,
        &mut log,
    );
    match out.result {
        Ok(p) => p,
        Err(e) => panic!(
            "loading {name}: {e}\n{}",
            String::from_utf8_lossy(&log[..out.log_len])
        ),
    }
}

/// Runs `prog` once on the 16-byte packet `{a, b}` and returns its return value.
pub fn run(prog: &ProgFd, a: u64, b: u64) -> i64 {
    let data = [a.to_ne_bytes(), b.to_ne_bytes()].concat();
    let r = bpf::prog_test_run(prog.as_fd(), &mut [], &data).expect("BPF_PROG_TEST_RUN");
    i64::from(r.retval as i32)
}

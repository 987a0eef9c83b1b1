//! USDT probes (`sys/sdt.h` `DTRACE_PROBE*`/`STAP_PROBE*`): the `.note.stapsdt` notes of
//! a binary, their argument specs, and a uprobe at every site whose BPF cookie indexes a
//! spec map the program reads its arguments through.
//!
//! # Notes
//!
//! Each probe site is an ELF note of owner `stapsdt`, type 3, whose descriptor is three
//! addresses (pc, the link-time address of `.stapsdt.base`, the semaphore, 0 if none)
//! and three NUL-terminated strings: provider, name, argument specs. If the binary was
//! prelinked or its `.stapsdt.base` moved, the pc is adjusted by the difference between
//! the section's address and the note's base. The pc and the semaphore are then turned
//! into file offsets through the PT_LOAD segments; the kernel increments the semaphore
//! while the uprobe is attached (`ref_ctr_offset` of the uprobe PMU, 4.20+).
//!
//! # The spec map (what the BPF side reads)
//!
//! An array map (key `__u32` spec id, value `struct oxbpf_usdt_spec`), declared by the
//! program as `oxbpf_usdt_specs`. Every site is attached with its spec id as the BPF
//! cookie; the program looks the spec up by `bpf_get_attach_cookie(ctx)`:
//!
//! ```c
//! struct oxbpf_usdt_arg {      /* 16 bytes */
//!     __s64 value;             /* kind 0: the constant; kind 2: the memory offset */
//!     __u16 reg_off;           /* kinds 1, 2: offset of the register in struct pt_regs */
//!     __u8  kind;              /* 0 constant, 1 register, 2 memory at register + value */
//!     __u8  size;              /* 1, 2, 4 or 8 bytes */
//!     __u8  is_signed;         /* sign-extend from `size` bytes */
//!     __u8  _pad[3];
//! };
//! struct oxbpf_usdt_spec {     /* 208 bytes */
//!     struct oxbpf_usdt_arg args[12];
//!     __u64 cookie;            /* the caller's cookie for this attachment */
//!     __u16 arg_cnt;
//!     __u8  _pad[6];
//! };
//! ```
//!
//! Argument N is: the constant; or the register (read with `bpf_probe_read_kernel` from
//! `ctx + reg_off`); or 8 bytes of user memory at register + value; then truncated to
//! `size` bytes (shift left, then arithmetic or logical shift right). x86-64 only.

use std::os::fd::BorrowedFd;
use std::path::{Path, PathBuf};

use object::{Object, ObjectSection};

use crate::uprobe::{UprobeOptions, UprobeTarget};
use crate::{Error, Link, Result, symbols};

/// Most arguments a probe can have (sys/sdt.h allows 12).
pub const MAX_ARGS: usize = 12;
/// Size of one `struct oxbpf_usdt_arg`.
pub const ARG_SIZE: usize = 16;
/// Size of `struct oxbpf_usdt_spec`, the spec map's value.
pub const SPEC_SIZE: usize = MAX_ARGS * ARG_SIZE + 16;
/// Name of the spec map the BPF side declares.
pub const SPEC_MAP: &str = "oxbpf_usdt_specs";

/// One probe site from `.note.stapsdt`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsdtNote {
    /// The provider (`oxbpf` in `DTRACE_PROBE2(oxbpf, hit, ...)`).
    pub provider: String,
    /// The probe name.
    pub name: String,
    /// The probe's address as recorded (before the `.stapsdt.base` adjustment).
    pub pc: u64,
    /// The link-time address of `.stapsdt.base` recorded in the note.
    pub base: u64,
    /// The semaphore's address, 0 if none.
    pub semaphore: u64,
    /// The argument specs (`-4@%edi 8@-16(%rbp)`).
    pub args: String,
}

/// Where an argument's value is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UsdtArgKind {
    /// A constant (`$5`).
    Const(i64),
    /// A register (`%edi`): its offset in `struct pt_regs`.
    Reg {
        /// Offset of the register in `struct pt_regs`.
        reg_off: u16,
    },
    /// Memory at register + offset (`-16(%rbp)`).
    Mem {
        /// Offset of the base register in `struct pt_regs`.
        reg_off: u16,
        /// Displacement.
        offset: i64,
    },
}

/// One argument: where, how wide, signed or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UsdtArg {
    /// Where the value is.
    pub kind: UsdtArgKind,
    /// Width in bytes (1, 2, 4, 8).
    pub size: u8,
    /// Sign-extended.
    pub signed: bool,
}

/// Offset in x86-64 `struct pt_regs` of the register named `reg` (any width: `rdi`,
/// `edi`, `di`, `dil`, `r8d`).
pub fn x86_reg_offset(reg: &str) -> Option<u16> {
    let off = match reg {
        "rip" | "eip" => 128,
        "rax" | "eax" | "ax" | "al" | "ah" => 80,
        "rbx" | "ebx" | "bx" | "bl" | "bh" => 40,
        "rcx" | "ecx" | "cx" | "cl" | "ch" => 88,
        "rdx" | "edx" | "dx" | "dl" | "dh" => 96,
        "rsi" | "esi" | "si" | "sil" => 104,
        "rdi" | "edi" | "di" | "dil" => 112,
        "rbp" | "ebp" | "bp" | "bpl" => 32,
        "rsp" | "esp" | "sp" | "spl" => 152,
        _ => {
            let n = reg.strip_prefix('r')?;
            let n = n.trim_end_matches(['d', 'w', 'b']);
            match n.parse::<u8>().ok()? {
                8 => 72,
                9 => 64,
                10 => 56,
                11 => 48,
                12 => 24,
                13 => 16,
                14 => 8,
                15 => 0,
                _ => return None,
            }
        }
    };
    Some(off)
}

fn arg_err(spec: &str, reason: &'static str) -> Error {
    Error::InvalidName {
        what: format!("USDT argument spec {spec:?}"),
        reason,
    }
}

/// Parses one x86-64 argument spec (`-4@%edi`, `8@-16(%rbp)`, `-4@$-7`, `8@(%rax)`).
pub fn parse_arg(spec: &str) -> Result<UsdtArg> {
    let (size, loc) = spec
        .split_once('@')
        .ok_or_else(|| arg_err(spec, "has no '@' between size and location"))?;
    let n: i32 = size
        .parse()
        .map_err(|_| arg_err(spec, "size is not a number"))?;
    let width = n.unsigned_abs();
    if !matches!(width, 1 | 2 | 4 | 8) {
        return Err(arg_err(spec, "size is not 1, 2, 4 or 8 bytes"));
    }
    let reg = |r: &str| -> Result<u16> {
        let r = r
            .strip_prefix('%')
            .ok_or_else(|| arg_err(spec, "register does not start with '%'"))?;
        x86_reg_offset(r).ok_or_else(|| arg_err(spec, "unknown x86-64 register"))
    };
    let kind = if let Some(c) = loc.strip_prefix('$') {
        UsdtArgKind::Const(parse_int(c).ok_or_else(|| arg_err(spec, "constant is not a number"))?)
    } else if loc.starts_with('%') {
        UsdtArgKind::Reg { reg_off: reg(loc)? }
    } else if let Some(open) = loc.find('(') {
        let inner = loc[open + 1..]
            .strip_suffix(')')
            .ok_or_else(|| arg_err(spec, "memory operand does not end with ')'"))?;
        if inner.contains(',') {
            return Err(arg_err(spec, "indexed memory operands are not supported"));
        }
        let disp = &loc[..open];
        let offset = if disp.is_empty() {
            0
        } else {
            parse_int(disp).ok_or_else(|| arg_err(spec, "displacement is not a number"))?
        };
        UsdtArgKind::Mem {
            reg_off: reg(inner)?,
            offset,
        }
    } else {
        return Err(arg_err(spec, "location is not $const, %reg or off(%reg)"));
    };
    Ok(UsdtArg {
        kind,
        size: width as u8,
        signed: n < 0,
    })
}

fn parse_int(s: &str) -> Option<i64> {
    let (neg, digits) = match s.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let v = match digits.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16).ok()?,
        None => digits.parse::<u64>().ok()?,
    } as i64;
    Some(if neg { v.wrapping_neg() } else { v })
}

/// Parses a whole argument string (space-separated specs; empty for no arguments).
pub fn parse_args(args: &str) -> Result<Vec<UsdtArg>> {
    let v = args
        .split_ascii_whitespace()
        .map(parse_arg)
        .collect::<Result<Vec<_>>>()?;
    if v.len() > MAX_ARGS {
        return Err(arg_err(args, "more than 12 arguments"));
    }
    Ok(v)
}

/// The spec map value of a probe with `args`, carrying `cookie`.
pub fn encode_spec(args: &[UsdtArg], cookie: u64) -> Result<[u8; SPEC_SIZE]> {
    if args.len() > MAX_ARGS {
        return Err(Error::InvalidName {
            what: "USDT probe".into(),
            reason: "more than 12 arguments",
        });
    }
    let mut out = [0u8; SPEC_SIZE];
    for (i, a) in args.iter().enumerate() {
        let b = &mut out[i * ARG_SIZE..(i + 1) * ARG_SIZE];
        let (value, reg_off, kind) = match a.kind {
            UsdtArgKind::Const(v) => (v, 0u16, 0u8),
            UsdtArgKind::Reg { reg_off } => (0, reg_off, 1),
            UsdtArgKind::Mem { reg_off, offset } => (offset, reg_off, 2),
        };
        b[0..8].copy_from_slice(&value.to_ne_bytes());
        b[8..10].copy_from_slice(&reg_off.to_ne_bytes());
        b[10] = kind;
        b[11] = a.size;
        b[12] = a.signed as u8;
    }
    let tail = MAX_ARGS * ARG_SIZE;
    out[tail..tail + 8].copy_from_slice(&cookie.to_ne_bytes());
    out[tail + 8..tail + 10].copy_from_slice(&(args.len() as u16).to_ne_bytes());
    Ok(out)
}

/// Parses the descriptor of one stapsdt note (64-bit: three 8-byte addresses, then
/// provider, name and args as NUL-terminated strings).
pub fn parse_note_desc(desc: &[u8]) -> Result<UsdtNote> {
    let bad = |reason| Error::InvalidName {
        what: "stapsdt note".into(),
        reason,
    };
    if desc.len() < 24 {
        return Err(bad("descriptor shorter than its three addresses"));
    }
    let addr = |i: usize| {
        let mut a = [0u8; 8];
        a.copy_from_slice(&desc[i * 8..i * 8 + 8]);
        u64::from_le_bytes(a)
    };
    let mut strings = desc[24..].split(|&b| b == 0);
    let mut next = |what| {
        strings
            .next()
            .map(|s| String::from_utf8_lossy(s).into_owned())
            .ok_or_else(|| bad(what))
    };
    let provider = next("descriptor ends before the provider")?;
    let name = next("descriptor ends before the name")?;
    let args = next("descriptor ends before the arguments").unwrap_or_default();
    Ok(UsdtNote {
        provider,
        name,
        pc: addr(0),
        base: addr(1),
        semaphore: addr(2),
        args,
    })
}

/// Every USDT note of the ELF `data` (`path` names it in errors).
pub fn notes(data: &[u8], path: &Path) -> Result<Vec<UsdtNote>> {
    let file = object::File::parse(data).map_err(|e| Error::Binary {
        path: path.display().to_string(),
        reason: format!("not an ELF file: {e}"),
    })?;
    notes_of(&file, path)
}

fn notes_of(file: &object::File<'_>, path: &Path) -> Result<Vec<UsdtNote>> {
    let Some(sec) = file.section_by_name(".note.stapsdt") else {
        return Ok(Vec::new());
    };
    let data = sec.data().map_err(|e| Error::Binary {
        path: path.display().to_string(),
        reason: format!("reading .note.stapsdt: {e}"),
    })?;
    let mut out = Vec::new();
    let mut off = 0usize;
    let align4 = |n: usize| n.div_ceil(4) * 4;
    while off + 12 <= data.len() {
        let word = |o: usize| u32::from_le_bytes([data[o], data[o + 1], data[o + 2], data[o + 3]]);
        let (namesz, descsz, ntype) = (word(off) as usize, word(off + 4) as usize, word(off + 8));
        let name_at = off + 12;
        let desc_at = name_at.checked_add(align4(namesz));
        let end = desc_at.and_then(|d| d.checked_add(align4(descsz)));
        let (Some(desc_at), Some(end)) = (desc_at, end) else {
            break;
        };
        if desc_at + descsz > data.len() || name_at + namesz > data.len() {
            return Err(Error::Binary {
                path: path.display().to_string(),
                reason: format!(".note.stapsdt: note at byte {off} runs past the section"),
            });
        }
        let owner = &data[name_at..name_at + namesz];
        if ntype == 3 && owner.strip_suffix(b"\0").unwrap_or(owner) == b"stapsdt" {
            let note =
                parse_note_desc(&data[desc_at..desc_at + descsz]).map_err(|e| Error::Binary {
                    path: path.display().to_string(),
                    reason: format!(".note.stapsdt: note at byte {off}: {e}"),
                })?;
            out.push(note);
        }
        off = end;
    }
    Ok(out)
}

/// A probe site ready to attach: file offsets of the instruction and the semaphore.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsdtSite {
    /// The note.
    pub note: UsdtNote,
    /// File offset of the probe instruction (after the `.stapsdt.base` adjustment).
    pub offset: u64,
    /// File offset of the semaphore, 0 if none.
    pub semaphore_offset: u64,
    /// The parsed arguments.
    pub args: Vec<UsdtArg>,
}

/// The sites of `provider:name` in the ELF `data`.
pub fn sites(data: &[u8], path: &Path, provider: &str, name: &str) -> Result<Vec<UsdtSite>> {
    let file = object::File::parse(data).map_err(|e| Error::Binary {
        path: path.display().to_string(),
        reason: format!("not an ELF file: {e}"),
    })?;
    let base_addr = file.section_by_name(".stapsdt.base").map(|s| s.address());
    let mut out = Vec::new();
    for note in notes_of(&file, path)? {
        if note.provider != provider || note.name != name {
            continue;
        }
        let pc = match base_addr {
            Some(b) if note.base != 0 => note.pc.wrapping_add(b.wrapping_sub(note.base)),
            _ => note.pc,
        };
        let offset = symbols::vaddr_to_offset(&file, pc).ok_or_else(|| Error::Binary {
            path: path.display().to_string(),
            reason: format!("USDT {provider}:{name} at {pc:#x} is in no loadable segment"),
        })?;
        let semaphore_offset = if note.semaphore == 0 {
            0
        } else {
            symbols::vaddr_to_offset(&file, note.semaphore).ok_or_else(|| Error::Binary {
                path: path.display().to_string(),
                reason: format!(
                    "semaphore of USDT {provider}:{name} at {:#x} is in no loadable segment",
                    note.semaphore
                ),
            })?
        };
        let args = parse_args(&note.args).map_err(|e| Error::Binary {
            path: path.display().to_string(),
            reason: format!("USDT {provider}:{name}: {e}"),
        })?;
        out.push(UsdtSite {
            note,
            offset,
            semaphore_offset,
            args,
        });
    }
    Ok(out)
}

/// Options of [`attach`].
#[derive(Debug, Clone, Default)]
pub struct UsdtOptions {
    /// Only in this process (`None`: every process running the binary).
    pub pid: Option<u32>,
    /// A cookie the program reads from the spec (`spec.cookie`).
    pub cookie: u64,
    /// Spec id of the first site; the sites use consecutive ids from here (the caller
    /// keeps ids of different attachments on one spec map apart).
    pub first_spec_id: u32,
}

/// Attaches `prog` (a loaded BPF_PROG_TYPE_KPROBE program, `SEC("usdt")`) at every site
/// of USDT `provider:name` in `binary`, writing each site's spec into `spec_map` (an
/// array whose value is [`SPEC_SIZE`] bytes) at its spec id, which is the site's BPF
/// cookie. One [`Link`] holds every site.
pub fn attach(
    prog: BorrowedFd<'_>,
    spec_map: BorrowedFd<'_>,
    binary: &str,
    provider: &str,
    name: &str,
    opts: &UsdtOptions,
) -> Result<Link> {
    let path: PathBuf = symbols::find_binary(binary, opts.pid)?;
    let path = std::fs::canonicalize(&path).unwrap_or(path);
    let data = std::fs::read(&path).map_err(|e| Error::Binary {
        path: path.display().to_string(),
        reason: format!("cannot read: {e}"),
    })?;
    let found = sites(&data, &path, provider, name)?;
    let what = format!("USDT {provider}:{name} in {}", path.display());
    if found.is_empty() {
        return Err(Error::NoAttachPoint {
            what,
            detail: "no such probe in .note.stapsdt".into(),
        });
    }
    let path_str = path.to_str().ok_or_else(|| Error::InvalidName {
        what: format!("binary {}", path.display()),
        reason: "is not UTF-8",
    })?;
    let mut links = Vec::with_capacity(found.len());
    for (i, site) in found.iter().enumerate() {
        let id = opts
            .first_spec_id
            .checked_add(i as u32)
            .ok_or_else(|| Error::InvalidName {
                what: what.clone(),
                reason: "spec ids overflow u32",
            })?;
        let spec = encode_spec(&site.args, opts.cookie)?;
        oxbpf_sys::bpf::map_update_elem(spec_map, &id.to_ne_bytes(), &spec, 0).map_err(
            |source| Error::Rejected {
                what: format!("{what}: spec {id}"),
                source,
                hint: format!(
                    "the spec map must be an array of {SPEC_SIZE}-byte values with more than {id} entries"
                ),
            },
        )?;
        let uopts = UprobeOptions {
            pid: opts.pid,
            ref_ctr_offset: site.semaphore_offset,
            cookie: u64::from(id),
            ..Default::default()
        };
        links.push(crate::uprobe::attach(
            prog,
            path_str,
            &UprobeTarget::Offset(site.offset),
            &uopts,
        )?);
    }
    Ok(Link::many(links, what))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_register_memory_and_constant_args() {
        let a = parse_args("-4@%edi 8@-16(%rbp) -4@$-7 2@(%rax) 1@%r9b").unwrap();
        assert_eq!(
            a[0],
            UsdtArg {
                kind: UsdtArgKind::Reg { reg_off: 112 },
                size: 4,
                signed: true
            }
        );
        assert_eq!(
            a[1].kind,
            UsdtArgKind::Mem {
                reg_off: 32,
                offset: -16
            }
        );
        assert!(!a[1].signed);
        assert_eq!(a[2].kind, UsdtArgKind::Const(-7));
        assert_eq!(
            a[3].kind,
            UsdtArgKind::Mem {
                reg_off: 80,
                offset: 0
            }
        );
        assert_eq!(a[4].kind, UsdtArgKind::Reg { reg_off: 64 });
        assert_eq!(a[4].size, 1);
    }

    #[test]
    fn rejects_bad_arg_specs() {
        for s in [
            "4%edi",
            "3@%edi",
            "x@%edi",
            "4@%xyz",
            "4@$abc",
            "4@8(%rbp,%rax,2)",
            "4@-8(%rbp",
            "4@edi",
        ] {
            assert!(parse_arg(s).is_err(), "{s}");
        }
        assert!(parse_args(&"1@$1 ".repeat(13)).is_err());
        assert!(parse_args("").unwrap().is_empty());
    }

    #[test]
    fn encodes_spec_layout() {
        let a = parse_args("-4@%edi 8@-16(%rbp)").unwrap();
        let s = encode_spec(&a, 77).unwrap();
        assert_eq!(s.len(), 208);
        assert_eq!(u16::from_ne_bytes([s[8], s[9]]), 112);
        assert_eq!((s[10], s[11], s[12]), (1, 4, 1));
        assert_eq!(i64::from_ne_bytes(s[16..24].try_into().unwrap()), -16);
        assert_eq!((s[26], s[27], s[28]), (2, 8, 0));
        assert_eq!(u64::from_ne_bytes(s[192..200].try_into().unwrap()), 77);
        assert_eq!(u16::from_ne_bytes([s[200], s[201]]), 2);
    }

    fn desc(pc: u64, base: u64, sem: u64, strs: &[&str]) -> Vec<u8> {
        let mut d = Vec::new();
        for v in [pc, base, sem] {
            d.extend_from_slice(&v.to_le_bytes());
        }
        for s in strs {
            d.extend_from_slice(s.as_bytes());
            d.push(0);
        }
        d
    }

    #[test]
    fn parses_note_descriptor() {
        let n =
            parse_note_desc(&desc(0x116b, 0x2004, 0x4028, &["oxbpf", "hit", "-4@%ebp"])).unwrap();
        assert_eq!(
            n,
            UsdtNote {
                provider: "oxbpf".into(),
                name: "hit".into(),
                pc: 0x116b,
                base: 0x2004,
                semaphore: 0x4028,
                args: "-4@%ebp".into()
            }
        );
    }

    #[test]
    fn rejects_truncated_note_descriptor() {
        assert!(parse_note_desc(&[0u8; 23]).is_err());
        let d = desc(1, 2, 3, &[]);
        assert!(parse_note_desc(&d).is_err(), "no provider and name");
    }

    #[test]
    fn never_panics_on_arbitrary_note_bytes() {
        let mut seed = 0x1234_5678u32;
        for len in 0..200 {
            let d: Vec<u8> = (0..len)
                .map(|_| {
                    seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
                    (seed >> 16) as u8
                })
                .collect();
            let _ = parse_note_desc(&d);
            if let Ok(s) = std::str::from_utf8(&d) {
                let _ = parse_args(s);
            }
        }
    }
}

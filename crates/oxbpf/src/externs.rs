//! Extern resolution on the running kernel, once per load: `__kconfig` values (from
//! [`LoadOptions::kconfig`], `/boot/config-$(uname -r)` or `/proc/config.gz`, and the
//! virtual `LINUX_*` ones), typed `__ksym`s by BTF id in vmlinux or module BTF (per-CPU
//! variables included), typeless `__ksym`s by address from `/proc/kallsyms`, and kfuncs
//! from vmlinux or module BTF (module BTF fds go into the programs' `fd_array`).
//!
//! What this module computes is handed to [`oxbpf_reloc::resolve_externs`], which patches
//! the instructions; a strong extern that is absent is an error naming it
//! ([`Error::MissingKsym`], [`Error::MissingKfunc`], [`Error::Kconfig`]) when a program
//! that uses it is relocated; a `__weak` one reads as zero, and a call of a `__weak` kfunc
//! is poisoned (an unreachable one is pruned by the verifier, a reachable one is reported
//! as [`Error::MissingKfunc`]).

use std::borrow::Cow;
use std::collections::HashMap;
use std::io::Read;
use std::os::fd::BorrowedFd;
use std::path::{Path, PathBuf};

use oxbpf_btf::{Btf, Kind, Type};
use oxbpf_obj::{Extern, ExternKind, KconfigExtern, KconfigType, ObjectSpec};
use oxbpf_reloc::{ExternValue, LinkedProgram};
use oxbpf_sys::BtfFd;

use crate::LoadOptions;
use crate::error::{Error, Result};

/// How one extern resolved.
#[derive(Clone, Debug)]
enum Resolved {
    /// A kconfig value (in the `.kconfig` map at the extern's offset).
    Kconfig,
    /// A kernel BTF type; `module`: index into [`Externs::modules`] (None: vmlinux).
    Btf { btf_id: u32, module: Option<usize> },
    /// A kallsyms address.
    Address(u64),
    /// Not found, and why.
    Absent(String),
}

/// The externs of one object resolved on the running kernel.
#[derive(Debug, Default)]
pub(crate) struct Externs {
    values: Vec<Resolved>,
    /// BTF objects of the modules that provide ksyms or kfuncs: (name, fd). A module's
    /// `fd_array` index is its position here + 1 (0 means vmlinux).
    modules: Vec<(String, BtfFd)>,
}

/// Resolves every extern of `spec` and returns the spec with the `.kconfig` map's value
/// filled in (borrowed unchanged when the object has no `__kconfig` externs).
pub(crate) fn prepare<'s>(
    spec: &'s ObjectSpec,
    opts: &LoadOptions,
) -> Result<(Cow<'s, ObjectSpec>, Externs)> {
    if spec.externs.is_empty() {
        return Ok((Cow::Borrowed(spec), Externs::default()));
    }
    let mut ex = Externs {
        values: vec![Resolved::Absent(String::new()); spec.externs.len()],
        modules: Vec::new(),
    };
    // One pass over /proc/kallsyms (on first need) for every name looked up there.
    let mut kallsyms = Kallsyms::for_names(
        spec.externs
            .iter()
            .filter(|e| e.kind == ExternKind::KsymTypeless)
            .map(|e| e.name.clone())
            .chain(syscall_wrapper_name()),
    );
    let mut spec = Cow::Borrowed(spec);
    if let Some(map) = spec.kconfig_map() {
        let size = spec.maps[map].value_size as usize;
        let mut data = vec![0u8; size];
        resolve_kconfig(
            &spec.externs,
            &mut data,
            &mut ex.values,
            opts,
            &mut kallsyms,
        )?;
        spec.to_mut().maps[map].data = Some(data);
    }
    resolve_ksyms(&spec.externs, &mut ex, &mut kallsyms)?;
    check_kfunc_protos(&spec, &mut ex)?;
    Ok((spec, ex))
}

impl Externs {
    /// The `fd_array` of every program of the object: slot 0 for vmlinux, then the module
    /// BTF fds.
    pub(crate) fn fd_array(&self) -> Vec<Option<BorrowedFd<'_>>> {
        if self.modules.is_empty() {
            return Vec::new();
        }
        std::iter::once(None)
            .chain(self.modules.iter().map(|(_, fd)| Some(fd.as_fd())))
            .collect()
    }

    /// Patches the extern references of `linked` (program `program`); `kconfig_fd` is the
    /// `.kconfig` map's fd.
    pub(crate) fn patch(
        &self,
        spec: &ObjectSpec,
        program: &str,
        linked: &mut LinkedProgram,
        kconfig_fd: Option<i32>,
    ) -> Result<()> {
        if spec.externs.is_empty() {
            return Ok(());
        }
        let value = |i: usize| match (self.values.get(i), spec.externs.get(i)) {
            (
                Some(Resolved::Kconfig),
                Some(Extern {
                    kind: ExternKind::Kconfig(k),
                    ..
                }),
            ) => match kconfig_fd {
                Some(map_fd) => ExternValue::Kconfig {
                    map_fd,
                    offset: k.offset,
                },
                None => ExternValue::Absent,
            },
            (Some(Resolved::Btf { btf_id, module }), _) => ExternValue::Btf {
                btf_id: *btf_id,
                btf_obj_fd: module
                    .and_then(|m| self.modules.get(m))
                    .map_or(0, |(_, fd)| fd.raw()),
                fd_array_idx: module.map_or(0, |m| (m + 1) as i16),
            },
            (Some(Resolved::Address(a)), _) => ExternValue::Address(*a),
            _ => ExternValue::Absent,
        };
        oxbpf_reloc::resolve_externs(linked, spec, &value).map_err(|e| match e {
            oxbpf_reloc::Error::UnresolvedExtern { name, kind, .. }
                if kind != "unlinked extern" =>
            {
                self.missing(spec, program, &name, None)
            }
            other => Error::Reloc {
                program: program.to_owned(),
                source: Box::new(other),
            },
        })
    }

    /// The error for absent extern `name` used by `program`.
    fn missing(
        &self,
        spec: &ObjectSpec,
        program: &str,
        name: &str,
        verifier: Option<Box<crate::VerifierError>>,
    ) -> Error {
        let i = spec.externs.iter().position(|e| e.name == name);
        let reason = match i.and_then(|i| self.values.get(i)) {
            Some(Resolved::Absent(r)) if !r.is_empty() => r.clone(),
            _ => "not resolved".to_owned(),
        };
        let kind = i.map(|i| &spec.externs[i].kind);
        match kind {
            Some(ExternKind::Kfunc { .. }) => Error::MissingKfunc {
                program: Some(program.to_owned()),
                name: name.to_owned(),
                reason,
                verifier,
            },
            Some(ExternKind::Kconfig(_)) => Error::Kconfig {
                program: Some(program.to_owned()),
                name: name.to_owned(),
                reason,
            },
            _ => Error::MissingKsym {
                program: Some(program.to_owned()),
                name: name.to_owned(),
                reason,
            },
        }
    }

    /// A verifier rejection at a poisoned call of an absent `__weak` kfunc (reachable: not
    /// guarded by `bpf_ksym_exists()`) becomes [`Error::MissingKfunc`] naming it.
    pub(crate) fn explain_rejection(
        &self,
        err: Error,
        spec: &ObjectSpec,
        linked: &LinkedProgram,
    ) -> Error {
        let Error::Verifier(v) = err else { return err };
        // A typed ksym in BTF whose address the kernel's kallsyms lookup does not find.
        const NO_ADDR: &str = "failed to find the address for kernel symbol '";
        if let Some(rest) = v.log.split_once(NO_ADDR).map(|(_, r)| r) {
            let name = rest.split('\'').next().unwrap_or("");
            if spec.extern_by_name(name).is_some() {
                return Error::MissingKsym {
                    program: Some(v.program.clone()),
                    name: name.to_owned(),
                    reason: "in the kernel's BTF, but the kernel finds no address for it in kallsyms (data symbols are listed only with CONFIG_KALLSYMS_ALL)".into(),
                };
            }
        }
        let ext = v
            .insn
            .and_then(|i| linked.insns.get(i))
            .and_then(oxbpf_reloc::externs::poisoned_kfunc_index)
            .and_then(|i| spec.externs.get(i));
        match ext {
            Some(e) => {
                let program = v.program.clone();
                self.missing(spec, &program, &e.name.clone(), Some(v))
            }
            None => Error::Verifier(v),
        }
    }
}

// ---- kconfig ----

/// The kernel release (`uname -r`).
fn release() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .ok()
        .map(|s| s.trim().to_owned())
}

/// `KERNEL_VERSION(a, b, c)`.
fn kernel_version(a: u32, b: u32, c: u32) -> u32 {
    (a << 16) + (b << 8) + c.min(255)
}

/// The first three numbers of `s` (`6.1.0-57-cloud`, `5.10.209-2`).
fn three_numbers(s: &str) -> Option<(u32, u32, u32)> {
    let mut it = s.split(['.', '-', ' ', '+', '~']);
    let n = |p: Option<&str>| -> Option<u32> {
        let p = p?;
        let digits: &str = &p[..p.bytes().take_while(u8::is_ascii_digit).count()];
        digits.parse().ok()
    };
    Some((n(it.next())?, n(it.next())?, n(it.next())?))
}

/// `LINUX_KERNEL_VERSION` as libbpf computes it: Ubuntu's `/proc/version_signature`,
/// else Debian's "Debian X.Y.Z" in the uname version, else the uname release.
pub(crate) fn linux_kernel_version() -> Option<u32> {
    let from = |(a, b, c)| kernel_version(a, b, c);
    if let Ok(sig) = std::fs::read_to_string("/proc/version_signature") {
        if let Some(v) = sig.split_whitespace().nth(2).and_then(three_numbers) {
            return Some(from(v));
        }
    }
    if let Ok(ver) = std::fs::read_to_string("/proc/sys/kernel/version") {
        if let Some(rest) = ver.split("Debian ").nth(1) {
            if let Some(v) = three_numbers(rest) {
                return Some(from(v));
            }
        }
    }
    release().as_deref().and_then(three_numbers).map(from)
}

/// Whether the kernel wraps syscalls (`__<arch>_sys_bpf` exists): what the
/// `BPF_KSYSCALL` macros need to know. libbpf decides it by creating a kprobe on that
/// symbol; looking it up in kallsyms gives the same answer without needing kprobes.
fn has_syscall_wrapper(kallsyms: &mut Kallsyms) -> bool {
    let Some(name) = syscall_wrapper_name() else {
        return false;
    };
    kallsyms.get().is_ok_and(|k| k.contains_key(&name))
}

/// `__<arch>_sys_bpf`, the symbol of the bpf() syscall's wrapper on this architecture.
fn syscall_wrapper_name() -> Option<String> {
    let prefix = match std::env::consts::ARCH {
        "x86_64" => "x64",
        "x86" => "ia32",
        "s390x" => "s390x",
        "arm" => "arm",
        "aarch64" => "arm64",
        "riscv64" => "riscv",
        "powerpc64" => "powerpc",
        _ => return None,
    };
    Some(format!("__{prefix}_sys_bpf"))
}

/// Reads a config file, gzip-compressed or plain (by its magic).
fn read_config(path: &Path) -> std::result::Result<String, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut text = String::new();
        flate2::read::GzDecoder::new(&bytes[..])
            .read_to_string(&mut text)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(text)
    } else {
        String::from_utf8(bytes).map_err(|_| format!("{}: not UTF-8 text", path.display()))
    }
}

/// The system config: `/boot/config-$(uname -r)`, else `/proc/config.gz` (libbpf's order).
fn system_config() -> std::result::Result<(PathBuf, String), String> {
    let mut tried = Vec::new();
    let mut paths = Vec::new();
    if let Some(r) = release() {
        paths.push(PathBuf::from(format!("/boot/config-{r}")));
    }
    paths.push(PathBuf::from("/proc/config.gz"));
    for p in paths {
        match read_config(&p) {
            Ok(text) => return Ok((p, text)),
            Err(e) => tried.push(e),
        }
    }
    Err(format!("no kernel config found ({})", tried.join("; ")))
}

/// Stores `value` in kconfig extern `e` (libbpf's `set_kcfg_value_*` rules).
fn set_kconfig(e: &Extern, k: &KconfigExtern, data: &mut [u8], value: &str) -> Result<()> {
    let bad = |reason: String| Error::Kconfig {
        program: None,
        name: e.name.clone(),
        reason,
    };
    let start = k.offset as usize;
    let slot = data
        .get_mut(start..start + k.size as usize)
        .ok_or_else(|| bad(format!("offset {start} is outside the .kconfig map")))?;
    match value.as_bytes().first() {
        Some(&c @ (b'y' | b'n' | b'm')) => match k.ty {
            KconfigType::Bool if c == b'm' => {
                return Err(bad(format!(
                    "value '{}' implies tristate or char type, the extern is bool",
                    c as char
                )));
            }
            KconfigType::Bool => slot[0] = u8::from(c == b'y'),
            KconfigType::Tristate => {
                let v: u32 = match c {
                    b'y' => 1,
                    b'm' => 2,
                    _ => 0,
                };
                write_num(slot, u64::from(v));
            }
            KconfigType::Char => slot[0] = c,
            _ => {
                return Err(bad(format!(
                    "value '{}' implies bool, tristate or char type",
                    c as char
                )));
            }
        },
        Some(b'"') => {
            if k.ty != KconfigType::CharArray {
                return Err(bad(format!("value {value} implies a char array type")));
            }
            if value.len() < 2 || !value.ends_with('"') {
                return Err(bad(format!("invalid string value {value}")));
            }
            let s = &value.as_bytes()[1..value.len() - 1];
            let n = s.len().min(slot.len() - 1);
            slot[..n].copy_from_slice(&s[..n]);
            slot[n..].fill(0);
        }
        _ => {
            let v = parse_u64(value)
                .ok_or_else(|| bad(format!("value {value:?} is not a valid integer")))?;
            if k.ty != KconfigType::Int && k.ty != KconfigType::Char {
                return Err(bad(format!("value {value} implies an integer type")));
            }
            if !fits(k, v) {
                return Err(bad(format!(
                    "value {value} does not fit in {} bytes",
                    k.size
                )));
            }
            write_num(slot, v);
        }
    }
    Ok(())
}

/// `strtoull(value, .., 0)` over the whole string: decimal, `0x` hex, leading-`0` octal, an
/// optional sign (a negative number wraps, as in C).
fn parse_u64(value: &str) -> Option<u64> {
    let (neg, s) = match value.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, value.strip_prefix('+').unwrap_or(value)),
    };
    let v = if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        u64::from_str_radix(h, 16).ok()?
    } else if s.len() > 1 && s.starts_with('0') {
        u64::from_str_radix(&s[1..], 8).ok()?
    } else {
        s.parse().ok()?
    };
    Some(if neg { v.wrapping_neg() } else { v })
}

/// libbpf's `is_kcfg_value_in_range`.
fn fits(k: &KconfigExtern, v: u64) -> bool {
    let bits = k.size * 8;
    if bits >= 64 {
        return true;
    }
    if k.signed {
        v.wrapping_add(1 << (bits - 1)) < (1 << bits)
    } else {
        v >> bits == 0
    }
}

/// Writes the low `slot.len()` bytes of `v` in the host's (= the BPF target's) order.
fn write_num(slot: &mut [u8], v: u64) {
    let b = v.to_ne_bytes();
    let n = slot.len().min(8);
    if cfg!(target_endian = "little") {
        slot[..n].copy_from_slice(&b[..n]);
    } else {
        slot[..n].copy_from_slice(&b[8 - n..]);
    }
}

/// Applies the `CONFIG_X=value` lines of `text` to the externs not set yet.
fn apply_config(
    text: &str,
    externs: &[Extern],
    data: &mut [u8],
    set: &mut [bool],
    source: &Path,
) -> Result<()> {
    let by_name: HashMap<&str, usize> = externs
        .iter()
        .enumerate()
        .filter(|(_, e)| matches!(e.kind, ExternKind::Kconfig(_)))
        .map(|(i, e)| (e.name.as_str(), i))
        .collect();
    for line in text.lines() {
        let line = line.trim_end();
        if !line.starts_with("CONFIG_") {
            continue;
        }
        let Some((name, value)) = line.split_once('=') else {
            return Err(Error::Kconfig {
                program: None,
                name: line.to_owned(),
                reason: format!("{}: line {line:?} has no '='", source.display()),
            });
        };
        let Some(&i) = by_name.get(name) else {
            continue;
        };
        if set[i] || value.is_empty() {
            continue;
        }
        let e = &externs[i];
        if let ExternKind::Kconfig(k) = &e.kind {
            set_kconfig(e, k, data, value).map_err(|err| match err {
                Error::Kconfig {
                    program,
                    name,
                    reason,
                } => Error::Kconfig {
                    program,
                    name,
                    reason: format!("{reason} (from {})", source.display()),
                },
                other => other,
            })?;
            set[i] = true;
        }
    }
    Ok(())
}

fn resolve_kconfig(
    externs: &[Extern],
    data: &mut [u8],
    values: &mut [Resolved],
    opts: &LoadOptions,
    kallsyms: &mut Kallsyms,
) -> Result<()> {
    let mut set = vec![false; externs.len()];
    let mut need_config = false;
    for (i, e) in externs.iter().enumerate() {
        let ExternKind::Kconfig(k) = &e.kind else {
            continue;
        };
        if e.name.starts_with("CONFIG_") {
            need_config = true;
            continue;
        }
        let value: u64 = match e.name.as_str() {
            "LINUX_KERNEL_VERSION" => {
                u64::from(linux_kernel_version().ok_or_else(|| Error::Kconfig {
                    program: None,
                    name: e.name.clone(),
                    reason: "cannot read the kernel version from /proc".into(),
                })?)
            }
            "LINUX_HAS_BPF_COOKIE" => u64::from(
                crate::features::capability_supported(crate::features::Capability::BpfCookie)
                    .unwrap_or(false),
            ),
            "LINUX_HAS_SYSCALL_WRAPPER" => u64::from(has_syscall_wrapper(kallsyms)),
            _ if e.weak => {
                // Unknown `__weak` LINUX_* (or other) externs default to zero.
                values[i] = Resolved::Kconfig;
                set[i] = true;
                continue;
            }
            _ => {
                return Err(Error::Kconfig {
                    program: None,
                    name: e.name.clone(),
                    reason: "unrecognized virtual extern (only CONFIG_* and the LINUX_* ones libbpf knows are filled in)".into(),
                });
            }
        };
        if k.ty == KconfigType::Bool && value > 1 || !fits(k, value) {
            return Err(Error::Kconfig {
                program: None,
                name: e.name.clone(),
                reason: format!("value {value} does not fit its type ({} bytes)", k.size),
            });
        }
        let start = k.offset as usize;
        if let Some(slot) = data.get_mut(start..start + k.size as usize) {
            write_num(slot, value);
        }
        set[i] = true;
    }
    let mut sources = Vec::new();
    if need_config {
        if let Some(path) = &opts.kconfig {
            let text = read_config(path).map_err(|reason| Error::Kconfig {
                program: None,
                name: "LoadOptions::kconfig".into(),
                reason,
            })?;
            apply_config(&text, externs, data, &mut set, path)?;
            sources.push(path.display().to_string());
        }
        let unset = externs
            .iter()
            .zip(&set)
            .any(|(e, s)| !s && e.name.starts_with("CONFIG_"));
        if unset {
            match system_config() {
                Ok((path, text)) => {
                    apply_config(&text, externs, data, &mut set, &path)?;
                    sources.push(path.display().to_string());
                }
                Err(e) => sources.push(e),
            }
        }
    }
    for (i, e) in externs.iter().enumerate() {
        if !matches!(e.kind, ExternKind::Kconfig(_)) {
            continue;
        }
        values[i] = if set[i] || e.weak {
            // A `__weak` one not set reads as zero: the map value is zero there.
            Resolved::Kconfig
        } else {
            Resolved::Absent(format!("not set in {}", sources.join(", ")))
        };
    }
    Ok(())
}

// ---- ksyms and kfuncs ----

/// The addresses of some names in `/proc/kallsyms`, read in one pass on first need.
struct Kallsyms {
    names: std::collections::HashSet<String>,
    map: Option<std::result::Result<HashMap<String, Vec<u64>>, String>>,
}

impl Kallsyms {
    /// Looks up these names (and no others).
    fn for_names(names: impl IntoIterator<Item = String>) -> Kallsyms {
        Kallsyms {
            names: names.into_iter().collect(),
            map: None,
        }
    }

    fn get(&mut self) -> std::result::Result<&HashMap<String, Vec<u64>>, &str> {
        let names = &self.names;
        self.map
            .get_or_insert_with(|| {
                let text = std::fs::read_to_string("/proc/kallsyms")
                    .map_err(|e| format!("/proc/kallsyms: {e}"))?;
                Ok(parse_kallsyms(&text, names))
            })
            .as_ref()
            .map_err(String::as_str)
    }
}

/// `addr type name [module]` lines → name → addresses, for the names in `wanted`. `d`
/// symbols with an `.llvm.` suffix (LTO-renamed statics) count under their name without
/// it, as libbpf matches them.
fn parse_kallsyms(
    text: &str,
    wanted: &std::collections::HashSet<String>,
) -> HashMap<String, Vec<u64>> {
    let mut out: HashMap<String, Vec<u64>> = HashMap::new();
    for line in text.lines() {
        let mut it = line.split_whitespace();
        let (Some(addr), Some(ty), Some(name)) = (it.next(), it.next(), it.next()) else {
            continue;
        };
        let name = match name.find(".llvm.") {
            Some(cut) if ty == "d" => &name[..cut],
            _ => name,
        };
        if !wanted.contains(name) {
            continue;
        }
        let Ok(addr) = u64::from_str_radix(addr, 16) else {
            continue;
        };
        let v = out.entry(name.to_owned()).or_default();
        if !v.contains(&addr) {
            v.push(addr);
        }
    }
    out
}

/// Finds `name` of `kind` in vmlinux, then in the modules' BTF: (module name or None, id).
fn find_in_kernel(
    name: &str,
    kind: Kind,
) -> std::result::Result<Option<(Option<String>, u32)>, String> {
    let vmlinux = crate::kernel_btf::vmlinux().map_err(|e| e.to_string())?;
    if let Some(id) = vmlinux
        .find_by_name(name, kind)
        .map_err(|e| e.to_string())?
    {
        return Ok(Some((None, id)));
    }
    for m in crate::kernel_btf::module_names() {
        let Ok(btf) = crate::kernel_btf::module(&m) else {
            continue;
        };
        if let Ok(Some(id)) = btf.find_by_name(name, kind) {
            return Ok(Some((Some(m), id)));
        }
    }
    Ok(None)
}

/// The kernel BTF a lookup result lives in.
fn kernel_btf_of(module: Option<&str>) -> Option<&'static Btf<'static>> {
    match module {
        None => crate::kernel_btf::vmlinux().ok(),
        Some(m) => crate::kernel_btf::module(m).ok(),
    }
}

/// Number of parameters of FUNC_PROTO `proto` (None if it is not one).
fn param_count(btf: &Btf<'_>, proto: u32) -> Option<u16> {
    match btf.type_by_id(proto).ok()? {
        Type::FuncProto(p) => Some(p.vlen()),
        _ => None,
    }
}

/// Opens the BTF object of module `name` (by walking the kernel's BTF ids).
fn open_module_btf(name: &str) -> std::result::Result<BtfFd, String> {
    let mut id = 0;
    while let Some(next) =
        oxbpf_sys::bpf::btf_get_next_id(id).map_err(|e| format!("listing BTF objects: {e}"))?
    {
        id = next;
        let Ok(fd) = oxbpf_sys::bpf::btf_get_fd_by_id(id) else {
            continue;
        };
        if let Ok((_, n)) = oxbpf_sys::bpf::btf_name(fd.as_fd()) {
            if n == name {
                return Ok(fd);
            }
        }
    }
    Err(format!(
        "no BTF object of module {name:?} among the kernel's"
    ))
}

impl Externs {
    /// The index of module `name` in `modules`, opening its BTF object on first use.
    fn module_index(&mut self, name: &str) -> std::result::Result<usize, String> {
        if let Some(i) = self.modules.iter().position(|(n, _)| n == name) {
            return Ok(i);
        }
        if self.modules.len() >= i16::MAX as usize - 1 {
            return Err("too many module BTF objects for a kfunc call's 16-bit offset".into());
        }
        let fd = open_module_btf(name)?;
        self.modules.push((name.to_owned(), fd));
        Ok(self.modules.len() - 1)
    }
}

fn resolve_ksyms(externs: &[Extern], ex: &mut Externs, kallsyms: &mut Kallsyms) -> Result<()> {
    for (i, e) in externs.iter().enumerate() {
        let r = match &e.kind {
            ExternKind::Kconfig(_) => continue,
            ExternKind::Linked => Resolved::Absent(
                "defined in another object: link the objects first (static linking)".into(),
            ),
            ExternKind::KsymTypeless => match kallsyms.get() {
                Err(why) => Resolved::Absent(why.to_owned()),
                Ok(k) => match k.get(&e.name).map(Vec::as_slice) {
                    None | Some([]) => Resolved::Absent("not in /proc/kallsyms".into()),
                    Some([0]) => Resolved::Absent(
                        "/proc/kallsyms shows address 0 (kptr_restrict: needs root or CAP_SYSLOG)"
                            .into(),
                    ),
                    Some([a]) => Resolved::Address(*a),
                    Some(many) => {
                        return Err(Error::MissingKsym {
                            program: None,
                            name: e.name.clone(),
                            reason: format!(
                                "resolution is ambiguous: /proc/kallsyms has it at {many:#x?}"
                            ),
                        });
                    }
                },
            },
            ExternKind::Ksym { .. } => match find_in_kernel(&e.name, Kind::Var) {
                Err(why) => Resolved::Absent(format!("kernel BTF: {why}")),
                Ok(None) => Resolved::Absent("no VAR of that name in vmlinux or module BTF".into()),
                Ok(Some((module, btf_id))) => btf_result(ex, module, btf_id),
            },
            ExternKind::Kfunc { .. } => {
                let name = oxbpf_btf::essential_name(&e.name);
                match find_in_kernel(name, Kind::Func) {
                    Err(why) => Resolved::Absent(format!("kernel BTF: {why}")),
                    Ok(None) => {
                        Resolved::Absent("no FUNC of that name in vmlinux or module BTF".into())
                    }
                    Ok(Some((module, btf_id))) => btf_result(ex, module, btf_id),
                }
            }
        };
        ex.values[i] = r;
    }
    Ok(())
}

/// A BTF lookup result, opening the module's BTF object if it is in one.
fn btf_result(ex: &mut Externs, module: Option<String>, btf_id: u32) -> Resolved {
    match module {
        None => Resolved::Btf {
            btf_id,
            module: None,
        },
        Some(m) => match ex.module_index(&m) {
            Ok(i) => Resolved::Btf {
                btf_id,
                module: Some(i),
            },
            Err(why) => Resolved::Absent(format!("found in module {m:?}, but {why}")),
        },
    }
}

/// Checks each resolved kfunc's parameter count against the object's prototype (a cheap
/// form of libbpf's `bpf_core_types_are_compat`): a mismatch is absent for a `__weak`
/// kfunc, an error otherwise.
fn check_kfunc_protos(spec: &ObjectSpec, ex: &mut Externs) -> Result<()> {
    let Ok(Some(local)) = spec.btf() else {
        return Ok(());
    };
    for (i, e) in spec.externs.iter().enumerate() {
        let ExternKind::Kfunc { proto } = e.kind else {
            continue;
        };
        let Some(Resolved::Btf { btf_id, module }) = ex.values.get(i).cloned() else {
            continue;
        };
        let mname = module
            .and_then(|m| ex.modules.get(m))
            .map(|(n, _)| n.clone());
        let Some(kbtf) = kernel_btf_of(mname.as_deref()) else {
            continue;
        };
        let kproto = match kbtf.type_by_id(btf_id) {
            Ok(Type::Func(f)) => f.proto,
            _ => continue,
        };
        let (mine, theirs) = (param_count(&local, proto), param_count(kbtf, kproto));
        if mine.is_some() && theirs.is_some() && mine != theirs {
            let reason = format!(
                "the object declares it with {} parameters, {} has {}",
                mine.unwrap_or(0),
                mname.as_deref().unwrap_or("vmlinux"),
                theirs.unwrap_or(0)
            );
            if e.weak {
                ex.values[i] = Resolved::Absent(reason);
            } else {
                return Err(Error::MissingKfunc {
                    program: None,
                    name: e.name.clone(),
                    reason,
                    verifier: None,
                });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kext(name: &str, ty: KconfigType, size: u32, signed: bool) -> (Extern, KconfigExtern) {
        let k = KconfigExtern {
            ty,
            size,
            align: size.min(8),
            signed,
            offset: 0,
        };
        (
            Extern {
                name: name.into(),
                kind: ExternKind::Kconfig(k),
                weak: false,
                btf_id: 1,
            },
            k,
        )
    }

    #[test]
    fn sets_kconfig_values_by_type_as_libbpf() {
        let mut d = [0xaau8; 8];
        let (e, k) = kext("CONFIG_B", KconfigType::Bool, 1, false);
        set_kconfig(&e, &k, &mut d, "y").unwrap();
        assert_eq!(d[0], 1);
        let e2 = set_kconfig(&e, &k, &mut d, "m").unwrap_err();
        assert!(e2.to_string().contains("CONFIG_B"), "{e2}");
        let (e, k) = kext("CONFIG_T", KconfigType::Tristate, 4, false);
        set_kconfig(&e, &k, &mut d, "m").unwrap();
        assert_eq!(u32::from_ne_bytes(d[..4].try_into().unwrap()), 2);
        let (e, k) = kext("CONFIG_C", KconfigType::Char, 1, false);
        set_kconfig(&e, &k, &mut d, "m").unwrap();
        assert_eq!(d[0], b'm');
        let (e, k) = kext("CONFIG_HZ", KconfigType::Int, 4, false);
        set_kconfig(&e, &k, &mut d, "0x100").unwrap();
        assert_eq!(u32::from_ne_bytes(d[..4].try_into().unwrap()), 256);
        assert!(set_kconfig(&e, &k, &mut d, "y").is_err());
        assert!(set_kconfig(&e, &k, &mut d, "\"s\"").is_err());
        let (e, k) = kext("CONFIG_S", KconfigType::Int, 2, true);
        set_kconfig(&e, &k, &mut d, "-1").unwrap();
        assert_eq!(i16::from_ne_bytes(d[..2].try_into().unwrap()), -1);
        let e3 = set_kconfig(&e, &k, &mut d, "70000").unwrap_err();
        assert!(e3.to_string().contains("does not fit"), "{e3}");
    }

    #[test]
    fn string_values_are_unquoted_and_truncated_to_fit() {
        let mut d = [0xffu8; 6];
        let (e, k) = kext("CONFIG_LOCALVERSION", KconfigType::CharArray, 6, false);
        set_kconfig(&e, &k, &mut d, "\"-cloud-amd64\"").unwrap();
        assert_eq!(&d, b"-clou\0");
        set_kconfig(&e, &k, &mut d, "\"\"").unwrap();
        assert_eq!(&d, &[0; 6]);
        assert!(set_kconfig(&e, &k, &mut d, "\"open").is_err());
    }

    #[test]
    fn config_lines_set_each_extern_once_and_skip_others() {
        let (a, _) = kext("CONFIG_A", KconfigType::Int, 4, false);
        let (mut b, mut kb) = kext("CONFIG_B", KconfigType::Bool, 1, false);
        kb.offset = 4;
        b.kind = ExternKind::Kconfig(kb);
        let externs = [a, b];
        let mut d = [0u8; 5];
        let mut set = [false; 2];
        let text = "# CONFIG_X is not set\nCONFIG_A=7\nCONFIG_A=9\nCONFIG_UNUSED=\"x\"\n";
        apply_config(text, &externs, &mut d, &mut set, Path::new("t")).unwrap();
        assert_eq!(u32::from_ne_bytes(d[..4].try_into().unwrap()), 7);
        assert_eq!(set, [true, false]);
        let e =
            apply_config("CONFIG_B=5\n", &externs, &mut d, &mut set, Path::new("cfg")).unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("CONFIG_B") && msg.contains("cfg"), "{msg}");
    }

    #[test]
    fn kernel_version_follows_libbpf() {
        assert_eq!(kernel_version(6, 1, 300), (6 << 16) + (1 << 8) + 255);
        assert_eq!(three_numbers("5.10.209-2 (2024-01-31)"), Some((5, 10, 209)));
        assert_eq!(three_numbers("6.18.0-fc-v1045"), Some((6, 18, 0)));
        assert_eq!(three_numbers("6.1"), None);
    }

    #[test]
    fn kallsyms_lines_parse_with_llvm_suffixes() {
        let wanted = ["_text", "foo", "vfs_read"].map(String::from).into();
        let k = parse_kallsyms(
            "ffffffff81000000 T _text\nffffffff81234560 d foo.llvm.123\nffffffff81234570 t vfs_read\tbad\nffffffff81234580 t other\n",
            &wanted,
        );
        assert_eq!(k["_text"], [0xffffffff81000000]);
        assert_eq!(k["foo"], [0xffffffff81234560]);
        assert_eq!(k["vfs_read"], [0xffffffff81234570]);
        assert!(!k.contains_key("other"));
    }

    #[test]
    fn parses_integers_like_strtoull() {
        assert_eq!(parse_u64("42"), Some(42));
        assert_eq!(parse_u64("0x1F"), Some(31));
        assert_eq!(parse_u64("010"), Some(8));
        assert_eq!(parse_u64("0"), Some(0));
        assert_eq!(parse_u64("-1"), Some(u64::MAX));
        assert_eq!(parse_u64("12ab"), None);
    }
}

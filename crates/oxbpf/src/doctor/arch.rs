//! Does an object's target architecture match this machine?
//!
//! A kprobe program built with another `__TARGET_ARCH_*` reads `pt_regs` at that
//! architecture's offsets; the instructions cannot tell, but the object's BTF usually can:
//! `bpf_tracing.h` casts the context to `struct pt_regs` (x86, riscv, powerpc, ...) or
//! `struct user_pt_regs` (arm64, s390), and the member names of those structs name the
//! architecture. Big-endian objects are refused earlier, by the ELF reader.

use oxbpf_btf::{Btf, Type, essential_name};

/// Architectures told apart by the member names of their register structs:
/// (name as in `std::env::consts::ARCH`, members that identify it).
const LAYOUTS: &[(&str, &[&str])] = &[
    ("x86_64", &["di", "si", "ip", "sp", "orig_ax"]),
    ("x86", &["bx", "cx", "ip", "orig_ax"]),
    ("aarch64", &["regs", "sp", "pc", "pstate"]),
    ("arm", &["uregs"]),
    ("s390x", &["psw", "gprs"]),
    ("powerpc64", &["gpr", "nip", "msr"]),
    ("riscv64", &["epc", "ra", "sp", "a0"]),
    ("mips64", &["regs", "cp0_epc", "cp0_status"]),
    ("loongarch64", &["regs", "csr_era"]),
];

/// The register struct of `btf` named `pt_regs` or `user_pt_regs` (any `___flavor`):
/// its name and member names. The first one with members wins.
fn regs_struct<'a>(btf: &Btf<'a>) -> Option<(&'a str, Vec<&'a str>)> {
    for name in ["pt_regs", "user_pt_regs"] {
        for id in btf.find_by_essential_name(name) {
            if let Ok(Type::Struct(c)) = btf.type_by_id(id)
                && c.vlen() > 0
            {
                let members = c.members().filter_map(|m| m.ok()).map(|m| m.name).collect();
                return Some((c.name, members));
            }
        }
    }
    None
}

/// The architecture whose register layout `members` has, if one matches all its names.
pub fn arch_of_regs(members: &[&str]) -> Option<&'static str> {
    LAYOUTS
        .iter()
        .find(|(_, names)| names.iter().all(|n| members.contains(n)))
        .map(|(arch, _)| *arch)
}

/// Warnings for an object whose BTF (`object`) describes another architecture's
/// registers than `machine` (this machine's `std::env::consts::ARCH`) or, for a layout
/// not recognised as any architecture's, than the kernel's BTF `kernel` (when given).
/// Empty when they agree or the object has no register struct.
pub fn check_btf(object: &Btf<'_>, machine: &str, kernel: Option<&Btf<'_>>) -> Vec<String> {
    check_btf_with(object, machine, || kernel)
}

/// [`check_btf`] with the kernel's BTF fetched only if the object's register layout is
/// not recognised (a recognised one that matches `machine` says all there is to say,
/// and reading vmlinux costs a full walk of it).
fn check_btf_with<'k>(
    object: &Btf<'_>,
    machine: &str,
    kernel: impl FnOnce() -> Option<&'k Btf<'k>>,
) -> Vec<String> {
    let mut out = Vec::new();
    let Some((name, members)) = regs_struct(object) else {
        return out;
    };
    let arch = arch_of_regs(&members);
    if let Some(arch) = arch
        && arch != machine
    {
        out.push(format!(
            "the object's struct {name} has the {arch} register layout but this machine is \
             {machine}: it was built for another __TARGET_ARCH, and its kprobe/uprobe \
             programs would read the wrong registers; rebuild with -D__TARGET_ARCH_{}",
            target_arch_macro(machine)
        ));
        return out;
    }
    if arch.is_some() {
        return out;
    }
    if let Some(k) = kernel() {
        let ess = essential_name(name);
        match regs_struct_named(k, ess) {
            None => out.push(format!(
                "the object uses struct {name}, which the kernel's BTF does not have: it was \
                 probably built for another __TARGET_ARCH (this machine is {machine})"
            )),
            Some(kmembers) => {
                let missing: Vec<&str> = members
                    .iter()
                    .copied()
                    .filter(|m| !m.is_empty() && !kmembers.contains(m))
                    .collect();
                if !missing.is_empty() {
                    out.push(format!(
                        "the object's struct {name} has members {missing:?} that the kernel's \
                         struct {ess} lacks: it was probably built for another __TARGET_ARCH \
                         (this machine is {machine})"
                    ));
                }
            }
        }
    }
    out
}

fn regs_struct_named<'a>(btf: &Btf<'a>, name: &str) -> Option<Vec<&'a str>> {
    let id = btf.find_by_name(name, oxbpf_btf::Kind::Struct).ok()??;
    match btf.type_by_id(id).ok()? {
        Type::Struct(c) => Some(c.members().filter_map(|m| m.ok()).map(|m| m.name).collect()),
        _ => None,
    }
}

/// The `__TARGET_ARCH_*` suffix libbpf's bpf_tracing.h uses for a Rust arch name.
pub fn target_arch_macro(arch: &str) -> &str {
    match arch {
        "x86_64" | "x86" => "x86",
        "aarch64" => "arm64",
        "s390x" => "s390",
        "powerpc64" => "powerpc",
        "riscv64" => "riscv",
        "mips64" => "mips",
        "loongarch64" => "loongarch",
        other => other,
    }
}

/// [`check_btf`] for an object spec against this machine and, only for a register
/// layout it does not recognise, its vmlinux BTF (when present); an object without BTF
/// gives no warnings.
pub fn check_object(spec: &oxbpf_obj::ObjectSpec) -> Vec<String> {
    let Some(bytes) = spec.btf.as_deref() else {
        return Vec::new();
    };
    let Ok(btf) = Btf::parse(bytes) else {
        return Vec::new();
    };
    check_btf_with(&btf, std::env::consts::ARCH, || {
        crate::kernel_btf::vmlinux().ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use oxbpf_btf::BtfBuilder;

    fn regs_btf(name: &str, members: &[&str]) -> Vec<u8> {
        let mut b = BtfBuilder::new();
        let long = b.add_int("unsigned long", 8, 0);
        let m: Vec<(&str, u32, u32)> = members
            .iter()
            .enumerate()
            .map(|(i, n)| (*n, long, i as u32 * 64))
            .collect();
        b.add_struct(name, members.len() as u32 * 8, &m);
        b.build()
    }

    const X86: &[&str] = &["r15", "bx", "di", "si", "ip", "cs", "sp", "orig_ax"];
    const ARM64: &[&str] = &["regs", "sp", "pc", "pstate"];

    #[test]
    fn arm64_object_on_x86_64_is_reported() {
        let obj = regs_btf("user_pt_regs", ARM64);
        let w = check_btf(&Btf::parse(&obj).unwrap(), "x86_64", None);
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(w[0].contains("aarch64 register layout"), "{w:?}");
        assert!(w[0].contains("-D__TARGET_ARCH_x86"), "{w:?}");
    }

    #[test]
    fn matching_layout_gives_no_warning() {
        let obj = regs_btf("pt_regs", X86);
        let kernel = regs_btf("pt_regs", X86);
        let (o, k) = (Btf::parse(&obj).unwrap(), Btf::parse(&kernel).unwrap());
        assert!(check_btf(&o, "x86_64", Some(&k)).is_empty());
        // No register struct at all: nothing to say.
        let none = regs_btf("other", &["a"]);
        assert!(check_btf(&Btf::parse(&none).unwrap(), "x86_64", Some(&k)).is_empty());
    }

    #[test]
    fn kernel_btf_is_read_only_for_an_unrecognised_layout() {
        let x86 = regs_btf("pt_regs", X86);
        let o = Btf::parse(&x86).unwrap();
        let w = check_btf_with(&o, "x86_64", || panic!("vmlinux read for a known layout"));
        assert!(w.is_empty(), "{w:?}");
        let arm = regs_btf("user_pt_regs", ARM64);
        let a = Btf::parse(&arm).unwrap();
        let w = check_btf_with(&a, "x86_64", || panic!("vmlinux read for a known layout"));
        assert_eq!(w.len(), 1, "{w:?}");
        let odd = regs_btf("pt_regs___odd", &["foo"]);
        let kernel = regs_btf("pt_regs", X86);
        let k = Btf::parse(&kernel).unwrap();
        let mut asked = false;
        let w = check_btf_with(&Btf::parse(&odd).unwrap(), "x86_64", || {
            asked = true;
            Some(&k)
        });
        assert!(asked && w.len() == 1, "{w:?}");
    }

    #[test]
    fn unknown_layout_is_compared_with_the_kernels_btf() {
        let obj = regs_btf("pt_regs___odd", &["foo", "bar"]);
        let kernel = regs_btf("pt_regs", X86);
        let (o, k) = (Btf::parse(&obj).unwrap(), Btf::parse(&kernel).unwrap());
        let w = check_btf(&o, "x86_64", Some(&k));
        assert!(w[0].contains("[\"foo\", \"bar\"]"), "{w:?}");
        let missing = regs_btf("user_pt_regs", &["foo"]);
        let w = check_btf(&Btf::parse(&missing).unwrap(), "x86_64", Some(&k));
        assert!(w[0].contains("kernel's BTF does not have"), "{w:?}");
    }

    #[test]
    fn recognises_register_layouts() {
        assert_eq!(
            arch_of_regs(&["r15", "di", "si", "ip", "sp", "orig_ax"]),
            Some("x86_64")
        );
        assert_eq!(
            arch_of_regs(&["regs", "sp", "pc", "pstate"]),
            Some("aarch64")
        );
        assert_eq!(arch_of_regs(&["a", "b"]), None);
    }
}

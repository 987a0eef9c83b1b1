//! Shared helpers of the kernel tests: fixture paths and the root/BPF probe.

#![allow(dead_code)]

use std::path::PathBuf;

pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures")
        .join(name)
}

/// True if this process may use bpf(); prints why not otherwise (the test then returns).
pub fn have_bpf() -> bool {
    // A feature probe first: like every facade entry point it raises RLIMIT_MEMLOCK where
    // the kernel charges BPF memory to it (before 5.11), which the raw map below needs.
    let _ = oxbpf::features::map_type_supported(oxbpf::obj::MapType::ARRAY);
    let attr = oxbpf::sys::bpf::MapCreate::new(2, 4, 4, 1);
    match oxbpf::sys::bpf::map_create(&attr) {
        Ok(_) => true,
        Err(e) => {
            eprintln!("skipping: bpf() is not usable here ({e}); run the tests as root");
            false
        }
    }
}

pub fn load(name: &str) -> oxbpf::Collection {
    let spec = oxbpf::ObjectSpec::from_file(fixture(name)).unwrap();
    oxbpf::Collection::load(&spec, &oxbpf::LoadOptions::default())
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// `major.minor` of a release string such as `6.1.0-57-cloud-amd64` or `5.10`.
pub fn parse_release(s: &str) -> (u32, u32) {
    let mut it = s
        .trim()
        .split(|c: char| !c.is_ascii_digit())
        .map(|p| p.parse::<u32>().unwrap_or(0));
    (it.next().unwrap_or(0), it.next().unwrap_or(0))
}

/// `major.minor` of the running kernel.
pub fn kernel_release() -> (u32, u32) {
    parse_release(&std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap())
}

/// True if the kernel has capability `c`; prints why the test is skipped otherwise.
pub fn have(c: oxbpf::features::Capability) -> bool {
    match oxbpf::features::capability_supported(c) {
        Ok(true) => true,
        Ok(false) => {
            eprintln!(
                "skipping: the kernel lacks {c} (since {})",
                oxbpf::features::min_kernel(oxbpf::features::Feature::Capability(c))
            );
            false
        }
        Err(e) => {
            eprintln!("skipping: cannot tell whether the kernel has {c}: {e}");
            false
        }
    }
}

/// True if the kernel has program type `t`; prints why the test is skipped otherwise.
pub fn have_prog_type(t: oxbpf::obj::ProgramType) -> bool {
    match oxbpf::features::prog_type_supported(t) {
        Ok(true) => true,
        other => {
            eprintln!(
                "skipping: program type {t} not available here ({other:?}; since {})",
                oxbpf::features::min_kernel(oxbpf::features::Feature::ProgramType(t))
            );
            false
        }
    }
}

/// True if the running kernel's release is at least `min` (`"5.8"`, as
/// [`oxbpf::features::min_kernel`] answers); an `"unknown"` release is never reached.
pub fn release_at_least(min: &str) -> bool {
    min != "unknown" && kernel_release() >= parse_release(min)
}

/// True if the kernel has map type `t`; prints why the test is skipped otherwise.
pub fn have_map_type(t: oxbpf::obj::MapType) -> bool {
    match oxbpf::features::map_type_supported(t) {
        Ok(true) => true,
        other => {
            eprintln!(
                "skipping: map type {t} not available here ({other:?}; since {})",
                oxbpf::features::min_kernel(oxbpf::features::Feature::MapType(t))
            );
            false
        }
    }
}

/// True if programs of type `pt` may call `h`; prints why the test is skipped otherwise.
pub fn have_helper(pt: oxbpf::obj::ProgramType, h: oxbpf::asm::Helper) -> bool {
    match oxbpf::features::helper_supported(pt, h) {
        Ok(true) => true,
        other => {
            eprintln!(
                "skipping: helper {h:?} not available to {pt} here ({other:?}; since {})",
                oxbpf::features::min_kernel(oxbpf::features::Feature::Helper(h))
            );
            false
        }
    }
}

/// The kernel's `tcp_available_congestion_control` list ("" if unreadable).
pub fn available_cc() -> String {
    std::fs::read_to_string("/proc/sys/net/ipv4/tcp_available_congestion_control")
        .unwrap_or_default()
}

/// True if bpf() works and the kernel implements `tcp_congestion_ops` in BPF (vmlinux BTF
/// has it); prints why the test is skipped otherwise.
pub fn have_bpf_tcp_cc() -> bool {
    if !have_bpf() {
        return false;
    }
    let btf = match oxbpf::kernel_btf::vmlinux() {
        Ok(b) => b,
        Err(e) => {
            eprintln!("skipping: no vmlinux BTF ({e})");
            return false;
        }
    };
    match oxbpf::attach::struct_ops::StructOpsLayout::from_btf(btf, "tcp_congestion_ops") {
        Ok(_) => true,
        Err(e) => {
            eprintln!("skipping: {e}");
            false
        }
    }
}

//! Externs against the kernel (externs.bpf.o): `__kconfig` values, typed (per-CPU) and
//! typeless `__ksym`s, kfuncs from vmlinux BTF, a `__weak` kfunc the kernel lacks guarded
//! by `bpf_ksym_exists()`; the values the programs report are compared with what user
//! space reads from uname, the kernel config and /proc/kallsyms.

mod common;

use std::collections::HashMap;
use std::io::Read;

use oxbpf::obj::ProgramType;
use oxbpf::sys::bpf;
use oxbpf::{Collection, Error, LoadOptions, ObjectSpec};

/// read_externs is a raw_tp program run with BPF_PROG_TEST_RUN on a chosen CPU (5.10+).
fn have_raw_tp_test_run() -> bool {
    if !common::have_bpf() || !common::have_prog_type(ProgramType::RAW_TRACEPOINT) {
        return false;
    }
    if common::kernel_release() < (5, 10) {
        eprintln!("skipping: BPF_PROG_TEST_RUN on a CPU for raw_tp and typed ksyms need 5.10");
        return false;
    }
    if oxbpf::kernel_btf::vmlinux().is_err() {
        eprintln!("skipping: no vmlinux BTF for the typed ksym");
        return false;
    }
    true
}

/// A kernel config file with the fixture's strong `CONFIG_*` externs, removed on drop: for
/// tests about other externs, which must not depend on the kernel shipping its config
/// (the 5.10 cloud kernel has neither /boot/config-* nor /proc/config.gz).
struct KconfigFile(std::path::PathBuf);

impl KconfigFile {
    fn new(tag: &str) -> KconfigFile {
        let p = std::env::temp_dir().join(format!("oxbpf-kconfig-{tag}-{}", std::process::id()));
        std::fs::write(&p, "CONFIG_BPF_SYSCALL=y\nCONFIG_BPF=y\nCONFIG_NR_CPUS=8\n").unwrap();
        KconfigFile(p)
    }

    fn opts(&self) -> LoadOptions {
        LoadOptions {
            kconfig: Some(self.0.clone()),
            ..Default::default()
        }
    }
}

impl Drop for KconfigFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn spec() -> ObjectSpec {
    ObjectSpec::from_file(common::fixture("externs.bpf.o")).unwrap()
}

fn release() -> String {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .unwrap()
        .trim()
        .to_owned()
}

/// The kernel config as user space reads it (plain /boot/config-<release>, else
/// /proc/config.gz): CONFIG_X → value. `None` if there is none.
fn system_config() -> Option<HashMap<String, String>> {
    let text = std::fs::read_to_string(format!("/boot/config-{}", release()))
        .ok()
        .or_else(|| {
            let f = std::fs::File::open("/proc/config.gz").ok()?;
            let mut s = String::new();
            flate2::read::GzDecoder::new(f)
                .read_to_string(&mut s)
                .ok()?;
            Some(s)
        })?;
    Some(
        text.lines()
            .filter_map(|l| l.split_once('='))
            .filter(|(k, _)| k.starts_with("CONFIG_"))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
    )
}

/// LINUX_KERNEL_VERSION as the kernel's headers define it, from uname: Debian kernels
/// carry the real version in the uname version ("... Debian 6.1.119-1 ..."), others in the
/// release.
fn expected_kernel_version() -> u32 {
    let version = std::fs::read_to_string("/proc/sys/kernel/version").unwrap_or_default();
    let src = match version.split_once("Debian ") {
        Some((_, rest)) => rest.to_owned(),
        None => release(),
    };
    let nums: Vec<u32> = src
        .split(|c: char| !c.is_ascii_digit())
        .take(3)
        .map(|p| p.parse().unwrap())
        .collect();
    (nums[0] << 16) + (nums[1] << 8) + nums[2].min(255)
}

fn kallsyms_addr(name: &str) -> Option<u64> {
    let text = std::fs::read_to_string("/proc/kallsyms").ok()?;
    text.lines().find_map(|l| {
        let mut it = l.split_whitespace();
        let (addr, _, n) = (it.next()?, it.next()?, it.next()?);
        (n == name).then(|| u64::from_str_radix(addr, 16).ok())?
    })
}

fn tristate(v: Option<&String>) -> u32 {
    match v.map(String::as_str) {
        Some("y") => 1,
        Some("m") => 2,
        _ => 0,
    }
}

/// Runs program `prog` on `cpu`.
fn run_on(coll: &Collection, prog: &str, cpu: u32) {
    let p = coll.program(prog).unwrap();
    let r = bpf::prog_test_run_on_cpu(p.fd().as_fd(), &mut [], Some(cpu)).unwrap();
    assert_eq!(r.retval, 0);
}

#[test]
fn kconfig_and_ksym_values_match_what_user_space_reads() {
    if !have_raw_tp_test_run() {
        return;
    }
    let Some(vfs_read) = kallsyms_addr("vfs_read").filter(|&a| a != 0) else {
        eprintln!("skipping: vfs_read has no address in /proc/kallsyms");
        return;
    };
    // Without a kernel config (the 5.10 cloud kernel ships none), one given in the load
    // options stands in for it, and the values are compared with that file.
    let given = system_config()
        .is_none()
        .then(|| KconfigFile::new("values"));
    let cfg: HashMap<String, String> = match &given {
        None => system_config().unwrap(),
        Some(f) => std::fs::read_to_string(&f.0)
            .unwrap()
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
    };
    let opts = given
        .as_ref()
        .map_or_else(LoadOptions::default, KconfigFile::opts);
    let coll = Collection::load(&spec(), &opts).unwrap();
    let cpus = oxbpf::sys::possible_cpus().unwrap().min(2) as u32;
    for cpu in 0..cpus {
        run_on(&coll, "read_externs", cpu);
        let bss = coll.global_data(".bss").unwrap();
        let data = coll.global_data(".data").unwrap();
        let g = |n: &str| bss.get::<u32>(n).unwrap();
        assert_eq!(g("kernel_version"), expected_kernel_version());
        let y = |k: &str| cfg.get(k).map(String::as_str) == Some("y");
        assert_eq!(g("bpf_syscall"), u32::from(y("CONFIG_BPF_SYSCALL")));
        assert_eq!(g("bpf_char"), u32::from(b'y'), "CONFIG_BPF as char");
        assert_eq!(g("veth"), tristate(cfg.get("CONFIG_VETH")));
        let nr: u32 = cfg["CONFIG_NR_CPUS"].parse().unwrap();
        assert_eq!(g("nr_cpus"), nr);
        let host = cfg
            .get("CONFIG_DEFAULT_HOSTNAME")
            .map_or("", |v| v.trim_matches('"'));
        let mut want = [0u8; 4];
        let n = host.len().min(3);
        want[..n].copy_from_slice(&host.as_bytes()[..n]);
        assert_eq!(bss.get::<[u8; 4]>("hostname").unwrap(), want);
        assert_eq!(g("missing"), 0);
        let wrapper = kallsyms_addr(&format!(
            "__{}_sys_bpf",
            if cfg!(target_arch = "x86_64") {
                "x64"
            } else {
                "arm64"
            }
        ))
        .is_some();
        assert_eq!(g("syscall_wrapper"), u32::from(wrapper));
        assert_eq!(bss.get::<u64>("vfs_read_addr").unwrap(), vfs_read);
        // The __weak kfunc the kernel lacks: bpf_ksym_exists() is false, its call pruned.
        assert_eq!(data.get::<u32>("missing_kfunc").unwrap(), 0);
        assert_eq!(g("runs"), cpu + 1);
    }
}

#[test]
fn a_kconfig_file_given_is_read_before_the_system_config() {
    if !have_raw_tp_test_run() {
        return;
    }
    let Some(cfg) = system_config() else {
        eprintln!("skipping: no system kernel config for the values the file leaves out");
        return;
    };
    let path = std::env::temp_dir().join(format!("oxbpf-kconfig-{}", std::process::id()));
    std::fs::write(
        &path,
        "# test config\nCONFIG_NR_CPUS=0x7\nCONFIG_VETH=m\nCONFIG_BPF=n\nCONFIG_DEFAULT_HOSTNAME=\"xy\"\n",
    )
    .unwrap();
    let opts = LoadOptions {
        kconfig: Some(path.clone()),
        ..Default::default()
    };
    let coll = Collection::load(&spec(), &opts);
    std::fs::remove_file(&path).unwrap();
    let coll = coll.unwrap();
    run_on(&coll, "read_externs", 0);
    let bss = coll.global_data(".bss").unwrap();
    let g = |n: &str| bss.get::<u32>(n).unwrap();
    assert_eq!(g("nr_cpus"), 7);
    assert_eq!(g("veth"), 2);
    assert_eq!(g("bpf_char"), u32::from(b'n'));
    assert_eq!(bss.get::<[u8; 4]>("hostname").unwrap(), *b"xy\0\0");
    // Not in the file: from the system config.
    let y = cfg.get("CONFIG_BPF_SYSCALL").map(String::as_str) == Some("y");
    assert_eq!(g("bpf_syscall"), u32::from(y));
}

#[test]
fn a_bad_kconfig_value_is_an_error_naming_the_extern_and_the_file() {
    if !common::have_bpf() {
        return;
    }
    let path = std::env::temp_dir().join(format!("oxbpf-kconfig-bad-{}", std::process::id()));
    std::fs::write(&path, "CONFIG_BPF_SYSCALL=m\n").unwrap();
    let opts = LoadOptions {
        kconfig: Some(path.clone()),
        ..Default::default()
    };
    let e = Collection::load(&spec(), &opts).unwrap_err();
    std::fs::remove_file(&path).unwrap();
    assert!(
        matches!(e, Error::Kconfig { ref name, .. } if name == "CONFIG_BPF_SYSCALL"),
        "{e}"
    );
    assert!(e.to_string().contains(&path.display().to_string()), "{e}");
}

#[test]
fn a_strong_extern_the_kernel_lacks_is_missing_ksym_or_missing_kfunc() {
    if !have_raw_tp_test_run() {
        return;
    }
    // The kfunc made strong: loading read_externs fails naming it.
    let mut s = spec();
    let k = s
        .externs
        .iter_mut()
        .find(|e| e.name == "bpf_oxbpf_no_such_kfunc")
        .unwrap();
    k.weak = false;
    let cfg = KconfigFile::new("strong");
    let e = Collection::load(&s, &cfg.opts()).unwrap_err();
    match e.first() {
        Error::MissingKfunc { program, name, .. } => {
            assert_eq!(program.as_deref(), Some("read_externs"));
            assert_eq!(name, "bpf_oxbpf_no_such_kfunc");
        }
        other => panic!("expected MissingKfunc, got {other}"),
    }
    assert_eq!(e.class(), oxbpf::ErrorClass::MissingKfunc);
    // A typeless ksym not in kallsyms, and a typed one not in BTF.
    for (from, to, prog) in [
        ("vfs_read", "oxbpf_no_such_symbol", "read_externs"),
        ("runqueues", "oxbpf_no_such_percpu_var", "read_percpu"),
    ] {
        let mut s = spec();
        let k = s.externs.iter_mut().find(|e| e.name == from).unwrap();
        k.name = to.into();
        for p in &mut s.programs {
            p.def.autoload = p.name == prog;
        }
        let e = Collection::load(&s, &cfg.opts()).unwrap_err();
        match e.first() {
            Error::MissingKsym { program, name, .. } => {
                assert_eq!(program.as_deref(), Some(prog));
                assert_eq!(name, to);
            }
            other => panic!("expected MissingKsym, got {other}"),
        }
        assert_eq!(e.class(), oxbpf::ErrorClass::MissingKsym);
        assert!(e.to_string().contains(to), "{e}");
    }
}

#[test]
fn typed_per_cpu_ksym_points_at_each_cpus_variable() {
    if !have_raw_tp_test_run() {
        return;
    }
    let mut s = spec();
    for p in &mut s.programs {
        p.def.autoload = p.name == "read_percpu";
    }
    let has_var = oxbpf::kernel_btf::vmlinux().ok().and_then(|b| {
        b.find_by_name("runqueues", oxbpf::btf::Kind::Var)
            .ok()
            .flatten()
    });
    if has_var.is_none() {
        eprintln!("skipping: vmlinux BTF has no per-CPU VARs (built without them by pahole)");
        return;
    }
    let loaded = Collection::load(&s, &LoadOptions::default());
    if kallsyms_addr("runqueues").is_none() {
        // The kernel resolves BPF_PSEUDO_BTF_ID variables through kallsyms, which lists
        // data symbols only with CONFIG_KALLSYMS_ALL (this host has it off).
        let e = loaded.unwrap_err();
        assert!(
            matches!(e.first(), Error::MissingKsym { name, reason, .. }
                if name == "runqueues" && reason.contains("CONFIG_KALLSYMS_ALL")),
            "{e}"
        );
        eprintln!("skipping the run: runqueues is not in /proc/kallsyms (CONFIG_KALLSYMS_ALL=n)");
        return;
    }
    let coll = loaded.unwrap();
    let cpus = oxbpf::sys::possible_cpus().unwrap().min(2) as u32;
    for cpu in 0..cpus {
        run_on(&coll, "read_percpu", cpu);
        let bss = coll.global_data(".bss").unwrap();
        let data = coll.global_data(".data").unwrap();
        // This CPU's runqueue says which CPU it belongs to.
        assert_eq!(bss.get::<u32>("cpu").unwrap(), cpu);
        assert_eq!(data.get::<i32>("rq_cpu").unwrap(), cpu as i32);
        assert_eq!(data.get::<i32>("rq0_cpu").unwrap(), 0);
    }
}

#[test]
fn a_reachable_call_of_a_missing_weak_kfunc_is_explained() {
    if !have_raw_tp_test_run() {
        return;
    }
    // Drop the bpf_ksym_exists() guard before the call: the poisoned call is reachable.
    let mut s = spec();
    let p = s
        .programs
        .iter_mut()
        .find(|p| p.name == "read_externs")
        .unwrap();
    let call = p
        .relocations
        .iter()
        .find(|r| r.symbol == "bpf_oxbpf_no_such_kfunc" && p.insns[r.insn].is_call())
        .unwrap()
        .insn;
    let guard = &mut p.insns[call - 1];
    assert_eq!(
        (guard.code, guard.off),
        (0x15, 1),
        "the guard is `if r1 == 0 goto +1`"
    );
    *guard = oxbpf::asm::Insn::mov64_imm(4, 0);
    let cfg = KconfigFile::new("reachable");
    let e = Collection::load(&s, &cfg.opts()).unwrap_err();
    match e.first() {
        Error::MissingKfunc { name, verifier, .. } => {
            assert_eq!(name, "bpf_oxbpf_no_such_kfunc");
            let v = verifier.as_ref().expect("the verifier's rejection");
            assert!(v.log.contains("2002000"), "{}", v.log);
        }
        other => panic!("expected MissingKfunc, got {other}"),
    }
}

#[test]
fn kfuncs_are_called_and_a_guarded_missing_weak_kfunc_is_pruned() {
    if !common::have_bpf() || !common::have_prog_type(ProgramType::SYSCALL) {
        return;
    }
    let vmlinux = match oxbpf::kernel_btf::vmlinux() {
        Ok(b) => b,
        Err(e) => {
            eprintln!("skipping: {e}");
            return;
        }
    };
    for f in ["bpf_task_from_pid", "bpf_task_release", "bpf_rcu_read_lock"] {
        if !matches!(vmlinux.find_by_name(f, oxbpf::btf::Kind::Func), Ok(Some(_))) {
            eprintln!("skipping: kfunc {f} is not in vmlinux BTF (6.2+)");
            return;
        }
    }
    let mut s = spec();
    for p in &mut s.programs {
        p.def.autoload = p.name == "call_kfuncs";
    }
    let coll = Collection::load(&s, &LoadOptions::default()).unwrap();
    let p = coll.program("call_kfuncs").unwrap();
    let pid = std::process::id() as i32;
    let mut ctx = pid.to_ne_bytes();
    assert_eq!(p.test_run(&mut ctx).unwrap(), 0);
    let bss = coll.global_data(".data").unwrap();
    assert_eq!(bss.get::<i32>("task_tgid").unwrap(), pid);
    assert_eq!(bss.get::<u32>("kfunc_guard").unwrap(), 0);
    // A __weak kfunc the kernel has: bpf_ksym_exists() is true (BPF_PSEUDO_BTF_ID of a
    // FUNC), and the guarded calls ran.
    assert_eq!(bss.get::<u32>("rcu_guard").unwrap(), 1);
}

//! `oxbpf::doctor` against fake procfs/sysfs/boot trees (one per FAIL case), and once
//! against the real host.

use std::io::Write;
use std::path::{Path, PathBuf};

use oxbpf::doctor::{self, Roots, Status};

const GOOD_CONFIG: &str = "CONFIG_BPF=y\nCONFIG_BPF_SYSCALL=y\nCONFIG_BPF_JIT=y\n\
    CONFIG_DEBUG_INFO_BTF=y\nCONFIG_DEBUG_INFO_BTF_MODULES=y\nCONFIG_BPF_EVENTS=y\n\
    CONFIG_KPROBES=y\nCONFIG_KPROBE_EVENTS=y\nCONFIG_UPROBE_EVENTS=y\nCONFIG_FPROBE=y\n\
    CONFIG_BPF_LSM=y\nCONFIG_CGROUP_BPF=y\nCONFIG_NET_CLS_BPF=m\nCONFIG_NET_SCH_INGRESS=m\n\
    CONFIG_XDP_SOCKETS=y\n";

const MOUNTINFO: &str = "22 1 0:21 / /proc rw,nosuid - proc proc rw\n\
    30 25 0:26 / /sys/fs/cgroup rw shared:9 - cgroup2 cgroup2 rw\n\
    31 22 0:12 / /sys/kernel/tracing rw - tracefs tracefs rw\n\
    32 22 0:7 / /sys/kernel/debug rw - debugfs debugfs rw\n\
    33 22 0:30 / /sys/fs/bpf rw - bpf bpf rw,mode=700\n";

/// A healthy 6.18 machine; `f` edits it before the check.
struct Tree {
    dir: PathBuf,
}

impl Tree {
    fn new(tag: &str) -> Tree {
        let dir = std::env::temp_dir().join(format!("oxbpf-doctor-{}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let t = Tree { dir };
        t.write("proc/sys/kernel/osrelease", "6.18.0-test\n");
        t.write("boot/config-6.18.0-test", GOOD_CONFIG);
        t.write("sys/kernel/btf/vmlinux", "x");
        t.write("sys/kernel/btf/nf_tables", "x");
        t.write("proc/self/mountinfo", MOUNTINFO);
        t.write("proc/self/status", "Name:\tx\nCapEff:\t000001ffffffffff\n");
        t.write(
            "proc/self/limits",
            "Limit Soft Hard Units\nMax locked memory         8388608              8388608              bytes\n",
        );
        t.write("proc/sys/kernel/unprivileged_bpf_disabled", "2\n");
        t.write("proc/sys/net/core/bpf_jit_enable", "1\n");
        t.write(
            "sys/kernel/security/lockdown",
            "[none] integrity confidentiality\n",
        );
        t
    }

    fn write(&self, rel: &str, text: &str) {
        let p = self.dir.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    fn remove(&self, rel: &str) {
        std::fs::remove_file(self.dir.join(rel)).unwrap();
    }

    fn roots(&self) -> Roots {
        Roots {
            proc: self.dir.join("proc"),
            sys: self.dir.join("sys"),
            boot: self.dir.join("boot"),
        }
    }

    fn run(&self) -> doctor::Report {
        doctor::run_with(&self.roots(), Some(true))
    }
}

impl Drop for Tree {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn status(r: &doctor::Report, name: &str) -> Status {
    r.get(name)
        .unwrap_or_else(|| panic!("no check {name}:\n{r}"))
        .status
}

/// Asserts `name` failed with a fix, and that the report as a whole fails.
fn assert_fails(r: &doctor::Report, name: &str) {
    let c = r
        .get(name)
        .unwrap_or_else(|| panic!("no check {name}:\n{r}"));
    assert_eq!(c.status, Status::Fail, "{r}");
    assert!(c.fix.as_deref().is_some_and(|f| !f.is_empty()), "{c:?}");
    assert!(r.failed());
}

#[test]
fn a_healthy_tree_is_all_ok() {
    let t = Tree::new("ok");
    let r = t.run();
    assert_eq!(r.worst(), Status::Ok, "{r}");
    assert!(
        r.get("config")
            .unwrap()
            .detail
            .contains("config-6.18.0-test")
    );
    assert_eq!(
        status(&r, "config.NET_CLS_BPF"),
        Status::Ok,
        "m counts as present"
    );
    assert_eq!(
        r.get("mount.cgroup2").unwrap().detail,
        "cgroup2 at /sys/fs/cgroup"
    );
    assert!(r.checks.iter().all(|c| c.fix.is_none()));
}

#[test]
fn old_kernel_fails() {
    let t = Tree::new("old");
    t.write("proc/sys/kernel/osrelease", "4.14.0\n");
    assert_fails(&t.run(), "kernel.version");
    t.write("proc/sys/kernel/osrelease", "5.4.0-generic\n");
    assert_eq!(status(&t.run(), "kernel.version"), Status::Warn);
}

#[test]
fn missing_osrelease_fails() {
    let t = Tree::new("norel");
    t.remove("proc/sys/kernel/osrelease");
    assert_fails(&t.run(), "kernel.version");
}

#[test]
fn config_without_bpf_syscall_fails() {
    let t = Tree::new("nobpf");
    t.write(
        "boot/config-6.18.0-test",
        &GOOD_CONFIG.replace("CONFIG_BPF_SYSCALL=y", "# CONFIG_BPF_SYSCALL is not set"),
    );
    let r = t.run();
    assert_fails(&r, "config.BPF_SYSCALL");
    assert_eq!(status(&r, "config.BPF"), Status::Ok);
}

#[test]
fn optional_config_missing_warns() {
    let t = Tree::new("nokprobes");
    t.write(
        "boot/config-6.18.0-test",
        &GOOD_CONFIG.replace("CONFIG_KPROBES=y\n", ""),
    );
    let r = t.run();
    assert_eq!(status(&r, "config.KPROBES"), Status::Warn, "{r}");
    assert!(!r.failed());
}

#[test]
fn config_gz_is_preferred_and_decompressed() {
    let t = Tree::new("gz");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(
        GOOD_CONFIG
            .replace("CONFIG_BPF=y", "# CONFIG_BPF is not set")
            .as_bytes(),
    )
    .unwrap();
    std::fs::write(t.dir.join("proc/config.gz"), gz.finish().unwrap()).unwrap();
    let r = t.run();
    assert!(
        r.get("config").unwrap().detail.ends_with("config.gz"),
        "{r}"
    );
    assert_fails(&r, "config.BPF");
}

#[test]
fn no_config_anywhere_warns_and_names_what_was_tried() {
    let t = Tree::new("nocfg");
    t.remove("boot/config-6.18.0-test");
    let r = t.run();
    let c = r.get("config").unwrap();
    assert_eq!(c.status, Status::Warn);
    assert!(
        c.detail.contains("config.gz") && c.detail.contains("config-6.18.0-test"),
        "{c:?}"
    );
    assert!(r.get("config.BPF").is_none());
}

#[test]
fn no_capabilities_fails() {
    let t = Tree::new("nocaps");
    t.write("proc/self/status", "CapEff:\t0000000000000000\n");
    let r = t.run();
    assert_fails(&r, "caps.CAP_BPF");
    assert_fails(&r, "sysctl.unprivileged_bpf_disabled");
    assert_eq!(status(&r, "caps.CAP_NET_ADMIN"), Status::Warn);
    // CAP_BPF alone (bit 39) is enough to load.
    t.write("proc/self/status", "CapEff:\t0000008000000000\n");
    let r = t.run();
    assert_eq!(status(&r, "caps.CAP_BPF"), Status::Ok, "{r}");
    assert_eq!(status(&r, "caps.CAP_PERFMON"), Status::Warn, "{r}");
}

#[test]
fn unprivileged_bpf_enabled_is_fine_without_caps() {
    let t = Tree::new("unpriv");
    t.write("proc/self/status", "CapEff:\t0000000000000000\n");
    t.write("proc/sys/kernel/unprivileged_bpf_disabled", "0\n");
    assert_eq!(
        status(&t.run(), "sysctl.unprivileged_bpf_disabled"),
        Status::Ok
    );
}

#[test]
fn confidentiality_lockdown_fails_and_integrity_warns() {
    let t = Tree::new("lockdown");
    t.write(
        "sys/kernel/security/lockdown",
        "none integrity [confidentiality]\n",
    );
    assert_fails(&t.run(), "lockdown");
    t.write(
        "sys/kernel/security/lockdown",
        "none [integrity] confidentiality\n",
    );
    assert_eq!(status(&t.run(), "lockdown"), Status::Warn);
}

#[test]
fn missing_btf_mounts_and_jit_warn() {
    let t = Tree::new("warns");
    t.remove("sys/kernel/btf/vmlinux");
    t.remove("sys/kernel/btf/nf_tables");
    t.write(
        "proc/self/mountinfo",
        "22 1 0:21 / /proc rw - proc proc rw\n",
    );
    t.write("proc/sys/net/core/bpf_jit_enable", "0\n");
    let r = t.run();
    for name in [
        "btf.vmlinux",
        "btf.modules",
        "mount.tracefs",
        "mount.bpffs",
        "mount.cgroup2",
        "sysctl.bpf_jit_enable",
    ] {
        assert_eq!(status(&r, name), Status::Warn, "{name}: {r}");
        assert!(r.get(name).unwrap().fix.is_some());
    }
    assert!(!r.failed());
}

#[test]
fn small_memlock_without_memcg_accounting_warns() {
    let t = Tree::new("memlock");
    assert_eq!(
        doctor::run_with(&t.roots(), Some(false))
            .get("memlock")
            .unwrap()
            .status,
        Status::Warn
    );
    // Unknown accounting on a 6.18 release: judged present from the release.
    assert_eq!(
        status(&doctor::run_with(&t.roots(), None), "memlock"),
        Status::Ok
    );
    t.write(
        "proc/self/limits",
        "Max locked memory         unlimited            unlimited            bytes\n",
    );
    assert_eq!(
        status(&doctor::run_with(&t.roots(), Some(false)), "memlock"),
        Status::Ok
    );
}

#[test]
fn garbage_files_do_not_panic() {
    let t = Tree::new("garbage");
    for rel in [
        "proc/sys/kernel/osrelease",
        "proc/self/mountinfo",
        "proc/self/status",
        "proc/self/limits",
        "proc/sys/kernel/unprivileged_bpf_disabled",
        "sys/kernel/security/lockdown",
        "proc/config.gz",
    ] {
        t.write(rel, "\u{0}\u{1} - [ ]] CapEff: zz\n");
    }
    let _ = t.run();
}

#[test]
fn the_host_has_no_failures() {
    // The build host and CI run as root on 6.x: nothing may FAIL (see HOST.md).
    if !Path::new("/proc/self/status").exists() {
        return;
    }
    let r = doctor::run(&Roots::default());
    assert!(r.get("kernel.version").is_some());
    assert!(!r.failed(), "{r}");
}

#[test]
fn an_object_with_arm64_registers_is_flagged_before_load() {
    let mut spec = oxbpf::ObjectSpec::from_file(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/counter.bpf.o"),
    )
    .unwrap();
    assert!(
        doctor::arch::check_object(&spec).is_empty(),
        "no register struct, no warning"
    );
    let mut b = oxbpf::btf::BtfBuilder::new();
    let u64t = b.add_int("unsigned long long", 8, 0);
    let regs = b.add_array(u64t, u64t, 31);
    b.add_struct(
        "user_pt_regs",
        272,
        &[
            ("regs", regs, 0),
            ("sp", u64t, 248 * 8),
            ("pc", u64t, 256 * 8),
            ("pstate", u64t, 264 * 8),
        ],
    );
    spec.btf = Some(b.build());
    let w = doctor::arch::check_object(&spec);
    if std::env::consts::ARCH == "aarch64" {
        assert!(w.is_empty(), "{w:?}");
    } else {
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(w[0].contains("__TARGET_ARCH"), "{w:?}");
    }
}

//! The individual checks of [`super::run`].

use std::path::Path;

use super::config::{self, KernelConfig};
use super::{Check, Report, Roots, Status};

fn check(name: &str, status: Status, detail: impl Into<String>, fix: Option<&str>) -> Check {
    Check {
        name: name.to_owned(),
        status,
        detail: detail.into(),
        fix: if status == Status::Ok {
            None
        } else {
            fix.map(str::to_owned)
        },
    }
}

fn read_trim(p: &Path) -> Option<String> {
    std::fs::read_to_string(p).ok().map(|s| s.trim().to_owned())
}

/// `major.minor` of a release string like `6.18.0-1-cloud-amd64`.
pub(crate) fn parse_release(s: &str) -> Option<(u32, u32)> {
    let mut it = s.split(|c: char| !c.is_ascii_digit());
    let major = it.next()?.parse().ok()?;
    let minor = it.next()?.parse().ok()?;
    Some((major, minor))
}

/// Kernel config options: (name, FAIL if missing, what is lost without it).
const OPTIONS: &[(&str, bool, &str)] = &[
    ("BPF", true, "no BPF at all"),
    ("BPF_SYSCALL", true, "no bpf() system call"),
    (
        "BPF_JIT",
        false,
        "programs run interpreted; kfuncs and some program types need the JIT",
    ),
    (
        "DEBUG_INFO_BTF",
        false,
        "no /sys/kernel/btf/vmlinux: no CO-RE, tp_btf, fentry, kfuncs",
    ),
    (
        "DEBUG_INFO_BTF_MODULES",
        false,
        "no BTF for modules' types and kfuncs",
    ),
    (
        "BPF_EVENTS",
        false,
        "no kprobe, tracepoint or perf_event programs",
    ),
    (
        "KPROBES",
        false,
        "kprobe/kretprobe programs load but cannot attach",
    ),
    (
        "KPROBE_EVENTS",
        false,
        "no kprobe attachment through tracefs or perf",
    ),
    (
        "UPROBE_EVENTS",
        false,
        "no uprobe/uretprobe/USDT attachment",
    ),
    ("FPROBE", false, "no kprobe.multi / kretprobe.multi"),
    (
        "BPF_LSM",
        false,
        "no LSM programs (also needs \"bpf\" in the lsm= boot list)",
    ),
    (
        "CGROUP_BPF",
        false,
        "no cgroup programs (cgroup_skb, sock, connect, sysctl)",
    ),
    (
        "NET_CLS_BPF",
        false,
        "no TC classifier programs through clsact",
    ),
    (
        "NET_SCH_INGRESS",
        false,
        "no clsact qdisc for TC (before TCX on 6.6+)",
    ),
    ("XDP_SOCKETS", false, "no AF_XDP sockets (XSKMAP)"),
];

pub(crate) fn all(roots: &Roots, memcg: Option<bool>) -> Report {
    let mut r = Report::default();
    let release = read_trim(&roots.proc.join("sys/kernel/osrelease"));
    let version = release.as_deref().and_then(parse_release);
    r.checks.push(kernel_version(release.as_deref(), version));
    r.checks.push(check(
        "arch",
        Status::Ok,
        format!(
            "{} ({}-endian)",
            std::env::consts::ARCH,
            if cfg!(target_endian = "little") {
                "little"
            } else {
                "big"
            }
        ),
        None,
    ));
    kernel_config(&mut r, roots, release.as_deref());
    btf(&mut r, roots);
    mounts(&mut r, roots);
    let caps = capabilities(&mut r, roots);
    memlock(&mut r, roots, memcg, version);
    unprivileged(&mut r, roots, caps);
    jit(&mut r, roots);
    lockdown(&mut r, roots);
    r
}

fn kernel_version(release: Option<&str>, version: Option<(u32, u32)>) -> Check {
    let name = "kernel.version";
    match (release, version) {
        (Some(rel), Some(v)) if v < (4, 18) => check(
            name,
            Status::Fail,
            format!("{rel}: older than 4.18"),
            Some("oxbpf needs 4.18+ (BTF, bpf-to-bpf calls); 5.8+ for CAP_BPF and ring buffers"),
        ),
        (Some(rel), Some(v)) if v < (5, 8) => check(
            name,
            Status::Warn,
            format!(
                "{rel}: older than 5.8 (no ring buffer, no CAP_BPF, no bpf_link for most hooks)"
            ),
            Some(
                "use a 5.8+ kernel for the full feature set; `oxbpf probe` lists what this one has",
            ),
        ),
        (Some(rel), Some(_)) => check(name, Status::Ok, rel, None),
        (Some(rel), None) => check(
            name,
            Status::Warn,
            format!("cannot parse release {rel:?}"),
            Some("check sys/kernel/osrelease under procfs"),
        ),
        (None, _) => check(
            name,
            Status::Fail,
            "no sys/kernel/osrelease under procfs",
            Some("mount procfs: `mount -t proc proc /proc`"),
        ),
    }
}

fn kernel_config(r: &mut Report, roots: &Roots, release: Option<&str>) {
    let cfg: KernelConfig = match config::read(&roots.proc, &roots.boot, release) {
        Ok(c) => c,
        Err(tried) => {
            r.checks.push(check(
                "config",
                Status::Warn,
                format!("kernel config not found ({tried})"),
                Some("enable CONFIG_IKCONFIG_PROC (/proc/config.gz) or install /boot/config-$(uname -r); the other checks still run"),
            ));
            return;
        }
    };
    r.checks.push(check(
        "config",
        Status::Ok,
        format!("read {}", cfg.source.display()),
        None,
    ));
    for (opt, required, lost) in OPTIONS {
        let name = format!("config.{opt}");
        let status = if cfg.enabled(opt) {
            Status::Ok
        } else if *required {
            Status::Fail
        } else {
            Status::Warn
        };
        let detail = match cfg.get(opt) {
            Some(v) if status == Status::Ok => format!("CONFIG_{opt}={v}"),
            Some(v) => format!("CONFIG_{opt}={v}: {lost}"),
            None => format!("CONFIG_{opt} is not set: {lost}"),
        };
        let fix = format!(
            "rebuild the kernel with CONFIG_{opt}=y, or use a distribution kernel that has it"
        );
        r.checks.push(check(&name, status, detail, Some(&fix)));
    }
}

fn btf(r: &mut Report, roots: &Roots) {
    let dir = roots.sys.join("kernel/btf");
    let vmlinux = dir.join("vmlinux");
    match std::fs::metadata(&vmlinux) {
        Ok(m) => r.checks.push(check(
            "btf.vmlinux",
            Status::Ok,
            format!("{} ({} bytes)", vmlinux.display(), m.len()),
            None,
        )),
        Err(e) => r.checks.push(check(
            "btf.vmlinux",
            Status::Warn,
            format!("{}: {e}: CO-RE, tp_btf, fentry/fexit, LSM and kfuncs cannot work", vmlinux.display()),
            Some("use a kernel with CONFIG_DEBUG_INFO_BTF=y, or pass an external BTF file (BTFHub) as LoadOptions::kernel_btf"),
        )),
    }
    let modules = std::fs::read_dir(&dir)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .filter(|e| e.file_name() != "vmlinux")
                .count()
        })
        .unwrap_or(0);
    r.checks.push(check(
        "btf.modules",
        if modules > 0 { Status::Ok } else { Status::Warn },
        format!("{modules} module BTF file(s) in {}", dir.display()),
        Some("CONFIG_DEBUG_INFO_BTF_MODULES=y gives modules' types and kfuncs (not needed if nothing is built as a module)"),
    ));
}

/// The file system types mounted, from `<proc>/self/mountinfo`: (fstype, mount point).
fn mounted(roots: &Roots) -> Option<Vec<(String, String)>> {
    let text = std::fs::read_to_string(roots.proc.join("self/mountinfo")).ok()?;
    Some(
        text.lines()
            .filter_map(|l| {
                let (pre, post) = l.split_once(" - ")?;
                let point = pre.split(' ').nth(4)?;
                let fstype = post.split(' ').next()?;
                Some((fstype.to_owned(), point.to_owned()))
            })
            .collect(),
    )
}

fn mounts(r: &mut Report, roots: &Roots) {
    let Some(m) = mounted(roots) else {
        r.checks.push(check(
            "mounts",
            Status::Warn,
            "cannot read self/mountinfo under procfs",
            Some("mount procfs"),
        ));
        return;
    };
    let items: &[(&str, &str, &str, &str)] = &[
        (
            "tracefs",
            "tracefs",
            "tracepoint ids and kprobe/uprobe events need it (oxbpf mounts it on demand as root)",
            "mount -t tracefs tracefs /sys/kernel/tracing",
        ),
        (
            "bpffs",
            "bpf",
            "pinning needs it (oxbpf mounts it on demand as root)",
            "mount -t bpf bpf /sys/fs/bpf",
        ),
        (
            "debugfs",
            "debugfs",
            "only older tools read tracing through /sys/kernel/debug",
            "mount -t debugfs debugfs /sys/kernel/debug",
        ),
        (
            "cgroup2",
            "cgroup2",
            "cgroup programs attach to a cgroup v2 directory",
            "mount -t cgroup2 none /sys/fs/cgroup (or a subdirectory in a hybrid layout)",
        ),
    ];
    for (label, fstype, why, fix) in items {
        let at: Vec<&str> = m
            .iter()
            .filter(|(t, _)| t == fstype)
            .map(|(_, p)| p.as_str())
            .collect();
        let name = format!("mount.{label}");
        if let Some(p) = at.first() {
            r.checks
                .push(check(&name, Status::Ok, format!("{fstype} at {p}"), None));
        } else {
            // debugfs is optional; the others degrade features.
            r.checks.push(check(
                &name,
                Status::Warn,
                format!("no {fstype} mount: {why}"),
                Some(fix),
            ));
        }
    }
}

const CAP_NET_ADMIN: u32 = 12;
const CAP_SYS_ADMIN: u32 = 21;
const CAP_PERFMON: u32 = 38;
const CAP_BPF: u32 = 39;

/// What the process may do, from CapEff.
#[derive(Clone, Copy)]
pub(crate) struct Caps {
    bpf: bool,
}

fn capabilities(r: &mut Report, roots: &Roots) -> Option<Caps> {
    let status = std::fs::read_to_string(roots.proc.join("self/status")).ok();
    let eff = status.as_deref().and_then(|s| {
        s.lines()
            .find_map(|l| l.strip_prefix("CapEff:"))
            .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
    });
    let Some(eff) = eff else {
        r.checks.push(check(
            "caps",
            Status::Warn,
            "cannot read CapEff from self/status under procfs",
            Some("mount procfs"),
        ));
        return None;
    };
    let has = |c: u32| eff & (1u64 << c) != 0;
    let sys_admin = has(CAP_SYS_ADMIN);
    let bpf = has(CAP_BPF) || sys_admin;
    let yes = |b: bool| if b { "present" } else { "missing" };
    r.checks.push(check(
        "caps.CAP_BPF",
        if bpf { Status::Ok } else { Status::Fail },
        format!("CAP_BPF {}, CAP_SYS_ADMIN {}", yes(has(CAP_BPF)), yes(sys_admin)),
        Some("run as root, or grant CAP_BPF (5.8+; CAP_SYS_ADMIN before): `setcap cap_bpf,cap_perfmon,cap_net_admin+ep <binary>`"),
    ));
    r.checks.push(check(
        "caps.CAP_PERFMON",
        if has(CAP_PERFMON) || sys_admin { Status::Ok } else { Status::Warn },
        format!("CAP_PERFMON {}", yes(has(CAP_PERFMON))),
        Some("tracing programs (kprobe, tracepoint, perf_event) and pointer reads need CAP_PERFMON (or CAP_SYS_ADMIN)"),
    ));
    r.checks.push(check(
        "caps.CAP_NET_ADMIN",
        if has(CAP_NET_ADMIN) {
            Status::Ok
        } else {
            Status::Warn
        },
        format!("CAP_NET_ADMIN {}", yes(has(CAP_NET_ADMIN))),
        Some("XDP, TC and cgroup networking programs need CAP_NET_ADMIN to attach"),
    ));
    r.checks.push(check(
        "caps.CAP_SYS_ADMIN",
        if sys_admin { Status::Ok } else { Status::Warn },
        format!("CAP_SYS_ADMIN {}", yes(sys_admin)),
        Some("some commands (BPF_PROG_GET_NEXT_ID, iterators, bpffs mounts) and kernels before 5.8 need CAP_SYS_ADMIN"),
    ));
    Some(Caps { bpf })
}

/// `Max locked memory` soft limit from `<proc>/self/limits`: None = unlimited.
fn memlock_limit(roots: &Roots) -> Option<Option<u64>> {
    let text = std::fs::read_to_string(roots.proc.join("self/limits")).ok()?;
    let rest = text
        .lines()
        .find_map(|l| l.strip_prefix("Max locked memory"))?;
    let soft = rest.split_whitespace().next()?;
    if soft == "unlimited" {
        Some(None)
    } else {
        soft.parse().ok().map(Some)
    }
}

fn memlock(r: &mut Report, roots: &Roots, memcg: Option<bool>, version: Option<(u32, u32)>) {
    // Without a probe, 5.11 is the release that moved BPF memory to memcg.
    let (accounted, how) = match memcg {
        Some(b) => (b, "probed"),
        None => (version.is_some_and(|v| v >= (5, 11)), "from the release"),
    };
    let limit = memlock_limit(roots);
    let limit_text = match limit {
        Some(None) => "unlimited".to_owned(),
        Some(Some(n)) => format!("{n} bytes"),
        None => "unknown".to_owned(),
    };
    let status = if accounted || matches!(limit, Some(None)) {
        Status::Ok
    } else if matches!(limit, Some(Some(n)) if n < 64 << 20) {
        Status::Warn
    } else {
        Status::Ok
    };
    r.checks.push(check(
        "memlock",
        status,
        format!(
            "memcg accounting {} ({how}), RLIMIT_MEMLOCK {limit_text}",
            if accounted { "yes" } else { "no" }
        ),
        Some("before 5.11 map memory counts against RLIMIT_MEMLOCK: `ulimit -l unlimited` (oxbpf raises it when it may)"),
    ));
}

fn unprivileged(r: &mut Report, roots: &Roots, caps: Option<Caps>) {
    let p = roots.proc.join("sys/kernel/unprivileged_bpf_disabled");
    let v = read_trim(&p);
    let privileged = caps.is_some_and(|c| c.bpf);
    let (status, detail) = match v.as_deref() {
        Some("0") => (
            Status::Ok,
            "0: unprivileged users may load socket filters".to_owned(),
        ),
        Some(x @ ("1" | "2")) if privileged => (
            Status::Ok,
            format!("{x}: unprivileged bpf() disabled (this process is privileged)"),
        ),
        Some(x @ ("1" | "2")) => (
            Status::Fail,
            format!("{x}: unprivileged bpf() disabled and this process lacks CAP_BPF"),
        ),
        Some(x) => (Status::Warn, format!("unexpected value {x:?}")),
        None => (Status::Warn, format!("{} not readable", p.display())),
    };
    r.checks.push(check(
        "sysctl.unprivileged_bpf_disabled",
        status,
        detail,
        Some("run with CAP_BPF (or as root); `sysctl kernel.unprivileged_bpf_disabled=0` re-enables unprivileged use only when the value is 2"),
    ));
}

fn jit(r: &mut Report, roots: &Roots) {
    let p = roots.proc.join("sys/net/core/bpf_jit_enable");
    let (status, detail) = match read_trim(&p).as_deref() {
        Some("1") => (Status::Ok, "1: JIT enabled".to_owned()),
        Some("2") => (
            Status::Warn,
            "2: JIT enabled with debug output to the kernel log".to_owned(),
        ),
        Some("0") => (
            Status::Warn,
            "0: programs run interpreted (kfunc calls need the JIT)".to_owned(),
        ),
        Some(x) => (Status::Warn, format!("unexpected value {x:?}")),
        None => (
            Status::Warn,
            format!("{} not readable (no JIT?)", p.display()),
        ),
    };
    r.checks.push(check(
        "sysctl.bpf_jit_enable",
        status,
        detail,
        Some("`sysctl net.core.bpf_jit_enable=1`"),
    ));
}

fn lockdown(r: &mut Report, roots: &Roots) {
    let p = roots.sys.join("kernel/security/lockdown");
    let Some(text) = read_trim(&p) else {
        r.checks.push(check(
            "lockdown",
            Status::Ok,
            "no lockdown LSM (or securityfs not mounted)",
            None,
        ));
        return;
    };
    let mode = text
        .split_whitespace()
        .find_map(|w| w.strip_prefix('[').and_then(|w| w.strip_suffix(']')))
        .unwrap_or(text.as_str())
        .to_owned();
    let (status, fix) = match mode.as_str() {
        "none" => (Status::Ok, None),
        "integrity" => (
            Status::Warn,
            Some(
                "integrity lockdown blocks bpf_probe_write_user and kernel-writing helpers; boot with lockdown=none to lift it",
            ),
        ),
        _ => (
            Status::Fail,
            Some(
                "confidentiality lockdown blocks reading kernel memory (bpf_probe_read_kernel, most tracing); boot with lockdown=none or lockdown=integrity, or disable Secure Boot's lockdown",
            ),
        ),
    };
    r.checks
        .push(check("lockdown", status, format!("mode {mode}"), fix));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_release_strings() {
        assert_eq!(parse_release("6.18.0-1-cloud-amd64"), Some((6, 18)));
        assert_eq!(parse_release("5.10"), Some((5, 10)));
        assert_eq!(parse_release("x"), None);
    }
}

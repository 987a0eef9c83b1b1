//! `oxbpf doctor [--json]`: is this machine ready for BPF? (The checks live in
//! `oxbpf::doctor`; this file prints them.) Exits non-zero when a check fails.

use std::path::PathBuf;

use oxbpf::doctor::{self, Roots, Status};

/// Arguments of `oxbpf doctor`.
#[derive(clap::Args, Debug)]
pub struct DoctorArgs {
    /// Print one JSON document instead of text.
    #[arg(long)]
    json: bool,
    /// Also check that this object was built for this machine's architecture.
    #[arg(long, value_name = "OBJ")]
    object: Option<PathBuf>,
    /// Read procfs from here instead of /proc (for testing).
    #[arg(long, value_name = "DIR", hide = true)]
    proc_root: Option<PathBuf>,
    /// Read sysfs from here instead of /sys (for testing).
    #[arg(long, value_name = "DIR", hide = true)]
    sys_root: Option<PathBuf>,
    /// Read config-<release> from here instead of /boot (for testing).
    #[arg(long, value_name = "DIR", hide = true)]
    boot_root: Option<PathBuf>,
}

type Res = Result<(), Box<dyn std::error::Error>>;

/// Runs `oxbpf doctor`.
pub fn run(args: DoctorArgs) -> Res {
    let d = Roots::default();
    let roots = Roots {
        proc: args.proc_root.unwrap_or(d.proc),
        sys: args.sys_root.unwrap_or(d.sys),
        boot: args.boot_root.unwrap_or(d.boot),
    };
    let mut report = doctor::run(&roots);
    if let Some(obj) = &args.object {
        let spec = oxbpf::ObjectSpec::from_file(obj)?;
        let warnings = doctor::arch::check_object(&spec);
        report.checks.push(doctor::Check {
            name: "object.arch".into(),
            status: if warnings.is_empty() {
                Status::Ok
            } else {
                Status::Warn
            },
            detail: if warnings.is_empty() {
                format!("{}: no other architecture's registers", obj.display())
            } else {
                warnings.join("; ")
            },
            fix: (!warnings.is_empty()).then(|| {
                format!(
                    "rebuild with -D__TARGET_ARCH_{}",
                    doctor::arch::target_arch_macro(std::env::consts::ARCH)
                )
            }),
        });
    }
    if args.json {
        let checks: Vec<_> = report
            .checks
            .iter()
            .map(|c| {
                serde_json::json!({
                    "name": c.name,
                    "status": c.status.as_str(),
                    "detail": c.detail,
                    "fix": c.fix,
                })
            })
            .collect();
        let doc = serde_json::json!({"status": report.worst().as_str(), "checks": checks});
        println!("{}", serde_json::to_string_pretty(&doc)?);
    } else {
        print!("{report}");
        let count = |s| report.checks.iter().filter(|c| c.status == s).count();
        println!(
            "{} checks: {} ok, {} warn, {} fail",
            report.checks.len(),
            count(Status::Ok),
            count(Status::Warn),
            count(Status::Fail)
        );
    }
    if report.failed() {
        return Err("doctor: some checks failed (see FAIL above)".into());
    }
    Ok(())
}

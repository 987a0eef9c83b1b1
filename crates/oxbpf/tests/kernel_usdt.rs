//! USDT: a C program with `DTRACE_PROBE3(oxbpf, hit, a, b, -7)` (sys/sdt.h of Debian's
//! systemtap-sdt-dev, a semaphore in `.probes`) compiled at test time with gcc, at -O0
//! (memory operands) and -O2 (registers); usdt.bpf.o reads the arguments through the
//! spec map and the kernel raises the semaphore while attached.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use oxbpf::attach::usdt::{self, UsdtOptions};
use oxbpf::maps::Array;

const SOURCE: &str = r#"
#define _SDT_HAS_SEMAPHORES 1
#include <sys/sdt.h>
#include <stdio.h>
#include <stdlib.h>
unsigned short oxbpf_hit_semaphore __attribute__((unused)) __attribute__((section(".probes")));
int main(int argc, char **argv) {
	int a = atoi(argv[1]);
	long b = atol(argv[2]);
	printf("%u\n", (unsigned)oxbpf_hit_semaphore);
	fflush(stdout);
	if (oxbpf_hit_semaphore)
		DTRACE_PROBE3(oxbpf, hit, a, b, -7);
	return 0;
}
"#;

/// A temporary directory removed on drop.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Compiles [`SOURCE`] with `opt`, or says why not (the test then skips).
fn compile(dir: &Path, opt: &str) -> Option<PathBuf> {
    let src = dir.join("probe.c");
    std::fs::write(&src, SOURCE).unwrap();
    let out = dir.join(format!("probe{opt}"));
    match Command::new("gcc")
        .arg(opt)
        .arg("-o")
        .arg(&out)
        .arg(&src)
        .output()
    {
        Err(e) => {
            eprintln!("skipping: gcc is not available ({e})");
            None
        }
        Ok(o) if !o.status.success() => {
            let err = String::from_utf8_lossy(&o.stderr);
            if err.contains("sdt.h") {
                eprintln!("skipping: sys/sdt.h missing (apt-get install systemtap-sdt-dev)");
                None
            } else {
                panic!("gcc {opt} failed: {err}");
            }
        }
        Ok(_) => Some(out),
    }
}

fn run(bin: &Path, a: &str, b: &str) -> String {
    let o = Command::new(bin).args([a, b]).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout).unwrap().trim().to_string()
}

fn check(opt: &str) {
    if !common::have_bpf() || !common::have(oxbpf::features::Capability::BpfCookie) {
        return;
    }
    let dir = std::env::temp_dir().join(format!("oxbpf-usdt-{}{opt}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let _tmp = TempDir(dir.clone());
    let Some(bin) = compile(&dir, opt) else {
        return;
    };

    // The notes as the attach path sees them.
    let data = std::fs::read(&bin).unwrap();
    let sites = usdt::sites(&data, &bin, "oxbpf", "hit").unwrap();
    assert_eq!(sites.len(), 1, "{sites:?}");
    assert_eq!(sites[0].args.len(), 3);
    assert_ne!(sites[0].semaphore_offset, 0);

    // Not attached: the semaphore is 0 and the probe is skipped.
    assert_eq!(run(&bin, "1", "2"), "0");

    let coll = common::load("usdt.bpf.o");
    let prog = coll.program("on_hit").unwrap();
    let specs = coll.map(usdt::SPEC_MAP).unwrap();
    let opts = UsdtOptions {
        cookie: 0xabc,
        first_spec_id: 5,
        ..Default::default()
    };
    // Automatic attach says how to attach a USDT program.
    let err = prog.attach().unwrap_err();
    assert!(err.to_string().contains("attach_usdt"), "{err}");
    let link = if opt == "-O0" {
        usdt::attach(
            prog.fd().as_fd(),
            specs.fd(),
            bin.to_str().unwrap(),
            "oxbpf",
            "hit",
            &opts,
        )
    } else {
        prog.attach_usdt(specs, bin.to_str().unwrap(), "oxbpf", "hit", &opts)
            .map_err(|e| panic!("{e}"))
    }
    .unwrap();
    assert!(link.description().contains("USDT oxbpf:hit"));

    let seen = Array::<u64>::new(coll.map("seen").unwrap()).unwrap();
    assert_eq!(
        run(&bin, "1234", "-5678901234"),
        "1",
        "semaphore while attached"
    );
    assert_eq!(seen.get(0).unwrap(), 1, "hits");
    assert_eq!(seen.get(7).unwrap(), 0, "errors");
    assert_eq!(seen.get(1).unwrap(), 3, "argument count");
    assert_eq!(seen.get(2).unwrap() as i64, 1234);
    assert_eq!(seen.get(3).unwrap() as i64, -5_678_901_234);
    assert_eq!(seen.get(4).unwrap() as i64, -7);
    assert_eq!(seen.get(6).unwrap(), 0xabc, "cookie");

    assert_eq!(run(&bin, "-1", "42"), "1");
    assert_eq!(seen.get(0).unwrap(), 2);
    assert_eq!(seen.get(2).unwrap() as i64, -1, "int sign-extended");
    assert_eq!(seen.get(3).unwrap(), 42);

    drop(link);
    // The uprobe (and its semaphore count) goes when the perf event's last fd closes; a
    // child forked by the parallel test may hold a copy until its exec, so retry briefly.
    let mut sem = run(&bin, "1", "2");
    for _ in 0..100 {
        if sem == "0" {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
        sem = run(&bin, "1", "2");
    }
    assert_eq!(sem, "0", "semaphore after detach");
    // Detached: further runs are not seen.
    let hits = seen.get(0).unwrap();
    assert_eq!(run(&bin, "1", "2"), "0");
    assert_eq!(seen.get(0).unwrap(), hits, "no hit after detach");
}

#[test]
fn usdt_args_through_spec_map_unoptimised() {
    check("-O0");
}

#[test]
fn usdt_args_through_spec_map_optimised() {
    check("-O2");
}

#[test]
fn missing_usdt_probe_names_provider_and_binary() {
    // usdt.bpf.o calls bpf_get_attach_cookie (5.15+).
    if !common::have_bpf() || !common::have(oxbpf::features::Capability::BpfCookie) {
        return;
    }
    let coll = common::load("usdt.bpf.o");
    let exe = std::env::current_exe().unwrap();
    let err = usdt::attach(
        coll.program("on_hit").unwrap().fd().as_fd(),
        coll.map(usdt::SPEC_MAP).unwrap().fd(),
        exe.to_str().unwrap(),
        "oxbpf",
        "no_such_probe",
        &UsdtOptions::default(),
    )
    .unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("USDT oxbpf:no_such_probe"), "{msg}");
    assert!(msg.contains("does not exist"), "{msg}");
}

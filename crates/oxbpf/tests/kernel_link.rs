//! Link lifecycle: a pinned link outlives the process that made it, `update` swaps the
//! program, `info` and the system-wide link list agree with what was attached.

mod common;

use std::path::PathBuf;
use std::process::Command;

use oxbpf::attach::{Link, LinkDetail, LinkType, PerfLinkDetail};
use oxbpf::maps::{HashMap, Map};

const CHILD_ENV: &str = "OXBPF_LINK_PIN_CHILD";

/// The tests count this process's getpid() calls: one at a time.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn bpffs_dir() -> Option<PathBuf> {
    match oxbpf::sys::fs::bpffs() {
        Ok(d) => Some(d),
        Err(e) => {
            eprintln!("skipping: no bpffs ({e})");
            None
        }
    }
}

/// Run by the child process only (re-executed with `CHILD_ENV` set): attaches the
/// counter, pins link and map under the given prefix, and exits.
#[test]
fn pin_child_helper() {
    let Ok(prefix) = std::env::var(CHILD_ENV) else {
        return;
    };
    let coll = common::load("counter.bpf.o");
    let link = coll.program("count_getpid").unwrap().attach().unwrap();
    // bpffs refuses names with a dot.
    link.pin(format!("{prefix}_link")).unwrap();
    coll.map("counts")
        .unwrap()
        .pin(std::path::Path::new(&format!("{prefix}_map")))
        .unwrap();
    // Dropping `link` closes this process's fd only; the pin holds the attachment.
}

#[test]
fn pinned_link_stays_attached_after_the_process_exits() {
    let _serial = serial();
    if !common::have_bpf() || !common::have(oxbpf::features::Capability::PerfLink) {
        return;
    }
    let Some(dir) = bpffs_dir() else { return };
    let prefix = dir.join(format!("oxbpf-linktest-{}", std::process::id()));
    let (link_path, map_path) = (
        PathBuf::from(format!("{}_link", prefix.display())),
        PathBuf::from(format!("{}_map", prefix.display())),
    );
    struct Cleanup(Vec<PathBuf>);
    impl Drop for Cleanup {
        fn drop(&mut self) {
            for p in &self.0 {
                let _ = std::fs::remove_file(p);
            }
        }
    }
    let _cleanup = Cleanup(vec![link_path.clone(), map_path.clone()]);

    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "pin_child_helper",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, &prefix)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "child failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    // The child is gone; its link is still attached: our getpid() calls are counted.
    let link = Link::from_pin(&link_path).unwrap();
    let info = link.info().unwrap();
    assert_eq!(info.link_type, LinkType::PerfEvent);
    if common::release_at_least("6.6") {
        assert!(
            matches!(&info.detail, LinkDetail::PerfEvent(PerfLinkDetail::Tracepoint { name, .. }) if name == "sys_enter_getpid"),
            "{info:?}"
        );
    } else {
        // The perf_event part of bpf_link_info is 6.6+: older kernels leave it zero.
        assert_eq!(info.detail, LinkDetail::PerfEvent(PerfLinkDetail::Other(0)));
    }
    let map = Map::from_pin(&map_path).unwrap();
    let counts = HashMap::<u32, u64>::new(&map).unwrap();
    let me = std::process::id();
    let before = counts.get(&me).unwrap().unwrap_or(0);
    for _ in 0..10 {
        // std::process::id() is the getpid syscall each time (glibc caches nothing).
        std::hint::black_box(std::process::id());
    }
    let after = counts.get(&me).unwrap().unwrap_or(0);
    assert!(after >= before + 10, "before {before}, after {after}");

    // The link is in the system list with the same ids.
    let listed = oxbpf::attach::link_info::list().unwrap();
    assert!(
        listed.iter().any(|l| l == &info),
        "{info:?} not in the link list"
    );

    // Unpinned and closed, it detaches: the id disappears.
    drop(link);
    std::fs::remove_file(&link_path).unwrap();
    let mut gone = false;
    for _ in 0..200 {
        if !oxbpf::attach::link_info::list()
            .unwrap()
            .iter()
            .any(|l| l.id == info.id)
        {
            gone = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert!(gone, "link {} still exists after unpinning", info.id);
    // The last reference went with the pin: the kernel releases it from a work queue.
    let mut stopped = false;
    for _ in 0..500 {
        let before = counts.get(&me).unwrap().unwrap_or(0);
        for _ in 0..10 {
            std::hint::black_box(std::process::id());
        }
        if counts.get(&me).unwrap().unwrap_or(0) == before {
            stopped = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert!(stopped, "the program still runs after the pin was removed");
}

fn run(cmd: &str, args: &[&str]) -> bool {
    Command::new(cmd)
        .args(args)
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

#[test]
fn update_swaps_the_program_of_an_xdp_link() {
    if !common::have_bpf() {
        return;
    }
    if !common::release_at_least("5.9") {
        eprintln!("skipping: XDP links need Linux 5.9");
        return;
    }
    let name = format!("oxu{}", std::process::id() % 1_000_000);
    let peer = format!("oxw{}", std::process::id() % 1_000_000);
    if !run(
        "ip",
        &["link", "add", &name, "type", "veth", "peer", "name", &peer],
    ) {
        eprintln!("skipping: cannot create a veth pair with ip(8)");
        return;
    }
    struct Del(String);
    impl Drop for Del {
        fn drop(&mut self) {
            let _ = Command::new("ip").args(["link", "del", &self.0]).output();
        }
    }
    let _del = Del(name.clone());
    let ifindex = oxbpf::sys::netlink::ifindex(&name).unwrap();
    let coll = common::load("xdp_count.bpf.o");
    let a = coll.program("xdp_count").unwrap();
    let b = coll.program("xdp_count_alt").unwrap();
    let id = |p: &oxbpf::Program| oxbpf::sys::bpf::prog_info(p.fd().as_fd()).unwrap().id;
    let link = a
        .attach_xdp(ifindex, oxbpf::attach::xdp::XdpMode::Generic)
        .unwrap();
    let info = link.info().unwrap();
    assert_eq!(info.link_type, LinkType::Xdp);
    assert_eq!(info.detail, LinkDetail::Xdp { ifindex });
    assert_eq!(info.prog_id, id(a));

    link.update(b.fd().as_fd()).unwrap();
    let after = link.info().unwrap();
    assert_eq!(after.prog_id, id(b));
    assert_eq!(after.id, info.id, "the same link, a new program");

    // A program of another type is refused with a hint.
    let tp = common::load("counter.bpf.o");
    let err = link
        .update(tp.program("count_getpid").unwrap().fd().as_fd())
        .unwrap_err();
    assert!(err.to_string().contains("same program type"), "{err}");
    assert_eq!(link.info().unwrap().prog_id, id(b));
}

#[test]
fn links_detach_in_the_background_and_wait_detaches_them_all() {
    let _serial = serial();
    if !common::have_bpf() {
        return;
    }
    // One program may be attached to a tracepoint once: three loads of the counter, each
    // counting into its own map.
    let colls: Vec<oxbpf::Collection> = (0..3).map(|_| common::load("counter.bpf.o")).collect();
    let me = std::process::id();
    let count = || -> u64 {
        colls
            .iter()
            .map(|c| {
                HashMap::<u32, u64>::new(c.map("counts").unwrap())
                    .unwrap()
                    .get(&me)
                    .unwrap()
                    .unwrap_or(0)
            })
            .sum()
    };
    let calls = |n| {
        for _ in 0..n {
            std::hint::black_box(std::process::id());
        }
    };
    let attach = |n: usize| -> oxbpf::attach::Links {
        colls[..n]
            .iter()
            .map(|c| c.program("count_getpid").unwrap().attach().unwrap())
            .collect()
    };

    // Each getpid() counts once per attached program.
    let links = attach(3);
    assert_eq!(links.len(), 3);
    let before = count();
    calls(5);
    assert_eq!(count(), before + 15);
    let teardown = links.detach();
    teardown.wait().unwrap();
    let before = count();
    calls(5);
    assert_eq!(count(), before, "a link survived Links::detach + wait");

    // detach_and_wait, and a dropped Links, detach as well.
    let links = attach(2);
    calls(1);
    links.detach_and_wait().unwrap();
    let before = count();
    calls(5);
    assert_eq!(count(), before);

    let links = attach(2);
    drop(links);
    let mut stopped = false;
    for _ in 0..500 {
        let before = count();
        calls(3);
        if count() == before {
            stopped = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert!(stopped, "a dropped Links never detached");
}

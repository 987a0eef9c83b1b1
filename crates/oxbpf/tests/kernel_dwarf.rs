//! uprobe by source line: a C program compiled with -g at test time, `probe.c:LINE`
//! resolved through its .debug_line (gimli) to a file offset inside the function (not
//! its entry), and a uprobe there sees the function's first argument.

mod common;

use std::path::PathBuf;
use std::process::Command;

use oxbpf::attach::{dwarf, symbols, uprobe::UprobeOptions};
use oxbpf::maps::Array;

/// Line 5 (`int y = x * 3;`) is the probed one.
const SOURCE: &str = "#include <stdio.h>
#include <stdlib.h>
__attribute__((noinline)) int work(int x)
{
	int y = x * 3;
	printf(\"%d\\n\", y);
	return y;
}
int main(int argc, char **argv) { return work(atoi(argv[1])) == 0; }
";

struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn uprobe_on_a_source_line_sees_the_argument() {
    if !common::have_bpf() {
        return;
    }
    let dir = std::env::temp_dir().join(format!("oxbpf-dwarf-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let _tmp = TempDir(dir.clone());
    let src = dir.join("probe.c");
    std::fs::write(&src, SOURCE).unwrap();
    let bin = dir.join("probe");
    match Command::new("gcc")
        .args(["-g", "-O0", "-o"])
        .arg(&bin)
        .arg(&src)
        .output()
    {
        Err(e) => {
            eprintln!("skipping: gcc is not available ({e})");
            return;
        }
        Ok(o) => assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr)),
    }

    let entry = symbols::resolve(&bin, "work").unwrap();
    let at = dwarf::resolve_line(&bin, "probe.c:5").unwrap();
    assert!(
        at > entry && at < entry + 64,
        "line 5 at {at:#x}, work() at {entry:#x}"
    );
    // The same line through a longer path suffix; a line without code is refused.
    let full = format!("{}:5", src.display());
    assert_eq!(dwarf::resolve_line(&bin, &full).unwrap(), at);
    let err = dwarf::resolve_line(&bin, "probe.c:2").unwrap_err();
    assert!(err.to_string().contains("probe.c:2"), "{err}");
    let err = dwarf::resolve_line(&bin, "other.c:5").unwrap_err();
    assert!(err.to_string().contains("does not exist"), "{err}");

    let coll = common::load("tracing.bpf.o");
    let link = coll
        .program("on_entry")
        .unwrap()
        .attach_uprobe_line(&bin, "probe.c:5", &UprobeOptions::default())
        .unwrap();
    let counts = Array::<u64>::new(coll.map("counts").unwrap()).unwrap();
    let out = Command::new(&bin).arg("14").output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "42");
    assert_eq!(counts.get(2).unwrap(), 1, "uprobe hits");
    assert_eq!(counts.get(3).unwrap() as u32, 14, "di at line 5 is x");
    drop(link);
    Command::new(&bin).arg("1").output().unwrap();
    assert_eq!(counts.get(2).unwrap(), 1, "detached");
}

//! An uncompressed `newc` cpio archive (what the kernel unpacks as an initramfs).

use std::collections::BTreeSet;

/// Builds a newc archive in memory; parent directories are added on demand.
#[derive(Debug, Default)]
pub struct Cpio {
    out: Vec<u8>,
    dirs: BTreeSet<String>,
    ino: u32,
}

const S_IFDIR: u32 = 0o040000;
const S_IFREG: u32 = 0o100000;
const S_IFCHR: u32 = 0o020000;

impl Cpio {
    /// An empty archive.
    pub fn new() -> Cpio {
        Cpio::default()
    }

    fn header(&mut self, name: &str, mode: u32, size: usize, rdev: (u32, u32)) {
        self.ino += 1;
        let fields = [
            self.ino,
            mode,
            0, // uid
            0, // gid
            if mode & S_IFDIR != 0 { 2 } else { 1 },
            0, // mtime: reproducible archives
            u32::try_from(size).unwrap_or(u32::MAX),
            0,
            0,
            rdev.0,
            rdev.1,
            u32::try_from(name.len() + 1).unwrap_or(u32::MAX),
            0,
        ];
        self.out.extend_from_slice(b"070701");
        for f in fields {
            self.out.extend_from_slice(format!("{f:08x}").as_bytes());
        }
        self.out.extend_from_slice(name.as_bytes());
        self.out.push(0);
        self.pad();
    }

    fn pad(&mut self) {
        while self.out.len() % 4 != 0 {
            self.out.push(0);
        }
    }

    fn parents(&mut self, path: &str) {
        let mut acc = String::new();
        let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
        for p in &parts[..parts.len().saturating_sub(1)] {
            if !acc.is_empty() {
                acc.push('/');
            }
            acc.push_str(p);
            if self.dirs.insert(acc.clone()) {
                let name = acc.clone();
                self.header(&name, S_IFDIR | 0o755, 0, (0, 0));
            }
        }
    }

    fn clean(path: &str) -> String {
        path.trim_start_matches('/').to_owned()
    }

    /// Adds a directory (and its parents).
    pub fn dir(&mut self, path: &str) -> &mut Self {
        let p = Self::clean(path);
        self.parents(&p);
        if self.dirs.insert(p.clone()) {
            self.header(&p, S_IFDIR | 0o755, 0, (0, 0));
        }
        self
    }

    /// Adds a regular file with `mode` permission bits (e.g. 0o755).
    ///
    /// Files over 4 GiB do not fit newc and are not expected in an initramfs.
    pub fn file(&mut self, path: &str, mode: u32, data: &[u8]) -> &mut Self {
        let p = Self::clean(path);
        self.parents(&p);
        self.header(&p, S_IFREG | (mode & 0o7777), data.len(), (0, 0));
        self.out.extend_from_slice(data);
        self.pad();
        self
    }

    /// Adds a character device node.
    pub fn char_dev(&mut self, path: &str, mode: u32, major: u32, minor: u32) -> &mut Self {
        let p = Self::clean(path);
        self.parents(&p);
        self.header(&p, S_IFCHR | (mode & 0o7777), 0, (major, minor));
        self
    }

    /// Ends the archive and returns its bytes.
    pub fn finish(mut self) -> Vec<u8> {
        self.header("TRAILER!!!", 0, 0, (0, 0));
        while self.out.len() % 512 != 0 {
            self.out.push(0);
        }
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads back `(name, mode, data)` entries, checking magic, alignment and sizes.
    fn read(mut b: &[u8]) -> Vec<(String, u32, Vec<u8>)> {
        let total = b.len();
        let mut v = Vec::new();
        loop {
            let at = total - b.len();
            assert_eq!(at % 4, 0);
            assert_eq!(&b[..6], b"070701", "magic at {at}");
            let field = |i: usize| {
                u32::from_str_radix(std::str::from_utf8(&b[6 + i * 8..14 + i * 8]).unwrap(), 16)
                    .unwrap() as usize
            };
            let (mode, size, namesize) = (field(1), field(6), field(11));
            let name_end = 110 + namesize;
            let name = String::from_utf8(b[110..name_end - 1].to_vec()).unwrap();
            assert_eq!(b[name_end - 1], 0);
            let data_at = name_end.next_multiple_of(4);
            let data = b[data_at..data_at + size].to_vec();
            b = &b[(data_at + size).next_multiple_of(4)..];
            if name == "TRAILER!!!" {
                break;
            }
            v.push((name, mode as u32, data));
        }
        assert!(b.iter().all(|&x| x == 0));
        assert_eq!(total % 512, 0);
        v
    }

    #[test]
    fn writes_parents_before_files_once() {
        let mut c = Cpio::new();
        c.file("/tests/oxbpf/kernel_a", 0o755, b"abc")
            .file("/tests/oxbpf/kernel_b", 0o755, b"hello")
            .char_dev("/dev/console", 0o600, 5, 1)
            .dir("/tests");
        let e = read(&c.finish());
        let names: Vec<&str> = e.iter().map(|x| x.0.as_str()).collect();
        assert_eq!(
            names,
            [
                "tests",
                "tests/oxbpf",
                "tests/oxbpf/kernel_a",
                "tests/oxbpf/kernel_b",
                "dev",
                "dev/console"
            ]
        );
        assert_eq!(e[2].1, S_IFREG | 0o755);
        assert_eq!(e[3].2, b"hello");
        assert_eq!(e[5].1, S_IFCHR | 0o600);
    }

    #[test]
    fn cpio_tool_lists_it_when_installed() {
        let mut c = Cpio::new();
        c.file("init", 0o755, b"#!x\n")
            .file("a/b/c.txt", 0o644, b"1");
        let bytes = c.finish();
        let Ok(mut child) = std::process::Command::new("cpio")
            .args(["-t", "--quiet"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
        else {
            eprintln!("skipping: cpio is not installed");
            return;
        };
        use std::io::Write;
        child.stdin.take().unwrap().write_all(&bytes).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success());
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "init\na\na/b\na/b/c.txt\n"
        );
    }
}

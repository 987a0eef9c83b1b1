//! A private apt: its own sources.list, lists and cache under the cache directory, so
//! packages of other Debian suites can be downloaded without touching the system's apt.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use crate::lock::{self, compare_versions};

/// The suites searched for kernels (main component).
const SUITES: &[(&str, bool)] = &[
    ("bullseye", false),
    ("bullseye-security", true),
    ("bookworm", false),
    ("bookworm-security", true),
    ("bookworm-backports", false),
    ("trixie", false),
    ("trixie-security", true),
    ("trixie-backports", false),
];

const KEYRING: &str = "/usr/share/keyrings/debian-archive-keyring.gpg";

/// A package version found in the private lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// Binary package name.
    pub package: String,
    /// Debian version.
    pub version: String,
    /// sha256 from the index.
    pub sha256: String,
}

/// The private apt state (one per cache directory); `update` runs at most once.
#[derive(Debug)]
pub struct Apt {
    dir: PathBuf,
    updated: Mutex<Option<Result<(), String>>>,
}

impl Apt {
    /// Uses `<cache>/apt`.
    pub fn new(cache: &Path) -> Apt {
        Apt {
            dir: cache.join("apt"),
            updated: Mutex::new(None),
        }
    }

    fn options(&self) -> Vec<String> {
        let d = self.dir.display();
        vec![
            format!("-oDir::Etc::SourceList={d}/sources.list"),
            "-oDir::Etc::SourceParts=/dev/null".into(),
            format!("-oDir::State::Lists={d}/lists"),
            format!("-oDir::Cache={d}/cache"),
            "-oDir::State::status=/dev/null".into(),
            "-oAPT::Sandbox::User=root".into(),
            "-oAcquire::Retries=2".into(),
        ]
    }

    /// Writes sources.list and runs `apt-get update` on the private lists (once).
    pub fn update(&self) -> Result<(), String> {
        let mut done = self.updated.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(r) = &*done {
            return r.clone();
        }
        let r = self.update_now();
        *done = Some(r.clone());
        r
    }

    fn update_now(&self) -> Result<(), String> {
        for sub in ["lists/partial", "cache/archives/partial"] {
            fs::create_dir_all(self.dir.join(sub))
                .map_err(|e| format!("creating {}: {e}", self.dir.join(sub).display()))?;
        }
        let (main, security) = mirrors();
        let mut list = String::from("# written by kernel-tests: the suites kernels come from\n");
        for (suite, is_security) in SUITES {
            let url = if *is_security { &security } else { &main };
            list.push_str(&format!("deb [signed-by={KEYRING}] {url} {suite} main\n"));
        }
        let path = self.dir.join("sources.list");
        fs::write(&path, list).map_err(|e| format!("writing {}: {e}", path.display()))?;
        eprintln!(
            "kernel-tests: apt-get update (private lists in {})",
            self.dir.display()
        );
        let out = Command::new("apt-get")
            .args(self.options())
            .arg("update")
            .output()
            .map_err(|e| format!("running apt-get: {e}"))?;
        // A suite missing from the mirror (trixie-security on an old mirror, say) only
        // warns; apt-get fails when nothing could be fetched at all.
        if !out.status.success() {
            return Err(format!(
                "apt-get update failed ({}): {}",
                out.status,
                tail(&String::from_utf8_lossy(&out.stderr), 5)
            ));
        }
        Ok(())
    }

    /// Every cloud kernel of `series` in the private lists, newest first.
    pub fn candidates(&self, series: &str) -> Result<Vec<Candidate>, String> {
        self.update()?;
        let out = Command::new("apt-cache")
            .args(self.options())
            .args(["pkgnames", &format!("linux-image-{series}.")])
            .output()
            .map_err(|e| format!("running apt-cache: {e}"))?;
        let names: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|n| lock::series_matches(series, n))
            .map(str::to_owned)
            .collect();
        if names.is_empty() {
            return Ok(Vec::new());
        }
        let out = Command::new("apt-cache")
            .args(self.options())
            .arg("show")
            .args(&names)
            .output()
            .map_err(|e| format!("running apt-cache show: {e}"))?;
        let mut c = parse_stanzas(&String::from_utf8_lossy(&out.stdout));
        // Newest first; of one version the unsigned image first (the signed one, all
        // trixie-backports has, boots the same).
        c.sort_by(|a, b| {
            compare_versions(&b.version, &a.version).then_with(|| {
                b.package
                    .ends_with("-unsigned")
                    .cmp(&a.package.ends_with("-unsigned"))
            })
        });
        c.dedup_by(|a, b| a.package == b.package && a.version == b.version);
        Ok(c)
    }

    /// Downloads `package=version` into `dir` and returns the `.deb`'s path.
    pub fn download(&self, package: &str, version: &str, dir: &Path) -> Result<PathBuf, String> {
        self.update()?;
        fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
        let out = Command::new("apt-get")
            .args(self.options())
            .args(["download", &format!("{package}={version}")])
            .current_dir(dir)
            .output()
            .map_err(|e| format!("running apt-get download: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "apt-get download {package}={version}: {}",
                tail(&String::from_utf8_lossy(&out.stderr), 3)
            ));
        }
        let prefix = format!("{package}_");
        fs::read_dir(dir)
            .map_err(|e| format!("reading {}: {e}", dir.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .find(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with(&prefix) && n.ends_with(".deb"))
            })
            .ok_or_else(|| format!("apt-get download {package}: no .deb appeared"))
    }
}

/// `Package`/`Version`/`SHA256` of each stanza of `apt-cache show`.
pub fn parse_stanzas(text: &str) -> Vec<Candidate> {
    let mut v = Vec::new();
    for stanza in text.split("\n\n") {
        let field = |name: &str| {
            stanza
                .lines()
                .find_map(|l| l.strip_prefix(name)?.strip_prefix(": "))
                .map(|s| s.trim().to_owned())
        };
        if let (Some(package), Some(version), Some(sha256)) =
            (field("Package"), field("Version"), field("SHA256"))
        {
            v.push(Candidate {
                package,
                version,
                sha256,
            });
        }
    }
    v
}

/// The Debian mirror and security mirror the system's apt uses (deb.debian.org if none).
fn mirrors() -> (String, String) {
    let mut text = fs::read_to_string("/etc/apt/sources.list").unwrap_or_default();
    if let Ok(rd) = fs::read_dir("/etc/apt/sources.list.d") {
        for e in rd.flatten() {
            text.push('\n');
            text.push_str(&fs::read_to_string(e.path()).unwrap_or_default());
        }
    }
    let urls: Vec<&str> = text
        .split_whitespace()
        .filter(|w| w.starts_with("http://") || w.starts_with("https://"))
        .collect();
    let main = urls
        .iter()
        .find(|u| u.trim_end_matches('/').ends_with("/debian"))
        .map_or("http://deb.debian.org/debian".to_owned(), |u| {
            u.trim_end_matches('/').to_owned()
        });
    let security = urls
        .iter()
        .find(|u| u.trim_end_matches('/').ends_with("/debian-security"))
        .map_or("http://deb.debian.org/debian-security".to_owned(), |u| {
            u.trim_end_matches('/').to_owned()
        });
    (main, security)
}

/// The last `n` lines of `s`, joined with " | ".
pub fn tail(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(n)..].join(" | ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stanzas_yield_package_version_sha() {
        let text = "Package: a\nVersion: 1-1\nSHA256: aa\nSize: 3\n\nPackage: b\nVersion: 2\n\nPackage: c\nVersion: 3\nSHA256: cc\n";
        let c = parse_stanzas(text);
        assert_eq!(c.len(), 2, "b has no SHA256 and is dropped");
        assert_eq!(c[1].package, "c");
        assert_eq!(c[0].sha256, "aa");
    }

    #[test]
    fn tail_keeps_last_nonempty_lines() {
        assert_eq!(tail("a\n\nb\nc\n\n", 2), "b | c");
    }
}

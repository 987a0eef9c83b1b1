//! Kernel preparation: the pinned `.deb` (cached, sha256-checked, re-resolved when the
//! archive dropped it), unpacked into an ELF vmlinux, its BTF and the needed modules.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

use crate::apt::{Apt, tail};
use crate::bzimage;
use crate::lock::Pin;

/// The modules the tests need, by name; their dependencies come from each `.modinfo`.
pub const MODULES: &[&str] = &["veth", "sch_ingress", "cls_bpf"];

/// A kernel ready to boot.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The series, e.g. `6.1`.
    pub series: String,
    /// The package and version actually used (differs from the pin after a re-resolve).
    pub package: String,
    /// Debian version.
    pub version: String,
    /// sha256 of the `.deb` used (the pin's, or the index's after a re-resolve).
    pub sha256: String,
    /// The uncompressed ELF kernel.
    pub vmlinux: PathBuf,
    /// `.BTF` of vmlinux (for offline CO-RE tests), if the kernel has one.
    pub btf: Option<PathBuf>,
    /// The package's `boot/config-<release>` and that release: packed at the same path in
    /// the guest, where `__kconfig` externs and the tests read it.
    pub config: Option<(PathBuf, String)>,
    /// Modules in load order (dependencies first).
    pub modules: Vec<PathBuf>,
    /// Modules asked for that the package does not ship (built in, or absent).
    pub missing_modules: Vec<String>,
    /// A note for the report (e.g. "pinned version gone, used …").
    pub note: Option<String>,
}

fn sha256_file(path: &Path) -> Result<String, String> {
    let bytes = fs::read(path).map_err(|e| format!("reading {}: {e}", path.display()))?;
    Ok(Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

/// Finds (cache) or downloads (apt) the `.deb` of `pin`; re-resolves to the newest of
/// the series when the pinned version is gone. Returns the path, package, version, sha256, note.
fn fetch_deb(
    pin: &Pin,
    apt: &Apt,
    cache: &Path,
) -> Result<(PathBuf, String, String, String, Option<String>), String> {
    let debs = cache.join("debs");
    let cached = |package: &str, version: &str, sha: &str| -> Option<PathBuf> {
        let name = format!("{package}_{}_amd64.deb", version.replace(':', "%3a"));
        let p = debs.join(name);
        (p.is_file() && sha256_file(&p).ok()? == sha).then_some(p)
    };
    if let Some(p) = cached(&pin.package, &pin.version, &pin.sha256) {
        return Ok((
            p,
            pin.package.clone(),
            pin.version.clone(),
            pin.sha256.clone(),
            None,
        ));
    }
    let tmp = debs.join(format!("tmp-{}", pin.series));
    let _ = fs::remove_dir_all(&tmp);
    let place = |deb: PathBuf| -> Result<PathBuf, String> {
        let dest = debs.join(deb.file_name().unwrap_or_default());
        fs::rename(&deb, &dest).map_err(|e| format!("moving {}: {e}", deb.display()))?;
        let _ = fs::remove_dir_all(&tmp);
        Ok(dest)
    };
    let pinned_err = match apt.download(&pin.package, &pin.version, &tmp) {
        Ok(deb) => {
            let got = sha256_file(&deb)?;
            if got != pin.sha256 {
                return Err(format!(
                    "kernel {}: {} {} has sha256 {got}, kernels.lock says {} — refusing it",
                    pin.series, pin.package, pin.version, pin.sha256
                ));
            }
            return Ok((
                place(deb)?,
                pin.package.clone(),
                pin.version.clone(),
                got,
                None,
            ));
        }
        Err(e) => e,
    };
    let candidates = apt.candidates(&pin.series)?;
    let mut errors = vec![pinned_err];
    for c in candidates {
        if c.package == pin.package && c.version == pin.version {
            continue;
        }
        match apt.download(&c.package, &c.version, &tmp) {
            Ok(deb) => {
                let got = sha256_file(&deb)?;
                if !got.eq_ignore_ascii_case(&c.sha256) {
                    errors.push(format!(
                        "{} {}: sha256 {got} ≠ index {}",
                        c.package, c.version, c.sha256
                    ));
                    continue;
                }
                let note = format!(
                    "pinned {} {} is gone from the archive; using the newest {} available: {} {} sha256 {got} (update kernels.lock)",
                    pin.package, pin.version, pin.series, c.package, c.version
                );
                eprintln!("kernel-tests: kernel {}: {note}", pin.series);
                return Ok((place(deb)?, c.package, c.version, got, Some(note)));
            }
            Err(e) => errors.push(e),
        }
    }
    Err(format!(
        "kernel {}: no {} cloud kernel could be downloaded: {}",
        pin.series,
        pin.series,
        errors.join("; ")
    ))
}

/// Prepares one kernel under `<cache>/kernels/<package>_<version>/` (reused when complete).
pub fn prepare(pin: &Pin, apt: &Apt, cache: &Path) -> Result<Prepared, String> {
    let (deb, package, version, sha256, note) = fetch_deb(pin, apt, cache)?;
    let dir = cache
        .join("kernels")
        .join(format!("{package}_{}", version.replace([':', '~'], "_")));
    let done = dir.join("prepared");
    if !done.is_file() {
        prepare_dir(&deb, &dir).map_err(|e| format!("kernel {}: {e}", pin.series))?;
    }
    let manifest =
        fs::read_to_string(&done).map_err(|e| format!("reading {}: {e}", done.display()))?;
    let mut modules = Vec::new();
    let mut missing_modules = Vec::new();
    let mut config = None;
    for line in manifest.lines() {
        if let Some(m) = line.strip_prefix("module ") {
            modules.push(dir.join("modules").join(m));
        } else if let Some(m) = line.strip_prefix("missing ") {
            missing_modules.push(m.to_owned());
        } else if let Some(release) = line.strip_prefix("config ") {
            config = Some((dir.join("config"), release.to_owned()));
        }
    }
    let btf = dir.join("vmlinux.btf");
    Ok(Prepared {
        series: pin.series.clone(),
        package,
        version,
        sha256,
        vmlinux: dir.join("vmlinux"),
        btf: btf.is_file().then_some(btf),
        config,
        modules,
        missing_modules,
        note,
    })
}

fn prepare_dir(deb: &Path, dir: &Path) -> Result<(), String> {
    let _ = fs::remove_dir_all(dir);
    let tree = dir.join("tree");
    fs::create_dir_all(&tree).map_err(|e| format!("creating {}: {e}", tree.display()))?;
    let out = Command::new("dpkg-deb")
        .arg("-x")
        .arg(deb)
        .arg(&tree)
        .output()
        .map_err(|e| format!("running dpkg-deb: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "dpkg-deb -x {}: {}",
            deb.display(),
            tail(&String::from_utf8_lossy(&out.stderr), 3)
        ));
    }
    let vmlinuz = find_vmlinuz(&tree)?;
    let image = fs::read(&vmlinuz).map_err(|e| format!("reading {}: {e}", vmlinuz.display()))?;
    let elf =
        bzimage::extract_vmlinux(&image).map_err(|e| format!("{}: {e}", vmlinuz.display()))?;
    fs::write(dir.join("vmlinux"), &elf).map_err(|e| format!("writing vmlinux: {e}"))?;
    if let Some(btf) = bzimage::btf_section(&elf) {
        fs::write(dir.join("vmlinux.btf"), btf).map_err(|e| format!("writing vmlinux.btf: {e}"))?;
    }
    let mut manifest = String::new();
    if let Some((config, release)) = find_config(&tree) {
        fs::copy(&config, dir.join("config"))
            .map_err(|e| format!("copying {}: {e}", config.display()))?;
        manifest.push_str(&format!("config {release}\n"));
    }
    let moddir = modules_root(&tree)?;
    let mods = dir.join("modules");
    fs::create_dir_all(&mods).map_err(|e| format!("creating {}: {e}", mods.display()))?;
    // modules.dep is written by depmod at install time, so the package has none:
    // index the tree by module name and read `depends=` from each module's .modinfo.
    let index = module_index(&moddir);
    let deps = |rel: &str| -> Vec<String> {
        if !rel.ends_with(".ko") {
            return Vec::new(); // compressed: the kernel decompresses, we cannot look inside
        }
        fs::read(moddir.join(rel))
            .ok()
            .map(|b| modinfo_depends(&b))
            .unwrap_or_default()
    };
    let (order, missing) = module_order(&index, &deps, MODULES);
    for (i, rel) in order.iter().enumerate() {
        let file = Path::new(rel)
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("m.ko");
        let name = format!("{i:02}-{file}");
        fs::copy(moddir.join(rel), mods.join(&name))
            .map_err(|e| format!("copying module {rel}: {e}"))?;
        manifest.push_str(&format!("module {name}\n"));
    }
    for m in missing {
        manifest.push_str(&format!("missing {m}\n"));
    }
    let _ = fs::remove_dir_all(&tree);
    fs::write(dir.join("prepared"), manifest).map_err(|e| format!("writing manifest: {e}"))
}

fn find_vmlinuz(tree: &Path) -> Result<PathBuf, String> {
    let boot = tree.join("boot");
    fs::read_dir(&boot)
        .map_err(|e| format!("{}: {e}", boot.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("vmlinuz-"))
        })
        .ok_or_else(|| format!("no boot/vmlinuz-* in the package ({})", boot.display()))
}

/// The package's `boot/config-<release>` and the release, if it ships one.
fn find_config(tree: &Path) -> Option<(PathBuf, String)> {
    fs::read_dir(tree.join("boot"))
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find_map(|p| {
            let release = p.file_name()?.to_str()?.strip_prefix("config-")?.to_owned();
            Some((p, release))
        })
}

fn modules_root(tree: &Path) -> Result<PathBuf, String> {
    for base in ["lib/modules", "usr/lib/modules"] {
        if let Ok(rd) = fs::read_dir(tree.join(base))
            && let Some(d) = rd.flatten().map(|e| e.path()).find(|p| p.is_dir())
        {
            return Ok(d);
        }
    }
    Err("no lib/modules/<release> in the package".into())
}

/// Module name → path relative to the release dir, for every `*.ko*` under `kernel/`.
pub fn module_index(moddir: &Path) -> BTreeMap<String, String> {
    fn walk(base: &Path, dir: &Path, out: &mut BTreeMap<String, String>) {
        let Ok(rd) = fs::read_dir(dir) else { return };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(base, &p, out);
            } else if let Ok(rel) = p.strip_prefix(base) {
                let rel = rel.to_string_lossy().into_owned();
                if rel.contains(".ko") {
                    out.insert(module_name(&rel).to_owned(), rel);
                }
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(moddir, &moddir.join("kernel"), &mut out);
    out
}

/// The `depends=` names of an uncompressed module's `.modinfo` section.
pub fn modinfo_depends(ko: &[u8]) -> Vec<String> {
    use object::{Object, ObjectSection};
    let Ok(file) = object::File::parse(ko) else {
        return Vec::new();
    };
    let Some(data) = file.section_by_name(".modinfo").and_then(|s| s.data().ok()) else {
        return Vec::new();
    };
    data.split(|&b| b == 0)
        .filter_map(|kv| kv.strip_prefix(b"depends="))
        .flat_map(|v| {
            String::from_utf8_lossy(v)
                .split(',')
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .filter(|d| !d.is_empty())
        .collect()
}

/// The module name of a path: `kernel/net/sched/cls_bpf.ko.xz` → `cls_bpf`.
pub fn module_name(path: &str) -> &str {
    let file = path.rsplit('/').next().unwrap_or(path);
    file.split(".ko").next().unwrap_or(file)
}

/// Paths to load for `wanted`, dependencies before dependents, each once; plus the
/// names not found in `index` (built in or not configured). `deps` gives a module
/// path's dependencies by name.
pub fn module_order(
    index: &BTreeMap<String, String>,
    deps: &dyn Fn(&str) -> Vec<String>,
    wanted: &[&str],
) -> (Vec<String>, Vec<String>) {
    fn visit(
        name: &str,
        index: &BTreeMap<String, String>,
        deps: &dyn Fn(&str) -> Vec<String>,
        seen: &mut BTreeSet<String>,
        out: &mut Vec<String>,
        missing: &mut Vec<String>,
    ) {
        if !seen.insert(name.to_owned()) {
            return;
        }
        let Some(rel) = index.get(name) else {
            missing.push(name.to_owned());
            return;
        };
        for d in deps(rel) {
            visit(&d, index, deps, seen, out, missing);
        }
        out.push(rel.clone());
    }
    let mut seen = BTreeSet::new();
    let (mut out, mut missing) = (Vec::new(), Vec::new());
    for w in wanted {
        visit(w, index, deps, &mut seen, &mut out, &mut missing);
    }
    (out, missing)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn find_config_names_the_release_of_the_packaged_config() {
        let tree = std::env::temp_dir().join(format!("oxbpf-kt-config-{}", std::process::id()));
        let boot = tree.join("boot");
        fs::create_dir_all(&boot).unwrap();
        assert_eq!(find_config(&tree), None, "no config in the package");
        fs::write(boot.join("vmlinuz-6.1.0-57-cloud-amd64"), b"k").unwrap();
        fs::write(boot.join("config-6.1.0-57-cloud-amd64"), b"CONFIG_BPF=y\n").unwrap();
        let (path, release) = find_config(&tree).unwrap();
        let _ = fs::remove_dir_all(&tree);
        assert_eq!(release, "6.1.0-57-cloud-amd64");
        assert_eq!(path, boot.join("config-6.1.0-57-cloud-amd64"));
    }

    #[test]
    fn module_order_puts_dependencies_first_once() {
        let index: BTreeMap<String, String> = [
            ("veth", "kernel/a/veth.ko.xz"),
            ("cls_bpf", "kernel/x/cls_bpf.ko"),
            ("dep1", "kernel/x/dep1.ko"),
            ("dep2", "kernel/x/dep2.ko"),
        ]
        .into_iter()
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
        .collect();
        let deps = |rel: &str| -> Vec<String> {
            match rel {
                "kernel/x/cls_bpf.ko" => vec!["dep2".into(), "dep1".into()],
                "kernel/x/dep2.ko" => vec!["dep1".into()],
                _ => vec![],
            }
        };
        let (order, missing) = module_order(&index, &deps, &["veth", "cls_bpf", "sch_ingress"]);
        assert_eq!(
            order,
            [
                "kernel/a/veth.ko.xz",
                "kernel/x/dep1.ko",
                "kernel/x/dep2.ko",
                "kernel/x/cls_bpf.ko"
            ]
        );
        assert_eq!(missing, ["sch_ingress"]);
    }

    #[test]
    fn modinfo_depends_of_garbage_is_empty() {
        assert!(modinfo_depends(b"not an elf").is_empty());
    }

    #[test]
    fn module_name_strips_dirs_and_suffixes() {
        assert_eq!(module_name("kernel/net/sched/cls_bpf.ko.xz"), "cls_bpf");
        assert_eq!(module_name("veth.ko"), "veth");
    }
}

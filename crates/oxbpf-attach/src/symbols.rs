//! Finding what a uprobe names: binaries and shared libraries by name, and symbols in
//! them (`.symtab`, then `.dynsym`) as file offsets — the symbol's address minus the
//! containing PT_LOAD segment's `p_vaddr` plus its `p_offset`.

use std::path::{Path, PathBuf};

use object::{Object, ObjectSegment, ObjectSymbol, SymbolKind};

use crate::{Error, Result};

/// Directories searched for a library named without a path, after the process's maps.
const LIB_DIRS: &[&str] = &[
    "/lib/x86_64-linux-gnu",
    "/usr/lib/x86_64-linux-gnu",
    "/lib64",
    "/usr/lib64",
    "/lib",
    "/usr/lib",
    "/usr/local/lib",
];

fn binary_err(path: &Path, reason: impl Into<String>) -> Error {
    Error::Binary {
        path: path.display().to_string(),
        reason: reason.into(),
    }
}

/// True if file name `file` is library `name`: `name` itself, or `name` followed by
/// `.so`, `-<version>.so` or `.so.<version>` (`libc` and `libc.so.6` both name
/// `libc.so.6`).
fn is_library(file: &str, name: &str) -> bool {
    if file == name {
        return true;
    }
    let Some(rest) = file.strip_prefix(name) else {
        return false;
    };
    if name.contains(".so") {
        return rest.starts_with('.');
    }
    rest.starts_with(".so") || (rest.starts_with('-') && rest.contains(".so"))
}

/// Paths of files mapped into process `pid` (`None`: this process), from
/// /proc/<pid>/maps, in first-mapped order, each once.
pub fn mapped_files(pid: Option<u32>) -> Result<Vec<PathBuf>> {
    let path = match pid {
        Some(p) => format!("/proc/{p}/maps"),
        None => "/proc/self/maps".to_owned(),
    };
    let text = std::fs::read_to_string(&path)
        .map_err(|e| binary_err(Path::new(&path), format!("cannot read: {e}")))?;
    Ok(parse_maps(&text))
}

/// The file paths of /proc/<pid>/maps text, each once, in order.
pub fn parse_maps(text: &str) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = Vec::new();
    for line in text.lines() {
        // address perms offset dev inode path
        let mut f = line.splitn(6, ' ');
        let path = f.nth(5).map(str::trim_start);
        if let Some(p) = path.filter(|p| p.starts_with('/')) {
            let p = PathBuf::from(p.strip_suffix(" (deleted)").unwrap_or(p));
            if !out.contains(&p) {
                out.push(p);
            }
        }
    }
    out
}

/// Resolves the binary a uprobe names: a path (with a `/`) as is; a library name
/// (`libc`, `libc.so.6`) among the files mapped by `pid` (or this process), then in the
/// standard library directories; any other name on `$PATH`.
pub fn find_binary(name: &str, pid: Option<u32>) -> Result<PathBuf> {
    if name.is_empty() {
        return Err(binary_err(Path::new(name), "empty binary name"));
    }
    if name.contains('/') {
        let p = PathBuf::from(name);
        return if p.is_file() {
            Ok(p)
        } else {
            Err(binary_err(&p, "no such file"))
        };
    }
    if name.starts_with("lib") || name.contains(".so") {
        if let Ok(files) = mapped_files(pid) {
            if let Some(p) = files.into_iter().find(|p| {
                p.file_name()
                    .and_then(|f| f.to_str())
                    .is_some_and(|f| is_library(f, name))
            }) {
                return Ok(p);
            }
        }
        for dir in LIB_DIRS {
            let Ok(rd) = std::fs::read_dir(dir) else {
                continue;
            };
            let mut found: Vec<PathBuf> = rd
                .filter_map(|e| e.ok())
                .filter(|e| e.file_name().to_str().is_some_and(|f| is_library(f, name)))
                .map(|e| e.path())
                .collect();
            found.sort();
            if let Some(p) = found.into_iter().next() {
                return Ok(p);
            }
        }
        return Err(binary_err(
            Path::new(name),
            format!(
                "library not mapped by {} and not in {}",
                pid.map_or("this process".to_owned(), |p| format!("process {p}")),
                LIB_DIRS.join(", ")
            ),
        ));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .ok_or_else(|| binary_err(Path::new(name), "not found on $PATH"))
}

/// Converts a virtual address of `file` to its file offset through the PT_LOAD segment
/// containing it.
pub fn vaddr_to_offset(file: &object::File<'_>, vaddr: u64) -> Option<u64> {
    file.segments().find_map(|seg| {
        let (off, size) = seg.file_range();
        let start = seg.address();
        (vaddr >= start && vaddr < start.checked_add(size.max(seg.size()))?)
            .then(|| vaddr - start + off)
    })
}

/// A function symbol found in a binary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundSymbol {
    /// Its name (without a version suffix).
    pub name: String,
    /// Its file offset, where a uprobe goes.
    pub offset: u64,
}

fn base_name(name: &str) -> &str {
    name.split('@').next().unwrap_or(name)
}

/// Every defined function symbol of ELF `data` (`.symtab` then `.dynsym`) for which
/// `pred(name)` holds, as file offsets, each name once.
pub fn function_symbols(
    data: &[u8],
    path: &Path,
    mut pred: impl FnMut(&str) -> bool,
) -> Result<Vec<FoundSymbol>> {
    let file =
        object::File::parse(data).map_err(|e| binary_err(path, format!("not an ELF file: {e}")))?;
    let mut out: Vec<FoundSymbol> = Vec::new();
    for sym in file.symbols().chain(file.dynamic_symbols()) {
        if sym.kind() != SymbolKind::Text || sym.is_undefined() || sym.address() == 0 {
            continue;
        }
        let Ok(raw) = sym.name() else { continue };
        let name = base_name(raw);
        if !pred(name) || out.iter().any(|f| f.name == name) {
            continue;
        }
        let offset = vaddr_to_offset(&file, sym.address()).ok_or_else(|| {
            binary_err(
                path,
                format!(
                    "symbol {name:?} at {:#x} is in no loadable segment",
                    sym.address()
                ),
            )
        })?;
        out.push(FoundSymbol {
            name: name.to_owned(),
            offset,
        });
    }
    Ok(out)
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| binary_err(path, format!("cannot read: {e}")))
}

/// Resolves a uprobe target in `path` to a file offset: `symbol`, `symbol+offset`
/// (decimal or 0x-hex), or a bare `0x` address (a virtual address, converted).
pub fn resolve(path: &Path, target: &str) -> Result<u64> {
    let data = read(path)?;
    resolve_in(&data, path, target)
}

/// [`resolve`] on ELF bytes already read.
pub fn resolve_in(data: &[u8], path: &Path, target: &str) -> Result<u64> {
    let parse_num = |s: &str| match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => u64::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    };
    if target.starts_with("0x") {
        let vaddr =
            parse_num(target).ok_or_else(|| binary_err(path, format!("bad address {target:?}")))?;
        let file = object::File::parse(data)
            .map_err(|e| binary_err(path, format!("not an ELF file: {e}")))?;
        return vaddr_to_offset(&file, vaddr)
            .ok_or_else(|| binary_err(path, format!("address {vaddr:#x} is in no segment")));
    }
    let (name, extra) = match target.split_once('+') {
        Some((n, off)) => (
            n,
            parse_num(off).ok_or_else(|| binary_err(path, format!("bad offset in {target:?}")))?,
        ),
        None => (target, 0),
    };
    let found = function_symbols(data, path, |n| n == name)?;
    let sym = found.first().ok_or_else(|| Error::SymbolNotFound {
        symbol: name.to_owned(),
        binary: path.display().to_string(),
    })?;
    sym.offset
        .checked_add(extra)
        .ok_or_else(|| binary_err(path, format!("offset of {target:?} overflows")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn library_names_match_versions() {
        assert!(is_library("libc.so.6", "libc"));
        assert!(is_library("libc.so.6", "libc.so.6"));
        assert!(is_library("libc.so.6", "libc.so"));
        assert!(is_library("libssl-3.so", "libssl"));
        assert!(!is_library("libcrypt.so.1", "libc"));
        assert!(!is_library("libc.so.6", "libc.so.7"));
    }

    #[test]
    fn parses_maps_paths_once() {
        let text = "55d0-55d1 r--p 00000000 08:01 123   /usr/bin/cat\n\
                    55d1-55d2 r-xp 00001000 08:01 123   /usr/bin/cat\n\
                    7f00-7f01 rw-p 00000000 00:00 0 \n\
                    7f01-7f02 r-xp 00000000 08:01 9     /lib/x86_64-linux-gnu/libc.so.6\n\
                    7ffd-7ffe rw-p 00000000 00:00 0     [stack]\n";
        assert_eq!(
            parse_maps(text),
            vec![
                PathBuf::from("/usr/bin/cat"),
                PathBuf::from("/lib/x86_64-linux-gnu/libc.so.6")
            ]
        );
    }

    #[test]
    fn non_elf_bytes_are_an_error_naming_the_file() {
        let e = resolve_in(b"not an elf", Path::new("/x/y"), "main").unwrap_err();
        assert!(e.to_string().starts_with("/x/y: not an ELF file"), "{e}");
        let e = resolve_in(&[0x7f, b'E', b'L', b'F', 2, 1, 1], Path::new("/x/y"), "m").unwrap_err();
        assert!(matches!(e, Error::Binary { .. }), "{e}");
    }

    #[test]
    fn missing_symbol_names_binary_and_symbol() {
        let exe = std::env::current_exe().unwrap();
        let e = resolve(&exe, "oxbpf_no_such_symbol_here").unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "symbol \"oxbpf_no_such_symbol_here\" not found in {}",
                exe.display()
            )
        );
    }

    #[test]
    fn finds_libc_and_its_getpid() {
        let libc = find_binary("libc", None).unwrap();
        let off = resolve(&libc, "getpid").unwrap();
        assert!(off > 0);
        assert_eq!(resolve(&libc, "getpid+4").unwrap(), off + 4);
    }

    #[test]
    fn missing_library_names_it() {
        let e = find_binary("liboxbpf_nonexistent", None).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("liboxbpf_nonexistent: library not mapped"),
            "{e}"
        );
    }
}

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

const LD_SO_CACHE: &str = "/etc/ld.so.cache";
const CACHE_MAGIC: &[u8] = b"glibc-ld.so.cache1.1";
/// `FLAG_ELF_LIBC6 | FLAG_X8664_LIB64` of glibc's ldconfig.
const CACHE_FLAGS_X86_64: i32 = 0x0303;

fn u32_at(d: &[u8], off: usize) -> Option<u32> {
    let b = d.get(off..off.checked_add(4)?)?;
    Some(u32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
}

fn cstr_at(d: &[u8], off: usize) -> Option<&str> {
    let rest = d.get(off..)?;
    let end = rest.iter().position(|&b| b == 0)?;
    std::str::from_utf8(&rest[..end]).ok()
}

/// The (soname, path, flags) entries of an ld.so.cache in glibc's "new" format (alone,
/// or after an old-format part). Entries whose strings fall outside the data are skipped;
/// data without the format's magic gives none.
pub fn parse_ld_so_cache(data: &[u8]) -> Vec<(String, PathBuf, i32)> {
    let Some(start) = data
        .windows(CACHE_MAGIC.len())
        .position(|w| w == CACHE_MAGIC)
    else {
        return Vec::new();
    };
    let d = &data[start..];
    // Header: magic+version (20), nlibs, len_strings, flags+pad, extension_offset,
    // unused[3] = 48 bytes; entries of 24: flags, key, value, osversion, hwcap (u64).
    let Some(nlibs) = u32_at(d, 20) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for i in 0..nlibs as usize {
        let Some(base) = i.checked_mul(24).and_then(|o| o.checked_add(48)) else {
            break;
        };
        let (Some(flags), Some(key), Some(value)) =
            (u32_at(d, base), u32_at(d, base + 4), u32_at(d, base + 8))
        else {
            break;
        };
        // String offsets are relative to the start of the new-format part.
        if let (Some(k), Some(v)) = (cstr_at(d, key as usize), cstr_at(d, value as usize)) {
            out.push((k.to_owned(), PathBuf::from(v), flags as i32));
        }
    }
    out
}

/// The library `name` in /etc/ld.so.cache (x86-64 entries first).
fn from_ld_so_cache(name: &str) -> Option<PathBuf> {
    let data = std::fs::read(LD_SO_CACHE).ok()?;
    let entries = parse_ld_so_cache(&data);
    let hit = |want_arch: bool| {
        entries
            .iter()
            .find(|(so, _, f)| is_library(so, name) && (!want_arch || *f == CACHE_FLAGS_X86_64))
            .map(|(_, p, _)| p.clone())
    };
    hit(cfg!(target_arch = "x86_64")).or_else(|| hit(false))
}

/// Paths of files mapped into process `pid` (`None`: this process), from
/// `/proc/<pid>/maps`, in first-mapped order, each once.
pub fn mapped_files(pid: Option<u32>) -> Result<Vec<PathBuf>> {
    let path = match pid {
        Some(p) => format!("/proc/{p}/maps"),
        None => "/proc/self/maps".to_owned(),
    };
    let text = std::fs::read_to_string(&path)
        .map_err(|e| binary_err(Path::new(&path), format!("cannot read: {e}")))?;
    Ok(parse_maps(&text))
}

/// The file paths of `/proc/<pid>/maps` text, each once, in order.
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
/// (`libc`, `libc.so.6`) among the files mapped by `pid` (or this process), then in
/// /etc/ld.so.cache, then in the standard library directories; any other name on `$PATH`.
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
        if let Some(p) = from_ld_so_cache(name) {
            return Ok(p);
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
                "library not mapped by {}, not in {LD_SO_CACHE} and not in {}",
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

    fn cache_bytes(entries: &[(i32, &str, &str)], prefix: &[u8]) -> Vec<u8> {
        let mut strings = Vec::new();
        let table_end = 48 + 24 * entries.len();
        let mut table = Vec::new();
        for (flags, k, v) in entries {
            let ko = table_end + strings.len();
            strings.extend_from_slice(k.as_bytes());
            strings.push(0);
            let vo = table_end + strings.len();
            strings.extend_from_slice(v.as_bytes());
            strings.push(0);
            table.extend_from_slice(&flags.to_ne_bytes());
            table.extend_from_slice(&(ko as u32).to_ne_bytes());
            table.extend_from_slice(&(vo as u32).to_ne_bytes());
            table.extend_from_slice(&[0u8; 12]);
        }
        let mut d = prefix.to_vec();
        d.extend_from_slice(CACHE_MAGIC);
        d.extend_from_slice(&(entries.len() as u32).to_ne_bytes());
        d.extend_from_slice(&(strings.len() as u32).to_ne_bytes());
        d.resize(prefix.len() + 48, 0);
        d.extend_from_slice(&table);
        d.extend_from_slice(&strings);
        d
    }

    #[test]
    fn parses_hand_built_ld_so_cache() {
        let d = cache_bytes(
            &[
                (0x0303, "libc.so.6", "/lib/x86_64-linux-gnu/libc.so.6"),
                (0x0003, "libc.so.6", "/lib32/libc.so.6"),
            ],
            b"ld.so-1.7.0\0junk",
        );
        let e = parse_ld_so_cache(&d);
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].0, "libc.so.6");
        assert_eq!(e[0].1, PathBuf::from("/lib/x86_64-linux-gnu/libc.so.6"));
        assert_eq!(e[1].2, 3);
    }

    #[test]
    fn truncated_or_foreign_ld_so_cache_never_panics() {
        assert!(parse_ld_so_cache(b"").is_empty());
        assert!(parse_ld_so_cache(b"not a cache at all").is_empty());
        let d = cache_bytes(&[(0x0303, "libx.so", "/x")], b"");
        for n in 0..d.len() {
            let _ = parse_ld_so_cache(&d[..n]);
        }
        let mut bad = d.clone();
        bad[20..24].copy_from_slice(&u32::MAX.to_ne_bytes());
        assert_eq!(parse_ld_so_cache(&bad).len(), 1);
    }

    #[test]
    fn system_ld_so_cache_lists_libc() {
        let Ok(data) = std::fs::read(LD_SO_CACHE) else {
            return;
        };
        let e = parse_ld_so_cache(&data);
        assert!(
            e.iter().any(|(so, _, _)| so == "libc.so.6"),
            "{} entries",
            e.len()
        );
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

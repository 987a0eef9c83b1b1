//! Source lines to probe addresses: `file.c:42` resolved through an executable's
//! `.debug_line` (gimli) to the lowest address the compiler marked as a statement of that
//! line, then to a file offset for a uprobe.

use std::borrow::Cow;
use std::path::Path;

use gimli::{EndianSlice, LittleEndian};
use object::{Object, ObjectSection};

use crate::{Error, Result};

/// A `file:line` location, split at the last `:`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceLine {
    /// The file, as written (`probe.c`, `src/probe.c`, or an absolute path).
    pub file: String,
    /// The 1-based line number.
    pub line: u64,
}

impl SourceLine {
    /// Parses `file.c:42`.
    pub fn parse(s: &str) -> Result<Self> {
        let bad = |reason| Error::InvalidName {
            what: format!("source line {s:?}"),
            reason,
        };
        let (file, line) = s
            .rsplit_once(':')
            .ok_or_else(|| bad("expected FILE:LINE"))?;
        if file.is_empty() {
            return Err(bad("the file is empty"));
        }
        let line: u64 = line.parse().map_err(|_| bad("the line is not a number"))?;
        if line == 0 {
            return Err(bad("lines start at 1"));
        }
        Ok(SourceLine {
            file: file.to_string(),
            line,
        })
    }
}

/// True if `full` (a path from the line table) names `query`: equal, or ending in
/// `/query` on a component boundary.
fn path_matches(full: &str, query: &str) -> bool {
    full == query
        || full
            .strip_suffix(query)
            .is_some_and(|rest| rest.ends_with('/') || query.starts_with('/'))
}

type Slice<'a> = EndianSlice<'a, LittleEndian>;

fn dwarf_err(path: &Path, what: &str, e: gimli::Error) -> Error {
    Error::Binary {
        path: path.display().to_string(),
        reason: format!("{what}: {e}"),
    }
}

/// The addresses (virtual, sorted, deduplicated) at which a statement of `loc` begins in
/// the ELF `data`; empty if the line has no code. `path` names the binary in errors.
pub fn line_addresses(data: &[u8], path: &Path, loc: &SourceLine) -> Result<Vec<u64>> {
    let file = object::File::parse(data).map_err(|e| Error::Binary {
        path: path.display().to_string(),
        reason: format!("not an ELF file: {e}"),
    })?;
    if file.section_by_name(".debug_line").is_none() {
        return Err(Error::Binary {
            path: path.display().to_string(),
            reason: "has no .debug_line (build it with -g)".into(),
        });
    }
    let sections = gimli::DwarfSections::load(|id| -> std::result::Result<Cow<'_, [u8]>, Error> {
        match file.section_by_name(id.name()) {
            Some(s) => s.uncompressed_data().map_err(|e| Error::Binary {
                path: path.display().to_string(),
                reason: format!("reading {}: {e}", id.name()),
            }),
            None => Ok(Cow::Borrowed(&[][..])),
        }
    })?;
    let dwarf = sections.borrow(|s| Slice::new(s, LittleEndian));
    let to_string = |r: Slice<'_>| Ok::<String, gimli::Error>(r.to_string_lossy().into_owned());

    let mut out = Vec::new();
    let mut units = dwarf.units();
    while let Some(header) = units
        .next()
        .map_err(|e| dwarf_err(path, "reading .debug_info", e))?
    {
        let unit = dwarf
            .unit(header)
            .map_err(|e| dwarf_err(path, "reading a unit", e))?;
        let Some(program) = unit.line_program.clone() else {
            continue;
        };
        let comp_dir = unit
            .comp_dir
            .map(to_string)
            .transpose()
            .map_err(|e| dwarf_err(path, "comp_dir", e))?
            .unwrap_or_default();
        // Which file indices of this unit's table name the file asked for.
        let header = program.header();
        let mut wanted = Vec::new();
        let first = if header.version() >= 5 { 0 } else { 1 };
        for (i, entry) in header.file_names().iter().enumerate() {
            let name = dwarf
                .attr_string(&unit, entry.path_name())
                .and_then(to_string)
                .map_err(|e| dwarf_err(path, "file name", e))?;
            let dir = match entry.directory(header) {
                Some(d) => dwarf
                    .attr_string(&unit, d)
                    .and_then(to_string)
                    .map_err(|e| dwarf_err(path, "directory", e))?,
                None => String::new(),
            };
            let full = if name.starts_with('/') {
                name.clone()
            } else if dir.starts_with('/') {
                format!("{dir}/{name}")
            } else if dir.is_empty() {
                format!("{comp_dir}/{name}")
            } else {
                format!("{comp_dir}/{dir}/{name}")
            };
            if path_matches(&full, &loc.file) || name == loc.file {
                wanted.push(i as u64 + first);
            }
        }
        if wanted.is_empty() {
            continue;
        }
        let mut rows = program.rows();
        // The previous row's (file, line) in this sequence: a statement starts a block of
        // the line only where the line changes.
        let mut prev: Option<(u64, u64)> = None;
        while let Some((_, row)) = rows
            .next_row()
            .map_err(|e| dwarf_err(path, "reading .debug_line", e))?
        {
            if row.end_sequence() {
                prev = None;
                continue;
            }
            let here = (row.file_index(), row.line().map_or(0, |l| l.get()));
            if row.is_stmt() && here.1 == loc.line && wanted.contains(&here.0) && prev != Some(here)
            {
                out.push(row.address());
            }
            prev = Some(here);
        }
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

/// The file offset of the lowest address of `loc` (`probe.c:42`) in `binary`, for
/// [`crate::uprobe::attach`] with [`crate::uprobe::UprobeTarget::Offset`].
pub fn resolve_line(binary: &Path, loc: &str) -> Result<u64> {
    let loc = SourceLine::parse(loc)?;
    let data = std::fs::read(binary).map_err(|e| Error::Binary {
        path: binary.display().to_string(),
        reason: format!("cannot read: {e}"),
    })?;
    let addrs = line_addresses(&data, binary, &loc)?;
    let Some(&addr) = addrs.first() else {
        return Err(Error::NoAttachPoint {
            what: format!("source line {}:{}", loc.file, loc.line),
            detail: format!(
                "no statement of that line in the .debug_line of {} (no code there, or another file name)",
                binary.display()
            ),
        });
    };
    let file = object::File::parse(&*data).map_err(|e| Error::Binary {
        path: binary.display().to_string(),
        reason: format!("not an ELF file: {e}"),
    })?;
    crate::symbols::vaddr_to_offset(&file, addr).ok_or_else(|| Error::Binary {
        path: binary.display().to_string(),
        reason: format!(
            "{}:{} is at {addr:#x}, in no loadable segment",
            loc.file, loc.line
        ),
    })
}

/// Attaches `prog` (a loaded BPF_PROG_TYPE_KPROBE program) as a uprobe at source line
/// `loc` (`probe.c:42`) of `binary` (an executable or library built with `-g`).
pub fn attach_line(
    prog: std::os::fd::BorrowedFd<'_>,
    binary: &Path,
    loc: &str,
    opts: &crate::uprobe::UprobeOptions,
) -> Result<crate::Link> {
    let offset = resolve_line(binary, loc)?;
    let path = binary.to_str().ok_or_else(|| Error::InvalidName {
        what: format!("binary {}", binary.display()),
        reason: "is not UTF-8",
    })?;
    crate::uprobe::attach(
        prog,
        path,
        &crate::uprobe::UprobeTarget::Offset(offset),
        opts,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_file_and_line() {
        assert_eq!(
            SourceLine::parse("src/a:b.c:42").unwrap(),
            SourceLine {
                file: "src/a:b.c".into(),
                line: 42
            }
        );
        for bad in ["probe.c", "probe.c:", ":4", "probe.c:0", "probe.c:x"] {
            assert!(SourceLine::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn matches_paths_on_component_boundaries() {
        assert!(path_matches("/tmp/x/probe.c", "probe.c"));
        assert!(path_matches("/tmp/x/probe.c", "x/probe.c"));
        assert!(path_matches("/tmp/x/probe.c", "/tmp/x/probe.c"));
        assert!(!path_matches("/tmp/x/myprobe.c", "probe.c"));
    }

    #[test]
    fn rejects_elf_without_debug_line_and_garbage() {
        let exe = std::fs::read("/proc/self/exe").unwrap();
        let loc = SourceLine::parse("x.c:1").unwrap();
        // The test binary may or may not have DWARF; garbage never panics.
        let _ = line_addresses(&exe, Path::new("self"), &loc);
        assert!(line_addresses(b"not an elf", Path::new("junk"), &loc).is_err());
    }
}

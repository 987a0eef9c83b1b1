//! Build-script integration: compile a BPF C source with clang, then generate bindings.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::error::{Error, Result};
use crate::{GenOptions, generate};

/// Compiles `bpf-src/foo.bpf.c` into `OUT_DIR/foo.bpf.o` and writes
/// `OUT_DIR/foo.skel.rs`, printing `cargo:rerun-if-changed` for the source and every
/// header clang read.
///
/// ```no_run
/// // build.rs
/// let out = oxbpf_gen::Builder::new("bpf-src/foo.bpf.c")
///     .clang_args(["-I", "bpf-src/include"])
///     .generate()?;
/// // src/main.rs: include!(concat!(env!("OUT_DIR"), "/foo.skel.rs"));
/// # let _ = out;
/// # Ok::<(), oxbpf_gen::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Builder {
    src: PathBuf,
    clang: Option<PathBuf>,
    args: Vec<String>,
    out_dir: Option<PathBuf>,
    opts: GenOptions,
    cargo: bool,
}

/// What [`Builder::generate`] wrote.
#[derive(Debug, Clone)]
pub struct Generated {
    /// The compiled object.
    pub object: PathBuf,
    /// The generated Rust bindings.
    pub bindings: PathBuf,
    /// Every file the compile read (the source and its headers).
    pub deps: Vec<PathBuf>,
}

impl Builder {
    /// A builder for the BPF C source at `src`.
    pub fn new(src: impl AsRef<Path>) -> Self {
        Builder {
            src: src.as_ref().to_path_buf(),
            clang: None,
            args: Vec::new(),
            out_dir: None,
            opts: GenOptions::default(),
            cargo: true,
        }
    }

    /// Extra clang arguments (include paths, defines).
    pub fn clang_args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_string()));
        self
    }

    /// Uses this clang instead of searching (`$CLANG`, `clang-19`, `clang` on `PATH`).
    pub fn clang(mut self, path: impl AsRef<Path>) -> Self {
        self.clang = Some(path.as_ref().to_path_buf());
        self
    }

    /// Writes into `dir` instead of `$OUT_DIR`.
    pub fn out_dir(mut self, dir: impl AsRef<Path>) -> Self {
        self.out_dir = Some(dir.as_ref().to_path_buf());
        self
    }

    /// Generation options (skeleton name, crate path).
    pub fn options(mut self, opts: GenOptions) -> Self {
        self.opts = opts;
        self
    }

    /// Whether to print `cargo:` directives (default true; off outside build scripts).
    pub fn cargo_directives(mut self, on: bool) -> Self {
        self.cargo = on;
        self
    }

    /// Compiles the source and writes the object and bindings.
    pub fn generate(&self) -> Result<Generated> {
        let out_dir = match &self.out_dir {
            Some(d) => d.clone(),
            None => PathBuf::from(std::env::var_os("OUT_DIR").ok_or_else(|| {
                Error::Config(
                    "OUT_DIR is not set: call from a build script or set Builder::out_dir".into(),
                )
            })?),
        };
        let clang = match &self.clang {
            Some(c) => c.clone(),
            None => find_clang()?,
        };
        let file = self
            .src
            .file_name()
            .and_then(|f| f.to_str())
            .ok_or_else(|| Error::Config(format!("{}: not a file name", self.src.display())))?;
        let stem = file.split('.').next().unwrap_or(file).to_string();
        let object = out_dir.join(format!("{stem}.bpf.o"));
        let depfile = out_dir.join(format!("{stem}.bpf.d"));
        let mut cmd = Command::new(&clang);
        cmd.args(["-target", "bpf", "-g", "-O2", "-c"])
            .arg(format!("-D__TARGET_ARCH_{}", target_arch()))
            .args(&self.args)
            .arg(&self.src)
            .arg("-o")
            .arg(&object)
            .arg("-MD")
            .arg("-MF")
            .arg(&depfile);
        let output = cmd.output().map_err(|e| Error::Io {
            path: clang.display().to_string(),
            source: e,
        })?;
        if !output.status.success() {
            return Err(Error::Clang {
                src: self.src.display().to_string(),
                status: output.status.to_string(),
                stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            });
        }
        let dep_text = std::fs::read_to_string(&depfile).unwrap_or_default();
        let mut deps = parse_depfile(&dep_text);
        if deps.is_empty() {
            deps.push(self.src.clone());
        }
        if self.cargo {
            for d in &deps {
                println!("cargo:rerun-if-changed={}", d.display());
            }
            println!("cargo:rerun-if-env-changed=CLANG");
        }
        let spec = oxbpf_obj::ObjectSpec::from_file(&object)?;
        let mut opts = self.opts.clone();
        if opts.name.is_none() {
            opts.name = Some(stem.clone());
        }
        let obj_str = object
            .to_str()
            .ok_or_else(|| Error::Config(format!("{}: path is not UTF-8", object.display())))?;
        let src = generate(&spec, obj_str, &opts)?;
        let bindings = out_dir.join(format!("{stem}.skel.rs"));
        std::fs::write(&bindings, src).map_err(|e| Error::Io {
            path: bindings.display().to_string(),
            source: e,
        })?;
        Ok(Generated {
            object,
            bindings,
            deps,
        })
    }
}

fn target_arch() -> &'static str {
    let arch =
        std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_else(|_| std::env::consts::ARCH.into());
    match arch.as_str() {
        "x86_64" | "x86" => "x86",
        "aarch64" => "arm64",
        "arm" => "arm",
        "riscv64" => "riscv",
        "powerpc64" => "powerpc",
        "s390x" => "s390",
        "loongarch64" => "loongarch",
        _ => "x86",
    }
}

/// `$CLANG`, else `clang-19`, `clang` on `PATH`.
pub(crate) fn find_clang() -> Result<PathBuf> {
    if let Some(c) = std::env::var_os("CLANG") {
        return Ok(PathBuf::from(c));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for name in ["clang-19", "clang"] {
        for dir in std::env::split_paths(&path) {
            let p = dir.join(name);
            if p.is_file() {
                return Ok(p);
            }
        }
    }
    Err(Error::NoClang(format!(
        "neither clang-19 nor clang is on PATH ({})",
        std::env::var("PATH").unwrap_or_default()
    )))
}

/// The prerequisites of a make-style depfile (`out.o: a.c b.h \`).
fn parse_depfile(text: &str) -> Vec<PathBuf> {
    let joined = text.replace("\\\n", " ");
    let Some((_, rest)) = joined.split_once(": ") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = rest.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&' ') => {
                cur.push(' ');
                chars.next();
            }
            c if c.is_whitespace() => {
                if !cur.is_empty() {
                    out.push(PathBuf::from(std::mem::take(&mut cur)));
                }
            }
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(PathBuf::from(cur));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_depfile_with_continuations_and_escaped_spaces() {
        let d =
            parse_depfile("/o/x.bpf.o: src/x.bpf.c \\\n  inc/a\\ b.h /usr/include/linux/bpf.h\n");
        assert_eq!(
            d,
            vec![
                PathBuf::from("src/x.bpf.c"),
                PathBuf::from("inc/a b.h"),
                PathBuf::from("/usr/include/linux/bpf.h")
            ]
        );
        assert!(parse_depfile("garbage").is_empty());
    }

    #[test]
    fn reports_missing_out_dir() {
        let b = Builder::new("x.bpf.c").clang("/nonexistent/clang");
        if std::env::var_os("OUT_DIR").is_none() {
            let e = b.generate().unwrap_err().to_string();
            assert!(e.contains("OUT_DIR"), "{e}");
        }
    }

    #[test]
    fn reports_clang_that_cannot_run() {
        let dir = std::env::temp_dir();
        let e = Builder::new("x.bpf.c")
            .clang("/nonexistent/clang")
            .out_dir(&dir)
            .generate()
            .unwrap_err()
            .to_string();
        assert!(e.contains("/nonexistent/clang"), "{e}");
    }
}

//! The generator's error: which type, map, variable or file, and why.

/// Errors from generating bindings or compiling a BPF source.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The object's BTF could not be read.
    #[error("object BTF: {0}")]
    Btf(#[from] oxbpf_btf::Error),
    /// The object could not be parsed.
    #[error("object: {0}")]
    Object(#[from] oxbpf_obj::Error),
    /// A BTF type cannot be expressed as a Rust type.
    #[error("BTF type id {id}: {reason}")]
    Type {
        /// The type id.
        id: u32,
        /// Why.
        reason: String,
    },
    /// No usable clang was found.
    #[error(
        "clang not found: {0} (install clang, e.g. `apt-get install clang-19`, or set CLANG=/path/to/clang)"
    )]
    NoClang(String),
    /// clang failed.
    #[error("clang {src}: {status}\n{stderr}")]
    Clang {
        /// The source file.
        src: String,
        /// The exit status.
        status: String,
        /// clang's diagnostics.
        stderr: String,
    },
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A required setting is missing (e.g. `OUT_DIR` outside a build script).
    #[error("{0}")]
    Config(String),
}

/// The generator's result.
pub type Result<T> = std::result::Result<T, Error>;

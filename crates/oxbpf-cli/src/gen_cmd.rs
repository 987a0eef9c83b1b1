//! `oxbpf gen <obj> [-o FILE] [--name N] [--embed PATH] [--types-only]`: Rust bindings for
//! checked-in use (the work is in `oxbpf_gen::generate`).

use std::path::PathBuf;

/// Arguments of `oxbpf gen`.
#[derive(clap::Args, Debug)]
pub struct GenArgs {
    /// The BPF ELF object.
    object: PathBuf,
    /// Write the bindings here instead of stdout.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    output: Option<PathBuf>,
    /// The skeleton's name (`foo` → `FooSkel`); default: the object's file stem.
    #[arg(long)]
    name: Option<String>,
    /// The path `include_bytes!` embeds, relative to the bindings file; default: the
    /// object's path as given.
    #[arg(long, value_name = "PATH")]
    embed: Option<String>,
    /// Types and layout assertions only: no skeleton, no `Pod` impls, no dependencies.
    #[arg(long)]
    types_only: bool,
}

type Res = Result<(), Box<dyn std::error::Error>>;

/// Runs `oxbpf gen`.
pub fn run(args: GenArgs) -> Res {
    let spec = oxbpf::ObjectSpec::from_file(&args.object)?;
    let embed = match args.embed {
        Some(p) => p,
        None => args.object.to_string_lossy().into_owned(),
    };
    let opts = oxbpf_gen::GenOptions {
        name: args.name,
        skeleton: !args.types_only,
        crate_path: (!args.types_only).then(|| "::oxbpf".to_string()),
    };
    let src = oxbpf_gen::generate(&spec, &embed, &opts)
        .map_err(|e| format!("{}: {e}", args.object.display()))?;
    match args.output {
        Some(path) => std::fs::write(&path, src).map_err(|e| format!("{}: {e}", path.display()))?,
        None => print!("{src}"),
    }
    Ok(())
}

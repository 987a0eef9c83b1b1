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

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../fixtures")
            .join(name)
    }

    #[test]
    fn writes_bindings_with_the_embed_path_and_name() {
        let out = std::env::temp_dir().join(format!("oxbpf-gen-cli-{}.rs", std::process::id()));
        run(GenArgs {
            object: fixture("execsnoop.bpf.o"),
            output: Some(out.clone()),
            name: Some("snoop".into()),
            embed: Some("../bpf/execsnoop.bpf.o".into()),
            types_only: false,
        })
        .unwrap();
        let src = std::fs::read_to_string(&out).unwrap();
        let _ = std::fs::remove_file(&out);
        assert!(src.contains("pub struct SnoopSkel"), "{src}");
        assert!(
            src.contains("include_bytes!(\"../bpf/execsnoop.bpf.o\")"),
            "{src}"
        );
        assert!(src.contains("pub struct exec_event {"), "{src}");
    }

    #[test]
    fn types_only_has_no_skeleton_and_no_oxbpf_paths() {
        let out = std::env::temp_dir().join(format!("oxbpf-gen-cli-t-{}.rs", std::process::id()));
        run(GenArgs {
            object: fixture("execsnoop.bpf.o"),
            output: Some(out.clone()),
            name: None,
            embed: None,
            types_only: true,
        })
        .unwrap();
        let src = std::fs::read_to_string(&out).unwrap();
        let _ = std::fs::remove_file(&out);
        assert!(!src.contains("Skel") && !src.contains("::oxbpf"), "{src}");
        assert!(
            src.contains("offset_of!(exec_event, filename) == 28"),
            "{src}"
        );
    }

    #[test]
    fn missing_object_is_an_error_naming_it() {
        let e = run(GenArgs {
            object: PathBuf::from("/nonexistent/x.bpf.o"),
            output: None,
            name: None,
            embed: None,
            types_only: false,
        })
        .unwrap_err()
        .to_string();
        assert!(e.contains("/nonexistent/x.bpf.o"), "{e}");
    }
}

//! `oxbpf link`: two jobs under one name.
//!
//! - `oxbpf link a.o b.o -o c.o` links BPF objects statically into one (like
//!   `bpftool gen object c.o a.o b.o`), with `oxbpf-linker`;
//! - `oxbpf link list`: the kernel's bpf_links with their type, program and target.

use std::fmt::Write as _;
use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::probe_cmd::emit;

/// `link` arguments: a subcommand for the kernel's links, or objects + `-o` for the
/// static linker.
#[derive(Args, Debug)]
#[command(
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true,
    after_help = "Examples:\n  oxbpf link a.bpf.o b.bpf.o -o ab.bpf.o   link objects statically into one\n  oxbpf link list                          list the kernel's bpf_links"
)]
pub struct LinkArgs {
    /// Inspect the kernel's bpf_links instead of linking objects.
    #[command(subcommand)]
    pub cmd: Option<LinkCmd>,
    /// BPF objects to link into one (externs resolved across them, weak symbols
    /// overridden by strong ones, BTF and BTF.ext merged, shared maps unified).
    #[arg(value_name = "OBJECT", required = true)]
    pub objects: Vec<PathBuf>,
    /// Where to write the linked object.
    #[arg(short = 'o', long = "output", value_name = "OUT", required = true)]
    pub output: Option<PathBuf>,
}

/// `link` subcommands (the kernel's bpf_links).
#[derive(Subcommand, Debug)]
pub enum LinkCmd {
    /// List the kernel's links: id, type, program id and what each is attached to.
    List,
}

type CmdResult = Result<(), Box<dyn std::error::Error>>;

/// Runs `oxbpf link ...`.
pub fn run(args: LinkArgs) -> CmdResult {
    match args.cmd {
        Some(LinkCmd::List) => emit(&list()?),
        None => {
            let Some(out) = args.output else {
                return Err("oxbpf link: -o OUT is required".into());
            };
            link_objects(&args.objects, &out)
        }
    }
}

/// Links `objects` (in order) into `out`.
pub fn link_objects(objects: &[PathBuf], out: &std::path::Path) -> CmdResult {
    let mut linker = oxbpf_linker::Linker::new();
    for path in objects {
        let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        linker.add(&path.display().to_string(), &bytes)?;
    }
    let linked = linker.finish()?;
    std::fs::write(out, linked).map_err(|e| format!("{}: {e}", out.display()))?;
    Ok(())
}

/// The `link list` text.
pub fn list() -> Result<String, Box<dyn std::error::Error>> {
    let mut out = String::new();
    let _ = writeln!(out, "{:>6}  {:<14}  {:>7}  target", "id", "type", "prog_id");
    for l in oxbpf::attach::link_info::list()? {
        let _ = writeln!(
            out,
            "{:>6}  {:<14}  {:>7}  {}",
            l.id,
            l.link_type.name(),
            l.prog_id,
            l.target()
        );
    }
    Ok(out)
}

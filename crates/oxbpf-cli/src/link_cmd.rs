//! `oxbpf link list`: the kernel's bpf_links with their type, program and target.

use std::fmt::Write as _;

use clap::Subcommand;

use crate::probe_cmd::emit;

/// `link` subcommands.
#[derive(Subcommand, Debug)]
pub enum LinkCmd {
    /// List the kernel's links: id, type, program id and what each is attached to.
    List,
}

type CmdResult = Result<(), Box<dyn std::error::Error>>;

/// Runs a `link` subcommand.
pub fn run(cmd: LinkCmd) -> CmdResult {
    match cmd {
        LinkCmd::List => emit(&list()?),
    }
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

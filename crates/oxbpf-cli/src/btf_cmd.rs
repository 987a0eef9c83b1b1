//! `oxbpf btf ...` (being written; see issue 4).

use clap::Subcommand;

/// BTF subcommands.
#[derive(Subcommand, Debug)]
pub enum BtfCmd {
    /// Dump all types.
    Dump {
        /// A BTF file (raw BTF such as /sys/kernel/btf/vmlinux).
        source: String,
    },
}

pub fn run(cmd: BtfCmd) -> Result<(), Box<dyn std::error::Error>> {
    match cmd {
        BtfCmd::Dump { source } => Err(format!("btf dump {source}: not built yet").into()),
    }
}

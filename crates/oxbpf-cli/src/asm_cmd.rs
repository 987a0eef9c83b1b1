//! `oxbpf disasm` and `oxbpf asm` (being written; see issue 6).

use std::path::PathBuf;

/// Arguments of `oxbpf disasm`.
#[derive(clap::Args, Debug)]
pub struct DisasmArgs {
    /// The BPF ELF object.
    pub object: PathBuf,
}

/// Arguments of `oxbpf asm`.
#[derive(clap::Args, Debug)]
pub struct AsmArgs {
    /// The assembly text.
    pub input: PathBuf,
}

pub fn disasm(args: DisasmArgs) -> Result<(), Box<dyn std::error::Error>> {
    Err(format!("disasm {}: not built yet", args.object.display()).into())
}

pub fn asm(args: AsmArgs) -> Result<(), Box<dyn std::error::Error>> {
    Err(format!("asm {}: not built yet", args.input.display()).into())
}

//! `oxbpf explain <log> [--object OBJ [--program NAME]]`: classify a saved verifier log
//! and map its failing instruction to a source line (the work is in
//! `oxbpf::verifier::explain_log`).

use std::path::PathBuf;

use oxbpf::ObjectSpec;
use oxbpf::verifier::{self, SourceLine};

/// Arguments of `oxbpf explain`.
#[derive(clap::Args, Debug)]
pub struct ExplainArgs {
    /// A verifier log saved to a file (`-` for stdin).
    log: PathBuf,
    /// The object the log is of: its line_info maps instructions to source lines (logs
    /// of kernels before 6.x carry no `@ file:line`).
    #[arg(long, value_name = "OBJ")]
    object: Option<PathBuf>,
    /// The program of --object the log is of (needed when it has several).
    #[arg(long, value_name = "NAME", requires = "object")]
    program: Option<String>,
    /// Print one JSON document instead of text.
    #[arg(long)]
    json: bool,
}

type Res = Result<(), Box<dyn std::error::Error>>;

/// Runs `oxbpf explain`.
pub fn run(args: ExplainArgs) -> Res {
    let log = if args.log.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin())?
    } else {
        let bytes =
            std::fs::read(&args.log).map_err(|e| format!("reading {}: {e}", args.log.display()))?;
        String::from_utf8_lossy(&bytes).into_owned()
    };
    let mapper = match &args.object {
        Some(o) => Some(Mapper::new(o, args.program.as_deref())?),
        None => None,
    };
    let line_of = |i: usize| mapper.as_ref().and_then(|m| m.line(i));
    let e = verifier::explain_log(&log, &line_of);
    if args.json {
        let line = |s: &Option<SourceLine>| {
            s.as_ref().map(|s| {
                serde_json::json!({"file": s.file, "line": s.line, "col": s.col, "text": s.text})
            })
        };
        let doc = serde_json::json!({
            "class": e.class.name(),
            "message": e.message,
            "insn": e.insn,
            "source_line": line(&e.source_line),
            "acquired_at": e.acquired_at,
            "acquired_line": line(&e.acquired_line),
            "hint": e.hint,
            "excerpt": e.excerpt,
        });
        println!("{}", serde_json::to_string_pretty(&doc)?);
    } else {
        print!("{e}");
    }
    Ok(())
}

/// Maps slots of one program of an object to source lines.
struct Mapper {
    spec: ObjectSpec,
    linked: oxbpf::reloc::LinkedProgram,
}

impl Mapper {
    fn new(path: &PathBuf, program: Option<&str>) -> Result<Mapper, Box<dyn std::error::Error>> {
        let spec = ObjectSpec::from_file(path)?;
        let idx = match program {
            Some(name) => spec
                .programs
                .iter()
                .position(|p| p.name == name)
                .ok_or_else(|| format!("{}: no program {name:?}", path.display()))?,
            None if spec.programs.len() == 1 => 0,
            None => {
                let names: Vec<&str> = spec.programs.iter().map(|p| p.name.as_str()).collect();
                return Err(format!(
                    "{} has {} programs ({}): say which with --program",
                    path.display(),
                    names.len(),
                    names.join(", ")
                )
                .into());
            }
        };
        let linked = oxbpf::reloc::link_program(&spec, idx)?;
        Ok(Mapper { spec, linked })
    }

    fn line(&self, insn: usize) -> Option<SourceLine> {
        let btf = oxbpf::btf::Btf::parse(self.spec.btf.as_deref()?).ok()?;
        verifier::line_of(&self.linked, &btf, insn)
    }
}

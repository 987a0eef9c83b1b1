//! `oxbpf probe [--json]`: what the running kernel supports (the probes live in
//! `oxbpf::features`; this file only prints them).

use oxbpf::features::{self, Feature, HelperSupport, Report, Support};
use serde_json::{Value, json};

/// Arguments of `oxbpf probe`.
#[derive(clap::Args, Debug)]
pub struct ProbeArgs {
    /// Print one JSON document instead of text.
    #[arg(long)]
    json: bool,
    /// Threads for the helper matrix (the whole probe takes ~0.1 s on one).
    #[arg(long, default_value_t = 1, value_name = "N")]
    threads: usize,
}

/// `socket_filter` from `BPF_PROG_TYPE_SOCKET_FILTER` (bpftool's spelling).
pub fn short_name(kernel_name: Option<&str>, prefix: &str, raw: u32) -> String {
    match kernel_name.and_then(|n| n.strip_prefix(prefix)) {
        Some(n) => n.to_ascii_lowercase(),
        None => format!("unknown_{raw}"),
    }
}

fn prog_name(p: oxbpf::obj::ProgramType) -> String {
    short_name(p.kernel_name(), "BPF_PROG_TYPE_", p.0)
}

fn map_name(m: oxbpf::obj::MapType) -> String {
    short_name(m.kernel_name(), "BPF_MAP_TYPE_", m.0)
}

fn word(s: &Support) -> String {
    match s {
        Support::Yes => "yes".into(),
        Support::No => "no".into(),
        Support::Unknown(why) => format!("unknown: {why}"),
    }
}

/// `{"supported": bool|null, "since": .., "error": ..}` for one answer.
fn entry(name: String, s: &Support, since: &str) -> Value {
    let (supported, error) = match s {
        Support::Yes => (Value::Bool(true), Value::Null),
        Support::No => (Value::Bool(false), Value::Null),
        Support::Unknown(why) => (Value::Null, Value::String(why.clone())),
    };
    json!({ "name": name, "supported": supported, "since": since, "error": error })
}

/// The report as one JSON document.
pub fn to_json(r: &Report) -> Value {
    let progs: Vec<Value> = r
        .program_types
        .iter()
        .map(|(p, s)| {
            entry(
                prog_name(*p),
                s,
                features::min_kernel(Feature::ProgramType(*p)),
            )
        })
        .collect();
    let maps: Vec<Value> = r
        .map_types
        .iter()
        .map(|(m, s)| entry(map_name(*m), s, features::min_kernel(Feature::MapType(*m))))
        .collect();
    let caps: Vec<Value> = r
        .capabilities
        .iter()
        .map(|(c, s)| {
            let mut v = entry(
                c.name().to_owned(),
                s,
                features::min_kernel(Feature::Capability(c)),
            );
            v["how"] = Value::String(c.how().to_owned());
            v
        })
        .collect();
    let btf: Vec<Value> = r
        .btf
        .iter()
        .map(|b| {
            let mut v = entry(b.feature.to_owned(), &b.support, b.since);
            v["what"] = Value::String(b.what.to_owned());
            v
        })
        .collect();
    let helpers: Vec<Value> = r
        .helpers
        .iter()
        .map(|ph| {
            let names = |pred: fn(HelperSupport) -> bool| -> Vec<&str> {
                ph.helpers
                    .iter()
                    .filter(|(_, s)| pred(*s))
                    .map(|(h, _)| h.name())
                    .collect()
            };
            json!({
                "program_type": prog_name(ph.program_type),
                "helpers": names(HelperSupport::for_gpl),
                "gpl_only": names(|s| s == HelperSupport::GplOnly),
                "error": ph.error,
            })
        })
        .collect();
    json!({
        "kernel": kernel_release(),
        "elapsed_ms": r.elapsed.as_secs_f64() * 1e3,
        "program_types": progs,
        "map_types": maps,
        "capabilities": caps,
        "btf": btf,
        "helpers": helpers,
    })
}

fn kernel_release() -> String {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_owned())
        .unwrap_or_default()
}

/// The report as text: one line per type/capability, helpers compact per program type.
pub fn to_text(r: &Report) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(out, "kernel {}", kernel_release());
    let section = |out: &mut String, title: &str, rows: Vec<(String, String, &str)>| {
        let _ = writeln!(out, "\n{title} (first kernel, answer):");
        let w = rows.iter().map(|r| r.0.len()).max().unwrap_or(0);
        for (name, ans, since) in rows {
            let _ = writeln!(out, "  {name:<w$}  {since:>7}  {ans}");
        }
    };
    section(
        &mut out,
        "program types",
        r.program_types
            .iter()
            .map(|(p, s)| {
                let since = features::min_kernel(Feature::ProgramType(*p));
                (prog_name(*p), word(s), since)
            })
            .collect(),
    );
    section(
        &mut out,
        "map types",
        r.map_types
            .iter()
            .map(|(m, s)| {
                let since = features::min_kernel(Feature::MapType(*m));
                (map_name(*m), word(s), since)
            })
            .collect(),
    );
    section(
        &mut out,
        "capabilities",
        r.capabilities
            .iter()
            .map(|(c, s)| {
                let since = features::min_kernel(Feature::Capability(c));
                (c.name().to_owned(), word(s), since)
            })
            .collect(),
    );
    section(
        &mut out,
        "BTF",
        r.btf
            .iter()
            .map(|b| (b.feature.to_owned(), word(&b.support), b.since))
            .collect(),
    );
    let _ = writeln!(
        out,
        "\nhelpers per program type (* = GPL-compatible license only):"
    );
    for ph in &r.helpers {
        let mut line = format!("  {}:", prog_name(ph.program_type));
        if let Some(e) = &ph.error {
            let _ = write!(line, " ({e})");
        } else if ph.helpers.is_empty() {
            line.push_str(" (none)");
        }
        for (h, s) in &ph.helpers {
            let star = if *s == HelperSupport::GplOnly {
                "*"
            } else {
                ""
            };
            let word = format!(" {}{star}", h.name());
            if line.len() + word.len() > WRAP {
                out.push_str(&line);
                out.push('\n');
                line = "   ".to_owned();
            }
            line.push_str(&word);
        }
        out.push_str(&line);
        out.push('\n');
    }
    let _ = writeln!(
        out,
        "\nprobed in {:.1} ms ({} kernel calls)",
        r.elapsed.as_secs_f64() * 1e3,
        features::probe_calls()
    );
    out
}

/// Width the helper lists wrap at.
const WRAP: usize = 100;

/// Writes `text` to stdout; a closed pipe (`oxbpf probe | head`) is not an error.
pub fn emit(text: &str) -> Result<(), Box<dyn std::error::Error>> {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}

/// `oxbpf probe`.
pub fn run(args: ProbeArgs) -> Result<(), Box<dyn std::error::Error>> {
    let r = features::probe_all(args.threads);
    if args.json {
        let mut text = serde_json::to_string_pretty(&to_json(&r))?;
        text.push('\n');
        emit(&text)
    } else {
        emit(&to_text(&r))
    }
}

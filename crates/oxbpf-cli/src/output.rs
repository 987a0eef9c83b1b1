//! Printing errors, records and maps.

use std::fmt::Write as _;

use oxbpf::btf::Btf;

/// Prints `error: <one line>` then the cause chain and, for verifier rejections, the
/// explanation (class, source line, fix hint, last instructions) and then the whole log.
pub fn print_error(e: &(dyn std::error::Error + 'static)) {
    let text = e.to_string();
    let mut lines = text.lines();
    eprintln!("error: {}", lines.next().unwrap_or(""));
    for l in lines {
        eprintln!("{l}");
    }
    let mut cause = e.source();
    while let Some(c) = cause {
        if !text.contains(&c.to_string()) {
            eprintln!("  caused by: {c}");
        }
        cause = c.source();
    }
    if let Some(v) = find_verifier(e) {
        for l in v.explain().to_string().lines() {
            eprintln!("{l}");
        }
        eprintln!(
            "verifier log ({} bytes{}):",
            v.log.len(),
            if v.truncated { ", truncated" } else { "" }
        );
        for l in v.log.lines() {
            eprintln!("  {l}");
        }
    }
}

fn find_verifier<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a oxbpf::VerifierError> {
    // Of several failing programs, the first one's.
    if let Some(v) = e
        .downcast_ref::<oxbpf::Error>()
        .and_then(oxbpf::Error::verifier)
    {
        return Some(v);
    }
    e.downcast_ref::<oxbpf::VerifierError>()
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// `bytes` as JSON of BTF type `ty` when known and decodable, else a hex JSON string.
pub fn value(btf: Option<&Btf<'_>>, ty: Option<u32>, bytes: &[u8]) -> String {
    if let (Some(b), Some(t)) = (btf, ty) {
        if let Ok(s) = oxbpf::btf::format::to_json(b, t, bytes) {
            return s;
        }
    }
    format!("\"{}\"", hex(bytes))
}

//! Links the object files given on the command line into the last one:
//! `cargo run --release -p oxbpf-linker --example link_files -- a.o b.o out.o`.
//! With `OXBPF_LINK_REPEAT=N` it links N times and prints the time per link.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let Some(out) = args.pop().filter(|_| !args.is_empty()) else {
        return Err("usage: link_files IN.o... OUT.o".into());
    };
    let inputs: Vec<(String, Vec<u8>)> = args
        .iter()
        .map(|p| std::fs::read(p).map(|b| (p.clone(), b)))
        .collect::<Result<_, _>>()?;
    let refs: Vec<(&str, &[u8])> = inputs
        .iter()
        .map(|(n, b)| (n.as_str(), b.as_slice()))
        .collect();
    let repeat: u32 = std::env::var("OXBPF_LINK_REPEAT")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    let start = std::time::Instant::now();
    let mut linked = Vec::new();
    for _ in 0..repeat.max(1) {
        linked = oxbpf_linker::link(&refs)?;
    }
    if repeat > 1 {
        eprintln!("{:?} per link ({repeat} links)", start.elapsed() / repeat);
    }
    std::fs::write(out, linked)?;
    Ok(())
}

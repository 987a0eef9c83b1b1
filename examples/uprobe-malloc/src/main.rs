//! `uprobe-malloc [--pid PID] [--duration SECS]`: malloc latency histogram (as root).

use std::time::Duration;

fn main() {
    let mut pid = None;
    let mut duration = Duration::from_secs(5);
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let num = args.next().and_then(|v| v.parse::<u64>().ok());
        match (a.as_str(), num) {
            ("--pid", Some(n)) => pid = u32::try_from(n).ok(),
            ("--duration", Some(n)) => duration = Duration::from_secs(n),
            _ => {
                eprintln!("usage: uprobe-malloc [--pid PID] [--duration SECS]");
                std::process::exit(2);
            }
        }
    }
    match uprobe_malloc::run(pid, duration) {
        Ok(h) => print!("{}", uprobe_malloc::render(&h)),
        Err(e) => {
            eprintln!("uprobe-malloc: {e}");
            std::process::exit(1);
        }
    }
}

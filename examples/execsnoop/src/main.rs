//! `execsnoop [--duration SECS] [--limit N]`: prints every exec on the machine (as root).

use std::time::Duration;

fn main() {
    let mut opts = execsnoop::Options::default();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut num = || args.next().and_then(|v| v.parse::<u64>().ok());
        match a.as_str() {
            "--duration" => opts.duration = num().map(Duration::from_secs),
            "--limit" => opts.limit = num().and_then(|n| usize::try_from(n).ok()),
            _ => {
                eprintln!("usage: execsnoop [--duration SECS] [--limit N]");
                std::process::exit(2);
            }
        }
    }
    println!("{:>7} {:>5} {:<16} FILENAME", "PID", "UID", "COMM");
    let res = execsnoop::run(&opts, |ev| {
        println!(
            "{:>7} {:>5} {:<16} {}",
            ev.pid, ev.uid, ev.comm, ev.filename
        );
    });
    match res {
        Ok(s) => eprintln!("{} events ({} malformed records)", s.events, s.malformed),
        Err(e) => {
            eprintln!("execsnoop: {e}");
            std::process::exit(1);
        }
    }
}

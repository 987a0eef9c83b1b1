//! `opensnoop [--pid PID] [--duration SECS] [--limit N]`: prints every open (as root).

use std::time::Duration;

fn main() {
    let mut opts = opensnoop::Options::default();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut num = || args.next().and_then(|v| v.parse::<u64>().ok());
        match a.as_str() {
            "--pid" => opts.pid = num().and_then(|n| u32::try_from(n).ok()),
            "--duration" => opts.duration = num().map(Duration::from_secs),
            "--limit" => opts.limit = num().and_then(|n| usize::try_from(n).ok()),
            _ => {
                eprintln!("usage: opensnoop [--pid PID] [--duration SECS] [--limit N]");
                std::process::exit(2);
            }
        }
    }
    let res = opensnoop::run(&opts, |ev| {
        println!("{:>7} {:<16} {}", ev.tgid, ev.comm, ev.filename);
    });
    match res {
        Ok(s) => {
            for (hook, why) in &s.fallbacks {
                eprintln!("not {hook:?}: {why}");
            }
            eprintln!("{} events via {:?}", s.events, s.hook);
        }
        Err(e) => {
            eprintln!("opensnoop: {e}");
            std::process::exit(1);
        }
    }
}

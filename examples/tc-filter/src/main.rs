//! `tc-filter IFACE [--egress] [--clsact] [--duration SECS]`: packets by IP protocol.

use std::time::Duration;

use oxbpf::attach::tc::{TcAttach, TcDirection};

fn main() {
    let mut iface = None;
    let mut duration = Duration::from_secs(5);
    let mut direction = TcDirection::Ingress;
    let mut mechanism = TcAttach::Auto;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--duration" => match args.next().and_then(|v| v.parse().ok()) {
                Some(s) => duration = Duration::from_secs(s),
                None => usage(),
            },
            "--egress" => direction = TcDirection::Egress,
            "--clsact" => mechanism = TcAttach::Netlink,
            s if !s.starts_with('-') && iface.is_none() => iface = Some(a.clone()),
            _ => usage(),
        }
    }
    let Some(iface) = iface else { usage() };
    if let Err(e) = run(&iface, direction, mechanism, duration) {
        eprintln!("tc-filter: {e}");
        std::process::exit(1);
    }
}

fn run(
    iface: &str,
    direction: TcDirection,
    mechanism: TcAttach,
    duration: Duration,
) -> Result<(), Box<dyn std::error::Error>> {
    let ifindex = oxbpf::sys::netlink::ifindex(iface)?;
    let filter = tc_filter::Filter::attach(ifindex, direction, mechanism)?;
    eprintln!(
        "attached ({:?}): {}",
        filter.mechanism(),
        filter.link().description()
    );
    std::thread::sleep(duration);
    for (proto, packets) in filter.counts()? {
        println!("{proto:<4} {packets}");
    }
    Ok(())
}

fn usage() -> ! {
    eprintln!("usage: tc-filter IFACE [--egress] [--clsact] [--duration SECS]");
    std::process::exit(2)
}

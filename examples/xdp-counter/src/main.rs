//! `xdp-counter IFACE [--duration SECS] [--generic]`: packets by IP protocol (as root).

use std::time::Duration;

use oxbpf::attach::xdp::XdpMode;

fn main() {
    let mut iface = None;
    let mut duration = Duration::from_secs(5);
    let mut mode = XdpMode::Auto;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--duration" => match args.next().and_then(|v| v.parse().ok()) {
                Some(s) => duration = Duration::from_secs(s),
                None => usage(),
            },
            "--generic" => mode = XdpMode::Generic,
            s if !s.starts_with('-') && iface.is_none() => iface = Some(a.clone()),
            _ => usage(),
        }
    }
    let Some(iface) = iface else { usage() };
    if let Err(e) = run(&iface, mode, duration) {
        eprintln!("xdp-counter: {e}");
        std::process::exit(1);
    }
}

fn run(iface: &str, mode: XdpMode, duration: Duration) -> Result<(), Box<dyn std::error::Error>> {
    let ifindex = oxbpf::sys::netlink::ifindex(iface)?;
    let counter = xdp_counter::Counter::attach(ifindex, mode)?;
    eprintln!("attached: {}", counter.link().description());
    std::thread::sleep(duration);
    for (proto, packets) in counter.counts()? {
        println!("{:<8} {packets}", xdp_counter::protocol_name(proto));
    }
    Ok(())
}

fn usage() -> ! {
    eprintln!("usage: xdp-counter IFACE [--duration SECS] [--generic]");
    std::process::exit(2)
}

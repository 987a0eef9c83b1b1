//! `oxbpf run` and `oxbpf load`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use oxbpf::maps::{RingBuf, RingBufPoller};
use oxbpf::obj::MapType;
use oxbpf::{Collection, LoadOptions, ObjectSpec};

use crate::ObjectArgs;
use crate::output;

type Res = Result<(), Box<dyn std::error::Error>>;

fn parse_int(s: &str) -> Option<u64> {
    let s = s.trim();
    if let Some(h) = s.strip_prefix("0x") {
        u64::from_str_radix(h, 16).ok()
    } else if let Some(n) = s.strip_prefix('-') {
        n.parse::<u64>().ok().map(|v| v.wrapping_neg())
    } else {
        s.parse().ok()
    }
}

fn open(args: &ObjectArgs) -> Result<(ObjectSpec, Collection), Box<dyn std::error::Error>> {
    let mut spec = ObjectSpec::from_file(&args.object)?;
    for set in &args.set {
        let (name, value) = set
            .split_once('=')
            .ok_or_else(|| format!("--set {set:?}: expected NAME=VALUE"))?;
        let var = spec
            .global(name)
            .ok_or_else(|| format!("--set: the object has no global variable {name:?}"))?;
        let size = var.size as usize;
        let v =
            parse_int(value).ok_or_else(|| format!("--set {name}: {value:?} is not an integer"))?;
        if size > 8 || (size < 8 && v >> (size * 8) != 0 && v.wrapping_neg() >> (size * 8 - 1) != 0)
        {
            return Err(
                format!("--set {name}: {value} does not fit the variable's {size} bytes").into(),
            );
        }
        spec.set_global(name, &v.to_ne_bytes()[..size])?;
    }
    let opts = LoadOptions {
        log_level: args.log_level,
        ..Default::default()
    };
    let coll = Collection::load(&spec, &opts)?;
    for w in coll.warnings() {
        eprintln!("warning: {w}");
    }
    Ok((spec, coll))
}

pub fn load_only(args: &ObjectArgs) -> Res {
    let (_, coll) = open(args)?;
    for p in coll.programs() {
        println!(
            "program {} ({}): loaded, {}",
            p.name(),
            p.section(),
            p.def().prog_type
        );
        if let Some(log) = p.verifier_log() {
            for l in log.lines() {
                println!("  {l}");
            }
        }
    }
    for m in coll.maps() {
        let d = m.def();
        println!(
            "map {}: {} key {} value {} max_entries {}",
            m.name(),
            MapType(d.map_type),
            d.key_size,
            d.value_size,
            d.max_entries
        );
    }
    Ok(())
}

pub fn run(args: &ObjectArgs, duration: Option<f64>, hex: bool, count: Option<u64>) -> Res {
    let stop = Arc::new(AtomicBool::new(false));
    signal_hook::flag::register(signal_hook::consts::SIGINT, Arc::clone(&stop))?;
    signal_hook::flag::register(signal_hook::consts::SIGTERM, Arc::clone(&stop))?;

    let (_spec, coll) = open(args)?;
    let links = coll.attach_all()?;
    for l in &links {
        eprintln!("attached: {}", l.description());
    }
    for p in coll.programs().filter(|p| !p.can_attach()) {
        eprintln!(
            "not attached: {} (section {:?} names no supported hook)",
            p.name(),
            p.section()
        );
    }

    let btf = coll.btf();
    let mut poller = RingBufPoller::new()?;
    let mut rings = Vec::new();
    for m in coll
        .maps()
        .filter(|m| m.def().map_type == MapType::RINGBUF.0)
    {
        let token = poller.add(m.name(), RingBuf::new(m)?)?;
        rings.push((
            token,
            m.name().to_owned(),
            if hex {
                None
            } else {
                coll.map_value_type(m.name())
            },
        ));
    }
    if rings.is_empty() {
        eprintln!("no ring buffers: waiting; maps are printed at exit");
    }
    eprintln!("streaming; Ctrl-C to stop");

    let deadline = duration.map(|d| Instant::now() + Duration::from_secs_f64(d.max(0.0)));
    let mut seen = 0u64;
    while !stop.load(Ordering::Relaxed) {
        if deadline.is_some_and(|d| Instant::now() >= d) || count.is_some_and(|c| seen >= c) {
            break;
        }
        poller.poll(Some(Duration::from_millis(100)), |name, rec| {
            if count.is_some_and(|c| seen >= c) {
                return;
            }
            seen += 1;
            let ty = rings.iter().find(|r| r.1 == name).and_then(|r| r.2);
            println!(
                "{{\"map\":\"{name}\",\"record\":{}}}",
                output::value(btf.as_ref(), ty, rec)
            );
        })?;
    }
    for (token, name, _) in &rings {
        if let Some(s) = poller.ring(*token).map(|r| r.stats()) {
            eprintln!(
                "{name}: {} records ({} bytes, {} discarded)",
                s.records, s.bytes, s.discarded
            );
        }
    }

    print_maps(&coll, btf.as_ref())?;
    drop(links);
    eprintln!("detached");
    Ok(())
}

fn print_maps(coll: &Collection, btf: Option<&oxbpf::btf::Btf<'_>>) -> Res {
    for m in coll.maps() {
        let t = m.def().map_type;
        if t == MapType::RINGBUF.0 || t == MapType::PERF_EVENT_ARRAY.0 {
            continue;
        }
        let (kt, vt) = coll.map_types(m.name());
        println!("{{\"map\":\"{}\",\"entries\":[", m.name());
        let mut first = true;
        for e in m.entries() {
            let (k, v) = e?;
            let sep = if first { "" } else { "," };
            first = false;
            println!(
                "{sep}{{\"key\":{},\"value\":{}}}",
                output::value(btf, kt, &k),
                output::value(btf, vt, &v)
            );
        }
        println!("]}}");
    }
    Ok(())
}

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

/// Parses a decimal, `-`decimal or `0x` hex integer and encodes it in `size` bytes
/// (native endian), refusing values that do not fit as unsigned or as signed.
fn encode_int(s: &str, size: usize) -> Option<Vec<u8>> {
    let s = s.trim();
    let v: i128 = match s.strip_prefix("0x") {
        Some(h) => i128::from_str_radix(h, 16).ok()?,
        None => s.parse().ok()?,
    };
    if size == 0 || size > 8 {
        return None;
    }
    let bits = 8 * size as u32;
    let (min, max) = (-(1i128 << (bits - 1)), (1i128 << bits) - 1);
    if v < min || v > max {
        return None;
    }
    Some((v as u64).to_ne_bytes()[..size].to_vec())
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
        let bytes = encode_int(value, size).ok_or_else(|| {
            format!(
                "--set {name}: {value:?} is not an integer that fits the variable's {size} bytes"
            )
        })?;
        spec.set_global(name, &bytes)?;
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

#[cfg(test)]
mod tests {
    use super::encode_int;

    #[test]
    fn integers_are_range_checked_for_the_variable_size() {
        assert_eq!(encode_int("0x10", 4), Some(16u32.to_ne_bytes().to_vec()));
        assert_eq!(encode_int("-1", 2), Some(vec![0xff, 0xff]));
        assert_eq!(encode_int("255", 1), Some(vec![255]));
        assert_eq!(encode_int("256", 1), None);
        assert_eq!(encode_int("-129", 1), None);
        assert_eq!(encode_int("0x1ffffffff", 4), None);
        assert_eq!(encode_int("x", 4), None);
        assert_eq!(encode_int("1", 16), None);
    }
}

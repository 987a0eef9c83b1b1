//! `oxbpf run` and `oxbpf load`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use std::io::Write as _;

use oxbpf::maps::{EventPoller, PerfBuffer, PerfBufferOptions, RingBuf, SourceKind};
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

/// The `--prog-flags` value (`BPF_F_*` names or numbers, comma-separated) as load flags; 0
/// when not given.
pub(crate) fn prog_flags(arg: Option<&str>) -> Result<u32, String> {
    arg.map(oxbpf::obj::section::load_flags::parse)
        .transpose()
        .map(Option::unwrap_or_default)
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
        prog_flags: prog_flags(args.prog_flags.as_deref())?,
        kconfig: args.kconfig.clone(),
        ..Default::default()
    };
    let coll = Collection::load(&spec, &opts)?;
    for w in coll.warnings() {
        eprintln!("warning: {w}");
    }
    if args.explain_core {
        let core = coll.core_relocations();
        println!("CO-RE: {} relocations", core.len());
        for e in core {
            println!("  {}", e.to_string().replace('\n', "\n  "));
        }
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

/// What `oxbpf run` was asked to do besides loading.
#[derive(Debug, Default)]
pub struct RunOpts {
    /// Stop after this many seconds.
    pub duration: Option<f64>,
    /// Print records as hex even when their type is known.
    pub hex: bool,
    /// Stop after this many records.
    pub count: Option<u64>,
    /// `--type NAME` (every source) or `--type MAP=NAME` (one source).
    pub types: Vec<String>,
    /// `-v`: print the attach decisions (oxbpf-attach's `tracing` debug events).
    pub verbose: bool,
}

/// The BTF type named `name` (`struct X`, `union X`, `enum X` or a bare name; the first
/// type of that name that describes data, not a function or variable).
fn find_type(btf: &oxbpf::btf::Btf<'_>, name: &str) -> Result<u32, String> {
    use oxbpf::btf::Kind;
    let (want, bare): (&[Kind], &str) = if let Some(n) = name.strip_prefix("struct ") {
        (&[Kind::Struct], n)
    } else if let Some(n) = name.strip_prefix("union ") {
        (&[Kind::Union], n)
    } else if let Some(n) = name.strip_prefix("enum ") {
        (&[Kind::Enum, Kind::Enum64], n)
    } else {
        (
            &[
                Kind::Struct,
                Kind::Union,
                Kind::Typedef,
                Kind::Int,
                Kind::Enum,
                Kind::Enum64,
                Kind::Float,
            ],
            name,
        )
    };
    btf.find_all_by_name(bare.trim())
        .find(|&id| btf.kind(id).is_ok_and(|k| want.contains(&k)))
        .ok_or_else(|| format!("--type {name:?}: the object's BTF has no such type"))
}

/// The record type of each source: `--type MAP=NAME`, else `--type NAME`, else (ring
/// buffers only) the map's declared value type; `None` prints hex.
fn record_types(
    coll: &Collection,
    opts: &RunOpts,
    sources: &[String],
) -> Result<Vec<Option<u32>>, Box<dyn std::error::Error>> {
    let btf = coll.btf();
    let mut global = None;
    let mut per_map: Vec<(String, u32)> = Vec::new();
    for t in &opts.types {
        let b = btf
            .as_ref()
            .ok_or_else(|| format!("--type {t:?}: the object has no BTF"))?;
        match t.split_once('=') {
            Some((map, name)) => {
                if !sources.iter().any(|s| s == map) {
                    return Err(format!(
                        "--type {t:?}: the object has no ring buffer or perf event array {map:?}"
                    )
                    .into());
                }
                per_map.push((map.to_owned(), find_type(b, name)?));
            }
            None => global = Some(find_type(b, t)?),
        }
    }
    Ok(sources
        .iter()
        .map(|name| {
            if opts.hex {
                return None;
            }
            per_map
                .iter()
                .find(|(m, _)| m == name)
                .map(|(_, t)| *t)
                .or(global)
                .or_else(|| {
                    coll.map(name)
                        .filter(|m| m.def().map_type == MapType::RINGBUF.0)
                        .and_then(|_| coll.map_value_type(name))
                })
        })
        .collect())
}

pub fn run(args: &ObjectArgs, opts: &RunOpts) -> Res {
    if opts.verbose {
        crate::debug_log::install();
    }
    let stop = Arc::new(AtomicBool::new(false));
    signal_hook::flag::register(signal_hook::consts::SIGINT, Arc::clone(&stop))?;
    signal_hook::flag::register(signal_hook::consts::SIGTERM, Arc::clone(&stop))?;

    let (_spec, coll) = open(args)?;

    // Readers first, so records of the first events after attaching are not missed.
    let mut poller = EventPoller::new()?;
    let mut sources = Vec::new();
    for m in coll.maps() {
        let t = m.def().map_type;
        if t == MapType::RINGBUF.0 {
            poller.add_ringbuf(RingBuf::new(m)?)?;
        } else if t == MapType::PERF_EVENT_ARRAY.0 {
            poller.add_perf(PerfBuffer::new(m, PerfBufferOptions::default())?)?;
        } else {
            continue;
        }
        sources.push(m.name().to_owned());
    }
    let types = record_types(&coll, opts, &sources)?;

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
    if sources.is_empty() {
        eprintln!("no ring buffers or perf event arrays: waiting; maps are printed at exit");
    }
    eprintln!("streaming; Ctrl-C to stop");

    let btf = coll.btf();
    let deadline = opts
        .duration
        .map(|d| Instant::now() + Duration::from_secs_f64(d.max(0.0)));
    let count = opts.count;
    let mut seen = 0u64;
    let mut out = std::io::stdout().lock();
    while !stop.load(Ordering::Relaxed) {
        if deadline.is_some_and(|d| Instant::now() >= d) || count.is_some_and(|c| seen >= c) {
            break;
        }
        let mut werr = None;
        poller.poll(Some(Duration::from_millis(100)), |name, cpu, rec| {
            if count.is_some_and(|c| seen >= c) || werr.is_some() {
                return;
            }
            seen += 1;
            let ty = sources
                .iter()
                .position(|s| s == name)
                .and_then(|i| types.get(i).copied().flatten());
            let cpu = cpu.map_or(String::new(), |c| format!(",\"cpu\":{c}"));
            if let Err(e) = writeln!(
                out,
                "{{\"map\":\"{name}\"{cpu},\"record\":{}}}",
                output::value(btf.as_ref(), ty, rec)
            ) {
                werr = Some(e);
            }
        })?;
        if let Some(e) = werr {
            return Err(format!("writing records: {e}").into());
        }
    }
    let _ = out.flush();
    drop(out);
    for s in poller.stats() {
        match s.kind {
            SourceKind::RingBuf => eprintln!(
                "{}: ring buffer: {} records, {} bytes, {} discarded",
                s.name, s.records, s.bytes, s.discarded
            ),
            SourceKind::PerfBuffer => eprintln!(
                "{}: perf buffer: {} records, {} bytes, {} lost",
                s.name, s.records, s.bytes, s.lost
            ),
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

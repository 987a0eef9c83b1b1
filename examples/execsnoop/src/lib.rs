//! execsnoop: every `exec` on the machine as a typed event — the tracing guide's first
//! example (docs/tracing.md).
//!
//! `fixtures/execsnoop.bpf.o` (source `bpf-src/execsnoop.bpf.c`) runs on the
//! `sched/sched_process_exec` tracepoint and writes one `struct exec_event` per exec into
//! the ring buffer `events`. This crate loads it, attaches it, checks the record layout
//! against the object's BTF and decodes each record into an [`ExecEvent`].
//!
//! ```no_run
//! let opts = execsnoop::Options { duration: Some(std::time::Duration::from_secs(5)), limit: None };
//! let summary = execsnoop::run(&opts, |ev| println!("{} {} {}", ev.pid, ev.comm, ev.filename))?;
//! println!("{} events", summary.events);
//! # Ok::<(), oxbpf::Error>(())
//! ```
#![forbid(unsafe_code)]

use std::time::{Duration, Instant};

use oxbpf::maps::RingBuf;
use oxbpf::{Collection, Error, LoadOptions, ObjectSpec};

/// The bytes of an embedded object, 8-byte aligned as the ELF parser requires.
#[repr(C, align(8))]
struct Aligned<B: ?Sized>(B);

static ALIGNED: &Aligned<[u8]> = &Aligned(*include_bytes!("../../../fixtures/execsnoop.bpf.o"));

/// The compiled BPF object, embedded in the binary (8-byte aligned).
pub static OBJECT: &[u8] = &ALIGNED.0;

/// Size of `struct exec_event` in bytes (checked against the object's BTF at load).
pub const EVENT_SIZE: usize = 156;

/// One exec, decoded from a `struct exec_event` record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecEvent {
    /// Thread-group id of the exec'ing process.
    pub pid: u32,
    /// The tracepoint's own `pid` field (equals `pid` after exec).
    pub tgid: u32,
    /// Real uid.
    pub uid: u32,
    /// The new command name.
    pub comm: String,
    /// The path given to exec (truncated to 127 bytes).
    pub filename: String,
}

fn cstr(b: &[u8]) -> String {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    String::from_utf8_lossy(&b[..end]).into_owned()
}

impl ExecEvent {
    /// Decodes one ring buffer record; `None` if it is not [`EVENT_SIZE`] bytes.
    pub fn parse(rec: &[u8]) -> Option<ExecEvent> {
        if rec.len() != EVENT_SIZE {
            return None;
        }
        let u = |o: usize| {
            rec.get(o..o + 4)
                .and_then(|b| b.try_into().ok())
                .map(u32::from_ne_bytes)
        };
        Some(ExecEvent {
            pid: u(0)?,
            tgid: u(4)?,
            uid: u(8)?,
            comm: cstr(&rec[12..28]),
            filename: cstr(&rec[28..EVENT_SIZE]),
        })
    }
}

/// When [`run`] stops.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Stop after this long (`None`: no time limit).
    pub duration: Option<Duration>,
    /// Stop after this many events (`None`: no count limit).
    pub limit: Option<usize>,
}

/// What [`run`] saw.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Events decoded and handed to the callback.
    pub events: usize,
    /// Records of the wrong size (skipped).
    pub malformed: usize,
}

/// Loads the embedded object and checks that the ring buffer's record type in BTF is
/// `exec_event` of [`EVENT_SIZE`] bytes.
pub fn load() -> oxbpf::Result<Collection> {
    let spec = ObjectSpec::from_bytes(OBJECT)?;
    let coll = Collection::load(&spec, &LoadOptions::default())?;
    if let (Some(btf), Some(ty)) = (coll.btf(), coll.map_value_type("events")) {
        let size = btf.resolve_size(ty)? as usize;
        if size != EVENT_SIZE {
            return Err(invalid(
                "events",
                format!("record type is {size} bytes in BTF, this decoder expects {EVENT_SIZE}"),
            ));
        }
    }
    Ok(coll)
}

/// Traces execs until `opts` says stop, calling `on_event` for each one.
pub fn run(opts: &Options, mut on_event: impl FnMut(&ExecEvent)) -> oxbpf::Result<Summary> {
    let coll = load()?;
    let _links = coll.attach_all()?; // detached when dropped
    let events = coll
        .map("events")
        .ok_or_else(|| invalid("events", "the object has no such map".into()))?;
    let mut ring = RingBuf::new(events)?;
    let deadline = opts.duration.map(|d| Instant::now() + d);
    let mut summary = Summary::default();
    loop {
        let done = opts.limit.is_some_and(|l| summary.events >= l);
        let now = Instant::now();
        if done || deadline.is_some_and(|d| now >= d) {
            return Ok(summary);
        }
        let wait = deadline.map_or(Duration::from_millis(200), |d| {
            (d - now).min(Duration::from_millis(200))
        });
        ring.poll(Some(wait), |rec| {
            if opts.limit.is_some_and(|l| summary.events >= l) {
                return;
            }
            match ExecEvent::parse(rec) {
                Some(ev) => {
                    summary.events += 1;
                    on_event(&ev);
                }
                None => summary.malformed += 1,
            }
        })?;
    }
}

/// An error about map `map` of the object.
fn invalid(map: &str, reason: String) -> Error {
    Error::Maps(Box::new(oxbpf::maps::Error::Invalid {
        map: map.to_owned(),
        reason,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_object_parses_and_has_the_ring_buffer() {
        let spec = ObjectSpec::from_bytes(OBJECT).unwrap();
        assert!(spec.maps.iter().any(|m| m.name == "events"));
        assert!(spec.programs.iter().any(|p| p.name == "handle_exec"));
    }

    #[test]
    fn parse_rejects_a_record_of_the_wrong_size() {
        assert_eq!(ExecEvent::parse(&[0u8; EVENT_SIZE - 1]), None);
    }

    #[test]
    fn parse_reads_fields_at_their_offsets() {
        let mut rec = [0u8; EVENT_SIZE];
        rec[0..4].copy_from_slice(&7u32.to_ne_bytes());
        rec[4..8].copy_from_slice(&8u32.to_ne_bytes());
        rec[8..12].copy_from_slice(&9u32.to_ne_bytes());
        rec[12..16].copy_from_slice(b"true");
        rec[28..37].copy_from_slice(b"/bin/true");
        let ev = ExecEvent::parse(&rec).unwrap();
        assert_eq!((ev.pid, ev.tgid, ev.uid), (7, 8, 9));
        assert_eq!(ev.comm, "true");
        assert_eq!(ev.filename, "/bin/true");
    }
}

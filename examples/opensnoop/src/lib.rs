//! opensnoop: every file open as a typed event, from the best hook the kernel offers —
//! the tracing guide's fallback example (docs/tracing.md).
//!
//! `fixtures/ex_opensnoop.bpf.o` (source `bpf-src/ex_opensnoop.bpf.c`) holds three
//! programs that emit the same `struct open_event` into the ring buffer `events`, all
//! autoload-off (`SEC("?...")`). [`run`] tries them in [`Hook::ALL`] order — fentry on
//! `do_sys_openat2`, a kprobe on it, the `syscalls:sys_enter_openat` tracepoint — and
//! keeps the first that both loads and attaches, remembering why the others did not.
//!
//! ```no_run
//! let opts = opensnoop::Options { duration: Some(std::time::Duration::from_secs(5)), ..Default::default() };
//! let s = opensnoop::run(&opts, |ev| println!("{} {} {}", ev.tgid, ev.comm, ev.filename))?;
//! println!("via {:?}; skipped {:?}", s.hook, s.fallbacks);
//! # Ok::<(), oxbpf::Error>(())
//! ```
#![forbid(unsafe_code)]

use std::time::{Duration, Instant};

use oxbpf::attach::Link;
use oxbpf::maps::RingBuf;
use oxbpf::{Collection, LoadOptions, ObjectSpec};

/// The bytes of an embedded object, 8-byte aligned as the ELF parser requires.
#[repr(C, align(8))]
struct Aligned<B: ?Sized>(B);

static ALIGNED: &Aligned<[u8]> = &Aligned(*include_bytes!("../../../fixtures/ex_opensnoop.bpf.o"));

/// The compiled BPF object, embedded in the binary (8-byte aligned).
pub static OBJECT: &[u8] = &ALIGNED.0;

/// Size of `struct open_event` in bytes.
pub const EVENT_SIZE: usize = 152;

/// The hooks the object can use, best first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hook {
    /// `fentry/do_sys_openat2` (BPF trampoline, 5.5+).
    Fentry,
    /// `kprobe/do_sys_openat2` (CONFIG_KPROBES).
    Kprobe,
    /// `tracepoint/syscalls/sys_enter_openat` (CONFIG_FTRACE_SYSCALLS).
    Tracepoint,
}

impl Hook {
    /// Every hook, in the order [`run`] tries them.
    pub const ALL: [Hook; 3] = [Hook::Fentry, Hook::Kprobe, Hook::Tracepoint];

    /// The program in the object for this hook.
    pub fn program(self) -> &'static str {
        match self {
            Hook::Fentry => "open_fentry",
            Hook::Kprobe => "open_kprobe",
            Hook::Tracepoint => "open_tp",
        }
    }

    /// The `source` value the program writes into each event.
    pub fn source(self) -> u32 {
        match self {
            Hook::Fentry => 1,
            Hook::Kprobe => 2,
            Hook::Tracepoint => 3,
        }
    }
}

/// One open, decoded from a `struct open_event` record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenEvent {
    /// Thread-group id of the caller.
    pub tgid: u32,
    /// The hook that produced the event ([`Hook::source`]).
    pub source: u32,
    /// The caller's command name.
    pub comm: String,
    /// The path passed to open (truncated to 127 bytes).
    pub filename: String,
}

fn cstr(b: &[u8]) -> String {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    String::from_utf8_lossy(&b[..end]).into_owned()
}

impl OpenEvent {
    /// Decodes one ring buffer record; `None` if it is not [`EVENT_SIZE`] bytes.
    pub fn parse(rec: &[u8]) -> Option<OpenEvent> {
        if rec.len() != EVENT_SIZE {
            return None;
        }
        let u = |o: usize| {
            rec.get(o..o + 4)
                .and_then(|b| b.try_into().ok())
                .map(u32::from_ne_bytes)
        };
        Some(OpenEvent {
            tgid: u(0)?,
            source: u(4)?,
            comm: cstr(&rec[8..24]),
            filename: cstr(&rec[24..EVENT_SIZE]),
        })
    }
}

/// What [`run`] traces and when it stops.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Only this process (`None`: every process).
    pub pid: Option<u32>,
    /// Stop after this long (`None`: no time limit).
    pub duration: Option<Duration>,
    /// Stop after this many events (`None`: no count limit).
    pub limit: Option<usize>,
}

/// What [`run`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// The hook that was used.
    pub hook: Hook,
    /// The hooks tried before it, each with why it was not used.
    pub fallbacks: Vec<(Hook, String)>,
    /// Events handed to the callback.
    pub events: usize,
}

/// The loaded object with one program attached.
#[derive(Debug)]
pub struct Attached {
    /// The collection (maps and the one loaded program).
    pub collection: Collection,
    /// The link; dropping it detaches.
    pub link: Link,
    /// The hook used.
    pub hook: Hook,
    /// The hooks tried before, with the reason each failed.
    pub fallbacks: Vec<(Hook, String)>,
}

/// Loads the object with only `hook`'s program enabled and attaches it.
pub fn attach_hook(hook: Hook, pid: Option<u32>) -> oxbpf::Result<(Collection, Link)> {
    let mut spec = ObjectSpec::from_bytes(OBJECT)?;
    spec.set_global("target_tgid", &pid.unwrap_or(0).to_ne_bytes())?;
    for p in &mut spec.programs {
        p.def.autoload = p.name == hook.program();
    }
    let coll = Collection::load(&spec, &LoadOptions::default())?;
    let prog = coll
        .program(hook.program())
        .ok_or_else(|| oxbpf::Error::CannotAttach {
            program: hook.program().to_owned(),
            section: String::new(),
            reason: "not loaded".into(),
        })?;
    let link = prog.attach()?;
    Ok((coll, link))
}

/// Tries each hook of [`Hook::ALL`] in turn; the first that loads and attaches wins. If
/// none does, the last hook's error is returned.
pub fn attach_best(pid: Option<u32>) -> oxbpf::Result<Attached> {
    let mut fallbacks = Vec::new();
    let mut last = None;
    for hook in Hook::ALL {
        match attach_hook(hook, pid) {
            Ok((collection, link)) => {
                return Ok(Attached {
                    collection,
                    link,
                    hook,
                    fallbacks,
                });
            }
            Err(e) => {
                fallbacks.push((hook, e.to_string()));
                last = Some(e);
            }
        }
    }
    Err(last.unwrap_or_else(|| oxbpf::Error::CannotAttach {
        program: String::new(),
        section: String::new(),
        reason: "no hooks to try".into(),
    }))
}

/// Traces opens until `opts` says stop, calling `on_event` for each one.
pub fn run(opts: &Options, mut on_event: impl FnMut(&OpenEvent)) -> oxbpf::Result<Summary> {
    let a = attach_best(opts.pid)?;
    let events = a
        .collection
        .map("events")
        .ok_or_else(|| oxbpf::Error::CannotAttach {
            program: a.hook.program().to_owned(),
            section: String::new(),
            reason: "the object has no map \"events\"".into(),
        })?;
    let mut ring = RingBuf::new(events)?;
    let deadline = opts.duration.map(|d| Instant::now() + d);
    let mut n = 0;
    loop {
        let now = Instant::now();
        if opts.limit.is_some_and(|l| n >= l) || deadline.is_some_and(|d| now >= d) {
            return Ok(Summary {
                hook: a.hook,
                fallbacks: a.fallbacks,
                events: n,
            });
        }
        let wait = deadline.map_or(Duration::from_millis(200), |d| {
            (d - now).min(Duration::from_millis(200))
        });
        ring.poll(Some(wait), |rec| {
            if opts.limit.is_some_and(|l| n >= l) {
                return;
            }
            if let Some(ev) = OpenEvent::parse(rec) {
                n += 1;
                on_event(&ev);
            }
        })?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_reads_fields_at_their_offsets() {
        let mut rec = [0u8; EVENT_SIZE];
        rec[0..4].copy_from_slice(&42u32.to_ne_bytes());
        rec[4..8].copy_from_slice(&3u32.to_ne_bytes());
        rec[8..12].copy_from_slice(b"cat\0");
        rec[24..34].copy_from_slice(b"/etc/hosts");
        let ev = OpenEvent::parse(&rec).unwrap();
        assert_eq!((ev.tgid, ev.source), (42, 3));
        assert_eq!(
            (ev.comm.as_str(), ev.filename.as_str()),
            ("cat", "/etc/hosts")
        );
        assert_eq!(OpenEvent::parse(&rec[1..]), None);
    }

    #[test]
    fn each_hook_names_a_program_of_the_object() {
        let spec = ObjectSpec::from_bytes(OBJECT).unwrap();
        for h in Hook::ALL {
            let p = spec.programs.iter().find(|p| p.name == h.program());
            assert!(p.is_some_and(|p| !p.def.autoload), "{h:?}");
        }
    }
}

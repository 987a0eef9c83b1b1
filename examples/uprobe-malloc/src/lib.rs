//! uprobe-malloc: a latency histogram of libc's `malloc`, kept in a BPF array — the
//! tracing guide's uprobe example (docs/tracing.md).
//!
//! `fixtures/ex_malloc.bpf.o` (source `bpf-src/ex_malloc.bpf.c`): `malloc_enter`
//! (`uprobe/libc.so.6:malloc`) stores the entry time per thread, `malloc_exit`
//! (`uretprobe/libc.so.6:malloc`) adds one to the log2 bucket of the elapsed
//! nanoseconds in `hist` (ARRAY of 32 `u64`). Both sections name the binary and the
//! symbol, so [`oxbpf::Collection::attach_all`] resolves libc and attaches both.
//!
//! ```no_run
//! let h = uprobe_malloc::run(None, std::time::Duration::from_secs(5))?;
//! print!("{}", uprobe_malloc::render(&h));
//! # Ok::<(), oxbpf::Error>(())
//! ```
#![forbid(unsafe_code)]

use std::time::Duration;

use oxbpf::maps::Array;
use oxbpf::{Collection, LoadOptions, ObjectSpec};

/// The bytes of an embedded object, 8-byte aligned as the ELF parser requires.
#[repr(C, align(8))]
struct Aligned<B: ?Sized>(B);

static ALIGNED: &Aligned<[u8]> = &Aligned(*include_bytes!("../../../fixtures/ex_malloc.bpf.o"));

/// The compiled BPF object, embedded in the binary (8-byte aligned).
pub static OBJECT: &[u8] = &ALIGNED.0;

/// Number of log2 buckets in `hist`.
pub const SLOTS: usize = 32;

/// `counts[i]`: calls that took `2^i ..= 2^(i+1) - 1` ns (the last bucket: that or more).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Histogram {
    /// Calls per bucket.
    pub counts: [u64; SLOTS],
}

impl Histogram {
    /// Calls counted in all buckets.
    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }
}

/// Loads the object for process `pid` (`None`: every process) and attaches both probes.
pub fn attach(pid: Option<u32>) -> oxbpf::Result<(Collection, Vec<oxbpf::attach::Link>)> {
    let mut spec = ObjectSpec::from_bytes(OBJECT)?;
    spec.set_global("target_tgid", &pid.unwrap_or(0).to_ne_bytes())?;
    let coll = Collection::load(&spec, &LoadOptions::default())?;
    let links = coll.attach_all()?;
    Ok((coll, links))
}

/// Reads the histogram from a loaded collection.
pub fn read(coll: &Collection) -> oxbpf::Result<Histogram> {
    let map = coll.map("hist").ok_or_else(|| oxbpf::Error::CannotAttach {
        program: "malloc_exit".into(),
        section: String::new(),
        reason: "the object has no map \"hist\"".into(),
    })?;
    let hist = Array::<u64>::new(map)?;
    let mut counts = [0u64; SLOTS];
    for (i, c) in counts.iter_mut().enumerate() {
        *c = hist.get(i as u32)?;
    }
    Ok(Histogram { counts })
}

/// Attaches, waits `duration`, and returns the histogram.
pub fn run(pid: Option<u32>, duration: Duration) -> oxbpf::Result<Histogram> {
    let (coll, _links) = attach(pid)?;
    std::thread::sleep(duration);
    read(&coll)
}

/// The histogram as text, one line per non-empty bucket range, with a bar.
pub fn render(h: &Histogram) -> String {
    let max = h.counts.iter().copied().max().unwrap_or(0).max(1);
    let first = h.counts.iter().position(|&c| c > 0);
    let last = h.counts.iter().rposition(|&c| c > 0);
    let mut out = format!("{:>22} : {:<10} distribution\n", "nsecs", "count");
    if let (Some(a), Some(b)) = (first, last) {
        for i in a..=b {
            let lo = 1u64 << i;
            let hi = (1u64 << (i + 1)) - 1;
            let bar = "*".repeat((h.counts[i] * 40 / max) as usize);
            out += &format!("{lo:>10} -> {hi:<10} : {:<10} |{bar:<40}|\n", h.counts[i]);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_shows_only_the_occupied_range() {
        let mut counts = [0; SLOTS];
        counts[3] = 10;
        counts[5] = 5;
        let text = render(&Histogram { counts });
        let lines: Vec<_> = text.lines().collect();
        assert_eq!(lines.len(), 4, "{text}");
        assert!(lines[1].starts_with("         8 -> 15"), "{text}");
        assert!(
            lines[1].ends_with(&format!("|{}|", "*".repeat(40))),
            "{text}"
        );
        assert!(lines[3].contains(" 5 "), "{text}");
    }

    #[test]
    fn embedded_object_has_both_probes_and_the_histogram() {
        let spec = ObjectSpec::from_bytes(OBJECT).unwrap();
        let sections: Vec<_> = spec.programs.iter().map(|p| p.section.as_str()).collect();
        assert_eq!(
            sections,
            ["uprobe/libc.so.6:malloc", "uretprobe/libc.so.6:malloc"]
        );
        let hist = spec.maps.iter().find(|m| m.name == "hist").unwrap();
        assert_eq!(hist.max_entries as usize, SLOTS);
    }

    #[test]
    fn total_adds_every_bucket() {
        let mut counts = [1; SLOTS];
        counts[0] = 5;
        assert_eq!(Histogram { counts }.total(), 36);
    }
}

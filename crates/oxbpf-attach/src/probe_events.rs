//! Probe events made in tracefs (`kprobe_events`, `uprobe_events`): the path kernels take
//! without the kprobe/uprobe PMU. Each event gets a name unique to this process, and the
//! [`Link`] made on it deletes it again when dropped.

use std::io::Write;
use std::os::fd::BorrowedFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use oxbpf_sys::perf;

use crate::{Error, Link, Result};

/// Group of every event this crate creates (`events/oxbpf/<name>`).
pub const GROUP: &str = "oxbpf";

static NEXT: AtomicU32 = AtomicU32::new(0);

/// A new event name: `<prefix>_<pid>_<n>_<target>`, target reduced to `[A-Za-z0-9_]`, at
/// most 63 characters (tracefs' limit).
pub fn unique_name(prefix: &str, target: &str) -> String {
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let clean: String = target
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    let mut name = format!("{prefix}_{}_{n}_{clean}", std::process::id());
    name.truncate(63);
    name
}

fn append(file: &Path, line: &str) -> std::io::Result<()> {
    let mut f = std::fs::OpenOptions::new().append(true).open(file)?;
    f.write_all(line.as_bytes())
}

/// Deletes an event: writes `remove` (`-:oxbpf/<name>`) to `events_file`.
pub(crate) fn remove(events_file: &Path, remove: &str) -> Result<()> {
    append(events_file, remove).map_err(|e| Error::Kernel {
        what: format!("removing probe event {remove:?}"),
        source: oxbpf_sys::Error::Io {
            what: format!("writing {}", events_file.display()),
            source: e,
        },
    })
}

/// True if `events_file` lists an event named `name` (for tests and `oxbpf doctor`).
pub fn lists(events_file: &Path, name: &str) -> bool {
    std::fs::read_to_string(events_file)
        .map(|t| {
            t.lines().any(|l| {
                l.split_whitespace()
                    .next()
                    .and_then(|head| head.split_once(':'))
                    .is_some_and(|(_, ev)| ev.rsplit('/').next() == Some(name))
            })
        })
        .unwrap_or(false)
}

/// A probe event to create in tracefs.
pub(crate) struct NewEvent<'a> {
    /// The tracefs file it is written to (`kprobe_events`, `uprobe_events`).
    pub events_file: &'a str,
    /// `p` (entry) or `r` (return).
    pub kind: char,
    /// Its unique name (see [`unique_name`]).
    pub name: &'a str,
    /// What it probes (`vfs_read+4`, `/usr/bin/x:0x1234`).
    pub target: &'a str,
}

/// Creates the event `ev` (`p:oxbpf/<name> <target>`) in tracefs, opens it as a
/// tracepoint perf event and runs `prog` on it. The returned link removes the event when
/// dropped; on any failure the event is removed before returning.
pub(crate) fn attach(
    prog: BorrowedFd<'_>,
    tracefs: &Path,
    ev: &NewEvent<'_>,
    cookie: u64,
    what: String,
) -> Result<Link> {
    let (events_file, kind, name, target) = (ev.events_file, ev.kind, ev.name, ev.target);
    let file: PathBuf = tracefs.join(events_file);
    let def = format!("{kind}:{GROUP}/{name} {target}\n");
    let removal = format!("-:{GROUP}/{name}\n");
    append(&file, &def).map_err(|e| Error::NoAttachPoint {
        what: what.clone(),
        detail: format!("writing {:?} to {}: {e}", def.trim(), file.display()),
    })?;
    let made = (|| {
        let id_path = tracefs.join("events").join(GROUP).join(name).join("id");
        let text = std::fs::read_to_string(&id_path).map_err(|e| Error::NoAttachPoint {
            what: what.clone(),
            detail: format!("cannot read {}: {e}", id_path.display()),
        })?;
        let id: u64 = text.trim().parse().map_err(|_| Error::NoAttachPoint {
            what: what.clone(),
            detail: format!("{} holds {:?}", id_path.display(), text.trim()),
        })?;
        let attr = perf::PerfEventAttr {
            type_: perf::TYPE_TRACEPOINT,
            config: id,
            sample_period: 1,
            wakeup: 1,
            ..Default::default()
        };
        let event = perf::perf_event_open(&attr, -1, 0).map_err(|source| Error::Kernel {
            what: what.clone(),
            source,
        })?;
        crate::pmu::attach_to_event(prog, event, cookie, what.clone())
    })();
    match made {
        Ok(link) => Ok(Link::with_tracefs_cleanup(link, file, removal)),
        Err(e) => {
            let _ = remove(&file, &removal);
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unique_names_are_clean_distinct_and_short() {
        let a = unique_name("oxbpf_kp", "do_sys_open.isra.0");
        let b = unique_name("oxbpf_kp", "do_sys_open.isra.0");
        assert_ne!(a, b);
        assert!(
            a.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
            "{a}"
        );
        assert!(unique_name("p", &"x".repeat(200)).len() <= 63);
    }

    #[test]
    fn finds_listed_events_by_name() {
        let dir = std::env::temp_dir().join(format!("oxbpf-pe-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("kprobe_events");
        std::fs::write(&f, "p:oxbpf/ev_1 vfs_read\nr:kprobes/other vfs_write\n").unwrap();
        assert!(lists(&f, "ev_1"));
        assert!(lists(&f, "other"));
        assert!(!lists(&f, "ev"));
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(!lists(&f, "ev_1"));
    }
}

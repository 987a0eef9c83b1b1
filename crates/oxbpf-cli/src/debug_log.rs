//! `-v`: prints the `tracing` debug events of the oxbpf crates (the fallback decisions of
//! oxbpf-attach: which mechanism a hook got, and why) to stderr. A minimal subscriber of
//! our own: one line per event, no spans, so the CLI needs no tracing-subscriber.

use std::fmt::Write as _;

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};

/// Writes each debug-or-higher event of an `oxbpf*` target as one stderr line.
struct Stderr;

/// Collects an event's message (the `message` field).
#[derive(Default)]
struct Message(String);

impl Visit for Message {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.0, "{value:?}");
        }
    }
}

impl Subscriber for Stderr {
    fn enabled(&self, meta: &Metadata<'_>) -> bool {
        *meta.level() <= Level::DEBUG && meta.target().starts_with("oxbpf")
    }

    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }

    fn record(&self, _: &Id, _: &Record<'_>) {}

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let mut m = Message::default();
        event.record(&mut m);
        eprintln!(
            "{}: {}",
            event.metadata().level().as_str().to_lowercase(),
            m.0
        );
    }

    fn enter(&self, _: &Id) {}

    fn exit(&self, _: &Id) {}
}

/// Installs the stderr subscriber for the process (a no-op if one is installed already).
pub fn install() {
    let _ = tracing::subscriber::set_global_default(Stderr);
}

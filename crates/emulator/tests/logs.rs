//! Debug logs carry APDU headers and status words, never command data.
//!
//! Alone in its own test binary: a scoped `tracing` subscriber races with other test threads
//! over callsite registration, which would make the capture miss events.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::fmt::{self, Write as _};
use std::sync::{Arc, Mutex};

use common::{SIGN_PASSWORD, pin_renderings, send, sw, test_card, verify};

/// A minimal `tracing` subscriber that writes every event's fields into a string.
struct Capture(Arc<Mutex<String>>);

struct Fields<'a>(&'a mut String);

impl tracing::field::Visit for Fields<'_> {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn fmt::Debug) {
        let _ = write!(self.0, "{}={value:?} ", field.name());
    }
}

impl tracing::Subscriber for Capture {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let mut out = self.0.lock().expect("log buffer");
        event.record(&mut Fields(&mut out));
        out.push('\n');
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

#[test]
fn debug_logs_show_headers_and_status_words_but_no_pin() {
    let log = Arc::new(Mutex::new(String::new()));
    tracing::subscriber::with_default(Capture(log.clone()), || {
        let mut card = test_card();
        assert_eq!(sw(&mut card, "00 A4 04 0C 0A D3 92 F0 00 26 01 00 00 00 01"), 0x9000);
        assert_eq!(send(&mut card, &verify(0x9B, SIGN_PASSWORD)).1, 0x9000);
        assert_eq!(send(&mut card, &verify(0x98, b"8642")).1, 0x63C2);
        card.reset();
    });
    let log = log.lock().unwrap().clone();
    assert!(log.contains("00 20 00 9B") && log.contains("9000"), "{log}");
    assert!(log.contains("00 20 00 98") && log.contains("63C2"), "{log}");
    assert!(log.contains("reset"), "{log}");
    for pin in [SIGN_PASSWORD, b"8642"] {
        for rendering in pin_renderings(pin) {
            assert!(!log.contains(&rendering), "log shows {rendering:?}:\n{log}");
        }
    }
}

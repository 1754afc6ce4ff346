//! The APDU trace: what the reader asked the card, for tests to assert on.
//!
//! A reader's safety rules are about *what it sent* ("one VERIFY per session", "never touch
//! the 個人番号 EF", "at most N APDUs"), so the card records every exchange. The record holds
//! headers, lengths and status words only — never command data, which would include PINs.
//!
//! [`Trace`] is a shared handle: a test keeps a clone after moving the card into a
//! transport and reads it at the end. The trace grows with every APDU; long-running hosts
//! call [`Trace::clear`].

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// What a trace entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TraceEvent {
    /// A command APDU and the card's answer.
    Apdu,
    /// A warm reset.
    Reset,
    /// A power-off (the card left the field or was disconnected).
    PowerOff,
}

/// One exchange (or reset) as the card saw it. Never holds command data.
///
/// For [`TraceEvent::Reset`] and [`TraceEvent::PowerOff`] the header, lengths and status
/// word are zero. For an APDU too short to have a header, the missing header bytes are zero.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TraceEntry {
    /// What happened.
    pub event: TraceEvent,
    /// Class byte.
    pub cla: u8,
    /// Instruction byte.
    pub ins: u8,
    /// Parameter 1.
    pub p1: u8,
    /// Parameter 2.
    pub p2: u8,
    /// Nc, the number of command data bytes (0 for none or for a malformed APDU).
    pub lc: usize,
    /// Ne, the response length asked for, if the command had an Le field.
    pub ne: Option<u32>,
    /// Whether the command used the extended length form.
    pub extended: bool,
    /// The status word answered.
    pub sw: u16,
    /// Bytes of the command APDU as received (header and length fields included).
    pub command_len: usize,
    /// Bytes of response data, without the two status bytes.
    pub response_len: usize,
    /// For SELECT: what was asked for, e.g. `jpki`, `AID D392…` for an unknown AID,
    /// `EF 0002`, `MF`. Identifiers are not secret, so they may be recorded.
    pub target: Option<String>,
    /// The EF a command named explicitly, by FID (SELECT) or short identifier (READ BINARY,
    /// VERIFY, COMPUTE DIGITAL SIGNATURE), if it exists in the selected application.
    pub referenced_ef: Option<u16>,
    /// Name of the selected application after the command.
    pub selected_df: Option<String>,
    /// The current EF after the command.
    pub selected_ef: Option<u16>,
}

impl TraceEntry {
    /// An entry for an event that is not an APDU.
    pub(crate) fn event(event: TraceEvent) -> TraceEntry {
        TraceEntry {
            event,
            cla: 0,
            ins: 0,
            p1: 0,
            p2: 0,
            lc: 0,
            ne: None,
            extended: false,
            sw: 0,
            command_len: 0,
            response_len: 0,
            target: None,
            referenced_ef: None,
            selected_df: None,
            selected_ef: None,
        }
    }

    fn is_apdu(&self) -> bool {
        self.event == TraceEvent::Apdu
    }
}

/// A shared, cheaply clonable handle on a card's trace.
#[derive(Debug, Clone, Default)]
pub struct Trace {
    entries: Arc<Mutex<Vec<TraceEntry>>>,
}

impl Trace {
    /// An empty trace.
    pub fn new() -> Trace {
        Trace::default()
    }

    fn lock(&self) -> MutexGuard<'_, Vec<TraceEntry>> {
        // A panic while holding the lock cannot leave a Vec half-pushed; keep going.
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn push(&self, entry: TraceEntry) {
        self.lock().push(entry);
    }

    /// A copy of every entry, oldest first.
    pub fn entries(&self) -> Vec<TraceEntry> {
        self.lock().clone()
    }

    /// Forgets every entry (the card keeps recording).
    pub fn clear(&self) {
        self.lock().clear();
    }

    /// How many APDUs the card received (resets and power-offs not counted).
    pub fn apdu_count(&self) -> usize {
        self.lock().iter().filter(|e| e.is_apdu()).count()
    }

    /// How many APDUs had instruction byte `ins`.
    pub fn count_ins(&self, ins: u8) -> usize {
        self.lock().iter().filter(|e| e.is_apdu() && e.ins == ins).count()
    }

    /// How many VERIFY commands presented a PIN (retry queries without data not counted).
    /// Each one may have cost a try.
    pub fn verify_count(&self) -> usize {
        self.lock()
            .iter()
            .filter(|e| e.is_apdu() && e.cla == 0x00 && e.ins == mynaid_apdu::ins::VERIFY && e.lc > 0)
            .count()
    }

    /// Whether EF `fid` of the application named `df_name` was ever the current EF, or was
    /// named by a command (SELECT by FID, or a short EF identifier in READ BINARY, VERIFY or
    /// COMPUTE DIGITAL SIGNATURE) — whether or not the command then succeeded.
    pub fn selected_ef_ever(&self, df_name: &str, fid: u16) -> bool {
        self.lock().iter().any(|e| {
            e.is_apdu()
                && e.selected_df.as_deref() == Some(df_name)
                && (e.selected_ef == Some(fid) || e.referenced_ef == Some(fid))
        })
    }

    /// Bytes sent to the card and bytes received from it (status words included), over all
    /// APDUs.
    pub fn bytes_exchanged(&self) -> (usize, usize) {
        self.lock()
            .iter()
            .filter(|e| e.is_apdu())
            .fold((0, 0), |(to, from), e| (to + e.command_len, from + e.response_len + 2))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn apdu(ins: u8, lc: usize, df: Option<&str>, ef: Option<u16>) -> TraceEntry {
        TraceEntry {
            ins,
            lc,
            command_len: 4 + lc,
            response_len: 3,
            selected_df: df.map(str::to_owned),
            selected_ef: ef,
            ..TraceEntry::event(TraceEvent::Apdu)
        }
    }

    #[test]
    fn queries_count_only_apdus() {
        let t = Trace::new();
        let shared = t.clone();
        t.push(apdu(0x20, 0, Some("jpki"), Some(0x18)));
        t.push(apdu(0x20, 4, Some("jpki"), Some(0x18)));
        t.push(TraceEntry::event(TraceEvent::Reset));
        t.push(apdu(0xB0, 0, Some("jpki"), None));
        assert_eq!(shared.apdu_count(), 3);
        assert_eq!(shared.entries().len(), 4);
        assert_eq!(shared.count_ins(0x20), 2);
        assert_eq!(shared.verify_count(), 1);
        assert!(shared.selected_ef_ever("jpki", 0x18));
        assert!(!shared.selected_ef_ever("kenhojo", 0x18));
        assert!(!shared.selected_ef_ever("jpki", 0x01));
        assert_eq!(shared.bytes_exchanged(), (16, 15));
        shared.clear();
        assert_eq!(t.apdu_count(), 0);
    }
}

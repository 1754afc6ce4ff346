//! The card's volatile state: what is selected and which PINs are verified.
//!
//! Kept apart from the persistent [`CardState`](crate::state::CardState) because it has the
//! opposite lifetime: it is lost on every reset, power-off and application selection, and it
//! is never written to the state file, so a restart behaves like a power cycle.

/// Volatile state of one card session.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Session {
    /// Index of the selected application, if any.
    df: Option<usize>,
    /// The current EF of the selected application.
    ef: Option<u16>,
    /// PIN EFs of the selected application verified since it was selected.
    verified: Vec<u16>,
}

impl Session {
    /// Forgets everything: the state after a reset or power-on.
    pub(crate) fn clear(&mut self) {
        *self = Session::default();
    }

    /// Selects an application: its security state starts empty, with no current EF, even if
    /// it was the one already selected (`shared/spec/card-protocol.md` §4.5).
    pub(crate) fn select_df(&mut self, index: usize) {
        *self = Session {
            df: Some(index),
            ..Session::default()
        };
    }

    /// The selected application.
    pub(crate) fn df(&self) -> Option<usize> {
        self.df
    }

    /// The current EF.
    pub(crate) fn ef(&self) -> Option<u16> {
        self.ef
    }

    /// Makes `fid` the current EF. Only meaningful with an application selected.
    pub(crate) fn set_ef(&mut self, fid: u16) {
        debug_assert!(self.df.is_some(), "an EF is always inside a selected application");
        self.ef = Some(fid);
    }

    /// Whether the PIN EF `pin` of the selected application is verified.
    pub(crate) fn is_verified(&self, pin: u16) -> bool {
        self.verified.contains(&pin)
    }

    /// Marks the PIN EF `pin` verified or not.
    pub(crate) fn set_verified(&mut self, pin: u16, verified: bool) {
        self.verified.retain(|&p| p != pin);
        if verified {
            self.verified.push(pin);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selecting_an_application_forgets_pins_and_ef() {
        let mut s = Session::default();
        s.select_df(1);
        s.set_ef(0x0018);
        s.set_verified(0x0018, true);
        assert!(s.is_verified(0x0018));
        s.select_df(1);
        assert_eq!((s.df(), s.ef(), s.is_verified(0x0018)), (Some(1), None, false));
        s.set_verified(0x0018, true);
        s.set_verified(0x0018, false);
        assert!(!s.is_verified(0x0018));
        s.set_verified(0x0018, true);
        s.clear();
        assert_eq!(s, Session::default());
    }
}

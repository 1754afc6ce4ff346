//! The heavy test harnesses (not published), for the tests that need them: headless
//! Chromium over WebDriver ([`browser`]), pcscd with the vpcd virtual reader and emulated
//! cards in it ([`pcsc`]), and the project's two binaries ([`bins`]). The light fixtures
//! (test persons, their cards) are `mynaid-testkit`'s.

pub mod bins;
pub mod browser;
pub mod pcsc;

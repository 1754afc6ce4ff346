//! One module per subcommand.

pub(crate) mod demo;
pub(crate) mod emulator;
pub(crate) mod pki;
pub(crate) mod progress;
pub(crate) mod read;

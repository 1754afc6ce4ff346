//! One module per subcommand.

pub(crate) mod demo;
pub(crate) mod emulator;
pub(crate) mod http;
pub(crate) mod install_handler;
pub(crate) mod phone;
pub(crate) mod pki;
pub(crate) mod progress;
pub(crate) mod purge;
pub(crate) mod read;
pub(crate) mod reading;
pub(crate) mod serve;

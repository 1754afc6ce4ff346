//! One module per subcommand of `mynaid-server`.

pub(crate) mod demo;
pub(crate) mod emulator;
pub(crate) mod phone;
pub(crate) mod pki;
pub(crate) mod purge;
pub(crate) mod serve;

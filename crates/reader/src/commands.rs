//! One module per subcommand.

pub(crate) mod install_handler;
pub(crate) mod read;

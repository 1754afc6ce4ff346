//! placeholder
pub mod ids;
pub mod transport;

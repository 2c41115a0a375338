//! Wiring: the data directory and its keys (`setup`), the assembly of the services, and the
//! development shortcuts.

pub mod dev;
mod services;
pub mod setup;

pub use services::RelyingPartyError;

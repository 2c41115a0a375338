//! The test kit of dinhdanh's integration tests and end-to-end journeys: a fresh database per
//! test on each backend, the server binary as a process, a software passkey authenticator and
//! a small HTTP client. The journeys themselves are in `journeys/`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    missing_docs,
    unreachable_pub
)]

pub mod authenticator;
pub mod client;
mod databases;
mod process;

pub use databases::{TestDb, databases};
pub use process::{ServerProcess, server_binary, server_command};

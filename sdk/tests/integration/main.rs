//! Integration tests of the SDK: conformance vectors, the CLI, interoperability, the wallet store
//! under kills.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod cli;
mod interop;
mod presentation;
mod rfc9901;
mod signatures;
mod trust_bundle;
mod wallet;

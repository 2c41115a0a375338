//! Integration tests of the SDK: conformance vectors, the CLI, interoperability.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod cli;
mod interop;
mod rfc9901;

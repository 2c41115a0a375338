//! Integration tests of the server. Every storage and API test runs on SQLite and on
//! PostgreSQL (`TEST_DATABASE_URL`, which `scripts/test` sets after starting PostgreSQL).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    unreachable_pub
)]

mod api;
mod browser;
mod cli;
mod hardening;
mod issuance;
mod level2;
mod matching;
mod passkeys;
mod process;
mod recovery;
mod relying_parties;
mod signing;
mod signing_journey;
mod sms;
mod store;
mod support;
mod takeover;
mod telecom;
mod verifier;

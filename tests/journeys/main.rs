//! End-to-end journeys (DESIGN.md §2) against a real `dinhdanh-server` process, on SQLite and
//! on PostgreSQL (`TEST_DATABASE_URL`, set by `scripts/test`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    unreachable_pub
)]

mod issuance;
mod readme;

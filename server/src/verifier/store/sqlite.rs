//! The verifier's statements on SQLite.

/// The verifier's migration record.
const MIGRATIONS_TABLE: &str = "CREATE TABLE IF NOT EXISTS verifier_migrations \
    (version BIGINT PRIMARY KEY, checksum BLOB NOT NULL, applied_at BIGINT NOT NULL)";

type Db = sqlx::Sqlite;

#[path = "sql.rs"]
mod sql;

pub(super) use sql::*;

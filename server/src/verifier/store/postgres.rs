//! The verifier's statements on PostgreSQL.

/// The verifier's migration record.
const MIGRATIONS_TABLE: &str = "CREATE TABLE IF NOT EXISTS verifier_migrations \
    (version BIGINT PRIMARY KEY, checksum BYTEA NOT NULL, applied_at BIGINT NOT NULL)";

type Db = sqlx::Postgres;

#[path = "sql.rs"]
mod sql;

pub(super) use sql::*;

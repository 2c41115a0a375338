//! The verifier's repository (its own database, apart from the agency server's): presentation
//! requests as rows, taken once. Rows in, rows out; it decides nothing. The statements are
//! written once in `sql.rs` and compiled for each engine (ADR 0004).

// `sql.rs` is compiled twice on purpose, once inside each engine's module with that engine's
// `Db` type: the text of a query is written once and type-checked per engine (ADR 0004).
#![allow(clippy::duplicate_mod)]

use std::{str::FromStr, time::Duration};

use ring::digest;
use sqlx::{
    postgres::{PgConnectOptions, PgPoolOptions},
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
};

mod postgres;
mod sqlite;

/// Why the verifier's database failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VerifierStoreError {
    /// The database answered with an error, or could not be reached.
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    /// The URL is neither `sqlite:` nor `postgres:`.
    #[error("the database URL must start with sqlite: or postgres:")]
    UnsupportedUrl,
    /// An applied migration differs from the one in this binary.
    #[error("verifier migration {version} was changed after it was applied")]
    MigrationChanged {
        /// Its version.
        version: i64,
    },
    /// A stored value is not one this version writes.
    #[error("corrupt row: {0}")]
    Corrupt(&'static str),
}

/// Where a request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestStatus {
    /// Answerable, no answer verified yet.
    Pending,
    /// A verified answer took it; final.
    Verified,
    /// An answer failed (with a reason); still answerable until it expires.
    Failed,
}

impl RequestStatus {
    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Verified => "verified",
            Self::Failed => "failed",
        }
    }

    fn parse(text: &str) -> Result<Self, VerifierStoreError> {
        match text {
            "pending" => Ok(Self::Pending),
            "verified" => Ok(Self::Verified),
            "failed" => Ok(Self::Failed),
            _ => Err(VerifierStoreError::Corrupt("status")),
        }
    }
}

/// One request as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestRow {
    /// Its id (random, 128 bits): in the URLs of the request object and the response.
    pub id: String,
    /// The OpenID4VP `state`.
    pub oid4vp_state: String,
    /// Where it stands.
    pub status: RequestStatus,
    /// The SDK's pending request, JSON.
    pub pending: String,
    /// The signed request object, while answerable.
    pub request_object: Option<String>,
    /// The sealed response-encryption key, under `direct_post.jwt`.
    pub encryption_key: Option<Vec<u8>>,
    /// Why it failed.
    pub reason: Option<String>,
    /// The sealed disclosed claims, once verified.
    pub result: Option<Vec<u8>>,
    /// Made at, Unix seconds.
    pub created_at: i64,
    /// Answerable until, Unix seconds.
    pub expires_at: i64,
    /// Last changed at, Unix seconds.
    pub updated_at: i64,
}

type RawRow = (
    String,
    String,
    String,
    String,
    Option<String>,
    Option<Vec<u8>>,
    Option<String>,
    Option<Vec<u8>>,
    i64,
    i64,
    i64,
);

fn from_raw(raw: RawRow) -> Result<RequestRow, VerifierStoreError> {
    let (
        id,
        oid4vp_state,
        status,
        pending,
        request_object,
        encryption_key,
        reason,
        result,
        created_at,
        expires_at,
        updated_at,
    ) = raw;
    Ok(RequestRow {
        id,
        oid4vp_state,
        status: RequestStatus::parse(&status)?,
        pending,
        request_object,
        encryption_key,
        reason,
        result,
        created_at,
        expires_at,
        updated_at,
    })
}

struct Migration {
    version: i64,
    sql: &'static str,
}

const SQLITE: &[Migration] = &[Migration {
    version: 1,
    sql: include_str!("../../../migrations/verifier/sqlite/0001_requests.sql"),
}];

const POSTGRES: &[Migration] = &[Migration {
    version: 1,
    sql: include_str!("../../../migrations/verifier/postgres/0001_requests.sql"),
}];

fn checksum(sql: &str) -> Vec<u8> {
    digest::digest(&digest::SHA256, sql.as_bytes())
        .as_ref()
        .to_vec()
}

/// The migrations of `all` not applied yet, after checking the applied ones are unchanged.
fn pending<'a>(
    all: &'a [Migration],
    applied: &[(i64, Vec<u8>)],
) -> Result<Vec<&'a Migration>, VerifierStoreError> {
    let mut pending = Vec::new();
    for migration in all {
        match applied.iter().find(|(v, _)| *v == migration.version) {
            Some((_, sum)) if *sum != checksum(migration.sql) => {
                return Err(VerifierStoreError::MigrationChanged {
                    version: migration.version,
                });
            }
            Some(_) => {}
            None => pending.push(migration),
        }
    }
    Ok(pending)
}

#[derive(Debug, Clone)]
enum Pool {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

/// The verifier's database: SQLite (one instance) or PostgreSQL (many instances sharing it).
#[derive(Debug, Clone)]
pub struct VerifierStore {
    pool: Pool,
}

macro_rules! dispatch {
    ($self:ident, $f:ident ( $($arg:expr),* )) => {
        match &$self.pool {
            Pool::Sqlite(pool) => sqlite::$f(pool, $($arg),*).await,
            Pool::Postgres(pool) => postgres::$f(pool, $($arg),*).await,
        }
    };
}

impl VerifierStore {
    /// Connects to `url` (`sqlite://PATH`, created 0600 if missing, or `postgres://…`) and
    /// applies the verifier's migrations.
    pub async fn connect(url: &str) -> Result<Self, VerifierStoreError> {
        let pool = if url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(url)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                // A verified answer that is not recorded could be replayed after a crash.
                .synchronous(SqliteSynchronous::Full)
                .busy_timeout(Duration::from_secs(10));
            if !url.contains("mode=memory") {
                private_file(options.get_filename()).map_err(sqlx::Error::Io)?;
            }
            Pool::Sqlite(
                SqlitePoolOptions::new()
                    .max_connections(8)
                    .connect_with(options)
                    .await?,
            )
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Pool::Postgres(
                PgPoolOptions::new()
                    .max_connections(16)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect_with(PgConnectOptions::from_str(url)?)
                    .await?,
            )
        } else {
            return Err(VerifierStoreError::UnsupportedUrl);
        };
        let store = Self { pool };
        store.migrate().await?;
        Ok(store)
    }

    async fn migrate(&self) -> Result<(), VerifierStoreError> {
        match &self.pool {
            Pool::Sqlite(pool) => {
                let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
                sqlite::apply_migrations(&mut tx, SQLITE).await?;
                tx.commit().await?;
            }
            Pool::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                // Instances starting together: one migrates, the others wait and find it done.
                sqlx::query("SELECT pg_advisory_xact_lock(7472697665726966)")
                    .execute(&mut *tx)
                    .await?;
                postgres::apply_migrations(&mut tx, POSTGRES).await?;
                tx.commit().await?;
            }
        }
        Ok(())
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> Result<(), VerifierStoreError> {
        dispatch!(self, ping())
    }

    /// Stores a new request.
    pub async fn insert(&self, row: &RequestRow) -> Result<(), VerifierStoreError> {
        dispatch!(self, insert(row))
    }

    /// The request `id`.
    pub async fn get(&self, id: &str) -> Result<Option<RequestRow>, VerifierStoreError> {
        dispatch!(self, get(id))
    }

    /// Takes request `id` with its verified answer, in one statement: only a request not yet
    /// verified and still answerable at `now` is taken, so of two answers at once exactly one
    /// wins. The encryption key and the request object go; the sealed `result` stays. Whether
    /// this call took it.
    pub async fn take_verified(
        &self,
        id: &str,
        result: &[u8],
        now: i64,
    ) -> Result<bool, VerifierStoreError> {
        dispatch!(self, take_verified(id, result, now))
    }

    /// Records that an answer to request `id` failed for `reason`, unless it was verified
    /// meanwhile; it stays answerable until it expires. Whether the row changed.
    pub async fn record_failure(
        &self,
        id: &str,
        reason: &str,
        now: i64,
    ) -> Result<bool, VerifierStoreError> {
        dispatch!(self, record_failure(id, reason, now))
    }

    /// Deletes requests that expired before `before` (results included): how many.
    pub async fn prune(&self, before: i64) -> Result<u64, VerifierStoreError> {
        dispatch!(self, prune(before))
    }

    /// Requests by status (for the metrics).
    pub async fn count_by_status(&self) -> Result<Vec<(String, i64)>, VerifierStoreError> {
        dispatch!(self, count_by_status())
    }
}

/// Creates the SQLite file readable by its owner only (0600) before SQLite opens it: it holds
/// sealed keys and results, and its journal files inherit the mode.
fn private_file(path: &std::path::Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        if path.as_os_str().is_empty() || path.as_os_str() == ":memory:" {
            return Ok(());
        }
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
        {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
            }
            Err(e) => return Err(e),
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

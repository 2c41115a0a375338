//! Opening a store: the engine from the URL, the pool, SQLite's file mode and pragmas.

use std::{str::FromStr, time::Duration};

use sqlx::{
    postgres::{PgConnectOptions, PgPoolOptions},
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
};

use super::{GroupWriter, Pool, Store, StoreError, postgres, sqlite};

/// Creates a SQLite database file readable and writable by its owner only (0600) before SQLite
/// opens it, whatever the umask: SQLite gives its `-wal` and `-shm` files the database file's
/// mode, so they are private too. An existing database (and its journal files) found wider is
/// narrowed to 0600.
fn private_sqlite_file(path: &std::path::Path) -> std::io::Result<()> {
    if path.as_os_str().is_empty() || path.as_os_str() == ":memory:" {
        return Ok(());
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
        {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
        let mut journal = path.as_os_str().to_owned();
        journal.push("-wal");
        let mut shared = path.as_os_str().to_owned();
        shared.push("-shm");
        for file in [path.as_os_str(), &journal, &shared] {
            let file = std::path::Path::new(file);
            let Ok(metadata) = std::fs::metadata(file) else {
                continue;
            };
            if metadata.permissions().mode() & 0o777 != 0o600 {
                std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o600))?;
            }
        }
    }
    Ok(())
}

impl Store {
    /// Connects to `url` (`sqlite://PATH` or `postgres://...`); SQLite files are created if missing.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        if url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(url)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                // Durable commits: an issued credential that is not recorded could never be
                // revoked, and a used nonce that is forgotten could be replayed. Group commit
                // (issuance) shares one fsync among concurrent requests.
                .synchronous(SqliteSynchronous::Full)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(10))
                .pragma("temp_store", "memory")
                // Reads go through the OS page cache, shared by every connection, instead of each
                // connection's small private cache: random point and batch lookups by ID number.
                .pragma("mmap_size", "1073741824")
                .pragma("cache_size", "-16384");
            if !url.contains("mode=memory") {
                private_sqlite_file(options.get_filename()).map_err(sqlx::Error::Io)?;
            }
            let pool = SqlitePoolOptions::new()
                .max_connections(8)
                .connect_with(options)
                .await?;
            let writer = GroupWriter::Sqlite(std::sync::Arc::new(sqlite::GroupCommit::start(
                pool.clone(),
            )));
            Ok(Self {
                pool: Pool::Sqlite(pool),
                writer,
            })
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let options = PgConnectOptions::from_str(url)?;
            let pool = PgPoolOptions::new()
                .max_connections(16)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(options)
                .await?;
            let writer = GroupWriter::Postgres(std::sync::Arc::new(postgres::GroupCommit::start(
                pool.clone(),
            )));
            Ok(Self {
                pool: Pool::Postgres(pool),
                writer,
            })
        } else {
            Err(StoreError::UnsupportedUrl)
        }
    }
}

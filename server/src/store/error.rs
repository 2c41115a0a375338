//! Storage failures.

/// A storage failure.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database URL is neither `sqlite:` nor `postgres:`.
    #[error("unsupported database URL (expected sqlite:// or postgres://)")]
    UnsupportedUrl,
    /// The database refused or failed a statement.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// A migration already applied differs from the one this build carries.
    #[error("migration {version} was changed after it was applied")]
    MigrationChanged {
        /// The migration's version.
        version: i64,
    },
    /// A row expected by a multi-step write was not there (e.g. a code consumed concurrently).
    #[error("conflicting concurrent change")]
    Conflict,
    /// A value stored in the database does not decode.
    #[error("corrupt stored value: {0}")]
    Corrupt(&'static str),
    /// The access token of an issuance had made its one credential request already.
    #[error("the access token was used already")]
    GrantUsed,
    /// A group commit failed as a whole (every issuance in it is refused).
    #[error("group commit failed: {0}")]
    Commit(String),
}

impl StoreError {
    /// True when a unique constraint refused the write (on either engine).
    pub fn is_unique_violation(&self) -> bool {
        matches!(self, Self::Database(sqlx::Error::Database(e)) if e.is_unique_violation())
    }
}

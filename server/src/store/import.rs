//! A registry import in progress, on either engine.

use std::sync::atomic::AtomicBool;

use super::{
    Citizen, MergeOutcome, RegistryDecision, StagedDocument, StoreError, postgres, sqlite,
};

/// An import in progress: one open transaction on one connection.
pub enum RegistryImport {
    /// On SQLite.
    Sqlite(sqlite::Import),
    /// On PostgreSQL.
    Postgres(postgres::Import),
}

impl RegistryImport {
    /// Stages a batch of validated records.
    pub async fn stage(&mut self, batch: &[Citizen]) -> Result<(), StoreError> {
        match self {
            Self::Sqlite(import) => import.stage(batch).await,
            Self::Postgres(import) => import.stage(batch).await,
        }
    }

    /// Stages a batch of validated documents.
    pub async fn stage_documents(&mut self, batch: &[StagedDocument]) -> Result<(), StoreError> {
        match self {
            Self::Sqlite(import) => import.stage_documents(batch).await,
            Self::Postgres(import) => import.stage_documents(batch).await,
        }
    }

    /// Merges the staged records into the registry, records the changes, applies the
    /// consequences `decide` gives each changed account, and commits: all in one transaction.
    /// Once `stop` is set (it is looked at between the merge's statements and just before the
    /// commit) the transaction is rolled back instead and the answer is `None`: the registry is
    /// as it was.
    pub async fn commit(
        self,
        source: &str,
        rejected: i64,
        now: i64,
        decide: RegistryDecision<'_>,
        stop: &AtomicBool,
    ) -> Result<Option<MergeOutcome>, StoreError> {
        match self {
            Self::Sqlite(import) => import.commit(source, rejected, now, decide, stop).await,
            Self::Postgres(import) => import.commit(source, rejected, now, decide, stop).await,
        }
    }
}

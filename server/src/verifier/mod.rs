//! `dinhdanh-verifier`: a deployable OpenID4VP 1.0 verifier for relying parties whose backends
//! are not written in Rust (banks, operators, public services on Java, Node or Go). The backend
//! makes a request (`POST /requests`: a DCQL query or a preset), shows its `openid4vp://` URL
//! as a QR code or a deep link, and reads the result (`GET /requests/{id}`); the service serves
//! the signed request object to the wallet, checks its answer with the SDK's relying party
//! under the agency's trust bundle, and keeps the result.
//!
//! Layers, as in the agency server: `http` (routes, API keys) → `service` (the domain: no axum,
//! no SQL) → `store` (its own schema and migrations, SQLite or PostgreSQL); `trust` (the trust
//! bundle and status lists, fetched and cached), `seal` (secrets at rest) and `config` beside.

pub mod config;
pub mod http;
pub mod seal;
pub mod service;
pub mod store;
pub mod trust;

use std::{path::Path, sync::Arc, time::Duration};

use self::{
    config::{VerifierConfig, VerifierConfigError},
    http::{ApiKeys, VerifierApp},
    service::{Verifier, VerifierError},
    store::{VerifierStore, VerifierStoreError},
    trust::{TrustError, TrustSource},
};
use crate::platform::{clock, metrics::Metrics};

/// Why the service could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// The configuration.
    #[error(transparent)]
    Config(#[from] VerifierConfigError),
    /// The database.
    #[error(transparent)]
    Store(#[from] VerifierStoreError),
    /// The trust configuration.
    #[error(transparent)]
    Trust(#[from] TrustError),
    /// The service.
    #[error(transparent)]
    Service(#[from] VerifierError),
}

/// Builds the application for `config`, with its data (trust cache, default SQLite file) under
/// `data_dir`.
pub async fn build(
    config: &VerifierConfig,
    data_dir: &Path,
) -> Result<Arc<VerifierApp>, StartError> {
    let now = u64::try_from(clock::now()).unwrap_or_default();
    std::fs::create_dir_all(data_dir)
        .map_err(|e| VerifierConfigError::Invalid(format!("{}: {e}", data_dir.display())))?;
    let identity = config.relying_party()?;
    let store = VerifierStore::connect(config.database()).await?;
    let trust = TrustSource::new(&config.trust, &data_dir.join("trust-cache"), now)?;
    let verifier = Verifier::new(config, identity, store, trust)?;
    Ok(Arc::new(VerifierApp {
        verifier,
        api_keys: ApiKeys::new(&config.api_keys),
        metrics: Metrics::default(),
    }))
}

/// Prunes expired requests once a minute, after their retention.
pub fn spawn_pruning(app: Arc<VerifierApp>, retention: u64) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        loop {
            tick.tick().await;
            let now = u64::try_from(clock::now()).unwrap_or_default();
            match app.verifier.prune(now, retention).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(pruned = n, "expired verifier requests deleted"),
                Err(error) => tracing::warn!(%error, "pruning verifier requests failed"),
            }
        }
    });
}

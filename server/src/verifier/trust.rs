//! The verifier's trust data: the agency's trust bundle (issuer roots, status-list locations,
//! maximum ages; a signed `trust-bundle+jwt` verified against the pinned agency root), fetched
//! over HTTP, cached on disk, fetched again when the copy held is older than the refresh
//! interval, and used offline from the cache until the bundle itself is too old (then every
//! answer fails as `stale_trust_data`). Status lists are fetched and cached the same way, only
//! under the locations the bundle (or the configuration) names: a presentation never makes the
//! service fetch anything else.

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    sync::{Arc, Mutex, RwLock},
    time::Duration,
};

use dinhdanh_sdk::{
    relying_party::RelyingParty,
    status_list::{StatusListToken, StatusReference},
    trust::{TrustBundle, TrustBundleError},
    verifier::{StatusListCache, StatusTrust},
    x509::TrustAnchor,
};

use super::config::TrustSettings;

/// The largest trust bundle or status list fetched.
const MAX_DOCUMENT: u64 = 4 * 1024 * 1024;

/// Why trust data is unavailable.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TrustError {
    /// No bundle could be fetched and none usable is cached, or the one held is too old.
    #[error("trust data is stale or unavailable: {0}")]
    Stale(String),
    /// The configured anchors could not be read.
    #[error("trust configuration: {0}")]
    Config(String),
}

/// What the service trusts now.
#[derive(Debug, Clone)]
pub struct TrustSnapshot {
    /// The roots of credential issuers.
    pub issuer_anchors: Vec<TrustAnchor>,
    /// Status lists are fetched only under these prefixes.
    pub status_prefixes: Vec<String>,
    /// The bundle, when trust comes from one.
    pub bundle: Option<TrustBundle>,
}

impl TrustSnapshot {
    /// The bundle's version (0 with pinned roots).
    pub fn version(&self) -> u64 {
        self.bundle.as_ref().map_or(0, |b| b.version)
    }
}

/// Where the relying party itself stands in the agency's registry, by the relying parties'
/// status list the bundle names (`status_lists.relying_parties`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RpStanding {
    /// Valid on a list within its maximum age, or the registration names no status.
    Registered,
    /// The agency revoked (or suspended) the registration: wallets refuse its requests.
    Revoked,
    /// Not known: no list fetched or cached, the list too old, pinned trust (no bundle), or the
    /// registration names a list the bundle does not.
    Unknown(String),
}

impl RpStanding {
    /// As `/health` answers it.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Registered => "registered",
            Self::Revoked => "revoked",
            Self::Unknown(_) => "unknown",
        }
    }
}

struct Held {
    snapshot: Arc<TrustSnapshot>,
    fetched_at: u64,
}

enum Source {
    Bundle {
        url: String,
        agency_roots: Vec<TrustAnchor>,
    },
    Pinned,
}

/// The trust data source of one process.
pub struct TrustSource {
    source: Source,
    settings: TrustSettings,
    cache_dir: PathBuf,
    agent: ureq::Agent,
    held: RwLock<Option<Held>>,
    refreshing: tokio::sync::Mutex<()>,
    status_fetched: Mutex<HashMap<String, u64>>,
    /// The relying parties' status list held, and when it was fetched.
    rp_status: Mutex<Option<(StatusListToken, u64)>>,
    rp_refreshing: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for TrustSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrustSource").finish_non_exhaustive()
    }
}

fn read_anchors(path: &Path) -> Result<Vec<TrustAnchor>, TrustError> {
    let pem = std::fs::read_to_string(path)
        .map_err(|e| TrustError::Config(format!("{}: {e}", path.display())))?;
    let anchors = TrustAnchor::from_pem(&pem)
        .map_err(|e| TrustError::Config(format!("{}: {e}", path.display())))?;
    if anchors.is_empty() {
        return Err(TrustError::Config(format!(
            "{}: no certificate",
            path.display()
        )));
    }
    Ok(anchors)
}

impl TrustSource {
    /// The source `settings` describe, caching under `cache_dir`; a cached bundle still usable
    /// at `now` is loaded (nothing is fetched yet).
    pub fn new(settings: &TrustSettings, cache_dir: &Path, now: u64) -> Result<Self, TrustError> {
        std::fs::create_dir_all(cache_dir.join("status"))
            .map_err(|e| TrustError::Config(format!("{}: {e}", cache_dir.display())))?;
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(10)))
            .http_status_as_error(false)
            .max_redirects(0)
            .build()
            .new_agent();
        let (source, held) = match (&settings.bundle_url, &settings.agency_root) {
            (Some(url), Some(root)) => {
                let agency_roots = read_anchors(root)?;
                let cached = std::fs::read_to_string(cache_dir.join("bundle.jwt"))
                    .ok()
                    .and_then(|jwt| TrustBundle::verify(jwt.trim(), &agency_roots, now).ok());
                let held = cached.map(|bundle| Held {
                    snapshot: Arc::new(snapshot_of(bundle, settings)),
                    // Fetched again at the first use.
                    fetched_at: 0,
                });
                (
                    Source::Bundle {
                        url: url.clone(),
                        agency_roots,
                    },
                    held,
                )
            }
            _ => {
                let path = settings.issuer_roots.as_deref().ok_or_else(|| {
                    TrustError::Config("no trust bundle and no issuer roots".into())
                })?;
                let snapshot = TrustSnapshot {
                    issuer_anchors: read_anchors(path)?,
                    status_prefixes: settings.status_list_prefixes.clone(),
                    bundle: None,
                };
                (
                    Source::Pinned,
                    Some(Held {
                        snapshot: Arc::new(snapshot),
                        fetched_at: u64::MAX,
                    }),
                )
            }
        };
        Ok(Self {
            source,
            settings: settings.clone(),
            cache_dir: cache_dir.to_owned(),
            agent,
            held: RwLock::new(held),
            refreshing: tokio::sync::Mutex::new(()),
            status_fetched: Mutex::new(HashMap::new()),
            rp_status: Mutex::new(None),
            rp_refreshing: tokio::sync::Mutex::new(()),
        })
    }

    fn held(&self) -> Option<(Arc<TrustSnapshot>, u64)> {
        self.held
            .read()
            .ok()?
            .as_ref()
            .map(|h| (h.snapshot.clone(), h.fetched_at))
    }

    /// The trust data to verify with at `now`: the bundle fetched again first when the copy
    /// held is older than the refresh interval (a failed fetch keeps the copy held); an error
    /// when no bundle is held or the one held is too old.
    pub async fn current(&self, now: u64) -> Result<Arc<TrustSnapshot>, TrustError> {
        let due = match self.held() {
            None => true,
            Some((_, fetched_at)) => {
                fetched_at != u64::MAX
                    && now.saturating_sub(fetched_at) >= self.settings.refresh_seconds
            }
        };
        if due && let Source::Bundle { .. } = self.source {
            // One refresh at a time; the others verify with what is held meanwhile.
            if let Ok(_guard) = self.refreshing.try_lock()
                && let Err(error) = self.refresh(now).await
            {
                tracing::warn!(%error, "trust bundle refresh failed; using the cached copy");
            }
        }
        let (snapshot, _) = self
            .held()
            .ok_or_else(|| TrustError::Stale("no trust bundle fetched or cached".into()))?;
        if let Some(bundle) = &snapshot.bundle {
            bundle
                .check_fresh(now)
                .map_err(|e| TrustError::Stale(e.to_string()))?;
        }
        Ok(snapshot)
    }

    /// Fetches the bundle, verifies it (refusing one older than the one held) and keeps it,
    /// in memory and on disk.
    async fn refresh(&self, now: u64) -> Result<(), TrustError> {
        let Source::Bundle { url, agency_roots } = &self.source else {
            return Ok(());
        };
        let jwt = self.fetch(url).await?;
        let bundle = TrustBundle::verify(jwt.trim(), agency_roots, now)
            .map_err(|e| TrustError::Stale(format!("the fetched bundle: {e}")))?;
        if let Some((held, _)) = self.held()
            && let Some(held) = &held.bundle
        {
            bundle.check_replaces(held).map_err(|e: TrustBundleError| {
                TrustError::Stale(format!("the fetched bundle: {e}"))
            })?;
        }
        write_atomically(&self.cache_dir.join("bundle.jwt"), jwt.as_bytes());
        let snapshot = Arc::new(snapshot_of(bundle, &self.settings));
        if let Ok(mut held) = self.held.write() {
            *held = Some(Held {
                snapshot,
                fetched_at: now,
            });
        }
        Ok(())
    }

    async fn fetch(&self, url: &str) -> Result<String, TrustError> {
        let agent = self.agent.clone();
        let url = url.to_owned();
        tokio::task::spawn_blocking(move || {
            let mut response = agent
                .get(&url)
                .call()
                .map_err(|e| TrustError::Stale(format!("fetching {url}: {e}")))?;
            if response.status() != 200 {
                return Err(TrustError::Stale(format!(
                    "fetching {url}: HTTP {}",
                    response.status()
                )));
            }
            response
                .body_mut()
                .with_config()
                .limit(MAX_DOCUMENT)
                .read_to_string()
                .map_err(|e| TrustError::Stale(format!("reading {url}: {e}")))
        })
        .await
        .map_err(|e| TrustError::Stale(e.to_string()))?
    }

    /// Where the relying party whose registration names `reference` stands at `now`, by the
    /// relying parties' status list of `snapshot`'s bundle: fetched again when the copy held is
    /// older than the status refresh interval (else, at the first use, read from the disk
    /// cache), verified under the bundle's issuer roots for that URI, a newer list replacing the
    /// held one. A revocation on any verified list counts (a revocation is final); `Registered`
    /// needs the list within the bundle's maximum status-list age.
    pub async fn rp_standing(
        &self,
        snapshot: &TrustSnapshot,
        reference: Option<&StatusReference>,
        now: u64,
    ) -> RpStanding {
        let Some(reference) = reference else {
            return RpStanding::Registered;
        };
        let Some(bundle) = &snapshot.bundle else {
            return RpStanding::Unknown("pinned trust: no relying-party status list".into());
        };
        let Some(uri) = bundle.status_lists.relying_parties.as_deref() else {
            return RpStanding::Unknown(
                "the trust bundle names no relying-party status list".into(),
            );
        };
        if uri != reference.uri {
            return RpStanding::Unknown(format!(
                "the registration's status list {} is not the trust bundle's",
                reference.uri
            ));
        }
        let fetched_at = self.held_rp_status().map(|(_, at)| at);
        let due = fetched_at
            .is_none_or(|at| now.saturating_sub(at) >= self.settings.status_refresh_seconds);
        if due && let Ok(_guard) = self.rp_refreshing.try_lock() {
            let cache = self.cache_dir.join("status").join("relying-parties.jwt");
            let (token, from_network) = match self.fetch(uri).await {
                Ok(token) => (Some(token), true),
                Err(error) => {
                    tracing::warn!(%error, "relying-party status list fetch failed");
                    let cached = fetched_at
                        .is_none()
                        .then(|| std::fs::read_to_string(&cache).ok())
                        .flatten();
                    (cached, false)
                }
            };
            if let Some(token) = token {
                let mut lists = StatusListCache::new();
                let trust = StatusTrust::Anchors(snapshot.issuer_anchors.clone());
                match lists.insert(uri, token.trim(), &trust, now) {
                    Ok(()) => {
                        if let Some(verified) = lists.get(uri) {
                            self.keep_rp_status(verified.clone(), now);
                        }
                        if from_network {
                            write_atomically(&cache, token.as_bytes());
                        }
                    }
                    Err(error) => tracing::warn!(%error, "relying-party status list refused"),
                }
            }
        }
        let Some((list, _)) = self.held_rp_status() else {
            return RpStanding::Unknown("no relying-party status list fetched or cached".into());
        };
        match list.status_of(reference) {
            Ok(status) if !status.is_valid() => RpStanding::Revoked,
            Ok(_) => match list.check_fresh(now, bundle.max_ages.status_list) {
                Ok(()) => RpStanding::Registered,
                Err(error) => RpStanding::Unknown(error.to_string()),
            },
            Err(error) => RpStanding::Unknown(error.to_string()),
        }
    }

    fn held_rp_status(&self) -> Option<(StatusListToken, u64)> {
        self.rp_status.lock().ok()?.clone()
    }

    /// Keeps `list`, unless the one held is newer (an older list could turn a revocation back
    /// into "valid").
    fn keep_rp_status(&self, list: StatusListToken, now: u64) {
        if let Ok(mut held) = self.rp_status.lock() {
            match held.as_mut() {
                Some((current, fetched_at)) if current.iat > list.iat => *fetched_at = now,
                _ => *held = Some((list, now)),
            }
        }
    }

    /// Makes sure `rp` holds a fresh copy of each status list of `uris` that lies under the
    /// trusted locations: fetched when the copy is older than the refresh interval, else read
    /// from the disk cache when the fetch fails. Lists elsewhere are never fetched (their
    /// credentials then fail for want of status).
    pub async fn ensure_status_lists(
        &self,
        uris: &[String],
        snapshot: &TrustSnapshot,
        rp: &RwLock<RelyingParty>,
        now: u64,
    ) {
        for uri in uris {
            if !snapshot
                .status_prefixes
                .iter()
                .any(|prefix| under_prefix(uri, prefix))
            {
                tracing::warn!(uri = %uri, "a status list outside the trusted locations: not fetched");
                continue;
            }
            let fetched = self
                .status_fetched
                .lock()
                .ok()
                .and_then(|m| m.get(uri).copied());
            if fetched
                .is_some_and(|at| now.saturating_sub(at) < self.settings.status_refresh_seconds)
            {
                continue;
            }
            let cache = self.cache_dir.join("status").join(format!(
                "{}.jwt",
                dinhdanh_sdk::jose::sha256_b64(uri.as_bytes())
            ));
            let (token, from_network) = match self.fetch(uri).await {
                Ok(token) => (token, true),
                Err(error) if fetched.is_none() => {
                    tracing::warn!(%error, "status list fetch failed; trying the disk cache");
                    match std::fs::read_to_string(&cache) {
                        Ok(token) => (token, false),
                        Err(_) => continue,
                    }
                }
                Err(error) => {
                    tracing::warn!(%error, "status list fetch failed; keeping the copy held");
                    continue;
                }
            };
            let trust = StatusTrust::Anchors(snapshot.issuer_anchors.clone());
            let inserted = rp.write().map_err(|_| ()).and_then(|mut rp| {
                rp.status_lists()
                    .insert(uri, token.trim(), &trust, now)
                    .map_err(|error| tracing::warn!(%error, "status list refused"))
            });
            if inserted.is_ok() {
                if from_network {
                    write_atomically(&cache, token.as_bytes());
                }
                if let Ok(mut m) = self.status_fetched.lock() {
                    m.insert(uri.clone(), now);
                }
            }
        }
    }
}

/// Whether `uri` lies under `prefix` on a path boundary: `https://id.example.vn` covers
/// `https://id.example.vn/status/1`, never `https://id.example.vn.evil.example/…`.
fn under_prefix(uri: &str, prefix: &str) -> bool {
    !prefix.is_empty()
        && uri.starts_with(prefix)
        && (prefix.ends_with('/') || uri[prefix.len()..].starts_with('/'))
}

fn snapshot_of(bundle: TrustBundle, settings: &TrustSettings) -> TrustSnapshot {
    let mut status_prefixes = settings.status_list_prefixes.clone();
    status_prefixes.extend(bundle.status_lists.credentials.clone());
    TrustSnapshot {
        issuer_anchors: bundle.issuer_anchors().unwrap_or_default(),
        status_prefixes,
        bundle: Some(bundle),
    }
}

/// Writes `bytes` to `path` through a temporary file and a rename, so a reader never sees half
/// a document; a failure only costs the cache.
fn write_atomically(path: &Path, bytes: &[u8]) {
    let temporary = path.with_extension("tmp");
    let written =
        std::fs::write(&temporary, bytes).and_then(|()| std::fs::rename(&temporary, path));
    if let Err(error) = written {
        tracing::warn!(%error, path = %path.display(), "caching trust data failed");
    }
}

#[cfg(test)]
mod tests {
    use super::under_prefix;

    #[test]
    fn status_lists_only_under_their_locations() {
        assert!(under_prefix(
            "https://id.example.vn/status/1",
            "https://id.example.vn"
        ));
        assert!(under_prefix(
            "https://id.example.vn/status/1",
            "https://id.example.vn/status/"
        ));
        assert!(!under_prefix(
            "https://id.example.vn.evil.example/s",
            "https://id.example.vn"
        ));
        assert!(!under_prefix(
            "https://id.example.vn:8443/s",
            "https://id.example.vn"
        ));
        assert!(!under_prefix("https://other.example/s", ""));
    }
}

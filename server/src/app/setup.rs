//! Zero-config start: the data directory, the server's secret key, the database (migrated) and,
//! on an empty registry, a synthetic population to try the journeys with.

use std::{
    io::Write,
    path::{Path, PathBuf},
    sync::Arc,
};

use crate::{
    Services,
    domain::registry::generate::Generator,
    platform::config::{Config, SmsGatewayKind},
    platform::secrets::{self, ServerKey},
    platform::sms::{FileSink, HttpGateway, HttpGatewaySettings, SmsError, SmsGateway},
    store::{Citizen, StagedDocument, Store, StoreError},
};

/// The seed of the synthetic registry: the same demo citizens on every fresh start.
pub const SYNTHETIC_SEED: u64 = 0x6469_6e68_6461_6e68;

/// A start-up failure.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SetupError {
    /// The data directory or key file could not be created or read.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The key file exists but is not a key.
    #[error("{0}: expected at least 32 bytes of key")]
    Key(PathBuf),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The WebAuthn relying party could not be configured.
    #[error(transparent)]
    RelyingParty(#[from] crate::app::RelyingPartyError),
    /// A CSCA certificate could not be read.
    #[error("CSCA trust store: {0}")]
    Trust(String),
    /// The issuing key or certificates could not be loaded or made.
    #[error(transparent)]
    Pki(#[from] crate::domain::pki::PkiError),
    /// The signing CA or TSA could not be set up.
    #[error("signing authority: {0}")]
    Signing(#[from] crate::domain::ca::CaError),
    /// The SMS gateway could not be set up.
    #[error(transparent)]
    Sms(#[from] SmsError),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> SetupError + '_ {
    move |source| SetupError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Creates the data directory if missing and makes it and its `keys/` private to their owner
/// (mode 0700): they hold the database, the keys and, in development, codes sent by SMS.
pub fn data_dir(dir: &Path) -> Result<(), SetupError> {
    std::fs::create_dir_all(dir.join("keys")).map_err(io(dir))?;
    restrict(dir, 0o700)?;
    restrict(&dir.join("keys"), 0o700)
}

#[cfg(unix)]
fn restrict(path: &Path, mode: u32) -> Result<(), SetupError> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).map_err(io(path))
}

#[cfg(not(unix))]
fn restrict(_: &Path, _: u32) -> Result<(), SetupError> {
    Ok(())
}

/// The server's HMAC key from `<data dir>/keys/server.key`, generated (32 random bytes, mode
/// 0600) on first start.
pub fn server_key(dir: &Path) -> Result<ServerKey, SetupError> {
    let path = dir.join("keys").join("server.key");
    if !path.exists() {
        let key = zeroize::Zeroizing::new(secrets::random_bytes::<32>());
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(io(&path))?;
        restrict(&path, 0o600)?;
        file.write_all(&key[..]).map_err(io(&path))?;
        file.sync_all().map_err(io(&path))?;
    }
    let key = zeroize::Zeroizing::new(std::fs::read(&path).map_err(io(&path))?);
    if key.len() < 32 {
        return Err(SetupError::Key(path));
    }
    Ok(ServerKey::new(&key))
}

/// Connects to the configured database and migrates it.
pub async fn store(config: &Config, dir: &Path) -> Result<Store, SetupError> {
    let store = Store::connect(&config.database_url(dir)).await?;
    store.migrate().await?;
    Ok(store)
}

/// Everything the domain needs, with the configured SMS gateway (by default the development
/// sink `<data dir>/sms.log`). Must run inside a tokio runtime (the HTTP gateway's worker).
pub fn services(
    store: Store,
    config: Config,
    dir: &Path,
    public_url: String,
) -> Result<Services, SetupError> {
    let key = server_key(dir)?;
    let sms: Arc<dyn SmsGateway> = match config.sms.gateway {
        SmsGatewayKind::File => Arc::new(FileSink::new(dir.join("sms.log"))?),
        SmsGatewayKind::Http => Arc::new(HttpGateway::start(HttpGatewaySettings::from_config(
            &config.sms,
            |name| std::env::var(name).ok(),
        )?)?),
    };
    crate::domain::rp::ca::retire_development_root_without_intermediates(&config, dir)?;
    let issuer = crate::domain::pki::issuer_keys(&config, dir, &public_url)?;
    let anchor = issuer
        .trust_anchor()
        .map_err(|e| crate::domain::pki::PkiError::Invalid {
            path: dir.join("keys").join("agency-root.pem"),
            message: e.to_string(),
        })?;
    let rp = crate::domain::rp::ca::load(&config, dir, &anchor)?;
    let signing_keys = crate::domain::pki::signing_keys(&config, dir, &issuer.root_pem)?;
    let signing = crate::domain::ca::SigningAuthority::new(
        signing_keys,
        &public_url,
        &config.signing.tsa_policy_oid,
    )?;
    let cscas =
        crate::domain::kyc::load_cscas(&csca_files(&config, dir)).map_err(SetupError::Trust)?;
    Ok(Services::new(
        store, key, sms, config, public_url, issuer, signing, cscas, rp,
    )?)
}

/// The CSCA certificates: the configured files and every `.pem` in `<data dir>/trust/csca/`.
pub fn csca_files(config: &Config, dir: &Path) -> Vec<PathBuf> {
    let mut files = config.csca_files.clone();
    if let Ok(entries) = std::fs::read_dir(dir.join("trust").join("csca")) {
        let mut found: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "pem"))
            .collect();
        found.sort();
        files.extend(found);
    }
    files
}

/// Fills an empty registry with `count` synthetic citizens and their documents (the demo
/// citizen has every kind). Returns how many citizens were added.
pub async fn seed_registry(store: &Store, count: u64) -> Result<u64, StoreError> {
    if count == 0 || store.citizen_count().await? > 0 {
        return Ok(0);
    }
    let mut generator = Generator::new(SYNTHETIC_SEED);
    let mut import = store.begin_import().await?;
    let mut remaining = count;
    let mut demo_found = false;
    let mut line = 0i64;
    while remaining > 0 {
        let n = remaining.min(10_000);
        let mut batch: Vec<Citizen> = (0..n).map(|_| generator.citizen()).collect();
        let mut documents = Vec::new();
        for citizen in &mut batch {
            let demo = !demo_found && citizen.status == crate::store::CitizenStatus::Living;
            demo_found |= demo;
            if demo {
                // A number a newcomer can type from the README.
                citizen.phones = Some(crate::domain::registry::generate::DEMO_PHONE.to_owned());
            }
            for (kind, claims) in crate::domain::registry::generate::documents(citizen, demo) {
                line += 1;
                documents.push(StagedDocument {
                    line,
                    id_number: citizen.id_number.clone(),
                    kind: kind.to_owned(),
                    claims: crate::domain::registry::canonical_json(claims).to_string(),
                });
            }
        }
        import.stage(&batch).await?;
        import.stage_documents(&documents).await?;
        remaining -= n;
    }
    let now = crate::platform::clock::now();
    // The seed fills an empty registry: no account yet for a decision to apply to.
    let decide = crate::domain::consequences::registry_decision(
        now,
        crate::platform::config::IssuanceSettings::default().pending_offer_ttl_seconds,
    );
    let never = std::sync::atomic::AtomicBool::new(false);
    import
        .commit("synthetic seed", 0, now, &decide, &never)
        .await?;
    Ok(count)
}

/// A living citizen of the synthetic registry, if it is loaded: someone to enrol as.
pub async fn demo_citizen(store: &Store) -> Result<Option<Citizen>, StoreError> {
    let mut generator = Generator::new(SYNTHETIC_SEED);
    for _ in 0..10 {
        let candidate = generator.citizen();
        if candidate.status == crate::store::CitizenStatus::Living {
            return store.citizen(&candidate.id_number).await;
        }
    }
    Ok(None)
}

//! The verifier's configuration: a TOML file (`--config FILE`, else `<data dir>/verifier.toml`
//! when present), then `DINHDANH_VERIFIER_*` environment variables, then command-line flags.
//! Relative paths in the file are read from the file's directory.

use std::path::{Path, PathBuf};

use dinhdanh_sdk::{jose::Es256KeyPair, x509};
use serde::Deserialize;
use zeroize::Zeroizing;

/// A configuration problem.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VerifierConfigError {
    /// A file could not be read.
    #[error("reading {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid TOML for this configuration.
    #[error("parsing {path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// A value is missing, out of range or malformed.
    #[error("{0}")]
    Invalid(String),
}

/// The relying party's identity: its key, its certificate chain and its registration, as the
/// agency issued them.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct RelyingPartyFiles {
    /// The RP's private key: PKCS#8 (PEM or DER) or a JWK with `d`.
    pub key_file: Option<PathBuf>,
    /// What `dinhdanh-server rp register --json` printed:
    /// `{"rp_id","client_id","certificate_chain","registration"}`.
    pub registration_file: Option<PathBuf>,
    /// Without `registration_file`: the certificate chain, PEM (access certificate first).
    pub certificate_chain_file: Option<PathBuf>,
    /// Without `registration_file`: the registration JWT (`rp-registration+jwt`).
    pub registration_jwt_file: Option<PathBuf>,
    /// Without `registration_file`: the client identifier (`x509_san_dns:HOST`).
    pub client_id: Option<String>,
}

/// Where trust comes from and how fresh it must be.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct TrustSettings {
    /// The agency's trust bundle (`GET <agency>/trust/bundle`, a signed `trust-bundle+jwt`).
    pub bundle_url: Option<String>,
    /// The agency root the bundle must be signed under (PEM), pinned.
    pub agency_root: Option<PathBuf>,
    /// Without a bundle: issuer roots pinned from a PEM file (development, or an RP that
    /// distributes them itself).
    pub issuer_roots: Option<PathBuf>,
    /// Status lists are fetched only under these URL prefixes (with a bundle, its status-list
    /// locations are added): a presentation never makes the service fetch elsewhere.
    pub status_list_prefixes: Vec<String>,
    /// Trust data older than this is stale when the bundle does not say, seconds.
    pub max_age_seconds: u64,
    /// The bundle is fetched again when the cached copy is older than this, seconds.
    pub refresh_seconds: u64,
    /// A status list older than this is stale, seconds.
    pub status_max_age_seconds: u64,
    /// A status list is fetched again when the cached copy is older than this, seconds (0:
    /// before every verification).
    pub status_refresh_seconds: u64,
}

impl Default for TrustSettings {
    fn default() -> Self {
        Self {
            bundle_url: None,
            agency_root: None,
            issuer_roots: None,
            status_list_prefixes: Vec::new(),
            max_age_seconds: 86_400,
            refresh_seconds: 3_600,
            status_max_age_seconds: 3_600,
            status_refresh_seconds: 60,
        }
    }
}

/// The verifier's configuration.
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct VerifierConfig {
    /// Address to listen on.
    pub listen: String,
    /// The URL wallets reach the service at (https): request objects and responses live under
    /// it, and its host must be the DNS name of the RP's certificate.
    pub public_url: Option<String>,
    /// `sqlite://…` (default `<data dir>/verifier.db`) or `postgres://…` (many instances).
    pub database_url: Option<String>,
    /// How long a request stays answerable, seconds.
    pub request_ttl_seconds: u64,
    /// How long a request's row (and its result) is kept after it expires, seconds.
    pub result_ttl_seconds: u64,
    /// The RP backend's API keys (`Authorization: Bearer`); several for rotation.
    pub api_keys: Vec<String>,
    /// A file of API keys, one a line (e.g. a container secret).
    pub api_keys_file: Option<PathBuf>,
    /// A connection's request headers must arrive within this, seconds.
    pub header_read_timeout_seconds: u64,
    /// The relying party.
    pub relying_party: RelyingPartyFiles,
    /// Trust data.
    pub trust: TrustSettings,
}

impl std::fmt::Debug for VerifierConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifierConfig")
            .field("listen", &self.listen)
            .field("public_url", &self.public_url)
            .field("api_keys", &self.api_keys.len())
            .finish_non_exhaustive()
    }
}

impl Default for VerifierConfig {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8090".into(),
            public_url: None,
            database_url: None,
            request_ttl_seconds: 300,
            result_ttl_seconds: 3_600,
            api_keys: Vec::new(),
            api_keys_file: None,
            header_read_timeout_seconds: 10,
            relying_party: RelyingPartyFiles::default(),
            trust: TrustSettings::default(),
        }
    }
}

/// The shortest API key accepted: 128 bits as base64 text.
pub const MIN_API_KEY_LEN: usize = 22;

impl VerifierConfig {
    /// Loads `file` (else `<data dir>/verifier.toml` when present) and applies `vars` (the
    /// environment, passed in so tests do not depend on the process's).
    pub fn load(
        file: Option<&Path>,
        data_dir: &Path,
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, VerifierConfigError> {
        let default_file = data_dir.join("verifier.toml");
        let path = file
            .map(Path::to_path_buf)
            .or_else(|| default_file.exists().then_some(default_file));
        let mut config = match &path {
            Some(path) => {
                let text = read_text(path)?;
                let mut config: Self =
                    toml::from_str(&text).map_err(|e| VerifierConfigError::Parse {
                        path: path.clone(),
                        message: e.to_string(),
                    })?;
                if let Some(dir) = path.parent() {
                    config.resolve_paths(dir);
                }
                config
            }
            None => Self::default(),
        };
        for (name, value) in vars {
            config.set_var(&name, value)?;
        }
        if config.database_url.is_none() {
            config.database_url = Some(format!(
                "sqlite://{}",
                data_dir.join("verifier.db").display()
            ));
        }
        if let Some(file) = &config.api_keys_file {
            config.api_keys.extend(
                read_text(file)?
                    .lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .map(str::to_owned),
            );
        }
        config.validate()?;
        Ok(config)
    }

    fn resolve_paths(&mut self, dir: &Path) {
        let rp = &mut self.relying_party;
        let trust = &mut self.trust;
        for path in [
            &mut rp.key_file,
            &mut rp.registration_file,
            &mut rp.certificate_chain_file,
            &mut rp.registration_jwt_file,
            &mut trust.agency_root,
            &mut trust.issuer_roots,
            &mut self.api_keys_file,
        ]
        .into_iter()
        .flatten()
        {
            if path.is_relative() {
                *path = dir.join(&*path);
            }
        }
    }

    fn set_var(&mut self, name: &str, value: String) -> Result<(), VerifierConfigError> {
        let number = |value: &str| {
            value.parse::<u64>().map_err(|_| {
                VerifierConfigError::Invalid(format!("{name}: expected a whole number"))
            })
        };
        match name {
            "DINHDANH_VERIFIER_LISTEN" => self.listen = value,
            "DINHDANH_VERIFIER_PUBLIC_URL" => self.public_url = Some(value),
            "DINHDANH_VERIFIER_DATABASE_URL" => self.database_url = Some(value),
            "DINHDANH_VERIFIER_API_KEYS" => {
                self.api_keys = value
                    .split(',')
                    .map(str::trim)
                    .filter(|k| !k.is_empty())
                    .map(str::to_owned)
                    .collect();
            }
            "DINHDANH_VERIFIER_API_KEYS_FILE" => self.api_keys_file = Some(value.into()),
            "DINHDANH_VERIFIER_REQUEST_TTL_SECONDS" => self.request_ttl_seconds = number(&value)?,
            "DINHDANH_VERIFIER_KEY_FILE" => self.relying_party.key_file = Some(value.into()),
            "DINHDANH_VERIFIER_REGISTRATION_FILE" => {
                self.relying_party.registration_file = Some(value.into());
            }
            "DINHDANH_VERIFIER_TRUST_BUNDLE_URL" => self.trust.bundle_url = Some(value),
            "DINHDANH_VERIFIER_AGENCY_ROOT" => self.trust.agency_root = Some(value.into()),
            "DINHDANH_VERIFIER_ISSUER_ROOTS" => self.trust.issuer_roots = Some(value.into()),
            "DINHDANH_VERIFIER_STATUS_REFRESH_SECONDS" => {
                self.trust.status_refresh_seconds = number(&value)?;
            }
            _ => {}
        }
        Ok(())
    }

    fn validate(&self) -> Result<(), VerifierConfigError> {
        let invalid = |m: &str| Err(VerifierConfigError::Invalid(m.into()));
        match &self.public_url {
            None => return invalid("public_url is required (the https URL wallets reach)"),
            Some(url) if !url.starts_with("https://") || url.contains(['?', '#']) => {
                return invalid("public_url must be an https URL without query or fragment");
            }
            Some(_) => {}
        }
        if self.api_keys.is_empty() {
            return invalid(
                "at least one API key is required (api_keys, api_keys_file or DINHDANH_VERIFIER_API_KEYS)",
            );
        }
        if self
            .api_keys
            .iter()
            .any(|k| k.len() < MIN_API_KEY_LEN || !k.bytes().all(|b| b.is_ascii_graphic()))
        {
            return Err(VerifierConfigError::Invalid(format!(
                "every API key must be at least {MIN_API_KEY_LEN} printable characters"
            )));
        }
        if !(30..=3_600).contains(&self.request_ttl_seconds) {
            return invalid("request_ttl_seconds must be between 30 and 3600");
        }
        if self.relying_party.key_file.is_none() {
            return invalid("relying_party.key_file is required");
        }
        let trust = &self.trust;
        match (&trust.bundle_url, &trust.agency_root, &trust.issuer_roots) {
            (Some(_), Some(_), None) | (None, None, Some(_)) => {}
            (Some(_), None, _) => {
                return invalid(
                    "trust.bundle_url needs trust.agency_root (the pinned agency root)",
                );
            }
            _ => {
                return invalid(
                    "trust: set bundle_url and agency_root, or (without a bundle) issuer_roots",
                );
            }
        }
        if trust.max_age_seconds == 0 || trust.status_max_age_seconds == 0 {
            return invalid("trust: maximum ages must be positive");
        }
        Ok(())
    }

    /// The public URL without a trailing `/`.
    pub fn base_url(&self) -> &str {
        self.public_url
            .as_deref()
            .unwrap_or_default()
            .trim_end_matches('/')
    }

    /// The database URL (set by [`VerifierConfig::load`]).
    pub fn database(&self) -> &str {
        self.database_url.as_deref().unwrap_or_default()
    }

    /// Reads the relying party's key, chain, client id and registration.
    pub fn relying_party(&self) -> Result<RelyingPartyIdentity, VerifierConfigError> {
        let rp = &self.relying_party;
        let key_file = rp
            .key_file
            .as_deref()
            .ok_or_else(|| VerifierConfigError::Invalid("relying_party.key_file".into()))?;
        let key = read_key(key_file)?;
        let (client_id, chain_pem, registration) = match &rp.registration_file {
            Some(file) => {
                let printed: RegisterOutput =
                    serde_json::from_str(&read_text(file)?).map_err(|e| {
                        VerifierConfigError::Parse {
                            path: file.clone(),
                            message: e.to_string(),
                        }
                    })?;
                (
                    printed.client_id,
                    printed.certificate_chain,
                    Some(printed.registration),
                )
            }
            None => {
                let chain = rp.certificate_chain_file.as_deref().ok_or_else(|| {
                    VerifierConfigError::Invalid(
                        "relying_party: registration_file, or certificate_chain_file and client_id"
                            .into(),
                    )
                })?;
                let client_id = rp.client_id.clone().ok_or_else(|| {
                    VerifierConfigError::Invalid("relying_party.client_id is required".into())
                })?;
                let registration = rp
                    .registration_jwt_file
                    .as_deref()
                    .map(read_text)
                    .transpose()?
                    .map(|jwt| jwt.trim().to_owned());
                (client_id, read_text(chain)?, registration)
            }
        };
        let chain = x509::pem_to_der_chain(&chain_pem).map_err(|e| {
            VerifierConfigError::Invalid(format!("relying_party certificate chain: {e}"))
        })?;
        let leaf = chain.first().ok_or_else(|| {
            VerifierConfigError::Invalid("relying_party certificate chain is empty".into())
        })?;
        // The access certificate must certify this key (its SubjectPublicKeyInfo holds the
        // uncompressed point), or every wallet would refuse the requests.
        let point = key.public_key().sec1_uncompressed();
        if !leaf.windows(point.len()).any(|w| w == point) {
            return Err(VerifierConfigError::Invalid(
                "relying_party: the key is not the access certificate's".into(),
            ));
        }
        if let Some(host) = client_id.strip_prefix("x509_san_dns:") {
            let public_host = self
                .base_url()
                .trim_start_matches("https://")
                .split(['/', ':'])
                .next()
                .unwrap_or_default();
            if !public_host.eq_ignore_ascii_case(host) {
                return Err(VerifierConfigError::Invalid(format!(
                    "public_url must be on {host} (the client id's DNS name): wallets refuse a response_uri elsewhere"
                )));
            }
        }
        Ok(RelyingPartyIdentity {
            key,
            chain,
            client_id,
            registration,
        })
    }
}

/// What `dinhdanh-server rp register --json` prints.
#[derive(Deserialize)]
struct RegisterOutput {
    client_id: String,
    certificate_chain: String,
    registration: String,
}

/// The relying party as configured.
pub struct RelyingPartyIdentity {
    /// Its key.
    pub key: Es256KeyPair,
    /// Its certificate chain, DER, leaf first.
    pub chain: Vec<Vec<u8>>,
    /// Its client identifier.
    pub client_id: String,
    /// Its registration JWT.
    pub registration: Option<String>,
}

fn read_text(path: &Path) -> Result<String, VerifierConfigError> {
    std::fs::read_to_string(path).map_err(|source| VerifierConfigError::Read {
        path: path.to_owned(),
        source,
    })
}

/// A P-256 key from a PKCS#8 file (PEM or DER) or a JWK.
fn read_key(path: &Path) -> Result<Es256KeyPair, VerifierConfigError> {
    let bytes =
        Zeroizing::new(
            std::fs::read(path).map_err(|source| VerifierConfigError::Read {
                path: path.to_owned(),
                source,
            })?,
        );
    let bad = |what: &str| VerifierConfigError::Invalid(format!("{}: {what}", path.display()));
    let text = std::str::from_utf8(&bytes).ok().map(str::trim);
    match text {
        Some(text) if text.starts_with('{') => {
            let jwk: Zeroizing<String> = Zeroizing::new(text.to_owned());
            let value: serde_json::Value =
                serde_json::from_str(&jwk).map_err(|_| bad("not a JWK"))?;
            Es256KeyPair::from_jwk(&value).map_err(|_| bad("not a P-256 private JWK"))
        }
        Some(text) if text.starts_with("-----BEGIN PRIVATE KEY-----") => {
            use base64::Engine;
            let body: String = text.lines().filter(|l| !l.starts_with("-----")).collect();
            let der = Zeroizing::new(
                base64::engine::general_purpose::STANDARD
                    .decode(body.trim())
                    .map_err(|_| bad("bad PEM"))?,
            );
            Es256KeyPair::from_pkcs8_der(&der).map_err(|_| bad("not a P-256 PKCS#8 key"))
        }
        _ => Es256KeyPair::from_pkcs8_der(&bytes).map_err(|_| bad("not a P-256 PKCS#8 key")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn file_then_environment_and_refusals() {
        let dir = tempfile::tempdir().unwrap();
        let file = write(
            dir.path(),
            "verifier.toml",
            "public_url = \"https://verifier.bank.example.vn\"\napi_keys = [\"k-0123456789abcdefghijklmn\"]\n[relying_party]\nkey_file = \"rp.key\"\nregistration_file = \"rp.json\"\n[trust]\nissuer_roots = \"roots.pem\"\n",
        );
        let config = VerifierConfig::load(
            Some(&file),
            dir.path(),
            [(
                "DINHDANH_VERIFIER_API_KEYS".to_owned(),
                "a-0123456789abcdefghijklmn, b-0123456789abcdefghijklmn".to_owned(),
            )],
        )
        .unwrap();
        assert_eq!(config.api_keys.len(), 2);
        assert_eq!(
            config.relying_party.key_file.as_deref(),
            Some(dir.path().join("rp.key").as_path())
        );
        assert!(config.database().starts_with("sqlite://"));
        // A short key, an http public URL, no trust source: refused.
        for (name, value) in [
            ("DINHDANH_VERIFIER_API_KEYS", "short"),
            (
                "DINHDANH_VERIFIER_PUBLIC_URL",
                "http://verifier.bank.example.vn",
            ),
            (
                "DINHDANH_VERIFIER_TRUST_BUNDLE_URL",
                "https://id.example.vn/trust/bundle",
            ),
        ] {
            let refused = VerifierConfig::load(
                Some(&file),
                dir.path(),
                [(name.to_owned(), value.to_owned())],
            );
            assert!(
                matches!(refused, Err(VerifierConfigError::Invalid(_))),
                "{name}: {refused:?}"
            );
        }
    }
}

//! Configuration: a TOML file (`--config-file FILE`, else `<data dir>/config.toml` when present), then
//! `DINHDANH_*` environment variables (and `DATABASE_URL`), then command-line flags.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::platform::net::Cidr;

/// A configuration problem.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
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
    /// A value is out of range or malformed.
    #[error("{0}")]
    Invalid(String),
}

/// Android and iOS apps that share the WebAuthn relying party (served at `/.well-known/`).
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct Apps {
    /// Android package name, e.g. `vn.dinhdanh.wallet`.
    pub android_package: Option<String>,
    /// SHA-256 fingerprints of the Android signing certificates (`AA:BB:...`).
    pub android_sha256_cert_fingerprints: Vec<String>,
    /// iOS app identifiers (`TEAMID.bundle.id`).
    pub apple_app_ids: Vec<String>,
}

/// Limits of level-1 enrolment.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct EnrolmentLimits {
    /// How long a one-time code is valid.
    pub code_ttl_seconds: i64,
    /// Wrong codes allowed before the enrolment dies.
    pub max_attempts: i64,
    /// Codes sent to one phone per window.
    pub per_phone: i64,
    /// Enrolment requests from one IP address per window.
    pub per_ip: i64,
    /// The rate-limit window.
    pub window_seconds: i64,
}

impl Default for EnrolmentLimits {
    fn default() -> Self {
        Self {
            code_ttl_seconds: 300,
            max_attempts: 5,
            per_phone: 5,
            per_ip: 60,
            window_seconds: 3600,
        }
    }
}

/// Limits on the anonymous endpoints that store state for a caller nobody knows yet (passkey
/// sign-in start and finish, pushed authorization requests): requests from one client address
/// to each endpoint per window. Checked before anything else is read or stored.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct AnonymousLimits {
    /// Requests from one address to one endpoint per window.
    pub per_address: i64,
    /// The window.
    pub window_seconds: i64,
}

impl Default for AnonymousLimits {
    fn default() -> Self {
        // One a second on average: far above a person signing in, far below a flood.
        Self {
            per_address: 60,
            window_seconds: 60,
        }
    }
}

/// Which SMS gateway carries one-time codes.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SmsGatewayKind {
    /// Development: JSON lines in `<data dir>/sms.log`.
    #[default]
    File,
    /// An operator's HTTP API (see [`crate::platform::sms::HttpGateway`]).
    Http,
}

/// The SMS gateway. The HTTP gateway's bearer token is never written here: it is read from the
/// environment variable `token_env` or the file `token_file` (e.g. a container secret).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct SmsSettings {
    /// `file` (the default) or `http`.
    pub gateway: SmsGatewayKind,
    /// The HTTP gateway's URL (https, or http to a loopback address).
    pub url: Option<String>,
    /// The environment variable holding the bearer token.
    pub token_env: Option<String>,
    /// The file holding the bearer token (surrounding whitespace ignored).
    pub token_file: Option<PathBuf>,
    /// Connecting (TCP and TLS) may take this long.
    pub connect_timeout_seconds: u64,
    /// A whole request may take this long.
    pub request_timeout_seconds: u64,
    /// Tries per message, the first included, on transport errors, 5xx and 429.
    pub max_attempts: u32,
    /// The wait before the second try; it doubles before each next one.
    pub retry_initial_millis: u64,
    /// Messages waiting for the gateway; a message beyond this is refused, never queued.
    pub queue_capacity: usize,
    /// Messages handed to the gateway at the same time.
    pub concurrency: usize,
}

impl Default for SmsSettings {
    fn default() -> Self {
        Self {
            gateway: SmsGatewayKind::File,
            url: None,
            token_env: None,
            token_file: None,
            connect_timeout_seconds: 5,
            request_timeout_seconds: 10,
            max_attempts: 4,
            retry_initial_millis: 500,
            queue_capacity: 1_000,
            concurrency: 4,
        }
    }
}

/// The issuing key and certificates (PKCS#8 DER key, PEM chain leaf first, PEM root). All three
/// or none: without them a development root and issuer are generated under `<data dir>/keys/`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct IssuerFiles {
    /// The issuing key, PKCS#8 DER.
    pub key_file: Option<PathBuf>,
    /// Its certificate chain, PEM, leaf first, without the root.
    pub certificate_file: Option<PathBuf>,
    /// The agency root the chain leads to, PEM.
    pub root_file: Option<PathBuf>,
}

/// The relying-party registry (`[relying_parties]`): the relying-party CA that certifies
/// access certificates, the registrar that signs registrations, and the trust bundle. Key files
/// come in pairs (PKCS#8 DER key, PEM chain leaf first without the agency root); without them
/// development ones are generated under `<data dir>/keys/` from the development agency root.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct RelyingPartySettings {
    /// The relying-party CA's key, PKCS#8 DER.
    pub ca_key_file: Option<PathBuf>,
    /// The relying-party CA's certificate (PEM), certified by the agency root.
    pub ca_certificate_file: Option<PathBuf>,
    /// The registrar's key (signs registrations), PKCS#8 DER.
    pub registrar_key_file: Option<PathBuf>,
    /// The registrar's certificate (PEM), certified by the relying-party CA.
    pub registrar_certificate_file: Option<PathBuf>,
    /// Validity of an access certificate.
    pub certificate_validity_days: i64,
    /// Validity of a registration (`exp - iat`).
    pub registration_validity_days: i64,
    /// `nextUpdate` of the relying-party CRL, from its `thisUpdate`; a new CRL is made when half
    /// of it has passed, and at once after a revocation.
    pub crl_validity_seconds: i64,
    /// How long a trust bundle may be used (`max_ages.trust_bundle`, and its `exp - iat`).
    pub bundle_max_age_seconds: i64,
    /// How old a status list may be when a wallet or verifier relies on it
    /// (`max_ages.status_list`).
    pub status_list_max_age_seconds: i64,
    /// How old a CRL may be when relied on (`max_ages.crl`).
    pub crl_max_age_seconds: i64,
}

impl Default for RelyingPartySettings {
    fn default() -> Self {
        Self {
            ca_key_file: None,
            ca_certificate_file: None,
            registrar_key_file: None,
            registrar_certificate_file: None,
            certificate_validity_days: 365,
            registration_validity_days: 365,
            crl_validity_seconds: 86_400,
            bundle_max_age_seconds: 86_400,
            status_list_max_age_seconds: 86_400,
            crl_max_age_seconds: 86_400,
        }
    }
}

/// The citizen signing certificate authority, its OCSP responder and the time-stamp authority
/// (`[signing]`). Key files come in pairs (PKCS#8 DER key, PEM chain leaf first without the
/// agency root); without them development ones are generated under `<data dir>/keys/` from the
/// development agency root.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct SigningSettings {
    /// The signing CA's key, PKCS#8 DER.
    pub ca_key_file: Option<PathBuf>,
    /// The signing CA's certificate chain, PEM, its own certificate first, without the root.
    pub ca_certificate_file: Option<PathBuf>,
    /// The time-stamp authority's key, PKCS#8 DER.
    pub tsa_key_file: Option<PathBuf>,
    /// The TSA's certificate chain, PEM, its own certificate first, without the root.
    pub tsa_certificate_file: Option<PathBuf>,
    /// Validity of a citizen's signing certificate.
    pub certificate_validity_days: i64,
    /// How recent the passkey sign-in of the session asking for a certificate must be
    /// (step-up).
    pub step_up_seconds: i64,
    /// `nextUpdate` of the CRL, from its `thisUpdate`; a new CRL is made when half of it has
    /// passed, and at once after any revocation.
    pub crl_validity_seconds: i64,
    /// `nextUpdate` of an OCSP answer, from when it was made.
    pub ocsp_validity_seconds: i64,
    /// The TSA policy (dotted object identifier) every time-stamp names.
    pub tsa_policy_oid: String,
}

impl Default for SigningSettings {
    fn default() -> Self {
        Self {
            ca_key_file: None,
            ca_certificate_file: None,
            tsa_key_file: None,
            tsa_certificate_file: None,
            certificate_validity_days: 730,
            step_up_seconds: 300,
            crl_validity_seconds: 86_400,
            ocsp_validity_seconds: 3_600,
            // Under the development arc of the repository (1.3.6.1.4.1 is IANA's private
            // enterprise arc; 99999 is not assigned): production configures the agency's own.
            tsa_policy_oid: "1.3.6.1.4.1.99999.1.1".into(),
        }
    }
}

/// Credential issuance (OpenID4VCI) settings.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct IssuanceSettings {
    /// Most copies one credential request may ask for (`batch_credential_issuance.batch_size`).
    pub batch_size: u32,
    /// How long a credential offer (pre-authorized code) lives: short, it is handed over and
    /// redeemed at once.
    pub offer_ttl_seconds: i64,
    /// How long an offer a lifecycle event leaves for the citizen (a re-issue after a registry
    /// change, the re-offer after a recovery) waits to be collected: long, the citizen collects
    /// it whenever they next sign in.
    pub pending_offer_ttl_seconds: i64,
    /// Transaction codes compared per offer (each attempt is counted before the comparison);
    /// a wrong one that reaches this ends the offer.
    pub tx_code_attempts: i64,
    /// Lifetime of an access token.
    pub token_ttl_seconds: i64,
    /// Lifetime of a `c_nonce`.
    pub nonce_ttl_seconds: i64,
    /// How old a key or DPoP proof's `iat` may be.
    pub proof_max_age_seconds: i64,
    /// How far ahead of our clock a key or DPoP proof's `iat` may be (the wallet's clock may
    /// run fast).
    pub clock_skew_seconds: i64,
    /// Validity of an issued credential.
    pub credential_ttl_days: i64,
    /// Entries per status list, as a power of two (16 to 24).
    pub status_list_size_log2: u32,
    /// `ttl` of status list tokens: how long verifiers may cache them.
    pub status_ttl_seconds: i64,
    /// `exp` of status list tokens, from `iat`.
    pub status_validity_seconds: i64,
}

impl Default for IssuanceSettings {
    fn default() -> Self {
        Self {
            batch_size: 10,
            offer_ttl_seconds: 3_600,
            pending_offer_ttl_seconds: 30 * 86_400,
            tx_code_attempts: 5,
            token_ttl_seconds: 600,
            nonce_ttl_seconds: 300,
            proof_max_age_seconds: 300,
            clock_skew_seconds: 30,
            credential_ttl_days: 365,
            status_list_size_log2: 20,
            status_ttl_seconds: 300,
            status_validity_seconds: 86_400,
        }
    }
}

/// A wallet app registered for the authorization code flow (an OAuth public client): only these
/// may push authorization requests, and only to their exact redirect URIs. The consent page names
/// the wallet by `name`, never by anything the request says.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct WalletClient {
    /// The `client_id` the wallet sends.
    pub client_id: String,
    /// The name the citizen sees on the consent page.
    pub name: String,
    /// Redirect URIs, compared byte for byte (e.g. the app's https app link and its custom
    /// scheme).
    pub redirect_uris: Vec<String>,
}

impl WalletClient {
    /// The wallet of this repository (SDK, bindings, journeys), registered when the
    /// configuration names none, so a development server works without configuration.
    pub fn development() -> Self {
        Self {
            client_id: "dinhdanh-wallet".into(),
            name: "Ví Định danh điện tử / dinhdanh wallet".into(),
            redirect_uris: vec!["vn.dinhdanh.wallet:/callback".into()],
        }
    }
}

/// Limits of staff access to the population registry.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct RegistryLimits {
    /// Citizen records one staff member may look up per window (single and bulk look-ups
    /// together).
    pub records_per_window: i64,
    /// The window.
    pub window_seconds: i64,
}

impl Default for RegistryLimits {
    fn default() -> Self {
        Self {
            records_per_window: 2_000,
            window_seconds: 3_600,
        }
    }
}

/// The server's configuration.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// `sqlite://...` or `postgres://...`; default `sqlite://<data dir>/dinhdanh.db`.
    pub database_url: Option<String>,
    /// The URL citizens and apps reach the server at; default `http://localhost:<port>`.
    pub public_url: Option<String>,
    /// WebAuthn relying-party id; default: the public URL's host.
    pub rp_id: Option<String>,
    /// Extra WebAuthn origins (e.g. `android:apk-key-hash:...`); the public URL is always one.
    pub rp_origins: Vec<String>,
    /// Address `serve` listens on.
    pub listen: String,
    /// Lifetime of a signed-in session.
    pub session_ttl_seconds: i64,
    /// Citizens generated into an empty registry on first start (0: none).
    pub seed_citizens: u64,
    /// Requests that take longer are answered 408.
    pub request_timeout_seconds: u64,
    /// Largest request body accepted.
    pub max_body_bytes: usize,
    /// A connection whose request headers are not complete within this time is closed, however
    /// slowly its bytes trickle in.
    pub header_read_timeout_seconds: u64,
    /// Reverse proxies (addresses or CIDR blocks) whose `X-Forwarded-For` is believed; from any
    /// other peer the header is ignored.
    pub trusted_proxies: Vec<Cidr>,
    /// Limits on anonymous endpoints that store state.
    pub anonymous_limits: AnonymousLimits,
    /// The SMS gateway.
    pub sms: SmsSettings,
    /// Enrolment limits.
    pub enrolment: EnrolmentLimits,
    /// Mobile apps sharing the relying party.
    pub apps: Apps,
    /// The issuing key and certificates.
    pub issuer: IssuerFiles,
    /// Credential issuance.
    pub issuance: IssuanceSettings,
    /// The relying-party registry, its CA and the trust bundle.
    pub relying_parties: RelyingPartySettings,
    /// Citizen signing certificates, CRL, OCSP and time-stamps.
    pub signing: SigningSettings,
    /// PEM files of the CSCAs whose citizen ID cards are accepted for level 2 (besides every
    /// `.pem` in `<data dir>/trust/csca/`).
    pub csca_files: Vec<PathBuf>,
    /// Wallet apps allowed to use the authorization code flow (`[[wallet_clients]]`); by
    /// default the repository's own wallet ([`WalletClient::development`]).
    pub wallet_clients: Vec<WalletClient>,
    /// Staff look-ups of the registry.
    pub registry: RegistryLimits,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            database_url: None,
            public_url: None,
            rp_id: None,
            rp_origins: Vec::new(),
            listen: "127.0.0.1:8080".into(),
            session_ttl_seconds: 900,
            seed_citizens: 5_000,
            request_timeout_seconds: 30,
            max_body_bytes: 64 * 1024,
            header_read_timeout_seconds: 10,
            trusted_proxies: Vec::new(),
            anonymous_limits: AnonymousLimits::default(),
            sms: SmsSettings::default(),
            enrolment: EnrolmentLimits::default(),
            apps: Apps::default(),
            issuer: IssuerFiles::default(),
            issuance: IssuanceSettings::default(),
            relying_parties: RelyingPartySettings::default(),
            signing: SigningSettings::default(),
            csca_files: Vec::new(),
            wallet_clients: vec![WalletClient::development()],
            registry: RegistryLimits::default(),
        }
    }
}

impl Config {
    /// Loads the file (if any) and applies the environment. `vars` is the environment, passed in
    /// so tests do not depend on the process's.
    pub fn load(
        file: Option<&Path>,
        data_dir: &Path,
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let default_file = data_dir.join("config.toml");
        let path = file
            .map(Path::to_path_buf)
            .or_else(|| default_file.exists().then_some(default_file));
        let mut config = match path {
            Some(path) => {
                let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Read {
                    path: path.clone(),
                    source,
                })?;
                toml::from_str(&text).map_err(|e| ConfigError::Parse {
                    path,
                    message: e.to_string(),
                })?
            }
            None => Self::default(),
        };
        for (name, value) in vars {
            config.set_var(&name, value)?;
        }
        config.validate()?;
        Ok(config)
    }

    fn set_var(&mut self, name: &str, value: String) -> Result<(), ConfigError> {
        let number = |value: &str| {
            value
                .parse::<i64>()
                .map_err(|_| ConfigError::Invalid(format!("{name}: expected a whole number")))
        };
        match name {
            "DATABASE_URL" | "DINHDANH_DATABASE_URL" => self.database_url = Some(value),
            "DINHDANH_PUBLIC_URL" => self.public_url = Some(value),
            "DINHDANH_RP_ID" => self.rp_id = Some(value),
            "DINHDANH_RP_ORIGINS" => {
                self.rp_origins = value
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(Into::into)
                    .collect();
            }
            "DINHDANH_LISTEN" => self.listen = value,
            "DINHDANH_TRUSTED_PROXIES" => {
                self.trusted_proxies = value
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(|s| {
                        s.parse()
                            .map_err(|e| ConfigError::Invalid(format!("{name}: {e}")))
                    })
                    .collect::<Result<_, _>>()?;
            }
            "DINHDANH_HEADER_READ_TIMEOUT_SECONDS" => {
                self.header_read_timeout_seconds = number(&value)?.max(0) as u64
            }
            "DINHDANH_ANONYMOUS_PER_ADDRESS" => self.anonymous_limits.per_address = number(&value)?,
            "DINHDANH_SMS_URL" => self.sms.url = Some(value),
            "DINHDANH_SESSION_TTL_SECONDS" => self.session_ttl_seconds = number(&value)?,
            "DINHDANH_SEED_CITIZENS" => self.seed_citizens = number(&value)?.max(0) as u64,
            "DINHDANH_ENROLMENT_PER_PHONE" => self.enrolment.per_phone = number(&value)?,
            "DINHDANH_ENROLMENT_PER_IP" => self.enrolment.per_ip = number(&value)?,
            "DINHDANH_ENROLMENT_MAX_ATTEMPTS" => self.enrolment.max_attempts = number(&value)?,
            "DINHDANH_ENROLMENT_CODE_TTL_SECONDS" => {
                self.enrolment.code_ttl_seconds = number(&value)?
            }
            _ => {}
        }
        Ok(())
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let e = &self.enrolment;
        let positive = [
            ("session_ttl_seconds", self.session_ttl_seconds),
            ("enrolment.code_ttl_seconds", e.code_ttl_seconds),
            ("enrolment.max_attempts", e.max_attempts),
            ("enrolment.per_phone", e.per_phone),
            ("enrolment.per_ip", e.per_ip),
            ("enrolment.window_seconds", e.window_seconds),
            (
                "anonymous_limits.per_address",
                self.anonymous_limits.per_address,
            ),
            (
                "anonymous_limits.window_seconds",
                self.anonymous_limits.window_seconds,
            ),
            (
                "issuance.offer_ttl_seconds",
                self.issuance.offer_ttl_seconds,
            ),
            (
                "issuance.pending_offer_ttl_seconds",
                self.issuance.pending_offer_ttl_seconds,
            ),
            ("issuance.tx_code_attempts", self.issuance.tx_code_attempts),
            (
                "signing.certificate_validity_days",
                self.signing.certificate_validity_days,
            ),
            ("signing.step_up_seconds", self.signing.step_up_seconds),
            (
                "signing.crl_validity_seconds",
                self.signing.crl_validity_seconds,
            ),
            (
                "signing.ocsp_validity_seconds",
                self.signing.ocsp_validity_seconds,
            ),
            (
                "issuance.token_ttl_seconds",
                self.issuance.token_ttl_seconds,
            ),
            (
                "issuance.nonce_ttl_seconds",
                self.issuance.nonce_ttl_seconds,
            ),
            (
                "issuance.proof_max_age_seconds",
                self.issuance.proof_max_age_seconds,
            ),
            (
                "issuance.credential_ttl_days",
                self.issuance.credential_ttl_days,
            ),
            (
                "issuance.status_ttl_seconds",
                self.issuance.status_ttl_seconds,
            ),
            (
                "issuance.status_validity_seconds",
                self.issuance.status_validity_seconds,
            ),
            (
                "registry.records_per_window",
                self.registry.records_per_window,
            ),
            ("registry.window_seconds", self.registry.window_seconds),
            (
                "relying_parties.certificate_validity_days",
                self.relying_parties.certificate_validity_days,
            ),
            (
                "relying_parties.registration_validity_days",
                self.relying_parties.registration_validity_days,
            ),
            (
                "relying_parties.crl_validity_seconds",
                self.relying_parties.crl_validity_seconds,
            ),
            (
                "relying_parties.bundle_max_age_seconds",
                self.relying_parties.bundle_max_age_seconds,
            ),
            (
                "relying_parties.status_list_max_age_seconds",
                self.relying_parties.status_list_max_age_seconds,
            ),
            (
                "relying_parties.crl_max_age_seconds",
                self.relying_parties.crl_max_age_seconds,
            ),
        ];
        for (name, value) in positive {
            if value <= 0 {
                return Err(ConfigError::Invalid(format!("{name} must be positive")));
            }
        }
        if self.issuance.clock_skew_seconds < 0 {
            return Err(ConfigError::Invalid(
                "issuance.clock_skew_seconds must not be negative".into(),
            ));
        }
        if !(1..=100).contains(&self.issuance.batch_size) {
            return Err(ConfigError::Invalid(
                "issuance.batch_size must be between 1 and 100".into(),
            ));
        }
        // At least 2^16 entries: neighbours in a list must say nothing about who holds them.
        if !(16..=24).contains(&self.issuance.status_list_size_log2) {
            return Err(ConfigError::Invalid(
                "issuance.status_list_size_log2 must be between 16 and 24".into(),
            ));
        }
        if self.issuance.status_validity_seconds <= self.issuance.status_ttl_seconds {
            return Err(ConfigError::Invalid(
                "issuance.status_validity_seconds must exceed issuance.status_ttl_seconds".into(),
            ));
        }
        let rp = &self.relying_parties;
        if [
            &rp.ca_key_file,
            &rp.ca_certificate_file,
            &rp.registrar_key_file,
            &rp.registrar_certificate_file,
        ]
        .iter()
        .any(|f| f.is_some() != rp.ca_key_file.is_some())
        {
            return Err(ConfigError::Invalid(
                "relying_parties: the CA's and the registrar's key and certificate files go together"
                    .into(),
            ));
        }
        let signing = &self.signing;
        if signing.ca_key_file.is_some() != signing.ca_certificate_file.is_some()
            || signing.tsa_key_file.is_some() != signing.tsa_certificate_file.is_some()
        {
            return Err(ConfigError::Invalid(
                "signing: each key file goes with its certificate file".into(),
            ));
        }
        if signing
            .tsa_policy_oid
            .parse::<const_oid::ObjectIdentifier>()
            .is_err()
        {
            return Err(ConfigError::Invalid(
                "signing.tsa_policy_oid must be a dotted object identifier".into(),
            ));
        }
        let i = &self.issuer;
        let set = [&i.key_file, &i.certificate_file, &i.root_file]
            .iter()
            .filter(|f| f.is_some())
            .count();
        if set != 0 && set != 3 {
            return Err(ConfigError::Invalid(
                "issuer: key_file, certificate_file and root_file go together".into(),
            ));
        }
        self.validate_wallet_clients()?;
        if let Some(url) = &self.public_url {
            webauthn_rs::prelude::Url::parse(url)
                .map_err(|e| ConfigError::Invalid(format!("public_url: {e}")))?;
        }
        if self.header_read_timeout_seconds == 0 {
            return Err(ConfigError::Invalid(
                "header_read_timeout_seconds must be positive".into(),
            ));
        }
        self.sms.validate()
    }

    fn validate_wallet_clients(&self) -> Result<(), ConfigError> {
        let mut ids = std::collections::HashSet::new();
        for client in &self.wallet_clients {
            let id = &client.client_id;
            if id.is_empty() || id.len() > 255 || id.chars().any(|c| c.is_control()) {
                return Err(ConfigError::Invalid(format!(
                    "wallet_clients: client_id {id:?} must be 1 to 255 printable characters"
                )));
            }
            if !ids.insert(id.as_str()) {
                return Err(ConfigError::Invalid(format!(
                    "wallet_clients: client_id {id:?} is registered twice"
                )));
            }
            if client.name.trim().is_empty() || client.name.chars().any(|c| c.is_control()) {
                return Err(ConfigError::Invalid(format!(
                    "wallet_clients: {id:?} needs a printable name"
                )));
            }
            if client.redirect_uris.is_empty() {
                return Err(ConfigError::Invalid(format!(
                    "wallet_clients: {id:?} needs at least one redirect URI"
                )));
            }
            for uri in &client.redirect_uris {
                check_redirect_uri(uri).map_err(|why| {
                    ConfigError::Invalid(format!("wallet_clients: {id:?}: {uri:?} {why}"))
                })?;
            }
        }
        Ok(())
    }

    /// The registered wallet client with this `client_id`.
    pub fn wallet_client(&self, client_id: &str) -> Option<&WalletClient> {
        self.wallet_clients
            .iter()
            .find(|c| c.client_id == client_id)
    }

    /// The database URL, defaulting to a SQLite file in the data directory.
    pub fn database_url(&self, data_dir: &Path) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}", data_dir.join("dinhdanh.db").display()))
    }

    /// The public URL, defaulting to `http://localhost:<port>`.
    pub fn public_url(&self, port: u16) -> String {
        self.public_url
            .clone()
            .unwrap_or_else(|| format!("http://localhost:{port}"))
            .trim_end_matches('/')
            .to_owned()
    }
}

impl SmsSettings {
    fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |message: &str| Err(ConfigError::Invalid(format!("sms: {message}")));
        if self.max_attempts == 0
            || self.queue_capacity == 0
            || self.concurrency == 0
            || self.connect_timeout_seconds == 0
            || self.request_timeout_seconds == 0
        {
            return invalid(
                "max_attempts, queue_capacity, concurrency and the timeouts must be positive",
            );
        }
        if self.gateway == SmsGatewayKind::File {
            return Ok(());
        }
        let Some(url) = &self.url else {
            return invalid("the http gateway needs a url");
        };
        let url = webauthn_rs::prelude::Url::parse(url)
            .map_err(|e| ConfigError::Invalid(format!("sms.url: {e}")))?;
        // The token and the citizens' phone numbers travel in the request: in clear only to
        // this machine (a local relay, tests).
        let host = url.host_str().unwrap_or_default();
        let loopback = host == "localhost"
            || host
                .trim_matches(['[', ']'])
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback());
        if url.scheme() != "https" && !(url.scheme() == "http" && loopback) {
            return invalid("url must be https (http only to a loopback address)");
        }
        if self.token_env.is_some() == self.token_file.is_some() {
            return invalid("the http gateway needs exactly one of token_env and token_file");
        }
        Ok(())
    }
}

/// A redirect URI the server will send codes to: absolute, no fragment (RFC 6749 section 3.1.2),
/// not a scheme that runs code or reads local files, and plain http only to the loopback host.
fn check_redirect_uri(uri: &str) -> Result<(), &'static str> {
    let parsed = webauthn_rs::prelude::Url::parse(uri).map_err(|_| "is not an absolute URI")?;
    if parsed.fragment().is_some() {
        return Err("has a fragment");
    }
    match parsed.scheme() {
        "javascript" | "data" | "file" | "blob" | "vbscript" | "about" => {
            Err("has a scheme that is not allowed")
        }
        "http" if !matches!(parsed.host_str(), Some("127.0.0.1" | "[::1]" | "localhost")) => {
            Err("is plain http to a host other than the loopback")
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_then_environment() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.toml");
        std::fs::write(&file, "public_url = \"https://id.example.vn\"\nsession_ttl_seconds = 60\n[enrolment]\nper_phone = 2\n").unwrap();
        let config = Config::load(
            Some(&file),
            dir.path(),
            [
                ("DINHDANH_SESSION_TTL_SECONDS".to_owned(), "120".to_owned()),
                ("HOME".to_owned(), "/x".to_owned()),
            ],
        )
        .unwrap();
        assert_eq!(config.public_url.as_deref(), Some("https://id.example.vn"));
        assert_eq!(config.session_ttl_seconds, 120);
        assert_eq!(config.enrolment.per_phone, 2);
        assert_eq!(config.enrolment.per_ip, EnrolmentLimits::default().per_ip);
    }

    #[test]
    fn trusted_proxies_and_the_sms_gateway() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.toml");
        std::fs::write(
            &file,
            "trusted_proxies = [\"10.0.0.0/8\"]\n[sms]\ngateway = \"http\"\nurl = \"https://sms.example.vn/send\"\ntoken_env = \"DINHDANH_SMS_TOKEN\"\n",
        )
        .unwrap();
        let config = Config::load(Some(&file), dir.path(), []).unwrap();
        assert_eq!(config.trusted_proxies, vec!["10.0.0.0/8".parse().unwrap()]);
        assert_eq!(config.sms.gateway, SmsGatewayKind::Http);
        let vars = [(
            "DINHDANH_TRUSTED_PROXIES".to_owned(),
            "192.0.2.1, 2001:db8::/32".to_owned(),
        )];
        let config = Config::load(Some(&file), dir.path(), vars).unwrap();
        assert_eq!(config.trusted_proxies.len(), 2);
        let vars = [(
            "DINHDANH_TRUSTED_PROXIES".to_owned(),
            "10.0.0.0/40".to_owned(),
        )];
        assert!(Config::load(Some(&file), dir.path(), vars).is_err());
        // A token in clear over the network, or no token source: refused.
        for sms in [
            "gateway = \"http\"\nurl = \"http://sms.example.vn/send\"\ntoken_env = \"T\"\n",
            "gateway = \"http\"\nurl = \"https://sms.example.vn/send\"\n",
            "gateway = \"http\"\nurl = \"https://sms.example.vn/send\"\ntoken_env = \"T\"\ntoken_file = \"/t\"\n",
        ] {
            std::fs::write(&file, format!("[sms]\n{sms}")).unwrap();
            assert!(
                matches!(
                    Config::load(Some(&file), dir.path(), []),
                    Err(ConfigError::Invalid(_))
                ),
                "{sms}"
            );
        }
    }

    #[test]
    fn bad_values_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.toml");
        std::fs::write(&file, "unknown_key = 1\n").unwrap();
        assert!(matches!(
            Config::load(Some(&file), dir.path(), []),
            Err(ConfigError::Parse { .. })
        ));
        let vars = [("DINHDANH_SESSION_TTL_SECONDS".to_owned(), "soon".to_owned())];
        assert!(matches!(
            Config::load(None, dir.path(), vars),
            Err(ConfigError::Invalid(_))
        ));
    }

    #[test]
    fn wallet_clients_replace_the_development_wallet() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            Config::load(None, dir.path(), []).unwrap().wallet_clients,
            vec![WalletClient::development()]
        );
        let file = dir.path().join("c.toml");
        std::fs::write(
            &file,
            "[[wallet_clients]]\nclient_id = \"vneid\"\nname = \"VNeID\"\n\
             redirect_uris = [\"https://app.example.vn/cb\", \"vn.example.app:/cb\"]\n",
        )
        .unwrap();
        let config = Config::load(Some(&file), dir.path(), []).unwrap();
        assert_eq!(config.wallet_clients.len(), 1);
        assert_eq!(config.wallet_client("vneid").unwrap().name, "VNeID");
        assert!(config.wallet_client("dinhdanh-wallet").is_none());
        for bad in [
            "javascript:alert(1)",
            "https://app.example.vn/cb#x",
            "http://app.example.vn/cb",
            "/cb",
        ] {
            std::fs::write(
                &file,
                format!(
                    "[[wallet_clients]]\nclient_id = \"w\"\nname = \"W\"\nredirect_uris = [{bad:?}]\n"
                ),
            )
            .unwrap();
            assert!(
                matches!(
                    Config::load(Some(&file), dir.path(), []),
                    Err(ConfigError::Invalid(_))
                ),
                "{bad}"
            );
        }
    }
}

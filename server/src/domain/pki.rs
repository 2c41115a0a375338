//! The agency's issuing keys: the key that signs credentials and status lists, its certificate
//! chain (the `x5c` header) and the root it chains to.
//!
//! Production points the configuration at PKCS#8 key and PEM certificate files made by the
//! agency's CA. The zero-config development start generates a development root and an issuing
//! certificate under `<data dir>/keys/` on first start, and marks the data directory as a
//! development one (only there does `dev level2` work).

use std::path::{Path, PathBuf};

use dinhdanh_sdk::{
    jose::{Es256KeyPair, JwsHeader},
    x509::{
        self, TrustAnchor,
        dev::{DevCa, LeafProfile},
    },
};

use crate::platform::config::Config;

/// The marker file of a data directory made by the zero-config development start.
pub const DEV_MARKER: &str = "DEVELOPMENT-DATA-DIR";

/// A key or certificate problem.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PkiError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A key or certificate does not parse, or they do not match.
    #[error("{path}: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// Why.
        message: String,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> PkiError + '_ {
    move |source| PkiError::Io {
        path: path.to_owned(),
        source,
    }
}

fn invalid(path: &Path, message: impl std::fmt::Display) -> PkiError {
    PkiError::Invalid {
        path: path.to_owned(),
        message: message.to_string(),
    }
}

/// The issuing key and its certificates.
pub struct IssuerKeys {
    /// Signs credentials and status list tokens.
    pub signer: Es256KeyPair,
    /// The `x5c` header: the issuing certificate (and intermediates), standard base64 DER,
    /// leaf first; the root is not included (verifiers hold it as their trust anchor).
    pub x5c: Vec<String>,
    /// The root certificate (PEM) verifiers configure as the trust anchor.
    pub root_pem: String,
    /// The key id published in the JWT VC issuer metadata: the key's RFC 7638 thumbprint.
    pub kid: String,
}

impl std::fmt::Debug for IssuerKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuerKeys")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl IssuerKeys {
    /// A JWS header naming the issuing certificate chain.
    pub fn header(&self, typ: &str) -> JwsHeader {
        JwsHeader {
            x5c: Some(self.x5c.clone()),
            ..JwsHeader::es256(typ)
        }
    }

    /// The root as a trust anchor (for tests and the SDK verifier).
    pub fn trust_anchor(&self) -> Result<TrustAnchor, x509::X509Error> {
        TrustAnchor::from_pem(&self.root_pem)?
            .into_iter()
            .next()
            .ok_or(x509::X509Error::Malformed("no certificate"))
    }
}

/// Where the issuing key and certificates are: configured files, else the development files
/// under `<data dir>/keys/`.
#[derive(Debug, Clone)]
struct Paths {
    key: PathBuf,
    chain: PathBuf,
    root: PathBuf,
}

fn paths(config: &Config, dir: &Path) -> (Paths, bool) {
    let keys = dir.join("keys");
    match (
        &config.issuer.key_file,
        &config.issuer.certificate_file,
        &config.issuer.root_file,
    ) {
        (Some(key), Some(chain), Some(root)) => (
            Paths {
                key: key.clone(),
                chain: chain.clone(),
                root: root.clone(),
            },
            false,
        ),
        _ => (
            Paths {
                key: keys.join("issuer.p8"),
                chain: keys.join("issuer.pem"),
                root: keys.join("agency-root.pem"),
            },
            true,
        ),
    }
}

/// Loads the issuing keys; in development (no files configured) generates them first if they
/// are missing, with the issuer identified by `public_url`.
pub fn issuer_keys(config: &Config, dir: &Path, public_url: &str) -> Result<IssuerKeys, PkiError> {
    let (paths, development) = paths(config, dir);
    if development && !paths.key.exists() {
        generate_development(dir, &paths, public_url)?;
    }
    if development {
        admit_intermediates_under_development_root(dir, &paths)?;
    }
    let key_der = zeroize::Zeroizing::new(std::fs::read(&paths.key).map_err(io(&paths.key))?);
    let signer = Es256KeyPair::from_pkcs8_der(&key_der).map_err(|e| invalid(&paths.key, e))?;
    let chain_pem = std::fs::read_to_string(&paths.chain).map_err(io(&paths.chain))?;
    let chain = x509::pem_to_der_chain(&chain_pem).map_err(|e| invalid(&paths.chain, e))?;
    let root_pem = std::fs::read_to_string(&paths.root).map_err(io(&paths.root))?;
    let root = TrustAnchor::from_pem(&root_pem).map_err(|e| invalid(&paths.root, e))?;
    // The chain must lead to the root and its leaf must be this key's certificate.
    let validated = x509::validate_chain(
        &chain,
        &root,
        &x509::ChainPolicy::at(crate::platform::clock::now().max(0) as u64)
            .require_digital_signature(),
    )
    .map_err(|e| invalid(&paths.chain, e))?;
    if validated.leaf_public_key_sec1() != Some(&signer.public_key().sec1_uncompressed()[..]) {
        return Err(invalid(&paths.chain, "the certificate is not the key's"));
    }
    // A development issuer names the public URL in its certificate (verifiers match it with
    // `iss`): when the server now answers at another URL, certify the same key for it.
    if development && !validated.leaf_uris().iter().any(|uri| uri == public_url) {
        recertify_development(dir, &paths, &signer, public_url)?;
        return issuer_keys(config, dir, public_url);
    }
    Ok(IssuerKeys {
        kid: signer.public_key().thumbprint(),
        x5c: x509::der_chain_to_x5c(&chain),
        root_pem,
        signer,
    })
}

/// Validity of the development root and issuing certificate.
const DEV_YEARS: u64 = 10;

fn generate_development(dir: &Path, paths: &Paths, public_url: &str) -> Result<(), PkiError> {
    let now = crate::platform::clock::now().max(0) as u64;
    let not_after = now + DEV_YEARS * 365 * 86_400;
    let root_key = Es256KeyPair::generate().map_err(|e| invalid(&paths.root, e))?;
    let root = DevCa::generate(
        &root_key,
        "dinhdanh development agency root",
        now - 3600,
        not_after,
    )
    .map_err(|e| invalid(&paths.root, e))?;
    let issuer_key = Es256KeyPair::generate().map_err(|e| invalid(&paths.key, e))?;
    let leaf = root
        .issue(
            issuer_key.public_key(),
            &LeafProfile {
                common_name: "dinhdanh development credential issuer",
                uris: &[public_url],
                not_before: now - 3600,
                not_after,
                ..LeafProfile::default()
            },
        )
        .map_err(|e| invalid(&paths.chain, e))?;
    write_private(&dir.join("keys").join("agency-root.p8"), &root_key)?;
    write_private(&paths.key, &issuer_key)?;
    write(&paths.chain, x509::dev::der_to_pem(&leaf).as_bytes())?;
    write(&paths.root, root.certificate_pem().as_bytes())?;
    write(
        &dir.join(DEV_MARKER),
        b"This data directory was made by dinhdanh-server's zero-config development start: \
          generated keys, synthetic citizens. Never use it for real citizens.\n",
    )
}

/// The development root was first made with `pathLenConstraint` 0 (only end entities under it);
/// the citizen signing CA is an intermediate under it, which verifiers (openssl) would refuse.
/// Re-certifies the same key and subject with a path length of 1: certificates issued under
/// the old root certificate chain to the new one unchanged.
fn admit_intermediates_under_development_root(dir: &Path, paths: &Paths) -> Result<(), PkiError> {
    use x509_parser::prelude::{FromDer, X509Certificate};
    let root_pem = std::fs::read_to_string(&paths.root).map_err(io(&paths.root))?;
    let root_der = x509::pem_to_der_chain(&root_pem)
        .map_err(|e| invalid(&paths.root, e))?
        .into_iter()
        .next()
        .ok_or_else(|| invalid(&paths.root, "no certificate"))?;
    let (_, root) = X509Certificate::from_der(&root_der).map_err(|e| invalid(&paths.root, e))?;
    let path_len = root
        .basic_constraints()
        .ok()
        .flatten()
        .and_then(|bc| bc.value.path_len_constraint);
    if path_len != Some(0) {
        return Ok(());
    }
    let root_key_path = dir.join("keys").join("agency-root.p8");
    let root_key_der =
        zeroize::Zeroizing::new(std::fs::read(&root_key_path).map_err(io(&root_key_path))?);
    let root_key = rcgen::KeyPair::try_from(root_key_der.as_slice())
        .map_err(|e| invalid(&root_key_path, e))?;
    // The subject exactly as the development root was made (`x509::dev`), so certificates
    // issued under it name the new one as their issuer.
    let common_name = root
        .subject()
        .iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
        .unwrap_or("dinhdanh development agency root")
        .to_owned();
    let mut params = rcgen::CertificateParams::default();
    // A fresh name: the default one holds a common name, whose place `push` would keep.
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(rcgen::DnType::CountryName, "VN");
    params
        .distinguished_name
        .push(rcgen::DnType::OrganizationName, "dinhdanh development");
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, common_name);
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Constrained(1));
    params.key_usages = vec![
        rcgen::KeyUsagePurpose::KeyCertSign,
        rcgen::KeyUsagePurpose::CrlSign,
    ];
    params.not_before = root.validity().not_before.to_datetime();
    params.not_after = root.validity().not_after.to_datetime();
    params.serial_number = Some(rcgen::SerialNumber::from_slice(
        &crate::platform::secrets::random_bytes::<16>(),
    ));
    let widened = params
        .self_signed(&root_key)
        .map_err(|e| invalid(&paths.root, e))?;
    tracing::info!("development agency root re-certified to admit the signing CA under it");
    write(&paths.root, x509::dev::der_to_pem(widened.der()).as_bytes())
}

/// A new development certificate for the issuing key, naming `public_url`, from the development
/// root (whose key the zero-config start kept beside it).
fn recertify_development(
    dir: &Path,
    paths: &Paths,
    signer: &Es256KeyPair,
    public_url: &str,
) -> Result<(), PkiError> {
    let root_key_path = dir.join("keys").join("agency-root.p8");
    let root_key_der =
        zeroize::Zeroizing::new(std::fs::read(&root_key_path).map_err(io(&root_key_path))?);
    let root_key =
        Es256KeyPair::from_pkcs8_der(&root_key_der).map_err(|e| invalid(&root_key_path, e))?;
    let root_pem = std::fs::read_to_string(&paths.root).map_err(io(&paths.root))?;
    let root_der = x509::pem_to_der_chain(&root_pem)
        .map_err(|e| invalid(&paths.root, e))?
        .into_iter()
        .next()
        .ok_or_else(|| invalid(&paths.root, "no certificate"))?;
    let root = DevCa::load(&root_der, &root_key).map_err(|e| invalid(&paths.root, e))?;
    let now = crate::platform::clock::now().max(0) as u64;
    let leaf = root
        .issue(
            signer.public_key(),
            &LeafProfile {
                common_name: "dinhdanh development credential issuer",
                uris: &[public_url],
                not_before: now - 3600,
                not_after: now + DEV_YEARS * 365 * 86_400,
                ..LeafProfile::default()
            },
        )
        .map_err(|e| invalid(&paths.chain, e))?;
    tracing::info!(%public_url, "development issuing certificate re-issued for the public URL");
    write(&paths.chain, x509::dev::der_to_pem(&leaf).as_bytes())
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), PkiError> {
    std::fs::write(path, bytes).map_err(io(path))
}

fn write_private(path: &Path, key: &Es256KeyPair) -> Result<(), PkiError> {
    use std::io::Write;
    let der = key.to_pkcs8_der().map_err(|e| invalid(path, e))?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(io(path))?;
    file.write_all(&der).map_err(io(path))?;
    file.sync_all().map_err(io(path))
}

// --- The citizen signing CA and the time-stamp authority -----------------------------------

/// A key the agency signs with. Software keys implement it here; an HSM implements the same
/// trait (the issuing key's, [`dinhdanh_sdk::jose::JwsSigner`]: an ES256 `r || s` signature of
/// the bytes handed in), so it can take a key's place without the code that uses it changing.
pub type AgencySigner = std::sync::Arc<dyn dinhdanh_sdk::jose::JwsSigner + Send + Sync>;

/// A signing key of the agency below its root, with the certificates that name it.
#[derive(Clone)]
pub struct AgencyKey {
    /// Signs.
    pub signer: AgencySigner,
    /// Its public key, SEC1 uncompressed (65 bytes).
    pub public_key: [u8; 65],
    /// Its certificate first, then any intermediates; never the agency root.
    pub chain: Vec<Vec<u8>>,
}

impl std::fmt::Debug for AgencyKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgencyKey")
            .field("chain", &self.chain.len())
            .finish_non_exhaustive()
    }
}

impl AgencyKey {
    /// Its own certificate, DER.
    pub fn certificate(&self) -> &[u8] {
        self.chain.first().map_or(&[], Vec::as_slice)
    }
}

/// The keys of digital signatures: the citizen signing CA (issues citizens' certificates, signs
/// the CRL and OCSP answers) and the time-stamp authority.
#[derive(Debug, Clone)]
pub struct SigningKeys {
    /// The citizen signing CA.
    pub ca: AgencyKey,
    /// The time-stamp authority.
    pub tsa: AgencyKey,
}

/// What kind of certificate a development key gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AgencyRole {
    SigningCa,
    Tsa,
}

/// Loads the signing CA and TSA keys: the configured files, else (development) the files under
/// `<data dir>/keys/`, generated on first start from the development agency root. Each chain
/// must lead to the agency root (`root_pem`, the one credentials chain to) and name its key.
pub fn signing_keys(config: &Config, dir: &Path, root_pem: &str) -> Result<SigningKeys, PkiError> {
    let signing = &config.signing;
    let keys = dir.join("keys");
    let ca = match (&signing.ca_key_file, &signing.ca_certificate_file) {
        (Some(key), Some(chain)) => load_agency_key(key, chain, root_pem)?,
        _ => development_key(
            dir,
            &keys.join("signing-ca.p8"),
            &keys.join("signing-ca.pem"),
            AgencyRole::SigningCa,
            root_pem,
        )?,
    };
    let tsa = match (&signing.tsa_key_file, &signing.tsa_certificate_file) {
        (Some(key), Some(chain)) => load_agency_key(key, chain, root_pem)?,
        _ => development_key(
            dir,
            &keys.join("tsa.p8"),
            &keys.join("tsa.pem"),
            AgencyRole::Tsa,
            root_pem,
        )?,
    };
    Ok(SigningKeys { ca, tsa })
}

fn load_agency_key(key: &Path, chain: &Path, root_pem: &str) -> Result<AgencyKey, PkiError> {
    let key_der = zeroize::Zeroizing::new(std::fs::read(key).map_err(io(key))?);
    let pair = Es256KeyPair::from_pkcs8_der(&key_der).map_err(|e| invalid(key, e))?;
    let chain_pem = std::fs::read_to_string(chain).map_err(io(chain))?;
    let ders = x509::pem_to_der_chain(&chain_pem).map_err(|e| invalid(chain, e))?;
    let root = x509::pem_to_der_chain(root_pem)
        .ok()
        .and_then(|roots| roots.into_iter().next())
        .ok_or_else(|| invalid(chain, "no agency root"))?;
    let public_key = *pair.public_key().sec1_uncompressed();
    check_chain(&ders, &root, &public_key).map_err(|e| invalid(chain, e))?;
    Ok(AgencyKey {
        signer: std::sync::Arc::new(pair),
        public_key,
        chain: ders,
    })
}

/// Each certificate signed by the next, the last by the root, the first naming `public_key`.
fn check_chain(chain: &[Vec<u8>], root: &[u8], public_key: &[u8]) -> Result<(), String> {
    use x509_parser::prelude::{FromDer, X509Certificate};
    fn parse(der: &[u8]) -> Result<X509Certificate<'_>, String> {
        X509Certificate::from_der(der)
            .map(|(_, c)| c)
            .map_err(|e| e.to_string())
    }
    let first = chain.first().ok_or("no certificate")?;
    if parse(first)?.public_key().subject_public_key.data.as_ref() != public_key {
        return Err("the certificate is not the key's".into());
    }
    let mut issuers: Vec<&[u8]> = chain.iter().skip(1).map(Vec::as_slice).collect();
    issuers.push(root);
    for (subject, issuer) in chain.iter().zip(issuers) {
        let issuer = parse(issuer)?;
        parse(subject)?
            .verify_signature(Some(issuer.public_key()))
            .map_err(|e| format!("a certificate of the chain is not signed by the next: {e}"))?;
    }
    Ok(())
}

fn development_key(
    dir: &Path,
    key: &Path,
    chain: &Path,
    role: AgencyRole,
    root_pem: &str,
) -> Result<AgencyKey, PkiError> {
    if !key.exists() {
        generate_agency_key(dir, key, chain, role)?;
    }
    load_agency_key(key, chain, root_pem)
}

/// Makes a development signing CA or TSA key and its certificate under the development root.
fn generate_agency_key(
    dir: &Path,
    key_path: &Path,
    chain_path: &Path,
    role: AgencyRole,
) -> Result<(), PkiError> {
    use rcgen::{
        BasicConstraints, CertificateParams, CustomExtension, DistinguishedName, DnType, IsCa,
        KeyPair, KeyUsagePurpose, string::PrintableString,
    };
    let root_key_path = dir.join("keys").join("agency-root.p8");
    if !root_key_path.exists() {
        return Err(invalid(
            key_path,
            "no signing keys configured ([signing] ca_key_file, tsa_key_file) and no development \
             agency root key to make them with",
        ));
    }
    let root_pem_path = dir.join("keys").join("agency-root.pem");
    let root_key_der =
        zeroize::Zeroizing::new(std::fs::read(&root_key_path).map_err(io(&root_key_path))?);
    let root_key =
        KeyPair::try_from(root_key_der.as_slice()).map_err(|e| invalid(&root_key_path, e))?;
    let root_pem = std::fs::read_to_string(&root_pem_path).map_err(io(&root_pem_path))?;
    let root_der = x509::pem_to_der_chain(&root_pem)
        .ok()
        .and_then(|roots| roots.into_iter().next())
        .ok_or_else(|| invalid(&root_pem_path, "no certificate"))?;
    let root = rcgen::Issuer::from_ca_cert_der(&root_der.into(), root_key)
        .map_err(|e| invalid(&root_pem_path, e))?;

    let pair = Es256KeyPair::generate().map_err(|e| invalid(key_path, e))?;
    let pkcs8 = pair.to_pkcs8_der().map_err(|e| invalid(key_path, e))?;
    let subject_key = KeyPair::try_from(pkcs8.as_slice()).map_err(|e| invalid(key_path, e))?;
    let now = crate::platform::clock::now().max(0) as u64;
    let mut params = CertificateParams::default();
    let mut name = DistinguishedName::new();
    let country = PrintableString::try_from("VN").map_err(|e| invalid(key_path, e))?;
    name.push(
        DnType::CountryName,
        rcgen::DnValue::PrintableString(country),
    );
    name.push(DnType::OrganizationName, "dinhdanh development");
    params.not_before = time_of(now - 3600, key_path)?;
    params.not_after = time_of(now + DEV_YEARS * 365 * 86_400, key_path)?;
    params.use_authority_key_identifier_extension = true;
    params.serial_number = Some(rcgen::SerialNumber::from_slice(
        &crate::platform::secrets::random_bytes::<16>(),
    ));
    match role {
        AgencyRole::SigningCa => {
            name.push(
                DnType::CommonName,
                "dinhdanh development citizen signing CA",
            );
            params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
            params.key_usages = vec![
                KeyUsagePurpose::DigitalSignature,
                KeyUsagePurpose::KeyCertSign,
                KeyUsagePurpose::CrlSign,
            ];
        }
        AgencyRole::Tsa => {
            name.push(
                DnType::CommonName,
                "dinhdanh development time-stamp authority",
            );
            params.is_ca = IsCa::ExplicitNoCa;
            params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
            // RFC 3161 2.3: the TSA's certificate has the one extended key usage timeStamping,
            // marked critical (rcgen writes its own EKU extension non-critical).
            let mut eku = CustomExtension::from_oid_content(
                &[2, 5, 29, 37],
                crate::domain::ca::time_stamping_eku().map_err(|e| invalid(key_path, e))?,
            );
            eku.set_criticality(true);
            params.custom_extensions = vec![eku];
        }
    }
    params.distinguished_name = name;
    let certificate = params
        .signed_by(&subject_key, &root)
        .map_err(|e| invalid(chain_path, e))?;
    write_private(key_path, &pair)?;
    write(
        chain_path,
        x509::dev::der_to_pem(certificate.der()).as_bytes(),
    )
}

fn time_of(seconds: u64, path: &Path) -> Result<time::OffsetDateTime, PkiError> {
    i64::try_from(seconds)
        .ok()
        .and_then(|s| time::OffsetDateTime::from_unix_timestamp(s).ok())
        .ok_or_else(|| invalid(path, "time out of range"))
}

/// True when `dir` was made by the zero-config development start and the configuration uses
/// its generated keys and its own SQLite database.
pub fn is_development_data_dir(config: &Config, dir: &Path) -> bool {
    let (_, development_keys) = paths(config, dir);
    development_keys && config.database_url.is_none() && dir.join(DEV_MARKER).is_file()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn development_keys_follow_the_public_url() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("keys")).unwrap();
        let config = Config::default();
        let first = issuer_keys(&config, dir.path(), "http://localhost:8080").unwrap();
        assert!(is_development_data_dir(&config, dir.path()));
        let again = issuer_keys(&config, dir.path(), "http://localhost:8080").unwrap();
        assert_eq!(again.x5c, first.x5c);
        let moved = issuer_keys(&config, dir.path(), "http://localhost:9090").unwrap();
        assert_eq!(moved.kid, first.kid, "the same key");
        assert_ne!(moved.x5c, first.x5c, "a new certificate");
        let chain = x509::x5c_to_der_chain(&moved.x5c).unwrap();
        let validated = x509::validate_chain(
            &chain,
            &[moved.trust_anchor().unwrap()],
            &x509::ChainPolicy::at(crate::platform::clock::now() as u64),
        )
        .unwrap();
        assert_eq!(validated.leaf_uris(), ["http://localhost:9090"]);
        // A configured database is not a development data directory.
        let configured = Config {
            database_url: Some("postgres://x".into()),
            ..Config::default()
        };
        assert!(!is_development_data_dir(&configured, dir.path()));
    }

    #[test]
    fn development_signing_keys_chain_to_the_agency_root_and_files_must_match() {
        use x509_parser::prelude::{FromDer, X509Certificate};
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("keys")).unwrap();
        let config = Config::default();
        let issuer = issuer_keys(&config, dir.path(), "http://localhost:8080").unwrap();
        let anchor = issuer.trust_anchor().unwrap();
        let (_, root) = X509Certificate::from_der(anchor.der()).unwrap();
        let path_len = root
            .basic_constraints()
            .unwrap()
            .unwrap()
            .value
            .path_len_constraint;
        assert_eq!(path_len, Some(1), "the root admits the signing CA");
        let keys = signing_keys(&config, dir.path(), &issuer.root_pem).unwrap();
        let (_, ca) = X509Certificate::from_der(keys.ca.certificate()).unwrap();
        assert!(ca.is_ca());
        ca.verify_signature(Some(root.public_key())).unwrap();
        let (_, tsa) = X509Certificate::from_der(keys.tsa.certificate()).unwrap();
        let eku = tsa.extended_key_usage().unwrap().unwrap();
        assert!(eku.critical && eku.value.time_stamping);
        // Loaded again, the same keys.
        let again = signing_keys(&config, dir.path(), &issuer.root_pem).unwrap();
        assert_eq!(again.ca.chain, keys.ca.chain);
        // Configured files: a key with another key's certificate is refused.
        let configured = Config {
            signing: crate::platform::config::SigningSettings {
                ca_key_file: Some(dir.path().join("keys/tsa.p8")),
                ca_certificate_file: Some(dir.path().join("keys/signing-ca.pem")),
                ..Default::default()
            },
            ..Config::default()
        };
        assert!(matches!(
            signing_keys(&configured, dir.path(), &issuer.root_pem),
            Err(PkiError::Invalid { .. })
        ));
    }
}

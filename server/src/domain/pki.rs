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
}

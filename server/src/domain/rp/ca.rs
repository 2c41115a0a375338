//! The relying-party CA: an intermediate under the agency root that certifies relying parties'
//! own keys (access certificates, from a PKCS#10 request whose signature proves possession of
//! the key) and publishes their revocation (a CRL); and the registrar, a key certified by that
//! CA which signs registrations, so that wallets check access certificates and registrations
//! against the one relying-party anchor.
//!
//! Production configures the CA's and the registrar's key and certificate files
//! (`[relying_parties]`). A development data directory generates them under `<data dir>/keys/`
//! from the development agency root, like the issuing certificate.

use std::path::{Path, PathBuf};

use dinhdanh_sdk::{
    jose::{Es256KeyPair, PublicKey},
    openid4vp::request::REGISTRAR_URI,
    x509::{
        self, TrustAnchor,
        dev::{DevCa, LeafProfile},
    },
};
use rcgen::{
    CertificateParams, CertificateRevocationListParams, CrlDistributionPoint, DistinguishedName,
    DnType, DnValue, IsCa, Issuer, KeyIdMethod, KeyPair, KeyUsagePurpose, RevocationReason,
    RevokedCertParams, SanType, SerialNumber, SubjectPublicKeyInfo,
};
use time::OffsetDateTime;
use x509_parser::prelude::FromDer;

use crate::{domain::pki::PkiError, platform::config::Config};

/// `id-ecPublicKey` (RFC 5480).
const EC_PUBLIC_KEY: &str = "1.2.840.10045.2.1";
/// `prime256v1` / `secp256r1` (RFC 5480).
const P256: &str = "1.2.840.10045.3.1.7";
/// `serialNumber` (X.520), where the business registration number goes.
const SERIAL_NUMBER_ATTRIBUTE: [u64; 4] = [2, 5, 4, 5];
/// Largest PKCS#10 request accepted (a P-256 one is about 300 bytes).
pub const MAX_CSR_BYTES: usize = 16 * 1024;

/// Why a certificate signing request is refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum CsrError {
    /// Not a PKCS#10 request (PEM or DER), or trailing bytes after it.
    #[error("the certificate signing request is malformed: {0}")]
    Malformed(String),
    /// The request's key is not a P-256 key.
    #[error("the certificate signing request's key must be an EC P-256 key ({0})")]
    UnsupportedKey(String),
    /// The request's signature does not verify with its own key: no proof of possession.
    #[error("the certificate signing request's signature does not verify with its key")]
    BadSignature,
}

/// The CA and the registrar, loaded.
pub struct RpAuthority {
    ca: Issuer<'static, KeyPair>,
    ca_der: Vec<u8>,
    /// Signs registrations.
    pub registrar: Es256KeyPair,
    /// The registrar's certificate then the CA's: the `x5c` of registrations.
    pub registrar_chain: Vec<Vec<u8>>,
}

impl std::fmt::Debug for RpAuthority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RpAuthority").finish_non_exhaustive()
    }
}

/// What an access certificate says of its holder.
#[derive(Debug, Clone)]
pub struct AccessSubject<'a> {
    /// The registered legal name (CN and O).
    pub name: &'a str,
    /// The business registration number (subject `serialNumber`), if any.
    pub registration_number: Option<&'a str>,
    /// The DNS name (`dNSName` SAN).
    pub dns_name: &'a str,
}

/// A request read and checked: its key.
#[derive(Debug, Clone)]
pub struct CheckedCsr {
    /// The key it certifies.
    pub key: PublicKey,
    spki_der: Vec<u8>,
}

/// Reads a PKCS#10 request (PEM or DER), checks its key is P-256 and that its signature verifies
/// with that key. Its subject and requested extensions are ignored: the registry says who it is.
pub fn check_csr(bytes: &[u8]) -> Result<CheckedCsr, CsrError> {
    if bytes.len() > MAX_CSR_BYTES {
        return Err(CsrError::Malformed("too large".into()));
    }
    let der = csr_der(bytes)?;
    let (rest, csr) = x509_parser::certification_request::X509CertificationRequest::from_der(&der)
        .map_err(|e| CsrError::Malformed(e.to_string()))?;
    if !rest.is_empty() {
        return Err(CsrError::Malformed("trailing bytes".into()));
    }
    let spki = &csr.certification_request_info.subject_pki;
    let algorithm = spki.algorithm.algorithm.to_id_string();
    let curve = spki
        .algorithm
        .parameters
        .as_ref()
        .and_then(|p| p.as_oid().ok())
        .map(|oid| oid.to_id_string());
    if algorithm != EC_PUBLIC_KEY || curve.as_deref() != Some(P256) {
        return Err(CsrError::UnsupportedKey(format!(
            "algorithm {algorithm}, parameters {}",
            curve.as_deref().unwrap_or("none")
        )));
    }
    let key = PublicKey::from_sec1(&spki.subject_public_key.data)
        .map_err(|e| CsrError::UnsupportedKey(e.to_string()))?;
    csr.verify_signature().map_err(|_| CsrError::BadSignature)?;
    Ok(CheckedCsr {
        key,
        spki_der: spki.raw.to_vec(),
    })
}

fn csr_der(bytes: &[u8]) -> Result<Vec<u8>, CsrError> {
    let text = std::str::from_utf8(bytes).ok().map(str::trim_start);
    match text {
        Some(text) if text.starts_with("-----BEGIN") => {
            let (_, pem) = x509_parser::pem::parse_x509_pem(text.as_bytes())
                .map_err(|e| CsrError::Malformed(e.to_string()))?;
            if pem.label != "CERTIFICATE REQUEST" && pem.label != "NEW CERTIFICATE REQUEST" {
                return Err(CsrError::Malformed(format!(
                    "a PEM {:?}, not a CERTIFICATE REQUEST",
                    pem.label
                )));
            }
            Ok(pem.contents)
        }
        _ => Ok(bytes.to_vec()),
    }
}

fn time_of(seconds: i64) -> Result<OffsetDateTime, PkiError> {
    OffsetDateTime::from_unix_timestamp(seconds).map_err(|e| PkiError::Invalid {
        path: PathBuf::from("relying-party CA"),
        message: e.to_string(),
    })
}

fn rcgen_error(error: rcgen::Error) -> PkiError {
    PkiError::Invalid {
        path: PathBuf::from("relying-party CA"),
        message: error.to_string(),
    }
}

impl RpAuthority {
    /// The CA's certificate, DER: the anchor wallets use for relying parties.
    pub fn ca_der(&self) -> &[u8] {
        &self.ca_der
    }

    /// The CA's certificate, PEM.
    pub fn ca_pem(&self) -> String {
        x509::dev::der_to_pem(&self.ca_der)
    }

    /// The CA as a trust anchor.
    pub fn anchor(&self) -> Result<TrustAnchor, x509::X509Error> {
        TrustAnchor::from_der(&self.ca_der)
    }

    /// Issues the access certificate of `csr`'s key for `subject`: the registry's name as CN
    /// and O, C = VN, the registration number as `serialNumber`, a `dNSName` SAN, key usage
    /// digitalSignature, key identifiers, and the CRL distribution point `crl_url`.
    pub fn certify(
        &self,
        csr: &CheckedCsr,
        subject: &AccessSubject<'_>,
        serial: &[u8],
        not_before: i64,
        not_after: i64,
        crl_url: &str,
    ) -> Result<Vec<u8>, PkiError> {
        let mut name = DistinguishedName::new();
        name.push(
            DnType::CountryName,
            DnValue::PrintableString("VN".try_into().map_err(rcgen_error)?),
        );
        name.push(
            DnType::OrganizationName,
            DnValue::Utf8String(subject.name.to_owned()),
        );
        if let Some(number) = subject.registration_number {
            name.push(
                DnType::CustomDnType(SERIAL_NUMBER_ATTRIBUTE.to_vec()),
                DnValue::PrintableString(number.try_into().map_err(rcgen_error)?),
            );
        }
        name.push(
            DnType::CommonName,
            DnValue::Utf8String(subject.name.to_owned()),
        );
        let mut params = CertificateParams::default();
        params.distinguished_name = name;
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.use_authority_key_identifier_extension = true;
        params.key_identifier_method = KeyIdMethod::Sha256;
        params.serial_number = Some(SerialNumber::from_slice(serial));
        params.not_before = time_of(not_before)?;
        params.not_after = time_of(not_after)?;
        params.subject_alt_names = vec![SanType::DnsName(
            subject.dns_name.try_into().map_err(rcgen_error)?,
        )];
        params.crl_distribution_points = vec![CrlDistributionPoint {
            uris: vec![crl_url.to_owned()],
        }];
        let spki = SubjectPublicKeyInfo::from_der(&csr.spki_der).map_err(rcgen_error)?;
        Ok(params
            .signed_by(&spki, &self.ca)
            .map_err(rcgen_error)?
            .der()
            .to_vec())
    }

    /// A CRL numbered `number` listing `revoked` (serial as lower-case hex, revocation time).
    pub fn crl(
        &self,
        number: i64,
        this_update: i64,
        next_update: i64,
        revoked: &[(String, i64)],
    ) -> Result<Vec<u8>, PkiError> {
        let revoked_certs = revoked
            .iter()
            .map(|(serial, at)| {
                Ok(RevokedCertParams {
                    serial_number: SerialNumber::from_slice(&hex_decode(serial).ok_or_else(
                        || PkiError::Invalid {
                            path: PathBuf::from("relying_parties.serial"),
                            message: "not hex".into(),
                        },
                    )?),
                    revocation_time: time_of(*at)?,
                    reason_code: Some(RevocationReason::CessationOfOperation),
                    invalidity_date: None,
                })
            })
            .collect::<Result<Vec<_>, PkiError>>()?;
        let params = CertificateRevocationListParams {
            this_update: time_of(this_update)?,
            next_update: time_of(next_update)?,
            crl_number: SerialNumber::from_slice(&number.max(0).to_be_bytes()),
            issuing_distribution_point: None,
            revoked_certs,
            key_identifier_method: KeyIdMethod::Sha256,
        };
        Ok(params
            .signed_by(&self.ca)
            .map_err(rcgen_error)?
            .der()
            .to_vec())
    }
}

/// Lower-case hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn hex_decode(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

struct Files {
    ca_key: PathBuf,
    ca_certificate: PathBuf,
    registrar_key: PathBuf,
    registrar_certificate: PathBuf,
}

fn files(config: &Config, dir: &Path) -> (Files, bool) {
    let rp = &config.relying_parties;
    match (
        &rp.ca_key_file,
        &rp.ca_certificate_file,
        &rp.registrar_key_file,
        &rp.registrar_certificate_file,
    ) {
        (Some(ca_key), Some(ca_certificate), Some(registrar_key), Some(registrar_certificate)) => (
            Files {
                ca_key: ca_key.clone(),
                ca_certificate: ca_certificate.clone(),
                registrar_key: registrar_key.clone(),
                registrar_certificate: registrar_certificate.clone(),
            },
            false,
        ),
        _ => {
            let keys = dir.join("keys");
            (
                Files {
                    ca_key: keys.join("rp-ca.p8"),
                    ca_certificate: keys.join("rp-ca.pem"),
                    registrar_key: keys.join("rp-registrar.p8"),
                    registrar_certificate: keys.join("rp-registrar.pem"),
                },
                true,
            )
        }
    }
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

fn read_key(path: &Path) -> Result<Es256KeyPair, PkiError> {
    let der = zeroize::Zeroizing::new(std::fs::read(path).map_err(io(path))?);
    Es256KeyPair::from_pkcs8_der(&der).map_err(|e| invalid(path, e))
}

fn read_certificate(path: &Path) -> Result<Vec<u8>, PkiError> {
    let pem = std::fs::read_to_string(path).map_err(io(path))?;
    x509::pem_to_der_chain(&pem)
        .map_err(|e| invalid(path, e))?
        .into_iter()
        .next()
        .ok_or_else(|| invalid(path, "no certificate"))
}

fn rcgen_key(key: &Es256KeyPair, path: &Path) -> Result<KeyPair, PkiError> {
    let der = key.to_pkcs8_der().map_err(|e| invalid(path, e))?;
    KeyPair::try_from(der.as_slice()).map_err(|e| invalid(path, e))
}

/// Validity of the development relying-party CA and registrar.
const DEV_YEARS: i64 = 10;

/// A development data directory made before the root could carry intermediates (its root has
/// path length 0): its development PKI is set aside under `keys/retired-<time>/` so that the
/// next load makes a new one (root, issuer, relying-party CA). Credentials issued under the old
/// root stop verifying: development data only. Returns whether it did.
pub fn retire_development_root_without_intermediates(
    config: &Config,
    dir: &Path,
) -> Result<bool, PkiError> {
    let (_, development) = files(config, dir);
    let keys = dir.join("keys");
    let root_path = keys.join("agency-root.pem");
    if !development
        || config.issuer.key_file.is_some()
        || !root_path.exists()
        || !keys.join("agency-root.p8").exists()
    {
        return Ok(false);
    }
    let root = read_certificate(&root_path)?;
    let (_, parsed) =
        x509_parser::parse_x509_certificate(&root).map_err(|e| invalid(&root_path, e))?;
    let path_len = parsed
        .basic_constraints()
        .map_err(|e| invalid(&root_path, e))?
        .and_then(|bc| bc.value.path_len_constraint);
    if path_len != Some(0) {
        return Ok(false);
    }
    let retired = keys.join(format!("retired-{}", crate::platform::clock::now()));
    std::fs::create_dir_all(&retired).map_err(io(&retired))?;
    for name in [
        "agency-root.p8",
        "agency-root.pem",
        "issuer.p8",
        "issuer.pem",
        "rp-ca.p8",
        "rp-ca.pem",
        "rp-registrar.p8",
        "rp-registrar.pem",
        "signing-ca.p8",
        "signing-ca.pem",
        "tsa.p8",
        "tsa.pem",
    ] {
        let from = keys.join(name);
        if from.exists() {
            std::fs::rename(&from, retired.join(name)).map_err(io(&from))?;
        }
    }
    tracing::warn!(
        retired = %retired.display(),
        "the development agency root could not carry intermediate CAs (path length 0): \
         a new development PKI is generated; credentials issued under the old root no longer verify"
    );
    Ok(true)
}

/// Loads the relying-party CA and the registrar; a development data directory generates them
/// first when missing. Both must chain to `agency_root`.
pub fn load(
    config: &Config,
    dir: &Path,
    agency_root: &TrustAnchor,
) -> Result<RpAuthority, PkiError> {
    let (files, development) = files(config, dir);
    if development && !files.ca_key.exists() {
        generate_development(dir, &files)?;
    }
    let ca_key = read_key(&files.ca_key)?;
    let ca_der = read_certificate(&files.ca_certificate)?;
    let registrar = read_key(&files.registrar_key)?;
    let registrar_der = read_certificate(&files.registrar_certificate)?;
    let chain = vec![registrar_der, ca_der.clone()];
    let now = crate::platform::clock::now().max(0) as u64;
    let validated = x509::validate_chain(
        &chain,
        std::slice::from_ref(agency_root),
        &x509::ChainPolicy::at(now).require_digital_signature(),
    )
    .map_err(|e| invalid(&files.registrar_certificate, e))?;
    if validated.leaf_public_key_sec1() != Some(&registrar.public_key().sec1_uncompressed()[..]) {
        return Err(invalid(
            &files.registrar_certificate,
            "the certificate is not the registrar key's",
        ));
    }
    // Wallets accept registrations only from a certificate naming the registrar's role (access
    // certificates chain to the same CA); one without it would mint registrations nobody takes.
    if !validated.leaf_uris().iter().any(|uri| uri == REGISTRAR_URI) {
        return Err(invalid(
            &files.registrar_certificate,
            format!(
                "the certificate does not name {REGISTRAR_URI} (a URI subject alternative name)"
            ),
        ));
    }
    let (_, parsed_ca) = x509_parser::parse_x509_certificate(&ca_der)
        .map_err(|e| invalid(&files.ca_certificate, e))?;
    let ca_point = &parsed_ca.public_key().subject_public_key.data;
    if ca_point.as_ref() != &ca_key.public_key().sec1_uncompressed()[..] {
        return Err(invalid(
            &files.ca_certificate,
            "the certificate is not the CA key's",
        ));
    }
    let ca = Issuer::from_ca_cert_der(&ca_der.clone().into(), rcgen_key(&ca_key, &files.ca_key)?)
        .map_err(|e| invalid(&files.ca_certificate, e))?;
    Ok(RpAuthority {
        ca,
        ca_der,
        registrar,
        registrar_chain: chain,
    })
}

fn generate_development(dir: &Path, files: &Files) -> Result<(), PkiError> {
    let keys = dir.join("keys");
    let root_key = read_key(&keys.join("agency-root.p8"))?;
    let root_path = keys.join("agency-root.pem");
    let root = DevCa::load(&read_certificate(&root_path)?, &root_key)
        .map_err(|e| invalid(&root_path, e))?;
    let now = crate::platform::clock::now().max(0);
    let (not_before, not_after) = ((now - 3600) as u64, (now + DEV_YEARS * 365 * 86_400) as u64);
    let ca_key = Es256KeyPair::generate().map_err(|e| invalid(&files.ca_key, e))?;
    let ca_der = root
        .issue_intermediate(
            ca_key.public_key(),
            "dinhdanh development relying-party CA",
            not_before,
            not_after,
        )
        .map_err(|e| invalid(&files.ca_certificate, e))?;
    let ca = DevCa::load(&ca_der, &ca_key).map_err(|e| invalid(&files.ca_certificate, e))?;
    let registrar_key = Es256KeyPair::generate().map_err(|e| invalid(&files.registrar_key, e))?;
    let registrar_der = ca
        .issue(
            registrar_key.public_key(),
            &LeafProfile {
                common_name: "dinhdanh development relying-party registrar",
                uris: &[REGISTRAR_URI],
                not_before,
                not_after,
                ..LeafProfile::default()
            },
        )
        .map_err(|e| invalid(&files.registrar_certificate, e))?;
    write_private(&files.registrar_key, &registrar_key)?;
    write(
        &files.registrar_certificate,
        x509::dev::der_to_pem(&registrar_der).as_bytes(),
    )?;
    write(
        &files.ca_certificate,
        x509::dev::der_to_pem(&ca_der).as_bytes(),
    )?;
    // The CA key last: its presence says the set is complete.
    write_private(&files.ca_key, &ca_key)?;
    tracing::info!("development relying-party CA and registrar generated");
    Ok(())
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), PkiError> {
    std::fs::write(path, bytes).map_err(io(path))
}

fn write_private(path: &Path, key: &Es256KeyPair) -> Result<(), PkiError> {
    use std::io::Write;
    let der = key.to_pkcs8_der().map_err(|e| invalid(path, e))?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(io(path))?;
    file.write_all(&der).map_err(io(path))?;
    file.sync_all().map_err(io(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A development data directory made before the root carried intermediates: its root has
    /// path length 0.
    fn old_development_dir(dir: &Path) {
        let keys = dir.join("keys");
        std::fs::create_dir_all(&keys).unwrap();
        let root_key = Es256KeyPair::generate().unwrap();
        let mut params = CertificateParams::default();
        params
            .distinguished_name
            .push(DnType::CommonName, "old development root");
        params.is_ca = IsCa::Ca(rcgen::BasicConstraints::Constrained(0));
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let der = params
            .self_signed(&rcgen_key(&root_key, dir).unwrap())
            .unwrap()
            .der()
            .to_vec();
        write_private(&keys.join("agency-root.p8"), &root_key).unwrap();
        write(
            &keys.join("agency-root.pem"),
            x509::dev::der_to_pem(&der).as_bytes(),
        )
        .unwrap();
        write_private(&keys.join("issuer.p8"), &Es256KeyPair::generate().unwrap()).unwrap();
    }

    #[test]
    fn a_development_root_without_room_for_intermediates_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        old_development_dir(dir.path());
        let config = Config::default();
        assert!(retire_development_root_without_intermediates(&config, dir.path()).unwrap());
        assert!(!dir.path().join("keys/agency-root.pem").exists());
        // The next load makes a new PKI whose root carries the relying-party CA.
        let issuer =
            crate::domain::pki::issuer_keys(&config, dir.path(), "http://localhost:8080").unwrap();
        let authority = load(&config, dir.path(), &issuer.trust_anchor().unwrap()).unwrap();
        assert!(!retire_development_root_without_intermediates(&config, dir.path()).unwrap());
        // Reloaded as it was.
        let again = load(&config, dir.path(), &issuer.trust_anchor().unwrap()).unwrap();
        assert_eq!(again.ca_der(), authority.ca_der());
        // Configured keys are never touched.
        let configured = Config {
            issuer: crate::platform::config::IssuerFiles {
                key_file: Some(dir.path().join("x")),
                certificate_file: Some(dir.path().join("y")),
                root_file: Some(dir.path().join("z")),
            },
            ..Config::default()
        };
        old_development_dir(dir.path());
        assert!(!retire_development_root_without_intermediates(&configured, dir.path()).unwrap());
    }

    #[test]
    fn configured_files_are_loaded_and_checked() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("keys")).unwrap();
        let development = Config::default();
        let issuer =
            crate::domain::pki::issuer_keys(&development, dir.path(), "http://localhost:8080")
                .unwrap();
        let anchor = issuer.trust_anchor().unwrap();
        let made = load(&development, dir.path(), &anchor).unwrap();
        let keys = dir.path().join("keys");
        let mut configured = Config::default();
        configured.relying_parties.ca_key_file = Some(keys.join("rp-ca.p8"));
        configured.relying_parties.ca_certificate_file = Some(keys.join("rp-ca.pem"));
        configured.relying_parties.registrar_key_file = Some(keys.join("rp-registrar.p8"));
        configured.relying_parties.registrar_certificate_file = Some(keys.join("rp-registrar.pem"));
        let elsewhere = tempfile::tempdir().unwrap();
        let loaded = load(&configured, elsewhere.path(), &anchor).unwrap();
        assert_eq!(loaded.ca_der(), made.ca_der());
        assert!(!elsewhere.path().join("keys").exists(), "nothing generated");
        // A registrar key that is not the certificate's, or a chain to another root: refused.
        configured.relying_parties.registrar_key_file = Some(keys.join("rp-ca.p8"));
        assert!(load(&configured, elsewhere.path(), &anchor).is_err());
        configured.relying_parties.registrar_key_file = Some(keys.join("rp-registrar.p8"));
        let other = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(other.path().join("keys")).unwrap();
        let other_root = crate::domain::pki::issuer_keys(&development, other.path(), "http://x")
            .unwrap()
            .trust_anchor()
            .unwrap();
        assert!(load(&configured, elsewhere.path(), &other_root).is_err());
        // A missing file is an error, not a new key.
        configured.relying_parties.ca_key_file = Some(keys.join("missing.p8"));
        assert!(matches!(
            load(&configured, elsewhere.path(), &anchor),
            Err(PkiError::Io { .. })
        ));
    }

    #[test]
    fn csrs_are_read_from_pem_or_der_and_checked() {
        let key = Es256KeyPair::generate().unwrap();
        let pem = x509::csr::csr_pem(&key, key.public_key()).unwrap();
        let checked = check_csr(pem.as_bytes()).unwrap();
        assert_eq!(checked.key, *key.public_key());
        let (_, parsed) = x509_parser::pem::parse_x509_pem(pem.as_bytes()).unwrap();
        assert_eq!(check_csr(&parsed.contents).unwrap().key, *key.public_key());
        // Trailing bytes, a truncated request, a certificate instead: malformed.
        let mut trailing = parsed.contents.clone();
        trailing.push(0);
        assert!(matches!(check_csr(&trailing), Err(CsrError::Malformed(_))));
        assert!(matches!(
            check_csr(&parsed.contents[..parsed.contents.len() - 3]),
            Err(CsrError::Malformed(_))
        ));
        // A changed byte inside the signed part: the signature no longer verifies.
        let mut altered = parsed.contents.clone();
        let at = altered.len() / 3;
        altered[at] ^= 0x01;
        assert!(check_csr(&altered).is_err());
        assert!(matches!(
            check_csr(&vec![0u8; MAX_CSR_BYTES + 1]),
            Err(CsrError::Malformed(_))
        ));
    }
}

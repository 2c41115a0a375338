//! Citizens' signing certificates: a PKCS#10 request checked (proof of possession, P-256, a key
//! new to the CA), a certificate of the agency's profile issued for it, listed for the citizen,
//! and revoked by the citizen, an officer or a lifecycle event.
//!
//! The profile: subject `C=VN`, `CN=<full name from the registry, NFC>`,
//! `UID=CCCD:<ID number>` (the convention of Vietnamese CAs); keyUsage (critical)
//! digitalSignature and nonRepudiation; extendedKeyUsage documentSigning (RFC 9336) and
//! emailProtection (PDF readers built on NSS check a PDF signer as an e-mail signer); subject and
//! authority key identifiers; basicConstraints (critical) not a CA; the CRL distribution point
//! and the OCSP responder (authorityInfoAccess). The request's own subject and extensions are
//! ignored: names come from the registry.

use serde_json::json;
use unicode_normalization::UnicodeNormalization;

use super::{CaError, SigningAuthority};
use crate::{
    Services,
    domain::{audit, sessions::Principal},
    store::{Account, AssuranceLevel, SigningCertificate, StoreError},
};

/// `id-ecPublicKey`.
const EC_PUBLIC_KEY: &str = "1.2.840.10045.2.1";
/// `prime256v1` (P-256).
const P256: &str = "1.2.840.10045.3.1.7";
/// `ecdsa-with-SHA256`.
const ECDSA_SHA256: &str = "1.2.840.10045.4.3.2";
/// `id-kp-documentSigning` (RFC 9336).
pub const DOCUMENT_SIGNING: [u64; 9] = [1, 3, 6, 1, 5, 5, 7, 3, 36];
/// `userId` (RFC 4519, `0.9.2342.19200300.100.1.1`).
pub const USER_ID: [u64; 7] = [0, 9, 2342, 19_200_300, 100, 1, 1];
/// `id-pe-authorityInfoAccess`.
const AUTHORITY_INFO_ACCESS: [u64; 9] = [1, 3, 6, 1, 5, 5, 7, 1, 1];

/// Why a certificate request was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CertificateError {
    /// The account is not at level 2.
    #[error("a signing certificate needs a level-2 account")]
    Level2Required,
    /// The session's passkey sign-in is older than the step-up window (or it was not one).
    #[error("sign in with your passkey again (within the last {0} seconds) to get a certificate")]
    StepUpRequired(i64),
    /// The request is not a DER or PEM PKCS#10 request.
    #[error("the certificate request does not parse: {0}")]
    Malformed(String),
    /// The request's key is not an ECDSA P-256 key signing with SHA-256.
    #[error("the certificate request's key must be ECDSA P-256 (signed with ecdsa-with-SHA256)")]
    UnsupportedKey,
    /// The request's signature does not verify under its key (no proof of possession).
    #[error("the certificate request's signature does not verify")]
    BadSignature,
    /// The key was certified before (by anyone): a key is certified once.
    #[error("this key was certified already; make a new key")]
    KeyNotNew,
    /// The device named is not one of the account's active devices.
    #[error("no such active device")]
    UnknownDevice,
    /// The citizen's record is missing from the registry.
    #[error("the citizen's record is not in the registry")]
    NotInRegistry,
    /// Signing failed.
    #[error(transparent)]
    Ca(#[from] CaError),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why a revocation was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RevocationError {
    /// No such certificate (of this account), or it is revoked already.
    #[error("no such certificate, or it is revoked already")]
    NotFound,
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The RFC 5280 `CRLReason`s a person or a lifecycle event may give (the CA-compromise and hold
/// reasons are not theirs to give).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Default,
    serde::Deserialize,
    serde::Serialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum RevocationReason {
    /// No reason given.
    #[default]
    Unspecified,
    /// The key may be in other hands (a lost or stolen phone).
    KeyCompromise,
    /// The subject's details changed.
    AffiliationChanged,
    /// Replaced by a new certificate.
    Superseded,
    /// No longer needed (an account closed, a death registered).
    CessationOfOperation,
    /// The right to it was withdrawn (level 2 withdrawn).
    PrivilegeWithdrawn,
}

impl RevocationReason {
    const ALL: [Self; 6] = [
        Self::Unspecified,
        Self::KeyCompromise,
        Self::AffiliationChanged,
        Self::Superseded,
        Self::CessationOfOperation,
        Self::PrivilegeWithdrawn,
    ];

    /// The `CRLReason` code.
    pub const fn code(self) -> i64 {
        match self {
            Self::Unspecified => 0,
            Self::KeyCompromise => 1,
            Self::AffiliationChanged => 3,
            Self::Superseded => 4,
            Self::CessationOfOperation => 5,
            Self::PrivilegeWithdrawn => 9,
        }
    }

    /// The reason of a stored code (`None` for codes no one gives).
    pub fn from_code(code: i64) -> Option<Self> {
        Self::ALL.into_iter().find(|reason| reason.code() == code)
    }

    /// The name in the API (`key_compromise`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unspecified => "unspecified",
            Self::KeyCompromise => "key_compromise",
            Self::AffiliationChanged => "affiliation_changed",
            Self::Superseded => "superseded",
            Self::CessationOfOperation => "cessation_of_operation",
            Self::PrivilegeWithdrawn => "privilege_withdrawn",
        }
    }
}

/// A checked certificate request: its P-256 key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedRequest {
    /// The SubjectPublicKeyInfo, DER.
    pub spki: Vec<u8>,
    /// The public key, SEC1 uncompressed.
    pub public_key: Vec<u8>,
}

/// Reads a request given as PEM (`CERTIFICATE REQUEST` or `NEW CERTIFICATE REQUEST`), as
/// standard base64 of the DER, or as DER bytes.
pub fn request_der(input: &[u8]) -> Result<Vec<u8>, CertificateError> {
    use base64::Engine;
    if input.first() == Some(&0x30) {
        return Ok(input.to_vec());
    }
    let malformed = || CertificateError::Malformed("neither DER, PEM nor base64".into());
    let text = std::str::from_utf8(input).map_err(|_| malformed())?.trim();
    if text.starts_with("-----BEGIN") {
        let (label, der) = der::pem::decode_vec(text.as_bytes())
            .map_err(|e| CertificateError::Malformed(format!("PEM: {e}")))?;
        if label != "CERTIFICATE REQUEST" && label != "NEW CERTIFICATE REQUEST" {
            return Err(CertificateError::Malformed(format!(
                "a PEM {label} is not a certificate request"
            )));
        }
        return Ok(der);
    }
    let compact: String = text.split_whitespace().collect();
    base64::engine::general_purpose::STANDARD
        .decode(compact)
        .map_err(|_| malformed())
}

/// Checks a PKCS#10 request: it parses whole, its key is P-256, it is signed with
/// ecdsa-with-SHA256 and the signature verifies under its own key (proof of possession).
///
/// x509-parser directly rather than rcgen's `CertificateSigningRequestParams::from_der` (which
/// runs the same parser and check): rcgen refuses requests carrying extensions it does not
/// model, and we ignore the request's extensions anyway.
pub fn check_request(der: &[u8]) -> Result<CheckedRequest, CertificateError> {
    use x509_parser::{certification_request::X509CertificationRequest, prelude::FromDer};
    let (rest, request) = X509CertificationRequest::from_der(der)
        .map_err(|e| CertificateError::Malformed(e.to_string()))?;
    if !rest.is_empty() {
        return Err(CertificateError::Malformed(
            "bytes after the request".into(),
        ));
    }
    let spki = &request.certification_request_info.subject_pki;
    let curve = spki
        .algorithm
        .parameters
        .as_ref()
        .and_then(|p| p.as_oid().ok())
        .map(|oid| oid.to_id_string());
    if spki.algorithm.algorithm.to_id_string() != EC_PUBLIC_KEY
        || curve.as_deref() != Some(P256)
        || request.signature_algorithm.algorithm.to_id_string() != ECDSA_SHA256
    {
        return Err(CertificateError::UnsupportedKey);
    }
    let public_key = spki.subject_public_key.data.to_vec();
    if public_key.len() != 65 || public_key.first() != Some(&4) {
        return Err(CertificateError::UnsupportedKey);
    }
    request
        .verify_signature()
        .map_err(|_| CertificateError::BadSignature)?;
    Ok(CheckedRequest {
        spki: spki.raw.to_vec(),
        public_key,
    })
}

/// What goes into a certificate besides the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    /// The full name, NFC.
    pub full_name: String,
    /// The 12-digit ID number.
    pub id_number: String,
}

/// A fresh serial number: 16 random bytes, the first in 0x01..=0x7f so the DER INTEGER is
/// positive and its content is exactly these bytes (how OCSP requests name it).
pub fn new_serial() -> Vec<u8> {
    let mut serial = crate::platform::secrets::random_bytes::<16>().to_vec();
    serial[0] = (serial[0] & 0x7f).max(1);
    serial
}

/// Lowercase hex of a serial number's magnitude, leading zero bytes dropped (the stored form).
pub fn serial_hex(bytes: &[u8]) -> String {
    let start = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    crate::store::hex(&bytes[start..])
}

/// Issues the certificate of `request` for `subject`, valid between the two times (Unix
/// seconds), with `serial`: pure apart from the signature.
pub fn issue_certificate(
    authority: &SigningAuthority,
    request: &CheckedRequest,
    subject: &Subject,
    serial: &[u8],
    not_before: i64,
    not_after: i64,
) -> Result<Vec<u8>, CaError> {
    use der::Encode;
    use rcgen::{
        CertificateParams, CrlDistributionPoint, CustomExtension, DistinguishedName, DnType,
        DnValue, ExtendedKeyUsagePurpose, IsCa, KeyUsagePurpose, SerialNumber,
        SubjectPublicKeyInfo, string::PrintableString,
    };
    use x509_cert::ext::pkix::{AccessDescription, AuthorityInfoAccessSyntax, name::GeneralName};
    let mut name = DistinguishedName::new();
    name.push(
        DnType::CountryName,
        DnValue::PrintableString(PrintableString::try_from("VN")?),
    );
    name.push(DnType::CommonName, subject.full_name.clone());
    name.push(
        DnType::CustomDnType(USER_ID.to_vec()),
        format!("CCCD:{}", subject.id_number),
    );
    let mut params = CertificateParams::default();
    params.distinguished_name = name;
    params.serial_number = Some(SerialNumber::from_slice(serial));
    params.not_before = time_of(not_before)?;
    params.not_after = time_of(not_after)?;
    // Not a CA; with ExplicitNoCa rcgen also writes the subject key identifier.
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::ContentCommitment,
    ];
    params.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::Other(DOCUMENT_SIGNING.to_vec()),
        ExtendedKeyUsagePurpose::EmailProtection,
    ];
    params.use_authority_key_identifier_extension = true;
    params.crl_distribution_points = vec![CrlDistributionPoint {
        uris: vec![authority.crl_url()],
    }];
    let aia = AuthorityInfoAccessSyntax(vec![AccessDescription {
        access_method: const_oid::db::rfc5280::ID_AD_OCSP,
        access_location: GeneralName::UniformResourceIdentifier(der::asn1::Ia5String::new(
            &authority.ocsp_url(),
        )?),
    }])
    .to_der()?;
    params.custom_extensions = vec![CustomExtension::from_oid_content(
        &AUTHORITY_INFO_ACCESS,
        aia,
    )];
    let key = SubjectPublicKeyInfo::from_der(&request.spki)?;
    Ok(params.signed_by(&key, &authority.issuer)?.der().to_vec())
}

fn time_of(seconds: i64) -> Result<time::OffsetDateTime, CaError> {
    time::OffsetDateTime::from_unix_timestamp(seconds)
        .map_err(|_| CaError::Encoding("time out of range".into()))
}

/// A certificate just issued.
#[derive(Debug, Clone)]
pub struct Issued {
    /// The stored record.
    pub certificate: SigningCertificate,
    /// The chain: the certificate, then the signing CA's (no root), PEM.
    pub chain_pem: String,
}

/// Issues a signing certificate to the signed-in citizen for the key of `request` (DER or PEM,
/// see [`request_der`]), optionally tied to one of their devices (revoking the device revokes
/// it). Level 2 and a recent passkey sign-in are required; the key must be new to the CA.
pub async fn request(
    services: &Services,
    principal: &Principal,
    request: &[u8],
    device_id: Option<&str>,
) -> Result<Issued, CertificateError> {
    let account = &principal.account;
    if account.assurance_level != AssuranceLevel::Two {
        return Err(CertificateError::Level2Required);
    }
    let now = crate::platform::clock::now();
    let window = services.config.signing.step_up_seconds;
    if principal
        .session
        .passkey_at
        .is_none_or(|at| now - at > window)
    {
        return Err(CertificateError::StepUpRequired(window));
    }
    let checked = check_request(&request_der(request)?)?;
    issue_for(services, account, &checked, device_id, now).await
}

/// Issues and records the certificate (after the caller's checks of the session).
pub(crate) async fn issue_for(
    services: &Services,
    account: &Account,
    checked: &CheckedRequest,
    device_id: Option<&str>,
    now: i64,
) -> Result<Issued, CertificateError> {
    let id_number = account
        .id_number
        .clone()
        .ok_or(CertificateError::Level2Required)?;
    let citizen = services
        .store
        .citizen(&id_number)
        .await?
        .ok_or(CertificateError::NotInRegistry)?;
    let subject = Subject {
        full_name: citizen.full_name.nfc().collect(),
        id_number,
    };
    let serial = new_serial();
    let not_after = now + services.config.signing.certificate_validity_days * 86_400;
    let authority = &services.signing;
    let der = issue_certificate(authority, checked, &subject, &serial, now, not_after)?;
    let certificate = SigningCertificate {
        id: crate::platform::secrets::id(),
        serial: serial_hex(&serial),
        account_id: account.id.clone(),
        device_id: device_id.map(str::to_owned),
        spki_sha256: super::sha(&ring::digest::SHA256, &checked.spki),
        der,
        not_before: now,
        not_after,
        created_at: now,
        revoked_at: None,
        revocation_reason: None,
    };
    let event = audit::event(
        &account.id,
        "signing_certificate.issued",
        &account.id,
        json!({ "certificate": certificate.id, "serial": certificate.serial,
            "device": certificate.device_id }),
    );
    match services
        .store
        .insert_signing_certificate(&certificate, &event)
        .await
    {
        Ok(true) => {}
        // The account left level 2 (or closed), or the device was revoked, meanwhile.
        Ok(false) if device_id.is_some() => return Err(CertificateError::UnknownDevice),
        Ok(false) => return Err(CertificateError::Level2Required),
        Err(error) if error.is_unique_violation() => return Err(CertificateError::KeyNotNew),
        Err(error) => return Err(error.into()),
    }
    Ok(Issued {
        chain_pem: authority.chain_pem(&certificate.der),
        certificate,
    })
}

/// The citizen revokes one of their certificates (a lost phone, a key no longer wanted).
pub async fn revoke_own(
    services: &Services,
    account: &Account,
    certificate_id: &str,
    reason: RevocationReason,
) -> Result<SigningCertificate, RevocationError> {
    revoke(
        services,
        &account.id,
        Some(&account.id),
        certificate_id,
        reason,
    )
    .await
}

/// An officer revokes a citizen's certificate.
pub async fn revoke_by_staff(
    services: &Services,
    staff: &Account,
    certificate_id: &str,
    reason: RevocationReason,
) -> Result<SigningCertificate, RevocationError> {
    revoke(services, &staff.id, None, certificate_id, reason).await
}

async fn revoke(
    services: &Services,
    actor: &str,
    owner: Option<&str>,
    certificate_id: &str,
    reason: RevocationReason,
) -> Result<SigningCertificate, RevocationError> {
    let certificate = services
        .store
        .signing_certificate(certificate_id)
        .await?
        .filter(|c| owner.is_none_or(|owner| c.account_id == owner))
        .ok_or(RevocationError::NotFound)?;
    let event = audit::event(
        actor,
        "signing_certificate.revoked",
        &certificate.account_id,
        json!({ "certificate": certificate.id, "serial": certificate.serial,
            "reason": reason.as_str() }),
    );
    services
        .store
        .revoke_signing_certificate(&certificate.id, reason.code(), event.at, &event)
        .await?
        .ok_or(RevocationError::NotFound)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(alg: &'static rcgen::SignatureAlgorithm) -> (String, Vec<u8>) {
        let key = rcgen::KeyPair::generate_for(alg).unwrap();
        let csr = rcgen::CertificateParams::default()
            .serialize_request(&key)
            .unwrap();
        (csr.pem().unwrap(), csr.der().to_vec())
    }

    #[test]
    fn requests_are_read_as_pem_base64_or_der() {
        use base64::Engine;
        let (pem, der) = request(&rcgen::PKCS_ECDSA_P256_SHA256);
        assert_eq!(request_der(pem.as_bytes()).unwrap(), der);
        assert_eq!(request_der(&der).unwrap(), der);
        let b64 = base64::engine::general_purpose::STANDARD.encode(&der);
        assert_eq!(request_der(b64.as_bytes()).unwrap(), der);
        let certificate = pem.replace("CERTIFICATE REQUEST", "CERTIFICATE");
        assert!(matches!(
            request_der(certificate.as_bytes()),
            Err(CertificateError::Malformed(_))
        ));
        assert!(matches!(
            request_der(b"\xff\xfe"),
            Err(CertificateError::Malformed(_))
        ));
    }

    #[test]
    fn only_a_p256_request_signed_by_its_key_passes() {
        let (_, der) = request(&rcgen::PKCS_ECDSA_P256_SHA256);
        let checked = check_request(&der).unwrap();
        assert_eq!(checked.public_key.len(), 65);
        let mut forged = der.clone();
        let last = forged.len() - 1;
        forged[last] ^= 0x01;
        assert!(matches!(
            check_request(&forged),
            Err(CertificateError::BadSignature)
        ));
        let mut trailing = der.clone();
        trailing.push(0);
        assert!(matches!(
            check_request(&trailing),
            Err(CertificateError::Malformed(_))
        ));
        for other in [&rcgen::PKCS_ECDSA_P384_SHA384, &rcgen::PKCS_ED25519] {
            let (_, der) = request(other);
            assert!(matches!(
                check_request(&der),
                Err(CertificateError::UnsupportedKey)
            ));
        }
        assert!(matches!(
            check_request(&der[..der.len() / 2]),
            Err(CertificateError::Malformed(_))
        ));
    }

    #[test]
    fn serials_are_positive_sixteen_bytes_and_stored_as_their_magnitude() {
        for _ in 0..64 {
            let serial = new_serial();
            assert_eq!(serial.len(), 16);
            assert!((1..=0x7f).contains(&serial[0]));
        }
        assert_eq!(serial_hex(&[0, 0, 0x1a, 0x02]), "1a02");
        assert_eq!(
            RevocationReason::from_code(9),
            Some(RevocationReason::PrivilegeWithdrawn)
        );
        assert_eq!(RevocationReason::from_code(2), None);
    }
}

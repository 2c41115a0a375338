//! X.509 certificate chain validation against configured trust anchors
//! (a strict subset of RFC 5280 §6 path validation).
//!
//! The caller presents an ordered chain — leaf first, then intermediates, the
//! trust anchor optionally last — as DER blobs (see [`pem_to_der_chain`] and
//! [`x5c_to_der_chain`]) and a [`ChainPolicy`] that fixes the validation time
//! and what the leaf must be good for. [`validate_chain`] either refuses with
//! an [`X509Error`] or returns a [`ValidatedChain`] exposing the leaf's key
//! and names.
//!
//! What is checked, for every certificate on the path and for the anchor:
//! complete DER with nothing after it; matching inner and outer signature
//! algorithms; validity at the policy time; no duplicate, malformed or
//! unrecognised critical extensions. For every issuer (intermediates and
//! anchor): version 3, `cA=true`, `keyCertSign` when keyUsage is present, and
//! pathLenConstraint. Issuer and subject names must chain byte for byte, and
//! each signature must verify with the issuer's key ([`verify_signature`]).
//! The leaf must not be a CA and must not be self-signed.
//!
//! Not implemented, so refused when marked critical: name constraints, policy
//! constraints, policy mappings, inhibitAnyPolicy. Revocation is out of scope.
//! Names are compared as encoded bytes, not with RFC 5280's case-folding rules.
//!
//! The module is sans-I/O: the time comes from the policy, never from a clock.

use base64::{Engine as _, engine::general_purpose::STANDARD};
use x509_parser::{
    certificate::X509Certificate,
    extensions::KeyUsage,
    pem::Pem,
    prelude::{FromDer, GeneralName},
};

#[cfg(feature = "signatures")]
pub mod csr;
pub(crate) mod der;
#[cfg(feature = "dev-pki")]
pub mod dev;
#[cfg(feature = "signatures")]
pub mod revocation;
pub(crate) mod signature;

pub use signature::{SignatureAlgorithm, verify_signature};

/// Why a certificate or chain was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum X509Error {
    /// A certificate is not a well-formed DER X.509 certificate.
    #[error("certificate does not parse: {0}")]
    Parse(String),
    /// Bytes follow the end of a certificate's DER encoding.
    #[error("trailing bytes after the certificate's DER encoding")]
    TrailingData,
    /// A DER structure this module reads itself is malformed (names which one).
    #[error("malformed {0}")]
    Malformed(&'static str),
    /// PEM text could not be decoded, holds a non-certificate block, or no block at all.
    #[error("invalid PEM: {0}")]
    Pem(String),
    /// An `x5c` entry is not standard, padded base64 (RFC 7515 §4.1.6).
    #[error("x5c entry {index} is not standard base64")]
    Base64 {
        /// Position of the entry in the array.
        index: usize,
    },
    /// No certificate was presented.
    #[error("empty certificate chain")]
    EmptyChain,
    /// More certificates than the policy allows.
    #[error("chain has {len} certificates, the policy allows {max}")]
    ChainTooLong {
        /// Certificates presented (leaf and intermediates).
        len: usize,
        /// The policy's limit.
        max: usize,
    },
    /// No trust anchor was configured.
    #[error("no trust anchor configured")]
    NoTrustAnchor,
    /// The top of the chain was not issued by any configured trust anchor.
    #[error("chain does not lead to a configured trust anchor")]
    UntrustedChain,
    /// A certificate's issuer name differs from the next certificate's subject.
    #[error("issuer of certificate {position} does not match the subject of the next one")]
    IssuerMismatch {
        /// Position of the certificate in the chain (0 is the leaf).
        position: usize,
    },
    /// A certificate on the path (or the anchor) expired before the policy time.
    #[error("certificate {subject} expired (notAfter {not_after})")]
    Expired {
        /// Subject of the expired certificate.
        subject: String,
        /// Its notAfter, in Unix seconds.
        not_after: i64,
    },
    /// A certificate on the path (or the anchor) is not valid yet at the policy time.
    #[error("certificate {subject} is not valid yet (notBefore {not_before})")]
    NotYetValid {
        /// Subject of the certificate.
        subject: String,
        /// Its notBefore, in Unix seconds.
        not_before: i64,
    },
    /// A signature does not verify with the issuer's key.
    #[error("signature does not verify")]
    BadSignature,
    /// The signature algorithm (or its parameters) is not supported.
    #[error("unsupported signature algorithm {0}")]
    UnsupportedSignatureAlgorithm(String),
    /// The public key's type, curve or size is not supported, or does not fit the algorithm.
    #[error("unsupported public key: {0}")]
    UnsupportedKey(String),
    /// The signature algorithm inside the signed part differs from the outer one.
    #[error("inner and outer signature algorithms differ")]
    SignatureAlgorithmMismatch,
    /// An issuing certificate (or a trust anchor) is not a CA (`cA` is not true).
    #[error("certificate {subject} is not a CA")]
    NotACa {
        /// Subject of the certificate.
        subject: String,
    },
    /// A CA's pathLenConstraint is smaller than the intermediates below it.
    #[error("pathLenConstraint of {subject} exceeded")]
    PathLenExceeded {
        /// Subject of the constraining CA.
        subject: String,
    },
    /// A keyUsage extension forbids the use (describes which).
    #[error("key usage: {0}")]
    KeyUsage(String),
    /// The leaf lacks the extended key usage the policy requires (the OID).
    #[error("leaf lacks extended key usage {0}")]
    ExtendedKeyUsage(String),
    /// The leaf is a CA certificate.
    #[error("leaf certificate is a CA")]
    LeafIsCa,
    /// The leaf is self-signed.
    #[error("leaf certificate is self-signed")]
    SelfSignedLeaf,
    /// A critical extension this module does not process (the OID).
    #[error("unrecognised critical extension {0}")]
    UnknownCriticalExtension(String),
    /// An extension appears twice (the OID).
    #[error("duplicate extension {0}")]
    DuplicateExtension(String),
    /// An extension's value does not parse (the OID).
    #[error("malformed extension {0}")]
    InvalidExtension(String),
    /// The certificate version is not allowed here (v1 CA, or extensions before v3).
    #[error("certificate version {0} not allowed")]
    UnsupportedVersion(u32),
}

/// Limit on leaf + intermediates applied by [`ChainPolicy::at`].
pub const DEFAULT_MAX_CHAIN_LEN: usize = 5;

/// A configured, trusted CA certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrustAnchor {
    der: Vec<u8>,
    subject_der: Vec<u8>,
    subject: String,
}

impl TrustAnchor {
    /// Reads a DER certificate as a trust anchor.
    ///
    /// It must parse completely, be version 3 with `basicConstraints cA=true`
    /// and carry no unrecognised critical extension. Its validity period is
    /// checked at each validation, not here.
    pub fn from_der(der: &[u8]) -> Result<Self, X509Error> {
        let cert = ParsedCert::parse(der)?;
        cert.check_issuer_basics()?;
        Ok(Self {
            der: der.to_vec(),
            subject_der: cert.x509.subject().as_raw().to_vec(),
            subject: cert.subject(),
        })
    }

    /// Reads every `CERTIFICATE` block of `pem` as a trust anchor, in order.
    pub fn from_pem(pem: &str) -> Result<Vec<Self>, X509Error> {
        pem_to_der_chain(pem)?
            .iter()
            .map(|der| Self::from_der(der))
            .collect()
    }

    /// The anchor's subject as an RFC 4514-style string ("CN=..., O=...").
    pub fn subject(&self) -> String {
        self.subject.clone()
    }

    /// The anchor certificate's DER encoding.
    pub fn der(&self) -> &[u8] {
        &self.der
    }
}

/// Parses PEM text with one or more `CERTIFICATE` blocks into DER blobs, in order.
///
/// Text outside the blocks is ignored; a block with another label (a private
/// key, say) is refused rather than skipped, as is text with no block at all.
pub fn pem_to_der_chain(pem: &str) -> Result<Vec<Vec<u8>>, X509Error> {
    let mut out = Vec::new();
    for block in Pem::iter_from_buffer(pem.as_bytes()) {
        let block = block.map_err(|e| X509Error::Pem(e.to_string()))?;
        if block.label != "CERTIFICATE" {
            return Err(X509Error::Pem(format!("unexpected block {}", block.label)));
        }
        out.push(block.contents);
    }
    if out.is_empty() {
        return Err(X509Error::Pem("no CERTIFICATE block".to_owned()));
    }
    Ok(out)
}

/// The authority key identifiers (the `keyIdentifier` of each certificate's
/// AuthorityKeyIdentifier extension, base64url) of a chain: what DCQL's `trusted_authorities` of
/// type `aki` names (OpenID4VP 1.0 section 6.1.1.1). Certificates that do not parse, or carry no
/// key identifier, add nothing.
pub fn authority_key_ids(chain: &[Vec<u8>]) -> Vec<String> {
    use x509_parser::extensions::ParsedExtension;
    chain
        .iter()
        .filter_map(|der| X509Certificate::from_der(der).ok())
        .flat_map(|(_, certificate)| {
            certificate
                .extensions()
                .iter()
                .filter_map(|extension| match extension.parsed_extension() {
                    ParsedExtension::AuthorityKeyIdentifier(aki) => aki
                        .key_identifier
                        .as_ref()
                        .map(|id| crate::jose::b64::encode(id.0)),
                    _ => None,
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

/// PEM-encodes one DER certificate (64-character lines).
pub fn der_to_pem(der: &[u8]) -> String {
    let body = STANDARD.encode(der);
    let mut pem = String::with_capacity(body.len() + body.len() / 64 + 60);
    pem.push_str("-----BEGIN CERTIFICATE-----\n");
    for line in body.as_bytes().chunks(64) {
        pem.push_str(&String::from_utf8_lossy(line));
        pem.push('\n');
    }
    pem.push_str("-----END CERTIFICATE-----\n");
    pem
}

/// Decodes a JWS `x5c` array (standard, padded base64 — not base64url; RFC 7515
/// §4.1.6) to DER blobs, in order.
pub fn x5c_to_der_chain(x5c: &[String]) -> Result<Vec<Vec<u8>>, X509Error> {
    x5c.iter()
        .enumerate()
        .map(|(index, entry)| {
            STANDARD
                .decode(entry)
                .map_err(|_| X509Error::Base64 { index })
        })
        .collect()
}

/// Encodes DER certificates as `x5c` strings (standard, padded base64).
pub fn der_chain_to_x5c(chain: &[Vec<u8>]) -> Vec<String> {
    chain.iter().map(|der| STANDARD.encode(der)).collect()
}

/// A keyUsage bit (RFC 5280 §4.2.1.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KeyUsageBit {
    /// digitalSignature (0).
    DigitalSignature,
    /// nonRepudiation / contentCommitment (1).
    NonRepudiation,
    /// keyEncipherment (2).
    KeyEncipherment,
    /// dataEncipherment (3).
    DataEncipherment,
    /// keyAgreement (4).
    KeyAgreement,
    /// keyCertSign (5).
    KeyCertSign,
    /// cRLSign (6).
    CrlSign,
}

impl KeyUsageBit {
    fn is_set(self, ku: &KeyUsage) -> bool {
        match self {
            Self::DigitalSignature => ku.digital_signature(),
            Self::NonRepudiation => ku.non_repudiation(),
            Self::KeyEncipherment => ku.key_encipherment(),
            Self::DataEncipherment => ku.data_encipherment(),
            Self::KeyAgreement => ku.key_agreement(),
            Self::KeyCertSign => ku.key_cert_sign(),
            Self::CrlSign => ku.crl_sign(),
        }
    }
}

/// What a chain must satisfy besides the structural rules.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ChainPolicy {
    /// Unix seconds at which every validity period is checked.
    pub time: u64,
    /// A keyUsage bit the leaf must allow. A leaf without a keyUsage
    /// extension is unrestricted and passes (RFC 5280 §4.2.1.3).
    pub key_usage: Option<KeyUsageBit>,
    /// An extended key usage OID (dotted form) the leaf must list explicitly.
    /// A leaf without the extension, or with only anyExtendedKeyUsage, fails.
    pub extended_key_usage: Option<String>,
    /// Most certificates allowed for leaf plus intermediates (the anchor is
    /// not counted, whether or not it is presented).
    pub max_chain_len: usize,
}

impl ChainPolicy {
    /// A policy checking validity at `time` (Unix seconds), with no usage
    /// requirement and [`DEFAULT_MAX_CHAIN_LEN`].
    pub fn at(time: u64) -> Self {
        Self {
            time,
            key_usage: None,
            extended_key_usage: None,
            max_chain_len: DEFAULT_MAX_CHAIN_LEN,
        }
    }

    /// Requires the leaf to allow digitalSignature (if it has keyUsage at all).
    pub fn require_digital_signature(self) -> Self {
        self.require_key_usage(KeyUsageBit::DigitalSignature)
    }

    /// Requires the leaf to allow `bit` (if it has keyUsage at all).
    pub fn require_key_usage(mut self, bit: KeyUsageBit) -> Self {
        self.key_usage = Some(bit);
        self
    }

    /// Requires the leaf's extendedKeyUsage to list `oid` (dotted form).
    pub fn require_eku(mut self, oid: impl Into<String>) -> Self {
        self.extended_key_usage = Some(oid.into());
        self
    }

    /// Sets the most certificates allowed for leaf plus intermediates.
    pub fn max_chain_len(mut self, max: usize) -> Self {
        self.max_chain_len = max;
        self
    }
}

/// A chain that passed [`validate_chain`]; exposes what callers need from the leaf.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidatedChain {
    certificates: Vec<Vec<u8>>,
    leaf_spki: Vec<u8>,
    leaf_sec1: Option<Vec<u8>>,
    leaf_subject: String,
    leaf_dns_names: Vec<String>,
    leaf_uris: Vec<String>,
    anchor_subject: String,
    not_after: u64,
}

impl ValidatedChain {
    /// The leaf's public key as an uncompressed SEC1 point (65 bytes) when it
    /// is an EC P-256 key; `None` for any other key.
    pub fn leaf_public_key_sec1(&self) -> Option<&[u8]> {
        self.leaf_sec1.as_deref()
    }

    /// The leaf's DER SubjectPublicKeyInfo.
    pub fn leaf_spki_der(&self) -> &[u8] {
        &self.leaf_spki
    }

    /// The leaf's DER certificate.
    pub fn leaf_der(&self) -> &[u8] {
        self.certificates.first().map_or(&[], Vec::as_slice)
    }

    /// The validated path without the anchor: leaf first, then intermediates.
    pub fn certificates(&self) -> &[Vec<u8>] {
        &self.certificates
    }

    /// The leaf's subject as an RFC 4514-style string.
    pub fn leaf_subject(&self) -> String {
        self.leaf_subject.clone()
    }

    /// The leaf's subjectAltName dNSName entries.
    pub fn leaf_dns_names(&self) -> Vec<String> {
        self.leaf_dns_names.clone()
    }

    /// The leaf's subjectAltName uniformResourceIdentifier entries.
    pub fn leaf_uris(&self) -> Vec<String> {
        self.leaf_uris.clone()
    }

    /// Subject of the trust anchor the chain led to.
    pub fn anchor_subject(&self) -> String {
        self.anchor_subject.clone()
    }

    /// The earliest notAfter across the path and the anchor, in Unix seconds:
    /// the chain stops validating then.
    pub fn not_after(&self) -> u64 {
        self.not_after
    }
}

/// Validates `chain` (leaf first, then intermediates, optionally ending with
/// the trust anchor itself) against `anchors` under `policy`.
///
/// The chain must be ordered: each certificate is checked against the next
/// one; no path building over an unordered set is attempted. The top
/// certificate's issuer is looked up among `anchors` by subject, and every
/// anchor with that subject is tried until one verifies the signature and
/// passes the anchor checks.
pub fn validate_chain(
    chain: &[Vec<u8>],
    anchors: &[TrustAnchor],
    policy: &ChainPolicy,
) -> Result<ValidatedChain, X509Error> {
    if anchors.is_empty() {
        return Err(X509Error::NoTrustAnchor);
    }
    if chain.is_empty() {
        return Err(X509Error::EmptyChain);
    }
    // Cheap bound before parsing anything: the anchor may add one.
    if chain.len() > policy.max_chain_len.saturating_add(1) {
        return Err(X509Error::ChainTooLong {
            len: chain.len(),
            max: policy.max_chain_len,
        });
    }
    // Drop a presented copy of an anchor at the end — but never the only
    // certificate, which is then judged as a leaf (and refused).
    let path_der = match chain.split_last() {
        Some((last, rest)) if !rest.is_empty() && anchors.iter().any(|a| a.der == *last) => rest,
        _ => chain,
    };
    if path_der.len() > policy.max_chain_len {
        return Err(X509Error::ChainTooLong {
            len: path_der.len(),
            max: policy.max_chain_len,
        });
    }
    let path = path_der
        .iter()
        .map(|der| ParsedCert::parse(der))
        .collect::<Result<Vec<_>, _>>()?;
    let Some(leaf) = path.first() else {
        return Err(X509Error::EmptyChain);
    };

    check_leaf(leaf, policy)?;
    for cert in &path {
        cert.check_validity(policy.time)?;
    }
    for (position, pair) in path.windows(2).enumerate() {
        let [child, issuer] = pair else { continue };
        // `position` intermediates sit below `issuer` (the leaf is not counted).
        issuer.check_issuer(position)?;
        if child.x509.issuer().as_raw() != issuer.x509.subject().as_raw() {
            return Err(X509Error::IssuerMismatch { position });
        }
        child.verify_signed_by(issuer.spki())?;
    }

    let top = path.last().unwrap_or(leaf);
    let intermediates = path.len() - 1;
    let anchor = find_anchor(top, anchors, policy.time, intermediates)?;

    let leaf_sec1 = leaf.p256_point().map(<[u8]>::to_vec);
    let (leaf_dns_names, leaf_uris) = leaf.san_names()?;
    let not_after = path
        .iter()
        .map(|c| c.not_after())
        .chain(std::iter::once(anchor.not_after))
        .min()
        .unwrap_or(0);
    Ok(ValidatedChain {
        certificates: path_der.to_vec(),
        leaf_spki: leaf.spki().to_vec(),
        leaf_sec1,
        leaf_subject: leaf.subject(),
        leaf_dns_names,
        leaf_uris,
        anchor_subject: anchor.subject,
        not_after: u64::try_from(not_after).unwrap_or(0),
    })
}

/// The anchor that issued `top`, with what validation needs from it.
struct AcceptedAnchor {
    subject: String,
    not_after: i64,
}

fn find_anchor(
    top: &ParsedCert<'_>,
    anchors: &[TrustAnchor],
    time: u64,
    intermediates: usize,
) -> Result<AcceptedAnchor, X509Error> {
    let issuer = top.x509.issuer().as_raw();
    let mut last_error = X509Error::UntrustedChain;
    for anchor in anchors.iter().filter(|a| a.subject_der == issuer) {
        let accepted = ParsedCert::parse(&anchor.der).and_then(|cert| {
            top.verify_signed_by(cert.spki())?;
            cert.check_issuer(intermediates)?;
            cert.check_validity(time)?;
            Ok(AcceptedAnchor {
                subject: cert.subject(),
                not_after: cert.not_after(),
            })
        });
        match accepted {
            Ok(found) => return Ok(found),
            Err(e) => last_error = e,
        }
    }
    Err(last_error)
}

fn check_leaf(leaf: &ParsedCert<'_>, policy: &ChainPolicy) -> Result<(), X509Error> {
    if leaf.x509.subject().as_raw() == leaf.x509.issuer().as_raw()
        && leaf.verify_signed_by(leaf.spki()).is_ok()
    {
        return Err(X509Error::SelfSignedLeaf);
    }
    if leaf.basic_constraints.is_some_and(|bc| bc.ca) {
        return Err(X509Error::LeafIsCa);
    }
    if let (Some(bit), Some(ku)) = (policy.key_usage, leaf.key_usage)
        && !bit.is_set(&ku)
    {
        return Err(X509Error::KeyUsage(format!("leaf does not allow {bit:?}")));
    }
    if let Some(required) = &policy.extended_key_usage {
        let listed = leaf.extended_key_usages()?;
        if !listed.iter().any(|oid| oid == required) {
            return Err(X509Error::ExtendedKeyUsage(required.clone()));
        }
    }
    Ok(())
}

// Extension OIDs this module recognises (content octets of 2.5.29.n).
const EXT_SUBJECT_KEY_ID: &[u8] = &[0x55, 0x1d, 0x0e];
const EXT_KEY_USAGE: &[u8] = &[0x55, 0x1d, 0x0f];
const EXT_SUBJECT_ALT_NAME: &[u8] = &[0x55, 0x1d, 0x11];
const EXT_ISSUER_ALT_NAME: &[u8] = &[0x55, 0x1d, 0x12];
const EXT_BASIC_CONSTRAINTS: &[u8] = &[0x55, 0x1d, 0x13];
const EXT_CERTIFICATE_POLICIES: &[u8] = &[0x55, 0x1d, 0x20];
const EXT_AUTHORITY_KEY_ID: &[u8] = &[0x55, 0x1d, 0x23];
const EXT_EXTENDED_KEY_USAGE: &[u8] = &[0x55, 0x1d, 0x25];

/// Extensions that may be critical: processed here, or (certificatePolicies)
/// safe to accept since no policy is required and policy constraints,
/// mappings and inhibitAnyPolicy are refused when critical.
const RECOGNISED_EXTENSIONS: &[&[u8]] = &[
    EXT_SUBJECT_KEY_ID,
    EXT_KEY_USAGE,
    EXT_SUBJECT_ALT_NAME,
    EXT_ISSUER_ALT_NAME,
    EXT_BASIC_CONSTRAINTS,
    EXT_CERTIFICATE_POLICIES,
    EXT_AUTHORITY_KEY_ID,
    EXT_EXTENDED_KEY_USAGE,
];

/// X509Version value for v3 (the field is zero-based).
const V3: u32 = 2;

#[derive(Clone, Copy)]
struct Constraints {
    ca: bool,
    path_len: Option<u32>,
}

/// A certificate that passed the structural checks, with its signed parts
/// taken exactly as encoded.
struct ParsedCert<'a> {
    x509: X509Certificate<'a>,
    tbs: &'a [u8],
    signature_algorithm: &'a [u8],
    signature: &'a [u8],
    basic_constraints: Option<Constraints>,
    key_usage: Option<KeyUsage>,
}

impl<'a> ParsedCert<'a> {
    fn parse(der_bytes: &'a [u8]) -> Result<Self, X509Error> {
        let (rest, x509) =
            X509Certificate::from_der(der_bytes).map_err(|e| X509Error::Parse(e.to_string()))?;
        if !rest.is_empty() {
            return Err(X509Error::TrailingData);
        }

        // Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue }
        const WHAT: &str = "certificate";
        let mut outer = der::Reader::new(der_bytes, WHAT);
        let cert = outer.expect(der::SEQUENCE)?;
        outer.finish()?;
        let mut fields = der::Reader::new(cert.value, WHAT);
        let tbs = fields.expect(der::SEQUENCE)?;
        let signature_algorithm = fields.expect(der::SEQUENCE)?;
        let signature_bits = fields.expect(der::BIT_STRING)?;
        fields.finish()?;
        let signature = match signature_bits.value.split_first() {
            Some((0, sig)) => sig,
            _ => return Err(X509Error::Malformed("signature bit string")),
        };
        // TBSCertificate ::= SEQUENCE { [0] version OPTIONAL, serialNumber, signature, ... }
        let mut tbs_fields = der::Reader::new(tbs.value, WHAT);
        tbs_fields.optional(der::context(0))?;
        tbs_fields.expect(der::INTEGER)?;
        let inner_algorithm = tbs_fields.expect(der::SEQUENCE)?;
        if inner_algorithm.raw != signature_algorithm.raw {
            return Err(X509Error::SignatureAlgorithmMismatch);
        }

        let version = x509.version().0;
        if version > V3 || (version != V3 && !x509.extensions().is_empty()) {
            return Err(X509Error::UnsupportedVersion(version + 1));
        }
        let mut seen: Vec<&[u8]> = Vec::new();
        for ext in x509.extensions() {
            let oid = ext.oid.as_bytes();
            let name = || der::oid_to_dotted(oid).unwrap_or_else(|| ext.oid.to_id_string());
            if seen.contains(&oid) {
                return Err(X509Error::DuplicateExtension(name()));
            }
            seen.push(oid);
            if ext.parsed_extension().error().is_some() {
                return Err(X509Error::InvalidExtension(name()));
            }
            if ext.critical && !RECOGNISED_EXTENSIONS.contains(&oid) {
                return Err(X509Error::UnknownCriticalExtension(name()));
            }
        }
        let invalid =
            |oid: &[u8]| X509Error::InvalidExtension(der::oid_to_dotted(oid).unwrap_or_default());
        let basic_constraints = x509
            .basic_constraints()
            .map_err(|_| invalid(EXT_BASIC_CONSTRAINTS))?
            .map(|bc| Constraints {
                ca: bc.value.ca,
                path_len: bc.value.path_len_constraint,
            });
        let key_usage = x509
            .key_usage()
            .map_err(|_| invalid(EXT_KEY_USAGE))?
            .map(|ku| *ku.value);

        Ok(Self {
            x509,
            tbs: tbs.raw,
            signature_algorithm: signature_algorithm.raw,
            signature,
            basic_constraints,
            key_usage,
        })
    }

    fn subject(&self) -> String {
        self.x509.subject().to_string()
    }

    fn spki(&self) -> &'a [u8] {
        self.x509.tbs_certificate.subject_pki.raw
    }

    fn not_after(&self) -> i64 {
        self.x509.validity().not_after.timestamp()
    }

    fn verify_signed_by(&self, issuer_spki: &[u8]) -> Result<(), X509Error> {
        let algorithm =
            SignatureAlgorithm::from_algorithm_identifier_der(self.signature_algorithm)?;
        verify_signature(issuer_spki, algorithm, self.tbs, self.signature)
    }

    fn check_validity(&self, time: u64) -> Result<(), X509Error> {
        let time = i128::from(time);
        let validity = self.x509.validity();
        let not_before = validity.not_before.timestamp();
        let not_after = validity.not_after.timestamp();
        if time < i128::from(not_before) {
            return Err(X509Error::NotYetValid {
                subject: self.subject(),
                not_before,
            });
        }
        if time > i128::from(not_after) {
            return Err(X509Error::Expired {
                subject: self.subject(),
                not_after,
            });
        }
        Ok(())
    }

    /// The checks every issuer passes regardless of its place in the path.
    fn check_issuer_basics(&self) -> Result<(), X509Error> {
        let version = self.x509.version().0;
        if version != V3 {
            return Err(X509Error::UnsupportedVersion(version + 1));
        }
        if !self.basic_constraints.is_some_and(|bc| bc.ca) {
            return Err(X509Error::NotACa {
                subject: self.subject(),
            });
        }
        if self.key_usage.is_some_and(|ku| !ku.key_cert_sign()) {
            return Err(X509Error::KeyUsage(format!(
                "CA {} does not allow keyCertSign",
                self.subject()
            )));
        }
        Ok(())
    }

    /// Issuer checks, with `below` intermediates between this CA and the leaf.
    fn check_issuer(&self, below: usize) -> Result<(), X509Error> {
        self.check_issuer_basics()?;
        let limit = self.basic_constraints.and_then(|bc| bc.path_len);
        if limit.is_some_and(|max| u64::try_from(below).map_or(true, |n| n > u64::from(max))) {
            return Err(X509Error::PathLenExceeded {
                subject: self.subject(),
            });
        }
        Ok(())
    }

    /// The uncompressed SEC1 point when the key is EC P-256.
    fn p256_point(&self) -> Option<&'a [u8]> {
        match signature::PublicKey::from_spki(self.spki()) {
            Ok(signature::PublicKey::EcP256(point)) => Some(point),
            _ => None,
        }
    }

    /// subjectAltName dNSName and URI entries.
    fn san_names(&self) -> Result<(Vec<String>, Vec<String>), X509Error> {
        let mut dns = Vec::new();
        let mut uris = Vec::new();
        let san = self
            .x509
            .subject_alternative_name()
            .map_err(|_| X509Error::InvalidExtension("2.5.29.17".to_owned()))?;
        for name in san.iter().flat_map(|s| s.value.general_names.iter()) {
            match name {
                GeneralName::DNSName(n) => dns.push((*n).to_owned()),
                GeneralName::URI(u) => uris.push((*u).to_owned()),
                _ => {}
            }
        }
        Ok((dns, uris))
    }

    /// The extendedKeyUsage OIDs in dotted form; empty when the extension is absent.
    fn extended_key_usages(&self) -> Result<Vec<String>, X509Error> {
        const WHAT: &str = "extendedKeyUsage";
        let Some(ext) = self
            .x509
            .extensions()
            .iter()
            .find(|e| e.oid.as_bytes() == EXT_EXTENDED_KEY_USAGE)
        else {
            return Ok(Vec::new());
        };
        // ExtKeyUsageSyntax ::= SEQUENCE SIZE (1..MAX) OF KeyPurposeId
        let mut outer = der::Reader::new(ext.value, WHAT);
        let seq = outer.expect(der::SEQUENCE)?;
        outer.finish()?;
        let mut items = der::Reader::new(seq.value, WHAT);
        let mut oids = Vec::new();
        while !items.is_empty() {
            let oid = items.expect(der::OID)?;
            oids.push(der::oid_to_dotted(oid.value).ok_or(X509Error::Malformed(WHAT))?);
        }
        if oids.is_empty() {
            return Err(X509Error::Malformed(WHAT));
        }
        Ok(oids)
    }
}

#[cfg(test)]
mod tests;

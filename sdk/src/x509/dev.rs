//! A development PKI: a self-signed root CA that issues P-256 leaf certificates for issuer,
//! status-list and relying-party keys. It is what the zero-config server start and the tests
//! use; production keys and certificates come from the agency's real CA.

use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, CrlDistributionPoint,
    CustomExtension, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyIdMethod,
    KeyPair, KeyUsagePurpose, RevokedCertParams, SanType, SerialNumber, SubjectPublicKeyInfo,
};
use time::OffsetDateTime;

use super::{TrustAnchor, X509Error};
use crate::jose::{Es256KeyPair, PublicKey};

/// DER prefix of a P-256 SubjectPublicKeyInfo, followed by the 65-byte uncompressed point.
const P256_SPKI_PREFIX: [u8; 26] = [
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
    0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];

/// What a leaf certificate says.
#[derive(Debug, Clone, Default)]
pub struct LeafProfile<'a> {
    /// Subject common name.
    pub common_name: &'a str,
    /// `dNSName` subject alternative names.
    pub dns_names: &'a [&'a str],
    /// `uniformResourceIdentifier` subject alternative names (e.g. the issuer's `iss`).
    pub uris: &'a [&'a str],
    /// Start of validity, seconds since the Unix epoch.
    pub not_before: u64,
    /// End of validity, seconds since the Unix epoch.
    pub not_after: u64,
}

/// What a citizen signing certificate says (the profile of issue 13: subject `C=VN`, `CN`, `UID`
/// `CCCD:<id number>`; keyUsage digitalSignature + nonRepudiation; extendedKeyUsage
/// documentSigning + emailProtection; key identifiers; CRL distribution point; OCSP in AIA).
#[derive(Debug, Clone, Default)]
pub struct SigningProfile<'a> {
    /// The citizen's full name (the subject's CN).
    pub name: &'a str,
    /// The ID number; the subject's UID is `CCCD:<id number>`.
    pub id_number: &'a str,
    /// The CRL distribution point URL.
    pub crl_url: &'a str,
    /// The OCSP responder URL (authorityInfoAccess).
    pub ocsp_url: &'a str,
    /// Start of validity, seconds since the Unix epoch.
    pub not_before: u64,
    /// End of validity, seconds since the Unix epoch.
    pub not_after: u64,
}

/// extendedKeyUsage purposes of service certificates the development PKI issues.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ServicePurpose {
    /// id-kp-timeStamping, critical (RFC 3161 section 2.3): a time-stamp authority.
    TimeStamping,
    /// id-kp-OCSPSigning: a delegated OCSP responder.
    OcspSigning,
}

/// The subject attribute `UID` (RFC 4519).
const OID_UID: [u64; 7] = [0, 9, 2342, 19_200_300, 100, 1, 1];
/// id-kp-documentSigning (RFC 9336).
const OID_DOCUMENT_SIGNING: [u64; 9] = [1, 3, 6, 1, 5, 5, 7, 3, 36];
/// authorityInfoAccess.
const OID_AIA: [u64; 9] = [1, 3, 6, 1, 5, 5, 7, 1, 1];
/// extendedKeyUsage.
const OID_EXTENDED_KEY_USAGE: [u64; 4] = [2, 5, 29, 37];

/// DER of a short (under 128 bytes of content) TLV.
fn tlv(tag: u8, content: &[u8]) -> Result<Vec<u8>, X509Error> {
    let len = u8::try_from(content.len())
        .ok()
        .filter(|len| *len < 0x80)
        .ok_or(X509Error::Malformed("extension too long"))?;
    let mut out = vec![tag, len];
    out.extend_from_slice(content);
    Ok(out)
}

/// `AuthorityInfoAccessSyntax` with one id-ad-ocsp access description.
fn aia_ocsp(url: &str) -> Result<Vec<u8>, X509Error> {
    // id-ad-ocsp 1.3.6.1.5.5.7.48.1
    let oid = tlv(0x06, &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01])?;
    let location = tlv(0x86, url.as_bytes())?;
    let description = tlv(0x30, &[oid, location].concat())?;
    tlv(0x30, &description)
}

fn random_serial() -> Result<SerialNumber, X509Error> {
    let mut serial = [0u8; 16];
    crate::jose::random_bytes(&mut serial).map_err(|_| X509Error::Malformed("randomness"))?;
    serial[0] &= 0x7f;
    serial[0] |= 0x01;
    Ok(SerialNumber::from_slice(&serial))
}

/// A development root CA.
pub struct DevCa {
    issuer: Issuer<'static, KeyPair>,
    der: Vec<u8>,
}

fn rcgen_error(error: rcgen::Error) -> X509Error {
    X509Error::Parse(format!("certificate generation: {error}"))
}

fn time_of(seconds: u64) -> Result<OffsetDateTime, X509Error> {
    i64::try_from(seconds)
        .ok()
        .and_then(|s| OffsetDateTime::from_unix_timestamp(s).ok())
        .ok_or(X509Error::Malformed("time out of range"))
}

fn rcgen_key(key: &Es256KeyPair) -> Result<KeyPair, X509Error> {
    let der = key
        .to_pkcs8_der()
        .map_err(|_| X509Error::Malformed("key encoding"))?;
    KeyPair::try_from(der.as_slice()).map_err(rcgen_error)
}

fn name(common_name: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CountryName, "VN");
    dn.push(DnType::OrganizationName, "dinhdanh development");
    dn.push(DnType::CommonName, common_name);
    dn
}

impl DevCa {
    /// Makes a root CA with `key`, valid between the two times (Unix seconds).
    pub fn generate(
        key: &Es256KeyPair,
        common_name: &str,
        not_before: u64,
        not_after: u64,
    ) -> Result<Self, X509Error> {
        let mut params = CertificateParams::default();
        params.distinguished_name = name(common_name);
        // One level of intermediates (the relying-party and signing CAs) under the root.
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(1));
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        params.not_before = time_of(not_before)?;
        params.not_after = time_of(not_after)?;
        let signing_key = rcgen_key(key)?;
        let der = params
            .self_signed(&signing_key)
            .map_err(rcgen_error)?
            .der()
            .to_vec();
        Ok(Self {
            issuer: Issuer::new(params, signing_key),
            der,
        })
    }

    /// Issues a citizen signing certificate for `subject` with the profile of issue 13.
    pub fn issue_signing_certificate(
        &self,
        subject: &PublicKey,
        profile: &SigningProfile<'_>,
    ) -> Result<Vec<u8>, X509Error> {
        let mut params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CountryName, "VN");
        dn.push(DnType::CommonName, profile.name);
        dn.push(
            DnType::CustomDnType(OID_UID.to_vec()),
            format!("CCCD:{}", profile.id_number),
        );
        params.distinguished_name = dn;
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::ContentCommitment,
        ];
        params.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::Other(OID_DOCUMENT_SIGNING.to_vec()),
            ExtendedKeyUsagePurpose::EmailProtection,
        ];
        params.use_authority_key_identifier_extension = true;
        params.key_identifier_method = KeyIdMethod::Sha256;
        params.serial_number = Some(random_serial()?);
        params.crl_distribution_points = vec![CrlDistributionPoint {
            uris: vec![profile.crl_url.to_owned()],
        }];
        params.custom_extensions = vec![CustomExtension::from_oid_content(
            &OID_AIA,
            aia_ocsp(profile.ocsp_url)?,
        )];
        params.not_before = time_of(profile.not_before)?;
        params.not_after = time_of(profile.not_after)?;
        self.sign_for(subject, &params)
    }

    /// Issues a citizen signing certificate for the key of a PKCS#10 request (DER), after
    /// checking the request's signature (proof of possession) and that the key is P-256. The
    /// request's own subject is ignored: the names come from `profile`.
    pub fn issue_signing_certificate_for_csr(
        &self,
        csr_der: &[u8],
        profile: &SigningProfile<'_>,
    ) -> Result<Vec<u8>, X509Error> {
        use rcgen::PublicKeyData;
        let request = rcgen::CertificateSigningRequestParams::from_der(&csr_der.to_vec().into())
            .map_err(rcgen_error)?;
        let key = PublicKey::from_sec1(request.public_key.der_bytes())
            .map_err(|_| X509Error::UnsupportedKey("the request's key is not P-256".into()))?;
        self.issue_signing_certificate(&key, profile)
    }

    /// Issues a service certificate (a time-stamp authority, a delegated OCSP responder).
    pub fn issue_service(
        &self,
        subject: &PublicKey,
        common_name: &str,
        purpose: ServicePurpose,
        not_before: u64,
        not_after: u64,
    ) -> Result<Vec<u8>, X509Error> {
        let mut params = CertificateParams::default();
        params.distinguished_name = name(common_name);
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.use_authority_key_identifier_extension = true;
        params.serial_number = Some(random_serial()?);
        match purpose {
            ServicePurpose::TimeStamping => {
                // SEQUENCE { id-kp-timeStamping }, critical as RFC 3161 requires.
                let oid = tlv(0x06, &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x08])?;
                let mut extension =
                    CustomExtension::from_oid_content(&OID_EXTENDED_KEY_USAGE, tlv(0x30, &oid)?);
                extension.set_criticality(true);
                params.custom_extensions = vec![extension];
            }
            ServicePurpose::OcspSigning => {
                params.extended_key_usages = vec![ExtendedKeyUsagePurpose::OcspSigning];
            }
        }
        params.not_before = time_of(not_before)?;
        params.not_after = time_of(not_after)?;
        self.sign_for(subject, &params)
    }

    /// A CRL of this CA listing `revoked` (serial number bytes, revocation time), valid from
    /// `this_update` to `next_update` (Unix seconds), DER.
    pub fn crl(
        &self,
        revoked: &[(Vec<u8>, u64)],
        this_update: u64,
        next_update: u64,
    ) -> Result<Vec<u8>, X509Error> {
        let revoked_certs = revoked
            .iter()
            .map(|(serial, at)| {
                Ok(RevokedCertParams {
                    serial_number: SerialNumber::from_slice(serial),
                    revocation_time: time_of(*at)?,
                    reason_code: None,
                    invalidity_date: None,
                })
            })
            .collect::<Result<Vec<_>, X509Error>>()?;
        let params = CertificateRevocationListParams {
            this_update: time_of(this_update)?,
            next_update: time_of(next_update)?,
            crl_number: SerialNumber::from(this_update),
            issuing_distribution_point: None,
            revoked_certs,
            key_identifier_method: KeyIdMethod::Sha256,
        };
        Ok(params
            .signed_by(&self.issuer)
            .map_err(rcgen_error)?
            .der()
            .to_vec())
    }

    fn sign_for(
        &self,
        subject: &PublicKey,
        params: &CertificateParams,
    ) -> Result<Vec<u8>, X509Error> {
        Ok(params
            .signed_by(&subject_key_info(subject)?, &self.issuer)
            .map_err(rcgen_error)?
            .der()
            .to_vec())
    }

    /// Reloads a CA from its certificate and key (as written to a development data folder).
    pub fn load(certificate_der: &[u8], key: &Es256KeyPair) -> Result<Self, X509Error> {
        let issuer = Issuer::from_ca_cert_der(&certificate_der.to_vec().into(), rcgen_key(key)?)
            .map_err(rcgen_error)?;
        Ok(Self {
            issuer,
            der: certificate_der.to_vec(),
        })
    }

    /// The CA certificate, DER.
    pub fn certificate_der(&self) -> &[u8] {
        &self.der
    }

    /// The CA certificate, PEM.
    pub fn certificate_pem(&self) -> String {
        der_to_pem(&self.der)
    }

    /// The CA as a trust anchor.
    pub fn trust_anchor(&self) -> Result<TrustAnchor, X509Error> {
        TrustAnchor::from_der(&self.der)
    }

    /// Issues an intermediate CA certificate (no further intermediates below it; certificate
    /// and CRL signing) for `subject`, valid between the two times (Unix seconds). Load it with
    /// [`DevCa::load`] to issue under it.
    pub fn issue_intermediate(
        &self,
        subject: &PublicKey,
        common_name: &str,
        not_before: u64,
        not_after: u64,
    ) -> Result<Vec<u8>, X509Error> {
        let mut params = CertificateParams::default();
        params.distinguished_name = name(common_name);
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        params.use_authority_key_identifier_extension = true;
        params.not_before = time_of(not_before)?;
        params.not_after = time_of(not_after)?;
        Ok(params
            .signed_by(&subject_key_info(subject)?, &self.issuer)
            .map_err(rcgen_error)?
            .der()
            .to_vec())
    }

    /// Issues an end-entity certificate (digitalSignature) for `subject`.
    pub fn issue(
        &self,
        subject: &PublicKey,
        profile: &LeafProfile<'_>,
    ) -> Result<Vec<u8>, X509Error> {
        let mut params = CertificateParams::default();
        params.distinguished_name = name(profile.common_name);
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        // RFC 5280 section 4.2.1.1: a certificate names its issuer's key (DCQL's `aki` matches it).
        params.use_authority_key_identifier_extension = true;
        params.not_before = time_of(profile.not_before)?;
        params.not_after = time_of(profile.not_after)?;
        for dns in profile.dns_names {
            params
                .subject_alt_names
                .push(SanType::DnsName((*dns).try_into().map_err(rcgen_error)?));
        }
        for uri in profile.uris {
            params
                .subject_alt_names
                .push(SanType::URI((*uri).try_into().map_err(rcgen_error)?));
        }
        Ok(params
            .signed_by(&subject_key_info(subject)?, &self.issuer)
            .map_err(rcgen_error)?
            .der()
            .to_vec())
    }
}

fn subject_key_info(subject: &PublicKey) -> Result<SubjectPublicKeyInfo, X509Error> {
    let mut spki = Vec::with_capacity(P256_SPKI_PREFIX.len() + 65);
    spki.extend_from_slice(&P256_SPKI_PREFIX);
    spki.extend_from_slice(subject.sec1_uncompressed());
    SubjectPublicKeyInfo::from_der(&spki).map_err(rcgen_error)
}

/// PEM-encodes one DER certificate.
pub fn der_to_pem(der: &[u8]) -> String {
    super::der_to_pem(der)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::x509::{ChainPolicy, validate_chain};

    #[test]
    fn issued_leaf_validates_and_ca_reloads() {
        let ca_key = Es256KeyPair::generate().unwrap();
        let ca =
            DevCa::generate(&ca_key, "dinhdanh dev root", 1_700_000_000, 2_000_000_000).unwrap();
        let leaf_key = Es256KeyPair::generate().unwrap();
        let profile = LeafProfile {
            common_name: "issuer",
            dns_names: &["id.example.vn"],
            uris: &["https://id.example.vn"],
            not_before: 1_700_000_000,
            not_after: 1_900_000_000,
        };
        let leaf = ca.issue(leaf_key.public_key(), &profile).unwrap();
        let anchors = [ca.trust_anchor().unwrap()];
        let chain = validate_chain(
            &[leaf],
            &anchors,
            &ChainPolicy::at(1_800_000_000).require_digital_signature(),
        )
        .unwrap();
        assert_eq!(
            chain.leaf_public_key_sec1().unwrap(),
            leaf_key.public_key().sec1_uncompressed()
        );
        assert_eq!(chain.leaf_uris(), ["https://id.example.vn"]);
        assert_eq!(chain.leaf_dns_names(), ["id.example.vn"]);

        let reloaded = DevCa::load(ca.certificate_der(), &ca_key).unwrap();
        let again = reloaded.issue(leaf_key.public_key(), &profile).unwrap();
        assert!(validate_chain(&[again], &anchors, &ChainPolicy::at(1_800_000_000)).is_ok());
        assert!(
            validate_chain(
                &[ca.certificate_der().to_vec()],
                &anchors,
                &ChainPolicy::at(1_800_000_000)
            )
            .is_err()
        );
        let pem = ca.certificate_pem();
        assert_eq!(TrustAnchor::from_pem(&pem).unwrap().len(), 1);
    }

    #[test]
    fn an_intermediate_issues_leaves_that_chain_to_the_root() {
        let root_key = Es256KeyPair::generate().unwrap();
        let root = DevCa::generate(&root_key, "root", 1_700_000_000, 2_000_000_000).unwrap();
        let ca_key = Es256KeyPair::generate().unwrap();
        let ca_der = root
            .issue_intermediate(
                ca_key.public_key(),
                "relying-party CA",
                1_700_000_000,
                1_950_000_000,
            )
            .unwrap();
        let ca = DevCa::load(&ca_der, &ca_key).unwrap();
        let leaf_key = Es256KeyPair::generate().unwrap();
        let profile = LeafProfile {
            common_name: "verifier",
            dns_names: &["rp.example.vn"],
            not_before: 1_700_000_000,
            not_after: 1_900_000_000,
            ..LeafProfile::default()
        };
        let leaf = ca.issue(leaf_key.public_key(), &profile).unwrap();
        let anchors = [root.trust_anchor().unwrap()];
        let policy = ChainPolicy::at(1_800_000_000).require_digital_signature();
        assert!(validate_chain(&[leaf.clone(), ca_der.clone()], &anchors, &policy).is_ok());
        // The intermediate is a trust anchor of its own (what wallets pin for relying parties).
        let as_anchor = [ca.trust_anchor().unwrap()];
        assert!(validate_chain(std::slice::from_ref(&leaf), &as_anchor, &policy).is_ok());
        // Without the intermediate the leaf does not reach the root.
        assert!(validate_chain(&[leaf], &anchors, &policy).is_err());
    }
}

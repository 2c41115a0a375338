//! Signing and verification through the `signatures` facade, against a development PKI with the
//! profile of issue 13 (root → citizen signing CA → citizen). Time-stamps and OCSP are tested
//! against OpenSSL in the integration tests (`tests/integration/signatures.rs`).
#![cfg(feature = "dev-pki")]

use super::*;
use crate::{
    jose::Es256KeyPair,
    pades::{self, PdfError},
    signatures::{
        Rejection, Revocation, VerificationContext, sign_cms, sign_jws, sign_pdf, verify_cms,
        verify_jws, verify_pdf,
    },
    x509::{
        TrustAnchor,
        dev::{DevCa, LeafProfile, SigningProfile},
    },
};

const NOW: u64 = 1_800_000_000;
const NAME: &str = "Nguyễn Văn An";
const ID_NUMBER: &str = "001090000001";
const MINIMAL_PDF: &[u8] = include_bytes!("../../tests/vectors/pdf/minimal.pdf");
const XREF_STREAM_PDF: &[u8] = include_bytes!("../../tests/vectors/pdf/xref-stream.pdf");
const ENCRYPTED_PDF: &[u8] = include_bytes!("../../tests/vectors/pdf/encrypted.pdf");

struct Pki {
    root: DevCa,
    ca: DevCa,
    anchors: Vec<TrustAnchor>,
}

fn pki() -> Pki {
    let root = DevCa::generate(
        &Es256KeyPair::generate().unwrap(),
        "agency root",
        1_700_000_000,
        2_000_000_000,
    )
    .unwrap();
    let ca_key = Es256KeyPair::generate().unwrap();
    let ca_der = root
        .issue_intermediate(
            ca_key.public_key(),
            "citizen signing CA",
            1_700_000_000,
            2_000_000_000,
        )
        .unwrap();
    let ca = DevCa::load(&ca_der, &ca_key).unwrap();
    let anchors = vec![root.trust_anchor().unwrap()];
    Pki { root, ca, anchors }
}

struct Citizen {
    key: Es256KeyPair,
    chain: Vec<Vec<u8>>,
}

impl Citizen {
    fn signer_chain(&self) -> SignerChain {
        SignerChain::new(&self.chain, self.key.public_key()).unwrap()
    }

    fn serial(&self) -> Vec<u8> {
        let (_, certificate) = X509Certificate::from_der(&self.chain[0]).unwrap();
        certificate.raw_serial().to_vec()
    }
}

fn citizen(pki: &Pki, name: &str, id_number: &str) -> Citizen {
    let key = Es256KeyPair::generate().unwrap();
    let leaf = pki
        .ca
        .issue_signing_certificate(
            key.public_key(),
            &SigningProfile {
                name,
                id_number,
                crl_url: "https://id.example.vn/crl/signing.crl",
                ocsp_url: "https://id.example.vn/ocsp",
                not_before: 1_700_000_000,
                not_after: 1_900_000_000,
            },
        )
        .unwrap();
    Citizen {
        key,
        chain: vec![leaf, pki.ca.certificate_der().to_vec()],
    }
}

const DOCUMENT: &[u8] = b"Hop dong thue nha so 12/2027\n";

#[test]
fn cms_signature_verifies_with_signer_and_time() {
    let pki = pki();
    let citizen = citizen(&pki, NAME, ID_NUMBER);
    let cms = sign_cms(DOCUMENT, &citizen.key, &citizen.signer_chain(), NOW).unwrap();
    let verdict = verify_cms(
        &cms,
        DOCUMENT,
        &VerificationContext::new(&pki.anchors, NOW + 60),
    );
    assert!(verdict.valid, "{verdict:?}");
    let signer = verdict.signer.clone().unwrap();
    assert_eq!(signer.name, NAME);
    assert_eq!(signer.uid, format!("CCCD:{ID_NUMBER}"));
    assert_eq!(verdict.signing_time, Some(NOW));
    assert_eq!(verdict.revocation, Revocation::Unknown);
    assert!(!verdict.timestamped());
    // The CAdES B-B attributes are there.
    let parsed = CmsSignature::parse(&cms).unwrap();
    assert!(parsed.has_signing_certificate());
    assert_eq!(parsed.content_type, ID_DATA);
    assert!(parsed.econtent.is_none(), "detached");
    // The RustCrypto `cms` crate, another DER reader, reads the same structure.
    let content_info = cms::content_info::ContentInfo::from_der(&cms).unwrap();
    let signed_data = content_info
        .content
        .decode_as::<cms::signed_data::SignedData>()
        .unwrap();
    assert_eq!(signed_data.signer_infos.0.len(), 1);
    assert_eq!(signed_data.certificates.unwrap().0.len(), 2);
}

#[test]
fn changed_content_wrong_anchor_and_truncation_are_refused() {
    let pki = pki();
    let citizen = citizen(&pki, NAME, ID_NUMBER);
    let cms = sign_cms(DOCUMENT, &citizen.key, &citizen.signer_chain(), NOW).unwrap();
    let context = VerificationContext::new(&pki.anchors, NOW);

    let verdict = verify_cms(&cms, b"Hop dong thue nha so 13/2027\n", &context);
    assert_eq!(verdict.reason, Some(Rejection::ContentMismatch));
    assert!(!verdict.valid);

    let other = self::pki();
    let verdict = verify_cms(
        &cms,
        DOCUMENT,
        &VerificationContext::new(&other.anchors, NOW),
    );
    assert_eq!(verdict.reason, Some(Rejection::Untrusted));

    for len in [0, 1, 10, cms.len() / 2, cms.len() - 1] {
        let verdict = verify_cms(&cms[..len], DOCUMENT, &context);
        assert_eq!(
            verdict.reason,
            Some(Rejection::Malformed),
            "truncated at {len}"
        );
    }

    // A flipped bit in the signature value.
    let value = signature_value(&cms).unwrap();
    let at = cms
        .windows(value.len())
        .position(|w| w == value.as_slice())
        .unwrap();
    let mut forged = cms.clone();
    forged[at + value.len() - 3] ^= 0x01;
    let verdict = verify_cms(&forged, DOCUMENT, &context);
    assert!(
        matches!(
            verdict.reason,
            Some(Rejection::BadSignature | Rejection::Malformed)
        ),
        "{verdict:?}"
    );

    // After the certificate's end of validity, without a time-stamp: not valid at that time.
    let verdict = verify_cms(
        &cms,
        DOCUMENT,
        &VerificationContext::new(&pki.anchors, 1_950_000_000),
    );
    assert_eq!(verdict.reason, Some(Rejection::CertificateNotValidAtTime));
}

#[test]
fn a_certificate_not_for_document_signing_is_refused() {
    let pki = pki();
    let key = Es256KeyPair::generate().unwrap();
    let leaf = pki
        .ca
        .issue(
            key.public_key(),
            &LeafProfile {
                common_name: "issuer",
                not_before: 1_700_000_000,
                not_after: 1_900_000_000,
                ..LeafProfile::default()
            },
        )
        .unwrap();
    let chain = vec![leaf, pki.ca.certificate_der().to_vec()];
    let signer = SignerChain::new(&chain, key.public_key()).unwrap();
    let cms = sign_cms(DOCUMENT, &key, &signer, NOW).unwrap();
    let verdict = verify_cms(&cms, DOCUMENT, &VerificationContext::new(&pki.anchors, NOW));
    assert_eq!(verdict.reason, Some(Rejection::KeyUsage));
}

#[test]
fn a_chain_for_another_key_is_refused_before_signing() {
    let pki = pki();
    let citizen = citizen(&pki, NAME, ID_NUMBER);
    let other = Es256KeyPair::generate().unwrap();
    assert!(matches!(
        SignerChain::new(&citizen.chain, other.public_key()),
        Err(CmsError::Certificate(_))
    ));
    assert!(SignerChain::new(&[], citizen.key.public_key()).is_err());
}

#[test]
fn revocation_from_a_crl() {
    let pki = pki();
    let citizen = citizen(&pki, NAME, ID_NUMBER);
    let cms = sign_cms(DOCUMENT, &citizen.key, &citizen.signer_chain(), NOW).unwrap();
    let with_crl = |crl: &[u8], now: u64| {
        let mut context = VerificationContext::new(&pki.anchors, now);
        context.crl = Some(crl);
        verify_cms(&cms, DOCUMENT, &context)
    };

    let clean = pki.ca.crl(&[], NOW - 10, NOW + 3600).unwrap();
    let verdict = with_crl(&clean, NOW);
    assert!(verdict.valid, "{verdict:?}");
    assert_eq!(verdict.revocation, Revocation::Good);

    let revoked = pki
        .ca
        .crl(&[(citizen.serial(), NOW - 100)], NOW - 10, NOW + 3600)
        .unwrap();
    let verdict = with_crl(&revoked, NOW);
    assert_eq!(verdict.reason, Some(Rejection::Revoked));
    assert_eq!(verdict.revocation, Revocation::Revoked);

    // Older than the maximum age (a day by default), or past its nextUpdate.
    let verdict = with_crl(&clean, NOW + 2 * 86_400);
    assert_eq!(verdict.reason, Some(Rejection::StaleRevocationData));

    // Signed by another CA (the root, not the signing CA): refused, not ignored.
    let foreign = pki.root.crl(&[], NOW - 10, NOW + 3600).unwrap();
    let verdict = with_crl(&foreign, NOW);
    assert_eq!(verdict.reason, Some(Rejection::InvalidRevocationData));
    let verdict = with_crl(b"not a CRL", NOW);
    assert_eq!(verdict.reason, Some(Rejection::InvalidRevocationData));
}

#[test]
fn jws_with_a_detached_payload() {
    let pki = pki();
    let citizen = citizen(&pki, NAME, ID_NUMBER);
    let document = br#"{"form":"dang-ky-tam-tru","address":"12 Hang Bac, Ha Noi"}"#;
    let jws = sign_jws(document, &citizen.key, &citizen.chain, NOW).unwrap();
    assert!(jws.contains(".."), "detached payload: {jws}");
    let context = VerificationContext::new(&pki.anchors, NOW);
    let verdict = verify_jws(&jws, document, &context);
    assert!(verdict.valid, "{verdict:?}");
    assert_eq!(verdict.signer.unwrap().uid, format!("CCCD:{ID_NUMBER}"));
    assert_eq!(verdict.signing_time, Some(NOW));

    let verdict = verify_jws(&jws, br#"{"form":"other"}"#, &context);
    assert_eq!(verdict.reason, Some(Rejection::BadSignature));
    let (head, signature) = jws.split_once("..").unwrap();
    let attached = format!("{head}.{}.{signature}", crate::jose::b64::encode(document));
    assert_eq!(
        verify_jws(&attached, document, &context).reason,
        Some(Rejection::Malformed)
    );
    assert_eq!(
        verify_jws("garbage", document, &context).reason,
        Some(Rejection::Malformed)
    );
}

#[test]
fn pdf_signature_keeps_the_original_and_verifies() {
    let pki = pki();
    let citizen = citizen(&pki, NAME, ID_NUMBER);
    let signed = sign_pdf(MINIMAL_PDF, &citizen.key, &citizen.signer_chain(), NOW).unwrap();
    assert!(
        signed.starts_with(MINIMAL_PDF),
        "the original bytes stay as they are"
    );
    let context = VerificationContext::new(&pki.anchors, NOW);
    let verdicts = verify_pdf(&signed, &context);
    assert_eq!(verdicts.len(), 1);
    assert!(verdicts[0].valid, "{:?}", verdicts[0]);
    assert_eq!(verdicts[0].signing_time, Some(NOW));
    assert_eq!(verdicts[0].signer.as_ref().unwrap().name, NAME);
    let found = pades::signatures(&signed).unwrap();
    assert_eq!(found[0].sub_filter, "ETSI.CAdES.detached");
    // PAdES: the time is /M, the CMS has no signing-time attribute.
    assert_eq!(
        CmsSignature::parse(&found[0].cms).unwrap().signing_time,
        None
    );

    // A byte of the signed part changed.
    let mut changed = signed.clone();
    let at = memchr::memmem::find(&changed, b"Hop dong").unwrap();
    changed[at] = b'h';
    assert_eq!(
        verify_pdf(&changed, &context)[0].reason,
        Some(Rejection::ContentMismatch)
    );

    // Bytes appended after the signature.
    let mut appended = signed.clone();
    appended.extend_from_slice(b"% more\n");
    assert_eq!(
        verify_pdf(&appended, &context)[0].reason,
        Some(Rejection::ModifiedAfterSigning)
    );
}

#[test]
fn a_second_signature_keeps_the_first_valid() {
    let pki = pki();
    let first = citizen(&pki, NAME, ID_NUMBER);
    let second = citizen(&pki, "Trần Thị Bình", "001190000002");
    let once = sign_pdf(MINIMAL_PDF, &first.key, &first.signer_chain(), NOW).unwrap();
    let twice = sign_pdf(&once, &second.key, &second.signer_chain(), NOW + 60).unwrap();
    assert!(twice.starts_with(&once));
    let verdicts = verify_pdf(&twice, &VerificationContext::new(&pki.anchors, NOW + 120));
    assert_eq!(verdicts.len(), 2);
    assert!(verdicts.iter().all(|v| v.valid), "{verdicts:?}");
    assert_eq!(verdicts[0].signer.as_ref().unwrap().name, NAME);
    assert_eq!(verdicts[1].signer.as_ref().unwrap().name, "Trần Thị Bình");
    // Two fields with distinct names.
    let fields = lopdf::Document::load_mem(&twice)
        .unwrap()
        .objects
        .values()
        .filter_map(|o| o.as_dict().ok())
        .filter(|d| {
            d.get(b"FT")
                .is_ok_and(|ft| ft.as_name().ok() == Some(b"Sig"))
        })
        .filter_map(|d| d.get(b"T").ok()?.as_str().ok().map(<[u8]>::to_vec))
        .collect::<std::collections::BTreeSet<_>>();
    assert_eq!(fields.len(), 2);
}

#[test]
fn cross_reference_streams_are_updated_too() {
    let pki = pki();
    let citizen = citizen(&pki, NAME, ID_NUMBER);
    let signed = sign_pdf(XREF_STREAM_PDF, &citizen.key, &citizen.signer_chain(), NOW).unwrap();
    let verdicts = verify_pdf(&signed, &VerificationContext::new(&pki.anchors, NOW));
    assert!(verdicts[0].valid, "{:?}", verdicts[0]);
}

#[test]
fn encrypted_malformed_and_unsigned_pdfs_are_refused() {
    let pki = pki();
    let citizen = citizen(&pki, NAME, ID_NUMBER);
    let chain = citizen.signer_chain();
    assert_eq!(
        sign_pdf(ENCRYPTED_PDF, &citizen.key, &chain, NOW).unwrap_err(),
        PdfError::Encrypted
    );
    for bad in [
        &b""[..],
        b"not a pdf",
        b"%PDF-1.7\n",
        &MINIMAL_PDF[..MINIMAL_PDF.len() / 2],
    ] {
        assert!(
            matches!(
                sign_pdf(bad, &citizen.key, &chain, NOW),
                Err(PdfError::Malformed(_))
            ),
            "{:?}",
            String::from_utf8_lossy(bad)
        );
    }
    assert_eq!(
        pades::signatures(MINIMAL_PDF).unwrap_err(),
        PdfError::Unsigned
    );
    let verdicts = verify_pdf(MINIMAL_PDF, &VerificationContext::new(&pki.anchors, NOW));
    assert_eq!(verdicts[0].reason, Some(Rejection::Malformed));
}

#[test]
fn a_timestamp_slot_is_refused_twice() {
    let pki = pki();
    let citizen = citizen(&pki, NAME, ID_NUMBER);
    let cms = sign_cms(DOCUMENT, &citizen.key, &citizen.signer_chain(), NOW).unwrap();
    // Any DER element stands for a token here: the verifier, not this step, checks it.
    let token = [0x30, 0x00];
    let stamped = add_signature_timestamp(&cms, &token).unwrap();
    assert_eq!(
        add_signature_timestamp(&stamped, &token).unwrap_err(),
        CmsError::AlreadyTimestamped
    );
    // The signed part is unchanged, and a broken token makes the signature invalid, not valid
    // without its time.
    let verdict = verify_cms(
        &stamped,
        DOCUMENT,
        &VerificationContext::new(&pki.anchors, NOW),
    );
    assert_eq!(verdict.reason, Some(Rejection::InvalidTimestamp));
    assert_eq!(
        signature_value(&stamped).unwrap(),
        signature_value(&cms).unwrap()
    );
}

#[test]
fn the_constant_pieces_are_the_encodings_they_stand_for() {
    let digest = [0x5au8; 32];
    let constants = &*SIGNING_CONSTANTS;
    let mut message_digest = constants.message_digest_prefix.to_vec();
    message_digest.extend_from_slice(&digest);
    assert_eq!(
        message_digest,
        attribute_der(ID_MESSAGE_DIGEST, &tlv(OCTET_STRING, &digest))
    );
    for len in [0, 1, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000] {
        let mut out = Vec::new();
        push_header(&mut out, SET, len);
        assert_eq!(out.len(), header_len(len), "{len}");
        assert_eq!(out, tlv(SET, &vec![0; len])[..out.len()], "{len}");
    }
}

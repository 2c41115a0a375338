//! The exported API called from Rust as a host would call it: typed errors for bad input, and a
//! verifier and a wallet that say which kind of refusal they met.

use std::sync::Arc;

use dinhdanh_sdk::{
    jose::{Es256KeyPair, JwsHeader, PublicKey},
    openid4vp::{
        request::{RequestReference, verify_request},
        response::{direct_post_body, vp_token},
    },
    sdjwt::{ClaimPath, KeyBindingInput, SdJwt},
    status_list::{StatusList, StatusListToken, StatusReference},
    vc::{CredentialKind, VcIssuance, issue_vc},
    wallet::{self as core, CopyRecord, CredentialInfo, KeyStore as _, WalletStore},
    x509::{
        self,
        dev::{DevCa, LeafProfile},
    },
};

use super::*;

const NOW: u64 = 1_800_000_000;
const ISS: &str = "https://id.dinhdanh.example";
const LIST: &str = "https://id.dinhdanh.example/status-lists/1";
const BANK: &str = "x509_san_dns:bank.example.vn";
const ASK_GIVEN_NAME: &str = r#"{"credentials":[{"id":"pid","format":"dc+sd-jwt",
    "meta":{"vct_values":["urn:vn:dinhdanh:pid:1"]},"claims":[{"path":["given_name"]}]}]}"#;

// The software keystore of the SDK behind the foreign trait, as a host would write one.
use crate::apps::SoftwareKeys as Soft;

/// A phone with no network.
struct Offline;

impl Transport for Offline {
    fn send(&self, _: HttpRequest) -> Result<HttpResponse, TransportFailure> {
        Err(TransportFailure::NoConnection {
            reason: "airplane mode".into(),
        })
    }
}

fn ca(name: &str) -> DevCa {
    DevCa::generate(
        &Es256KeyPair::generate().unwrap(),
        name,
        NOW - 10_000,
        NOW + 10_000_000,
    )
    .unwrap()
}

fn leaf(ca: &DevCa, key: &Es256KeyPair, name: &str, dns_names: &[&str], uris: &[&str]) -> Vec<u8> {
    ca.issue(
        key.public_key(),
        &LeafProfile {
            common_name: name,
            dns_names,
            uris,
            not_before: NOW - 1_000,
            not_after: NOW + 1_000_000,
        },
    )
    .unwrap()
}

/// The agency's issuer and relying-party CA, and a bank certified by it.
struct Agency {
    issuer_ca: DevCa,
    issuer_key: Es256KeyPair,
    issuer_x5c: Vec<String>,
    rp_ca: DevCa,
    bank_key: Es256KeyPair,
    bank_chain_pem: String,
}

fn agency() -> Agency {
    let (issuer_ca, rp_ca) = (ca("agency root"), ca("relying-party CA"));
    let (issuer_key, bank_key) = (
        Es256KeyPair::generate().unwrap(),
        Es256KeyPair::generate().unwrap(),
    );
    let issuer_x5c =
        x509::der_chain_to_x5c(&[leaf(&issuer_ca, &issuer_key, "issuer", &[], &[ISS])]);
    let bank_chain_pem =
        x509::dev::der_to_pem(&leaf(&rp_ca, &bank_key, "Bank", &["bank.example.vn"], &[]));
    Agency {
        issuer_ca,
        issuer_key,
        issuer_x5c,
        rp_ca,
        bank_key,
        bank_chain_pem,
    }
}

impl Agency {
    /// A PID bound to `holder`, status entry `idx`, expiring at `exp`.
    fn pid(&self, holder: &PublicKey, idx: u64, exp: u64) -> String {
        let claims: serde_json::Map<String, serde_json::Value> = serde_json::from_str(
            r#"{"personal_identifier": "079204000001", "family_name": "Trần",
                "given_name": "Thị Bình", "birthdate": "2004-05-06", "sex": 2,
                "nationalities": ["VN"], "issuing_authority": "Bộ Công an",
                "issuing_country": "VN"}"#,
        )
        .unwrap();
        issue_vc(
            &self.issuer_key,
            &VcIssuance {
                vct: CredentialKind::Pid.vct(),
                iss: Some(ISS),
                iat: NOW - 50,
                exp: Some(exp),
                holder_key: Some(holder),
                status: Some(&StatusReference::new(LIST, idx)),
                x5c: Some(self.issuer_x5c.clone()),
                ..VcIssuance::default()
            },
            &claims,
            &CredentialKind::Pid.disclosable_paths(&claims),
        )
        .unwrap()
    }

    /// The status list, every entry valid but `idx`, which is `value`.
    fn status_list(&self, idx: usize, value: u8) -> String {
        let mut list = StatusList::new(2, 1 << 16).unwrap();
        list.set(idx, value).unwrap();
        StatusListToken::new(LIST, NOW - 60, list)
            .sign(
                &JwsHeader {
                    x5c: Some(self.issuer_x5c.clone()),
                    ..JwsHeader::es256("statuslist+jwt")
                },
                &self.issuer_key,
            )
            .unwrap()
    }

    /// The bank, trusting `issuer_anchors_pem` fetched at `trust_as_of`, the SDK's defaults
    /// otherwise.
    fn bank(&self, issuer_anchors_pem: String, trust_as_of: u64) -> Arc<Verifier> {
        Verifier::new(VerifierConfig {
            signing_key_jwk: self.bank_key.to_private_jwk().to_string(),
            certificate_chain_pem: self.bank_chain_pem.clone(),
            client_id: BANK.into(),
            response_uri: "https://bank.example.vn/openid4vp/response".into(),
            issuer_anchors_pem,
            trust_as_of,
            registration: None,
            encrypt_responses: false,
            max_trust_age: None,
            status_max_age: None,
            require_status: None,
            clock_skew: None,
            max_presentation_age: None,
            request_ttl: None,
        })
        .unwrap()
    }

    /// The wallet's side, done with the SDK: a request of `bank`'s answered with `credential`,
    /// the given name disclosed; `forge` changes one character of the issuer's signature.
    fn answer(
        &self,
        bank: &Verifier,
        holder: &Es256KeyPair,
        credential: &str,
        forge: bool,
    ) -> String {
        let created = bank.create_request(ASK_GIVEN_NAME.into(), NOW).unwrap();
        let RequestReference::Value { client_id, request } =
            RequestReference::parse(&created.uri).unwrap()
        else {
            panic!("the bank asks by value");
        };
        let anchors = [self.rp_ca.trust_anchor().unwrap()];
        let request = verify_request(&request, &client_id, &anchors, NOW)
            .unwrap()
            .request;
        let mut presentation = SdJwt::parse(credential)
            .unwrap()
            .present(
                &ClaimPath::parse_list("/given_name").unwrap(),
                Some(KeyBindingInput {
                    signer: holder,
                    aud: &client_id,
                    nonce: &request.nonce,
                    iat: NOW,
                }),
            )
            .unwrap();
        if forge {
            let at = presentation.find('~').unwrap() - 10;
            let swapped = if &presentation[at..=at] == "A" {
                "B"
            } else {
                "A"
            };
            presentation.replace_range(at..=at, swapped);
        }
        direct_post_body(
            &vp_token(&[("pid".into(), presentation)]),
            request.state.as_deref(),
        )
    }
}

#[test]
fn bad_input_is_a_typed_error() {
    let dir = tempfile::tempdir().unwrap();
    let keys = Arc::new(Soft(
        core::SoftwareKeyStore::open_with_master_key(&dir.path().join("k"), &[1; 32]).unwrap(),
    ));
    let path = dir.path().join("w.db").display().to_string();
    let root = ca("root").certificate_pem();
    for (issuers, verifiers) in [("not pem", root.as_str()), (root.as_str(), "")] {
        assert!(matches!(
            Wallet::open(
                path.clone(),
                keys.clone(),
                "w".into(),
                issuers.into(),
                verifiers.into()
            ),
            Err(DinhdanhError::InvalidInput { .. })
        ));
    }
    let wallet = Wallet::open(path, keys, "w".into(), root.clone(), root).unwrap();
    assert!(wallet.credentials().unwrap().is_empty());
    assert!(matches!(
        wallet.prepare_presentation("openid4vp://?client_id=x".into(), None, 0),
        Err(DinhdanhError::InvalidInput { .. })
    ));
    assert!(matches!(
        wallet.prepare_presentation(
            "openid4vp://?client_id=x&request=eyJhbGciOiJFUzI1NiJ9.e30.AAAA".into(),
            None,
            0
        ),
        Err(DinhdanhError::UntrustedVerifier { .. })
    ));
    let offer = "openid-credential-offer://?credential_offer_uri=https%3A%2F%2Fid.example%2Fo1";
    assert!(matches!(
        wallet.receive_offer(Arc::new(Offline), offer.into(), None, 1, NOW),
        Err(DinhdanhError::Network { .. })
    ));
    assert!(matches!(
        Verifier::new(VerifierConfig {
            signing_key_jwk: "{}".into(),
            certificate_chain_pem: String::new(),
            client_id: BANK.into(),
            response_uri: "https://bank.example.vn/r".into(),
            issuer_anchors_pem: String::new(),
            trust_as_of: 0,
            registration: None,
            encrypt_responses: false,
            max_trust_age: None,
            status_max_age: None,
            require_status: None,
            clock_skew: None,
            max_presentation_age: None,
            request_ttl: None,
        }),
        Err(DinhdanhError::InvalidInput { .. })
    ));
}

#[test]
fn a_verifier_tells_revoked_suspended_expired_forged_and_untrusted_apart() {
    let a = agency();
    let holder = Es256KeyPair::generate().unwrap();
    let root = a.issuer_ca.certificate_pem();
    let pid = a.pid(holder.public_key(), 7, NOW + 1_000);
    // A bank whose status list says `value` at the PID's entry.
    let bank_seeing = |value: u8| {
        let bank = a.bank(root.clone(), NOW - 60);
        bank.add_status_list(LIST.into(), a.status_list(7, value), NOW)
            .unwrap();
        bank
    };

    let bank = bank_seeing(0);
    let body = a.answer(&bank, &holder, &pid, false);
    let [accepted] = &bank.receive(body.clone(), NOW).unwrap()[..] else {
        panic!("one credential");
    };
    assert_eq!(accepted.status, "valid");
    assert!(matches!(
        bank.receive(body, NOW),
        Err(DinhdanhError::Replayed)
    ));
    let forged = a.answer(&bank, &holder, &pid, true);
    assert!(matches!(
        bank.receive(forged, NOW),
        Err(DinhdanhError::Forged { .. })
    ));

    let bank = bank_seeing(1);
    let revoked = a.answer(&bank, &holder, &pid, false);
    assert!(matches!(
        bank.receive(revoked, NOW),
        Err(DinhdanhError::Revoked { .. })
    ));
    let bank = bank_seeing(2);
    let suspended = a.answer(&bank, &holder, &pid, false);
    assert!(matches!(
        bank.receive(suspended, NOW),
        Err(DinhdanhError::Suspended { .. })
    ));

    let bank = bank_seeing(0);
    let short_lived = a.pid(holder.public_key(), 7, NOW + 10);
    let expired = a.answer(&bank, &holder, &short_lived, false);
    assert!(matches!(
        bank.receive(expired, NOW + 100),
        Err(DinhdanhError::Expired { .. })
    ));

    // A bank trusting another agency's root: the issuer, and its status list, are not trusted.
    let elsewhere = a.bank(ca("another root").certificate_pem(), NOW - 60);
    assert!(matches!(
        elsewhere.add_status_list(LIST.into(), a.status_list(7, 0), NOW),
        Err(DinhdanhError::UntrustedIssuer { .. })
    ));
    let answer = a.answer(&elsewhere, &holder, &pid, false);
    assert!(matches!(
        elsewhere.receive(answer, NOW),
        Err(DinhdanhError::UntrustedIssuer { .. })
    ));

    // Roots fetched two days ago, and no status list at all: the bank's own data is stale.
    let stale = a.bank(root.clone(), NOW - 2 * 86_400);
    let answer = a.answer(&stale, &holder, &pid, false);
    assert!(matches!(
        stale.receive(answer, NOW),
        Err(DinhdanhError::StaleTrustData { .. })
    ));
    let no_list = a.bank(root, NOW - 60);
    let answer = a.answer(&no_list, &holder, &pid, false);
    assert!(matches!(
        no_list.receive(answer, NOW),
        Err(DinhdanhError::StaleTrustData { .. })
    ));
}

#[test]
fn a_wallet_answers_no_unregistered_or_untrusted_verifier() {
    let a = agency();
    let dir = tempfile::tempdir().unwrap();
    let keys = Arc::new(Soft(
        core::SoftwareKeyStore::open_with_master_key(&dir.path().join("k"), &[1; 32]).unwrap(),
    ));
    let path = dir.path().join("w.db");
    // A PID put in the wallet file with the SDK, as receiving an offer would.
    {
        let mut store = WalletStore::open(&path, &keys.0, "w").unwrap();
        keys.0.generate_signing_key("pid/0").unwrap();
        let holder = PublicKey::from_sec1(&keys.0.public_key("pid/0").unwrap()).unwrap();
        let info = CredentialInfo {
            id: String::new(),
            configuration_id: Some("pid".into()),
            vct: CredentialKind::Pid.vct().into(),
            issuer: ISS.into(),
            issued_at: NOW - 50,
            expires_at: Some(NOW + 1_000),
            added_at: NOW - 50,
        };
        let copy = CopyRecord {
            sd_jwt: a.pid(&holder, 7, NOW + 1_000),
            key_alias: "pid/0".into(),
        };
        store.add(&info, &[copy]).unwrap();
    }
    let path = path.display().to_string();
    let issuers = a.issuer_ca.certificate_pem();
    let wallet = Wallet::open(
        path.clone(),
        keys.clone(),
        "w".into(),
        issuers.clone(),
        a.rp_ca.certificate_pem(),
    )
    .unwrap();
    assert_eq!(wallet.credentials().unwrap()[0].unused_copies, 1);

    // The bank has no registration: the citizen sees so, and nothing is presented.
    let bank = a.bank(issuers.clone(), NOW - 60);
    let created = bank.create_request(ASK_GIVEN_NAME.into(), NOW).unwrap();
    let pending = wallet
        .prepare_presentation(created.uri.clone(), None, NOW)
        .unwrap();
    assert!(!pending.consent().registered);
    // It hears `access_denied` (OpenID4VP 1.0 section 8.5) once the host posts the answer.
    assert!(matches!(
        wallet.respond(pending, NOW),
        Err(DinhdanhError::UnregisteredVerifier { verifier, body, .. })
            if verifier == BANK && body.contains("access_denied")
    ));
    assert_eq!(wallet.credentials().unwrap()[0].unused_copies, 1);
    assert!(wallet.presentations().unwrap().is_empty());

    // An authenticated request the wallet refuses (here, expired) comes with the error response
    // to post to the verifier, which learns why instead of waiting.
    let late = bank.create_request(ASK_GIVEN_NAME.into(), NOW).unwrap();
    match wallet.prepare_presentation(late.uri, None, NOW + 3_600) {
        Err(DinhdanhError::RequestRefused {
            response_uri, body, ..
        }) => {
            assert!(response_uri.starts_with("https://"), "{response_uri}");
            assert!(body.contains("error="), "{body}");
        }
        Err(other) => panic!("an expired request was not refused on its channel: {other}"),
        Ok(_) => panic!("an expired request was accepted"),
    }

    // A wallet shipped with another relying-party CA does not trust the bank's certificate.
    drop(wallet);
    let wallet = Wallet::open(
        path,
        keys,
        "w".into(),
        issuers,
        ca("another relying-party CA").certificate_pem(),
    )
    .unwrap();
    assert!(matches!(
        wallet.prepare_presentation(created.uri, None, NOW),
        Err(DinhdanhError::UntrustedVerifier { .. })
    ));
}

#[test]
fn trust_bundles_and_registrations_fail_by_kind() {
    use dinhdanh_sdk::{
        holder::WalletError,
        openid4vp::request::{REGISTRAR_URI, RegisteredCredential, Registration},
        trust::{MaxAges, TrustBundle},
    };
    let agency = agency();
    let root_pem = agency.issuer_ca.certificate_pem();
    let issuer_chain = x509::x5c_to_der_chain(&agency.issuer_x5c).unwrap();
    let bundle = TrustBundle {
        iss: ISS.into(),
        iat: NOW,
        exp: NOW + 86_400,
        version: 7,
        issuer_roots: x509::der_chain_to_x5c(&[agency.issuer_ca.certificate_der().to_vec()]),
        rp_roots: x509::der_chain_to_x5c(&[agency.rp_ca.certificate_der().to_vec()]),
        status_lists: Default::default(),
        crls: Default::default(),
        max_ages: MaxAges::default(),
    }
    .sign(&agency.issuer_key, &issuer_chain)
    .unwrap();
    let read = read_trust_bundle(bundle.clone(), root_pem.clone(), NOW).unwrap();
    assert_eq!(read.version, 7);
    assert_eq!(read.rp_roots_pem, agency.rp_ca.certificate_pem());
    assert!(matches!(
        read_trust_bundle(bundle.clone(), root_pem.clone(), NOW + 90_000),
        Err(DinhdanhError::StaleTrustData { .. })
    ));
    assert!(matches!(
        read_trust_bundle(bundle.clone(), agency.rp_ca.certificate_pem(), NOW),
        Err(DinhdanhError::Forged { .. })
    ));

    // A registration for another client: the verifier is not registered.
    let registrar = Es256KeyPair::generate().unwrap();
    let registrar_chain = vec![leaf(
        &agency.rp_ca,
        &registrar,
        "registrar",
        &[],
        &[REGISTRAR_URI],
    )];
    let registration = |sub: &str| {
        Registration {
            iss: ISS.into(),
            sub: sub.into(),
            name: "Bank".into(),
            purpose: "eKYC".into(),
            credentials: vec![RegisteredCredential {
                vct: CredentialKind::Pid.vct().into(),
                claims: vec!["/given_name".into()],
            }],
            iat: NOW,
            exp: NOW + 86_400,
            status: None,
        }
        .sign(&registrar, &registrar_chain)
        .unwrap()
    };
    let config = |registration: String| RegisteredVerifierConfig {
        signing_key_jwk: agency.bank_key.to_private_jwk().to_string(),
        certificate_chain_pem: agency.bank_chain_pem.clone(),
        registration,
        response_uri: "https://bank.example.vn/openid4vp/response".into(),
        trust_bundle: bundle.clone(),
        agency_roots_pem: root_pem.clone(),
        now: NOW,
        encrypt_responses: false,
        request_ttl: None,
    };
    assert!(Verifier::from_registration(config(registration(BANK))).is_ok());
    assert!(matches!(
        Verifier::from_registration(config(registration("x509_san_dns:other.example.vn"))),
        Err(DinhdanhError::Unregistered { .. })
    ));
    // A revoked verifier is its own kind.
    assert!(matches!(
        DinhdanhError::from(WalletError::RevokedVerifier {
            verifier: BANK.into()
        }),
        DinhdanhError::RevokedVerifier { verifier } if verifier == BANK
    ));
}

#[test]
fn documents_signed_with_a_keystore_key_verify() {
    use dinhdanh_sdk::x509::dev::SigningProfile;

    let dir = tempfile::tempdir().unwrap();
    let keys = Arc::new(Soft(
        core::SoftwareKeyStore::open_with_master_key(&dir.path().join("k"), &[1; 32]).unwrap(),
    ));
    keys.0.generate_signing_key("signing").unwrap();
    let csr = signing_certificate_request(keys.clone(), "signing".into()).unwrap();
    assert!(signing_certificate_request(keys.clone(), "absent".into()).is_err());

    let root_key = Es256KeyPair::generate().unwrap();
    let root = DevCa::generate(&root_key, "agency root", NOW - 86_400, NOW + 86_400).unwrap();
    let csr_der = x509::csr::csr_from_pem(&csr).unwrap();
    let leaf = root
        .issue_signing_certificate_for_csr(
            &csr_der,
            &SigningProfile {
                name: "Nguyễn Văn An",
                id_number: "001090000001",
                crl_url: "https://id.example.vn/crl/signing.crl",
                ocsp_url: "https://id.example.vn/ocsp",
                not_before: NOW - 3600,
                not_after: NOW + 3600,
            },
        )
        .unwrap();
    let chain_pem = x509::dev::der_to_pem(&leaf);
    let signer = DocumentSigner::new(keys.clone(), "signing".into(), chain_pem.clone()).unwrap();
    let trust = SignatureTrust {
        anchors_pem: root.certificate_pem(),
        crl: None,
        ocsp: None,
        now: NOW,
        max_revocation_age: 86_400,
    };

    let document = b"Hop dong".to_vec();
    let cms = signer.sign_cms(document.clone(), NOW).unwrap();
    let verdict = verify_cms_signature(cms.clone(), document.clone(), trust.clone()).unwrap();
    assert!(verdict.valid, "{verdict:?}");
    assert_eq!(verdict.signer_uid.as_deref(), Some("CCCD:001090000001"));
    assert_eq!(verdict.revocation, RevocationStatus::Unknown);
    let verdict = verify_cms_signature(cms.clone(), b"other".to_vec(), trust.clone()).unwrap();
    assert_eq!(verdict.reason, Some(SignatureRejection::ContentMismatch));
    assert!(!TimeStampRequest::for_cms(cms).unwrap().body().is_empty());

    let pdf = include_bytes!("../../sdk/tests/vectors/pdf/minimal.pdf").to_vec();
    let signed = signer.sign_pdf(pdf, NOW).unwrap();
    let verdicts = verify_pdf_signatures(signed, trust.clone()).unwrap();
    assert!(verdicts[0].valid, "{verdicts:?}");
    let encrypted = include_bytes!("../../sdk/tests/vectors/pdf/encrypted.pdf").to_vec();
    assert!(matches!(
        signer.sign_pdf(encrypted, NOW),
        Err(DinhdanhError::EncryptedDocument)
    ));

    let json = br#"{"a":1}"#.to_vec();
    let jws = signer.sign_jws(json.clone(), NOW).unwrap();
    assert!(verify_jws_signature(jws, json, trust).unwrap().valid);

    // A chain for another key is refused when the signer is made.
    keys.0.generate_signing_key("other").unwrap();
    assert!(matches!(
        DocumentSigner::new(keys, "other".into(), chain_pem),
        Err(DinhdanhError::CertificateMismatch { .. })
    ));
}

#[test]
fn an_offline_qr_answer_verifies_once_at_the_counter() {
    use dinhdanh_sdk::openid4vp::request::{REGISTRAR_URI, RegisteredCredential, Registration};

    let a = agency();
    let dir = tempfile::tempdir().unwrap();
    let keys = Arc::new(Soft(
        core::SoftwareKeyStore::open_with_master_key(&dir.path().join("k"), &[1; 32]).unwrap(),
    ));
    let path = dir.path().join("w.db");
    {
        let mut store = WalletStore::open(&path, &keys.0, "w").unwrap();
        keys.0.generate_signing_key("pid/0").unwrap();
        let holder = PublicKey::from_sec1(&keys.0.public_key("pid/0").unwrap()).unwrap();
        let info = CredentialInfo {
            id: String::new(),
            configuration_id: Some("pid".into()),
            vct: CredentialKind::Pid.vct().into(),
            issuer: ISS.into(),
            issued_at: NOW - 50,
            expires_at: Some(NOW + 1_000),
            added_at: NOW - 50,
        };
        let copy = CopyRecord {
            sd_jwt: a.pid(&holder, 7, NOW + 1_000),
            key_alias: "pid/0".into(),
        };
        store.add(&info, &[copy]).unwrap();
    }
    let issuers = a.issuer_ca.certificate_pem();
    let wallet = Wallet::open(
        path.display().to_string(),
        keys,
        "w".into(),
        issuers.clone(),
        a.rp_ca.certificate_pem(),
    )
    .unwrap();

    // The counter, registered for the given name by the agency's registry.
    let registry_key = Es256KeyPair::generate().unwrap();
    let registry_chain = [leaf(
        &a.rp_ca,
        &registry_key,
        "Registry",
        &[],
        &[REGISTRAR_URI],
    )];
    let registration = Registration {
        iss: "dinhdanh relying-party registry".into(),
        sub: BANK.into(),
        name: "Quầy giao dịch".into(),
        purpose: "Đăng ký thuê bao".into(),
        credentials: vec![RegisteredCredential {
            vct: CredentialKind::Pid.vct().into(),
            claims: vec!["/given_name".into()],
        }],
        iat: NOW - 60,
        exp: NOW + 3_600,
        status: None,
    }
    .sign(&registry_key, &registry_chain)
    .unwrap();
    let config = VerifierConfig {
        signing_key_jwk: a.bank_key.to_private_jwk().to_string(),
        certificate_chain_pem: a.bank_chain_pem.clone(),
        client_id: BANK.into(),
        response_uri: "https://bank.example.vn/openid4vp/response".into(),
        issuer_anchors_pem: issuers.clone(),
        trust_as_of: NOW - 60,
        registration: Some(registration),
        encrypt_responses: false,
        max_trust_age: None,
        status_max_age: None,
        require_status: None,
        clock_skew: None,
        max_presentation_age: None,
        request_ttl: None,
    };
    // A counter asking for encrypted answers gets no QR code (one is read in the clear), and
    // nothing is used or logged for it.
    let sealed = Verifier::new(VerifierConfig {
        encrypt_responses: true,
        ..config.clone()
    })
    .unwrap();
    let asked = sealed.create_request(ASK_GIVEN_NAME.into(), NOW).unwrap();
    let pending = wallet.prepare_presentation(asked.uri, None, NOW).unwrap();
    assert!(matches!(
        wallet.respond_qr(pending, NOW),
        Err(DinhdanhError::InvalidInput { reason }) if reason.contains("encrypted")
    ));
    assert_eq!(wallet.presentations().unwrap().len(), 0);

    let counter = Verifier::new(config).unwrap();
    counter
        .add_status_list(LIST.into(), a.status_list(0, 0), NOW)
        .unwrap();

    let created = counter.create_request(ASK_GIVEN_NAME.into(), NOW).unwrap();
    let pending = wallet.prepare_presentation(created.uri, None, NOW).unwrap();
    assert_eq!(pending.consent().verifier_name, "Quầy giao dịch");
    let qr = wallet.respond_qr(pending.clone(), NOW).unwrap();
    assert!(qr.starts_with("DD1:"), "{qr}");
    assert_eq!(wallet.presentations().unwrap().len(), 1);
    // The request is answered once: a second answer, or a refusal after it, is refused and
    // uses nothing.
    for again in [
        wallet.respond(pending.clone(), NOW).err(),
        wallet.decline(pending.clone()).err(),
        wallet.respond_qr(pending.clone(), NOW).err(),
    ] {
        assert!(
            matches!(&again, Some(DinhdanhError::InvalidInput { reason }) if reason.contains("already answered")),
            "{again:?}"
        );
    }
    assert_eq!(pending.consent().verifier_name, "Quầy giao dịch");
    assert_eq!(wallet.presentations().unwrap().len(), 1);

    // A damaged scan, another request's state, another query: refused, the request still open.
    let damaged = &qr[..qr.len() - 6];
    assert!(
        counter
            .receive_qr(damaged.into(), created.state.clone(), "pid".into(), NOW)
            .is_err()
    );
    assert!(matches!(
        counter.receive_qr(qr.clone(), "not-a-state".into(), "pid".into(), NOW),
        Err(DinhdanhError::Replayed)
    ));
    assert!(
        counter
            .receive_qr(qr.clone(), created.state.clone(), "other".into(), NOW)
            .is_err()
    );
    let verified = counter
        .receive_qr(qr.clone(), created.state.clone(), "pid".into(), NOW)
        .unwrap();
    assert_eq!(verified.len(), 1);
    assert!(verified[0].claims_json.contains("Thị Bình"));
    assert!(!verified[0].claims_json.contains("family_name"));
    // Once.
    assert!(matches!(
        counter.receive_qr(qr, created.state, "pid".into(), NOW),
        Err(DinhdanhError::Replayed)
    ));

    // An unregistered verifier gets no QR code either.
    let shop = a.bank(issuers, NOW - 60);
    let asked = shop.create_request(ASK_GIVEN_NAME.into(), NOW).unwrap();
    let pending = wallet.prepare_presentation(asked.uri, None, NOW).unwrap();
    assert!(matches!(
        wallet.respond_qr(pending, NOW),
        Err(DinhdanhError::UnregisteredVerifier { .. })
    ));
    assert_eq!(wallet.presentations().unwrap().len(), 1);
}

//! Journeys 5 and 6 offline: a relying party signs an OpenID4VP request with a DCQL query; the
//! wallet checks it (certificate chain to the agency's relying-party CA, client identifier,
//! registration), evaluates the query over its encrypted store, asks consent (refusing claims
//! beyond the registration), presents an unused copy with key binding, and logs it; the verifier
//! checks the response against its pending request, once. The wallet side is the SDK's
//! [`Wallet`] facade.

use std::{path::Path, sync::Arc};

use dinhdanh_sdk::{
    holder::{PresentationResponse, Wallet, WalletError},
    jose::{
        Es256KeyPair, PublicKey,
        jwe::{ContentEncryption, DecryptionKey},
    },
    openid4vp::{
        Oid4vpError,
        dcql::DcqlQuery,
        qr,
        request::{
            ClientId, REGISTRAR_URI, REGISTRATION_FORMAT, RegisteredCredential, Registration,
            RequestObject, RequestReference, ResponseMode, STATIC_AUDIENCE, VerifierInfo,
            new_nonce, sign_request, verify_request,
        },
        response::{PendingRequests, ResponsePolicy, open_encrypted_response, verify_response},
    },
    relying_party::{PendingRequest, RelyingParty, RelyingPartyConfig, RequestOptions},
    sdjwt::{KeyBindingInput, SdJwt},
    vc::{self, VcIssuance},
    verifier::{IssuerTrustData, StatusListCache, StatusPolicy},
    wallet::{CopyRecord, CredentialInfo, KeyStore, KeyStoreSigner, SoftwareKeyStore, WalletStore},
    x509::{
        TrustAnchor,
        dev::{DevCa, LeafProfile},
    },
};
use serde_json::{Value, json};

const NOW: u64 = 1_800_000_000;
const ISS: &str = "https://id.dinhdanh.example";
const PID: &str = "urn:vn:dinhdanh:pid:1";

struct World {
    issuer_root: TrustAnchor,
    rp_root: TrustAnchor,
    rp_key: Es256KeyPair,
    rp_chain: Vec<Vec<u8>>,
    agency_key: Es256KeyPair,
    agency_chain: Vec<Vec<u8>>,
    issuer_key: Es256KeyPair,
    issuer_x5c: Vec<String>,
}

/// An end-entity certificate from `ca` for `key`, valid around `NOW`.
fn leaf(ca: &DevCa, key: &Es256KeyPair, name: &str, dns_names: &[&str], uris: &[&str]) -> Vec<u8> {
    ca.issue(
        key.public_key(),
        &LeafProfile {
            common_name: name,
            dns_names,
            uris,
            not_before: NOW - 1_000,
            not_after: NOW + 10_000_000,
        },
    )
    .unwrap()
}

fn world() -> World {
    let ca = |name: &str| {
        DevCa::generate(
            &Es256KeyPair::generate().unwrap(),
            name,
            NOW - 1_000,
            NOW + 10_000_000,
        )
        .unwrap()
    };
    let (issuer_ca, rp_ca) = (ca("agency root"), ca("relying-party CA"));
    let (issuer_key, rp_key, agency_key) = (
        Es256KeyPair::generate().unwrap(),
        Es256KeyPair::generate().unwrap(),
        Es256KeyPair::generate().unwrap(),
    );
    World {
        issuer_root: issuer_ca.trust_anchor().unwrap(),
        rp_root: rp_ca.trust_anchor().unwrap(),
        rp_chain: vec![leaf(
            &rp_ca,
            &rp_key,
            "Ngân hàng Ví dụ",
            &["bank.example.vn"],
            &[],
        )],
        agency_chain: vec![leaf(
            &rp_ca,
            &agency_key,
            "relying-party registry",
            &[],
            &[REGISTRAR_URI],
        )],
        issuer_x5c: dinhdanh_sdk::x509::der_chain_to_x5c(&[leaf(
            &issuer_ca,
            &issuer_key,
            "PID issuer",
            &[],
            &[ISS],
        )]),
        rp_key,
        agency_key,
        issuer_key,
    }
}

/// A wallet holding a PID in three copies, each bound to its own keystore key.
fn wallet(w: &World, dir: &Path) -> (Arc<SoftwareKeyStore>, WalletStore, String) {
    let keys =
        Arc::new(SoftwareKeyStore::open_with_master_key(&dir.join("keys"), &[4; 32]).unwrap());
    let mut store = WalletStore::open(&dir.join("wallet.db"), keys.as_ref(), "wallet").unwrap();
    let mut claims: serde_json::Map<String, Value> =
        serde_json::from_str(include_str!("../vectors/pid-sample.json")).unwrap();
    claims.remove("age_equal_or_over");
    let kind = vc::CredentialKind::Pid;
    let disclosable = kind.disclosable_paths(&claims);
    let copies: Vec<CopyRecord> = (0..3)
        .map(|i| {
            let alias = format!("pid/{i}");
            keys.generate_signing_key(&alias).unwrap();
            let holder = PublicKey::from_sec1(&keys.public_key(&alias).unwrap()).unwrap();
            let sd_jwt = vc::issue_vc(
                &w.issuer_key,
                &VcIssuance {
                    vct: PID,
                    iss: Some(ISS),
                    iat: NOW - 86_400,
                    exp: Some(NOW + 365 * 86_400),
                    holder_key: Some(&holder),
                    x5c: Some(w.issuer_x5c.clone()),
                    ..VcIssuance::default()
                },
                &claims,
                &disclosable,
            )
            .unwrap();
            CopyRecord {
                sd_jwt,
                key_alias: alias,
            }
        })
        .collect();
    let id = store
        .add(
            &CredentialInfo {
                id: String::new(),
                configuration_id: Some("pid".into()),
                vct: PID.into(),
                issuer: ISS.into(),
                issued_at: NOW - 86_400,
                expires_at: Some(NOW + 365 * 86_400),
                added_at: NOW - 86_000,
            },
            &copies,
        )
        .unwrap();
    (keys, store, id)
}

fn query(claims: &[&[&str]]) -> DcqlQuery {
    DcqlQuery::from_json(&json!({
        "credentials": [{
            "id": "pid",
            "format": "dc+sd-jwt",
            "meta": { "vct_values": [PID] },
            "claims": claims.iter().map(|p| json!({ "path": p })).collect::<Vec<_>>()
        }]
    }))
    .unwrap()
}

/// The relying party's signed request, with a registration for `registered` claims.
fn request(
    w: &World,
    dcql: DcqlQuery,
    registered: &[&str],
    client_id: &str,
) -> (RequestObject, String) {
    let registration = Registration {
        iss: "https://rp-registry.dinhdanh.example".into(),
        sub: client_id.into(),
        name: "Ngân hàng Ví dụ".into(),
        purpose: "Mở tài khoản thanh toán (eKYC)".into(),
        credentials: vec![RegisteredCredential {
            vct: PID.into(),
            claims: registered.iter().map(|c| (*c).to_owned()).collect(),
        }],
        iat: NOW - 3_600,
        exp: NOW + 86_400,
        status: None,
    }
    .sign(&w.agency_key, &w.agency_chain)
    .unwrap();
    let object = RequestObject {
        client_id: client_id.into(),
        response_type: "vp_token".into(),
        response_mode: ResponseMode::DirectPost,
        response_uri: "https://bank.example.vn/openid4vp/response".into(),
        nonce: new_nonce().unwrap(),
        state: Some(new_nonce().unwrap()),
        dcql_query: dcql,
        client_metadata: None,
        verifier_info: Some(vec![VerifierInfo {
            format: REGISTRATION_FORMAT.into(),
            data: Value::String(registration),
            credential_ids: None,
        }]),
        aud: Some(STATIC_AUDIENCE.into()),
        iat: Some(NOW),
        exp: Some(NOW + 300),
    };
    let jwt = sign_request(&object, &w.rp_key, &w.rp_chain).unwrap();
    (object, jwt)
}

/// The invocation URL of a request object, by value.
fn invocation(client_id: &str, request: String) -> String {
    RequestReference::Value {
        client_id: client_id.into(),
        request,
    }
    .to_uri()
}

fn policy(w: &World) -> ResponsePolicy {
    ResponsePolicy {
        issuer_trust: IssuerTrustData::Anchors(vec![w.issuer_root.clone()]),
        trust_as_of: NOW - 60,
        max_trust_age: 86_400,
        skew: 60,
        max_presentation_age: 300,
        status: StatusPolicy {
            max_age: 3_600,
            require_status: false,
        },
    }
}

/// The wallet's side through the SDK's [`Wallet`]: from the invocation URL to the `vp_token`
/// (the presentation logged), and the claims its consent refused.
fn answer(
    w: &World,
    keys: &Arc<SoftwareKeyStore>,
    store: WalletStore,
    uri: &str,
) -> (
    WalletStore,
    Result<(PresentationResponse, Vec<String>), WalletError>,
) {
    let mut wallet = Wallet::from_store(
        store,
        keys.clone(),
        vec![w.issuer_root.clone()],
        vec![w.rp_root.clone()],
    );
    let result = (|| {
        let pending = wallet.prepare_presentation(uri, None, NOW)?;
        let consent = &pending.consent;
        assert_eq!(consent.verifier_name, "Ngân hàng Ví dụ");
        assert_eq!(
            consent.purpose.as_deref(),
            Some("Mở tài khoản thanh toán (eKYC)")
        );
        let refused: Vec<String> = consent
            .credentials
            .iter()
            .chain(&consent.withheld)
            .flat_map(|c| c.refused.iter().map(ToString::to_string))
            .collect();
        let response = wallet.respond(&pending, NOW)?;
        assert_eq!(
            response.response_uri,
            "https://bank.example.vn/openid4vp/response"
        );
        Ok((response, refused))
    })();
    (wallet.into_store(), result)
}

#[test]
fn a_registered_relying_party_gets_what_it_asked_once() {
    let w = world();
    let dir = tempfile::tempdir().unwrap();
    let (keys, store, id) = wallet(&w, dir.path());
    let claims: &[&[&str]] = &[
        &["given_name"],
        &["family_name"],
        &["birthdate"],
        &["address", "locality"],
    ];
    let client_id = "x509_san_dns:bank.example.vn";
    let (object, jwt) = request(
        &w,
        query(claims),
        &["/given_name", "/family_name", "/birthdate", "/address"],
        client_id,
    );
    let mut pending = PendingRequests::new();
    pending.insert(object.clone(), NOW + 300).unwrap();
    let uri = invocation(client_id, jwt);

    let (store, answered) = answer(&w, &keys, store, &uri);
    let (response, refused) = answered.unwrap();
    assert!(response.body.starts_with("vp_token=%7B"));
    let token = response.vp_token.unwrap();
    assert!(refused.is_empty());

    // The verifier: the pending request, once.
    let state = object.state.clone().unwrap();
    let request = pending.take(&state, NOW + 5).unwrap();
    let answers = verify_response(
        &token,
        &request,
        &policy(&w),
        &StatusListCache::new(),
        NOW + 5,
    )
    .unwrap();
    assert_eq!(answers.len(), 1);
    let claims = &answers[0].verification.claims;
    assert_eq!(claims["given_name"], "Văn An");
    assert_eq!(claims["address"]["locality"], "Phường Hoàn Kiếm");
    assert!(!claims.contains_key("personal_identifier"));
    assert!(matches!(
        pending.take(&state, NOW + 6),
        Err(Oid4vpError::UnknownOrReplayed)
    ));

    // The same token against another request (another nonce) fails key binding.
    let (other, _) = request_for(&w, client_id);
    assert!(matches!(
        verify_response(
            &token,
            &other,
            &policy(&w),
            &StatusListCache::new(),
            NOW + 5
        ),
        Err(Oid4vpError::Presentation { .. })
    ));

    // The wallet used an unused copy and logged the presentation.
    assert_eq!(store.copies_left(&id).unwrap(), (2, 3));
    let log = store.presentations().unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].verifier, client_id);
    assert_eq!(
        log[0].claims,
        [
            "/given_name",
            "/family_name",
            "/birthdate",
            "/address/locality"
        ]
    );
}

fn request_for(w: &World, client_id: &str) -> (RequestObject, String) {
    request(w, query(&[&["given_name"]]), &["/given_name"], client_id)
}

#[test]
fn claim_sets_fall_back_to_an_option_within_the_registration() {
    // OpenID4VP 1.0 section 6.4.1: the wallet returns the first claim set it can satisfy, and a
    // claim beyond the registration is one it cannot.
    let w = world();
    let dir = tempfile::tempdir().unwrap();
    let (keys, store, id) = wallet(&w, dir.path());
    let client_id = "x509_san_dns:bank.example.vn";
    let dcql = DcqlQuery::from_json(&json!({
        "credentials": [{
            "id": "pid", "format": "dc+sd-jwt", "meta": { "vct_values": [PID] },
            "claims": [
                { "id": "number", "path": ["personal_identifier"] },
                { "id": "name", "path": ["given_name"] },
                { "id": "family", "path": ["family_name"] }
            ],
            "claim_sets": [["number", "family"], ["name", "family"]]
        }]
    }))
    .unwrap();
    let (object, jwt) = request(&w, dcql, &["/given_name", "/family_name"], client_id);
    let (store, answered) = answer(&w, &keys, store, &invocation(client_id, jwt));
    let (response, refused) = answered.unwrap();
    assert_eq!(refused, ["/personal_identifier"]);
    let token = response.vp_token.unwrap();
    let answers =
        verify_response(&token, &object, &policy(&w), &StatusListCache::new(), NOW).unwrap();
    let claims = &answers[0].verification.claims;
    assert_eq!(claims["given_name"], "Văn An");
    assert!(!claims.contains_key("personal_identifier"));
    assert_eq!(store.copies_left(&id).unwrap(), (2, 3));
    assert_eq!(
        store.presentations().unwrap()[0].claims,
        ["/given_name", "/family_name"]
    );
}

#[test]
fn an_optional_credential_beyond_the_registration_is_withheld() {
    // Section 6.4.2: a credential set that is not required may go unanswered, and section 8.1:
    // its query then has no entry in `vp_token`. The required one is presented in full.
    let w = world();
    let dir = tempfile::tempdir().unwrap();
    let (keys, store, _) = wallet(&w, dir.path());
    let client_id = "x509_san_dns:bank.example.vn";
    let dcql = DcqlQuery::from_json(&json!({
        "credentials": [
            { "id": "pid", "format": "dc+sd-jwt", "meta": { "vct_values": [PID] },
              "claims": [{ "path": ["given_name"] }] },
            { "id": "pid_number", "format": "dc+sd-jwt", "meta": { "vct_values": [PID] },
              "claims": [{ "path": ["personal_identifier"] }] }
        ],
        "credential_sets": [
            { "options": [["pid"]] },
            { "options": [["pid_number"]], "required": false }
        ]
    }))
    .unwrap();
    let (object, jwt) = request(&w, dcql, &["/given_name"], client_id);
    let mut wallet = Wallet::from_store(
        store,
        keys.clone(),
        vec![w.issuer_root.clone()],
        vec![w.rp_root.clone()],
    );
    let pending = wallet
        .prepare_presentation(&invocation(client_id, jwt), None, NOW)
        .unwrap();
    let consent = &pending.consent;
    assert_eq!(consent.credentials.len(), 1);
    assert_eq!(consent.credentials[0].query, "pid");
    assert!(consent.credentials[0].refused.is_empty());
    assert_eq!(consent.withheld.len(), 1);
    assert_eq!(consent.withheld[0].query, "pid_number");
    assert_eq!(
        consent.withheld[0].refused[0].to_string(),
        "/personal_identifier"
    );
    let token = wallet.respond(&pending, NOW).unwrap().vp_token.unwrap();
    assert!(token.get("pid_number").is_none());
    let answers =
        verify_response(&token, &object, &policy(&w), &StatusListCache::new(), NOW).unwrap();
    assert_eq!(answers.len(), 1);
    // Declining instead would have told the bank `access_denied`, nothing used.
    let declined = wallet.decline(&pending).unwrap();
    assert!(declined.vp_token.is_none());
    assert!(declined.body.starts_with("error=access_denied&state="));
}

#[test]
fn untrusted_or_mismatched_requests_are_refused() {
    let w = world();
    let anchors = [w.rp_root.clone()];
    let client_id = "x509_san_dns:bank.example.vn";
    let (_, jwt) = request_for(&w, client_id);
    assert!(verify_request(&jwt, client_id, &anchors, NOW).is_ok());
    // Another client id in the URL; a DNS name the certificate does not have; unknown prefixes.
    assert!(matches!(
        verify_request(&jwt, "x509_san_dns:evil.example", &anchors, NOW),
        Err(Oid4vpError::InvalidClient(_))
    ));
    let (_, other_dns) = request_for(&w, "x509_san_dns:evil.example");
    assert!(matches!(
        verify_request(&other_dns, "x509_san_dns:evil.example", &anchors, NOW),
        Err(Oid4vpError::InvalidClient(_))
    ));
    for prefix in [
        "redirect_uri:https://bank.example.vn",
        "https://bank.example.vn",
        "did:web:bank",
    ] {
        let (_, jwt) = request_for(&w, prefix);
        assert!(matches!(
            verify_request(&jwt, prefix, &anchors, NOW),
            Err(Oid4vpError::InvalidClient(_))
        ));
    }
    // x509_hash names the certificate itself.
    let by_hash = ClientId::x509_hash_of(&w.rp_chain[0]);
    let (_, jwt_hash) = request_for(&w, &by_hash);
    let verified = verify_request(&jwt_hash, &by_hash, &anchors, NOW).unwrap();
    assert!(matches!(verified.client_id, ClientId::X509Hash(_)));
    // The registration names the client it was made for.
    assert!(verified.registration.is_some());
    // A signature by a key the certificate does not hold; another anchor; expired.
    let (object, _) = request_for(&w, client_id);
    let forged = sign_request(&object, &Es256KeyPair::generate().unwrap(), &w.rp_chain).unwrap();
    assert!(matches!(
        verify_request(&forged, client_id, &anchors, NOW),
        Err(Oid4vpError::InvalidClient(_))
    ));
    assert!(matches!(
        verify_request(&jwt, client_id, std::slice::from_ref(&w.issuer_root), NOW),
        Err(Oid4vpError::InvalidClient(_))
    ));
    assert!(matches!(
        verify_request(&jwt, client_id, &anchors, NOW + 301),
        Err(Oid4vpError::InvalidRequest(_))
    ));
    // A signed payload nested beyond any sane depth: refused, no stack overflow.
    let deep = format!(
        "{{\"client_metadata\":{}{}}}",
        "[".repeat(2_000),
        "]".repeat(2_000)
    );
    let header = dinhdanh_sdk::jose::JwsHeader {
        x5c: Some(dinhdanh_sdk::x509::der_chain_to_x5c(&w.rp_chain)),
        ..dinhdanh_sdk::jose::JwsHeader::es256(dinhdanh_sdk::openid4vp::request::REQUEST_TYP)
    };
    let deep = dinhdanh_sdk::jose::sign_compact(&header, deep.as_bytes(), &w.rp_key).unwrap();
    let refused = verify_request(&deep, client_id, &anchors, NOW);
    assert!(
        matches!(&refused, Err(Oid4vpError::InvalidRequest(m)) if m.contains("recursion")),
        "{refused:?}"
    );
    // Unsigned requests and plain-http request URIs are refused at the URL.
    assert!(RequestReference::parse("openid4vp://?client_id=x&response_type=vp_token").is_err());
    assert!(
        RequestReference::parse("openid4vp://?client_id=x&request_uri=http%3A%2F%2Fa").is_err()
    );
    assert!(RequestReference::parse("openid4vp://?client_id=x&request=a&request=b").is_err());
    assert!(
        RequestReference::parse(&format!(
            "openid4vp://?client_id=x&request={}",
            "a".repeat(70_000)
        ))
        .is_err()
    );
}

#[test]
fn a_query_for_claims_that_do_not_exist_cannot_be_answered() {
    let w = world();
    let dir = tempfile::tempdir().unwrap();
    let (keys, store, id) = wallet(&w, dir.path());
    let client_id = "x509_san_dns:bank.example.vn";
    let (_, jwt) = request(&w, query(&[&["blood_type"]]), &["/blood_type"], client_id);
    let uri = invocation(client_id, jwt);
    let (store, answered) = answer(&w, &keys, store, &uri);
    assert!(matches!(answered, Err(WalletError::NoMatch)));
    // Nothing was taken or logged.
    assert_eq!(store.copies_left(&id).unwrap(), (3, 3));
    assert!(store.presentations().unwrap().is_empty());
}

#[test]
fn a_pid_presentation_with_four_claims_fits_one_qr_code() {
    let w = world();
    let dir = tempfile::tempdir().unwrap();
    let (keys, mut store, id) = wallet(&w, dir.path());
    let taken = store.take_copy(&id, NOW).unwrap();
    let signer = KeyStoreSigner::new(keys.as_ref(), &taken.copy.key_alias).unwrap();
    let claims: Vec<_> = [
        "/given_name",
        "/family_name",
        "/birthdate",
        "/address/locality",
    ]
    .iter()
    .map(|p| dinhdanh_sdk::sdjwt::ClaimPath::parse(p).unwrap())
    .collect();
    let presentation = SdJwt::parse(&taken.copy.sd_jwt)
        .unwrap()
        .present(
            &claims,
            Some(KeyBindingInput {
                signer: &signer,
                aud: "x509_san_dns:bank.example.vn",
                nonce: "3q2nD8cD0H0c6p0tOqk0lA",
                iat: NOW,
            }),
        )
        .unwrap();
    let compact = qr::encode(&presentation).unwrap();
    assert_eq!(qr::decode(&compact).unwrap(), presentation);
    // Base45 is the QR alphanumeric alphabet: the encoder picks alphanumeric mode.
    let code = qrcode::QrCode::with_error_correction_level(compact.as_bytes(), qrcode::EcLevel::L)
        .expect("the presentation fits one QR code");
    let qrcode::Version::Normal(version) = code.version() else {
        panic!("a micro QR code");
    };
    println!(
        "PID presentation, 4 claims, issuer x5c included: {} bytes as text, {} characters packed, \
         QR version {version} (L), {}x{} modules",
        presentation.len(),
        compact.len(),
        code.width(),
        code.width()
    );
    assert!(version <= 40);
    // As text it would not fit.
    assert!(
        qrcode::QrCode::with_error_correction_level(presentation.as_bytes(), qrcode::EcLevel::L)
            .is_err()
    );
}

#[test]
fn an_encrypted_response_opens_only_with_the_verifiers_key() {
    let w = world();
    let dir = tempfile::tempdir().unwrap();
    let (keys, store, _) = wallet(&w, dir.path());
    let client_id = "x509_san_dns:bank.example.vn";
    let encryption = DecryptionKey::generate().unwrap();
    let (mut object, _) = request(
        &w,
        query(&[&["given_name"], &["birthdate"]]),
        &["/given_name", "/birthdate"],
        client_id,
    );
    object.response_mode = ResponseMode::DirectPostJwt;
    object.client_metadata = Some(json!({
        "jwks": { "keys": [encryption.public_jwk("enc-1")] },
        "encrypted_response_enc_values_supported": ["A256GCM", "A128GCM"]
    }));
    let uri = invocation(
        client_id,
        sign_request(&object, &w.rp_key, &w.rp_chain).unwrap(),
    );
    let (_, answered) = answer(&w, &keys, store, &uri);
    let (response, _) = answered.unwrap();
    let jwe = response.body.strip_prefix("response=").unwrap();
    assert!(!jwe.contains("given_name") && !jwe.contains("vp_token"));
    let (token, state) =
        open_encrypted_response(jwe, &encryption, &[ContentEncryption::A256Gcm]).unwrap();
    assert_eq!(state, object.state);
    let answers =
        verify_response(&token, &object, &policy(&w), &StatusListCache::new(), NOW).unwrap();
    assert_eq!(answers[0].verification.claims["birthdate"], "2004-03-15");
    // Another key does not open it; nor does a verifier that accepts only A128GCM.
    let stranger = DecryptionKey::generate().unwrap();
    assert!(open_encrypted_response(jwe, &stranger, &[ContentEncryption::A256Gcm]).is_err());
    assert!(open_encrypted_response(jwe, &encryption, &[ContentEncryption::A128Gcm]).is_err());

    // direct_post.jwt without a usable key is refused before anything is shown.
    object.client_metadata = Some(json!({ "jwks": { "keys": [] } }));
    let jwt = sign_request(&object, &w.rp_key, &w.rp_chain).unwrap();
    assert!(matches!(
        verify_request(&jwt, client_id, std::slice::from_ref(&w.rp_root), NOW),
        Err(Oid4vpError::InvalidRequest(_))
    ));
}

#[test]
fn a_relying_party_asks_by_qr_and_checks_the_answer_once() {
    let w = world();
    let client_id = "x509_san_dns:bank.example.vn";
    let registration = Registration {
        iss: "https://rp-registry.dinhdanh.example".into(),
        sub: client_id.into(),
        name: "Ngân hàng Ví dụ".into(),
        purpose: "Mở tài khoản thanh toán (eKYC)".into(),
        credentials: vec![RegisteredCredential {
            vct: PID.into(),
            claims: vec!["/given_name".into(), "/family_name".into()],
        }],
        iat: NOW - 60,
        exp: NOW + 86_400,
        status: None,
    }
    .sign(&w.agency_key, &w.agency_chain)
    .unwrap();
    for encrypted in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let (keys, store, _) = wallet(&w, dir.path());
        let mut bank = RelyingParty::new(RelyingPartyConfig {
            signer: Box::new(
                Es256KeyPair::from_pkcs8_der(&w.rp_key.to_pkcs8_der().unwrap()).unwrap(),
            ),
            chain: w.rp_chain.clone(),
            client_id: client_id.into(),
            response_uri: "https://bank.example.vn/openid4vp/response".into(),
            registration: Some(registration.clone()),
            encryption: encrypted.then(|| DecryptionKey::generate().unwrap()),
            request_ttl: 300,
            policy: policy(&w),
        });
        let created = bank
            .create_request(query(&[&["given_name"], &["family_name"]]), NOW)
            .unwrap();
        let (_, answered) = answer(&w, &keys, store, &created.uri);
        let (response, _) = answered.unwrap();
        assert_eq!(response.body.starts_with("response="), encrypted);
        let answers = bank.receive(&response.body, NOW + 2).unwrap();
        assert_eq!(answers[0].verification.claims["family_name"], "Nguyễn");
        // The same answer again: the request was taken.
        assert!(matches!(
            bank.receive(&response.body, NOW + 3),
            Err(Oid4vpError::UnknownOrReplayed)
        ));
        // An answer after the request expired.
        let late = bank.create_request(query(&[&["given_name"]]), NOW).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let (keys, store, _) = wallet(&w, dir.path());
        let (_, answered) = answer(&w, &keys, store, &late.uri);
        let (response, _) = answered.unwrap();
        assert!(matches!(
            bank.receive(&response.body, NOW + 301),
            Err(Oid4vpError::UnknownOrReplayed)
        ));
        // Without state; in the clear where encryption was asked for.
        let expected_missing = if encrypted {
            "must be encrypted"
        } else {
            "no state"
        };
        assert!(matches!(
            bank.receive("vp_token=%7B%7D", NOW),
            Err(Oid4vpError::InvalidResponse(m)) if m.contains(expected_missing)
        ));
    }
}

/// The host's HTTP stack as the wallet sees it: answers the one request object URL it knows.
struct RequestHost {
    url: String,
    request: String,
}

impl dinhdanh_sdk::openid4vci::client::Transport for RequestHost {
    fn send(
        &self,
        request: &dinhdanh_sdk::openid4vci::client::HttpRequest,
    ) -> Result<
        dinhdanh_sdk::openid4vci::client::HttpResponse,
        dinhdanh_sdk::openid4vci::client::TransportError,
    > {
        let found = request.method == "GET" && request.url == self.url;
        Ok(dinhdanh_sdk::openid4vci::client::HttpResponse {
            status: if found { 200 } else { 404 },
            headers: vec![(
                "content-type".into(),
                "application/oauth-authz-req+jwt".into(),
            )],
            body: if found {
                self.request.clone().into_bytes()
            } else {
                Vec::new()
            },
        })
    }
}

#[test]
fn a_request_by_reference_is_fetched_through_the_host() {
    let w = world();
    let dir = tempfile::tempdir().unwrap();
    let (keys, store, _) = wallet(&w, dir.path());
    let client_id = "x509_san_dns:bank.example.vn";
    let (object, jwt) = request(&w, query(&[&["given_name"]]), &["/given_name"], client_id);
    let host = RequestHost {
        url: "https://bank.example.vn/requests/42".into(),
        request: jwt,
    };
    let by_reference = RequestReference::Uri {
        client_id: client_id.into(),
        request_uri: host.url.clone(),
    }
    .to_uri();
    let wallet = Wallet::from_store(
        store,
        keys.clone(),
        vec![w.issuer_root.clone()],
        vec![w.rp_root.clone()],
    );
    // Without a network the wallet says so; with one it fetches and checks the request.
    assert!(matches!(
        wallet.prepare_presentation(&by_reference, None, NOW),
        Err(WalletError::Presentation(Oid4vpError::InvalidRequest(_)))
    ));
    let pending = wallet
        .prepare_presentation(&by_reference, Some(&host), NOW)
        .unwrap();
    assert_eq!(pending.request.request.nonce, object.nonce);
    assert_eq!(pending.consent.credentials[0].claims.len(), 1);
    // A URL the host does not serve.
    let missing = RequestReference::Uri {
        client_id: client_id.into(),
        request_uri: "https://bank.example.vn/requests/43".into(),
    }
    .to_uri();
    assert!(matches!(
        wallet.prepare_presentation(&missing, Some(&host), NOW),
        Err(WalletError::Presentation(Oid4vpError::InvalidRequest(_)))
    ));
}

#[test]
fn trusted_authorities_match_the_issuers_chain() {
    let w = world();
    let chain = dinhdanh_sdk::x509::x5c_to_der_chain(&w.issuer_x5c).unwrap();
    let akis = dinhdanh_sdk::x509::authority_key_ids(&chain);
    assert_eq!(akis.len(), 1, "the issuer's certificate names its CA's key");
    let client_id = "x509_san_dns:bank.example.vn";
    for (aki, answerable) in [(akis[0].as_str(), true), ("c29tZW9uZSBlbHNl", false)] {
        let dir = tempfile::tempdir().unwrap();
        let (keys, store, _) = wallet(&w, dir.path());
        let query = DcqlQuery::from_json(&json!({
            "credentials": [{
                "id": "pid", "format": "dc+sd-jwt", "meta": { "vct_values": [PID] },
                "trusted_authorities": [{ "type": "aki", "values": [aki] }],
                "claims": [{ "path": ["given_name"] }]
            }]
        }))
        .unwrap();
        let (_, jwt) = request(&w, query, &["/given_name"], client_id);
        let (_, answered) = answer(&w, &keys, store, &invocation(client_id, jwt));
        assert_eq!(answered.is_ok(), answerable, "{aki}: {answered:?}");
    }
}

#[test]
fn removing_a_credential_deletes_its_keys() {
    let w = world();
    let dir = tempfile::tempdir().unwrap();
    let (keys, store, id) = wallet(&w, dir.path());
    let mut wallet = Wallet::from_store(store, keys.clone(), Vec::new(), Vec::new());
    assert!(keys.contains("pid/0").unwrap());
    wallet.remove(&id).unwrap();
    assert!(wallet.credentials().unwrap().is_empty());
    for i in 0..3 {
        assert!(!keys.contains(&format!("pid/{i}")).unwrap());
    }
    assert!(matches!(wallet.remove(&id), Err(WalletError::Store(_))));
}

// --- OpenID4VP 1.0 conformance: the MUSTs an independent verifier and wallet found broken ------

/// `object` with `extra` members, signed as the bank's request object (parameters a
/// `RequestObject` does not carry).
fn signed_with(w: &World, object: &RequestObject, extra: Value) -> String {
    let mut payload = serde_json::to_value(object).unwrap();
    for (name, value) in extra.as_object().unwrap() {
        payload[name] = value.clone();
    }
    let header = dinhdanh_sdk::jose::JwsHeader {
        x5c: Some(dinhdanh_sdk::x509::der_chain_to_x5c(&w.rp_chain)),
        ..dinhdanh_sdk::jose::JwsHeader::es256(dinhdanh_sdk::openid4vp::request::REQUEST_TYP)
    };
    dinhdanh_sdk::jose::sign_compact(&header, payload.to_string().as_bytes(), &w.rp_key).unwrap()
}

#[test]
fn a_credential_is_not_returned_without_a_claim_refused_and_the_verifier_hears_access_denied() {
    // OpenID4VP 1.0 section 6.4.1: a wallet that cannot deliver every claim asked (here: one
    // beyond the bank's registration) MUST NOT return the credential; with nothing left to
    // present it answers `access_denied` (section 8.5) on the response channel.
    let w = world();
    let dir = tempfile::tempdir().unwrap();
    let (keys, store, id) = wallet(&w, dir.path());
    let client_id = "x509_san_dns:bank.example.vn";
    let (object, jwt) = request(
        &w,
        query(&[&["given_name"], &["personal_identifier"]]),
        &["/given_name"],
        client_id,
    );
    let (store, answered) = answer(&w, &keys, store, &invocation(client_id, jwt));
    let (response, _) = answered.unwrap();
    assert_eq!(
        response.body,
        format!(
            "error=access_denied&state={}",
            object.state.clone().unwrap()
        ),
        "the credential went out without the refused claim"
    );
    // Nothing was used or logged.
    assert_eq!(store.copies_left(&id).unwrap(), (3, 3));
    assert!(store.presentations().unwrap().is_empty());
}

#[test]
fn an_unregistered_verifier_hears_access_denied() {
    // Section 8.5: not an empty presentation, `access_denied`.
    let w = world();
    let dir = tempfile::tempdir().unwrap();
    let (keys, store, id) = wallet(&w, dir.path());
    let client_id = "x509_san_dns:bank.example.vn";
    let (mut object, _) = request_for(&w, client_id);
    object.verifier_info = None;
    let uri = invocation(
        client_id,
        sign_request(&object, &w.rp_key, &w.rp_chain).unwrap(),
    );
    let mut wallet = Wallet::from_store(
        store,
        keys.clone(),
        vec![w.issuer_root.clone()],
        vec![w.rp_root.clone()],
    );
    let pending = wallet.prepare_presentation(&uri, None, NOW).unwrap();
    assert!(!pending.consent.registered);
    // The host is told (a distinct error, never mistaken for a presentation) and holds the
    // answer to post.
    let Err(dinhdanh_sdk::holder::WalletError::UnregisteredVerifier { verifier, response }) =
        wallet.respond(&pending, NOW)
    else {
        panic!("an unregistered verifier was answered as a registered one");
    };
    assert_eq!(verifier, client_id);
    assert!(
        response.body.starts_with("error=access_denied&"),
        "{}",
        response.body
    );
    assert_eq!(wallet.copies_left(&id).unwrap(), (3, 3));
}

#[test]
fn transaction_data_is_refused_with_invalid_transaction_data() {
    // Sections 5 and 8.4: a wallet that does not support `transaction_data` MUST reject a request
    // carrying it (unknown parameters are otherwise ignored); section 8.5 gives the code.
    let w = world();
    let client_id = "x509_san_dns:bank.example.vn";
    let (object, _) = request_for(&w, client_id);
    let data = dinhdanh_sdk::jose::b64::encode(
        json!({ "type": "payment", "credential_ids": ["pid"], "amount": "100000 VND" }).to_string(),
    );
    let jwt = signed_with(&w, &object, json!({ "transaction_data": [data] }));
    let verified = verify_request(&jwt, client_id, std::slice::from_ref(&w.rp_root), NOW);
    assert_eq!(
        verified.as_ref().err().map(Oid4vpError::code),
        Some("invalid_transaction_data"),
        "{verified:?}"
    );
    // Other unknown parameters are still ignored (section 5).
    let jwt = signed_with(&w, &object, json!({ "x_bank_channel": "branch" }));
    assert!(verify_request(&jwt, client_id, std::slice::from_ref(&w.rp_root), NOW).is_ok());
}

#[test]
fn redirect_uri_with_direct_post_is_an_invalid_request() {
    // Section 8.2: with `response_uri` (direct_post) `redirect_uri` MUST NOT be present; the
    // wallet answers `invalid_request`.
    let w = world();
    let client_id = "x509_san_dns:bank.example.vn";
    let (object, _) = request_for(&w, client_id);
    let jwt = signed_with(
        &w,
        &object,
        json!({ "redirect_uri": "https://bank.example.vn/cb" }),
    );
    let verified = verify_request(&jwt, client_id, std::slice::from_ref(&w.rp_root), NOW);
    assert_eq!(
        verified.as_ref().err().map(Oid4vpError::code),
        Some("invalid_request"),
        "{verified:?}"
    );
}

#[test]
fn the_relying_partys_request_carries_its_formats_in_client_metadata() {
    // Sections 5.1 and 11.1: `vp_formats_supported` is required; under x509_san_dns all verifier
    // metadata but the key comes from `client_metadata` (section 5.9.3): also under direct_post.
    let w = world();
    let client_id = "x509_san_dns:bank.example.vn";
    for encrypted in [false, true] {
        let mut bank = RelyingParty::new(RelyingPartyConfig {
            signer: Box::new(
                Es256KeyPair::from_pkcs8_der(&w.rp_key.to_pkcs8_der().unwrap()).unwrap(),
            ),
            chain: w.rp_chain.clone(),
            client_id: client_id.into(),
            response_uri: "https://bank.example.vn/openid4vp/response".into(),
            registration: None,
            encryption: encrypted.then(|| DecryptionKey::generate().unwrap()),
            request_ttl: 300,
            policy: policy(&w),
        });
        let created = bank.create_request(query(&[&["given_name"]]), NOW).unwrap();
        let RequestReference::Value { request, .. } =
            RequestReference::parse(&created.uri).unwrap()
        else {
            panic!("a request by value");
        };
        let verified =
            verify_request(&request, client_id, std::slice::from_ref(&w.rp_root), NOW).unwrap();
        let metadata = verified
            .request
            .client_metadata
            .expect("client_metadata under every response mode");
        let sd_jwt = &metadata["vp_formats_supported"]["dc+sd-jwt"];
        assert_eq!(sd_jwt["sd-jwt_alg_values"], json!(["ES256"]));
        assert_eq!(sd_jwt["kb-jwt_alg_values"], json!(["ES256"]));
        // The encryption keys stay where they were, in the same metadata.
        assert_eq!(metadata.get("jwks").is_some(), encrypted);
    }
}

/// The bank as a [`RelyingParty`], registered for `registered` claims of the PID.
fn bank(w: &World, registered: &[&str], encrypted: bool) -> RelyingParty {
    let client_id = "x509_san_dns:bank.example.vn";
    let registration = Registration {
        iss: "https://rp-registry.dinhdanh.example".into(),
        sub: client_id.into(),
        name: "Ngân hàng Ví dụ".into(),
        purpose: "Mở tài khoản thanh toán (eKYC)".into(),
        credentials: vec![RegisteredCredential {
            vct: PID.into(),
            claims: registered.iter().map(|c| (*c).to_owned()).collect(),
        }],
        iat: NOW - 60,
        exp: NOW + 86_400,
        status: None,
    }
    .sign(&w.agency_key, &w.agency_chain)
    .unwrap();
    RelyingParty::new(RelyingPartyConfig {
        signer: Box::new(Es256KeyPair::from_pkcs8_der(&w.rp_key.to_pkcs8_der().unwrap()).unwrap()),
        chain: w.rp_chain.clone(),
        client_id: client_id.into(),
        response_uri: "https://bank.example.vn/openid4vp/response".into(),
        registration: Some(registration),
        encryption: encrypted.then(|| DecryptionKey::generate().unwrap()),
        request_ttl: 300,
        policy: policy(w),
    })
}

#[test]
fn the_relying_party_hears_access_denied_once() {
    for encrypted in [false, true] {
        let w = world();
        let dir = tempfile::tempdir().unwrap();
        let (keys, store, _) = wallet(&w, dir.path());
        let mut bank = bank(&w, &["/given_name"], encrypted);
        let created = bank
            .create_request(query(&[&["given_name"], &["birthdate"]]), NOW)
            .unwrap();
        let (_, answered) = answer(&w, &keys, store, &created.uri);
        let (response, refused) = answered.unwrap();
        assert_eq!(refused, ["/birthdate"]);
        assert!(response.vp_token.is_none());
        // In the response mode asked for (section 5.6): encrypted when the bank asked for it.
        assert_eq!(response.body.starts_with("response="), encrypted);
        assert!(matches!(
            bank.receive(&response.body, NOW + 1),
            Err(Oid4vpError::Refused { error, description: None }) if error == "access_denied"
        ));
        // Nothing proves who sent a refusal (its `state` is in the request anyone who saw the
        // QR code reads): the request stays pending until it expires.
        assert!(matches!(
            bank.receive(&response.body, NOW + 2),
            Err(Oid4vpError::Refused { .. })
        ));
        assert!(matches!(
            bank.receive(&response.body, NOW + 400),
            Err(Oid4vpError::UnknownOrReplayed)
        ));
    }
}

#[test]
fn junk_posted_with_a_known_state_leaves_the_request_to_its_wallet() {
    // Anyone who saw the QR code knows `state`: an answer that does not verify must not cancel
    // the request, nor stop the real wallet's answer from being accepted.
    let w = world();
    let dir = tempfile::tempdir().unwrap();
    let (keys, store, _) = wallet(&w, dir.path());
    let mut bank = bank(&w, &["/given_name"], false);
    let created = bank.create_request(query(&[&["given_name"]]), NOW).unwrap();
    let junk = format!(
        "vp_token=%7B%22pid%22%3A%5B%22x%22%5D%7D&state={}",
        created.state
    );
    assert!(bank.receive(&junk, NOW + 1).is_err());
    let forged = format!("error=access_denied&state={}", created.state);
    assert!(matches!(
        bank.receive(&forged, NOW + 1),
        Err(Oid4vpError::Refused { .. })
    ));
    let (_, answered) = answer(&w, &keys, store, &created.uri);
    let (response, _) = answered.unwrap();
    assert_eq!(bank.receive(&response.body, NOW + 2).unwrap().len(), 1);
    // Answered: taken once.
    assert!(matches!(
        bank.receive(&response.body, NOW + 3),
        Err(Oid4vpError::UnknownOrReplayed)
    ));
}

#[test]
fn a_refused_request_is_answered_on_its_response_channel() {
    // Section 8.2: the wallet *returns* `invalid_request` for redirect_uri with direct_post;
    // the bank, authenticated, hears it at its response_uri (section 8.5).
    let w = world();
    let dir = tempfile::tempdir().unwrap();
    let (keys, store, _) = wallet(&w, dir.path());
    let client_id = "x509_san_dns:bank.example.vn";
    let (object, _) = request_for(&w, client_id);
    let jwt = signed_with(
        &w,
        &object,
        json!({ "redirect_uri": "https://bank.example.vn/cb" }),
    );
    let wallet = Wallet::from_store(
        store,
        keys.clone(),
        vec![w.issuer_root.clone()],
        vec![w.rp_root.clone()],
    );
    let Err(WalletError::RequestRefused { error, response }) =
        wallet.prepare_presentation(&invocation(client_id, jwt), None, NOW)
    else {
        panic!("the request was not refused on its channel");
    };
    assert_eq!(error.code(), "invalid_request");
    assert_eq!(response.response_uri, object.response_uri);
    let fields = dinhdanh_sdk::urlencode::parse(&response.body).unwrap();
    assert_eq!(fields["error"], "invalid_request");
    assert_eq!(Some(&fields["state"]), object.state.as_ref());
    // A request whose sender is not established gets no answer: nothing says where to send one.
    let (other, _) = request_for(&w, client_id);
    let forged = sign_request(&other, &Es256KeyPair::generate().unwrap(), &w.rp_chain).unwrap();
    assert!(matches!(
        wallet.prepare_presentation(&invocation(client_id, forged), None, NOW),
        Err(WalletError::Presentation(Oid4vpError::InvalidClient(_)))
    ));
}

#[test]
fn a_verifier_without_our_formats_is_refused() {
    // Sections 11.1 and 8.5: `vp_formats_not_supported`.
    let w = world();
    let client_id = "x509_san_dns:bank.example.vn";
    let (mut object, _) = request_for(&w, client_id);
    let anchors = std::slice::from_ref(&w.rp_root);
    for (formats, accepted) in [
        (json!({ "mso_mdoc": {} }), false),
        (
            json!({ "dc+sd-jwt": { "kb-jwt_alg_values": ["EdDSA"] } }),
            false,
        ),
        (json!({ "dc+sd-jwt": {} }), true),
        (
            json!({ "dc+sd-jwt": { "sd-jwt_alg_values": ["ES256", "ES384"] } }),
            true,
        ),
    ] {
        object.client_metadata = Some(json!({ "vp_formats_supported": formats }));
        let jwt = sign_request(&object, &w.rp_key, &w.rp_chain).unwrap();
        let verified = verify_request(&jwt, client_id, anchors, NOW);
        match accepted {
            true => assert!(verified.is_ok(), "{formats}: {verified:?}"),
            false => assert_eq!(
                verified.err().map(|e| e.code()),
                Some("vp_formats_not_supported"),
                "{formats}"
            ),
        }
    }
}

#[test]
fn the_relying_party_passes_its_request_by_reference() {
    // RFC 9101 section 5.2 (HAIP asks for `request_uri`): the bank serves its signed request
    // object at an https URL; the wallet fetches it through the host's transport.
    let w = world();
    let dir = tempfile::tempdir().unwrap();
    let (keys, store, _) = wallet(&w, dir.path());
    let mut bank = bank(&w, &["/given_name", "/family_name"], true);
    assert!(
        bank.create_request_by_reference(query(&[&["given_name"]]), "http://bank.example.vn", NOW)
            .is_err()
    );
    let created = bank
        .create_request_by_reference(
            query(&[&["given_name"], &["family_name"]]),
            "https://bank.example.vn/openid4vp/requests/",
            NOW,
        )
        .unwrap();
    let RequestReference::Uri { request_uri, .. } = RequestReference::parse(&created.uri).unwrap()
    else {
        panic!("a request by reference");
    };
    assert!(request_uri.starts_with("https://bank.example.vn/openid4vp/requests/"));
    assert!(
        bank.request_object(&request_uri, NOW + 300).is_none(),
        "served past its expiry"
    );
    let host = RequestHost {
        request: bank.request_object(&request_uri, NOW).unwrap().to_owned(),
        url: request_uri.clone(),
    };
    let mut wallet = Wallet::from_store(
        store,
        keys.clone(),
        vec![w.issuer_root.clone()],
        vec![w.rp_root.clone()],
    );
    let pending = wallet
        .prepare_presentation(&created.uri, Some(&host), NOW)
        .unwrap();
    let response = wallet.respond(&pending, NOW).unwrap();
    let answers = bank.receive(&response.body, NOW + 1).unwrap();
    assert_eq!(answers[0].verification.claims["family_name"], "Nguyễn");
    // Answered: no longer served (a wallet fetching it now would spend a copy for nothing).
    assert!(bank.request_object(&request_uri, NOW + 2).is_none());
}

#[test]
fn request_uri_method_is_get_or_post() {
    // Section 5.1: `get` or `post` (a wallet that sends no metadata fetches with GET either
    // way); any other value is `invalid_request_uri_method` (section 8.5); without `request_uri`
    // the parameter must not appear.
    let by_reference = "openid4vp://?client_id=x509_san_dns%3Abank.example.vn\
                        &request_uri=https%3A%2F%2Fbank.example.vn%2Fr%2F1";
    for method in ["get", "post"] {
        assert!(
            RequestReference::parse(&format!("{by_reference}&request_uri_method={method}")).is_ok()
        );
    }
    for method in ["GET", "put", ""] {
        let parsed =
            RequestReference::parse(&format!("{by_reference}&request_uri_method={method}"));
        assert_eq!(
            parsed.err().map(|e| e.code()),
            Some("invalid_request_uri_method"),
            "{method}"
        );
    }
    assert_eq!(
        RequestReference::parse("openid4vp://?client_id=x&request=a.b.c&request_uri_method=get")
            .err()
            .map(|e| e.code()),
        Some("invalid_request")
    );
    // Repeated parameters are a typed error of the one decoder.
    assert!(matches!(
        RequestReference::parse(&format!("{by_reference}&client_id=x509_san_dns%3Aevil.example")),
        Err(Oid4vpError::Query(dinhdanh_sdk::urlencode::QueryError::Repeated(name))) if name == "client_id"
    ));
}

#[test]
fn a_pending_request_kept_by_the_host_is_answered_once_restored() {
    // A host that keeps pending requests in its own database: the request prepared and stored as
    // data (JSON; the encryption key as bytes), read back by another RelyingParty (a restart, or
    // another process), the answer checked against it; the host takes it once.
    for mode in [ResponseMode::DirectPost, ResponseMode::DirectPostJwt] {
        let w = world();
        let dir = tempfile::tempdir().unwrap();
        let (keys, store, _) = wallet(&w, dir.path());
        let prepared = bank(&w, &["/given_name"], false)
            .prepare_request(
                query(&[&["given_name"]]),
                RequestOptions {
                    response_mode: mode,
                    response_uri: None,
                },
                NOW,
            )
            .unwrap();
        assert_eq!(prepared.pending.request.response_mode, mode);
        assert_eq!(
            prepared.encryption.is_some(),
            mode == ResponseMode::DirectPostJwt
        );
        let stored = serde_json::to_string(&prepared.pending).unwrap();
        let key = prepared.encryption.as_ref().map(|k| k.to_bytes());
        let uri = RequestReference::Value {
            client_id: "x509_san_dns:bank.example.vn".into(),
            request: prepared.request_object.clone(),
        }
        .to_uri();
        let (_, answered) = answer(&w, &keys, store, &uri);
        let (response, _) = answered.unwrap();
        assert_eq!(
            response.body.starts_with("response="),
            mode == ResponseMode::DirectPostJwt
        );

        // Another relying party over the same configuration reads the request back.
        let restored: PendingRequest = serde_json::from_str(&stored).unwrap();
        assert_eq!(restored, prepared.pending);
        let key = key.map(|bytes| DecryptionKey::from_bytes(&bytes).unwrap());
        let verifier = bank(&w, &["/given_name"], false);
        let answers = verifier
            .check_answer(&restored, key.as_ref(), &response.body, NOW + 1)
            .unwrap();
        assert_eq!(answers[0].query, "pid");
        assert_eq!(answers[0].verification.claims["given_name"], "Văn An");
        // Past its lifetime the request is no longer answerable.
        assert!(matches!(
            verifier.check_answer(&restored, key.as_ref(), &response.body, NOW + 400),
            Err(Oid4vpError::UnknownOrReplayed)
        ));
        // The answer names its own request: another pending request refuses it.
        let other = verifier
            .prepare_request(
                query(&[&["given_name"]]),
                RequestOptions {
                    response_mode: mode,
                    response_uri: Some("https://bank.example.vn/openid4vp/responses/r2"),
                },
                NOW,
            )
            .unwrap();
        assert_eq!(
            other.pending.request.response_uri,
            "https://bank.example.vn/openid4vp/responses/r2"
        );
        let refused = verifier.check_answer(
            &other.pending,
            other.encryption.as_ref(),
            &response.body,
            NOW + 1,
        );
        assert!(
            matches!(refused, Err(Oid4vpError::InvalidResponse(_))),
            "{refused:?}"
        );
        // The key and the mode must agree: an encrypted request's answer cannot be checked
        // without its key.
        if mode == ResponseMode::DirectPostJwt {
            assert!(matches!(
                verifier.check_answer(&restored, None, &response.body, NOW + 1),
                Err(Oid4vpError::InvalidRequest(_))
            ));
        } else {
            assert!(
                verifier
                    .check_answer(&restored, None, &response.body, NOW + 1)
                    .is_ok()
            );
        }
    }
}

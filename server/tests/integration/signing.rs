//! Citizen signing certificates (issue 13, server half) on both backends: the certificate
//! profile, the level-2 and step-up gates, bad requests, revocation by the citizen, an officer
//! and lifecycle events as seen in the CRL and over OCSP, and interoperability with openssl
//! (`req`, `verify -crl_check`, `ocsp`, `ts`, `cms`).

use std::net::SocketAddr;

use axum::{
    body::Body,
    http::{Method, Request, StatusCode, header},
};
use der::{Decode, Encode, asn1::OctetString};
use dinhdanh_sdk::{jose::Es256KeyPair, x509};
use dinhdanh_server::domain::sessions::Role;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;
use x509_ocsp::{BasicOcspResponse, CertId, CertStatus, OcspRequest, OcspResponse};
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::support::{
    ORIGIN, TestApp, assert_problem, databases, sign_in, signed_in_citizen, staff_session,
};

pub(crate) const AN: &str = "001090012345";

/// Raises `id_number` to level 2 as an officer's approval would.
async fn approve_level2(app: &TestApp, id_number: &str) {
    let account = app
        .store
        .account_by_id_number(id_number)
        .await
        .unwrap()
        .unwrap();
    let event = dinhdanh_server::domain::audit::event(
        "officer-test",
        "level2.approved",
        &account.id,
        json!({}),
    );
    assert!(
        app.store
            .set_level2(&account.id, "officer-test", "test", 0, &event)
            .await
            .unwrap()
    );
}

/// An at level 2, signed in with a passkey just now: the session token.
pub(crate) async fn stepped_up_an(app: &TestApp) -> String {
    let (_, mut authenticator) = signed_in_citizen(app).await;
    approve_level2(app, AN).await;
    let signed_in = sign_in(app, &mut authenticator).await;
    assert_eq!(signed_in.status, StatusCode::CREATED, "{}", signed_in.text);
    signed_in.body["token"].as_str().unwrap().to_owned()
}

/// A P-256 key and its PKCS#10 request (PEM, DER); the subject is anything.
fn p256_request() -> (rcgen::KeyPair, String, Vec<u8>) {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let request = rcgen::CertificateParams::new(vec!["ignored.example".to_owned()])
        .unwrap()
        .serialize_request(&key)
        .unwrap();
    let pem = request.pem().unwrap();
    let der = request.der().to_vec();
    (key, pem, der)
}

pub(crate) async fn request(app: &TestApp, token: &str, body: Value) -> crate::support::Reply {
    app.call(
        Method::POST,
        "/v1/me/signing-certificates",
        Some(token),
        Some(body),
    )
    .await
}

/// Sends a request and returns status, content type and the raw body.
pub(crate) async fn raw(app: &TestApp, request: Request<Body>) -> (StatusCode, String, Vec<u8>) {
    let response = app.router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, content_type, bytes.to_vec())
}

pub(crate) fn pem_chain(pem: &str) -> Vec<Vec<u8>> {
    x509::pem_to_der_chain(pem).unwrap()
}

fn root(app: &TestApp) -> Vec<u8> {
    let pem = std::fs::read_to_string(app.data_dir.join("keys/agency-root.pem")).unwrap();
    pem_chain(&pem).remove(0)
}

fn hex(bytes: &[u8]) -> String {
    let start = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    bytes[start..].iter().map(|b| format!("{b:02x}")).collect()
}

/// Asks the responder about `leaf` (issued by `ca`) with a nonce; checks the answer's signature
/// under the signing CA's key and the nonce echoed; returns the certificate's status.
async fn ocsp_status(app: &TestApp, leaf: &[u8], ca: &[u8]) -> CertStatus {
    ocsp_status_of(app, leaf, ca, ca).await
}

/// As [`ocsp_status`], naming `issuer` in the request (another CA's, say).
async fn ocsp_status_of(app: &TestApp, leaf: &[u8], issuer: &[u8], ca: &[u8]) -> CertStatus {
    let signing_ca = x509_cert::Certificate::from_der(ca).unwrap();
    let signing_key = signing_ca
        .tbs_certificate
        .subject_public_key_info
        .subject_public_key
        .raw_bytes()
        .to_vec();
    let ca_cert = x509_cert::Certificate::from_der(issuer).unwrap();
    let leaf_cert = x509_cert::Certificate::from_der(leaf).unwrap();
    let sha1 = |bytes: &[u8]| {
        ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, bytes)
            .as_ref()
            .to_vec()
    };
    let key_bits = ca_cert
        .tbs_certificate
        .subject_public_key_info
        .subject_public_key
        .raw_bytes()
        .to_vec();
    let cert_id = CertId {
        hash_algorithm: spki::AlgorithmIdentifierOwned {
            oid: const_oid::db::rfc5912::ID_SHA_1,
            parameters: None,
        },
        issuer_name_hash: OctetString::new(sha1(
            &ca_cert.tbs_certificate.subject.to_der().unwrap(),
        ))
        .unwrap(),
        issuer_key_hash: OctetString::new(sha1(&key_bits)).unwrap(),
        serial_number: leaf_cert.tbs_certificate.serial_number.clone(),
    };
    let nonce = OctetString::new(vec![7u8; 16]).unwrap().to_der().unwrap();
    let request = OcspRequest {
        tbs_request: x509_ocsp::TbsRequest {
            version: x509_ocsp::Version::V1,
            requestor_name: None,
            request_list: vec![x509_ocsp::Request {
                req_cert: cert_id.clone(),
                single_request_extensions: None,
            }],
            request_extensions: Some(vec![x509_cert::ext::Extension {
                extn_id: const_oid::db::rfc6960::ID_PKIX_OCSP_NONCE,
                critical: false,
                extn_value: OctetString::new(nonce.clone()).unwrap(),
            }]),
        },
        optional_signature: None,
    };
    let (status, content_type, body) = raw(
        app,
        Request::post("/ocsp")
            .header(header::CONTENT_TYPE, "application/ocsp-request")
            .body(Body::from(request.to_der().unwrap()))
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(content_type, "application/ocsp-response");
    let response = OcspResponse::from_der(&body).unwrap();
    assert_eq!(
        response.response_status,
        x509_ocsp::OcspResponseStatus::Successful
    );
    let basic =
        BasicOcspResponse::from_der(response.response_bytes.unwrap().response.as_bytes()).unwrap();
    ring::signature::UnparsedPublicKey::new(&ring::signature::ECDSA_P256_SHA256_ASN1, &signing_key)
        .verify(
            &basic.tbs_response_data.to_der().unwrap(),
            basic.signature.raw_bytes(),
        )
        .expect("the answer is signed by the signing CA");
    let echoed = basic
        .tbs_response_data
        .response_extensions
        .as_ref()
        .unwrap()
        .iter()
        .find(|e| e.extn_id == const_oid::db::rfc6960::ID_PKIX_OCSP_NONCE)
        .unwrap();
    assert_eq!(echoed.extn_value.as_bytes(), nonce, "nonce echoed");
    let single = &basic.tbs_response_data.responses[0];
    assert_eq!(single.cert_id, cert_id);
    assert!(single.next_update.is_some());
    single.cert_status
}

/// The CRL: its number and the serials (hex) it lists with their reason codes, its signature
/// checked under the CA's key.
async fn crl(app: &TestApp, ca: &[u8]) -> (u64, Vec<(String, Option<u8>, i64)>) {
    let (status, content_type, body) = raw(
        app,
        Request::get("/crl/signing.crl")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(content_type, "application/pkix-crl");
    let (rest, list) =
        x509_parser::revocation_list::CertificateRevocationList::from_der(&body).unwrap();
    assert!(rest.is_empty());
    let (_, ca) = X509Certificate::from_der(ca).unwrap();
    list.verify_signature(ca.public_key()).unwrap();
    assert_eq!(list.issuer(), ca.subject());
    let next = list.next_update().unwrap().timestamp();
    let this = list.last_update().timestamp();
    assert!(next > this, "nextUpdate after thisUpdate");
    let number = list
        .crl_number()
        .unwrap()
        .to_u64_digits()
        .first()
        .copied()
        .unwrap_or(0);
    let revoked = list
        .iter_revoked_certificates()
        .map(|entry| {
            (
                hex(entry.raw_serial()),
                entry.reason_code().map(|(_, reason)| reason.0),
                entry.revocation_date.timestamp(),
            )
        })
        .collect();
    (number, revoked)
}

fn status_name(status: &CertStatus) -> &'static str {
    match status {
        CertStatus::Good(_) => "good",
        CertStatus::Revoked(_) => "revoked",
        CertStatus::Unknown(_) => "unknown",
    }
}

#[tokio::test]
async fn a_level_two_citizen_gets_a_certificate_of_the_agency_profile() {
    for db in databases().await {
        let app = TestApp::new(&db).await;
        let (setup_token, mut authenticator) = signed_in_citizen(&app).await;
        let (_, pem, der) = p256_request();

        // Level 1, even freshly signed in: refused.
        let level1 = sign_in(&app, &mut authenticator).await;
        let level1 = level1.body["token"].as_str().unwrap().to_owned();
        let refused = request(&app, &level1, json!({ "csr": pem })).await;
        assert_problem(&refused, StatusCode::FORBIDDEN, "level2-required");

        // Level 2, but the session came from the passkey registration, not a sign-in.
        approve_level2(&app, AN).await;
        let refused = request(&app, &setup_token, json!({ "csr": pem })).await;
        assert_problem(&refused, StatusCode::FORBIDDEN, "step-up-required");

        let signed_in = sign_in(&app, &mut authenticator).await;
        let token = signed_in.body["token"].as_str().unwrap().to_owned();
        let issued = request(&app, &token, json!({ "csr": pem })).await;
        assert_eq!(issued.status, StatusCode::CREATED, "{}", issued.text);
        for field in [
            "id",
            "serial",
            "certificate_chain",
            "not_before",
            "not_after",
        ] {
            assert!(issued.body[field].is_string(), "{field}");
        }
        let chain = pem_chain(issued.body["certificate_chain"].as_str().unwrap());
        assert_eq!(chain.len(), 2, "leaf then the signing CA, without the root");
        let root = root(&app);
        assert!(!chain.contains(&root));

        // The profile.
        let (_, leaf) = X509Certificate::from_der(&chain[0]).unwrap();
        let (_, ca) = X509Certificate::from_der(&chain[1]).unwrap();
        assert_eq!(leaf.issuer(), ca.subject());
        leaf.verify_signature(Some(ca.public_key())).unwrap();
        assert_eq!(hex(leaf.raw_serial()), issued.body["serial"]);
        let subject = leaf.subject();
        let country: Vec<_> = subject
            .iter_country()
            .map(|a| a.as_str().unwrap())
            .collect();
        assert_eq!(country, ["VN"]);
        let names: Vec<_> = subject
            .iter_common_name()
            .map(|a| a.as_str().unwrap())
            .collect();
        assert_eq!(names, ["Nguyễn Văn An"]);
        assert!(
            names[0]
                .chars()
                .eq(unicode_normalization::UnicodeNormalization::nfc(names[0])),
            "NFC"
        );
        let uid: Vec<_> = subject
            .iter_by_oid(&x509_parser::oid_registry::OID_PKCS9_UNSTRUCTURED_NAME)
            .collect();
        assert!(uid.is_empty());
        let uid: Vec<_> = subject
            .iter()
            .flat_map(|rdn| rdn.iter())
            .filter(|a| a.attr_type().to_id_string() == "0.9.2342.19200300.100.1.1")
            .map(|a| a.as_str().unwrap().to_owned())
            .collect();
        assert_eq!(uid, [format!("CCCD:{AN}")]);
        assert!(!subject.to_string().contains("ignored"));
        let key_usage = leaf.key_usage().unwrap().unwrap();
        assert!(key_usage.critical);
        assert!(key_usage.value.digital_signature() && key_usage.value.non_repudiation());
        assert!(!key_usage.value.key_cert_sign());
        let eku = leaf.extended_key_usage().unwrap().unwrap();
        assert!(eku.value.email_protection);
        assert_eq!(
            eku.value
                .other
                .iter()
                .map(|oid| oid.to_id_string())
                .collect::<Vec<_>>(),
            ["1.3.6.1.5.5.7.3.36"]
        );
        assert!(!leaf.basic_constraints().unwrap().unwrap().value.ca);
        let ids: Vec<_> = leaf
            .extensions()
            .iter()
            .map(|e| e.oid.to_id_string())
            .collect();
        for oid in [
            "2.5.29.14",         // subject key identifier
            "2.5.29.35",         // authority key identifier
            "2.5.29.31",         // CRL distribution points
            "1.3.6.1.5.5.7.1.1", // authority information access
        ] {
            assert!(ids.contains(&oid.to_owned()), "{oid} in {ids:?}");
        }
        let contains = |needle: &str| {
            chain[0]
                .windows(needle.len())
                .any(|w| w == needle.as_bytes())
        };
        assert!(contains(&format!("{ORIGIN}/crl/signing.crl")));
        assert!(contains(&format!("{ORIGIN}/ocsp")));
        let validity = leaf.validity();
        assert_eq!(
            validity.not_after.timestamp() - validity.not_before.timestamp(),
            730 * 86_400
        );
        // The chain validates to the agency root that credentials chain to.
        let anchor = x509::TrustAnchor::from_der(&root).unwrap();
        x509::validate_chain(
            &chain,
            &[anchor],
            &x509::ChainPolicy::at(crate::support::wallet::now()),
        )
        .unwrap();
        let served = app
            .call(Method::GET, "/trust/issuer-root.pem", None, None)
            .await;
        assert_eq!(pem_chain(&served.text), std::slice::from_ref(&root));

        // The same key again: refused; other encodings of new keys: accepted.
        let again = request(&app, &token, json!({ "csr": pem })).await;
        assert_problem(&again, StatusCode::CONFLICT, "key-not-new");
        let (_, _, der2) = p256_request();
        use base64::Engine;
        let b64 = base64::engine::general_purpose::STANDARD.encode(&der2);
        let issued2 = request(&app, &token, json!({ "csr": b64 })).await;
        assert_eq!(issued2.status, StatusCode::CREATED, "{}", issued2.text);
        let (_, pem3, _) = p256_request();
        for (body, expected) in [
            (pem3.into_bytes(), StatusCode::CREATED),
            (der.clone(), StatusCode::CONFLICT),
        ] {
            let (status, _, _) = raw(
                &app,
                Request::post("/v1/me/signing-certificates")
                    .header(header::AUTHORIZATION, format!("Bearer {token}"))
                    .header(header::CONTENT_TYPE, "application/pkcs10")
                    .body(Body::from(body))
                    .unwrap(),
            )
            .await;
            assert_eq!(status, expected);
        }
        let (_, _, der4) = p256_request();
        let (status, _, _) = raw(
            &app,
            Request::post("/v1/me/signing-certificates")
                .header(header::AUTHORIZATION, format!("Bearer {token}"))
                .header(header::CONTENT_TYPE, "application/octet-stream")
                .body(Body::from(der4))
                .unwrap(),
        )
        .await;
        assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);

        // Bad requests.
        let (_, _, mut forged) = p256_request();
        let last = forged.len() - 1;
        forged[last] ^= 1;
        let forged = base64::engine::general_purpose::STANDARD.encode(&forged);
        let reply = request(&app, &token, json!({ "csr": forged })).await;
        assert_problem(&reply, StatusCode::BAD_REQUEST, "invalid-csr-signature");
        let p384 = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384).unwrap();
        let p384 = rcgen::CertificateParams::new(vec![])
            .unwrap()
            .serialize_request(&p384)
            .unwrap()
            .pem()
            .unwrap();
        let reply = request(&app, &token, json!({ "csr": p384 })).await;
        assert_problem(&reply, StatusCode::BAD_REQUEST, "unsupported-key");
        let ed25519 = rcgen::KeyPair::generate_for(&rcgen::PKCS_ED25519).unwrap();
        let ed25519 = rcgen::CertificateParams::new(vec![])
            .unwrap()
            .serialize_request(&ed25519)
            .unwrap()
            .pem()
            .unwrap();
        let reply = request(&app, &token, json!({ "csr": ed25519 })).await;
        assert_problem(&reply, StatusCode::BAD_REQUEST, "unsupported-key");
        for garbage in [
            json!({ "csr": "hello" }),
            json!({ "csr": "MAMCAQA=" }),
            json!({ "csr": "-----BEGIN CERTIFICATE-----\nMAMCAQA=\n-----END CERTIFICATE-----\n" }),
            json!({ "csr": "" }),
        ] {
            let reply = request(&app, &token, garbage).await;
            assert_problem(&reply, StatusCode::BAD_REQUEST, "invalid-csr");
        }
        let reply = request(&app, &token, json!({ "certificate": pem })).await;
        assert_problem(&reply, StatusCode::BAD_REQUEST, "malformed-json");
        let (_, pem5, _) = p256_request();
        let reply = request(&app, &token, json!({ "csr": pem5, "device_id": "nope" })).await;
        assert_problem(&reply, StatusCode::NOT_FOUND, "not-found");

        // Listed, and audited.
        let listed = app
            .call(
                Method::GET,
                "/v1/me/signing-certificates",
                Some(&token),
                None,
            )
            .await;
        assert_eq!(listed.status, StatusCode::OK);
        let listed = listed.body.as_array().unwrap();
        assert_eq!(listed.len(), 3);
        assert!(listed.iter().all(|c| c["status"] == "valid"));
        assert!(listed.iter().any(|c| c["id"] == issued.body["id"]));
        let history = app
            .call(Method::GET, "/v1/me/history", Some(&token), None)
            .await;
        let issued_events = history
            .body
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["action"] == "signing_certificate.issued")
            .count();
        assert_eq!(issued_events, 3, "{}", history.text);
    }
}

#[tokio::test]
async fn the_step_up_window_is_configurable() {
    for db in databases().await {
        let app = TestApp::with_config(&db, |config| config.signing.step_up_seconds = 1).await;
        let token = stepped_up_an(&app).await;
        tokio::time::sleep(std::time::Duration::from_millis(2_100)).await;
        let (_, pem, _) = p256_request();
        let reply = request(&app, &token, json!({ "csr": pem })).await;
        assert_problem(&reply, StatusCode::FORBIDDEN, "step-up-required");
    }
}

/// Issues a certificate to the session's holder; returns (id, leaf DER, CA DER).
async fn issue(app: &TestApp, token: &str, device_id: Option<&str>) -> (String, Vec<u8>, Vec<u8>) {
    let (_, pem, _) = p256_request();
    let issued = request(app, token, json!({ "csr": pem, "device_id": device_id })).await;
    assert_eq!(issued.status, StatusCode::CREATED, "{}", issued.text);
    let mut chain = pem_chain(issued.body["certificate_chain"].as_str().unwrap());
    let ca = chain.remove(1);
    (
        issued.body["id"].as_str().unwrap().to_owned(),
        chain.remove(0),
        ca,
    )
}

#[tokio::test]
async fn revocation_by_citizen_officer_and_lifecycle_shows_in_the_crl_and_over_ocsp() {
    for db in databases().await {
        let app = TestApp::new(&db).await;
        let token = stepped_up_an(&app).await;
        let officer = staff_session(&app, Role::Officer).await;
        let device_key = Es256KeyPair::generate().unwrap();
        let device = app
            .call(
                Method::POST,
                "/v1/me/devices",
                Some(&token),
                Some(json!({ "name": "Điện thoại An", "holder_key": device_key.public_key().to_jwk() })),
            )
            .await;
        assert_eq!(device.status, StatusCode::CREATED, "{}", device.text);
        let device_id = device.body["id"].as_str().unwrap().to_owned();

        let (by_citizen, leaf_a, ca) = issue(&app, &token, None).await;
        let (by_officer, leaf_b, _) = issue(&app, &token, None).await;
        let (on_device, leaf_c, _) = issue(&app, &token, Some(&device_id)).await;
        let (withdrawn, leaf_d, _) = issue(&app, &token, None).await;
        for leaf in [&leaf_a, &leaf_b, &leaf_c, &leaf_d] {
            assert_eq!(status_name(&ocsp_status(&app, leaf, &ca).await), "good");
        }
        // The portal's account page lists them, each with its revoke button.
        let page = app.call(Method::GET, "/account", Some(&token), None).await;
        let serial_a = hex(X509Certificate::from_der(&leaf_a).unwrap().1.raw_serial());
        assert!(page.text.contains(&serial_a), "{}", page.text);
        assert!(page.text.contains(&format!(
            "data-revoke-post=\"/v1/me/signing-certificates/{by_citizen}/revoke\""
        )));
        let (first_number, listed) = crl(&app, &ca).await;
        assert!(listed.is_empty());
        let (again, _) = crl(&app, &ca).await;
        assert_eq!(again, first_number, "unchanged: the stored CRL is served");
        let serial = |leaf: &[u8]| hex(X509Certificate::from_der(leaf).unwrap().1.raw_serial());

        // The citizen (a lost phone).
        let before = dinhdanh_server::platform::clock::now();
        let revoked = app
            .call(
                Method::POST,
                &format!("/v1/me/signing-certificates/{by_citizen}/revoke"),
                Some(&token),
                Some(json!({ "reason": "key_compromise" })),
            )
            .await;
        assert_eq!(revoked.status, StatusCode::OK, "{}", revoked.text);
        assert_eq!(revoked.body["status"], "revoked");
        assert_eq!(revoked.body["revocation_reason"], "key_compromise");
        match ocsp_status(&app, &leaf_a, &ca).await {
            CertStatus::Revoked(info) => {
                let at = info.revocation_time.0.to_unix_duration().as_secs() as i64;
                assert!(at >= before, "never backdated");
                assert_eq!(
                    info.revocation_reason,
                    Some(x509_cert::ext::pkix::CrlReason::KeyCompromise)
                );
            }
            other => panic!("{other:?}"),
        }
        let (number, listed) = crl(&app, &ca).await;
        assert!(number > first_number, "a new CRL with a higher number");
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].0, serial(&leaf_a));
        assert_eq!(listed[0].1, Some(1));
        assert!(listed[0].2 >= before);
        let twice = app
            .call(
                Method::POST,
                &format!("/v1/me/signing-certificates/{by_citizen}/revoke"),
                Some(&token),
                None,
            )
            .await;
        assert_problem(&twice, StatusCode::NOT_FOUND, "not-found");

        // An officer, who finds it under the citizen's ID number.
        let seen = app
            .call(
                Method::GET,
                &format!("/v1/citizens/{AN}/signing-certificates"),
                Some(&officer),
                None,
            )
            .await;
        assert_eq!(seen.body.as_array().unwrap().len(), 4);
        let revoked = app
            .call(
                Method::POST,
                &format!("/v1/signing-certificates/{by_officer}/revoke"),
                Some(&officer),
                Some(json!({ "reason": "superseded" })),
            )
            .await;
        assert_eq!(revoked.status, StatusCode::OK, "{}", revoked.text);
        assert_eq!(
            status_name(&ocsp_status(&app, &leaf_b, &ca).await),
            "revoked"
        );
        let bad_reason = app
            .call(
                Method::POST,
                &format!("/v1/signing-certificates/{withdrawn}/revoke"),
                Some(&officer),
                Some(json!({ "reason": "ca_compromise" })),
            )
            .await;
        assert_problem(&bad_reason, StatusCode::BAD_REQUEST, "malformed-json");

        // The device the key lives on is revoked: its certificate goes with it.
        let gone = app
            .call(
                Method::DELETE,
                &format!("/v1/me/devices/{device_id}"),
                Some(&token),
                None,
            )
            .await;
        assert!(gone.status.is_success(), "{}", gone.text);
        match ocsp_status(&app, &leaf_c, &ca).await {
            CertStatus::Revoked(info) => assert_eq!(
                info.revocation_reason,
                Some(x509_cert::ext::pkix::CrlReason::KeyCompromise)
            ),
            other => panic!("{other:?}"),
        }
        assert_eq!(status_name(&ocsp_status(&app, &leaf_d, &ca).await), "good");
        let (number_c, listed) = crl(&app, &ca).await;
        assert!(number_c > number);
        assert_eq!(listed.len(), 3);
        let _ = on_device;

        // Level 2 withdrawn: every remaining certificate, and no new one.
        let withdrawal = app
            .call(
                Method::POST,
                &format!("/v1/citizens/{AN}/level2/withdraw"),
                Some(&officer),
                Some(json!({ "reason": "card reported stolen" })),
            )
            .await;
        assert!(withdrawal.status.is_success(), "{}", withdrawal.text);
        match ocsp_status(&app, &leaf_d, &ca).await {
            CertStatus::Revoked(info) => assert_eq!(
                info.revocation_reason,
                Some(x509_cert::ext::pkix::CrlReason::PrivilegeWithdrawn)
            ),
            other => panic!("{other:?}"),
        }
        let (_, listed) = crl(&app, &ca).await;
        let mut serials: Vec<_> = listed.into_iter().map(|(s, _, _)| s).collect();
        serials.sort();
        let mut expected: Vec<_> = [&leaf_a, &leaf_b, &leaf_c, &leaf_d]
            .into_iter()
            .map(|leaf| serial(leaf))
            .collect();
        expected.sort();
        assert_eq!(serials, expected);
        let (_, pem, _) = p256_request();
        let refused = request(&app, &token, json!({ "csr": pem })).await;
        assert_problem(&refused, StatusCode::FORBIDDEN, "level2-required");
        let listed = app
            .call(
                Method::GET,
                "/v1/me/signing-certificates",
                Some(&token),
                None,
            )
            .await;
        assert!(
            listed
                .body
                .as_array()
                .unwrap()
                .iter()
                .all(|c| c["status"] == "revoked")
        );

        // Not ours: a certificate of another CA, and a serial we never issued.
        let other = rcgen::CertificateParams::new(vec!["x.example".to_owned()])
            .unwrap()
            .self_signed(&rcgen::KeyPair::generate().unwrap())
            .unwrap();
        assert_eq!(
            status_name(&ocsp_status_of(&app, other.der(), other.der(), &ca).await),
            "unknown"
        );
        let mut forged = x509_cert::Certificate::from_der(&leaf_a).unwrap();
        forged.tbs_certificate.serial_number =
            x509_cert::serial_number::SerialNumber::new(&[1, 2, 3]).unwrap();
        assert_eq!(
            status_name(&ocsp_status(&app, &forged.to_der().unwrap(), &ca).await),
            "unknown"
        );

        // Garbage to the responder and the TSA gets their protocols' errors.
        let (status, _, body) = raw(
            &app,
            Request::post("/ocsp")
                .header(header::CONTENT_TYPE, "application/ocsp-request")
                .body(Body::from("garbage"))
                .unwrap(),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            OcspResponse::from_der(&body).unwrap().response_status,
            x509_ocsp::OcspResponseStatus::MalformedRequest
        );
        let (status, _, body) = raw(
            &app,
            Request::get("/ocsp/!!notbase64")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            OcspResponse::from_der(&body).unwrap().response_status,
            x509_ocsp::OcspResponseStatus::MalformedRequest
        );
        let (status, _, _) = raw(&app, Request::post("/ocsp").body(Body::from("x")).unwrap()).await;
        assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
        let (status, content_type, body) = raw(
            &app,
            Request::post("/tsa")
                .header(header::CONTENT_TYPE, "application/timestamp-query")
                .body(Body::from("garbage"))
                .unwrap(),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(content_type, "application/timestamp-reply");
        let reply = x509_tsp::TimeStampResp::from_der(&body).unwrap();
        assert_eq!(reply.status.status, cmpv2::status::PkiStatus::Rejection);
        assert!(reply.time_stamp_token.is_none());
    }
}

/// Imports NDJSON `records` into the registry (a re-import with changes).
async fn import(app: &TestApp, records: &[Value]) {
    let text: String = records.iter().map(|l| format!("{l}\n")).collect();
    dinhdanh_server::domain::registry::import::import_reader(
        &app.store,
        &dinhdanh_server::platform::config::IssuanceSettings::default(),
        std::io::Cursor::new(text.into_bytes()),
        dinhdanh_server::domain::registry::import::Format::Ndjson,
        "test",
    )
    .await
    .unwrap();
}

fn an_record() -> Value {
    std::fs::read_to_string(crate::support::data("citizens.ndjson"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|c| c["id_number"] == AN)
        .unwrap()
}

fn reason_of(status: &CertStatus) -> Option<x509_cert::ext::pkix::CrlReason> {
    match status {
        CertStatus::Revoked(info) => info.revocation_reason,
        other => panic!("not revoked: {other:?}"),
    }
}

#[tokio::test]
async fn registry_changes_revoke_signing_certificates_in_the_import_transaction() {
    use x509_cert::ext::pkix::CrlReason;
    for db in databases().await {
        let app = TestApp::new(&db).await;
        let token = stepped_up_an(&app).await;
        let (_, first, ca) = issue(&app, &token, None).await;

        // A new address leaves the certificate alone; a new name revokes it (its subject is
        // wrong now), and the next certificate carries the new name.
        let mut record = an_record();
        record["place_of_residence"] = json!("Số 1 Tràng Tiền, Hà Nội");
        import(&app, &[record.clone()]).await;
        assert_eq!(status_name(&ocsp_status(&app, &first, &ca).await), "good");
        record["full_name"] = json!("Nguyễn Văn Ân");
        import(&app, &[record.clone()]).await;
        assert_eq!(
            reason_of(&ocsp_status(&app, &first, &ca).await),
            Some(CrlReason::AffiliationChanged)
        );
        let (_, renamed, _) = issue(&app, &token, None).await;
        let (_, parsed) = X509Certificate::from_der(&renamed).unwrap();
        assert_eq!(
            parsed
                .subject()
                .iter_common_name()
                .next()
                .unwrap()
                .as_str()
                .unwrap(),
            "Nguyễn Văn Ân"
        );

        // A death registered closes the account and revokes the rest, in the import.
        record["status"] = json!("deceased");
        import(&app, &[record]).await;
        assert_eq!(
            reason_of(&ocsp_status(&app, &renamed, &ca).await),
            Some(CrlReason::CessationOfOperation)
        );
        let (_, listed) = crl(&app, &ca).await;
        assert_eq!(listed.len(), 2);
        let me = app
            .call(
                Method::GET,
                "/v1/me/signing-certificates",
                Some(&token),
                None,
            )
            .await;
        assert_problem(&me, StatusCode::UNAUTHORIZED, "unauthenticated");
    }
}

#[tokio::test]
async fn a_completed_recovery_revokes_signing_certificates() {
    use x509_cert::ext::pkix::CrlReason;
    for db in databases().await {
        let app = TestApp::new(&db).await;
        let token = stepped_up_an(&app).await;
        let (_, leaf, ca) = issue(&app, &token, None).await;
        let (_, recovery) = crate::recovery::recovery_session(&app, crate::support::an()).await;
        let after = crate::recovery::complete(&app, &recovery).await;
        assert_eq!(
            reason_of(&ocsp_status(&app, &leaf, &ca).await),
            Some(CrlReason::KeyCompromise)
        );
        // The new session is level 1 now (a code alone): no new certificate.
        let (_, pem, _) = p256_request();
        let refused = request(&app, &after, json!({ "csr": pem })).await;
        assert_problem(&refused, StatusCode::FORBIDDEN, "level2-required");
    }
}

/// The in-process app on a real port (openssl speaks HTTP to it).
pub(crate) async fn listen(app: &TestApp) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let router = app.router.clone();
    tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });
    format!("http://{address}")
}

pub(crate) async fn openssl(args: &[&str], dir: &std::path::Path) -> (bool, String) {
    let output = tokio::process::Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .await
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

pub(crate) fn openssl_present() -> bool {
    let present = std::process::Command::new("openssl")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !present {
        eprintln!(
            "SKIPPED LOUDLY: openssl is not installed; the interoperability checks did not run"
        );
    }
    present
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openssl_requests_verifies_asks_ocsp_and_time_stamps() {
    if !openssl_present() {
        return;
    }
    for db in databases().await {
        let app = TestApp::new(&db).await;
        let url = listen(&app).await;
        let token = stepped_up_an(&app).await;
        let work = tempfile::tempdir().unwrap();
        let dir = work.path();
        // A key and request made by openssl.
        let (ok, out) = openssl(
            &[
                "ecparam",
                "-name",
                "prime256v1",
                "-genkey",
                "-noout",
                "-out",
                "key.pem",
            ],
            dir,
        )
        .await;
        assert!(ok, "{out}");
        let (ok, out) = openssl(
            &[
                "req",
                "-new",
                "-key",
                "key.pem",
                "-subj",
                "/CN=Somebody Else/O=Nowhere",
                "-out",
                "req.pem",
            ],
            dir,
        )
        .await;
        assert!(ok, "{out}");
        let csr = std::fs::read_to_string(dir.join("req.pem")).unwrap();
        let issued = request(&app, &token, json!({ "csr": csr })).await;
        assert_eq!(issued.status, StatusCode::CREATED, "{}", issued.text);
        let chain = issued.body["certificate_chain"].as_str().unwrap();
        let ders = pem_chain(chain);
        std::fs::write(dir.join("chain.pem"), chain).unwrap();
        std::fs::write(dir.join("leaf.pem"), x509::dev::der_to_pem(&ders[0])).unwrap();
        std::fs::write(dir.join("ca.pem"), x509::dev::der_to_pem(&ders[1])).unwrap();
        let root = app
            .call(Method::GET, "/trust/issuer-root.pem", None, None)
            .await;
        std::fs::write(dir.join("root.pem"), &root.text).unwrap();
        std::fs::write(
            dir.join("bundle.pem"),
            format!("{}{}", root.text, x509::dev::der_to_pem(&ders[1])),
        )
        .unwrap();
        let fetch_crl = || async {
            let (_, _, der) = raw(
                &app,
                Request::get("/crl/signing.crl")
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
            std::fs::write(dir.join("crl.der"), der).unwrap();
            let (ok, out) = openssl(
                &["crl", "-inform", "DER", "-in", "crl.der", "-out", "crl.pem"],
                dir,
            )
            .await;
            assert!(ok, "{out}");
        };
        fetch_crl().await;
        let verify = [
            "verify",
            "-crl_check",
            "-CAfile",
            "bundle.pem",
            "-CRLfile",
            "crl.pem",
            "leaf.pem",
        ];
        let (ok, out) = openssl(&verify, dir).await;
        assert!(ok, "{out}");
        let ocsp_url = format!("{url}/ocsp");
        let ocsp = [
            "ocsp",
            "-url",
            &ocsp_url,
            "-issuer",
            "ca.pem",
            "-cert",
            "leaf.pem",
            "-CAfile",
            "bundle.pem",
        ];
        let (ok, out) = openssl(&ocsp, dir).await;
        assert!(
            ok && out.contains("Response verify OK") && out.contains("leaf.pem: good"),
            "{out}"
        );

        // A CMS signature made with the certificate verifies to the agency root as an e-mail
        // (S/MIME) signer, the purpose openssl checks by default.
        std::fs::write(dir.join("doc.txt"), "Hợp đồng mua bán\n").unwrap();
        let (ok, out) = openssl(
            &[
                "cms",
                "-sign",
                "-binary",
                "-in",
                "doc.txt",
                "-signer",
                "leaf.pem",
                "-inkey",
                "key.pem",
                "-certfile",
                "ca.pem",
                "-outform",
                "DER",
                "-out",
                "doc.p7s",
            ],
            dir,
        )
        .await;
        assert!(ok, "{out}");
        let (ok, out) = openssl(
            &[
                "cms",
                "-verify",
                "-binary",
                "-inform",
                "DER",
                "-in",
                "doc.p7s",
                "-content",
                "doc.txt",
                "-CAfile",
                "root.pem",
                "-out",
                "/dev/null",
            ],
            dir,
        )
        .await;
        assert!(ok && out.contains("Verification successful"), "{out}");

        // A time-stamp of the document from our TSA, with the certificates asked for.
        let (ok, out) = openssl(
            &[
                "ts", "-query", "-data", "doc.txt", "-sha256", "-cert", "-out", "q.tsq",
            ],
            dir,
        )
        .await;
        assert!(ok, "{out}");
        let (status, content_type, reply) = raw(
            &app,
            Request::post("/tsa")
                .header(header::CONTENT_TYPE, "application/timestamp-query")
                .body(Body::from(std::fs::read(dir.join("q.tsq")).unwrap()))
                .unwrap(),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(content_type, "application/timestamp-reply");
        std::fs::write(dir.join("r.tsr"), reply).unwrap();
        let (ok, out) = openssl(
            &[
                "ts", "-verify", "-data", "doc.txt", "-in", "r.tsr", "-CAfile", "root.pem",
            ],
            dir,
        )
        .await;
        assert!(ok && out.contains("Verification: OK"), "{out}");
        let (ok, out) = openssl(&["ts", "-reply", "-in", "r.tsr", "-text"], dir).await;
        assert!(
            ok && out.contains("Policy OID: 1.3.6.1.4.1.99999.1.1"),
            "{out}"
        );
        assert!(out.contains("Nonce: 0x"), "the query's nonce: {out}");
        // Without certReq the token carries no certificate: the TSA's must then be supplied.
        let (ok, out) = openssl(
            &[
                "ts", "-query", "-data", "doc.txt", "-sha256", "-out", "q2.tsq",
            ],
            dir,
        )
        .await;
        assert!(ok, "{out}");
        let (_, _, reply) = raw(
            &app,
            Request::post("/tsa")
                .header(header::CONTENT_TYPE, "application/timestamp-query")
                .body(Body::from(std::fs::read(dir.join("q2.tsq")).unwrap()))
                .unwrap(),
        )
        .await;
        std::fs::write(dir.join("r2.tsr"), reply).unwrap();
        let (ok, _) = openssl(
            &[
                "ts", "-verify", "-data", "doc.txt", "-in", "r2.tsr", "-CAfile", "root.pem",
            ],
            dir,
        )
        .await;
        assert!(!ok, "no certificate in the token");
        std::fs::write(
            dir.join("tsa.pem"),
            std::fs::read_to_string(app.data_dir.join("keys/tsa.pem")).unwrap(),
        )
        .unwrap();
        let (ok, out) = openssl(
            &[
                "ts",
                "-verify",
                "-data",
                "doc.txt",
                "-in",
                "r2.tsr",
                "-CAfile",
                "root.pem",
                "-untrusted",
                "tsa.pem",
            ],
            dir,
        )
        .await;
        assert!(ok && out.contains("Verification: OK"), "{out}");

        // Revoked: the CRL and the responder say so.
        let id = issued.body["id"].as_str().unwrap();
        let revoked = app
            .call(
                Method::POST,
                &format!("/v1/me/signing-certificates/{id}/revoke"),
                Some(&token),
                Some(json!({ "reason": "key_compromise" })),
            )
            .await;
        assert_eq!(revoked.status, StatusCode::OK);
        fetch_crl().await;
        let (ok, out) = openssl(&verify, dir).await;
        assert!(!ok && out.contains("certificate revoked"), "{out}");
        let (_, out) = openssl(&ocsp, dir).await;
        assert!(
            out.contains("Response verify OK") && out.contains("leaf.pem: revoked"),
            "{out}"
        );
        assert!(out.contains("Reason: keyCompromise"), "{out}");
    }
}

#[tokio::test]
async fn one_key_raced_in_concurrent_requests_is_certified_once() {
    for db in databases().await {
        let app = TestApp::new(&db).await;
        let token = stepped_up_an(&app).await;
        let (_, pem, _) = p256_request();
        let body = json!({ "csr": pem });
        let (a, b, c, d) = tokio::join!(
            request(&app, &token, body.clone()),
            request(&app, &token, body.clone()),
            request(&app, &token, body.clone()),
            request(&app, &token, body.clone()),
        );
        let replies = [a, b, c, d];
        let created = replies
            .iter()
            .filter(|r| r.status == StatusCode::CREATED)
            .count();
        assert_eq!(created, 1);
        for reply in replies.iter().filter(|r| r.status != StatusCode::CREATED) {
            assert_problem(reply, StatusCode::CONFLICT, "key-not-new");
        }
        let listed = app
            .call(
                Method::GET,
                "/v1/me/signing-certificates",
                Some(&token),
                None,
            )
            .await;
        assert_eq!(listed.body.as_array().unwrap().len(), 1);
    }
}

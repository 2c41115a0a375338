//! Credential issuance (OpenID4VCI pre-authorized flow), status lists and lifecycle, on both
//! backends, through the HTTP surface, checked with the SDK's verifier.

use axum::http::{Method, StatusCode};
use dinhdanh_sdk::{
    jose::Es256KeyPair, openid4vci::PRE_AUTHORIZED_GRANT, status_list::Status,
    verifier::VerificationError,
};
use dinhdanh_server::domain::sessions::Role;
use serde_json::{Value, json};

use crate::support::{
    TestApp, assert_problem, databases, signed_in_citizen, staff_session,
    wallet::{
        Access, RelyingParty, assert_oauth_error, credential_request, credentials, key_proof,
        nonce, pre_authorized_code, proof_for, redeem, request_credentials, status_of,
        token_request,
    },
};

const AN: &str = "001090012345";

/// Raises the citizen `id_number` to level 2 as an officer's approval would.
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

/// Another access token for An's account (as a second offer would give), DPoP-bound to `jkt`.
fn another_token(app: &TestApp, account_id: &str, jkt: Option<String>) -> String {
    let services = dinhdanh_server::app::setup::services(
        app.store.clone(),
        Default::default(),
        &app.data_dir,
        crate::support::ORIGIN.to_owned(),
    )
    .unwrap();
    dinhdanh_server::domain::issuance::access_token(
        &services,
        &dinhdanh_server::domain::issuance::AccessGrant {
            account_id: account_id.to_owned(),
            configuration_ids: vec!["pid".into()],
            jkt,
            expires_at: dinhdanh_server::platform::clock::now() + 600,
            random: dinhdanh_server::platform::secrets::token(),
        },
    )
}

/// A signed-in level-2 citizen (Nguyễn Văn An) and an offer of `configurations` for them:
/// (session token, offer URI, transaction code).
async fn offered(app: &TestApp, configurations: &[&str]) -> (String, String, String) {
    let (session, _) = signed_in_citizen(app).await;
    approve_level2(app, AN).await;
    let offer = app
        .call(
            Method::POST,
            "/v1/me/offers",
            Some(&session),
            Some(json!({ "credential_configuration_ids": configurations })),
        )
        .await;
    assert_eq!(offer.status, StatusCode::CREATED, "{}", offer.text);
    (
        session,
        offer.body["offer_uri"].as_str().unwrap().to_owned(),
        offer.body["tx_code"].as_str().unwrap().to_owned(),
    )
}

#[tokio::test]
async fn batch_issuance_verifies_offline_and_revocation_shows_in_the_status_list() {
    for db in databases().await {
        let app = TestApp::new(&db).await;
        let (session, offer_uri, tx_code) = offered(&app, &["pid"]).await;
        let token = redeem(&app, &offer_uri, &tx_code, None).await;
        let keys: Vec<Es256KeyPair> = (0..3).map(|_| Es256KeyPair::generate().unwrap()).collect();
        let key_refs: Vec<&Es256KeyPair> = keys.iter().collect();
        let c_nonce = nonce(&app).await;
        let reply =
            request_credentials(&app, Access::Bearer(&token), "pid", &key_refs, &c_nonce).await;
        let issued = credentials(&reply);
        assert_eq!(issued.len(), 3, "{}: one copy per proof", db.name);

        // Every copy: its own holder key, its own unpredictable index, and it verifies offline.
        let mut rp = RelyingParty::new(&app).await;
        let (uri, _) = status_of(&issued[0]);
        rp.fetch_status(&app, &uri).await;
        let mut indexes = Vec::new();
        for (credential, key) in issued.iter().zip(&keys) {
            let (copy_uri, idx) = status_of(credential);
            assert_eq!(copy_uri, uri);
            indexes.push(idx);
            let verified = rp
                .verify(credential, key, &["family_name", "given_name", "birthdate"])
                .unwrap();
            assert_eq!(verified.vct, "urn:vn:dinhdanh:pid:1");
            assert_eq!(verified.status, Some(Status::Valid));
            assert_eq!(verified.claims["family_name"], "Nguyễn");
            assert_eq!(verified.claims["given_name"], "Văn An");
            assert!(!verified.claims.contains_key("personal_identifier"));
            // Presented with another copy's key: refused.
            let other = &keys[(indexes.len()) % 3];
            assert!(rp.verify(credential, other, &["birthdate"]).is_err());
        }
        indexes.sort_unstable();
        indexes.dedup();
        assert_eq!(indexes.len(), 3);
        assert!(
            indexes.windows(2).all(|w| w[1] - w[0] > 1),
            "indexes look sequential: {indexes:?}"
        );

        // The citizen sees the copies; an officer revokes one; the list says so.
        let mine = app
            .call(Method::GET, "/v1/me/credentials", Some(&session), None)
            .await;
        assert_eq!(mine.body.as_array().unwrap().len(), 3, "{}", mine.text);
        let (_, first_idx) = status_of(&issued[0]);
        let copy = mine
            .body
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["idx"] == first_idx)
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let officer = staff_session(&app, Role::Officer).await;
        let revoked = app
            .call(
                Method::POST,
                &format!("/v1/credentials/{copy}/revoke"),
                Some(&officer),
                Some(json!({ "reason": "reported stolen" })),
            )
            .await;
        assert_eq!(revoked.status, StatusCode::OK, "{}", revoked.text);
        assert_eq!(revoked.body["status"], "revoked");
        // Revoked is final.
        let again = app
            .call(
                Method::POST,
                &format!("/v1/credentials/{copy}/reinstate"),
                Some(&officer),
                Some(json!({ "reason": "mistake" })),
            )
            .await;
        assert_problem(&again, StatusCode::CONFLICT, "state-conflict");
        rp.fetch_status(&app, &uri).await;
        assert_eq!(
            rp.verify(&issued[0], &keys[0], &["birthdate"]).unwrap_err(),
            VerificationError::NotValid(Status::Invalid)
        );
        assert_eq!(
            rp.verify(&issued[1], &keys[1], &["birthdate"])
                .unwrap()
                .status,
            Some(Status::Valid)
        );

        // Suspension and reinstatement of another copy.
        let second = format!(
            "{}.{}",
            uri.rsplit('/').next().unwrap(),
            status_of(&issued[1]).1
        );
        for (action, expected) in [("suspend", "suspended"), ("reinstate", "valid")] {
            let reply = app
                .call(
                    Method::POST,
                    &format!("/v1/credentials/{second}/{action}"),
                    Some(&officer),
                    Some(json!({ "reason": "check" })),
                )
                .await;
            assert_eq!(reply.body["status"], expected, "{}", reply.text);
            rp.fetch_status(&app, &uri).await;
            let verified = rp.verify(&issued[1], &keys[1], &["birthdate"]);
            if expected == "suspended" {
                assert_eq!(
                    verified.unwrap_err(),
                    VerificationError::NotValid(Status::Suspended)
                );
            } else {
                assert_eq!(verified.unwrap().status, Some(Status::Valid));
            }
        }
        // A reason is required.
        let reply = app
            .call(
                Method::POST,
                &format!("/v1/credentials/{second}/suspend"),
                Some(&officer),
                Some(json!({ "reason": " " })),
            )
            .await;
        assert_problem(&reply, StatusCode::BAD_REQUEST, "reason-required");
    }
}

#[tokio::test]
async fn token_endpoint_errors() {
    for db in databases().await {
        let app = TestApp::new(&db).await;
        let (_, offer_uri, tx_code) = offered(&app, &["pid"]).await;
        let code = pre_authorized_code(&offer_uri);
        let grant = ("grant_type", PRE_AUTHORIZED_GRANT);
        let wrong = if tx_code == "000000" {
            "111111"
        } else {
            "000000"
        };

        let reply = token_request(&app, &[("grant_type", "password")], None).await;
        assert_oauth_error(&reply, StatusCode::BAD_REQUEST, "unsupported_grant_type");
        let reply = token_request(&app, &[grant, ("pre-authorized_code", &code)], None).await;
        assert_oauth_error(&reply, StatusCode::BAD_REQUEST, "invalid_request");
        let reply = token_request(
            &app,
            &[
                grant,
                ("pre-authorized_code", "unknown"),
                ("tx_code", &tx_code),
            ],
            None,
        )
        .await;
        assert_oauth_error(&reply, StatusCode::BAD_REQUEST, "invalid_grant");
        // A few wrong transaction codes are allowed (the 5th ends the offer).
        for _ in 0..2 {
            let reply = token_request(
                &app,
                &[grant, ("pre-authorized_code", &code), ("tx_code", wrong)],
                None,
            )
            .await;
            assert_oauth_error(&reply, StatusCode::BAD_REQUEST, "invalid_grant");
        }
        let token = redeem(&app, &offer_uri, &tx_code, None).await;
        assert!(token.starts_with("dd1."));
        // Single use.
        let reply = token_request(
            &app,
            &[grant, ("pre-authorized_code", &code), ("tx_code", &tx_code)],
            None,
        )
        .await;
        assert_oauth_error(&reply, StatusCode::BAD_REQUEST, "invalid_grant");

        // Another offer, killed by five wrong codes: the right one no longer works.
        let session = app.store.account_by_id_number(AN).await.unwrap().unwrap();
        let services = dinhdanh_server::app::setup::services(
            app.store.clone(),
            Default::default(),
            &app.data_dir,
            crate::support::ORIGIN.to_owned(),
        )
        .unwrap();
        let offer = dinhdanh_server::domain::issuance::create_offer(
            &services,
            &session.id,
            &["pid".to_owned()],
            "operator",
            "counter",
        )
        .await
        .unwrap();
        let code = pre_authorized_code(&offer.offer_uri);
        let wrong = if offer.tx_code == "000000" {
            "111111"
        } else {
            "000000"
        };
        for _ in 0..5 {
            let reply = token_request(
                &app,
                &[grant, ("pre-authorized_code", &code), ("tx_code", wrong)],
                None,
            )
            .await;
            assert_oauth_error(&reply, StatusCode::BAD_REQUEST, "invalid_grant");
        }
        let reply = token_request(
            &app,
            &[
                grant,
                ("pre-authorized_code", &code),
                ("tx_code", &offer.tx_code),
            ],
            None,
        )
        .await;
        assert_oauth_error(&reply, StatusCode::BAD_REQUEST, "invalid_grant");
    }
}

#[tokio::test]
async fn credential_endpoint_errors_and_level_gates() {
    for db in databases().await {
        let app = TestApp::new(&db).await;
        let (session, offer_uri, tx_code) = offered(&app, &["pid"]).await;
        let token = redeem(&app, &offer_uri, &tx_code, None).await;
        let key = Es256KeyPair::generate().unwrap();
        let c_nonce = nonce(&app).await;
        let bearer = || Access::Bearer(&token);
        let request = |proofs: Vec<String>| json!({ "credential_configuration_id": "pid", "proofs": { "jwt": proofs } });

        // No token, a forged token.
        let reply = credential_request(&app, Access::None, request(vec![])).await;
        assert_oauth_error(&reply, StatusCode::UNAUTHORIZED, "invalid_token");
        assert!(reply.headers.contains_key("www-authenticate"));
        let forged = format!("{}x", &token[..token.len() - 1]);
        let reply = credential_request(
            &app,
            Access::Bearer(&forged),
            request(vec![key_proof(&key, &c_nonce)]),
        )
        .await;
        assert_oauth_error(&reply, StatusCode::UNAUTHORIZED, "invalid_token");
        // Proof for another audience, without a nonce, with a nonce not issued here.
        let cases = [
            (
                proof_for(&key, "https://other.example", Some(&c_nonce)),
                "invalid_proof",
            ),
            (
                proof_for(&key, crate::support::ORIGIN, None),
                "invalid_nonce",
            ),
            (key_proof(&key, "made-up-nonce"), "invalid_nonce"),
            ("not.a.jwt".to_owned(), "invalid_proof"),
        ];
        for (proof, code) in cases {
            let reply = credential_request(&app, bearer(), request(vec![proof])).await;
            assert_oauth_error(&reply, StatusCode::BAD_REQUEST, code);
        }
        // Malformed requests.
        for (body, code) in [
            (
                json!({ "proofs": { "jwt": [key_proof(&key, &c_nonce)] } }),
                "invalid_credential_request",
            ),
            (
                json!({ "credential_configuration_id": "passport", "proofs": { "jwt": [key_proof(&key, &c_nonce)] } }),
                "unknown_credential_configuration",
            ),
            (
                json!({ "credential_configuration_id": "driving_licence", "proofs": { "jwt": [key_proof(&key, &c_nonce)] } }),
                "unknown_credential_configuration",
            ),
            (
                json!({ "credential_identifier": "x", "proofs": { "jwt": [key_proof(&key, &c_nonce)] } }),
                "unknown_credential_identifier",
            ),
            (
                json!({ "credential_configuration_id": "pid" }),
                "invalid_proof",
            ),
            (
                json!({ "credential_configuration_id": "pid", "proofs": { "jwt": [] } }),
                "invalid_credential_request",
            ),
            (
                request(vec![key_proof(&key, &c_nonce); 11]),
                "invalid_credential_request",
            ),
            (
                json!({ "credential_configuration_id": "pid", "proof": { "proof_type": "jwt", "jwt": key_proof(&key, &c_nonce) } }),
                "invalid_credential_request",
            ),
            (json!([1, 2]), "invalid_credential_request"),
        ] {
            let reply = credential_request(&app, bearer(), body).await;
            assert_oauth_error(&reply, StatusCode::BAD_REQUEST, code);
        }

        // A nonce works once (even with another token).
        let reply =
            credential_request(&app, bearer(), request(vec![key_proof(&key, &c_nonce)])).await;
        assert_eq!(credentials(&reply).len(), 1);
        let account = app.store.account_by_id_number(AN).await.unwrap().unwrap();
        let second = another_token(&app, &account.id, None);
        let reply = credential_request(
            &app,
            Access::Bearer(&second),
            request(vec![key_proof(&key, &c_nonce)]),
        )
        .await;
        assert_oauth_error(&reply, StatusCode::BAD_REQUEST, "invalid_nonce");

        // Level 2 withdrawn: every credential revoked, the token no longer gets credentials, and
        // no new offer can be made.
        let officer = staff_session(&app, Role::Officer).await;
        let reply = app
            .call(
                Method::POST,
                &format!("/v1/citizens/{AN}/level2/withdraw"),
                Some(&officer),
                Some(json!({ "reason": "card reported stolen" })),
            )
            .await;
        assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.text);
        let statuses = app
            .call(
                Method::GET,
                &format!("/v1/citizens/{AN}/credentials"),
                Some(&officer),
                None,
            )
            .await;
        assert!(
            statuses
                .body
                .as_array()
                .unwrap()
                .iter()
                .all(|c| c["status"] == "revoked")
        );
        // (A token not yet used: the first one was spent above.)
        let c_nonce = nonce(&app).await;
        let fresh = another_token(&app, &account.id, None);
        let reply = credential_request(
            &app,
            Access::Bearer(&fresh),
            request(vec![key_proof(&key, &c_nonce)]),
        )
        .await;
        assert_oauth_error(&reply, StatusCode::BAD_REQUEST, "credential_request_denied");
        let reply = app
            .call(
                Method::POST,
                "/v1/me/offers",
                Some(&session),
                Some(json!({ "credential_configuration_ids": ["pid"] })),
            )
            .await;
        assert_problem(&reply, StatusCode::FORBIDDEN, "level-2-required");
        let reply = app
            .call(
                Method::POST,
                &format!("/v1/citizens/{AN}/offers"),
                Some(&officer),
                Some(json!({ "credential_configuration_ids": ["pid"] })),
            )
            .await;
        assert_problem(&reply, StatusCode::FORBIDDEN, "level-2-required");
    }
}

#[tokio::test]
async fn dpop_bound_tokens() {
    for db in databases().await {
        let app = TestApp::new(&db).await;
        let (_, offer_uri, tx_code) = offered(&app, &["pid"]).await;
        let dpop_key = Es256KeyPair::generate().unwrap();
        let token = redeem(&app, &offer_uri, &tx_code, Some(&dpop_key)).await;
        let holder = Es256KeyPair::generate().unwrap();
        let body = |nonce: &str| json!({ "credential_configuration_id": "pid", "proofs": { "jwt": [key_proof(&holder, nonce)] } });
        // As a Bearer token: refused. With another key's proof: refused.
        let c_nonce = nonce(&app).await;
        let reply = credential_request(&app, Access::Bearer(&token), body(&c_nonce)).await;
        assert_oauth_error(&reply, StatusCode::UNAUTHORIZED, "invalid_token");
        let thief = Es256KeyPair::generate().unwrap();
        let reply = credential_request(&app, Access::Dpop(&token, &thief), body(&c_nonce)).await;
        assert_oauth_error(&reply, StatusCode::BAD_REQUEST, "invalid_dpop_proof");
        // A DPoP proof made for another URI.
        let mut request = axum::http::Request::builder()
            .method(Method::POST)
            .uri("/credential")
            .header("content-type", "application/json")
            .header("authorization", format!("DPoP {token}"))
            .header(
                "DPoP",
                crate::support::wallet::dpop_proof(&dpop_key, "/token", Some(&token)),
            );
        let reply = app
            .send(
                request
                    .body(axum::body::Body::from(body(&c_nonce).to_string()))
                    .unwrap(),
            )
            .await;
        assert_oauth_error(&reply, StatusCode::BAD_REQUEST, "invalid_dpop_proof");
        // The right key.
        let reply = credential_request(&app, Access::Dpop(&token, &dpop_key), body(&c_nonce)).await;
        assert_eq!(credentials(&reply).len(), 1);
        // A DPoP proof is single use: replaying the same one is refused (it names its token,
        // which has made its request by then too).
        let account = app.store.account_by_id_number(AN).await.unwrap().unwrap();
        let token = another_token(&app, &account.id, Some(dpop_key.public_key().thumbprint()));
        let proof = crate::support::wallet::dpop_proof(&dpop_key, "/credential", Some(&token));
        let c_nonce = nonce(&app).await;
        for attempt in 0..2 {
            request = axum::http::Request::builder()
                .method(Method::POST)
                .uri("/credential")
                .header("content-type", "application/json")
                .header("authorization", format!("DPoP {token}"))
                .header("DPoP", proof.clone());
            let fresh = if attempt == 0 {
                c_nonce.clone()
            } else {
                nonce(&app).await
            };
            let reply = app
                .send(
                    request
                        .body(axum::body::Body::from(body(&fresh).to_string()))
                        .unwrap(),
                )
                .await;
            if attempt == 0 {
                assert_eq!(credentials(&reply).len(), 1);
            } else {
                assert_oauth_error(&reply, StatusCode::UNAUTHORIZED, "invalid_token");
            }
        }
    }
}

#[tokio::test]
async fn a_revoked_device_revokes_its_credentials_and_gets_no_more() {
    for db in databases().await {
        let app = TestApp::new(&db).await;
        let (session, offer_uri, tx_code) = offered(&app, &["pid"]).await;
        let device_key = Es256KeyPair::generate().unwrap();
        let device = app
            .call(
                Method::POST,
                "/v1/me/devices",
                Some(&session),
                Some(
                    json!({ "name": "Điện thoại", "holder_key": device_key.public_key().to_jwk() }),
                ),
            )
            .await;
        assert_eq!(device.status, StatusCode::CREATED, "{}", device.text);
        let device_id = device.body["id"].as_str().unwrap().to_owned();
        let token = redeem(&app, &offer_uri, &tx_code, None).await;
        let c_nonce = nonce(&app).await;
        let issued = credentials(
            &request_credentials(
                &app,
                Access::Bearer(&token),
                "pid",
                &[&device_key],
                &c_nonce,
            )
            .await,
        );
        let mine = app
            .call(Method::GET, "/v1/me/credentials", Some(&session), None)
            .await;
        assert_eq!(
            mine.body[0]["device_id"],
            device_id.as_str(),
            "{}",
            mine.text
        );

        let revoked = app
            .call(
                Method::DELETE,
                &format!("/v1/me/devices/{device_id}"),
                Some(&session),
                None,
            )
            .await;
        assert_eq!(revoked.status, StatusCode::NO_CONTENT);
        let mut rp = RelyingParty::new(&app).await;
        let (uri, _) = status_of(&issued[0]);
        rp.fetch_status(&app, &uri).await;
        assert_eq!(
            rp.verify(&issued[0], &device_key, &["birthdate"])
                .unwrap_err(),
            VerificationError::NotValid(Status::Invalid)
        );
        // The revoked device's key gets nothing more (asked with a token not yet used).
        let c_nonce = nonce(&app).await;
        let account = app.store.account_by_id_number(AN).await.unwrap().unwrap();
        let fresh = another_token(&app, &account.id, None);
        let reply = request_credentials(
            &app,
            Access::Bearer(&fresh),
            "pid",
            &[&device_key],
            &c_nonce,
        )
        .await;
        assert_oauth_error(&reply, StatusCode::BAD_REQUEST, "credential_request_denied");
    }
}

/// Imports NDJSON `lines` into the registry.
async fn import(
    app: &TestApp,
    lines: &[Value],
) -> dinhdanh_server::domain::registry::import::ImportReport {
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    dinhdanh_server::domain::registry::import::import_reader(
        &app.store,
        &dinhdanh_server::platform::config::IssuanceSettings::default(),
        std::io::Cursor::new(text.into_bytes()),
        dinhdanh_server::domain::registry::import::Format::Ndjson,
        "test",
    )
    .await
    .unwrap()
}

fn licence(number: &str) -> Value {
    json!({ "document": "driving_licence", "id_number": AN, "claims": {
        "document_number": number,
        "driving_privileges": [{ "vehicle_category_code": "B", "issue_date": "2020-05-01" }],
        "issue_date": "2020-05-01",
        "issuing_authority": "Sở Giao thông vận tải Hà Nội",
        "issuing_country": "VN"
    }})
}

#[tokio::test]
async fn documents_from_the_registry_and_registry_changes() {
    for db in databases().await {
        let app = TestApp::new(&db).await;
        // A licence for An, one for nobody, and a malformed one.
        let report = import(
            &app,
            &[
                licence("010203040506"),
                json!({ "document": "driving_licence", "id_number": "001090099999", "claims": licence("1")["claims"] }),
                json!({ "document": "driving_licence", "id_number": AN, "claims": { "document_number": "x" } }),
            ],
        )
        .await;
        assert_eq!(report.counts.documents_written, 1, "{report:?}");
        assert_eq!(report.rejected, 2, "{report:?}");
        assert_eq!(report.rejections[0].line, 2);
        assert!(
            report.rejections[0].reason.contains("no citizen"),
            "{report:?}"
        );
        assert_eq!(report.rejections[1].line, 3);

        let (session, offer_uri, tx_code) = offered(&app, &["pid", "driving_licence"]).await;
        let token = redeem(&app, &offer_uri, &tx_code, None).await;
        let key = Es256KeyPair::generate().unwrap();
        let c_nonce = nonce(&app).await;
        let licence_copy = credentials(
            &request_credentials(
                &app,
                Access::Bearer(&token),
                "driving_licence",
                &[&key],
                &c_nonce,
            )
            .await,
        );
        let c_nonce = nonce(&app).await;
        let pid_copy = credentials(
            &request_credentials(&app, Access::Bearer(&token), "pid", &[&key], &c_nonce).await,
        );
        let mut rp = RelyingParty::new(&app).await;
        let (uri, _) = status_of(&licence_copy[0]);
        rp.fetch_status(&app, &uri).await;
        let verified = rp
            .verify(&licence_copy[0], &key, &["document_number", "family_name"])
            .unwrap();
        assert_eq!(verified.vct, "urn:vn:dinhdanh:driving_licence:1");
        assert_eq!(verified.claims["document_number"], "010203040506");
        assert_eq!(verified.claims["family_name"], "Nguyễn");

        // The licence changes in the registry: the licence (only) is revoked and re-offered.
        let report = import(&app, &[licence("999999999999")]).await;
        assert_eq!(report.counts.documents_written, 1);
        rp.fetch_status(&app, &uri).await;
        assert_eq!(
            rp.verify(&licence_copy[0], &key, &["document_number"])
                .unwrap_err(),
            VerificationError::NotValid(Status::Invalid)
        );
        assert!(rp.verify(&pid_copy[0], &key, &["birthdate"]).is_ok());
        let offers = app
            .call(Method::GET, "/v1/me/offers", Some(&session), None)
            .await;
        assert_eq!(offers.body.as_array().unwrap().len(), 1, "{}", offers.text);
        assert_eq!(
            offers.body[0]["credential_configuration_ids"],
            json!(["driving_licence"])
        );
        // Collected once.
        let again = app
            .call(Method::GET, "/v1/me/offers", Some(&session), None)
            .await;
        assert_eq!(again.body, json!([]));
        let new_token = redeem(
            &app,
            offers.body[0]["offer_uri"].as_str().unwrap(),
            offers.body[0]["tx_code"].as_str().unwrap(),
            None,
        )
        .await;
        let c_nonce = nonce(&app).await;
        let renewed = credentials(
            &request_credentials(
                &app,
                Access::Bearer(&new_token),
                "driving_licence",
                &[&key],
                &c_nonce,
            )
            .await,
        );
        // The new copy may sit in the same list: fetch it again first.
        rp.fetch_status(&app, &status_of(&renewed[0]).0).await;
        let verified = rp.verify(&renewed[0], &key, &["document_number"]).unwrap();
        assert_eq!(verified.claims["document_number"], "999999999999");

        // A death registered: the account is closed, every credential revoked, the session gone.
        let mut record: Value = std::fs::read_to_string(crate::support::data("citizens.ndjson"))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .find(|c| c["id_number"] == AN)
            .unwrap();
        record["status"] = json!("deceased");
        import(&app, &[record]).await;
        rp.fetch_status(&app, &uri).await;
        assert_eq!(
            rp.verify(&pid_copy[0], &key, &["birthdate"]).unwrap_err(),
            VerificationError::NotValid(Status::Invalid)
        );
        let me = app.call(Method::GET, "/v1/me", Some(&session), None).await;
        assert_problem(&me, StatusCode::UNAUTHORIZED, "unauthenticated");
        // A closed account gets nothing (asked with a token not yet used).
        let c_nonce = nonce(&app).await;
        let account = app.store.account_by_id_number(AN).await.unwrap().unwrap();
        let fresh = another_token(&app, &account.id, None);
        let reply =
            request_credentials(&app, Access::Bearer(&fresh), "pid", &[&key], &c_nonce).await;
        assert_oauth_error(&reply, StatusCode::BAD_REQUEST, "credential_request_denied");
    }
}

#[tokio::test]
async fn metadata_documents() {
    for db in databases().await {
        let app = TestApp::new(&db).await;
        let issuer = app
            .call(
                Method::GET,
                "/.well-known/openid-credential-issuer",
                None,
                None,
            )
            .await;
        assert_eq!(issuer.status, StatusCode::OK);
        let body = &issuer.body;
        assert_eq!(body["credential_issuer"], crate::support::ORIGIN);
        assert_eq!(
            body["nonce_endpoint"],
            format!("{}/nonce", crate::support::ORIGIN)
        );
        assert_eq!(body["batch_credential_issuance"]["batch_size"], 10);
        let configurations = body["credential_configurations_supported"]
            .as_object()
            .unwrap();
        assert_eq!(configurations.len(), 5);
        for configuration in configurations.values() {
            assert_eq!(configuration["format"], "dc+sd-jwt");
            let display = &configuration["credential_metadata"]["display"];
            assert_eq!(display[0]["locale"], "vi");
            assert_eq!(display[1]["locale"], "en");
            assert!(
                !configuration["credential_metadata"]["claims"]
                    .as_array()
                    .unwrap()
                    .is_empty()
            );
        }
        let nested = &configurations["driving_licence"]["credential_metadata"]["claims"];
        assert!(
            nested
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c["path"] == json!(["driving_privileges", null, "vehicle_category_code"]))
        );
        let server = app
            .call(
                Method::GET,
                "/.well-known/oauth-authorization-server",
                None,
                None,
            )
            .await;
        assert_eq!(
            server.body["token_endpoint"],
            format!("{}/token", crate::support::ORIGIN)
        );
        assert_eq!(
            server.body["pre-authorized_grant_anonymous_access_supported"],
            true
        );
        let jwt_vc = app
            .call(Method::GET, "/.well-known/jwt-vc-issuer", None, None)
            .await;
        // (The SDK reads this document only from https issuers; the key itself is checked here.)
        let jwk = &jwt_vc.body["jwks"]["keys"][0];
        let key = dinhdanh_sdk::jose::PublicKey::from_jwk(jwk).unwrap();
        assert_eq!(jwk["kid"], key.thumbprint());
        assert_eq!(jwt_vc.body["issuer"], crate::support::ORIGIN);
        let missing = app.call(Method::GET, "/status-lists/999", None, None).await;
        assert_problem(&missing, StatusCode::NOT_FOUND, "not-found");
    }
}

/// POSTs a pushed authorization request (with a DPoP proof of `dpop_key`).
async fn par(
    app: &TestApp,
    fields: &[(&str, &str)],
    dpop_key: &Es256KeyPair,
) -> crate::support::Reply {
    let encode = |v: &str| {
        percent_encoding::utf8_percent_encode(v, percent_encoding::NON_ALPHANUMERIC).to_string()
    };
    let body = fields
        .iter()
        .map(|(k, v)| format!("{k}={}", encode(v)))
        .collect::<Vec<_>>()
        .join("&");
    let request = axum::http::Request::builder()
        .method(Method::POST)
        .uri("/par")
        .header("content-type", "application/x-www-form-urlencoded")
        .header(
            "DPoP",
            crate::support::wallet::dpop_proof(dpop_key, "/par", None),
        )
        .body(axum::body::Body::from(body))
        .unwrap();
    app.send(request).await
}

/// Pushes `fields`, signs in afresh with `authenticator` and approves: the authorization code.
async fn approved_code(
    app: &TestApp,
    fields: &[(&str, &str)],
    wallet_key: &Es256KeyPair,
    authenticator: &mut crate::support::authenticator::SoftAuthenticator,
) -> String {
    let pushed = par(app, fields, wallet_key).await;
    let request_uri = pushed.body["request_uri"].as_str().unwrap();
    let handle = request_uri.rsplit(':').next().unwrap();
    let signed_in = crate::support::sign_in(app, authenticator).await;
    let session = signed_in.body["token"].as_str().unwrap();
    let approved = app
        .call(
            Method::POST,
            &format!("/v1/authorizations/{handle}/approve"),
            Some(session),
            None,
        )
        .await;
    assert_eq!(approved.status, StatusCode::OK, "{}", approved.text);
    code_of(approved.body["redirect_to"].as_str().unwrap())
}

/// The `code` parameter of a redirect.
fn code_of(redirect_to: &str) -> String {
    redirect_to
        .split("code=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn authorization_code_flow_with_par_pkce_dpop_and_a_passkey_sign_in() {
    for db in databases().await {
        let app = TestApp::new(&db).await;
        let (early_session, mut authenticator) = signed_in_citizen(&app).await;
        approve_level2(&app, AN).await;
        let wallet_key = Es256KeyPair::generate().unwrap();
        let verifier = dinhdanh_sdk::openid4vci::pkce_verifier().unwrap();
        let challenge = dinhdanh_sdk::openid4vci::pkce_challenge(&verifier);
        let redirect = "vn.dinhdanh.wallet:/callback";
        let fields = [
            ("response_type", "code"),
            ("client_id", "dinhdanh-wallet"),
            ("redirect_uri", redirect),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
            (
                "authorization_details",
                r#"[{"type":"openid_credential","credential_configuration_id":"pid"}]"#,
            ),
            ("state", "st-1"),
        ];
        // Bad pushed requests.
        for (name, value, code) in [
            ("code_challenge_method", "plain", "invalid_request"),
            ("redirect_uri", "javascript:alert(1)", "invalid_request"),
            (
                "authorization_details",
                r#"[{"type":"openid_credential","credential_configuration_id":"passport"}]"#,
                "invalid_scope",
            ),
            ("response_type", "token", "invalid_request"),
        ] {
            let mut bad = fields.to_vec();
            bad.retain(|(k, _)| *k != name);
            bad.push((name, value));
            let reply = par(&app, &bad, &wallet_key).await;
            assert_oauth_error(&reply, StatusCode::BAD_REQUEST, code);
        }
        let pushed = par(&app, &fields, &wallet_key).await;
        assert_eq!(pushed.status, StatusCode::CREATED, "{}", pushed.text);
        let request_uri = pushed.body["request_uri"].as_str().unwrap().to_owned();

        // The authorization page shows the request; the wrong client id does not.
        let encode = |v: &str| {
            percent_encoding::utf8_percent_encode(v, percent_encoding::NON_ALPHANUMERIC).to_string()
        };
        let page = app
            .call(
                Method::GET,
                &format!(
                    "/authorize?client_id=dinhdanh-wallet&request_uri={}",
                    encode(&request_uri)
                ),
                None,
                None,
            )
            .await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.text.contains("Căn cước điện tử"), "{}", page.text);
        let wrong = app
            .call(
                Method::GET,
                &format!(
                    "/authorize?client_id=other&request_uri={}",
                    encode(&request_uri)
                ),
                None,
                None,
            )
            .await;
        assert_oauth_error(&wrong, StatusCode::UNAUTHORIZED, "invalid_client");

        // A session older than the request is not a sign-in for it (times are in seconds: the
        // request is pushed a second after the session began).
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        let pushed = par(&app, &fields, &wallet_key).await;
        let request_uri = pushed.body["request_uri"].as_str().unwrap().to_owned();
        let handle = request_uri.rsplit(':').next().unwrap().to_owned();
        let approve_path = format!("/v1/authorizations/{handle}/approve");
        let reply = app
            .call(Method::POST, &approve_path, Some(&early_session), None)
            .await;
        assert_problem(&reply, StatusCode::FORBIDDEN, "fresh-sign-in-required");
        let signed_in = crate::support::sign_in(&app, &mut authenticator).await;
        let session = signed_in.body["token"].as_str().unwrap().to_owned();
        let approved = app
            .call(Method::POST, &approve_path, Some(&session), None)
            .await;
        assert_eq!(approved.status, StatusCode::OK, "{}", approved.text);
        let redirect_to = approved.body["redirect_to"].as_str().unwrap();
        assert!(
            redirect_to.starts_with("vn.dinhdanh.wallet:/callback?code="),
            "{redirect_to}"
        );
        assert!(
            redirect_to.contains("&state=st%2D1&iss=http%3A%2F%2Flocalhost%3A8080"),
            "{redirect_to}"
        );
        let code = code_of(redirect_to);
        // Approved once.
        let again = app
            .call(Method::POST, &approve_path, Some(&session), None)
            .await;
        assert_problem(&again, StatusCode::NOT_FOUND, "not-found");

        // Token: DPoP required, with the key the request was bound to, and the right verifier.
        let grant = [
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", redirect),
            ("client_id", "dinhdanh-wallet"),
            ("code_verifier", verifier.as_str()),
        ];
        let reply = token_request(&app, &grant, None).await;
        assert_oauth_error(&reply, StatusCode::BAD_REQUEST, "invalid_dpop_proof");
        let other_key = Es256KeyPair::generate().unwrap();
        let reply = token_request(&app, &grant, Some(&other_key)).await;
        // The code is burnt by a failed redemption: start over for the good path.
        assert_oauth_error(&reply, StatusCode::BAD_REQUEST, "invalid_dpop_proof");
        let reply = token_request(&app, &grant, Some(&wallet_key)).await;
        assert_oauth_error(&reply, StatusCode::BAD_REQUEST, "invalid_grant");

        let code = approved_code(&app, &fields, &wallet_key, &mut authenticator).await;
        let wrong_verifier = dinhdanh_sdk::openid4vci::pkce_verifier().unwrap();
        let mut bad = grant;
        bad[1] = ("code", code.as_str());
        bad[4] = ("code_verifier", wrong_verifier.as_str());
        let reply = token_request(&app, &bad, Some(&wallet_key)).await;
        assert_oauth_error(&reply, StatusCode::BAD_REQUEST, "invalid_grant");

        let code = approved_code(&app, &fields, &wallet_key, &mut authenticator).await;
        let mut good = grant;
        good[1] = ("code", code.as_str());
        let reply = token_request(&app, &good, Some(&wallet_key)).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        assert_eq!(reply.body["token_type"], "DPoP");
        let token = reply.body["access_token"].as_str().unwrap().to_owned();
        let holder = Es256KeyPair::generate().unwrap();
        let c_nonce = nonce(&app).await;
        let issued = credentials(
            &request_credentials(
                &app,
                Access::Dpop(&token, &wallet_key),
                "pid",
                &[&holder],
                &c_nonce,
            )
            .await,
        );
        assert_eq!(issued.len(), 1);
        // The code works once.
        let reply = token_request(&app, &good, Some(&wallet_key)).await;
        assert_oauth_error(&reply, StatusCode::BAD_REQUEST, "invalid_grant");
    }
}

#[tokio::test]
async fn staff_revoke_everything_and_an_admin_closes_the_account() {
    for db in databases().await {
        let app = TestApp::new(&db).await;
        let (session, offer_uri, tx_code) = offered(&app, &["pid"]).await;
        let token = redeem(&app, &offer_uri, &tx_code, None).await;
        let keys: Vec<Es256KeyPair> = (0..2).map(|_| Es256KeyPair::generate().unwrap()).collect();
        let c_nonce = nonce(&app).await;
        let refs: Vec<&Es256KeyPair> = keys.iter().collect();
        credentials(
            &request_credentials(&app, Access::Bearer(&token), "pid", &refs, &c_nonce).await,
        );
        let officer = staff_session(&app, Role::Officer).await;
        let path = format!("/v1/citizens/{AN}/credentials/revoke");
        let reason = json!({ "reason": "phone lost" });
        let reply = app
            .call(Method::POST, &path, Some(&officer), Some(reason.clone()))
            .await;
        assert_eq!(reply.body["changed"], 2, "{}: {}", db.name, reply.text);
        let again = app
            .call(Method::POST, &path, Some(&officer), Some(reason.clone()))
            .await;
        assert_eq!(again.body["changed"], 0);

        let admin = staff_session(&app, Role::Admin).await;
        let close = format!("/v1/citizens/{AN}/close");
        let closed = app
            .call(Method::POST, &close, Some(&admin), Some(reason.clone()))
            .await;
        assert_eq!(closed.status, StatusCode::NO_CONTENT, "{}", closed.text);
        let me = app.call(Method::GET, "/v1/me", Some(&session), None).await;
        assert_problem(&me, StatusCode::UNAUTHORIZED, "unauthenticated");
        let twice = app
            .call(Method::POST, &close, Some(&admin), Some(reason))
            .await;
        assert_problem(&twice, StatusCode::CONFLICT, "state-conflict");
        // A closed account gets nothing (asked with a token not yet used).
        let c_nonce = nonce(&app).await;
        let account = app.store.account_by_id_number(AN).await.unwrap().unwrap();
        let fresh = another_token(&app, &account.id, None);
        let reply = request_credentials(&app, Access::Bearer(&fresh), "pid", &refs, &c_nonce).await;
        assert_oauth_error(&reply, StatusCode::BAD_REQUEST, "credential_request_denied");
    }
}

/// A pushed request of `client_id` to `redirect_uri` for the PID, as a wallet sends it.
fn pushed_fields<'a>(
    client_id: &'a str,
    redirect_uri: &'a str,
    challenge: &'a str,
) -> Vec<(&'a str, &'a str)> {
    vec![
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", redirect_uri),
        ("code_challenge", challenge),
        ("code_challenge_method", "S256"),
        (
            "authorization_details",
            r#"[{"type":"openid_credential","credential_configuration_id":"pid"}]"#,
        ),
        ("state", "st-1"),
    ]
}

#[tokio::test]
async fn only_registered_wallets_and_their_exact_redirect_uris_may_push_requests() {
    for db in databases().await {
        let app = TestApp::with_config(&db, |config| {
            config
                .wallet_clients
                .push(dinhdanh_server::platform::config::WalletClient {
                    client_id: "vneid".into(),
                    name: "VNeID (Bộ Công an)".into(),
                    redirect_uris: vec![
                        "https://wallet.example.vn/oid4vci/callback".into(),
                        "vn.example.vneid:/callback".into(),
                    ],
                });
        })
        .await;
        let key = Es256KeyPair::generate().unwrap();
        let verifier = dinhdanh_sdk::openid4vci::pkce_verifier().unwrap();
        let challenge = dinhdanh_sdk::openid4vci::pkce_challenge(&verifier);

        // An unregistered client, whatever it asks for: invalid_client, 401.
        for client in ["attacker", "", "VNEID", "vneid "] {
            let reply = par(
                &app,
                &pushed_fields(client, "https://evil.example/cb", &challenge),
                &key,
            )
            .await;
            if client.is_empty() {
                assert_oauth_error(&reply, StatusCode::BAD_REQUEST, "invalid_request");
            } else {
                assert_oauth_error(&reply, StatusCode::UNAUTHORIZED, "invalid_client");
            }
        }
        // A registered client with a redirect URI it did not register, even a near one.
        for uri in [
            "https://evil.example/cb",
            "https://wallet.example.vn/oid4vci/callback/",
            "https://WALLET.example.vn/oid4vci/callback",
            "https://wallet.example.vn/oid4vci/Callback",
            "https://wallet.example.vn/oid4vci/callback?next=https://evil.example",
            "https://wallet.example.vn/oid4vci/callback#x",
            "https://wallet.example.vn:443/oid4vci/callback",
            "vn.example.vneid:/callback/",
            "vn.dinhdanh.wallet:/callback",
        ] {
            let reply = par(&app, &pushed_fields("vneid", uri, &challenge), &key).await;
            assert_oauth_error(&reply, StatusCode::BAD_REQUEST, "invalid_request");
            assert!(
                reply.body["error_description"]
                    .as_str()
                    .unwrap()
                    .contains("not registered"),
                "{uri}: {}",
                reply.text
            );
        }

        // Each registered URI works; the consent page names the wallet by its registered name
        // and shows nothing the request carried.
        for uri in [
            "https://wallet.example.vn/oid4vci/callback",
            "vn.example.vneid:/callback",
        ] {
            let mut fields = pushed_fields("vneid", uri, &challenge);
            fields.retain(|(k, _)| *k != "state");
            fields.push(("state", "<b>Ministry says: approve now</b>"));
            let pushed = par(&app, &fields, &key).await;
            assert_eq!(pushed.status, StatusCode::CREATED, "{}", pushed.text);
            let request_uri = pushed.body["request_uri"].as_str().unwrap();
            let encode = |v: &str| {
                percent_encoding::utf8_percent_encode(v, percent_encoding::NON_ALPHANUMERIC)
                    .to_string()
            };
            let page = app
                .call(
                    Method::GET,
                    &format!(
                        "/authorize?client_id=vneid&request_uri={}",
                        encode(request_uri)
                    ),
                    None,
                    None,
                )
                .await;
            assert_eq!(page.status, StatusCode::OK, "{}", page.text);
            assert!(
                page.text
                    .contains("<strong id=\"client-name\">VNeID (Bộ Công an)</strong>"),
                "{}",
                page.text
            );
            assert!(!page.text.contains("Ministry says"), "{}", page.text);
            assert!(!page.text.contains("wallet.example.vn"), "{}", page.text);

            // /authorize for an unregistered client renders no page.
            let page = app
                .call(
                    Method::GET,
                    &format!(
                        "/authorize?client_id=attacker&request_uri={}",
                        encode(request_uri)
                    ),
                    None,
                    None,
                )
                .await;
            assert_oauth_error(&page, StatusCode::UNAUTHORIZED, "invalid_client");
            assert!(!page.text.contains("<html"), "{}", page.text);
        }

        // The development wallet is registered by default: its flow still works end to end
        // (authorization_code_flow_with_par_pkce_dpop_and_a_passkey_sign_in goes further).
        let pushed = par(
            &app,
            &pushed_fields(
                "dinhdanh-wallet",
                "vn.dinhdanh.wallet:/callback",
                &challenge,
            ),
            &key,
        )
        .await;
        assert_eq!(pushed.status, StatusCode::CREATED, "{}", pushed.text);
    }
}

#[tokio::test]
async fn concurrent_wrong_tx_codes_are_compared_no_more_than_allowed() {
    for db in databases().await {
        let app = std::sync::Arc::new(TestApp::new(&db).await);
        let (_, offer_uri, tx_code) = offered(&app, &["pid"]).await;
        let code = pre_authorized_code(&offer_uri);
        let wrong = if tx_code == "000000" {
            "111111"
        } else {
            "000000"
        };
        let mut guesses = tokio::task::JoinSet::new();
        for _ in 0..100 {
            let (app, code) = (std::sync::Arc::clone(&app), code.clone());
            guesses.spawn(async move {
                token_request(
                    &app,
                    &[
                        ("grant_type", PRE_AUTHORIZED_GRANT),
                        ("pre-authorized_code", &code),
                        ("tx_code", wrong),
                    ],
                    None,
                )
                .await
            });
        }
        let mut compared = 0;
        while let Some(reply) = guesses.join_next().await {
            let reply = reply.unwrap();
            assert_oauth_error(&reply, StatusCode::BAD_REQUEST, "invalid_grant");
            if reply.body["error_description"] == "wrong tx_code" {
                compared += 1;
            }
        }
        assert_eq!(compared, 5, "{}: codes compared", db.name);
        // The offer is over: the right code is refused too, and the citizen sees why.
        let reply = token_request(
            &app,
            &[
                ("grant_type", PRE_AUTHORIZED_GRANT),
                ("pre-authorized_code", &code),
                ("tx_code", &tx_code),
            ],
            None,
        )
        .await;
        assert_oauth_error(&reply, StatusCode::BAD_REQUEST, "invalid_grant");
        let account = app.store.account_by_id_number(AN).await.unwrap().unwrap();
        let history = app.store.history(&account.id, 100).await.unwrap();
        assert_eq!(
            history
                .iter()
                .filter(|e| e.action == "offer.locked")
                .count(),
            1
        );
    }
}

#[tokio::test]
async fn an_access_token_makes_one_credential_request_and_a_proof_counts_once() {
    for db in databases().await {
        let app = std::sync::Arc::new(TestApp::new(&db).await);
        let (_, offer_uri, tx_code) = offered(&app, &["pid"]).await;
        let token = redeem(&app, &offer_uri, &tx_code, None).await;
        let key = Es256KeyPair::generate().unwrap();
        let other = Es256KeyPair::generate().unwrap();

        // One proof repeated, or two proofs of one key: refused, and nothing is used up.
        let c_nonce = nonce(&app).await;
        let proof = key_proof(&key, &c_nonce);
        let repeated = credential_request(
            &app,
            Access::Bearer(&token),
            json!({ "credential_configuration_id": "pid",
                    "proofs": { "jwt": vec![proof.clone(); 10] } }),
        )
        .await;
        assert_oauth_error(&repeated, StatusCode::BAD_REQUEST, "invalid_proof");
        let same_key = request_credentials(
            &app,
            Access::Bearer(&token),
            "pid",
            &[&key, &other, &key],
            &c_nonce,
        )
        .await;
        assert_oauth_error(&same_key, StatusCode::BAD_REQUEST, "invalid_proof");

        // 20 concurrent requests with the token, each with its own nonce and key: one batch.
        let mut requests = tokio::task::JoinSet::new();
        for _ in 0..20 {
            let (app, token) = (std::sync::Arc::clone(&app), token.clone());
            requests.spawn(async move {
                let keys = [
                    Es256KeyPair::generate().unwrap(),
                    Es256KeyPair::generate().unwrap(),
                ];
                let c_nonce = nonce(&app).await;
                request_credentials(
                    &app,
                    Access::Bearer(&token),
                    "pid",
                    &[&keys[0], &keys[1]],
                    &c_nonce,
                )
                .await
            });
        }
        let mut issued = 0;
        while let Some(reply) = requests.join_next().await {
            let reply = reply.unwrap();
            if reply.status == StatusCode::OK {
                issued += credentials(&reply).len();
            } else {
                assert_oauth_error(&reply, StatusCode::UNAUTHORIZED, "invalid_token");
                assert!(reply.headers.contains_key("www-authenticate"));
            }
        }
        assert_eq!(issued, 2, "{}: one batch of two copies", db.name);
        // Later, the same token: invalid_token, no credential, refused before the group
        // writer (nothing signed, no status position taken).
        let c_nonce = nonce(&app).await;
        let issuances = app
            .store
            .group_stats()
            .issuances
            .load(std::sync::atomic::Ordering::Relaxed);
        let again =
            request_credentials(&app, Access::Bearer(&token), "pid", &[&other], &c_nonce).await;
        assert_oauth_error(&again, StatusCode::UNAUTHORIZED, "invalid_token");
        assert_eq!(
            app.store
                .group_stats()
                .issuances
                .load(std::sync::atomic::Ordering::Relaxed),
            issuances
        );
        let account = app.store.account_by_id_number(AN).await.unwrap().unwrap();
        assert_eq!(
            app.store
                .account_credentials(&account.id)
                .await
                .unwrap()
                .len(),
            2
        );
    }
}

#[tokio::test]
async fn an_offer_of_two_configurations_is_collected_with_one_token() {
    for db in databases().await {
        let app = TestApp::new(&db).await;
        import(&app, &[licence("010203040506")]).await;
        let (_, offer_uri, tx_code) = offered(&app, &["pid", "driving_licence"]).await;
        let token = redeem(&app, &offer_uri, &tx_code, None).await;
        for configuration in ["pid", "driving_licence"] {
            let key = Es256KeyPair::generate().unwrap();
            let c_nonce = nonce(&app).await;
            let reply = request_credentials(
                &app,
                Access::Bearer(&token),
                configuration,
                &[&key],
                &c_nonce,
            )
            .await;
            assert_eq!(credentials(&reply).len(), 1, "{configuration}");
            // Once each.
            let c_nonce = nonce(&app).await;
            let reply = request_credentials(
                &app,
                Access::Bearer(&token),
                configuration,
                &[&key],
                &c_nonce,
            )
            .await;
            assert_oauth_error(&reply, StatusCode::UNAUTHORIZED, "invalid_token");
        }
    }
}

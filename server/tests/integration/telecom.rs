//! Telecom operators on both backends: the client credentials grant with `private_key_jwt`
//! (assertions made with the SDK and with an independent JOSE library), the operator token on
//! the telecom routes, SIM bindings by wallet presentation and by four fields, limits, the
//! citizen's list and disputes, device changes and re-verification.

use axum::http::{Method, StatusCode, header};
use dinhdanh_sdk::{
    jose::Es256KeyPair,
    sdjwt::{ClaimPath, KeyBindingInput, SdJwt},
};
use dinhdanh_server::{domain::sessions::Role, store::RelyingPartyKind};
use serde_json::{Value, json};

use crate::support::{
    ORIGIN, Reply, TestApp, approve_level2, assert_problem, databases, enrolment,
    operator::{self, Operator},
    signed_in_citizen, staff_session,
    wallet::{
        Access, assert_oauth_error, credentials, nonce, now, redeem, request_credentials, status_of,
    },
};

const AN: &str = "001090012345";

/// The four fields of a test citizen with a passing face match.
fn four_fields(id_number: &str, full_name: &str, date_of_birth: &str) -> Value {
    json!({
        "id_number": id_number,
        "full_name": full_name,
        "date_of_birth": date_of_birth,
        "face_match": { "result": "match", "method": "liveness+1:1", "performed_by": "store-042" },
    })
}

fn an_fields() -> Value {
    four_fields(AN, "Nguyễn Văn An", "1990-02-28")
}

fn ngoc_fields() -> Value {
    four_fields("079195000123", "Trần Thị Bích Ngọc", "1995-07-14")
}

fn khoa_fields() -> Value {
    four_fields("048203000777", "Lê Minh Khoa", "2003-11-02")
}

/// POSTs a binding of `msisdn` by four fields.
async fn bind(app: &TestApp, token: &str, msisdn: &str, fields: Value) -> Reply {
    app.call(
        Method::POST,
        "/v1/telecom/subscriptions",
        Some(token),
        Some(json!({ "msisdn": msisdn, "four_fields": fields, "device_id": "imei-1" })),
    )
    .await
}

/// Raises the citizen `id_number` to level 2 as an officer's approval would.
/// An's PID in an SDK wallet (enrolled, signed in, level 2, issued over OpenID4VCI): the
/// session, two copies and their holder keys.
async fn an_with_pid(app: &TestApp) -> (String, Vec<(String, Es256KeyPair)>) {
    let (session, _) = signed_in_citizen(app).await;
    approve_level2(app, AN).await;
    let offer = app
        .call(
            Method::POST,
            "/v1/me/offers",
            Some(&session),
            Some(json!({ "credential_configuration_ids": ["pid"] })),
        )
        .await;
    assert_eq!(offer.status, StatusCode::CREATED, "{}", offer.text);
    let token = redeem(
        app,
        offer.body["offer_uri"].as_str().unwrap(),
        offer.body["tx_code"].as_str().unwrap(),
        None,
    )
    .await;
    let keys: Vec<Es256KeyPair> = (0..2).map(|_| Es256KeyPair::generate().unwrap()).collect();
    let refs: Vec<&Es256KeyPair> = keys.iter().collect();
    let c_nonce = nonce(app).await;
    let reply = request_credentials(app, Access::Bearer(&token), "pid", &refs, &c_nonce).await;
    (session, credentials(&reply).into_iter().zip(keys).collect())
}

/// The wallet's presentation of `credential` to `aud` for `nonce`, disclosing the ID number.
fn present(credential: &str, holder: &Es256KeyPair, aud: &str, nonce: &str) -> String {
    SdJwt::parse(credential)
        .unwrap()
        .present(
            &[ClaimPath::root().child("personal_identifier")],
            Some(KeyBindingInput {
                signer: holder,
                aud,
                nonce,
                iat: now(),
            }),
        )
        .unwrap()
}

/// POSTs a binding of `msisdn` by wallet presentation.
async fn bind_presented(
    app: &TestApp,
    token: &str,
    msisdn: &str,
    vp_token: Value,
    nonce: &str,
) -> Reply {
    app.call(
        Method::POST,
        "/v1/telecom/subscriptions",
        Some(token),
        Some(json!({ "msisdn": msisdn, "presentation": { "vp_token": vp_token, "nonce": nonce } })),
    )
    .await
}

/// The same assertion as `operator.assertion()`, made by the `jsonwebtoken` crate.
fn jsonwebtoken_assertion(operator: &Operator, aud: &str) -> String {
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
    header.x5c = Some(operator.x5c());
    let der = operator.key.to_pkcs8_der().unwrap();
    let key = jsonwebtoken::EncodingKey::from_ec_der(&der);
    let now = now();
    let claims = json!({
        "iss": operator.client_id,
        "sub": operator.client_id,
        "aud": aud,
        "iat": now,
        "exp": now + 60,
        "jti": uuid::Uuid::new_v4().to_string(),
    });
    jsonwebtoken::encode(&header, &claims, &key).unwrap()
}

#[tokio::test]
async fn operators_get_tokens_with_private_key_jwt() {
    for db in databases().await {
        let app = TestApp::new(&db).await;
        let viettel = operator::register(&app, "api.viettel.test", RelyingPartyKind::Telecom).await;

        // An assertion from the SDK.
        let reply = viettel
            .token_request(&app, &viettel.assertion(), "telecom")
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}: {}", db.name, reply.text);
        assert_eq!(reply.body["token_type"], "Bearer");
        assert_eq!(reply.body["scope"], "telecom");
        assert_eq!(reply.body["expires_in"], 3600);
        assert!(reply.body["access_token"].as_str().unwrap().len() >= 40);
        assert_eq!(reply.headers[header::CACHE_CONTROL], "no-store");

        // One that any OAuth library makes: jsonwebtoken, with the token endpoint as audience,
        // and with the issuer identifier.
        for aud in [format!("{ORIGIN}/token"), ORIGIN.to_owned()] {
            let assertion = jsonwebtoken_assertion(&viettel, &aud);
            let reply = viettel.token_request(&app, &assertion, "telecom").await;
            assert_eq!(reply.status, StatusCode::OK, "{aud}: {}", reply.text);
        }

        assert!(!viettel.token(&app).await.is_empty());

        // The same assertion twice: the second is a replay.
        let assertion = viettel.assertion();
        let first = viettel.token_request(&app, &assertion, "telecom").await;
        assert_eq!(first.status, StatusCode::OK);
        let replay = viettel.token_request(&app, &assertion, "telecom").await;
        assert_oauth_error(&replay, StatusCode::UNAUTHORIZED, "invalid_client");

        // The audit log records the tokens issued.
        let history = app.store.history(&viettel.rp_id, 50).await.unwrap();
        assert_eq!(
            history
                .iter()
                .filter(|e| e.action == "telecom.token.issued")
                .count(),
            5
        );
    }
}

#[tokio::test]
async fn client_assertions_chain_to_the_registry_ca_and_revocation_ends_them() {
    for db in databases().await {
        let app = TestApp::new(&db).await;
        let mut op = operator::register(&app, "api.vnpt.test", RelyingPartyKind::Telecom).await;
        // The registry's chain is the access certificate then the relying-party CA.
        assert_eq!(op.chain.len(), 2, "{}", db.name);
        assert!(!op.token(&app).await.is_empty());

        // The leaf alone is enough: the anchor is the registry's CA.
        let full = op.chain.clone();
        op.chain.truncate(1);
        assert!(!op.token(&app).await.is_empty(), "{}: leaf alone", db.name);

        // Anything but the relying-party CA after the leaf is refused: the agency root, or
        // the leaf twice.
        let root = std::fs::read_to_string(app.data_dir.join("keys/agency-root.pem")).unwrap();
        let root = dinhdanh_sdk::x509::pem_to_der_chain(&root)
            .unwrap()
            .remove(0);
        for extra in [
            vec![full[1].clone(), root.clone()],
            vec![root],
            vec![full[0].clone()],
        ] {
            op.chain = [vec![full[0].clone()], extra].concat();
            let reply = op.token_request(&app, &op.assertion(), "telecom").await;
            assert_oauth_error(&reply, StatusCode::UNAUTHORIZED, "invalid_client");
        }
        op.chain = full;
        let token = op.token(&app).await;

        // A revoked party gets no token, and the tokens it holds stop working.
        operator::revoke(&app, &op.rp_id).await;
        let reply = op.token_request(&app, &op.assertion(), "telecom").await;
        assert_oauth_error(&reply, StatusCode::UNAUTHORIZED, "invalid_client");
        let reply = app
            .call(Method::GET, "/v1/telecom/disputes", Some(&token), None)
            .await;
        assert_eq!(
            reply.status,
            StatusCode::UNAUTHORIZED,
            "{}: {}",
            db.name,
            reply.text
        );
    }
}

#[tokio::test]
async fn bad_client_assertions_are_refused() {
    for db in databases().await {
        let app = TestApp::new(&db).await;
        let op = operator::register(&app, "api.mobifone.test", RelyingPartyKind::Telecom).await;
        let other = operator::register(&app, "api.vinaphone.test", RelyingPartyKind::Telecom).await;
        let refused = |reply: &crate::support::Reply, what: &str| {
            assert_eq!(
                reply.status,
                StatusCode::UNAUTHORIZED,
                "{}: {what}: {}",
                db.name,
                reply.text
            );
            assert_eq!(reply.body["error"], "invalid_client", "{what}");
        };

        // Signed by a key the agency did not certify, with the operator's own x5c.
        let stranger = Es256KeyPair::generate().unwrap();
        let reply = op
            .token_request(&app, &op.assertion_with(&stranger, &op.claims()), "telecom")
            .await;
        refused(&reply, "wrong key");

        // Another party's certificate chain (and key) under this client id.
        let mut claims = op.claims();
        claims["iss"] = json!(op.client_id);
        let borrowed = other.assertion_with(&other.key, &claims);
        refused(
            &op.token_request(&app, &borrowed, "telecom").await,
            "another party's certificate",
        );

        // Claims out of bounds.
        let now = now() as i64;
        for (what, change) in [
            ("expired", json!({"exp": now - 600})),
            ("too long", json!({"exp": now + 3_600})),
            (
                "wrong audience",
                json!({"aud": "https://elsewhere.example/token"}),
            ),
            ("wrong issuer", json!({"iss": other.client_id})),
            ("wrong subject", json!({"sub": "someone"})),
            ("no jti", json!({"jti": null})),
            ("no exp", json!({"exp": null})),
            ("not yet valid", json!({"nbf": now + 600})),
        ] {
            let mut claims = op.claims();
            for (k, v) in change.as_object().unwrap() {
                if v.is_null() {
                    claims.as_object_mut().unwrap().remove(k);
                } else {
                    claims[k] = v.clone();
                }
            }
            let assertion = op.assertion_with(&op.key, &claims);
            refused(&op.token_request(&app, &assertion, "telecom").await, what);
        }

        // No x5c at all, or garbage.
        let bare = dinhdanh_sdk::jose::sign_compact(
            &dinhdanh_sdk::jose::JwsHeader::es256("JWT"),
            op.claims().to_string().as_bytes(),
            &op.key,
        )
        .unwrap();
        refused(&op.token_request(&app, &bare, "telecom").await, "no x5c");
        refused(
            &op.token_request(&app, "not.a.jwt", "telecom").await,
            "garbage",
        );

        // The wrong assertion type, an unknown client.
        let reply = crate::support::wallet::token_request(
            &app,
            &[
                ("grant_type", "client_credentials"),
                ("scope", "telecom"),
                ("client_id", &op.client_id),
                ("client_assertion_type", "urn:example:other"),
                ("client_assertion", &op.assertion()),
            ],
            None,
        )
        .await;
        refused(&reply, "assertion type");
        let reply = crate::support::wallet::token_request(
            &app,
            &[
                ("grant_type", "client_credentials"),
                ("scope", "telecom"),
                ("client_id", "x509_san_dns:unknown.test"),
                ("client_assertion_type", operator::JWT_BEARER),
                ("client_assertion", &op.assertion()),
            ],
            None,
        )
        .await;
        refused(&reply, "unknown client");

        // A missing assertion is a malformed request; another scope is invalid_scope.
        let reply = crate::support::wallet::token_request(
            &app,
            &[
                ("grant_type", "client_credentials"),
                ("scope", "telecom"),
                ("client_id", &op.client_id),
                ("client_assertion_type", operator::JWT_BEARER),
            ],
            None,
        )
        .await;
        assert_oauth_error(&reply, StatusCode::BAD_REQUEST, "invalid_request");
        let reply = op.token_request(&app, &op.assertion(), "pid").await;
        assert_oauth_error(&reply, StatusCode::BAD_REQUEST, "invalid_scope");

        // A bank (not an operator) may authenticate but is not granted scope telecom.
        let bank = operator::register(&app, "api.bank.test", RelyingPartyKind::Bank).await;
        let reply = bank.token_request(&app, &bank.assertion(), "telecom").await;
        assert_oauth_error(&reply, StatusCode::BAD_REQUEST, "invalid_scope");

        // A revoked party is no client any more.
        let event =
            dinhdanh_server::domain::audit::event("operator", "rp.revoked", &op.rp_id, json!({}));
        assert!(
            app.store
                .revoke_relying_party(&op.rp_id, now, "test", &event)
                .await
                .unwrap()
        );
        refused(
            &op.token_request(&app, &op.assertion(), "telecom").await,
            "revoked",
        );

        // The wallets' grants are still served by the same endpoint.
        let reply =
            crate::support::wallet::token_request(&app, &[("grant_type", "password")], None).await;
        assert_oauth_error(&reply, StatusCode::BAD_REQUEST, "unsupported_grant_type");
        let metadata = app
            .call(
                Method::GET,
                "/.well-known/oauth-authorization-server",
                None,
                None,
            )
            .await;
        assert!(
            metadata.body["grant_types_supported"]
                .as_array()
                .unwrap()
                .contains(&json!("client_credentials"))
        );
        assert!(
            metadata.body["token_endpoint_auth_methods_supported"]
                .as_array()
                .unwrap()
                .contains(&json!("private_key_jwt"))
        );
    }
}

#[tokio::test]
async fn a_client_assertion_is_used_once_under_concurrency() {
    for db in databases().await {
        let app = std::sync::Arc::new(TestApp::new(&db).await);
        let op = std::sync::Arc::new(
            operator::register(&app, "api.itel.test", RelyingPartyKind::Telecom).await,
        );
        let assertion = op.assertion();
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let (app, op, assertion) = (app.clone(), op.clone(), assertion.clone());
                tokio::spawn(
                    async move { op.token_request(&app, &assertion, "telecom").await.status },
                )
            })
            .collect();
        let mut ok = 0;
        for task in tasks {
            let status = task.await.unwrap();
            assert!(
                status == StatusCode::OK || status == StatusCode::UNAUTHORIZED,
                "{status}"
            );
            ok += usize::from(status == StatusCode::OK);
        }
        assert_eq!(ok, 1, "{}", db.name);
    }
}

#[tokio::test]
async fn operator_routes_need_an_operator_token() {
    for db in databases().await {
        let app = TestApp::new(&db).await;
        let op = operator::register(&app, "api.viettel.test", RelyingPartyKind::Telecom).await;
        let token = op.token(&app).await;
        let disputes = |token: Option<String>| {
            let app = &app;
            async move {
                app.call(Method::GET, "/v1/telecom/disputes", token.as_deref(), None)
                    .await
            }
        };
        let ok = disputes(Some(token.clone())).await;
        assert_eq!(ok.status, StatusCode::OK, "{}: {}", db.name, ok.text);
        assert_eq!(ok.body, json!([]));

        // None: 401 with a Bearer challenge.
        let none = disputes(None).await;
        assert_problem(&none, StatusCode::UNAUTHORIZED, "unauthenticated");
        let challenge = none.headers[header::WWW_AUTHENTICATE].to_str().unwrap();
        assert!(challenge.starts_with("Bearer"), "{challenge}");
        // Garbage: 401 invalid_token.
        let bad = disputes(Some("garbage".into())).await;
        assert_problem(&bad, StatusCode::UNAUTHORIZED, "unauthenticated");
        assert!(
            bad.headers[header::WWW_AUTHENTICATE]
                .to_str()
                .unwrap()
                .contains("error=\"invalid_token\"")
        );
        // Expired.
        let expired = "expired-operator-token";
        let now = now() as i64;
        let row = dinhdanh_server::store::OperatorToken {
            token_hash: dinhdanh_server::platform::secrets::token_hash(expired),
            rp_id: op.rp_id.clone(),
            scope: "telecom".into(),
            created_at: now - 7200,
            expires_at: now - 3600,
        };
        let event = dinhdanh_server::domain::audit::event("test", "t", &op.rp_id, json!({}));
        app.store.insert_operator_token(&row, &event).await.unwrap();
        assert_problem(
            &disputes(Some(expired.into())).await,
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
        );
        // A token of a bank (scope telecom stored by hand): not an operator.
        let bank = operator::register(&app, "api.bank.test", RelyingPartyKind::Bank).await;
        let bank_token = "bank-token";
        let row = dinhdanh_server::store::OperatorToken {
            token_hash: dinhdanh_server::platform::secrets::token_hash(bank_token),
            rp_id: bank.rp_id.clone(),
            expires_at: now + 3600,
            ..row
        };
        app.store.insert_operator_token(&row, &event).await.unwrap();
        assert_problem(
            &disputes(Some(bank_token.into())).await,
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
        );
        // A citizen's session: 403.
        let (session, _) = signed_in_citizen(&app).await;
        assert_problem(
            &disputes(Some(session.clone())).await,
            StatusCode::FORBIDDEN,
            "forbidden",
        );
        // An operator's token on a citizen route: 401.
        let reply = app
            .call(Method::GET, "/v1/me/subscriptions", Some(&token), None)
            .await;
        assert_problem(&reply, StatusCode::UNAUTHORIZED, "unauthenticated");
        // Revoking the operator ends its live token at once.
        let event =
            dinhdanh_server::domain::audit::event("operator", "rp.revoked", &op.rp_id, json!({}));
        app.store
            .revoke_relying_party(&op.rp_id, now, "test", &event)
            .await
            .unwrap();
        assert_problem(
            &disputes(Some(token)).await,
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
        );
    }
}

#[tokio::test]
async fn bindings_by_four_fields_and_by_wallet_presentation() {
    for db in databases().await {
        let app = TestApp::new(&db).await;
        let op = operator::register(&app, "api.viettel.test", RelyingPartyKind::Telecom).await;
        let token = op.token(&app).await;

        // Four fields: 201, then every spelling of the number is the same binding (200).
        let first = bind(&app, &token, "0912 000 001", an_fields()).await;
        assert_eq!(
            first.status,
            StatusCode::CREATED,
            "{}: {}",
            db.name,
            first.text
        );
        assert_eq!(first.body["state"], "active");
        assert_eq!(first.body.as_object().unwrap().len(), 2, "{}", first.text);
        let id = first.body["subscription_id"].as_str().unwrap().to_owned();
        for spelling in [
            "+84 912 000 001",
            "84912000001",
            "0912.000.001",
            "+84912000001",
        ] {
            let again = bind(&app, &token, spelling, an_fields()).await;
            assert_eq!(again.status, StatusCode::OK, "{spelling}: {}", again.text);
            assert_eq!(again.body["subscription_id"], id.as_str());
        }
        // Another citizen on the same number: 409.
        let taken = bind(&app, &token, "0912000001", ngoc_fields()).await;
        assert_problem(&taken, StatusCode::CONFLICT, "msisdn-bound");
        assert!(!taken.text.contains("An"), "{}", taken.text);

        // Not a Vietnamese mobile number: 400.
        for wrong in [
            "0212345678",
            "091200000",
            "+1 555 0100",
            "09120000011",
            "",
            "số 0912",
        ] {
            let reply = bind(&app, &token, wrong, an_fields()).await;
            assert_problem(&reply, StatusCode::BAD_REQUEST, "invalid-msisdn");
        }
        // Unknown, deceased, mismatched: one and the same 422, nothing from the registry.
        let mut answers = Vec::new();
        for fields in [
            four_fields("001090099999", "Nguyễn Văn An", "1990-02-28"),
            four_fields("031180004321", "Phạm Thị Hương", "1980-05-09"),
            four_fields(AN, "Nguyễn Văn Ân", "1990-02-28"),
            four_fields(AN, "Nguyễn Văn An", "1990-02-27"),
        ] {
            let reply = bind(&app, &token, "0912000009", fields).await;
            assert_problem(&reply, StatusCode::UNPROCESSABLE_ENTITY, "not-verified");
            assert!(!reply.text.contains("Hương") && !reply.text.contains("1990"));
            answers.push(reply.body);
        }
        assert!(answers.windows(2).all(|w| w[0] == w[1]), "{answers:?}");
        // A failed face match refuses (and is recorded).
        let mut failed = an_fields();
        failed["face_match"]["result"] = json!("no_match");
        let reply = bind(&app, &token, "0912000009", failed).await;
        assert_problem(
            &reply,
            StatusCode::UNPROCESSABLE_ENTITY,
            "face-match-failed",
        );
        let log = app.store.history(&op.rp_id, 50).await.unwrap();
        assert!(log.iter().any(|e| e.action == "telecom.face_match.failed"));
        // Neither or both ways of verifying: 400.
        let reply = app
            .call(
                Method::POST,
                "/v1/telecom/subscriptions",
                Some(&token),
                Some(json!({ "msisdn": "0912000009" })),
            )
            .await;
        assert_problem(&reply, StatusCode::BAD_REQUEST, "invalid-request");

        // With the wallet: An's PID presented to the operator (aud = its client id).
        let (_, pid) = an_with_pid(&app).await;
        let (credential, holder) = &pid[0];
        let vp = present(credential, holder, &op.client_id, "nonce-1");
        let reply = bind_presented(&app, &token, "0912 000 002", json!(vp), "nonce-1").await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
        // As OpenID4VP 1.0 carries it: {credential query id: [presentation]}.
        let vp = present(credential, holder, &op.client_id, "nonce-2");
        let reply = bind_presented(
            &app,
            &token,
            "0912 000 003",
            json!({ "pid": [vp] }),
            "nonce-2",
        )
        .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
        // The nonce is single use.
        let reply = bind_presented(
            &app,
            &token,
            "0912 000 004",
            json!({ "pid": [vp] }),
            "nonce-2",
        )
        .await;
        assert_problem(
            &reply,
            StatusCode::UNPROCESSABLE_ENTITY,
            "presentation-refused",
        );
        assert!(reply.text.contains("nonce_used"), "{}", reply.text);
        // Presented to someone else (aud), or for another nonce: forged.
        let vp = present(credential, holder, "x509_san_dns:api.bank.test", "nonce-3");
        let reply = bind_presented(&app, &token, "0912 000 004", json!(vp), "nonce-3").await;
        assert_problem(
            &reply,
            StatusCode::UNPROCESSABLE_ENTITY,
            "presentation-refused",
        );
        assert!(reply.text.contains("forged"), "{}", reply.text);
        let vp = present(credential, holder, &op.client_id, "nonce-4");
        let reply = bind_presented(&app, &token, "0912 000 004", json!(vp), "nonce-5").await;
        assert!(reply.text.contains("forged"), "{}", reply.text);
        // A revoked copy: revoked, from the status list.
        let (list_uri, idx) = status_of(&pid[1].0);
        let list = list_uri.rsplit('/').next().unwrap();
        let officer = staff_session(&app, Role::Officer).await;
        let revoked = app
            .call(
                Method::POST,
                &format!("/v1/credentials/{list}.{idx}/revoke"),
                Some(&officer),
                Some(json!({ "reason": "test" })),
            )
            .await;
        assert_eq!(revoked.status, StatusCode::OK, "{}", revoked.text);
        let vp = present(&pid[1].0, &pid[1].1, &op.client_id, "nonce-6");
        let reply = bind_presented(&app, &token, "0912 000 004", json!(vp), "nonce-6").await;
        assert_problem(
            &reply,
            StatusCode::UNPROCESSABLE_ENTITY,
            "presentation-refused",
        );
        assert!(reply.text.contains("revoked"), "{}", reply.text);

        // No token: 401.
        let reply = app
            .call(
                Method::POST,
                "/v1/telecom/subscriptions",
                None,
                Some(json!({ "msisdn": "0912000009", "four_fields": an_fields() })),
            )
            .await;
        assert_problem(&reply, StatusCode::UNAUTHORIZED, "unauthenticated");
        let report = dinhdanh_server::domain::audit::verify(&app.store)
            .await
            .unwrap();
        assert!(report.intact(), "{report:?}");
    }
}

#[tokio::test]
async fn limits_from_the_configuration_and_concurrent_binds() {
    for db in databases().await {
        let app = TestApp::with_config(&db, |config| {
            config.telecom.max_per_operator = 2;
            config.telecom.max_total = 3;
        })
        .await;
        let one = operator::register(&app, "api.one.test", RelyingPartyKind::Telecom).await;
        let two = operator::register(&app, "api.two.test", RelyingPartyKind::Telecom).await;
        let (t1, t2) = (one.token(&app).await, two.token(&app).await);
        for n in ["0912100001", "0912100002"] {
            assert_eq!(
                bind(&app, &t1, n, an_fields()).await.status,
                StatusCode::CREATED
            );
        }
        let reply = bind(&app, &t1, "0912100003", an_fields()).await;
        assert_problem(
            &reply,
            StatusCode::UNPROCESSABLE_ENTITY,
            "subscription-limit",
        );
        assert_eq!(
            bind(&app, &t2, "0912100004", an_fields()).await.status,
            StatusCode::CREATED
        );
        let reply = bind(&app, &t2, "0912100005", an_fields()).await;
        assert_problem(
            &reply,
            StatusCode::UNPROCESSABLE_ENTITY,
            "subscription-limit",
        );
        assert!(reply.text.contains("in total"), "{}", reply.text);
        // A repeat of a bound number is not a new binding: still 200 at the limit.
        assert_eq!(
            bind(&app, &t1, "0912100001", an_fields()).await.status,
            StatusCode::OK
        );

        // One number, three citizens, twice each, at once: exactly one binding is made.
        let app = std::sync::Arc::new(app);
        let tasks: Vec<_> = [ngoc_fields(), khoa_fields(), ngoc_fields(), khoa_fields()]
            .into_iter()
            .enumerate()
            .map(|(i, fields)| {
                let (app, token) = (app.clone(), t2.clone());
                tokio::spawn(async move {
                    (
                        i % 2,
                        bind(&app, &token, "0988 777 666", fields).await.status,
                    )
                })
            })
            .collect();
        let mut results = Vec::new();
        for task in tasks {
            results.push(task.await.unwrap());
        }
        let created: Vec<_> = results
            .iter()
            .filter(|(_, s)| *s == StatusCode::CREATED)
            .collect();
        assert_eq!(created.len(), 1, "{}: {results:?}", db.name);
        let winner = created[0].0;
        for (who, status) in &results {
            match status.as_u16() {
                201 => {}
                200 => assert_eq!(*who, winner, "{results:?}"),
                409 => assert_ne!(*who, winner, "{results:?}"),
                other => panic!("{other}: {results:?}"),
            }
        }
        // Six numbers for one citizen at once with a limit of two: exactly two are made.
        let tasks: Vec<_> = (0..6)
            .map(|i| {
                let (app, token) = (app.clone(), t1.clone());
                tokio::spawn(async move {
                    bind(&app, &token, &format!("090355500{i}"), khoa_fields())
                        .await
                        .status
                })
            })
            .collect();
        let mut made = 0;
        for task in tasks {
            let status = task.await.unwrap();
            assert!(
                status == StatusCode::CREATED || status == StatusCode::UNPROCESSABLE_ENTITY,
                "{status}"
            );
            made += usize::from(status == StatusCode::CREATED);
        }
        assert_eq!(made, 2, "{}", db.name);
    }
}

#[tokio::test]
async fn the_citizen_lists_and_disputes_and_a_device_change_needs_a_new_verification() {
    for db in databases().await {
        let app = TestApp::new(&db).await;
        let op = operator::register(&app, "api.viettel.test", RelyingPartyKind::Telecom).await;
        let other = operator::register(&app, "api.other.test", RelyingPartyKind::Telecom).await;
        let token = op.token(&app).await;
        let other_token = other.token(&app).await;
        let (session, _) = signed_in_citizen(&app).await;
        let kept = bind(&app, &token, "0912 200 001", an_fields()).await;
        let disputed = bind(&app, &token, "0912 200 002", an_fields()).await;
        let kept = kept.body["subscription_id"].as_str().unwrap().to_owned();
        let disputed = disputed.body["subscription_id"]
            .as_str()
            .unwrap()
            .to_owned();

        // The citizen's list: both numbers, the operator's name, active.
        let mine = app
            .call(Method::GET, "/v1/me/subscriptions", Some(&session), None)
            .await;
        assert_eq!(mine.status, StatusCode::OK, "{}", mine.text);
        let list = mine.body.as_array().unwrap();
        assert_eq!(list.len(), 2, "{}", mine.text);
        assert!(
            list.iter()
                .all(|s| s["operator"] == "Nhà mạng api.viettel.test"
                    && s["state"] == "active"
                    && s["verification_method"] == "four_fields")
        );

        // `mine` on one, `not_mine` on the other: a dispute the operator reads and answers.
        let mark = |id: &str, mark: &str| {
            let (app, session, path) = (
                &app,
                session.clone(),
                format!("/v1/me/subscriptions/{id}/mark"),
            );
            let body = json!({ "mark": mark });
            async move {
                app.call(Method::POST, &path, Some(&session), Some(body))
                    .await
            }
        };
        assert_eq!(mark(&kept, "mine").await.status, StatusCode::OK);
        let reply = mark(&disputed, "not_mine").await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        let dispute_id = reply.body["dispute_id"].as_str().unwrap().to_owned();
        // Marking again keeps the one open dispute.
        let again = mark(&disputed, "not_mine").await;
        assert_eq!(again.body["dispute_id"], dispute_id.as_str());
        let open = app
            .call(Method::GET, "/v1/telecom/disputes", Some(&token), None)
            .await;
        assert_eq!(open.body.as_array().unwrap().len(), 1, "{}", open.text);
        assert_eq!(open.body[0]["msisdn"], "+84912200002");
        assert_eq!(open.body[0]["status"], "open");
        // Another operator sees none of it and cannot answer it.
        let theirs = app
            .call(
                Method::GET,
                "/v1/telecom/disputes",
                Some(&other_token),
                None,
            )
            .await;
        assert_eq!(theirs.body, json!([]));
        let path = format!("/v1/telecom/disputes/{dispute_id}/answer");
        let reply = app
            .call(
                Method::POST,
                &path,
                Some(&other_token),
                Some(json!({ "outcome": "ended" })),
            )
            .await;
        assert_problem(&reply, StatusCode::NOT_FOUND, "not-found");
        let reply = app
            .call(
                Method::POST,
                &path,
                Some(&token),
                Some(json!({ "outcome": "ended", "note": "SIM re-issued to its holder" })),
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        assert_eq!(reply.body["outcome"], "ended");
        assert_eq!(reply.body["subscription_state"], "ended");
        let reply = app
            .call(
                Method::POST,
                &path,
                Some(&token),
                Some(json!({ "outcome": "upheld" })),
            )
            .await;
        assert_problem(&reply, StatusCode::NOT_FOUND, "not-found");
        let all = app
            .call(
                Method::GET,
                "/v1/telecom/disputes?state=all",
                Some(&token),
                None,
            )
            .await;
        assert_eq!(all.body[0]["status"], "answered", "{}", all.text);
        let mine = app
            .call(Method::GET, "/v1/me/subscriptions", Some(&session), None)
            .await;
        let ended = mine
            .body
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["subscription_id"] == disputed.as_str())
            .unwrap();
        assert_eq!(ended["state"], "ended");
        assert_eq!(ended["dispute"]["outcome"], "ended");
        assert_problem(
            &mark(&disputed, "mine").await,
            StatusCode::NOT_FOUND,
            "not-found",
        );

        // A device change: the same device changes nothing; another requires a new
        // verification with the configured deadlines, seen by operator and citizen.
        let path = format!("/v1/telecom/subscriptions/{kept}/device-change");
        let same = app
            .call(
                Method::POST,
                &path,
                Some(&token),
                Some(json!({ "device_id": "imei-1" })),
            )
            .await;
        assert_eq!(same.body["state"], "active", "{}", same.text);
        let changed = app
            .call(
                Method::POST,
                &path,
                Some(&token),
                Some(json!({ "device_id": "imei-2" })),
            )
            .await;
        assert_eq!(changed.status, StatusCode::OK, "{}", changed.text);
        assert_eq!(changed.body["state"], "reverification_required");
        let owed = &changed.body["reverification"];
        assert_eq!(owed["reason"], "device_change");
        assert_eq!(owed["restriction"], "none");
        let at = |field: &str| {
            time::OffsetDateTime::parse(
                owed[field].as_str().unwrap(),
                &time::format_description::well_known::Rfc3339,
            )
            .unwrap()
            .unix_timestamp()
        };
        assert_eq!(at("outgoing_blocked_at") - at("since"), 2 * 3600);
        assert_eq!(at("two_way_blocked_at") - at("since"), 30 * 86_400);
        assert_eq!(at("terminated_at") - at("two_way_blocked_at"), 5 * 86_400);
        // Another operator cannot report on it.
        let reply = app
            .call(
                Method::POST,
                &path,
                Some(&other_token),
                Some(json!({ "device_id": "x" })),
            )
            .await;
        assert_problem(&reply, StatusCode::NOT_FOUND, "not-found");
        let mine = app
            .call(Method::GET, "/v1/me/subscriptions", Some(&session), None)
            .await;
        let entry = mine
            .body
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["subscription_id"] == kept.as_str())
            .unwrap()
            .clone();
        assert_eq!(entry["state"], "reverification_required");
        assert_eq!(entry["reverification"], *owed);
        // The portal page shows the same, with the deadlines, and history names the operator.
        let page = app
            .call(Method::GET, "/account/subscriptions", Some(&session), None)
            .await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.text.contains("+84912200001"), "{}", page.text);
        assert!(page.text.contains("Nhà mạng api.viettel.test"));
        assert!(page.text.contains("reverification_required"));
        assert!(
            page.text
                .contains(owed["two_way_blocked_at"].as_str().unwrap())
        );
        let account = app
            .call(Method::GET, "/account", Some(&session), None)
            .await;
        assert!(
            account
                .text
                .contains("relying_party: Nhà mạng api.viettel.test"),
            "{}",
            account.text
        );
        // A new verification clears it.
        let verified = bind(&app, &token, "+84 912 200 001", an_fields()).await;
        assert_eq!(verified.status, StatusCode::OK, "{}", verified.text);
        assert_eq!(verified.body["state"], "active");
        let seen = app
            .call(
                Method::GET,
                &format!("/v1/telecom/subscriptions/{kept}"),
                Some(&token),
                None,
            )
            .await;
        assert_eq!(seen.body["state"], "active", "{}", seen.text);
        assert!(seen.body.get("reverification").is_none());

        // The citizen's history names the operator that verified them, and when.
        let history = app
            .call(Method::GET, "/v1/me/history", Some(&session), None)
            .await;
        let bound = history
            .body
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["action"] == "telecom.subscription.bound")
            .unwrap()
            .clone();
        assert_eq!(bound["actor"], "relying_party");
        assert_eq!(bound["detail"]["operator"], "Nhà mạng api.viettel.test");
        // The number masked: the last three digits.
        assert!(
            ["***001", "***002"].contains(&bound["detail"]["msisdn"].as_str().unwrap()),
            "{bound}"
        );
        assert!(bound["at"].is_string());
        for action in [
            "telecom.subscription.verified",
            "telecom.subscription.device_changed",
            "telecom.dispute.answered",
            "telecom.subscription.marked",
        ] {
            assert!(
                history
                    .body
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|e| e["action"] == action),
                "{action}: {}",
                history.text
            );
        }
        let report = dinhdanh_server::domain::audit::verify(&app.store)
            .await
            .unwrap();
        assert!(report.intact(), "{report:?}");
    }
}

#[tokio::test]
async fn a_live_binding_is_a_registered_phone_for_enrolment_until_it_ends() {
    for db in databases().await {
        let app = TestApp::new(&db).await;
        let op = operator::register(&app, "api.viettel.test", RelyingPartyKind::Telecom).await;
        let token = op.token(&app).await;
        // Đặng Thu Hà: no phone in the registry.
        let ha = || enrolment("092305000042", "Đặng Thu Hà", "2005-01-20", "0936 555 111");
        let start = |body: Value| {
            let app = &app;
            async move {
                let reply = app
                    .call(Method::POST, "/v1/enrolments", None, Some(body))
                    .await;
                assert_eq!(reply.status, StatusCode::ACCEPTED, "{}", reply.text);
            }
        };
        start(ha()).await;
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        assert_eq!(
            app.sms_count(),
            0,
            "{}: no code to an unregistered phone",
            db.name
        );

        let bound = bind(
            &app,
            &token,
            "0936555111",
            four_fields("092305000042", "Đặng Thu Hà", "2005-01-20"),
        )
        .await;
        assert_eq!(bound.status, StatusCode::CREATED, "{}", bound.text);
        let id = bound.body["subscription_id"].as_str().unwrap().to_owned();
        start(ha()).await;
        let code = app.first_code().await;
        assert_eq!(code.len(), 6);
        assert_eq!(app.sms_count(), 1);

        // Ended: no longer her phone.
        let ended = app
            .call(
                Method::POST,
                &format!("/v1/telecom/subscriptions/{id}/end"),
                Some(&token),
                None,
            )
            .await;
        assert_eq!(ended.status, StatusCode::NO_CONTENT, "{}", ended.text);
        start(ha()).await;
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        assert_eq!(app.sms_count(), 1);
    }
}

#[tokio::test]
async fn a_registry_change_of_identity_data_requires_a_new_verification() {
    for db in databases().await {
        let app = TestApp::new(&db).await;
        let op = operator::register(&app, "api.viettel.test", RelyingPartyKind::Telecom).await;
        let token = op.token(&app).await;
        let bound = bind(&app, &token, "0987 000 123", ngoc_fields()).await;
        assert_eq!(bound.status, StatusCode::CREATED, "{}", bound.text);
        let path = format!(
            "/v1/telecom/subscriptions/{}",
            bound.body["subscription_id"].as_str().unwrap()
        );
        let seen = app.call(Method::GET, &path, Some(&token), None).await;
        assert_eq!(seen.body["state"], "active", "{}", seen.text);

        // A later import changes her name (a change of address alone would not count).
        tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
        let line = json!({"id_number":"079195000123","full_name":"Trần Bích Ngọc","date_of_birth":"1995-07-14","sex":"female","place_of_origin":"Tỉnh Long An","place_of_residence":"Số 5 Nguyễn Huệ, Hồ Chí Minh","status":"living","phones":["+84 987 654 321"]});
        let report = dinhdanh_server::domain::registry::import::import_reader(
            &app.store,
            &dinhdanh_server::platform::config::IssuanceSettings::default(),
            std::io::Cursor::new(format!("{line}\n").into_bytes()),
            dinhdanh_server::domain::registry::import::Format::Ndjson,
            "test",
        )
        .await
        .unwrap();
        assert_eq!(report.rejected, 0, "{report:?}");
        let seen = app.call(Method::GET, &path, Some(&token), None).await;
        assert_eq!(
            seen.body["state"], "reverification_required",
            "{}",
            seen.text
        );
        assert_eq!(seen.body["reverification"]["reason"], "data_change");
        // Verified again with the new name: active.
        let again = bind(
            &app,
            &token,
            "0987000123",
            four_fields("079195000123", "Trần Bích Ngọc", "1995-07-14"),
        )
        .await;
        assert_eq!(again.status, StatusCode::OK, "{}", again.text);
        let seen = app.call(Method::GET, &path, Some(&token), None).await;
        assert_eq!(seen.body["state"], "active", "{}", seen.text);
    }
}

#[tokio::test]
async fn a_binding_left_without_a_new_verification_is_terminated() {
    for db in databases().await {
        let app = TestApp::new(&db).await;
        let op = operator::register(&app, "api.viettel.test", RelyingPartyKind::Telecom).await;
        let token = op.token(&app).await;
        let ha_fields = four_fields("092305000042", "Đặng Thu Hà", "2005-01-20");
        let bound = bind(&app, &token, "0936 555 222", ha_fields).await;
        let id = bound.body["subscription_id"].as_str().unwrap().to_owned();
        let changed = app
            .call(
                Method::POST,
                &format!("/v1/telecom/subscriptions/{id}/device-change"),
                Some(&token),
                Some(json!({ "device_id": "imei-9" })),
            )
            .await;
        assert_eq!(changed.body["reverification"]["restriction"], "none");
        // 36 days later (30 to the two-way block, 5 more to termination).
        let past = now() as i64 - 36 * 86_400;
        crate::support::tamper(
            &db,
            &[&format!(
                "UPDATE subscriptions SET reverify_since = {past} WHERE id = '{id}'"
            )],
        )
        .await;
        let seen = app
            .call(
                Method::GET,
                &format!("/v1/telecom/subscriptions/{id}"),
                Some(&token),
                None,
            )
            .await;
        assert_eq!(seen.body["state"], "terminated", "{}", seen.text);
        assert_eq!(seen.body["reverification"]["restriction"], "terminated");
        // No longer her phone: no enrolment code goes to it.
        let reply = app
            .call(
                Method::POST,
                "/v1/enrolments",
                None,
                Some(enrolment(
                    "092305000042",
                    "Đặng Thu Hà",
                    "2005-01-20",
                    "0936555222",
                )),
            )
            .await;
        assert_eq!(reply.status, StatusCode::ACCEPTED);
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        assert_eq!(app.sms_count(), 0, "{}", db.name);
        // The number is free for its next subscriber.
        let next = bind(&app, &token, "0936555222", ngoc_fields()).await;
        assert_eq!(next.status, StatusCode::CREATED, "{}", next.text);
        let old = app
            .call(
                Method::GET,
                &format!("/v1/telecom/subscriptions/{id}"),
                Some(&token),
                None,
            )
            .await;
        assert_eq!(old.body["state"], "ended", "{}", old.text);
    }
}

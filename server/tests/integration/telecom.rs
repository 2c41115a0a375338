//! Telecom operators on both backends: the client credentials grant with `private_key_jwt`
//! (assertions made with the SDK and with an independent JOSE library), the operator token on
//! the telecom routes, SIM bindings by wallet presentation and by four fields, limits, the
//! citizen's list and disputes, device changes and re-verification.

use axum::http::{Method, StatusCode, header};
use dinhdanh_sdk::jose::Es256KeyPair;
use dinhdanh_server::store::RelyingPartyKind;
use serde_json::json;

use crate::support::{
    ORIGIN, TestApp, databases,
    operator::{self, Operator},
    wallet::{assert_oauth_error, now},
};

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

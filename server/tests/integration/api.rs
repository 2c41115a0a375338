//! The HTTP API in-process: enrolment, bad input, roles on every route, devices, registry
//! access, health, metrics, OpenAPI and the well-known documents.

use axum::{
    body::Body,
    http::{Method, Request, StatusCode, header},
};
use dinhdanh_server::{domain::sessions::Role, http::routes::ACCESS};
use serde_json::{Value, json};

use crate::support::{
    TestApp, an, assert_problem, databases, enrolment, sessions_of_every_role, signed_in_citizen,
    staff_session,
};

/// Starts an enrolment with `body`.
pub(crate) async fn start(app: &TestApp, body: Value) -> crate::support::Reply {
    app.call(Method::POST, "/v1/enrolments", None, Some(body))
        .await
}

/// Confirms enrolment `id` with `code`.
pub(crate) async fn confirm(app: &TestApp, id: &str, code: &str) -> crate::support::Reply {
    app.call(
        Method::POST,
        &format!("/v1/enrolments/{id}/confirm"),
        None,
        Some(json!({ "code": code })),
    )
    .await
}

#[tokio::test]
async fn enrolment_does_not_reveal_whether_an_id_number_exists() {
    for db in databases().await {
        let app = TestApp::new(&db).await;
        let unknown = enrolment("001090099999", "Nguyễn Văn An", "1990-02-28", "0912345678");
        let wrong_name = enrolment("001090012345", "Nguyễn Văn Anh", "1990-02-28", "0912345678");
        let deceased = enrolment("031180004321", "Phạm Thị Hương", "1980-05-09", "0912345679");
        let known = start(&app, an()).await;
        let mut shapes = vec![known];
        for body in [unknown, wrong_name, deceased] {
            shapes.push(start(&app, body).await);
        }
        for reply in &shapes {
            assert_eq!(reply.status, StatusCode::ACCEPTED, "{}", reply.text);
            let keys: Vec<&String> = reply.body.as_object().unwrap().keys().collect();
            assert_eq!(keys, ["enrolment_id", "expires_at", "code_length"]);
        }
        // Only the real match got a code.
        let code = app.first_code().await;
        assert_eq!(app.sms_count(), 1);
        // The unmatched enrolments never succeed, whatever code is tried.
        for reply in &shapes[1..] {
            let id = reply.body["enrolment_id"].as_str().unwrap();
            assert_problem(
                &confirm(&app, id, &code).await,
                StatusCode::BAD_REQUEST,
                "invalid-code",
            );
        }
        let id = shapes[0].body["enrolment_id"].as_str().unwrap();
        assert_eq!(confirm(&app, id, &code).await.status, StatusCode::CREATED);
        // Reused code.
        assert_problem(
            &confirm(&app, id, &code).await,
            StatusCode::GONE,
            "enrolment-closed",
        );
    }
}

/// An ID number whose century and year digits contradict the date of birth is refused at once,
/// for an enrolment and a recovery alike, before any rate limit or registry read; a consistent
/// number is answered as before whether or not the registry knows it.
#[tokio::test]
async fn an_id_number_contradicting_the_date_of_birth_is_refused_at_once() {
    for db in databases().await {
        let app = TestApp::new(&db).await;
        // Nguyễn Văn An (born 1990) with the year typed wrong, and with the century digit of
        // the 2000s.
        for body in [
            enrolment("001090012345", "Nguyễn Văn An", "1991-02-28", "0912345678"),
            enrolment("001290012345", "Nguyễn Văn An", "1990-02-28", "0912345678"),
        ] {
            for path in ["/v1/enrolments", "/v1/recoveries"] {
                let reply = app.call(Method::POST, path, None, Some(body.clone())).await;
                assert_problem(&reply, StatusCode::BAD_REQUEST, "invalid-id-number");
                let detail = reply.body["detail"].as_str().unwrap();
                assert!(
                    detail.contains("do not match the date of birth"),
                    "{detail}"
                );
            }
        }
        // Consistent but unknown to the registry: the usual answer, so nothing is learnt of it.
        let unknown = start(
            &app,
            enrolment("079305000001", "Trần Thị Bình", "2005-07-01", "0912345678"),
        )
        .await;
        assert_eq!(unknown.status, StatusCode::ACCEPTED, "{}", unknown.text);
        assert_eq!(app.sms_count(), 0);
        assert!(app.store.history("anonymous", 10).await.unwrap().is_empty());
    }
}

#[tokio::test]
async fn wrong_codes_are_limited_and_nothing_is_created() {
    for db in databases().await {
        let app = TestApp::with_config(&db, |c| c.enrolment.max_attempts = 3).await;
        let id = start(&app, an()).await.body["enrolment_id"]
            .as_str()
            .unwrap()
            .to_owned();
        let code = app.first_code().await;
        let wrong = if code == "000000" { "000001" } else { "000000" };
        for _ in 0..2 {
            assert_problem(
                &confirm(&app, &id, wrong).await,
                StatusCode::BAD_REQUEST,
                "invalid-code",
            );
        }
        assert_problem(
            &confirm(&app, &id, wrong).await,
            StatusCode::GONE,
            "enrolment-closed",
        );
        // The right code comes too late.
        assert_problem(
            &confirm(&app, &id, &code).await,
            StatusCode::GONE,
            "enrolment-closed",
        );
        assert!(
            app.store
                .account_by_id_number("001090012345")
                .await
                .unwrap()
                .is_none()
        );
        assert_problem(
            &confirm(&app, "no-such-enrolment", &code).await,
            StatusCode::GONE,
            "enrolment-closed",
        );
    }
}

#[tokio::test]
async fn codes_expire() {
    for db in databases().await {
        let app = TestApp::with_config(&db, |c| c.enrolment.code_ttl_seconds = 1).await;
        let id = start(&app, an()).await.body["enrolment_id"]
            .as_str()
            .unwrap()
            .to_owned();
        let code = app.first_code().await;
        tokio::time::sleep(std::time::Duration::from_millis(2_100)).await;
        assert_problem(
            &confirm(&app, &id, &code).await,
            StatusCode::GONE,
            "enrolment-closed",
        );
        assert!(
            app.store
                .account_by_id_number("001090012345")
                .await
                .unwrap()
                .is_none()
        );
    }
}

#[tokio::test]
async fn enrolment_is_rate_limited_per_phone() {
    for db in databases().await {
        let app = TestApp::with_config(&db, |c| c.enrolment.per_phone = 2).await;
        for _ in 0..2 {
            assert_eq!(start(&app, an()).await.status, StatusCode::ACCEPTED);
        }
        let limited = start(&app, an()).await;
        assert_problem(&limited, StatusCode::TOO_MANY_REQUESTS, "rate-limited");
        assert!(limited.headers.get(header::RETRY_AFTER).is_some());
        // Another phone is not limited by this one.
        let other = enrolment(
            "079195000123",
            "Trần Thị Bích Ngọc",
            "1995-07-14",
            "0987654321",
        );
        assert_eq!(start(&app, other).await.status, StatusCode::ACCEPTED);
    }
}

#[tokio::test]
async fn enrolment_is_rate_limited_per_address() {
    for db in databases().await {
        let app = TestApp::with_config(&db, |c| c.enrolment.per_ip = 3).await;
        for i in 0..3 {
            let body = enrolment(
                "001090012345",
                "Nguyễn Văn An",
                "1990-02-28",
                &format!("091234567{i}"),
            );
            assert_eq!(start(&app, body).await.status, StatusCode::ACCEPTED);
        }
        assert_problem(
            &start(&app, an()).await,
            StatusCode::TOO_MANY_REQUESTS,
            "rate-limited",
        );
    }
}

#[tokio::test]
async fn bad_input_gets_a_typed_4xx_and_stores_nothing() {
    for db in databases().await {
        let app = TestApp::with_config(&db, |c| c.max_body_bytes = 2048).await;
        let cases: Vec<(Value, &str)> = vec![
            (
                enrolment("00109001234", "A", "1990-02-28", "0912345678"),
                "invalid-id-number",
            ),
            (
                enrolment("003090012345", "A", "1990-02-28", "0912345678"),
                "invalid-id-number",
            ),
            (
                enrolment("001090012345", "A", "1990-02-30", "0912345678"),
                "invalid-date-of-birth",
            ),
            (
                enrolment("001090012345", "A", "2990-02-28", "0912345678"),
                "invalid-date-of-birth",
            ),
            (
                enrolment("001090012345", "   ", "1990-02-28", "0912345678"),
                "invalid-full-name",
            ),
            (
                enrolment("001090012345", "A", "1990-02-28", "12345"),
                "invalid-phone",
            ),
            (json!({ "id_number": "001090012345" }), "malformed-json"),
            (
                json!({ "id_number": "001090012345", "full_name": "A", "date_of_birth": "1990-02-28", "phone": "0912345678", "x": 1 }),
                "malformed-json",
            ),
            (json!([1, 2]), "malformed-json"),
        ];
        for (body, kind) in cases {
            assert_problem(&start(&app, body).await, StatusCode::BAD_REQUEST, kind);
        }
        let raw = |content_type: &str, body: String| {
            Request::builder()
                .method(Method::POST)
                .uri("/v1/enrolments")
                .header(header::CONTENT_TYPE, content_type)
                .body(Body::from(body))
                .unwrap()
        };
        assert_problem(
            &app.send(raw("application/json", "{\"id_number\":".into()))
                .await,
            StatusCode::BAD_REQUEST,
            "malformed-json",
        );
        assert_problem(
            &app.send(raw("text/plain", an().to_string())).await,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
        );
        let huge = json!({ "id_number": "x".repeat(4096), "full_name": "A", "date_of_birth": "1990-02-28", "phone": "0912345678" });
        assert_problem(
            &app.send(raw("application/json", huge.to_string())).await,
            StatusCode::PAYLOAD_TOO_LARGE,
            "body-too-large",
        );
        assert_eq!(app.sms_count(), 0);
        assert!(app.store.history("anonymous", 10).await.unwrap().is_empty());
        assert_problem(
            &app.call(Method::GET, "/v1/nowhere", None, None).await,
            StatusCode::NOT_FOUND,
            "not-found",
        );
        assert_problem(
            &app.call(Method::PUT, "/v1/enrolments", None, None).await,
            StatusCode::METHOD_NOT_ALLOWED,
            "method-not-allowed",
        );
    }
}

#[tokio::test]
async fn every_route_refuses_the_roles_it_does_not_admit() {
    for db in databases().await {
        let app = TestApp::new(&db).await;
        let (sessions, recovery_id) = sessions_of_every_role(&app).await;
        // Signing out ends the session the other routes need: that route goes last.
        let mut routes: Vec<_> = ACCESS.iter().collect();
        routes.sort_by_key(|(_, route, _)| *route == "/v1/sessions/current");
        for (method, route, roles) in routes {
            let path = route
                .replace("{enrolment_id}", "e")
                .replace("{ceremony_id}", "c")
                .replace("{passkey_id}", "p")
                .replace("{device_id}", "d")
                .replace("{id_number}", "001090012345")
                .replace("{credential_id}", "1.1")
                .replace("{request_id}", "r")
                .replace("{certificate_id}", "c")
                .replace("{recovery_id}", &recovery_id);
            let method: Method = method.parse().unwrap();
            let anonymous = app.call(method.clone(), &path, None, Some(json!({}))).await;
            if *roles != 0 {
                assert_problem(&anonymous, StatusCode::UNAUTHORIZED, "unauthenticated");
            }
            for (role, token) in &sessions {
                let reply = app
                    .call(method.clone(), &path, Some(token), Some(json!({})))
                    .await;
                let refused = matches!(
                    reply.status,
                    StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN
                );
                if *roles == 0 {
                    continue;
                }
                if roles & role == 0 {
                    assert_problem(&reply, StatusCode::FORBIDDEN, "forbidden");
                } else {
                    assert!(
                        !refused,
                        "{method} {route} refused role {role}: {}",
                        reply.text
                    );
                }
            }
        }
        let garbage = app
            .call(Method::GET, "/v1/me", Some("not-a-session"), None)
            .await;
        assert_problem(&garbage, StatusCode::UNAUTHORIZED, "unauthenticated");
    }
}

#[tokio::test]
async fn devices_are_registered_listed_and_revoked() {
    for db in databases().await {
        let app = TestApp::new(&db).await;
        let (token, _) = signed_in_citizen(&app).await;
        let key = dinhdanh_sdk::jose::Es256KeyPair::generate().unwrap();
        let jwk = key.public_key().to_jwk();
        let added = app
            .call(
                Method::POST,
                "/v1/me/devices",
                Some(&token),
                Some(json!({ "name": "Điện thoại Lan", "holder_key": jwk })),
            )
            .await;
        assert_eq!(added.status, StatusCode::CREATED, "{}", added.text);
        assert_eq!(added.body["thumbprint"], key.public_key().thumbprint());
        let again = app
            .call(
                Method::POST,
                "/v1/me/devices",
                Some(&token),
                Some(json!({ "name": "again", "holder_key": jwk })),
            )
            .await;
        assert_problem(&again, StatusCode::CONFLICT, "device-exists");
        let private = json!({ "name": "x", "holder_key": *key.to_private_jwk() });
        assert_problem(
            &app.call(Method::POST, "/v1/me/devices", Some(&token), Some(private))
                .await,
            StatusCode::BAD_REQUEST,
            "invalid-holder-key",
        );
        let off_curve = json!({ "name": "x", "holder_key": { "kty": "EC", "crv": "P-256", "x": jwk["x"], "y": jwk["x"] } });
        assert_problem(
            &app.call(
                Method::POST,
                "/v1/me/devices",
                Some(&token),
                Some(off_curve),
            )
            .await,
            StatusCode::BAD_REQUEST,
            "invalid-holder-key",
        );
        let id = added.body["id"].as_str().unwrap();
        assert_eq!(
            app.call(
                Method::DELETE,
                &format!("/v1/me/devices/{id}"),
                Some(&token),
                None
            )
            .await
            .status,
            StatusCode::NO_CONTENT
        );
        assert_problem(
            &app.call(
                Method::DELETE,
                &format!("/v1/me/devices/{id}"),
                Some(&token),
                None,
            )
            .await,
            StatusCode::NOT_FOUND,
            "not-found",
        );
        let list = app
            .call(Method::GET, "/v1/me/devices", Some(&token), None)
            .await;
        assert!(list.body[0]["revoked_at"].is_string());
        let history = app
            .call(Method::GET, "/v1/me/history", Some(&token), None)
            .await;
        let actions: Vec<&str> = history
            .body
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["action"].as_str().unwrap())
            .collect();
        assert!(
            actions.contains(&"device.added") && actions.contains(&"device.revoked"),
            "{actions:?}"
        );
    }
}

#[tokio::test]
async fn staff_registry_access_is_audited_and_visible_to_the_citizen() {
    for db in databases().await {
        let app = TestApp::new(&db).await;
        let (citizen, _) = signed_in_citizen(&app).await;
        let officer = staff_session(&app, Role::Officer).await;
        let record = app
            .call(
                Method::GET,
                "/v1/registry/citizens/001090012345",
                Some(&officer),
                None,
            )
            .await;
        assert_eq!(record.status, StatusCode::OK, "{}", record.text);
        assert_eq!(record.body["full_name"], "Nguyễn Văn An");
        assert_problem(
            &app.call(
                Method::GET,
                "/v1/registry/citizens/001090099999",
                Some(&officer),
                None,
            )
            .await,
            StatusCode::NOT_FOUND,
            "not-found",
        );
        assert_problem(
            &app.call(
                Method::GET,
                "/v1/registry/citizens/12345",
                Some(&officer),
                None,
            )
            .await,
            StatusCode::BAD_REQUEST,
            "invalid-id-number",
        );
        let batch = app
            .call(
                Method::POST,
                "/v1/registry/citizens/lookup",
                Some(&officer),
                Some(json!({ "id_numbers": ["001090012345", "079195000123", "001090099999"] })),
            )
            .await;
        assert_eq!(
            batch.body["citizens"].as_array().unwrap().len(),
            2,
            "{}",
            batch.text
        );
        assert_eq!(batch.body["not_found"], json!(["001090099999"]));
        let history = app
            .call(Method::GET, "/v1/me/history", Some(&citizen), None)
            .await;
        let viewed = history
            .body
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["action"] == "registry.viewed")
            .unwrap();
        assert_eq!(viewed["actor"], "staff");
    }
}

#[tokio::test]
async fn bulk_look_ups_are_audited_per_citizen_and_limited_per_officer() {
    for db in databases().await {
        let app = TestApp::with_config(&db, |c| c.registry.records_per_window = 1_003).await;
        let (citizen, _) = signed_in_citizen(&app).await;
        let officer = staff_session(&app, Role::Officer).await;
        let lookup = |ids: Vec<String>| {
            let officer = officer.clone();
            let app = &app;
            async move {
                app.call(
                    Method::POST,
                    "/v1/registry/citizens/lookup",
                    Some(&officer),
                    Some(json!({ "id_numbers": ids })),
                )
                .await
            }
        };
        let single = |token: String| {
            let app = &app;
            async move {
                app.call(
                    Method::GET,
                    "/v1/registry/citizens/079195000123",
                    Some(&token),
                    None,
                )
                .await
            }
        };

        // 1,000 records at once: each citizen's history shows the look-up, as a single one would.
        let mut ids: Vec<String> = (0..999).map(|i| format!("001090{i:06}")).collect();
        ids.push("001090012345".into());
        let batch = lookup(ids).await;
        assert_eq!(batch.status, StatusCode::OK, "{}", batch.text);
        assert_eq!(batch.body["citizens"].as_array().unwrap().len(), 1);
        let history = app
            .call(Method::GET, "/v1/me/history", Some(&citizen), None)
            .await;
        let viewed: Vec<&Value> = history
            .body
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["action"] == "registry.viewed")
            .collect();
        assert_eq!(viewed.len(), 1, "{}", history.text);
        assert_eq!(viewed[0]["actor"], "staff");
        assert_eq!(viewed[0]["detail"]["lookup"], "batch");
        assert_eq!(viewed[0]["detail"]["found"], true);
        let report = dinhdanh_server::domain::audit::verify(&app.store)
            .await
            .unwrap();
        assert!(report.intact(), "{}: {:?}", db.name, report.problems);
        let audited = app
            .store
            .audit_heads()
            .await
            .unwrap()
            .iter()
            .map(|h| h.seq)
            .sum::<i64>();
        assert!(audited >= 1_000, "{audited} audit entries");

        // Over the officer's allowance (1,003 records per window): 429 with Retry-After, and
        // nothing is read or audited.
        let over = lookup((0..4).map(|i| format!("079195{i:06}")).collect()).await;
        assert_problem(&over, StatusCode::TOO_MANY_REQUESTS, "rate-limited");
        let retry_after: i64 = over.headers["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=3_600).contains(&retry_after), "{retry_after}");
        assert!(over.body.get("citizens").is_none());
        assert_eq!(single(officer.clone()).await.status, StatusCode::OK);
        let two = lookup(vec!["079195000001".into(), "079195000002".into()]).await;
        assert_eq!(two.status, StatusCode::OK, "{}", two.text);
        let refused = single(officer.clone()).await;
        assert_problem(&refused, StatusCode::TOO_MANY_REQUESTS, "rate-limited");
        assert!(refused.headers.contains_key("retry-after"));
        // The allowance is the officer's own.
        let colleague = staff_session(&app, Role::Officer).await;
        assert_eq!(single(colleague).await.status, StatusCode::OK);
    }
}

#[tokio::test]
async fn health_metrics_openapi_and_well_known() {
    for db in databases().await {
        let app = TestApp::with_config(&db, |c| {
            c.apps.android_package = Some("vn.dinhdanh.wallet".into());
            c.apps.android_sha256_cert_fingerprints = vec!["AA:BB".into()];
            c.apps.apple_app_ids = vec!["TEAM.vn.dinhdanh.wallet".into()];
        })
        .await;
        assert_eq!(
            app.call(Method::GET, "/health/live", None, None)
                .await
                .status,
            StatusCode::OK
        );
        assert_eq!(
            app.call(Method::GET, "/health/ready", None, None)
                .await
                .body["status"],
            "ready"
        );
        start(&app, an()).await;
        let metrics = app.call(Method::GET, "/metrics", None, None).await;
        assert!(metrics.text.contains("dinhdanh_http_requests_total{route=\"/v1/enrolments\",method=\"POST\",status=\"202\"} 1"), "{}", metrics.text);
        assert!(
            metrics.text.contains(
                "dinhdanh_http_request_duration_seconds_count{route=\"/v1/enrolments\"} 1"
            )
        );
        let openapi = app.call(Method::GET, "/openapi.json", None, None).await;
        assert_eq!(openapi.body["openapi"], "3.1.0");
        for (method, route, _) in ACCESS {
            let operation = &openapi.body["paths"][route][method.to_lowercase()];
            assert!(
                operation.is_object(),
                "{method} {route} is missing from the OpenAPI document"
            );
        }
        // And the other way: no /v1 operation escapes the role table the access test walks.
        for (route, operations) in openapi.body["paths"].as_object().unwrap() {
            for method in operations
                .as_object()
                .unwrap()
                .keys()
                .filter(|_| route.starts_with("/v1/"))
            {
                let listed = ACCESS
                    .iter()
                    .any(|(m, r, _)| r == route && m.eq_ignore_ascii_case(method));
                assert!(listed, "{method} {route} is not in routes::ACCESS");
            }
        }
        let links = app
            .call(Method::GET, "/.well-known/assetlinks.json", None, None)
            .await;
        assert_eq!(
            links.body[0]["target"]["package_name"],
            "vn.dinhdanh.wallet"
        );
        let apple = app
            .call(
                Method::GET,
                "/.well-known/apple-app-site-association",
                None,
                None,
            )
            .await;
        assert_eq!(
            apple.body["webcredentials"]["apps"][0],
            "TEAM.vn.dinhdanh.wallet"
        );
    }
}

#[tokio::test]
async fn the_portal_renders_and_escapes() {
    for db in databases().await {
        let app = TestApp::new(&db).await;
        let home = app.call(Method::GET, "/", None, None).await;
        assert_eq!(home.status, StatusCode::OK);
        assert!(home.text.contains("id=\"enrol-form\""));
        assert!(home.headers.get(header::CONTENT_SECURITY_POLICY).is_some());
        let account = app.call(Method::GET, "/account", None, None).await;
        assert_eq!(account.status, StatusCode::SEE_OTHER);
        let (token, _) = signed_in_citizen(&app).await;
        let request = Request::builder()
            .uri("/account")
            .header(header::COOKIE, format!("dinhdanh_session={token}"))
            .body(Body::empty())
            .unwrap();
        let page = app.send(request).await;
        assert!(page.text.contains("Nguyễn Văn An"), "{}", page.text);
        assert!(page.text.contains("passkey.added"));
        assert_eq!(
            dinhdanh_server::http::portal::escape("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
        assert_eq!(
            app.call(Method::GET, "/assets/portal.js", None, None)
                .await
                .status,
            StatusCode::OK
        );
    }
}

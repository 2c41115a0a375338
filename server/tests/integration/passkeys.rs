//! Passkeys through the API with a software authenticator: registration, sign-in, replay,
//! counter regression, several passkeys, revocation.

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::support::{
    ORIGIN, SignIn, TestApp, an, assert_problem, authenticator::SoftAuthenticator, databases,
    enrol_confirmed, finish_registration, finish_setup, register_passkey, sign_in,
    signed_in_citizen,
};

#[tokio::test]
async fn enrol_register_sign_out_sign_in() {
    for db in databases().await {
        let app = TestApp::new(&db).await;
        let confirmed = enrol_confirmed(&app, an()).await;
        let setup = confirmed["token"].as_str().unwrap().to_owned();
        // A setup session can do one thing: register a passkey.
        assert_problem(
            &app.call(Method::GET, "/v1/me", Some(&setup), None).await,
            StatusCode::FORBIDDEN,
            "forbidden",
        );
        // The confirmation started the registration: complete it.
        let mut authenticator = SoftAuthenticator::new("localhost", ORIGIN);
        let started = &confirmed["passkey_registration"];
        let registered = finish_registration(&app, &setup, started, &mut authenticator).await;
        assert_eq!(
            registered.status,
            StatusCode::CREATED,
            "{}: {}",
            db.name,
            registered.text
        );
        assert_eq!(registered.body["session"]["role"], "citizen");
        assert!(registered.headers.get("set-cookie").is_some());
        // The setup session ended when it was exchanged.
        assert_problem(
            &app.call(
                Method::POST,
                "/v1/passkeys/registrations",
                Some(&setup),
                None,
            )
            .await,
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
        );
        let token = registered.body["session"]["token"].as_str().unwrap();
        let me = app.call(Method::GET, "/v1/me", Some(token), None).await;
        assert_eq!(me.body["display_name"], "Nguyễn Văn An");
        assert_eq!(me.body["assurance_level"], 1);
        assert_eq!(me.body["phone"], "***678");

        let out = app
            .call(Method::DELETE, "/v1/sessions/current", Some(token), None)
            .await;
        assert_eq!(out.status, StatusCode::NO_CONTENT);
        assert_eq!(
            app.call(Method::GET, "/v1/me", Some(token), None)
                .await
                .status,
            StatusCode::UNAUTHORIZED
        );

        let signed_in = sign_in(&app, &mut authenticator).await;
        assert_eq!(
            signed_in.status,
            StatusCode::CREATED,
            "{}: {}",
            db.name,
            signed_in.text
        );
        assert_eq!(signed_in.body["role"], "citizen");
        let token = signed_in.body["token"].as_str().unwrap();
        let passkeys = app
            .call(Method::GET, "/v1/me/passkeys", Some(token), None)
            .await;
        assert_eq!(passkeys.body[0]["sign_count"], 1);
        assert!(passkeys.body[0]["last_used_at"].is_string());

        let history = app
            .call(Method::GET, "/v1/me/history", Some(token), None)
            .await;
        let actions: Vec<&str> = history
            .body
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["action"].as_str().unwrap())
            .collect();
        for expected in [
            "account.created",
            "session.setup",
            "passkey.added",
            "session.signed_in",
        ] {
            assert!(actions.contains(&expected), "{}: {actions:?}", db.name);
        }
    }
}

#[tokio::test]
async fn ceremonies_are_single_use() {
    for db in databases().await {
        let app = TestApp::new(&db).await;
        let (_, mut authenticator) = signed_in_citizen(&app).await;
        let sign_in = SignIn::start(&app).await;
        let credential = authenticator.get(&sign_in.options);
        let first = sign_in.finish(&app, &credential).await;
        assert_eq!(first.status, StatusCode::CREATED, "{}", first.text);
        let replay = sign_in.finish(&app, &credential).await;
        assert_problem(&replay, StatusCode::BAD_REQUEST, "ceremony-expired");
        // An assertion made for one challenge does not complete another ceremony.
        let other = SignIn::start(&app).await;
        let stale = other.finish(&app, &credential).await;
        assert_problem(&stale, StatusCode::BAD_REQUEST, "passkey-rejected");
    }
}

#[tokio::test]
async fn a_counter_going_backwards_is_refused() {
    for db in databases().await {
        let app = TestApp::new(&db).await;
        let (_, mut authenticator) = signed_in_citizen(&app).await;
        assert_eq!(
            sign_in(&app, &mut authenticator).await.status,
            StatusCode::CREATED
        );
        // A clone of the authenticator replays the same counter value.
        let sign_in = SignIn::start(&app).await;
        let cloned = authenticator.assert(&sign_in.options);
        let reply = sign_in.finish(&app, &cloned).await;
        assert_problem(&reply, StatusCode::BAD_REQUEST, "passkey-rejected");
    }
}

#[tokio::test]
async fn user_verification_is_required() {
    for db in databases().await {
        let app = TestApp::new(&db).await;
        let setup = enrol_confirmed(&app, an()).await;
        let mut authenticator = SoftAuthenticator::new("localhost", ORIGIN);
        authenticator.drop_flags = 0x04; // UV
        let reply = finish_setup(&app, &setup, &mut authenticator).await;
        assert_problem(&reply, StatusCode::BAD_REQUEST, "passkey-rejected");
        assert!(
            app.store
                .passkeys(
                    &app.store
                        .account_by_id_number("001090012345")
                        .await
                        .unwrap()
                        .unwrap()
                        .id
                )
                .await
                .unwrap()
                .is_empty()
        );
    }
}

#[tokio::test]
async fn several_passkeys_listed_and_revoked_but_never_the_last() {
    for db in databases().await {
        let app = TestApp::new(&db).await;
        let (token, _) = signed_in_citizen(&app).await;
        let mut second = SoftAuthenticator::new("localhost", ORIGIN);
        let added = register_passkey(&app, &token, &mut second).await;
        assert_eq!(added.status, StatusCode::CREATED, "{}", added.text);
        assert!(added.body.get("session").is_none());
        let list = app
            .call(Method::GET, "/v1/me/passkeys", Some(&token), None)
            .await;
        assert_eq!(list.body.as_array().unwrap().len(), 2);
        let second_id = added.body["passkey"]["id"].as_str().unwrap();
        let revoked = app
            .call(
                Method::DELETE,
                &format!("/v1/me/passkeys/{second_id}"),
                Some(&token),
                None,
            )
            .await;
        assert_eq!(revoked.status, StatusCode::NO_CONTENT);
        // A revoked passkey no longer signs in.
        assert_problem(
            &sign_in(&app, &mut second).await,
            StatusCode::UNAUTHORIZED,
            "unknown-passkey",
        );
        // Both were made in the same second: the list orders them by id, so find the other one.
        let first_id = list
            .body
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["id"].as_str().unwrap())
            .find(|id| *id != second_id)
            .unwrap();
        let last = app
            .call(
                Method::DELETE,
                &format!("/v1/me/passkeys/{first_id}"),
                Some(&token),
                None,
            )
            .await;
        assert_problem(&last, StatusCode::CONFLICT, "last-passkey");
        let again = app
            .call(
                Method::DELETE,
                &format!("/v1/me/passkeys/{second_id}"),
                Some(&token),
                None,
            )
            .await;
        assert_problem(&again, StatusCode::NOT_FOUND, "not-found");
    }
}

#[tokio::test]
async fn staff_invitation_registers_an_officer_passkey() {
    for db in databases().await {
        let app = TestApp::new(&db).await;
        let services = dinhdanh_server::app::setup::services(
            app.store.clone(),
            dinhdanh_server::platform::config::Config::default(),
            &app.data_dir,
            ORIGIN.to_owned(),
        )
        .unwrap();
        let invitation = dinhdanh_server::domain::staff::add(
            &services,
            dinhdanh_server::store::AccountRole::Officer,
            "Trung úy Hoàng Văn Nam",
        )
        .await
        .unwrap();
        let token = invitation.link.split('#').nth(1).unwrap();
        assert!(
            invitation
                .link
                .starts_with(&format!("{ORIGIN}/staff/enrol#"))
        );
        let redeemed = app
            .call(
                Method::POST,
                "/v1/staff/invitations/redeem",
                None,
                Some(json!({ "token": token })),
            )
            .await;
        assert_eq!(redeemed.status, StatusCode::CREATED, "{}", redeemed.text);
        let again = app
            .call(
                Method::POST,
                "/v1/staff/invitations/redeem",
                None,
                Some(json!({ "token": token })),
            )
            .await;
        assert_problem(&again, StatusCode::BAD_REQUEST, "invalid-invitation");
        let mut authenticator = SoftAuthenticator::new("localhost", ORIGIN);
        let registered = finish_setup(&app, &redeemed.body, &mut authenticator).await;
        assert_eq!(
            registered.body["session"]["role"], "officer",
            "{}",
            registered.text
        );
        let signed_in = sign_in(&app, &mut authenticator).await;
        assert_eq!(signed_in.body["role"], "officer");
    }
}

#[tokio::test]
async fn a_credential_registered_twice_is_refused() {
    for db in databases().await {
        let app = TestApp::new(&db).await;
        let (token, mut authenticator) = signed_in_citizen(&app).await;
        // On the same account, webauthn-rs refuses a credential the options excluded.
        let again = register_passkey(&app, &token, &mut authenticator).await;
        assert_problem(&again, StatusCode::BAD_REQUEST, "passkey-rejected");
        // On another account, the unique credential id refuses it.
        let other = enrol_confirmed(
            &app,
            crate::support::enrolment(
                "079195000123",
                "Trần Thị Bích Ngọc",
                "1995-07-14",
                "0987654321",
            ),
        )
        .await;
        let stolen = finish_setup(&app, &other, &mut authenticator).await;
        assert_problem(&stolen, StatusCode::CONFLICT, "passkey-exists");
        let list = app
            .call(Method::GET, "/v1/me/passkeys", Some(&token), None)
            .await;
        assert_eq!(list.body.as_array().unwrap().len(), 1, "{}", db.name);
    }
}

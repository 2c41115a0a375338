//! Account recovery: a citizen locked out (a lost phone, lost passkeys, a setup never finished)
//! gets back in with a code to a registered phone, plus a fresh chip check or an officer to keep
//! level 2; the old passkeys, devices and credentials end with it.

use axum::http::{Method, StatusCode};
use dinhdanh_sdk::icao::dev::{CardFactory, CardHolder};
use dinhdanh_server::domain::sessions::Role;
use serde_json::{Value, json};

use crate::{
    level2::{AN, app_trusting, now, upload},
    support::{
        ORIGIN, Reply, TestApp, an, assert_problem,
        authenticator::SoftAuthenticator,
        databases, enrol_confirmed, finish_registration, finish_setup, sign_in, signed_in_citizen,
        staff_session,
        wallet::{Access, credentials, nonce, redeem, request_credentials},
    },
};

/// Starts a recovery for `request` and confirms its code: the confirmation's reply.
pub async fn confirm_recovery(app: &TestApp, request: Value) -> Reply {
    let sent = app.sms_count();
    let started = app
        .call(Method::POST, "/v1/recoveries", None, Some(request))
        .await;
    assert_eq!(started.status, StatusCode::ACCEPTED, "{}", started.text);
    let keys: Vec<&String> = started.body.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["recovery_id", "expires_at", "code_length"]);
    let id = started.body["recovery_id"].as_str().unwrap();
    let code = app.code_after(sent).await;
    app.call(
        Method::POST,
        &format!("/v1/recoveries/{id}/confirm"),
        None,
        Some(json!({ "code": code })),
    )
    .await
}

/// A recovery session for the citizen of `request` (who has an account): its recovery id and
/// token.
pub async fn recovery_session(app: &TestApp, request: Value) -> (String, String) {
    let confirmed = confirm_recovery(app, request).await;
    assert_eq!(confirmed.status, StatusCode::CREATED, "{}", confirmed.text);
    assert_eq!(confirmed.body["role"], "recovery");
    (
        confirmed.body["recovery"]["recovery_id"]
            .as_str()
            .unwrap()
            .to_owned(),
        confirmed.body["token"].as_str().unwrap().to_owned(),
    )
}

fn actions(history: &Reply) -> Vec<String> {
    history
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_lost_phone_is_recovered_with_a_code_to_a_registered_phone() {
    for db in databases().await {
        let app = TestApp::new(&db).await;
        let (old_session, mut lost) = signed_in_citizen(&app).await;
        let key = dinhdanh_sdk::jose::Es256KeyPair::generate().unwrap();
        let device = app
            .call(
                Method::POST,
                "/v1/me/devices",
                Some(&old_session),
                Some(json!({ "name": "old phone", "holder_key": key.public_key().to_jwk() })),
            )
            .await;
        assert_eq!(device.status, StatusCode::CREATED, "{}", device.text);

        // Someone who only knows the card and picks their own phone gets nothing.
        let attacker = json!({ "id_number": "001090012345", "full_name": "Nguyễn Văn An",
            "date_of_birth": "1990-02-28", "phone": "0901234567" });
        let sent = app.sms_count();
        let refused = app
            .call(Method::POST, "/v1/recoveries", None, Some(attacker))
            .await;
        assert_eq!(refused.status, StatusCode::ACCEPTED);
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        assert_eq!(app.sms_count(), sent, "{}", db.name);

        let confirmed = confirm_recovery(&app, an()).await;
        assert_eq!(confirmed.status, StatusCode::CREATED, "{}", confirmed.text);
        assert_eq!(confirmed.body["role"], "recovery");
        assert_eq!(confirmed.body["recovery"]["evidence"], "sms_code");
        assert_eq!(confirmed.body["recovery"]["assurance_level_after"], 1);
        let token = confirmed.body["token"].as_str().unwrap();
        // A recovery session is no sign-in: the account, its history and devices stay closed.
        for path in ["/v1/me", "/v1/me/history", "/v1/me/devices"] {
            assert_problem(
                &app.call(Method::GET, path, Some(token), None).await,
                StatusCode::FORBIDDEN,
                "forbidden",
            );
        }
        let mut new_phone = SoftAuthenticator::new("localhost", ORIGIN);
        let registered = finish_registration(
            &app,
            token,
            &confirmed.body["passkey_registration"],
            &mut new_phone,
        )
        .await;
        assert_eq!(
            registered.status,
            StatusCode::CREATED,
            "{}: {}",
            db.name,
            registered.text
        );
        assert_eq!(registered.body["session"]["role"], "citizen");
        let session = registered.body["session"]["token"].as_str().unwrap();

        // The old passkey, session and device are gone; the new passkey signs in.
        assert_problem(
            &sign_in(&app, &mut lost).await,
            StatusCode::UNAUTHORIZED,
            "unknown-passkey",
        );
        assert_eq!(
            app.call(Method::GET, "/v1/me", Some(&old_session), None)
                .await
                .status,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            sign_in(&app, &mut new_phone).await.status,
            StatusCode::CREATED
        );
        let devices = app
            .call(Method::GET, "/v1/me/devices", Some(session), None)
            .await;
        assert!(
            devices
                .body
                .as_array()
                .unwrap()
                .iter()
                .all(|d| !d["revoked_at"].is_null()),
            "{}",
            devices.text
        );
        // The recovery is over: its session and ceremony are spent.
        assert_eq!(
            app.call(Method::GET, "/v1/me", Some(token), None)
                .await
                .status,
            StatusCode::UNAUTHORIZED
        );
        // The history shows it.
        let history = app
            .call(Method::GET, "/v1/me/history", Some(session), None)
            .await;
        let actions = actions(&history);
        for expected in ["account.recovery_started", "account.recovered"] {
            assert!(
                actions.iter().any(|a| a == expected),
                "{}: {actions:?}",
                db.name
            );
        }
        let recovered = history
            .body
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["action"] == "account.recovered")
            .unwrap();
        assert_eq!(recovered["detail"]["passkeys_revoked"], 1, "{recovered}");
        assert_eq!(recovered["detail"]["devices_revoked"], 1);
        assert_eq!(recovered["detail"]["evidence"], "sms_code");
    }
}

#[tokio::test]
async fn a_setup_never_finished_is_finished_with_a_new_code() {
    for db in databases().await {
        let app = TestApp::new(&db).await;
        // Confirmed, then the setup session expired unused (or the app was closed).
        let first = enrol_confirmed(&app, an()).await;
        let confirmed = confirm_recovery(&app, an()).await;
        assert_eq!(confirmed.status, StatusCode::CREATED, "{}", confirmed.text);
        assert_eq!(confirmed.body["role"], "setup");
        assert!(confirmed.body.get("recovery").is_none());
        assert_eq!(confirmed.body["account_id"], first["account_id"]);
        let mut phone = SoftAuthenticator::new("localhost", ORIGIN);
        let registered = finish_setup(&app, &confirmed.body, &mut phone).await;
        assert_eq!(
            registered.status,
            StatusCode::CREATED,
            "{}",
            registered.text
        );
        assert_eq!(registered.body["session"]["role"], "citizen");
        // The new code ended the first setup session: it adds no second passkey.
        let stale = finish_setup(
            &app,
            &first,
            &mut SoftAuthenticator::new("localhost", ORIGIN),
        )
        .await;
        assert_problem(&stale, StatusCode::UNAUTHORIZED, "unauthenticated");
    }
}

#[tokio::test]
async fn a_recovery_code_is_no_enrolment_code_and_the_reverse() {
    for db in databases().await {
        let app = TestApp::new(&db).await;
        let (_, _) = signed_in_citizen(&app).await;
        let sent = app.sms_count();
        let started = app
            .call(Method::POST, "/v1/recoveries", None, Some(an()))
            .await;
        let id = started.body["recovery_id"].as_str().unwrap();
        let code = app.code_after(sent).await;
        let as_enrolment = app
            .call(
                Method::POST,
                &format!("/v1/enrolments/{id}/confirm"),
                None,
                Some(json!({ "code": code })),
            )
            .await;
        assert_problem(&as_enrolment, StatusCode::GONE, "enrolment-closed");
        // Still good where it belongs.
        let right = app
            .call(
                Method::POST,
                &format!("/v1/recoveries/{id}/confirm"),
                None,
                Some(json!({ "code": code })),
            )
            .await;
        assert_eq!(right.status, StatusCode::CREATED, "{}", right.text);
        // Used once.
        let again = app
            .call(
                Method::POST,
                &format!("/v1/recoveries/{id}/confirm"),
                None,
                Some(json!({ "code": code })),
            )
            .await;
        assert_problem(&again, StatusCode::GONE, "enrolment-closed");
        // A citizen with no account gets no recovery code.
        let sent = app.sms_count();
        let ngoc = json!({ "id_number": "079195000123", "full_name": "Trần Thị Bích Ngọc",
            "date_of_birth": "1995-07-14", "phone": "0987654321" });
        let reply = app
            .call(Method::POST, "/v1/recoveries", None, Some(ngoc))
            .await;
        assert_eq!(reply.status, StatusCode::ACCEPTED);
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        assert_eq!(app.sms_count(), sent);
    }
}

/// A level-2 citizen holding a PID: the app, their session and passkey, and the account id.
async fn level2_citizen(
    app: &TestApp,
    factory: &CardFactory,
) -> (String, SoftAuthenticator, String) {
    let (session, authenticator) = signed_in_citizen(app).await;
    let card = factory.card(&AN).unwrap();
    let submitted = app
        .call(
            Method::POST,
            "/v1/me/level2",
            Some(&session),
            Some(upload(&card)),
        )
        .await;
    assert_eq!(submitted.status, StatusCode::ACCEPTED, "{}", submitted.text);
    let request_id = submitted.body["id"].as_str().unwrap();
    let officer = staff_session(app, Role::Officer).await;
    let decision = app
        .call(
            Method::POST,
            &format!("/v1/level2-requests/{request_id}/approve"),
            Some(&officer),
            None,
        )
        .await;
    assert_eq!(decision.status, StatusCode::OK, "{}", decision.text);
    let offer_uri = decision.body["offer"]["offer_uri"].as_str().unwrap();
    let tx_code = decision.body["offer"]["tx_code"].as_str().unwrap();
    let token = redeem(app, offer_uri, tx_code, None).await;
    let key = dinhdanh_sdk::jose::Es256KeyPair::generate().unwrap();
    let c_nonce = nonce(app).await;
    let issued = credentials(
        &request_credentials(app, Access::Bearer(&token), "pid", &[&key], &c_nonce).await,
    );
    assert_eq!(issued.len(), 1);
    let account = app
        .store
        .account_by_id_number("001090012345")
        .await
        .unwrap()
        .unwrap();
    (session, authenticator, account.id)
}

/// Completes a recovery session's registration with a new authenticator; the new session.
pub async fn complete(app: &TestApp, token: &str) -> String {
    let started = app
        .call(
            Method::POST,
            "/v1/passkeys/registrations",
            Some(token),
            None,
        )
        .await;
    assert_eq!(started.status, StatusCode::OK, "{}", started.text);
    let mut phone = SoftAuthenticator::new("localhost", ORIGIN);
    let registered = finish_registration(app, token, &started.body, &mut phone).await;
    assert_eq!(
        registered.status,
        StatusCode::CREATED,
        "{}",
        registered.text
    );
    registered.body["session"]["token"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn level_and_valid_copies(app: &TestApp, account_id: &str) -> (i64, usize) {
    let account = app.store.account(account_id).await.unwrap().unwrap();
    let valid = app
        .store
        .account_credentials(account_id)
        .await
        .unwrap()
        .iter()
        .filter(|c| c.status == dinhdanh_server::store::CredentialStatus::Valid)
        .count();
    (account.assurance_level.as_i64(), valid)
}

#[tokio::test]
async fn level_2_recovered_with_the_code_alone_drops_to_level_1() {
    for db in databases().await {
        let factory = CardFactory::valid_at(now()).unwrap();
        let app = app_trusting(&db, &factory).await;
        let (_, _, account) = level2_citizen(&app, &factory).await;
        assert_eq!(level_and_valid_copies(&app, &account).await, (2, 1));
        let (recovery_id, token) = recovery_session(&app, an()).await;
        let view = app
            .call(
                Method::GET,
                &format!("/v1/recoveries/{recovery_id}"),
                Some(&token),
                None,
            )
            .await;
        assert_eq!(view.body["assurance_level"], 2, "{}", view.text);
        assert_eq!(view.body["assurance_level_after"], 1);
        complete(&app, &token).await;
        assert_eq!(level_and_valid_copies(&app, &account).await, (1, 0));
    }
}

#[tokio::test]
async fn a_chip_check_alone_does_not_keep_level_2_an_officer_after_it_does() {
    for db in databases().await {
        let factory = CardFactory::valid_at(now()).unwrap();
        let app = app_trusting(&db, &factory).await;
        let (_, _, account) = level2_citizen(&app, &factory).await;
        let (recovery_id, token) = recovery_session(&app, an()).await;
        let path = format!("/v1/recoveries/{recovery_id}/chip");
        let chip = |body: Value| app.call(Method::POST, &path, Some(&token), Some(body));
        // Another person's card, or one from an untrusted state, is no evidence.
        let stranger = factory
            .card(&CardHolder {
                full_name: "Nguyễn Văn Anh",
                ..AN
            })
            .unwrap();
        assert_problem(
            &chip(upload(&stranger)).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "registry-mismatch",
        );
        let untrusted = CardFactory::valid_at(now()).unwrap().card(&AN).unwrap();
        assert_problem(
            &chip(upload(&untrusted)).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "chip-verification-failed",
        );
        let checked = chip(upload(&factory.card(&AN).unwrap())).await;
        assert_eq!(checked.status, StatusCode::OK, "{}", checked.text);
        assert_eq!(checked.body["evidence"], "chip");
        // Chip files are static and copied wherever the card was read: they replay.
        assert_eq!(checked.body["assurance_level_after"], 1);
        let officer = staff_session(&app, Role::Officer).await;
        let approve = format!("/v1/recoveries/{recovery_id}/approve");
        let approved = app.call(Method::POST, &approve, Some(&officer), None).await;
        assert_eq!(approved.body["evidence"], "officer", "{}", approved.text);
        assert_eq!(approved.body["assurance_level_after"], 2);
        // Evidence never goes down: a later chip upload leaves the approval in place.
        let again = chip(upload(&factory.card(&AN).unwrap())).await;
        assert_eq!(again.status, StatusCode::OK, "{}", again.text);
        assert_eq!(again.body["evidence"], "officer");
        let seen = app
            .call(
                Method::GET,
                &format!("/v1/recoveries/{recovery_id}"),
                Some(&token),
                None,
            )
            .await;
        assert_eq!(seen.body["evidence"], "officer", "{}", seen.text);
        let session = complete(&app, &token).await;
        // Level kept; the old credentials revoked and offered again for the new device.
        assert_eq!(level_and_valid_copies(&app, &account).await, (2, 0));
        let offers = app
            .call(Method::GET, "/v1/me/offers", Some(&session), None)
            .await;
        assert!(offers.text.contains("pid"), "{}", offers.text);
    }
}

#[tokio::test]
async fn level_2_recovered_at_a_counter_stays_level_2() {
    for db in databases().await {
        let factory = CardFactory::valid_at(now()).unwrap();
        let app = app_trusting(&db, &factory).await;
        let (_, _, account) = level2_citizen(&app, &factory).await;
        let (recovery_id, token) = recovery_session(&app, an()).await;
        let officer = staff_session(&app, Role::Officer).await;
        let path = format!("/v1/recoveries/{recovery_id}");
        let seen = app.call(Method::GET, &path, Some(&officer), None).await;
        assert_eq!(
            seen.body["citizen"]["full_name"], "Nguyễn Văn An",
            "{}",
            seen.text
        );
        // The recovery session cannot approve itself.
        let approve = format!("{path}/approve");
        assert_problem(
            &app.call(Method::POST, &approve, Some(&token), None).await,
            StatusCode::FORBIDDEN,
            "forbidden",
        );
        let approved = app.call(Method::POST, &approve, Some(&officer), None).await;
        assert_eq!(approved.status, StatusCode::OK, "{}", approved.text);
        assert_eq!(approved.body["evidence"], "officer");
        // A token someone held before the recovery (issued a second before it completes).
        let services = dinhdanh_server::app::setup::services(
            app.store.clone(),
            Default::default(),
            &app.data_dir,
            crate::support::ORIGIN.to_owned(),
        )
        .unwrap();
        let ttl = services.config.issuance.token_ttl_seconds;
        let old_token = dinhdanh_server::domain::issuance::access_token(
            &services,
            &dinhdanh_server::domain::issuance::AccessGrant {
                account_id: account.clone(),
                configuration_ids: vec!["pid".into()],
                jkt: None,
                expires_at: dinhdanh_server::platform::clock::now() - 1 + ttl,
                random: dinhdanh_server::platform::secrets::token(),
            },
        );
        let session = complete(&app, &token).await;
        // It acts for the old holder no longer, although the account kept level 2.
        let key = dinhdanh_sdk::jose::Es256KeyPair::generate().unwrap();
        let c_nonce = nonce(&app).await;
        let reply =
            request_credentials(&app, Access::Bearer(&old_token), "pid", &[&key], &c_nonce).await;
        crate::support::wallet::assert_oauth_error(
            &reply,
            StatusCode::UNAUTHORIZED,
            "invalid_token",
        );
        assert_eq!(level_and_valid_copies(&app, &account).await, (2, 0));
        let history = app
            .call(Method::GET, "/v1/me/history", Some(&session), None)
            .await;
        let actions = actions(&history);
        assert!(
            actions.iter().any(|a| a == "account.recovery_approved"),
            "{actions:?}"
        );
        // Completed: nothing more can be done with it.
        assert_problem(
            &app.call(Method::POST, &approve, Some(&officer), None).await,
            StatusCode::GONE,
            "recovery-closed",
        );
    }
}

#[tokio::test]
async fn a_recovery_session_completes_only_its_latest_registration() {
    for db in databases().await {
        let app = TestApp::new(&db).await;
        let _ = signed_in_citizen(&app).await;
        let (_, token) = recovery_session(&app, an()).await;
        // Two registrations started: the session is bound to the last one only.
        let first = app
            .call(
                Method::POST,
                "/v1/passkeys/registrations",
                Some(&token),
                None,
            )
            .await;
        let second = app
            .call(
                Method::POST,
                "/v1/passkeys/registrations",
                Some(&token),
                None,
            )
            .await;
        let mut a = SoftAuthenticator::new("localhost", ORIGIN);
        let stale = finish_registration(&app, &token, &first.body, &mut a).await;
        assert_problem(&stale, StatusCode::FORBIDDEN, "forbidden");
        let mut b = SoftAuthenticator::new("localhost", ORIGIN);
        let done = finish_registration(&app, &token, &second.body, &mut b).await;
        assert_eq!(done.status, StatusCode::CREATED, "{}", done.text);
        let account = app
            .store
            .account_by_id_number("001090012345")
            .await
            .unwrap()
            .unwrap();
        let active: Vec<_> = app
            .store
            .passkeys(&account.id)
            .await
            .unwrap()
            .into_iter()
            .filter(|p| p.revoked_at.is_none())
            .collect();
        assert_eq!(active.len(), 1, "{}", db.name);
    }
}

#[tokio::test]
async fn of_two_recoveries_completing_at_once_one_replaces_the_account() {
    for db in databases().await {
        let app = TestApp::new(&db).await;
        let _ = signed_in_citizen(&app).await;
        // Two recoveries of one account (two phones of the citizen, or the citizen and someone
        // holding their SIM), each with its registration started.
        let mut started = Vec::new();
        for _ in 0..2 {
            let confirmed = confirm_recovery(&app, an()).await;
            assert_eq!(confirmed.status, StatusCode::CREATED, "{}", confirmed.text);
            started.push((
                confirmed.body["token"].as_str().unwrap().to_owned(),
                confirmed.body["passkey_registration"].clone(),
            ));
        }
        let (mut a, mut b) = (
            SoftAuthenticator::new("localhost", ORIGIN),
            SoftAuthenticator::new("localhost", ORIGIN),
        );
        let (first, second) = tokio::join!(
            finish_registration(&app, &started[0].0, &started[0].1, &mut a),
            finish_registration(&app, &started[1].0, &started[1].1, &mut b),
        );
        let done: Vec<_> = [&first, &second]
            .into_iter()
            .filter(|r| r.status == StatusCode::CREATED)
            .collect();
        assert_eq!(
            done.len(),
            1,
            "{}: {} / {}",
            db.name,
            first.text,
            second.text
        );
        for reply in [&first, &second] {
            assert!(
                matches!(
                    reply.status,
                    StatusCode::CREATED | StatusCode::GONE | StatusCode::UNAUTHORIZED
                ),
                "{}",
                reply.text
            );
        }
        // The winner's passkey is the account's only one.
        let account = app
            .store
            .account_by_id_number("001090012345")
            .await
            .unwrap()
            .unwrap();
        let active = app
            .store
            .passkeys(&account.id)
            .await
            .unwrap()
            .into_iter()
            .filter(|p| p.revoked_at.is_none())
            .count();
        assert_eq!(active, 1, "{}", db.name);
    }
}

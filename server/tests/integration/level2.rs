//! Level 2: chip data checked by passive authentication and compared with the registry, then an
//! officer's approval (or rejection) through the API and the officer console page.

use axum::http::{Method, StatusCode};
use base64::Engine;
use dinhdanh_sdk::icao::dev::{CardFactory, CardHolder, TestCard};
use dinhdanh_server::domain::sessions::Role;
use serde_json::{Value, json};

use crate::support::{
    TestApp, TestDb, assert_problem, databases, enrol_confirmed, enrolment, finish_setup,
    signed_in_citizen, staff_session,
    wallet::{Access, credentials, nonce, redeem, request_credentials},
};

pub(crate) const AN: CardHolder<'static> = CardHolder {
    id_number: "001090012345",
    full_name: "Nguyễn Văn An",
    date_of_birth: "1990-02-28",
    sex: "male",
    place_of_origin: "Nam Định",
    place_of_residence: "Hà Nội",
};

pub(crate) fn now() -> u64 {
    dinhdanh_server::platform::clock::now() as u64
}

/// An app whose CSCA trust store holds `factory`'s CSCA.
pub(crate) async fn app_trusting(db: &TestDb, factory: &CardFactory) -> TestApp {
    let path = db.dir.path().join("csca-vn.pem");
    std::fs::write(&path, factory.csca_pem()).unwrap();
    TestApp::with_config(db, |config| config.csca_files = vec![path]).await
}

pub(crate) fn upload(card: &TestCard) -> Value {
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    json!({ "dg1": b64(&card.dg1), "dg2": b64(&card.dg2), "dg13": b64(&card.dg13), "sod": b64(&card.sod) })
}

#[tokio::test]
async fn chip_check_then_officer_approval_then_issuance() {
    for db in databases().await {
        let factory = CardFactory::valid_at(now()).unwrap();
        let app = app_trusting(&db, &factory).await;
        let (session, _) = signed_in_citizen(&app).await;
        let card = factory.card(&AN).unwrap();

        // Refused: altered data, another person's card, a card from an untrusted state, garbage.
        let mut altered = card.clone();
        altered.dg13 = factory
            .card(&CardHolder {
                full_name: "Nguyễn Văn Anh",
                ..AN
            })
            .unwrap()
            .dg13;
        let stranger = CardFactory::valid_at(now()).unwrap().card(&AN).unwrap();
        let other_person = factory
            .card(&CardHolder {
                id_number: "079195000123",
                ..AN
            })
            .unwrap();
        for (bad, kind) in [
            (upload(&altered), "chip-verification-failed"),
            (upload(&stranger), "chip-verification-failed"),
            (upload(&other_person), "not-their-card"),
        ] {
            let reply = app
                .call(Method::POST, "/v1/me/level2", Some(&session), Some(bad))
                .await;
            assert_problem(&reply, StatusCode::UNPROCESSABLE_ENTITY, kind);
        }
        let mut garbage = upload(&card);
        garbage["sod"] = json!("not base64!");
        let reply = app
            .call(Method::POST, "/v1/me/level2", Some(&session), Some(garbage))
            .await;
        assert_problem(&reply, StatusCode::BAD_REQUEST, "invalid-chip-data");
        // Level-1 gates hold meanwhile.
        let offer = app
            .call(
                Method::POST,
                "/v1/me/offers",
                Some(&session),
                Some(json!({ "credential_configuration_ids": ["pid"] })),
            )
            .await;
        assert_problem(&offer, StatusCode::FORBIDDEN, "level-2-required");

        // The real card.
        let submitted = app
            .call(
                Method::POST,
                "/v1/me/level2",
                Some(&session),
                Some(upload(&card)),
            )
            .await;
        assert_eq!(submitted.status, StatusCode::ACCEPTED, "{}", submitted.text);
        assert_eq!(submitted.body["status"], "pending");
        assert_eq!(submitted.body["registry"]["all"], true);
        assert_eq!(submitted.body["registry"]["name"], "exact");
        assert_eq!(submitted.body["chip"]["data_groups"], json!([1, 2, 13]));
        let request_id = submitted.body["id"].as_str().unwrap().to_owned();
        let again = app
            .call(
                Method::POST,
                "/v1/me/level2",
                Some(&session),
                Some(upload(&card)),
            )
            .await;
        assert_problem(&again, StatusCode::CONFLICT, "state-conflict");

        // The officer sees it, with the portrait, in the API and on the console page.
        let officer = staff_session(&app, Role::Officer).await;
        let pending = app
            .call(Method::GET, "/v1/level2-requests", Some(&officer), None)
            .await;
        assert_eq!(
            pending.body[0]["id"],
            request_id.as_str(),
            "{}",
            pending.text
        );
        assert_eq!(pending.body[0]["citizen"]["full_name"], "Nguyễn Văn An");
        let portrait = app
            .call(
                Method::GET,
                &format!("/v1/level2-requests/{request_id}/portrait"),
                Some(&officer),
                None,
            )
            .await;
        assert_eq!(portrait.status, StatusCode::OK);
        assert_eq!(portrait.headers["content-type"], "image/jpeg");
        let page = app
            .call(Method::GET, "/officer", Some(&officer), None)
            .await;
        assert!(page.text.contains(&request_id), "{}", page.text);
        assert!(page.text.contains("Nguyễn Văn An"));
        // The citizen's own session does not open the console.
        let page = app
            .call(Method::GET, "/officer", Some(&session), None)
            .await;
        assert_eq!(page.status, StatusCode::SEE_OTHER);

        // Approval: level 2, the portrait erased, a PID offer for the counter.
        let decision = app
            .call(
                Method::POST,
                &format!("/v1/level2-requests/{request_id}/approve"),
                Some(&officer),
                None,
            )
            .await;
        assert_eq!(decision.status, StatusCode::OK, "{}", decision.text);
        assert_eq!(decision.body["request"]["status"], "approved");
        let me = app.call(Method::GET, "/v1/me", Some(&session), None).await;
        assert_eq!(me.body["assurance_level"], 2);
        let portrait = app
            .call(
                Method::GET,
                &format!("/v1/level2-requests/{request_id}/portrait"),
                Some(&officer),
                None,
            )
            .await;
        assert_problem(&portrait, StatusCode::NOT_FOUND, "not-found");
        let twice = app
            .call(
                Method::POST,
                &format!("/v1/level2-requests/{request_id}/approve"),
                Some(&officer),
                None,
            )
            .await;
        assert_problem(&twice, StatusCode::CONFLICT, "state-conflict");
        let mine = app
            .call(Method::GET, "/v1/me/level2", Some(&session), None)
            .await;
        assert_eq!(mine.body["status"], "approved");

        // The counter offer works.
        let offer_uri = decision.body["offer"]["offer_uri"].as_str().unwrap();
        let tx_code = decision.body["offer"]["tx_code"].as_str().unwrap();
        let token = redeem(&app, offer_uri, tx_code, None).await;
        let key = dinhdanh_sdk::jose::Es256KeyPair::generate().unwrap();
        let c_nonce = nonce(&app).await;
        let issued = credentials(
            &request_credentials(&app, Access::Bearer(&token), "pid", &[&key], &c_nonce).await,
        );
        assert_eq!(issued.len(), 1);

        // The audit trail names the officer's approval.
        let history = app
            .call(Method::GET, "/v1/me/history", Some(&session), None)
            .await;
        let actions: Vec<&str> = history
            .body
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["action"].as_str().unwrap())
            .collect();
        for expected in [
            "level2.chip_refused",
            "level2.requested",
            "level2.approved",
            "credential.issued",
        ] {
            assert!(actions.contains(&expected), "{actions:?}");
        }
    }
}

#[tokio::test]
async fn rejection_needs_a_reason_and_allows_a_new_request() {
    for db in databases().await {
        let factory = CardFactory::valid_at(now()).unwrap();
        let app = app_trusting(&db, &factory).await;
        let setup = enrol_confirmed(
            &app,
            enrolment(
                "079195000123",
                "Trần Thị Bích Ngọc",
                "1995-07-14",
                "0987654321",
            ),
        )
        .await;
        let mut authenticator = crate::support::authenticator::SoftAuthenticator::new(
            "localhost",
            crate::support::ORIGIN,
        );
        let registered = finish_setup(&app, &setup, &mut authenticator).await;
        let session = registered.body["session"]["token"]
            .as_str()
            .unwrap()
            .to_owned();
        let holder = CardHolder {
            id_number: "079195000123",
            full_name: "Trần Thị Bích Ngọc",
            date_of_birth: "1995-07-14",
            sex: "female",
            place_of_origin: "Huế",
            place_of_residence: "TP. Hồ Chí Minh",
        };
        let card = factory.card(&holder).unwrap();
        let submitted = app
            .call(
                Method::POST,
                "/v1/me/level2",
                Some(&session),
                Some(upload(&card)),
            )
            .await;
        assert_eq!(submitted.status, StatusCode::ACCEPTED, "{}", submitted.text);
        let id = submitted.body["id"].as_str().unwrap().to_owned();
        let officer = staff_session(&app, Role::Officer).await;
        let path = format!("/v1/level2-requests/{id}/reject");
        let reply = app
            .call(
                Method::POST,
                &path,
                Some(&officer),
                Some(json!({ "reason": "" })),
            )
            .await;
        assert_problem(&reply, StatusCode::BAD_REQUEST, "reason-required");
        let reply = app
            .call(
                Method::POST,
                &path,
                Some(&officer),
                Some(json!({ "reason": "the person present was not the card holder" })),
            )
            .await;
        assert_eq!(
            reply.body["request"]["status"], "rejected",
            "{}",
            reply.text
        );
        assert!(reply.body.get("offer").is_none());
        let me = app.call(Method::GET, "/v1/me", Some(&session), None).await;
        assert_eq!(me.body["assurance_level"], 1);
        let mine = app
            .call(Method::GET, "/v1/me/level2", Some(&session), None)
            .await;
        assert_eq!(
            mine.body["reason"],
            "the person present was not the card holder"
        );
        // A new request may follow a rejection.
        let again = app
            .call(
                Method::POST,
                "/v1/me/level2",
                Some(&session),
                Some(upload(&card)),
            )
            .await;
        assert_eq!(again.status, StatusCode::ACCEPTED, "{}", again.text);
    }
}

#[tokio::test]
async fn an_expired_card_or_a_name_one_tone_mark_off_is_not_level_2_evidence() {
    for db in databases().await {
        let factory = CardFactory::valid_at(now()).unwrap();
        let app = app_trusting(&db, &factory).await;
        let (session, _) = signed_in_citizen(&app).await;

        // A genuine chip (passive authentication passes) of a card that expired on 2024-01-01.
        let expired = factory.card_expiring(&AN, "240101").unwrap();
        let reply = app
            .call(
                Method::POST,
                "/v1/me/level2",
                Some(&session),
                Some(upload(&expired)),
            )
            .await;
        assert_problem(&reply, StatusCode::UNPROCESSABLE_ENTITY, "card-expired");
        assert!(
            reply.body["detail"]
                .as_str()
                .unwrap()
                .contains("2024-01-01"),
            "{}",
            reply.text
        );

        // DG13 differs from the registry by one tone mark ("Án" for "An"): a different name,
        // not a match without diacritics.
        let card = factory
            .card(&CardHolder {
                full_name: "Nguyễn Văn Án",
                ..AN
            })
            .unwrap();
        let submitted = app
            .call(
                Method::POST,
                "/v1/me/level2",
                Some(&session),
                Some(upload(&card)),
            )
            .await;
        assert_eq!(submitted.status, StatusCode::ACCEPTED, "{}", submitted.text);
        assert_eq!(submitted.body["registry"]["name"], "mismatch");
        assert_eq!(submitted.body["registry"]["all"], false);
        let request_id = submitted.body["id"].as_str().unwrap().to_owned();

        // The officer sees the card's expiry.
        let yymmdd = dinhdanh_sdk::icao::dev::card_expiry(AN.date_of_birth, now() - 3600);
        let expires_on = format!("20{}-{}-{}", &yymmdd[..2], &yymmdd[2..4], &yymmdd[4..]);
        let officer = staff_session(&app, Role::Officer).await;
        let pending = app
            .call(Method::GET, "/v1/level2-requests", Some(&officer), None)
            .await;
        assert_eq!(
            pending.body[0]["chip"]["card_expires_on"],
            expires_on.as_str(),
            "{}",
            pending.text
        );
        let page = app
            .call(Method::GET, "/officer", Some(&officer), None)
            .await;
        assert!(
            page.text
                .contains(&format!("<dd class=\"card-expiry\">{expires_on}</dd>")),
            "{}",
            page.text
        );
        let approve = app
            .call(
                Method::POST,
                &format!("/v1/level2-requests/{request_id}/approve"),
                Some(&officer),
                None,
            )
            .await;
        assert_problem(&approve, StatusCode::CONFLICT, "registry-mismatch");
        let me = app.call(Method::GET, "/v1/me", Some(&session), None).await;
        assert_eq!(me.body["assurance_level"], 1);
    }
}

//! Account takeover and the registry oracle, as an attacker tried them: knowledge printed on the
//! ID card (ID number, name, date of birth) must never be enough to get a code, an account, or
//! a session for someone else's identity.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::{
    api::{confirm, start},
    support::{
        ORIGIN, TestApp, an, assert_problem, authenticator::SoftAuthenticator, databases,
        enrol_confirmed, enrolment, finish_registration, finish_setup,
    },
};

/// The SMS sink's messages, as `(to, text)`.
fn messages(app: &TestApp) -> Vec<(String, String)> {
    std::fs::read_to_string(app.data_dir.join("sms.log"))
        .unwrap_or_default()
        .lines()
        .map(|line| {
            let message: Value = serde_json::from_str(line).unwrap();
            (
                message["to"].as_str().unwrap().to_owned(),
                message["text"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// Waits until the sink holds `count` messages (codes go out off the request path), then a
/// little longer, so that a message that should not exist would have had time to appear.
async fn settle(app: &TestApp, count: usize) {
    for _ in 0..250 {
        if app.sms_count() >= count {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
}

#[tokio::test]
async fn a_code_goes_only_to_a_phone_registered_to_the_citizen() {
    for db in databases().await {
        let app = TestApp::new(&db).await;
        // The attacker knows the card's details and chooses the phone: nothing is sent, and the
        // answer is the one a registered phone gets.
        let attacker = enrolment("001090012345", "Nguyễn Văn An", "1990-02-28", "0901234567");
        let refused = start(&app, attacker).await;
        // The registered phone, spelled differently from the registry (`0912 345 678`).
        let citizen = enrolment(
            "001090012345",
            "Nguyễn Văn An",
            "1990-02-28",
            "+84 912.345.678",
        );
        let accepted = start(&app, citizen).await;
        for reply in [&refused, &accepted] {
            assert_eq!(reply.status, StatusCode::ACCEPTED, "{}", reply.text);
            let keys: Vec<&String> = reply.body.as_object().unwrap().keys().collect();
            assert_eq!(keys, ["enrolment_id", "expires_at", "code_length"]);
            assert_eq!(
                reply.headers.get("content-type"),
                accepted.headers.get("content-type")
            );
        }
        settle(&app, 1).await;
        let sent = messages(&app);
        assert_eq!(sent.len(), 1, "{}: {sent:?}", db.name);
        assert_eq!(sent[0].0, "+84912345678");
        // The attacker's enrolment can never succeed, even with a right code of another one.
        let code = app.first_code().await;
        let id = refused.body["enrolment_id"].as_str().unwrap();
        assert_problem(
            &confirm(&app, id, &code).await,
            StatusCode::BAD_REQUEST,
            "invalid-code",
        );
        // A citizen with no registered phone gets no code at all.
        let no_phone = enrolment("092305000042", "Đặng Thu Hà", "2005-03-21", "0912345678");
        let reply = start(&app, no_phone).await;
        assert_eq!(reply.status, StatusCode::ACCEPTED);
        settle(&app, 2).await;
        assert_eq!(app.sms_count(), 1, "{}", db.name);
    }
}

#[tokio::test]
async fn a_confirmed_account_is_never_re_attached() {
    for db in databases().await {
        let app = TestApp::with_config(&db, |c| c.enrolment.per_phone = 20).await;
        // The citizen confirms and is about to register their passkey.
        let citizen = enrol_confirmed(&app, an()).await;
        let setup = citizen["token"].as_str().unwrap();
        // A second enrolment of the same identity, even with a code that reached the registered
        // phone, gets no account and no session.
        let sent = app.sms_count();
        let again = start(&app, an()).await;
        let id = again.body["enrolment_id"].as_str().unwrap();
        let code = app.code_after(sent).await;
        let reply = confirm(&app, id, &code).await;
        assert_problem(&reply, StatusCode::CONFLICT, "account-exists");
        assert!(reply.body.get("token").is_none());

        // The setup token is good for the one ceremony it is bound to: another completes
        // nothing.
        let mut attacker = SoftAuthenticator::new("localhost", ORIGIN);
        let other = json!({
            "ceremony_id": "some-other-ceremony",
            "options": citizen["passkey_registration"]["options"],
        });
        assert_problem(
            &finish_registration(&app, setup, &other, &mut attacker).await,
            StatusCode::FORBIDDEN,
            "forbidden",
        );
        // A cancelled prompt or a slow citizen: the setup starts its registration again, which
        // re-binds the token; the first ceremony is then refused.
        let restarted = app
            .call(
                Method::POST,
                "/v1/passkeys/registrations",
                Some(setup),
                None,
            )
            .await;
        assert_eq!(restarted.status, StatusCode::OK, "{}", restarted.text);
        assert_problem(
            &finish_setup(&app, &citizen, &mut attacker).await,
            StatusCode::FORBIDDEN,
            "forbidden",
        );
        // The citizen's registration completes, with their authenticator.
        let mut phone = SoftAuthenticator::new("localhost", ORIGIN);
        let registered = finish_registration(&app, setup, &restarted.body, &mut phone).await;
        assert_eq!(
            registered.status,
            StatusCode::CREATED,
            "{}",
            registered.text
        );
        let account = app
            .store
            .account_by_id_number("001090012345")
            .await
            .unwrap()
            .unwrap();
        let passkeys = app.store.passkeys(&account.id).await.unwrap();
        assert_eq!(passkeys.len(), 1);
        // Later enrolments are refused too: the account is recovered, never enrolled again.
        let sent = app.sms_count();
        let later = start(&app, an()).await;
        let code = app.code_after(sent).await;
        let id = later.body["enrolment_id"].as_str().unwrap();
        assert_problem(
            &confirm(&app, id, &code).await,
            StatusCode::CONFLICT,
            "account-exists",
        );
        assert_eq!(app.store.passkeys(&account.id).await.unwrap().len(), 1);
    }
}

#[tokio::test]
async fn of_simultaneous_confirmations_one_creates_the_account() {
    for db in databases().await {
        let app = TestApp::with_config(&db, |c| c.enrolment.per_phone = 20).await;
        let mut pending = Vec::new();
        for _ in 0..8 {
            let sent = app.sms_count();
            let started = start(&app, an()).await;
            let code = app.code_after(sent).await;
            pending.push((
                started.body["enrolment_id"].as_str().unwrap().to_owned(),
                code,
            ));
        }
        let replies = futures_join(
            pending
                .iter()
                .map(|(id, code)| confirm(&app, id, code))
                .collect(),
        )
        .await;
        let created = replies
            .iter()
            .filter(|r| r.status == StatusCode::CREATED)
            .count();
        assert_eq!(created, 1, "{}", db.name);
        for reply in replies.iter().filter(|r| r.status != StatusCode::CREATED) {
            assert_problem(reply, StatusCode::CONFLICT, "account-exists");
        }
    }
}

/// Runs the futures concurrently on this task.
async fn futures_join<F: std::future::Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut set = Vec::with_capacity(futures.len());
    for f in futures {
        set.push(Box::pin(f));
    }
    let mut out: Vec<Option<F::Output>> = set.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut done = true;
        for (slot, future) in out.iter_mut().zip(set.iter_mut()) {
            if slot.is_none() {
                match future.as_mut().poll(cx) {
                    std::task::Poll::Ready(value) => *slot = Some(value),
                    std::task::Poll::Pending => done = false,
                }
            }
        }
        if done {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
    out.into_iter().map(|o| o.unwrap()).collect()
}

#[tokio::test]
async fn a_hundred_concurrent_guesses_count_as_a_hundred_attempts() {
    for db in databases().await {
        let app = TestApp::new(&db).await;
        let sent = app.sms_count();
        let started = start(&app, an()).await;
        let id = started.body["enrolment_id"].as_str().unwrap().to_owned();
        let code = app.code_after(sent).await;
        let wrong = if code == "000000" { "000001" } else { "000000" };
        let replies = futures_join((0..100).map(|_| confirm(&app, &id, wrong)).collect()).await;
        let checked = replies
            .iter()
            .filter(|r| r.status == StatusCode::BAD_REQUEST)
            .count();
        // Five attempts are allowed: four answer "wrong code", the fifth closes the enrolment,
        // and nothing beyond them is compared.
        assert_eq!(checked, 4, "{}", db.name);
        for reply in replies
            .iter()
            .filter(|r| r.status != StatusCode::BAD_REQUEST)
        {
            assert_problem(reply, StatusCode::GONE, "enrolment-closed");
        }
        let failures = app
            .store
            .history(&id, 1_000)
            .await
            .unwrap()
            .iter()
            .filter(|e| e.action == "enrolment.code_failed")
            .count();
        assert_eq!(failures, 5, "{}", db.name);
        // The right code is refused now.
        assert_problem(
            &confirm(&app, &id, &code).await,
            StatusCode::GONE,
            "enrolment-closed",
        );
    }
}

#[tokio::test]
async fn no_code_reaches_the_audit_log() {
    for db in databases().await {
        let app = TestApp::new(&db).await;
        let sent = app.sms_count();
        let started = start(&app, an()).await;
        let code = app.code_after(sent).await;
        let id = started.body["enrolment_id"].as_str().unwrap();
        confirm(&app, id, "999999").await;
        confirm(&app, id, &code).await;
        let account = app
            .store
            .account_by_id_number("001090012345")
            .await
            .unwrap()
            .unwrap();
        for subject in [id, account.id.as_str()] {
            for entry in app.store.history(subject, 1_000).await.unwrap() {
                assert!(!entry.detail.contains(&code), "{}", entry.detail);
            }
        }
    }
}

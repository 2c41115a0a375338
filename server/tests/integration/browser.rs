//! The portal journey in a real browser against a real server process: enrol, register a
//! passkey, sign out, sign in — headless Chromium with the DevTools virtual authenticator,
//! driven by playwright-core (`tests/browser/portal.mjs`).

use std::path::PathBuf;

use crate::support::{databases, start_server};

fn browser_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/browser")
}

/// Chromium and playwright-core, or why not. The test command installs both and sets
/// `DINHDANH_REQUIRE_BROWSER=1`, which turns their absence into a failure.
fn browser_available() -> bool {
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let missing = if !std::path::Path::new(&chromium).exists() {
        Some(format!("{chromium} not found"))
    } else if !browser_dir().join("node_modules/playwright-core").exists() {
        Some("tests/browser/node_modules/playwright-core not installed (npm ci --prefix tests/browser)".into())
    } else {
        None
    };
    match missing {
        None => true,
        Some(why) => {
            assert!(
                std::env::var("DINHDANH_REQUIRE_BROWSER").as_deref() != Ok("1"),
                "browser test required: {why}"
            );
            eprintln!("\n!!! browser test SKIPPED: {why} !!!\n");
            false
        }
    }
}

#[tokio::test]
async fn portal_journey_in_headless_chromium() {
    if !browser_available() {
        return;
    }
    for db in databases().await {
        let server = start_server(&db);
        let store = crate::support::store(&db).await;
        let demo = dinhdanh_server::app::setup::demo_citizen(&store)
            .await
            .unwrap()
            .expect("the seeded registry has a demo citizen");
        let output = tokio::process::Command::new("node")
            .current_dir(browser_dir())
            .arg("portal.mjs")
            .arg(&server.public_url)
            .arg(server.data_dir.join("sms.log"))
            .args([&demo.id_number, &demo.full_name, &demo.date_of_birth])
            .output()
            .await
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success() && stdout.contains("\"ok\":true"),
            "{}: the browser journey failed\nstdout: {stdout}\nstderr: {}",
            db.name,
            String::from_utf8_lossy(&output.stderr)
        );
        // The journey left an intact audit trail.
        let report = dinhdanh_server::domain::audit::verify(&store)
            .await
            .unwrap();
        assert!(report.intact() && report.entries >= 4, "{report:?}");
        assert!(
            server.terminate().success(),
            "{}: SIGTERM must shut the server down cleanly",
            db.name
        );
    }
}

/// The officer console: a citizen's chip request (made through the API), approved by an officer
/// in headless Chromium, with the officer's account activated from its one-time link.
#[tokio::test]
async fn officer_console_in_headless_chromium() {
    use axum::http::Method;
    use base64::Engine;
    use dinhdanh_journeys::{authenticator::SoftAuthenticator, client::Client};
    use dinhdanh_sdk::icao::dev::{CardFactory, CardHolder};
    use serde_json::json;

    if !browser_available() {
        return;
    }
    for db in databases().await {
        let now = dinhdanh_server::platform::clock::now() as u64;
        let factory = CardFactory::valid_at(now).unwrap();
        let trust = db.dir.path().join("trust").join("csca");
        std::fs::create_dir_all(&trust).unwrap();
        std::fs::write(trust.join("vn.pem"), factory.csca_pem()).unwrap();
        let server = start_server(&db);
        let store = crate::support::store(&db).await;
        let client = Client::new(&server.public_url);
        let demo = dinhdanh_server::app::setup::demo_citizen(&store)
            .await
            .unwrap()
            .expect("a demo citizen");

        // The citizen enrols and uploads the chip through the API.
        let started = client
            .json(
                Method::POST,
                "/v1/enrolments",
                None,
                Some(
                    &json!({ "id_number": demo.id_number, "full_name": demo.full_name,
                    "date_of_birth": demo.date_of_birth, "phone": "0912345678" }),
                ),
            )
            .await;
        let mut code = None;
        for _ in 0..500 {
            if let Ok(log) = std::fs::read_to_string(server.data_dir.join("sms.log"))
                && let Some(line) = log.lines().next()
            {
                let text: serde_json::Value = serde_json::from_str(line).unwrap();
                code = Some(
                    text["text"].as_str().unwrap().split("là ").nth(1).unwrap()[..6].to_owned(),
                );
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        let enrolment = started.body["enrolment_id"].as_str().unwrap();
        let confirmed = client
            .json(
                Method::POST,
                &format!("/v1/enrolments/{enrolment}/confirm"),
                None,
                Some(&json!({ "code": code.expect("a code was sent") })),
            )
            .await;
        let mut phone = SoftAuthenticator::new("localhost", &server.public_url);
        let registration = &confirmed.body["passkey_registration"];
        let credential = phone.create(&registration["options"]);
        let registered = client
            .json(
                Method::POST,
                &format!(
                    "/v1/passkeys/registrations/{}",
                    registration["ceremony_id"].as_str().unwrap()
                ),
                confirmed.body["token"].as_str(),
                Some(&json!({ "credential": credential, "name": "Phone" })),
            )
            .await;
        let session = registered.body["session"]["token"]
            .as_str()
            .unwrap()
            .to_owned();
        let card = factory
            .card(&CardHolder {
                id_number: &demo.id_number,
                full_name: &demo.full_name,
                date_of_birth: &demo.date_of_birth,
                sex: &demo.sex,
                place_of_origin: &demo.place_of_origin,
                place_of_residence: &demo.place_of_residence,
            })
            .unwrap();
        let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
        let submitted = client
            .json(
                Method::POST,
                "/v1/me/level2",
                Some(&session),
                Some(&json!({ "dg1": b64(&card.dg1), "dg2": b64(&card.dg2),
                    "dg13": b64(&card.dg13), "sod": b64(&card.sod) })),
            )
            .await;
        assert_eq!(
            submitted.status,
            axum::http::StatusCode::ACCEPTED,
            "{}",
            submitted.text
        );
        let request = submitted.body["id"].as_str().unwrap().to_owned();

        // The officer, from the operator command's one-time link.
        let output = crate::support::server_command(&db)
            .args(["officer", "add", "--name", "Cán bộ Lê Thị Hoa"])
            .output()
            .unwrap();
        let invitation: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        let token = invitation["enrolment_link"]
            .as_str()
            .unwrap()
            .split('#')
            .nth(1)
            .unwrap();
        let link = format!("{}/staff/enrol#{token}", server.public_url);
        let output = tokio::process::Command::new("node")
            .current_dir(browser_dir())
            .args(["officer.mjs", &server.public_url, &link, &request])
            .output()
            .await
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success() && stdout.contains("\"ok\":true"),
            "{}: the officer console failed\nstdout: {stdout}\nstderr: {}",
            db.name,
            String::from_utf8_lossy(&output.stderr)
        );
        let me = client
            .json(Method::GET, "/v1/me", Some(&session), None)
            .await;
        assert_eq!(me.body["assurance_level"], 2, "{}", db.name);
    }
}

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
        let demo = dinhdanh_server::setup::demo_citizen(&store)
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
        let report = dinhdanh_server::audit::verify(&store).await.unwrap();
        assert!(report.intact() && report.entries >= 4, "{report:?}");
        assert!(
            server.terminate().success(),
            "{}: SIGTERM must shut the server down cleanly",
            db.name
        );
    }
}

//! The operator commands of `dinhdanh-server`, as a real process on each backend.

use std::process::Output;

use serde_json::Value;

use crate::support::{TestDb, data, databases, server_command};

fn run(db: &TestDb, args: &[&str]) -> Output {
    server_command(db).args(args).output().unwrap()
}

fn json(output: &Output) -> Value {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

#[tokio::test]
async fn generate_then_import_then_reimport() {
    for db in databases().await {
        let file = db.dir.path().join("citizens.ndjson");
        let generated = run(
            &db,
            &[
                "registry",
                "generate",
                "--count",
                "2000",
                "--out",
                file.to_str().unwrap(),
                "--seed",
                "5",
            ],
        );
        assert!(generated.status.success());
        let first = json(&run(&db, &["registry", "import", file.to_str().unwrap()]));
        assert_eq!(
            (first["inserted"].as_i64(), first["rejected"].as_i64()),
            (Some(2000), Some(0)),
            "{}: {first}",
            db.name
        );
        let again = json(&run(&db, &["registry", "import", file.to_str().unwrap()]));
        assert_eq!(
            (again["inserted"].as_i64(), again["unchanged"].as_i64()),
            (Some(0), Some(2000))
        );
        let csv = json(&run(
            &db,
            &["registry", "import", data("mixed.csv").to_str().unwrap()],
        ));
        assert_eq!(csv["rejected"], 6);
        assert_eq!(csv["rejections"][0]["line"], 3);
        let missing = run(&db, &["registry", "import", "/nonexistent.ndjson"]);
        assert!(!missing.status.success());
    }
}

#[tokio::test]
async fn a_killed_import_leaves_the_previous_registry_intact() {
    for db in databases().await {
        let seeded = json(&run(
            &db,
            &[
                "registry",
                "import",
                data("citizens.ndjson").to_str().unwrap(),
            ],
        ));
        assert_eq!(seeded["inserted"], 5);
        let file = db.dir.path().join("big.ndjson");
        assert!(
            run(
                &db,
                &[
                    "registry",
                    "generate",
                    "--count",
                    "300000",
                    "--out",
                    file.to_str().unwrap()
                ]
            )
            .status
            .success()
        );
        let mut child = server_command(&db)
            .args(["registry", "import", file.to_str().unwrap()])
            .spawn()
            .unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(800)).await;
        assert!(
            child.try_wait().unwrap().is_none(),
            "{}: the import finished before it could be killed",
            db.name
        );
        child.kill().unwrap(); // SIGKILL: no cleanup runs
        child.wait().unwrap();
        let store = crate::support::store(&db).await;
        assert_eq!(store.citizen_count().await.unwrap(), 5, "{}", db.name);
        assert!(store.citizen("001090012345").await.unwrap().is_some());
        // And the database is healthy: the next import works.
        let after = json(&run(
            &db,
            &["registry", "import", data("mixed.csv").to_str().unwrap()],
        ));
        assert_eq!(after["unchanged"], 2);
    }
}

/// Ctrl-C (SIGINT) or SIGTERM during an import stops it cleanly: a message, exit 128 + the
/// signal, nothing imported, and the next import works.
#[tokio::test]
async fn an_interrupted_import_leaves_the_previous_registry_intact() {
    for db in databases().await {
        let seeded = json(&run(
            &db,
            &[
                "registry",
                "import",
                data("citizens.ndjson").to_str().unwrap(),
            ],
        ));
        assert_eq!(seeded["inserted"], 5);
        let file = db.dir.path().join("big.ndjson");
        let generated = run(
            &db,
            &[
                "registry",
                "generate",
                "--count",
                "300000",
                "--out",
                file.to_str().unwrap(),
            ],
        );
        assert!(generated.status.success());
        for (signal, code) in [("-INT", 130), ("-TERM", 143)] {
            let child = server_command(&db)
                .args(["registry", "import", file.to_str().unwrap()])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            tokio::time::sleep(std::time::Duration::from_millis(800)).await;
            let sent = std::process::Command::new("kill")
                .args([signal, &child.id().to_string()])
                .status()
                .unwrap();
            assert!(sent.success());
            let output = child.wait_with_output().unwrap();
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert_eq!(output.status.code(), Some(code), "{}: {stderr}", db.name);
            assert!(
                stderr.contains("nothing was imported, the registry is as it was"),
                "{}: {stderr}",
                db.name
            );
            assert!(
                output.stdout.is_empty(),
                "no report for an interrupted import"
            );
            let store = crate::support::store(&db).await;
            assert_eq!(store.citizen_count().await.unwrap(), 5, "{}", db.name);
            store.close().await;
        }
        let after = json(&run(
            &db,
            &["registry", "import", data("mixed.csv").to_str().unwrap()],
        ));
        assert_eq!(after["unchanged"], 2);
    }
}

/// Without a terminal, progress is JSON log lines on stderr (every `--progress-seconds`, and a
/// last one); stdout is the report alone, as scripts expect, and `generate` writes only NDJSON.
#[tokio::test]
async fn progress_goes_to_stderr_and_stdout_keeps_the_report() {
    for db in databases().await {
        // Progress lines are logged at `info`; the test kit's commands log warnings only.
        let run = |args: &[&str]| {
            server_command(&db)
                .env("DINHDANH_LOG", "info")
                .args(args)
                .output()
                .unwrap()
        };
        let generated = run(&["registry", "generate", "--count", "1500", "--seed", "8"]);
        assert!(generated.status.success());
        let rows: Vec<Value> = String::from_utf8(generated.stdout)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(rows.len(), 1500);
        assert!(
            progress_lines(&generated.stderr).any(|p| p["state"] == "done" && p["rows"] == 1500)
        );

        let file = db.dir.path().join("citizens.ndjson");
        std::fs::write(
            &file,
            rows.iter().map(|r| format!("{r}\n")).collect::<String>(),
        )
        .unwrap();
        let imported = run(&[
            "registry",
            "import",
            file.to_str().unwrap(),
            "--progress-seconds",
            "1",
        ]);
        let report = json(&imported);
        let keys: Vec<&String> = report.as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            [
                "import_id",
                "accepted",
                "inserted",
                "updated",
                "unchanged",
                "documents_accepted",
                "documents_written",
                "rejected",
                "rejections"
            ]
        );
        assert_eq!(report["inserted"], 1500, "{}", db.name);
        let last = progress_lines(&imported.stderr).last().unwrap();
        assert_eq!(last["state"], "done");
        assert_eq!(last["rows"], 1500);
        assert_eq!(last["percent"], 100);
        assert_eq!(last["bytes_read"], std::fs::metadata(&file).unwrap().len());
    }
}

/// The `progress` log lines among a command's stderr, as their fields.
fn progress_lines(stderr: &[u8]) -> impl Iterator<Item = Value> + '_ {
    stderr.split(|b| *b == b'\n').filter_map(|line| {
        let line: Value = serde_json::from_slice(line).ok()?;
        (line["fields"]["message"] == "progress").then(|| line["fields"].clone())
    })
}

#[tokio::test]
async fn staff_accounts_and_audit_verification() {
    for db in databases().await {
        assert!(run(&db, &["migrate"]).status.success());
        let officer = json(&run(
            &db,
            &[
                "officer",
                "add",
                "--name",
                "Trung úy Hoàng Văn Nam",
                "--public-url",
                "https://id.example.vn",
            ],
        ));
        assert_eq!(officer["role"], "officer");
        let link = officer["enrolment_link"].as_str().unwrap();
        assert!(
            link.starts_with("https://id.example.vn/staff/enrol#"),
            "{link}"
        );
        let admin = json(&run(&db, &["admin", "add", "--name", "Quản trị viên"]));
        assert!(
            admin["enrolment_link"]
                .as_str()
                .unwrap()
                .starts_with("http://localhost:8080/staff/enrol#")
        );
        let anchored = json(&run(&db, &["audit", "anchor"]));
        assert_eq!(anchored["anchored"], true, "{}: {anchored}", db.name);
        let verified = json(&run(&db, &["audit", "verify"]));
        assert_eq!(verified["problems"], serde_json::json!([]), "{}", db.name);
        assert!(verified["entries"].as_u64().unwrap() >= 2);
        assert_eq!(verified["anchors"], 1);
        assert_eq!(verified["latest_anchor"], anchored["hash"]);

        // An administrator with database access edits the log behind the server's back.
        crate::support::tamper(
            &db,
            &["UPDATE audit_log SET actor = 'someone-else' WHERE seq = 1"],
        )
        .await;
        let broken = run(&db, &["audit", "verify"]);
        assert!(
            !broken.status.success(),
            "{}: tampering went unnoticed",
            db.name
        );
        let report: Value = serde_json::from_slice(&broken.stdout).unwrap();
        assert!(
            report["problems"][0]
                .as_str()
                .unwrap()
                .contains("was altered"),
            "{report}"
        );
    }
}

/// `offer create` refuses a level-1 citizen and prints exactly `{"offer_uri", "tx_code"}` with
/// `--json` for a level-2 one; `dev level2` is refused outside a development data directory.
#[tokio::test]
async fn offer_create_and_the_development_shortcut() {
    for db in databases().await {
        let store = crate::support::store(&db).await;
        crate::support::seed(&store).await;
        // Here the database is configured (DATABASE_URL): not a development data directory.
        let refused = run(&db, &["dev", "level2", "--id-number", "001090012345"]);
        let refused_cert = run(
            &db,
            &[
                "dev",
                "signing-cert",
                "--id-number",
                "001090012345",
                "--csr",
                "/nonexistent",
            ],
        );
        assert!(!refused_cert.status.success());
        assert!(String::from_utf8_lossy(&refused_cert.stderr).contains("refused"));
        assert!(!refused.status.success(), "{}", db.name);
        assert!(String::from_utf8_lossy(&refused.stderr).contains("refused"));
        let nobody = run(
            &db,
            &[
                "offer",
                "create",
                "--id-number",
                "001090012345",
                "--config",
                "pid",
                "--json",
            ],
        );
        assert!(!nobody.status.success());

        // A level-1 account, then level 2.
        let account = dinhdanh_server::store::Account {
            id: "acc-an".into(),
            webauthn_user_id: "user-an".into(),
            role: dinhdanh_server::store::AccountRole::Citizen,
            id_number: Some("001090012345".into()),
            display_name: "Nguyễn Văn An".into(),
            phone: None,
            assurance_level: dinhdanh_server::store::AssuranceLevel::One,
            created_at: 0,
        };
        let event = dinhdanh_server::domain::audit::event(
            "operator",
            "account.created",
            "acc-an",
            serde_json::json!({}),
        );
        store.create_account(&account, &event).await.unwrap();
        let level1 = run(
            &db,
            &[
                "offer",
                "create",
                "--id-number",
                "001090012345",
                "--config",
                "pid",
                "--json",
            ],
        );
        assert!(!level1.status.success());
        assert!(
            String::from_utf8_lossy(&level1.stderr).contains("level-2"),
            "{}",
            String::from_utf8_lossy(&level1.stderr)
        );
        let event = dinhdanh_server::domain::audit::event(
            "operator",
            "level2.approved",
            "acc-an",
            serde_json::json!({}),
        );
        store
            .set_level2("acc-an", "operator", "test", 0, &event)
            .await
            .unwrap();
        let offer = json(&run(
            &db,
            &[
                "--public-url",
                "https://id.dinhdanh.example",
                "offer",
                "create",
                "--id-number",
                "001090012345",
                "--config",
                "pid",
                "--json",
            ],
        ));
        let keys: Vec<&String> = offer.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["offer_uri", "tx_code"]);
        assert!(
            offer["offer_uri"]
                .as_str()
                .unwrap()
                .starts_with("openid-credential-offer://?credential_offer=")
        );
        assert_eq!(offer["tx_code"].as_str().unwrap().len(), 6);
        let parsed =
            dinhdanh_sdk::openid4vci::offer::parse_offer_uri(offer["offer_uri"].as_str().unwrap())
                .unwrap();
        let dinhdanh_sdk::openid4vci::offer::OfferReference::Value(parsed) = parsed else {
            panic!("offer by value");
        };
        assert_eq!(parsed.credential_issuer, "https://id.dinhdanh.example");
        let unknown = run(
            &db,
            &[
                "offer",
                "create",
                "--id-number",
                "001090012345",
                "--config",
                "passport",
            ],
        );
        assert!(!unknown.status.success());
        // The operator's offer is audited.
        let history = store.history("acc-an", 10).await.unwrap();
        assert!(
            history
                .iter()
                .any(|e| e.action == "offer.created" && e.actor == "operator")
        );
    }
}

/// In a data directory made by the zero-config start, `dev level2` makes a level-2 account.
#[test]
fn dev_level2_in_a_development_data_directory() {
    let dir = tempfile::tempdir().unwrap();
    let server = || {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_dinhdanh-server"));
        command
            .arg("--data-dir")
            .arg(dir.path())
            .env_remove("DATABASE_URL")
            .env("DINHDANH_SEED_CITIZENS", "20")
            .env("DINHDANH_LOG", "warn");
        command
    };
    // The zero-config start: serve briefly (it seeds the registry and makes the keys).
    let mut serving = server()
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut lines =
        std::io::BufRead::lines(std::io::BufReader::new(serving.stdout.take().unwrap()));
    let _listening = lines.next().unwrap().unwrap();
    let demo = lines.next().unwrap().unwrap();
    let _ = serving.kill();
    let _ = serving.wait();
    let id_number = demo
        .split("id_number ")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap();
    let made = server()
        .args(["dev", "level2", "--id-number", id_number])
        .output()
        .unwrap();
    let made = json(&made);
    assert_eq!(made["assurance_level"], 2);
    assert_eq!(made["created"], true);
    let offer = json(
        &server()
            .args([
                "offer",
                "create",
                "--id-number",
                id_number,
                "--config",
                "driving_licence",
                "--json",
            ])
            .output()
            .unwrap(),
    );
    assert_eq!(offer["tx_code"].as_str().unwrap().len(), 6);

    // `dev signing-cert`: the chain for a request, leaf first, without the agency root.
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let csr = rcgen::CertificateParams::new(vec![])
        .unwrap()
        .serialize_request(&key)
        .unwrap();
    let csr_path = dir.path().join("request.pem");
    std::fs::write(&csr_path, csr.pem().unwrap()).unwrap();
    let issued = server()
        .args(["dev", "signing-cert", "--id-number", id_number, "--csr"])
        .arg(&csr_path)
        .output()
        .unwrap();
    assert!(
        issued.status.success(),
        "{}",
        String::from_utf8_lossy(&issued.stderr)
    );
    let chain =
        dinhdanh_sdk::x509::pem_to_der_chain(&String::from_utf8(issued.stdout).unwrap()).unwrap();
    assert_eq!(chain.len(), 2);
    let root = std::fs::read_to_string(dir.path().join("keys/agency-root.pem")).unwrap();
    let root = dinhdanh_sdk::x509::pem_to_der_chain(&root)
        .unwrap()
        .remove(0);
    assert!(!chain.contains(&root));
    let (_, leaf) = x509_parser::parse_x509_certificate(&chain[0]).unwrap();
    assert!(
        leaf.subject()
            .to_string()
            .contains(&format!("CCCD:{id_number}")),
        "{}",
        leaf.subject()
    );
    // The same key again is refused.
    let again = server()
        .args(["dev", "signing-cert", "--id-number", id_number, "--csr"])
        .arg(&csr_path)
        .output()
        .unwrap();
    assert!(!again.status.success());
}

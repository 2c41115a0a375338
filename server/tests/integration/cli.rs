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

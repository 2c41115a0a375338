//! The storage suite, run on every backend: registry import and re-import, atomicity,
//! ceremonies, rate limits, and the audit chains (tamper detection, concurrent appends).

use dinhdanh_server::{
    domain::audit,
    domain::registry::import::{Format, import_file, import_reader},
    store::{Ceremony, RelyingPartyKind, RelyingPartyRow, Store},
};
use serde_json::json;

use crate::support::{data, databases, seed, store};

#[tokio::test]
async fn migrations_are_idempotent() {
    for db in databases().await {
        let store = store(&db).await;
        assert!(store.migrate().await.unwrap().is_empty(), "{}", db.name);
    }
}

#[tokio::test]
async fn import_validates_each_row_and_reports_line_and_reason() {
    for db in databases().await {
        let store = store(&db).await;
        let report = import_file(
            &store,
            &dinhdanh_server::platform::config::IssuanceSettings::default(),
            &data("mixed.csv"),
            None,
        )
        .await
        .unwrap();
        assert_eq!(report.counts.accepted, 2, "{}: {report:?}", db.name);
        assert_eq!(report.counts.inserted, 2);
        assert_eq!(report.rejected, 6);
        let reasons: Vec<(u64, &str)> = report
            .rejections
            .iter()
            .map(|r| (r.line, r.reason.as_str()))
            .collect();
        let expected = [
            (3, "id_number: an ID number is 12 digits"),
            (
                4,
                "id_number: the ID number's year of birth digits do not match the date of birth",
            ),
            (6, "id_number: unknown province code 003"),
            (7, "duplicate id_number (first on line 2)"),
            (8, "date_of_birth: expected a past date as YYYY-MM-DD"),
            (9, "status: expected `living` or `deceased`"),
        ];
        assert_eq!(reasons, expected);
        let ngoc = store.citizen("079195000123").await.unwrap().unwrap();
        assert_eq!(ngoc.full_name, "Trần Thị Bích Ngọc");
        assert_eq!(ngoc.status, dinhdanh_server::store::CitizenStatus::Living);
        assert_eq!(store.citizen_count().await.unwrap(), 2);
    }
}

#[tokio::test]
async fn reimport_updates_changed_records_and_records_what_changed() {
    for db in databases().await {
        let store = store(&db).await;
        seed(&store).await;
        let update = "{\"id_number\":\"001090012345\",\"full_name\":\"Nguyễn Văn An\",\"date_of_birth\":\"1990-02-28\",\"sex\":\"male\",\"place_of_origin\":\"Tỉnh Nam Định\",\"place_of_residence\":\"Số 99 Trần Phú, Hà Nội\",\"status\":\"deceased\"}\n\
             {\"id_number\":\"079195000123\",\"full_name\":\"Trần Thị Bích Ngọc\",\"date_of_birth\":\"1995-07-14\",\"sex\":\"female\",\"place_of_origin\":\"Tỉnh Long An\",\"place_of_residence\":\"Số 5 Nguyễn Huệ, Hồ Chí Minh\"}\n\
             {\"id_number\":\"096199000001\",\"full_name\":\"Võ Thị Lan\",\"date_of_birth\":\"1999-03-01\",\"sex\":\"female\",\"place_of_origin\":\"Tỉnh Cà Mau\",\"place_of_residence\":\"Cà Mau\"}\n";
        let report = import_reader(
            &store,
            &dinhdanh_server::platform::config::IssuanceSettings::default(),
            std::io::Cursor::new(update.to_owned()),
            Format::Ndjson,
            "update",
        )
        .await
        .unwrap();
        assert_eq!(
            (
                report.counts.inserted,
                report.counts.updated,
                report.counts.unchanged
            ),
            (1, 1, 1),
            "{}",
            db.name
        );
        let an = store.citizen("001090012345").await.unwrap().unwrap();
        assert_eq!(an.status, dinhdanh_server::store::CitizenStatus::Deceased);
        assert_eq!(an.place_of_residence, "Số 99 Trần Phú, Hà Nội");
        let changes = store.registry_changes("001090012345").await.unwrap();
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].changed_fields, "place_of_residence,status");
        let previous: serde_json::Value = serde_json::from_str(&changes[0].previous).unwrap();
        assert_eq!(previous["place_of_residence"], "Số 12 Lê Lợi, Hà Nội");
        assert_eq!(previous["status"], "living");
        assert!(
            store
                .registry_changes("079195000123")
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(store.citizen_count().await.unwrap(), 6);
    }
}

#[tokio::test]
async fn registered_phones_are_imported_normalised_and_kept_when_a_source_omits_them() {
    for db in databases().await {
        let store = store(&db).await;
        seed(&store).await;
        let an = store.citizen("001090012345").await.unwrap().unwrap();
        assert_eq!(an.phones.as_deref(), Some("+84912345678"));
        let khoa = store.citizen("048203000777").await.unwrap().unwrap();
        assert_eq!(khoa.phones.as_deref(), Some("+84708333444 +84903111222"));
        let ha = store.citizen("092305000042").await.unwrap().unwrap();
        assert_eq!(ha.phones.as_deref(), Some(""));

        // A row without the field leaves the numbers; a row with them replaces them (and the
        // change is recorded, without making any credential stale); a bad number refuses the
        // row with its line and reason.
        let rows = "{\"id_number\":\"001090012345\",\"full_name\":\"Nguyễn Văn An\",\"date_of_birth\":\"1990-02-28\",\"sex\":\"male\",\"place_of_origin\":\"Tỉnh Nam Định\",\"place_of_residence\":\"Số 12 Lê Lợi, Hà Nội\"}\n\
             {\"id_number\":\"048203000777\",\"full_name\":\"Lê Minh Khoa\",\"date_of_birth\":\"2003-11-02\",\"sex\":\"male\",\"place_of_origin\":\"Thành phố Đà Nẵng\",\"place_of_residence\":\"Số 40 Bạch Đằng, Đà Nẵng\",\"phones\":[\"(+84) 903-111-222\"]}\n\
             {\"id_number\":\"079195000123\",\"full_name\":\"Trần Thị Bích Ngọc\",\"date_of_birth\":\"1995-07-14\",\"sex\":\"female\",\"place_of_origin\":\"Tỉnh Long An\",\"place_of_residence\":\"Số 5 Nguyễn Huệ, Hồ Chí Minh\",\"phones\":[\"0212345678\"]}\n";
        let report = import_reader(
            &store,
            &dinhdanh_server::platform::config::IssuanceSettings::default(),
            std::io::Cursor::new(rows.to_owned()),
            Format::Ndjson,
            "phones",
        )
        .await
        .unwrap();
        assert_eq!(report.rejected, 1, "{}: {report:?}", db.name);
        assert_eq!(report.rejections[0].line, 3);
        assert_eq!(
            report.rejections[0].reason,
            "phones: \"0212345678\" is not a Vietnamese mobile number"
        );
        assert_eq!(
            (report.counts.updated, report.counts.unchanged),
            (1, 1),
            "{}",
            db.name
        );
        let an = store.citizen("001090012345").await.unwrap().unwrap();
        assert_eq!(an.phones.as_deref(), Some("+84912345678"));
        let khoa = store.citizen("048203000777").await.unwrap().unwrap();
        assert_eq!(khoa.phones.as_deref(), Some("+84903111222"));
        let changes = store.registry_changes("048203000777").await.unwrap();
        assert_eq!(changes[0].changed_fields, "phones");
        assert_eq!(
            dinhdanh_server::domain::consequences::affected_kinds(&[changes[0]
                .changed_fields
                .clone()]),
            Some(Vec::new())
        );

        // CSV: one cell, the numbers separated by `;`; a lone number keeps its leading zero.
        let csv = "id_number,full_name,date_of_birth,sex,place_of_origin,place_of_residence,phones\n\
                   001090012345,Nguyễn Văn An,1990-02-28,male,Tỉnh Nam Định,\"Số 12 Lê Lợi, Hà Nội\",0912345678\n\
                   079195000123,Trần Thị Bích Ngọc,1995-07-14,female,Tỉnh Long An,\"Số 5 Nguyễn Huệ, Hồ Chí Minh\",0987 654 321; +84 333 000 111\n";
        let report = import_reader(
            &store,
            &dinhdanh_server::platform::config::IssuanceSettings::default(),
            std::io::Cursor::new(csv.to_owned()),
            Format::Csv,
            "csv",
        )
        .await
        .unwrap();
        assert_eq!(report.rejected, 0, "{report:?}");
        let ngoc = store.citizen("079195000123").await.unwrap().unwrap();
        assert_eq!(ngoc.phones.as_deref(), Some("+84333000111 +84987654321"));
        let an = store.citizen("001090012345").await.unwrap().unwrap();
        assert_eq!(an.phones.as_deref(), Some("+84912345678"));
    }
}

/// A reader that yields some rows and then fails, like a file on a disk that dies mid-import.
struct FailingReader {
    data: std::io::Cursor<Vec<u8>>,
}

impl std::io::Read for FailingReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self.data.read(buf)? {
            0 => Err(std::io::Error::other("disk failure")),
            n => Ok(n),
        }
    }
}

#[tokio::test]
async fn a_failed_import_commits_nothing() {
    for db in databases().await {
        let store = store(&db).await;
        seed(&store).await;
        let mut rows = Vec::new();
        dinhdanh_server::domain::registry::generate::write_ndjson(&mut rows, 9, 25_000, false)
            .unwrap();
        let reader = FailingReader {
            data: std::io::Cursor::new(rows),
        };
        let error = import_reader(
            &store,
            &dinhdanh_server::platform::config::IssuanceSettings::default(),
            reader,
            Format::Ndjson,
            "broken",
        )
        .await
        .unwrap_err();
        assert!(
            error.to_string().contains("disk failure"),
            "{}: {error}",
            db.name
        );
        assert_eq!(store.citizen_count().await.unwrap(), 5);
        // The store is usable afterwards: the next import works.
        let report = import_file(
            &store,
            &dinhdanh_server::platform::config::IssuanceSettings::default(),
            &data("mixed.csv"),
            None,
        )
        .await
        .unwrap();
        assert_eq!(report.counts.unchanged, 2);
    }
}

#[tokio::test]
async fn ceremonies_are_taken_once_and_expire() {
    for db in databases().await {
        let store = store(&db).await;
        let now = dinhdanh_server::platform::clock::now();
        let ceremony = |id: &str, expires_at| Ceremony {
            id: id.into(),
            kind: "registration".into(),
            account_id: None,
            state: "{}".into(),
            expires_at,
        };
        store.put_ceremony(&ceremony("a", now + 60)).await.unwrap();
        store.put_ceremony(&ceremony("b", now - 1)).await.unwrap();
        assert!(
            store
                .take_ceremony("a", "authentication", now)
                .await
                .unwrap()
                .is_none(),
            "{}",
            db.name
        );
        // Taking with the wrong kind does not consume it.
        assert!(
            store
                .take_ceremony("a", "registration", now)
                .await
                .unwrap()
                .is_some()
        );
        assert!(
            store
                .take_ceremony("a", "registration", now)
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            store
                .take_ceremony("b", "registration", now)
                .await
                .unwrap()
                .is_none()
        );
    }
}

#[tokio::test]
async fn rate_limit_windows() {
    for db in databases().await {
        let store = store(&db).await;
        let t = 1_800_000_000;
        assert_eq!(store.hit_rate_limit("k", t, 60).await.unwrap(), 1);
        assert_eq!(store.hit_rate_limit("k", t + 1, 60).await.unwrap(), 2);
        assert_eq!(store.hit_rate_limit("other", t + 1, 60).await.unwrap(), 1);
        assert_eq!(
            store.hit_rate_limit("k", t + 60, 60).await.unwrap(),
            1,
            "{}",
            db.name
        );
    }
}

fn relying_party(id: &str, dns: &str, serial: &str) -> RelyingPartyRow {
    RelyingPartyRow {
        id: id.into(),
        client_id: format!("x509_san_dns:{dns}"),
        name: "Nha mang".into(),
        registration_number: Some("0100109106".into()),
        kind: RelyingPartyKind::Telecom,
        dns_name: dns.into(),
        purpose: "SIM registration".into(),
        allowed: r#"[{"configuration_id":"pid","claims":["/given_name"]}]"#.into(),
        certificate: vec![0x30, 0x00],
        serial: serial.into(),
        key_thumbprint: format!("thumb-{serial}"),
        status_index: -1,
        created_at: 1_800_000_000,
        revoked_at: None,
        revocation_reason: None,
    }
}

#[tokio::test]
async fn relying_parties_get_status_indexes_and_one_active_party_per_client_id() {
    for db in databases().await {
        let store = store(&db).await;
        let event = |action: &str| dinhdanh_server::store::AuditEvent {
            at: 1_800_000_000,
            actor: "operator".into(),
            action: action.into(),
            subject: "rp".into(),
            detail: "{}".into(),
        };
        let first = relying_party("rp-1", "op.example.vn", "01");
        let registered = event("rp.registered");
        assert_eq!(
            store
                .insert_relying_party(&first, &registered)
                .await
                .unwrap(),
            0
        );
        let second = relying_party("rp-2", "bank.example.vn", "02");
        assert_eq!(
            store
                .insert_relying_party(&second, &registered)
                .await
                .unwrap(),
            1
        );
        // The same client id again, while the first holds it: refused, nothing stored.
        let again = relying_party("rp-3", "op.example.vn", "03");
        assert!(
            store
                .insert_relying_party(&again, &registered)
                .await
                .is_err(),
            "{}",
            db.name
        );
        // A key or serial certified before: refused.
        let mut same_key = relying_party("rp-4", "other.example.vn", "04");
        same_key.key_thumbprint = first.key_thumbprint.clone();
        assert!(
            store
                .insert_relying_party(&same_key, &registered)
                .await
                .is_err()
        );
        assert_eq!(store.relying_parties().await.unwrap().len(), 2);

        let revoked = event("rp.revoked");
        assert!(
            store
                .revoke_relying_party("rp-1", 1_800_000_100, "key compromise", &revoked)
                .await
                .unwrap()
        );
        assert!(
            !store
                .revoke_relying_party("rp-1", 1_800_000_200, "again", &revoked)
                .await
                .unwrap()
        );
        let held = store.relying_party("rp-1").await.unwrap().unwrap();
        assert_eq!(held.revoked_at, Some(1_800_000_100));
        assert_eq!(held.kind, RelyingPartyKind::Telecom);
        // Revoked, the name may be registered again (a new key), and the client id now finds
        // the new party.
        assert_eq!(
            store
                .insert_relying_party(&again, &registered)
                .await
                .unwrap(),
            2
        );
        let found = store
            .relying_party_by_client_id("x509_san_dns:op.example.vn")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(found.id, "rp-3", "{}", db.name);
        assert!(
            store
                .relying_party_by_client_id("x509_san_dns:nobody.vn")
                .await
                .unwrap()
                .is_none()
        );
    }
}

#[tokio::test]
async fn concurrent_registrations_of_different_parties_all_get_their_own_index() {
    for db in databases().await {
        let store = store(&db).await;
        let registered = dinhdanh_server::store::AuditEvent {
            at: 1_800_000_000,
            actor: "operator".into(),
            action: "rp.registered".into(),
            subject: "rp".into(),
            detail: "{}".into(),
        };
        let tasks: Vec<_> = (0..8)
            .map(|i| {
                let store = store.clone();
                let registered = registered.clone();
                tokio::spawn(async move {
                    let party = relying_party(
                        &format!("rp-{i}"),
                        &format!("p{i}.example.vn"),
                        &format!("{i:02}"),
                    );
                    store.insert_relying_party(&party, &registered).await
                })
            })
            .collect();
        let mut indexes = Vec::new();
        for task in tasks {
            indexes.push(
                task.await
                    .unwrap()
                    .unwrap_or_else(|e| panic!("{}: {e}", db.name)),
            );
        }
        indexes.sort_unstable();
        assert_eq!(indexes, (0..8).collect::<Vec<i64>>(), "{}", db.name);
    }
}

async fn append_events(store: &Store, n: usize) {
    for i in 0..n {
        let event = audit::event(
            "actor",
            "test.event",
            &format!("subject-{}", i % 7),
            json!({ "i": i }),
        );
        store.append_audit(&event).await.unwrap();
    }
}

#[tokio::test]
async fn concurrent_appends_keep_every_chain_intact() {
    for db in databases().await {
        let store = store(&db).await;
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let store = store.clone();
                tokio::spawn(async move { append_events(&store, 25).await })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        let report = audit::verify(&store).await.unwrap();
        assert!(report.intact(), "{}: {:?}", db.name, report.problems);
        assert_eq!(report.entries, 200);
    }
}

#[tokio::test]
async fn the_audit_log_refuses_changes_and_verify_detects_tampering() {
    for db in databases().await {
        let store = store(&db).await;
        append_events(&store, 30).await;
        assert!(audit::verify(&store).await.unwrap().intact());
        // The database itself refuses updates and deletes of the log.
        let chain = dinhdanh_server::store::chain_of("subject-1");
        let refused = if db.name == "sqlite" {
            let pool = sqlx::SqlitePool::connect(&db.url).await.unwrap();
            sqlx::query("DELETE FROM audit_log")
                .execute(&pool)
                .await
                .is_err()
        } else {
            let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
            sqlx::query("DELETE FROM audit_log")
                .execute(&pool)
                .await
                .is_err()
        };
        assert!(refused, "{}", db.name);

        let edit = format!(
            "UPDATE audit_log SET detail = '{{\"i\":999}}' WHERE chain = {chain} AND seq = 2"
        );
        let delete = format!("DELETE FROM audit_log WHERE chain = {chain} AND seq = 3");
        let reorder =
            format!("UPDATE audit_log SET at = at + 1000 WHERE chain = {chain} AND seq = 1");
        let truncate_tail = format!(
            "DELETE FROM audit_log WHERE chain = {chain} AND seq = (SELECT MAX(seq) FROM audit_log WHERE chain = {chain})"
        );
        for (what, statement) in [
            ("edit", edit),
            ("delete", delete),
            ("reorder", reorder),
            ("tail", truncate_tail),
        ] {
            let db2 = crate::support::databases()
                .await
                .into_iter()
                .find(|d| d.name == db.name)
                .unwrap();
            let fresh = crate::support::store(&db2).await;
            append_events(&fresh, 30).await;
            crate::support::tamper(&db2, &[&statement]).await;
            let report = audit::verify(&fresh).await.unwrap();
            assert!(!report.intact(), "{}: {what} went unnoticed", db.name);
        }
    }
}

#[tokio::test]
async fn anchors_catch_a_chain_deleted_with_its_head() {
    for db in databases().await {
        let store = store(&db).await;
        append_events(&store, 20).await;
        let now = dinhdanh_server::platform::clock::now();
        let first = store
            .anchor_audit(now)
            .await
            .unwrap()
            .expect("a first anchor");
        assert_eq!(first.seq, 1);
        // Nothing appended since: no new anchor.
        assert!(
            store.anchor_audit(now).await.unwrap().is_none(),
            "{}",
            db.name
        );
        append_events(&store, 5).await;
        let second = store
            .anchor_audit(now + 60)
            .await
            .unwrap()
            .expect("a second anchor");
        assert_eq!(second.prev_hash, first.hash);
        let report = audit::verify(&store).await.unwrap();
        assert!(report.intact(), "{}: {:?}", db.name, report.problems);
        assert_eq!(report.anchors, 2);
        assert_eq!(report.latest_anchor.as_deref().map(str::len), Some(64));

        // Removing a whole chain and its head leaves the chains consistent among themselves;
        // only the anchor still remembers it.
        let chain = dinhdanh_server::store::chain_of("subject-1");
        crate::support::tamper(
            &db,
            &[
                &format!("DELETE FROM audit_log WHERE chain = {chain}"),
                &format!("DELETE FROM audit_heads WHERE chain = {chain}"),
            ],
        )
        .await;
        let report = audit::verify(&store).await.unwrap();
        assert_eq!(
            report.problems.len(),
            1,
            "{}: {:?}",
            db.name,
            report.problems
        );
        assert!(
            report.problems[0].contains("recorded by anchor 2"),
            "{:?}",
            report.problems
        );
    }
}

#[tokio::test]
async fn expired_state_is_pruned_and_live_state_kept() {
    for db in databases().await {
        let store = store(&db).await;
        let now = 1_800_000_000;
        let ceremony = |id: &str, expires_at| Ceremony {
            id: id.into(),
            kind: "registration".into(),
            account_id: None,
            state: "{}".into(),
            expires_at,
        };
        store.put_ceremony(&ceremony("old", now - 1)).await.unwrap();
        store
            .put_ceremony(&ceremony("live", now + 60))
            .await
            .unwrap();
        store
            .hit_rate_limit("old-window", now - 2 * 86_400, 60)
            .await
            .unwrap();
        store.hit_rate_limit("live-window", now, 60).await.unwrap();
        assert_eq!(store.prune_expired(now).await.unwrap(), 2, "{}", db.name);
        assert!(
            store
                .take_ceremony("live", "registration", now)
                .await
                .unwrap()
                .is_some()
        );
        // The live window kept its count.
        assert_eq!(
            store.hit_rate_limit("live-window", now, 60).await.unwrap(),
            2
        );
    }
}

#[tokio::test]
async fn an_unsupported_database_url_is_refused() {
    let error = Store::connect("mysql://localhost/dinhdanh")
        .await
        .unwrap_err();
    assert!(
        matches!(error, dinhdanh_server::store::StoreError::UnsupportedUrl),
        "{error}"
    );
}

/// Many issuances recorded at once (the group writers batch them): each nonce is used once
/// whatever the interleaving, every copy is recorded, and the audit chains stay intact.
#[tokio::test]
async fn group_commit_uses_each_nonce_once_and_keeps_the_audit_chains() {
    use dinhdanh_server::store::{
        Account, AccountRole, AssuranceLevel, CredentialRecord, CredentialStatus, Issuance,
        StoreError,
    };
    fn copy(list_id: i64, idx: i64, account: &str) -> CredentialRecord {
        CredentialRecord {
            list_id,
            idx,
            account_id: account.into(),
            kind: "pid".into(),
            device_id: None,
            status: CredentialStatus::Valid,
            issued_at: 0,
            expires_at: 1,
        }
    }
    for db in databases().await {
        let store = store(&db).await;
        seed(&store).await;
        let mut accounts = Vec::new();
        for (i, id_number) in ["001090012345", "079195000123"].into_iter().enumerate() {
            let account = Account {
                id: format!("account-{i}"),
                webauthn_user_id: format!("user-{i}"),
                role: AccountRole::Citizen,
                id_number: Some(id_number.into()),
                display_name: "Test".into(),
                phone: None,
                assurance_level: AssuranceLevel::Two,
                created_at: 0,
            };
            let event = audit::event("operator", "account.created", &account.id, json!({}));
            store.create_account(&account, &event).await.unwrap();
            accounts.push(account.id);
        }
        let block = store
            .reserve_status_indexes(2, 1 << 16, 1000)
            .await
            .unwrap();
        // 200 issuances over 50 nonces: 4 tries per nonce, from two accounts (two shards of
        // the audit chains on PostgreSQL).
        let tasks: Vec<_> = (0..200)
            .map(|i| {
                let store = store.clone();
                let account = accounts[i % 2].clone();
                tokio::spawn(async move {
                    let issuance = Issuance {
                        used: vec![(format!("nonce-{}", i % 50).into_bytes(), i64::MAX / 2)],
                        grant: None,
                        credentials: vec![copy(block.list_id, block.first + i as i64, &account)],
                    };
                    let event =
                        audit::event(&account, "credential.issued", &account, json!({ "i": i }));
                    store.record_issuance(&issuance, &event).await
                })
            })
            .collect();
        let mut ok = 0;
        for task in tasks {
            match task.await.unwrap() {
                Ok(()) => ok += 1,
                Err(StoreError::Conflict) => {}
                Err(other) => panic!("{}: {other}", db.name),
            }
        }
        assert_eq!(ok, 50, "{}: one issuance per nonce", db.name);
        let recorded = store.account_credentials(&accounts[0]).await.unwrap().len()
            + store.account_credentials(&accounts[1]).await.unwrap().len();
        assert_eq!(recorded, 50);
        let report = audit::verify(&store).await.unwrap();
        assert!(report.intact(), "{}: {:?}", db.name, report.problems);
        assert_eq!(
            store.history(&accounts[0], 1000).await.unwrap().len()
                + store.history(&accounts[1], 1000).await.unwrap().len(),
            52
        );

        // 30 batches of 100 copies at once: more copies than one group takes, so groups split
        // between issuances; every copy is recorded once.
        let block = store
            .reserve_status_indexes(2, 1 << 16, 3000)
            .await
            .unwrap();
        let tasks: Vec<_> = (0..30)
            .map(|i| {
                let store = store.clone();
                let account = accounts[i % 2].clone();
                tokio::spawn(async move {
                    let issuance = Issuance {
                        used: vec![(format!("batch-{i}").into_bytes(), i64::MAX / 2)],
                        grant: None,
                        credentials: (0..100)
                            .map(|n| {
                                copy(block.list_id, block.first + (i * 100 + n) as i64, &account)
                            })
                            .collect(),
                    };
                    let event =
                        audit::event(&account, "credential.issued", &account, json!({ "i": i }));
                    store.record_issuance(&issuance, &event).await
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap().unwrap();
        }
        let recorded = store.account_credentials(&accounts[0]).await.unwrap().len()
            + store.account_credentials(&accounts[1]).await.unwrap().len();
        assert_eq!(recorded, 50 + 3000, "{}", db.name);
        let report = audit::verify(&store).await.unwrap();
        assert!(report.intact(), "{}: {:?}", db.name, report.problems);

        // One access token (grant digest), 20 concurrent requests each with its own nonce:
        // exactly one is recorded, the others are refused as a used grant and use up nothing
        // (their nonces stay good).
        let block = store.reserve_status_indexes(2, 1 << 16, 40).await.unwrap();
        let tasks: Vec<_> = (0..20)
            .map(|i| {
                let store = store.clone();
                let account = accounts[0].clone();
                tokio::spawn(async move {
                    let issuance = Issuance {
                        used: vec![(format!("grant-nonce-{i}").into_bytes(), i64::MAX / 2)],
                        grant: Some((b"grant-1".to_vec(), i64::MAX / 2)),
                        credentials: vec![copy(block.list_id, block.first + i as i64, &account)],
                    };
                    let event =
                        audit::event(&account, "credential.issued", &account, json!({ "i": i }));
                    (i, store.record_issuance(&issuance, &event).await)
                })
            })
            .collect();
        let mut winner = None;
        for task in tasks {
            match task.await.unwrap() {
                (i, Ok(())) => assert!(winner.replace(i).is_none(), "{}: two winners", db.name),
                (_, Err(StoreError::GrantUsed)) => {}
                (_, Err(other)) => panic!("{}: {other}", db.name),
            }
        }
        let winner = winner.expect("one issuance with the grant");
        // A loser's nonce was given back: it serves another grant.
        let loser = (winner + 1) % 20;
        let issuance = Issuance {
            used: vec![(format!("grant-nonce-{loser}").into_bytes(), i64::MAX / 2)],
            grant: Some((b"grant-2".to_vec(), i64::MAX / 2)),
            credentials: vec![copy(block.list_id, block.first + 20, &accounts[0])],
        };
        let event = audit::event(&accounts[0], "credential.issued", &accounts[0], json!({}));
        store.record_issuance(&issuance, &event).await.unwrap();
        // A replayed nonce refuses the request without using up its grant.
        let replay = Issuance {
            used: vec![(format!("grant-nonce-{winner}").into_bytes(), i64::MAX / 2)],
            grant: Some((b"grant-3".to_vec(), i64::MAX / 2)),
            credentials: vec![copy(block.list_id, block.first + 21, &accounts[0])],
        };
        assert!(matches!(
            store.record_issuance(&replay, &event).await,
            Err(StoreError::Conflict)
        ));
        let fresh = Issuance {
            used: vec![(b"grant-nonce-fresh".to_vec(), i64::MAX / 2)],
            ..replay
        };
        store.record_issuance(&fresh, &event).await.unwrap();
        let report = audit::verify(&store).await.unwrap();
        assert!(report.intact(), "{}: {:?}", db.name, report.problems);
    }
}

//! One fresh database per test and backend.

use std::sync::Once;

/// A database for one test: a SQLite file in a temporary directory, or a fresh PostgreSQL
/// database dropped at the end.
pub struct TestDb {
    pub name: &'static str,
    pub url: String,
    pub dir: tempfile::TempDir,
    admin: Option<(String, String)>,
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((admin_url, database)) = self.admin.take() {
            // Drop on a separate thread with its own runtime: Drop cannot await.
            let _ = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .ok()?;
                runtime.block_on(async {
                    let pool = sqlx::PgPool::connect(&admin_url).await.ok()?;
                    let drop = format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)");
                    sqlx::query(sqlx::AssertSqlSafe(drop))
                        .execute(&pool)
                        .await
                        .ok()
                })
            })
            .join();
        }
    }
}

static SKIP_NOTICE: Once = Once::new();

/// The backends every storage test runs on: SQLite always, PostgreSQL when `TEST_DATABASE_URL`
/// is set. Without it the PostgreSQL half is skipped with a loud notice, or fails when
/// `DINHDANH_REQUIRE_POSTGRES=1` (the test command sets it once PostgreSQL is up).
pub async fn databases() -> Vec<TestDb> {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = TestDb {
        name: "sqlite",
        url: format!("sqlite://{}", dir.path().join("test.db").display()),
        dir,
        admin: None,
    };
    let mut dbs = vec![sqlite];
    match std::env::var("TEST_DATABASE_URL") {
        Ok(admin_url) => {
            let pool = sqlx::PgPool::connect(&admin_url)
                .await
                .expect("TEST_DATABASE_URL must be reachable");
            let database = format!("dinhdanh_test_{}", random_hex());
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {database}")))
                .execute(&pool)
                .await
                .unwrap();
            pool.close().await;
            let (base, _) = admin_url
                .rsplit_once('/')
                .expect("TEST_DATABASE_URL ends with /<database>");
            dbs.push(TestDb {
                name: "postgres",
                url: format!("{base}/{database}"),
                dir: tempfile::tempdir().unwrap(),
                admin: Some((admin_url.clone(), database)),
            });
        }
        Err(_) => {
            assert!(
                std::env::var("DINHDANH_REQUIRE_POSTGRES").as_deref() != Ok("1"),
                "DINHDANH_REQUIRE_POSTGRES=1 but TEST_DATABASE_URL is not set"
            );
            SKIP_NOTICE.call_once(|| {
                eprintln!("\n!!! TEST_DATABASE_URL is not set: the PostgreSQL half of the server tests is SKIPPED !!!\n");
            });
        }
    }
    dbs
}

/// 16 random bytes as hex: a unique database name.
fn random_hex() -> String {
    use ring::rand::SecureRandom;
    let mut bytes = [0u8; 16];
    ring::rand::SystemRandom::new().fill(&mut bytes).unwrap();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

//! Shared test machinery: one fresh database per test and backend, an in-process app, and a
//! software passkey authenticator.

pub use dinhdanh_journeys::{ServerProcess, TestDb, authenticator, databases};
pub mod operator;
pub mod wallet;

use std::path::PathBuf;

use axum::{
    Router,
    body::Body,
    http::{HeaderMap, Method, Request, StatusCode, header},
};
use dinhdanh_server::{app::setup, platform::config::Config, store::Store};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

/// The public URL (and WebAuthn origin) of in-process apps.
pub const ORIGIN: &str = "http://localhost:8080";

/// A migrated store on `db`.
pub async fn store(db: &TestDb) -> Store {
    let store = Store::connect(&db.url).await.unwrap();
    store.migrate().await.unwrap();
    store
}

/// The test citizens (`tests/data/citizens.ndjson`), imported.
pub async fn seed(store: &Store) {
    let path = data("citizens.ndjson");
    let report = dinhdanh_server::domain::registry::import::import_file(
        store,
        &dinhdanh_server::platform::config::IssuanceSettings::default(),
        &path,
        None,
    )
    .await
    .unwrap();
    assert_eq!(report.rejected, 0, "{report:?}");
}

/// A file of `tests/data`.
pub fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

/// The server in-process over one database.
pub struct TestApp {
    pub router: Router,
    pub store: Store,
    pub data_dir: PathBuf,
}

/// A response: status, headers and the JSON body (Null when empty or not JSON).
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
    pub text: String,
}

impl TestApp {
    /// An app on `db` with the test citizens and `configure` applied to the default config.
    pub async fn with_config(db: &TestDb, configure: impl FnOnce(&mut Config)) -> Self {
        let mut config = Config {
            database_url: Some(db.url.clone()),
            ..Config::default()
        };
        configure(&mut config);
        setup::data_dir(db.dir.path()).unwrap();
        let store = setup::store(&config, db.dir.path()).await.unwrap();
        seed(&store).await;
        let services =
            setup::services(store.clone(), config, db.dir.path(), ORIGIN.to_owned()).unwrap();
        Self {
            router: dinhdanh_server::router(services),
            store,
            data_dir: db.dir.path().to_owned(),
        }
    }

    pub async fn new(db: &TestDb) -> Self {
        Self::with_config(db, |_| {}).await
    }

    /// Sends a request; `body` is sent as JSON.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let mut request = Request::builder().method(method).uri(path);
        if let Some(token) = token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let request = match body {
            Some(body) => request
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(body.to_string()))
                .unwrap(),
            None => request.body(Body::empty()).unwrap(),
        };
        self.send(request).await
    }

    /// Sends a prepared request.
    pub async fn send(&self, request: Request<Body>) -> Reply {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Reply {
            status,
            headers,
            body,
            text,
        }
    }

    /// The code of the first message the development SMS sink wrote.
    pub async fn first_code(&self) -> String {
        self.code_after(0).await
    }

    /// The code of the first message after the sink's first `sent` messages.
    pub async fn code_after(&self, sent: usize) -> String {
        let path = self.data_dir.join("sms.log");
        // The code is sent off the request path: wait for it (up to 10 s on a loaded machine).
        for _ in 0..500 {
            if let Some(line) = std::fs::read_to_string(&path)
                .ok()
                .and_then(|log| log.lines().nth(sent).map(str::to_owned))
            {
                let message: Value = serde_json::from_str(&line).unwrap();
                let text = message["text"].as_str().unwrap();
                return text.split("là ").nth(1).unwrap().chars().take(6).collect();
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        panic!("no SMS was sent");
    }

    /// How many messages the SMS sink holds.
    pub fn sms_count(&self) -> usize {
        std::fs::read_to_string(self.data_dir.join("sms.log")).map_or(0, |log| log.lines().count())
    }
}

/// An enrolment request body for a test citizen.
pub fn enrolment(id_number: &str, full_name: &str, date_of_birth: &str, phone: &str) -> Value {
    serde_json::json!({ "id_number": id_number, "full_name": full_name, "date_of_birth": date_of_birth, "phone": phone })
}

/// Nguyễn Văn An, the first test citizen.
pub fn an() -> Value {
    enrolment("001090012345", "Nguyễn Văn An", "1990-02-28", "0912345678")
}

/// Asserts a problem+json answer of `kind`.
pub fn assert_problem(reply: &Reply, status: StatusCode, kind: &str) {
    assert_eq!(reply.status, status, "{}", reply.text);
    assert_eq!(
        reply
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok()),
        Some("application/problem+json"),
        "{}",
        reply.text
    );
    assert_eq!(
        reply.body["type"],
        format!("urn:dinhdanh:problem:{kind}"),
        "{}",
        reply.text
    );
    assert_eq!(reply.body["status"], status.as_u16());
}

/// Enrols a test citizen through the API: returns the setup session token.
pub async fn enrol(app: &TestApp, request: Value) -> String {
    enrol_confirmed(app, request).await["token"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Enrols a test citizen through the API: the confirmation's body (the setup session and the
/// passkey registration it started).
pub async fn enrol_confirmed(app: &TestApp, request: Value) -> Value {
    let sent = app.sms_count();
    let started = app
        .call(Method::POST, "/v1/enrolments", None, Some(request))
        .await;
    assert_eq!(started.status, StatusCode::ACCEPTED, "{}", started.text);
    let id = started.body["enrolment_id"].as_str().unwrap().to_owned();
    let code = app.code_after(sent).await;
    let confirmed = app
        .call(
            Method::POST,
            &format!("/v1/enrolments/{id}/confirm"),
            None,
            Some(serde_json::json!({ "code": code })),
        )
        .await;
    assert_eq!(confirmed.status, StatusCode::CREATED, "{}", confirmed.text);
    assert_eq!(confirmed.body["role"], "setup");
    confirmed.body
}

/// Completes the registration `started` (`{ceremony_id, options}`) with `authenticator`.
pub async fn finish_registration(
    app: &TestApp,
    token: &str,
    started: &Value,
    authenticator: &mut authenticator::SoftAuthenticator,
) -> Reply {
    let credential = authenticator.create(&started["options"]);
    let ceremony = started["ceremony_id"].as_str().unwrap();
    app.call(
        Method::POST,
        &format!("/v1/passkeys/registrations/{ceremony}"),
        Some(token),
        Some(serde_json::json!({ "credential": credential, "name": "Test phone" })),
    )
    .await
}

/// Completes the passkey registration a setup session (from `confirmed`, an enrolment's or an
/// invitation's answer) is bound to; returns the reply.
pub async fn finish_setup(
    app: &TestApp,
    confirmed: &Value,
    authenticator: &mut authenticator::SoftAuthenticator,
) -> Reply {
    finish_registration(
        app,
        confirmed["token"].as_str().unwrap(),
        &confirmed["passkey_registration"],
        authenticator,
    )
    .await
}

/// Registers a passkey with `authenticator` under `token` (a signed-in session); returns the
/// reply.
pub async fn register_passkey(
    app: &TestApp,
    token: &str,
    authenticator: &mut authenticator::SoftAuthenticator,
) -> Reply {
    let started = app
        .call(
            Method::POST,
            "/v1/passkeys/registrations",
            Some(token),
            None,
        )
        .await;
    assert_eq!(started.status, StatusCode::OK, "{}", started.text);
    finish_registration(app, token, &started.body, authenticator).await
}

/// A started sign-in: where to post the credential, and the options to answer.
pub struct SignIn {
    pub path: String,
    pub options: Value,
}

impl SignIn {
    pub async fn start(app: &TestApp) -> Self {
        let started = app
            .call(Method::POST, "/v1/sessions/passkey", None, None)
            .await;
        assert_eq!(started.status, StatusCode::OK, "{}", started.text);
        let ceremony = started.body["ceremony_id"].as_str().unwrap();
        Self {
            path: format!("/v1/sessions/passkey/{ceremony}"),
            options: started.body["options"].clone(),
        }
    }

    /// Posts an assertion to complete the sign-in.
    pub async fn finish(&self, app: &TestApp, credential: &Value) -> Reply {
        app.call(
            Method::POST,
            &self.path,
            None,
            Some(serde_json::json!({ "credential": credential })),
        )
        .await
    }
}

/// Signs in with `authenticator`; returns the reply.
pub async fn sign_in(app: &TestApp, authenticator: &mut authenticator::SoftAuthenticator) -> Reply {
    let sign_in = SignIn::start(app).await;
    let credential = authenticator.get(&sign_in.options);
    sign_in.finish(app, &credential).await
}

/// Enrols Nguyễn Văn An and registers a passkey: a signed-in citizen session and its
/// authenticator.
pub async fn signed_in_citizen(app: &TestApp) -> (String, authenticator::SoftAuthenticator) {
    let confirmed = enrol_confirmed(app, an()).await;
    let mut authenticator = authenticator::SoftAuthenticator::new("localhost", ORIGIN);
    let registered = finish_setup(app, &confirmed, &mut authenticator).await;
    assert_eq!(
        registered.status,
        StatusCode::CREATED,
        "{}",
        registered.text
    );
    let token = registered.body["session"]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    (token, authenticator)
}

/// Approves level 2 for the citizen `id_number` (as an officer would).
pub async fn approve_level2(app: &TestApp, id_number: &str) {
    let account = app
        .store
        .account_by_id_number(id_number)
        .await
        .unwrap()
        .unwrap();
    let event = dinhdanh_server::domain::audit::event(
        "officer-test",
        "level2.approved",
        &account.id,
        serde_json::json!({}),
    );
    assert!(
        app.store
            .set_level2(&account.id, "officer-test", "test", 0, &event)
            .await
            .unwrap()
    );
}

/// A signed-in staff session of `role`.
pub async fn staff_session(app: &TestApp, role: dinhdanh_server::domain::sessions::Role) -> String {
    let services = setup::services(
        app.store.clone(),
        Config::default(),
        &app.data_dir,
        ORIGIN.to_owned(),
    )
    .unwrap();
    let role = role.account_role().expect("a staff role");
    let invitation = dinhdanh_server::domain::staff::add(&services, role, "Staff")
        .await
        .unwrap();
    let token = invitation.link.split('#').nth(1).unwrap();
    let setup = app
        .call(
            Method::POST,
            "/v1/staff/invitations/redeem",
            None,
            Some(serde_json::json!({ "token": token })),
        )
        .await;
    let mut authenticator = authenticator::SoftAuthenticator::new("localhost", ORIGIN);
    let registered = finish_setup(app, &setup.body, &mut authenticator).await;
    registered.body["session"]["token"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// A live session of every role (setup, citizen, officer, admin, recovery), each with its role
/// bit, and the recovery the recovery session is bound to: for walks over every route.
pub async fn sessions_of_every_role(app: &TestApp) -> (Vec<(u8, String)>, String) {
    use dinhdanh_server::{domain::sessions::Role, http::routes::auth};
    let setup = enrol(
        app,
        enrolment(
            "079195000123",
            "Trần Thị Bích Ngọc",
            "1995-07-14",
            "0987654321",
        ),
    )
    .await;
    let (citizen, _) = signed_in_citizen(app).await;
    let officer = staff_session(app, Role::Officer).await;
    let admin = staff_session(app, Role::Admin).await;
    let (recovery_id, recovery) = crate::recovery::recovery_session(app, an()).await;
    let sessions = vec![
        (auth::SETUP, setup),
        (auth::CITIZEN, citizen),
        (auth::OFFICER, officer),
        (auth::ADMIN, admin),
        (auth::RECOVERY, recovery),
    ];
    (sessions, recovery_id)
}

/// Runs `statements` as a database administrator would (triggers off where needed).
pub async fn tamper(db: &TestDb, statements: &[&str]) {
    if db.name == "sqlite" {
        let pool = sqlx::SqlitePool::connect(&db.url).await.unwrap();
        sqlx::query("DROP TRIGGER IF EXISTS audit_log_no_update")
            .execute(&pool)
            .await
            .unwrap();
        sqlx::query("DROP TRIGGER IF EXISTS audit_log_no_delete")
            .execute(&pool)
            .await
            .unwrap();
        for s in statements {
            sqlx::query(sqlx::AssertSqlSafe(*s))
                .execute(&pool)
                .await
                .unwrap();
        }
    } else {
        let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
        sqlx::query("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only")
            .execute(&pool)
            .await
            .unwrap();
        for s in statements {
            sqlx::query(sqlx::AssertSqlSafe(*s))
                .execute(&pool)
                .await
                .unwrap();
        }
        sqlx::query("ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only")
            .execute(&pool)
            .await
            .unwrap();
    }
}

/// The server binary of this package with `--data-dir` and `DATABASE_URL` set for `db`.
pub fn server_command(db: &TestDb) -> std::process::Command {
    dinhdanh_journeys::server_command(
        std::path::Path::new(env!("CARGO_BIN_EXE_dinhdanh-server")),
        db,
    )
}

/// This package's server binary serving `db` with 50 synthetic citizens.
pub fn start_server(db: &TestDb) -> ServerProcess {
    ServerProcess::start(
        std::path::Path::new(env!("CARGO_BIN_EXE_dinhdanh-server")),
        db,
        50,
    )
}

//! HTTP and infrastructure hardening: the real socket (slow headers, keep-alive, the client's
//! address behind proxies), file modes of a fresh data directory, and the answers to hostile
//! requests (undecodable paths, floods of anonymous ceremonies, oversized declared bodies,
//! unique-constraint races) in problem+json.

use std::{net::SocketAddr, time::Duration};

use axum::{
    body::Body,
    extract::ConnectInfo,
    http::{Method, Request, StatusCode, header},
    response::IntoResponse,
};
use dinhdanh_server::{http::error::ApiError, http::routes::ACCESS, platform::config::Config};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

use crate::support::{TestApp, assert_problem, databases, sessions_of_every_role};

/// The app of `app` served on a real socket by [`dinhdanh_server::serve`] with `config`; the
/// server stops when the returned sender is dropped.
async fn serve(app: &TestApp, config: Config) -> (SocketAddr, tokio::sync::oneshot::Sender<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let router = app.router.clone();
    tokio::spawn(async move {
        dinhdanh_server::serve(listener, router, &config, async {
            let _ = stopped.await;
        })
        .await
    });
    (address, stop)
}

/// Reads one HTTP/1.1 response (headers and a `Content-Length` body): status line, headers, body.
async fn read_response(stream: &mut TcpStream) -> (String, String, String) {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break end + 4;
        }
        let n = stream.read(&mut chunk).await.unwrap();
        assert!(n > 0, "connection closed mid-response");
        buffer.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().unwrap())
        })
        .unwrap_or(0);
    while buffer.len() < head_end + length {
        let n = stream.read(&mut chunk).await.unwrap();
        assert!(n > 0, "connection closed mid-body");
        buffer.extend_from_slice(&chunk[..n]);
    }
    let (status, headers) = head.split_once("\r\n").unwrap();
    let body = String::from_utf8_lossy(&buffer[head_end..head_end + length]).into_owned();
    (status.to_owned(), headers.to_lowercase(), body)
}

#[tokio::test]
async fn a_client_trickling_its_headers_is_cut_off_at_the_header_deadline() {
    let db = databases().await.remove(0);
    let app = TestApp::new(&db).await;
    let config = Config {
        header_read_timeout_seconds: 2,
        ..Config::default()
    };
    let (address, _stop) = serve(&app, config).await;

    let stream = TcpStream::connect(address).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    let started = tokio::time::Instant::now();
    // A byte a second: every read makes progress, none completes the headers (20 s' worth).
    let trickle = tokio::spawn(async move {
        for byte in b"GET /health/live HTTP/1.1\r\nHost: localhost\r\n\r\n" {
            if writer.write_all(&[*byte]).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    });
    let mut answer = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(8), async {
        let mut chunk = [0u8; 1024];
        loop {
            match reader.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => answer.extend_from_slice(&chunk[..n]),
            }
        }
    })
    .await;
    let elapsed = started.elapsed();
    trickle.abort();
    assert!(closed.is_ok(), "the connection was still open after 8 s");
    assert!(
        elapsed >= Duration::from_millis(1_500) && elapsed < Duration::from_secs(5),
        "closed after {elapsed:?}"
    );
    assert!(
        !String::from_utf8_lossy(&answer).contains("200 OK"),
        "the request was served"
    );
}

#[tokio::test]
async fn normal_requests_are_served_over_one_kept_alive_connection() {
    let db = databases().await.remove(0);
    let app = TestApp::new(&db).await;
    let config = Config {
        header_read_timeout_seconds: 2,
        ..Config::default()
    };
    let (address, _stop) = serve(&app, config).await;
    let mut stream = TcpStream::connect(address).await.unwrap();
    for _ in 0..3 {
        stream
            .write_all(b"GET /health/live HTTP/1.1\r\nHost: localhost\r\n\r\n")
            .await
            .unwrap();
        let (status, headers, body) = read_response(&mut stream).await;
        assert_eq!(status, "HTTP/1.1 200 OK");
        assert!(!headers.contains("connection: close"), "{headers}");
        assert_eq!(body, r#"{"status":"live"}"#);
    }
}

#[cfg(unix)]
#[tokio::test]
async fn a_fresh_data_directory_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("data");
    let config = Config::default();
    dinhdanh_server::app::setup::data_dir(&dir).unwrap();
    let store = dinhdanh_server::app::setup::store(&config, &dir)
        .await
        .unwrap();
    let _services = dinhdanh_server::app::setup::services(
        store.clone(),
        config,
        &dir,
        crate::support::ORIGIN.to_owned(),
    )
    .unwrap();
    // A write, so that the write-ahead log and its index exist.
    dinhdanh_server::app::setup::seed_registry(&store, 10)
        .await
        .unwrap();
    let mode = |name: &str| {
        std::fs::metadata(dir.join(name))
            .unwrap_or_else(|e| panic!("{name}: {e}"))
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode(""), 0o700, "data directory");
    assert_eq!(mode("keys"), 0o700);
    assert_eq!(mode("keys/server.key"), 0o600);
    for file in [
        "dinhdanh.db",
        "dinhdanh.db-wal",
        "dinhdanh.db-shm",
        "sms.log",
    ] {
        assert_eq!(mode(file), 0o600, "{file}");
    }
    store.close().await;
}

/// A request from `peer` (as the real server would record it), with optional
/// `X-Forwarded-For` and a JSON or form body.
fn from_peer(
    method: Method,
    path: &str,
    peer: &str,
    forwarded_for: Option<&str>,
    body: Option<(&str, String)>,
) -> Request<Body> {
    let mut request = Request::builder().method(method).uri(path);
    if let Some(value) = forwarded_for {
        request = request.header("x-forwarded-for", value);
    }
    let mut request = match body {
        Some((content_type, body)) => request
            .header(header::CONTENT_TYPE, content_type)
            .body(Body::from(body))
            .unwrap(),
        None => request.body(Body::empty()).unwrap(),
    };
    let peer: SocketAddr = format!("{peer}:40000").parse().unwrap();
    request.extensions_mut().insert(ConnectInfo(peer));
    request
}

async fn sign_in_from(app: &TestApp, peer: &str, forwarded_for: Option<&str>) -> StatusCode {
    app.send(from_peer(
        Method::POST,
        "/v1/sessions/passkey",
        peer,
        forwarded_for,
        None,
    ))
    .await
    .status
}

#[tokio::test]
async fn forwarded_for_is_believed_only_from_a_trusted_proxy() {
    for db in databases().await {
        let app = TestApp::with_config(&db, |c| {
            c.anonymous_limits.per_address = 1;
            c.trusted_proxies = vec!["10.0.0.0/8".parse().unwrap()];
        })
        .await;
        // A direct client cannot pose as someone else to escape its limit.
        assert_eq!(
            sign_in_from(&app, "203.0.113.7", Some("198.51.100.1")).await,
            StatusCode::OK
        );
        assert_eq!(
            sign_in_from(&app, "203.0.113.7", Some("198.51.100.2")).await,
            StatusCode::TOO_MANY_REQUESTS,
            "{}: a spoofed X-Forwarded-For was believed",
            db.name
        );
        // Behind the proxy, each client counts for itself (and the proxy's own entry, added
        // on the right, is skipped).
        for client in ["198.51.100.1", "198.51.100.2"] {
            assert_eq!(
                sign_in_from(
                    &app,
                    "10.0.0.1",
                    Some(&format!("6.6.6.6, {client}, 10.0.0.9"))
                )
                .await,
                StatusCode::OK
            );
        }
        assert_eq!(
            sign_in_from(&app, "10.0.0.1", Some("198.51.100.1")).await,
            StatusCode::TOO_MANY_REQUESTS
        );
    }
}

#[tokio::test]
async fn the_served_router_knows_the_peer_address() {
    let db = databases().await.remove(0);
    let app = TestApp::with_config(&db, |c| {
        c.anonymous_limits.per_address = 1;
        c.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    })
    .await;
    let config = Config {
        trusted_proxies: vec!["127.0.0.1".parse().unwrap()],
        ..Config::default()
    };
    let (address, _stop) = serve(&app, config).await;
    let mut stream = TcpStream::connect(address).await.unwrap();
    // Without the peer address, all three would share one counter ("unknown").
    for (client, expected) in [
        ("198.51.100.1", "200"),
        ("198.51.100.2", "200"),
        ("198.51.100.1", "429"),
    ] {
        let request = format!(
            "POST /v1/sessions/passkey HTTP/1.1\r\nHost: localhost\r\nX-Forwarded-For: {client}\r\nContent-Length: 0\r\n\r\n"
        );
        stream.write_all(request.as_bytes()).await.unwrap();
        let (status, _, body) = read_response(&mut stream).await;
        assert!(status.contains(expected), "{client}: {status} {body}");
        if expected == "429" {
            break;
        }
    }
}

async fn count_rows(db: &crate::support::TestDb, table: &str) -> i64 {
    let query = format!("SELECT COUNT(*) FROM {table}");
    if db.name == "sqlite" {
        let pool = sqlx::SqlitePool::connect(&db.url).await.unwrap();
        sqlx::query_scalar(sqlx::AssertSqlSafe(query))
            .fetch_one(&pool)
            .await
            .unwrap()
    } else {
        let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
        sqlx::query_scalar(sqlx::AssertSqlSafe(query))
            .fetch_one(&pool)
            .await
            .unwrap()
    }
}

fn pushed_request() -> String {
    let challenge = dinhdanh_sdk::openid4vci::pkce_challenge(
        &dinhdanh_sdk::openid4vci::pkce_verifier().unwrap(),
    );
    [
        ("response_type", "code"),
        ("client_id", "dinhdanh-wallet"),
        ("redirect_uri", "vn.dinhdanh.wallet:/callback"),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
        ("scope", "pid"),
        ("state", "st"),
    ]
    .iter()
    .map(|(k, v)| {
        format!(
            "{k}={}",
            percent_encoding::utf8_percent_encode(v, percent_encoding::NON_ALPHANUMERIC)
        )
    })
    .collect::<Vec<_>>()
    .join("&")
}

#[tokio::test]
async fn a_flood_of_anonymous_ceremonies_and_pushed_requests_meets_429_and_stores_nothing_more() {
    for db in databases().await {
        // The default limit; an hour's window so that the flood cannot straddle two windows.
        let app = TestApp::with_config(&db, |c| c.anonymous_limits.window_seconds = 3_600).await;
        let limit = Config::default().anonymous_limits.per_address;
        let ceremonies_before = count_rows(&db, "ceremonies").await;
        let (mut accepted, mut refused) = (0, 0);
        for _ in 0..300 {
            let reply = app
                .send(from_peer(
                    Method::POST,
                    "/v1/sessions/passkey",
                    "198.51.100.1",
                    None,
                    None,
                ))
                .await;
            match reply.status {
                StatusCode::OK => accepted += 1,
                StatusCode::TOO_MANY_REQUESTS => {
                    refused += 1;
                    assert_problem(&reply, StatusCode::TOO_MANY_REQUESTS, "rate-limited");
                    let retry: i64 = reply.headers[header::RETRY_AFTER]
                        .to_str()
                        .unwrap()
                        .parse()
                        .unwrap();
                    assert!((1..=3_600).contains(&retry));
                }
                other => panic!("{other}: {}", reply.text),
            }
        }
        assert_eq!((accepted, refused), (limit, 300 - limit), "{}", db.name);
        assert_eq!(
            count_rows(&db, "ceremonies").await - ceremonies_before,
            limit
        );
        // Another address is not affected.
        assert_eq!(
            sign_in_from(&app, "198.51.100.2", None).await,
            StatusCode::OK
        );

        // Finishing is limited before its body is even parsed: a refused request with a
        // malformed body is 429, not 400.
        let finish = |body: &str| {
            from_peer(
                Method::POST,
                "/v1/sessions/passkey/nope",
                "198.51.100.1",
                None,
                Some(("application/json", body.to_owned())),
            )
        };
        for _ in 0..limit {
            assert_eq!(app.send(finish("{")).await.status, StatusCode::BAD_REQUEST);
        }
        let refused = app.send(finish("{")).await;
        assert_problem(&refused, StatusCode::TOO_MANY_REQUESTS, "rate-limited");

        // Pushed authorization requests: rows up to the limit, then 429 in the OAuth format.
        let pushed_before = count_rows(&db, "authorization_requests").await;
        let par = || {
            from_peer(
                Method::POST,
                "/par",
                "198.51.100.1",
                None,
                Some(("application/x-www-form-urlencoded", pushed_request())),
            )
        };
        for _ in 0..limit {
            let reply = app.send(par()).await;
            assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
        }
        for _ in 0..5 {
            let reply = app.send(par()).await;
            assert_eq!(
                reply.status,
                StatusCode::TOO_MANY_REQUESTS,
                "{}",
                reply.text
            );
            assert_eq!(reply.body["error"], "temporarily_unavailable");
            assert!(reply.headers.contains_key(header::RETRY_AFTER));
        }
        assert_eq!(
            count_rows(&db, "authorization_requests").await - pushed_before,
            limit
        );
    }
}

#[tokio::test]
async fn undecodable_path_parameters_are_answered_in_problem_json() {
    for db in databases().await {
        let app = TestApp::new(&db).await;
        let (sessions, _) = sessions_of_every_role(&app).await;
        let mut checked = 0;
        let routes = ACCESS
            .iter()
            .map(|(method, route, roles)| (*method, route.to_string(), *roles))
            .chain([("GET", "/status-lists/{list_id}".to_owned(), 0)]);
        for (method, route, roles) in routes {
            if !route.contains('{') {
                continue;
            }
            // Every parameter `%FF` (not UTF-8); one case of an invalid sequence too.
            let mut path = String::new();
            for (i, piece) in route.split(['{', '}']).enumerate() {
                path.push_str(if i % 2 == 0 { piece } else { "%FF" });
            }
            let token = sessions
                .iter()
                .find(|(role, _)| roles & role != 0)
                .map(|(_, token)| token.as_str());
            for path in [path.clone(), path.replace("%FF", "%C3%28")] {
                let reply = app
                    .call(method.parse().unwrap(), &path, token, Some(json!({})))
                    .await;
                assert_problem(&reply, StatusCode::BAD_REQUEST, "invalid-path");
                checked += 1;
            }
        }
        assert!(checked >= 38, "{checked}");
    }
}

#[tokio::test]
async fn hsts_is_sent_on_every_response_over_https_only() {
    for db in databases().await {
        let app = TestApp::new(&db).await;
        for path in ["/health/live", "/no-such-route"] {
            let reply = app.call(Method::GET, path, None, None).await;
            assert!(
                !reply
                    .headers
                    .contains_key(header::STRICT_TRANSPORT_SECURITY)
            );
        }
        let config = Config {
            database_url: Some(db.url.clone()),
            ..Config::default()
        };
        let services = dinhdanh_server::app::setup::services(
            app.store.clone(),
            config,
            &app.data_dir,
            "https://id.example.vn".to_owned(),
        )
        .unwrap();
        let https = TestApp {
            router: dinhdanh_server::router(services),
            store: app.store.clone(),
            data_dir: app.data_dir.clone(),
        };
        for (method, path) in [
            (Method::GET, "/health/live"),
            (Method::GET, "/no-such-route"),
            (Method::GET, "/v1/me"),
            (Method::POST, "/v1/enrolments"),
            (Method::GET, "/"),
        ] {
            let reply = https.call(method, path, None, None).await;
            let hsts = reply.headers[header::STRICT_TRANSPORT_SECURITY]
                .to_str()
                .unwrap();
            let max_age: u64 = hsts
                .split(';')
                .find_map(|d| d.trim().strip_prefix("max-age="))
                .unwrap()
                .parse()
                .unwrap();
            assert!(max_age >= 31_536_000, "{path}: {hsts}");
        }
    }
}

#[tokio::test]
async fn a_declared_body_over_the_limit_is_refused_at_once() {
    let db = databases().await.remove(0);
    let app = TestApp::new(&db).await;
    let (address, _stop) = serve(&app, Config::default()).await;
    for (path, length) in [
        ("/v1/enrolments", "99999999999"),
        ("/v1/enrolments", "70000"),
        ("/v1/me/level2", "600000"),
        ("/v1/recoveries/r/chip", "600000"),
    ] {
        let mut stream = TcpStream::connect(address).await.unwrap();
        let request = format!(
            "POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {length}\r\n\r\n"
        );
        stream.write_all(request.as_bytes()).await.unwrap();
        // No body follows: the answer must not wait for it (the request timeout is 30 s).
        let (status, headers, body) =
            tokio::time::timeout(Duration::from_secs(3), read_response(&mut stream))
                .await
                .unwrap_or_else(|_| panic!("{path} {length}: no answer within 3 s"));
        assert_eq!(status, "HTTP/1.1 413 Payload Too Large", "{body}");
        assert!(headers.contains("content-type: application/problem+json"));
        let body: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(body["type"], "urn:dinhdanh:problem:body-too-large");
    }
    // The chip uploads' larger limit: 70,000 bytes is not refused for its size there (the
    // anonymous request is refused for want of a session instead).
    for path in ["/v1/me/level2", "/v1/recoveries/r/chip"] {
        let mut stream = TcpStream::connect(address).await.unwrap();
        let request = format!(
            "POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 70000\r\n\r\n"
        );
        stream.write_all(request.as_bytes()).await.unwrap();
        let (status, _, _) =
            tokio::time::timeout(Duration::from_secs(3), read_response(&mut stream))
                .await
                .unwrap();
        assert_eq!(status, "HTTP/1.1 401 Unauthorized", "{path}");
    }
}

#[tokio::test]
async fn a_unique_constraint_met_by_a_race_is_a_409_conflict() {
    for db in databases().await {
        let store = crate::support::store(&db).await;
        let ceremony = dinhdanh_server::store::Ceremony {
            id: "same-id".into(),
            kind: "authentication".into(),
            account_id: None,
            state: "{}".into(),
            expires_at: dinhdanh_server::platform::clock::now() + 60,
        };
        store.put_ceremony(&ceremony).await.unwrap();
        // What a second request racing for the same row meets.
        let error = store.put_ceremony(&ceremony).await.unwrap_err();
        assert!(error.is_unique_violation(), "{}: {error}", db.name);
        let response = ApiError::from(error).into_response();
        assert_eq!(response.status(), StatusCode::CONFLICT, "{}", db.name);
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            "application/problem+json"
        );
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let body: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(body["type"], "urn:dinhdanh:problem:conflict");
        // Any other storage failure stays a 500.
        let other = dinhdanh_server::store::StoreError::Corrupt("test");
        assert_eq!(
            ApiError::from(other).into_response().status(),
            StatusCode::INTERNAL_SERVER_ERROR
        );
    }
}

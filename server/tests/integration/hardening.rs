//! HTTP and infrastructure hardening: the real socket (slow headers, keep-alive, the client's
//! address behind proxies), file modes of a fresh data directory, and the answers to hostile
//! requests (undecodable paths, floods of anonymous ceremonies, oversized declared bodies,
//! unique-constraint races) in problem+json.

use std::{net::SocketAddr, time::Duration};

use dinhdanh_server::config::Config;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

use crate::support::{TestApp, databases};

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
    dinhdanh_server::setup::data_dir(&dir).unwrap();
    let store = dinhdanh_server::setup::store(&config, &dir).await.unwrap();
    let _services = dinhdanh_server::setup::services(
        store.clone(),
        config,
        &dir,
        crate::support::ORIGIN.to_owned(),
    )
    .unwrap();
    // A write, so that the write-ahead log and its index exist.
    dinhdanh_server::setup::seed_registry(&store, 10)
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

//! The server as a process over TCP: graceful shutdown lets a request in flight finish, a
//! request that stalls is answered 408 after the configured timeout, and its log (at debug)
//! carries no one-time code, ID number or phone number.

use std::{
    io::{Read, Write},
    net::TcpStream,
    time::Duration,
};

use crate::support::{ServerProcess, databases, start_server};

/// The `host:port` of a public URL `http://localhost:PORT`.
fn address(server: &ServerProcess) -> String {
    server.public_url.replace("http://localhost", "127.0.0.1")
}

const BODY: &str = r#"{"id_number":"001090012345","full_name":"Nguyễn Văn An","date_of_birth":"1990-02-28","phone":"0912345678"}"#;

/// Sends the request line, headers and the first half of the body; the rest is up to the caller.
fn start_request(server: &ServerProcess) -> TcpStream {
    let mut stream = TcpStream::connect(address(server)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let head = format!(
        "POST /v1/enrolments HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        BODY.len()
    );
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(&BODY.as_bytes()[..20]).unwrap();
    stream.flush().unwrap();
    stream
}

fn response(stream: &mut TcpStream) -> String {
    let mut buffer = Vec::new();
    let _ = stream.read_to_end(&mut buffer);
    String::from_utf8_lossy(&buffer).into_owned()
}

#[tokio::test]
async fn sigterm_lets_the_request_in_flight_finish() {
    for db in databases().await {
        let mut server = start_server(&db);
        let mut stream = start_request(&server);
        std::thread::sleep(Duration::from_millis(300));
        let pid = server.child.id().to_string();
        std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap();
        std::thread::sleep(Duration::from_millis(500));
        assert!(
            server.child.try_wait().unwrap().is_none(),
            "{}: the server quit with a request in flight",
            db.name
        );
        stream.write_all(&BODY.as_bytes()[20..]).unwrap();
        let reply = response(&mut stream);
        assert!(reply.starts_with("HTTP/1.1 202"), "{}: {reply}", db.name);
        let status = server.child.wait().unwrap();
        assert!(status.success(), "{}: {status}", db.name);
    }
}

#[tokio::test]
async fn a_stalled_request_times_out() {
    for db in databases().await {
        std::fs::write(
            db.dir.path().join("config.toml"),
            "request_timeout_seconds = 1\n",
        )
        .unwrap();
        let server = start_server(&db);
        let mut stream = start_request(&server);
        // The body never completes.
        let reply = response(&mut stream);
        assert!(reply.starts_with("HTTP/1.1 408"), "{}: {reply}", db.name);
        assert!(reply.contains("urn:dinhdanh:problem:timeout"), "{reply}");
        assert!(server.terminate().success());
    }
}

#[tokio::test]
async fn no_code_id_number_or_phone_reaches_the_log() {
    use axum::http::Method;
    use dinhdanh_journeys::client::Client;
    use serde_json::json;

    for db in databases().await {
        let log = db.dir.path().join("server.log");
        let server = ServerProcess::start_logging(
            std::path::Path::new(env!("CARGO_BIN_EXE_dinhdanh-server")),
            &db,
            50,
            Some(("debug", &log)),
        );
        let store = crate::support::store(&db).await;
        let demo = dinhdanh_server::app::setup::demo_citizen(&store)
            .await
            .unwrap()
            .unwrap();
        let client = Client::new(&server.public_url);
        let body = json!({ "id_number": demo.id_number, "full_name": demo.full_name,
            "date_of_birth": demo.date_of_birth, "phone": "0912 345 678" });
        let mut codes = Vec::new();
        for (start, confirm, key) in [
            ("/v1/enrolments", "/v1/enrolments", "enrolment_id"),
            ("/v1/recoveries", "/v1/recoveries", "recovery_id"),
        ] {
            let started = client.json(Method::POST, start, None, Some(&body)).await;
            let id = started.body[key].as_str().unwrap().to_owned();
            let code = sms_code(&server, codes.len()).await;
            // A wrong code, then the right one.
            let wrong = if code == "000000" { "000001" } else { "000000" };
            for attempt in [wrong, code.as_str()] {
                client
                    .json(
                        Method::POST,
                        &format!("{confirm}/{id}/confirm"),
                        None,
                        Some(&json!({ "code": attempt })),
                    )
                    .await;
            }
            codes.push(code);
        }
        drop(server);
        let text = std::fs::read_to_string(&log).unwrap();
        assert!(
            text.contains("/v1/enrolments"),
            "{}: the log is not at debug: {text}",
            db.name
        );
        for secret in codes.iter().map(String::as_str).chain([
            demo.id_number.as_str(),
            "912345678",
            demo.full_name.as_str(),
        ]) {
            assert!(
                !text.contains(secret),
                "{}: {secret} is in the log",
                db.name
            );
        }
    }
}

/// The code of the `n`th message of the server's SMS sink.
async fn sms_code(server: &ServerProcess, n: usize) -> String {
    for _ in 0..500 {
        if let Some(line) = std::fs::read_to_string(server.data_dir.join("sms.log"))
            .ok()
            .and_then(|log| log.lines().nth(n).map(str::to_owned))
        {
            let message: serde_json::Value = serde_json::from_str(&line).unwrap();
            let text = message["text"].as_str().unwrap();
            return text.split("là ").nth(1).unwrap().chars().take(6).collect();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("no SMS was sent");
}

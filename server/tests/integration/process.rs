//! The server as a process over TCP: graceful shutdown lets a request in flight finish, and a
//! request that stalls is answered 408 after the configured timeout.

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

//! The HTTP SMS gateway against a real HTTP server on 127.0.0.1 that records what it is sent:
//! delivery with the bearer token, retries after 5xx, giving up (counted at `/metrics`), and a
//! full queue refused.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    Router,
    body::Bytes,
    extract::State,
    http::{HeaderMap, Method, StatusCode, header},
    routing::post,
};
use dinhdanh_server::{
    platform::config::{SmsGatewayKind, SmsSettings},
    platform::sms::{HttpGateway, HttpGatewaySettings, SmsError, SmsGateway},
};
use serde_json::Value;
use tokio::sync::Notify;
use zeroize::Zeroizing;

use crate::support::{TestApp, an, databases};

/// One request the operator's API received: `Authorization`, `Content-Type`, the JSON body.
type Received = (Option<String>, Option<String>, Value);

/// What the operator's API was sent, and how it answers: `statuses[i]` to the i-th request
/// (the last one repeated), after `hold` is notified if set.
struct Operator {
    statuses: Vec<StatusCode>,
    hold: Option<Arc<Notify>>,
    received: Mutex<Vec<Received>>,
}

impl Operator {
    fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
}

async fn receive(
    State(operator): State<Arc<Operator>>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let value = |name| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let index = {
        let mut received = operator.received.lock().unwrap();
        received.push((
            value(header::AUTHORIZATION),
            value(header::CONTENT_TYPE),
            serde_json::from_slice(&body).unwrap_or(Value::Null),
        ));
        received.len() - 1
    };
    if let Some(hold) = &operator.hold {
        hold.notified().await;
    }
    operator.statuses[index.min(operator.statuses.len() - 1)]
}

/// Starts the operator's API; returns its URL.
async fn operator(statuses: Vec<StatusCode>, hold: Option<Arc<Notify>>) -> (String, Arc<Operator>) {
    let operator = Arc::new(Operator {
        statuses,
        hold,
        received: Mutex::new(Vec::new()),
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/messages", listener.local_addr().unwrap());
    let app = Router::new()
        .route("/messages", post(receive))
        .with_state(operator.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, operator)
}

fn settings(url: &str, max_attempts: u32) -> HttpGatewaySettings {
    HttpGatewaySettings {
        url: url.to_owned(),
        token: Zeroizing::new("test-token".to_owned()),
        connect_timeout: Duration::from_secs(2),
        request_timeout: Duration::from_secs(5),
        max_attempts,
        retry_initial: Duration::from_millis(20),
        queue_capacity: 10,
        concurrency: 2,
    }
}

/// Waits (up to 10 s) until `done` holds.
async fn eventually(mut done: impl FnMut() -> bool) {
    for _ in 0..500 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("timed out");
}

#[tokio::test]
async fn a_message_is_posted_with_the_bearer_token_and_retried_after_a_500() {
    let (url, operator) = operator(
        vec![StatusCode::INTERNAL_SERVER_ERROR, StatusCode::ACCEPTED],
        None,
    )
    .await;
    let gateway = HttpGateway::start(settings(&url, 3)).unwrap();
    gateway
        .send("+84912345678", "mã của bạn là 123456")
        .await
        .unwrap();
    eventually(|| gateway.counters().delivered == 1).await;
    let received = operator.received();
    assert_eq!(received.len(), 2, "one failure, one delivery");
    for (authorization, content_type, body) in &received {
        assert_eq!(authorization.as_deref(), Some("Bearer test-token"));
        assert_eq!(content_type.as_deref(), Some("application/json"));
        assert_eq!(
            *body,
            serde_json::json!({ "to": "+84912345678", "text": "mã của bạn là 123456" })
        );
    }
    let counters = gateway.counters();
    assert_eq!((counters.retried, counters.failed), (1, 0));
}

#[tokio::test]
async fn a_4xx_is_not_retried() {
    let (url, operator) = operator(vec![StatusCode::BAD_REQUEST], None).await;
    let gateway = HttpGateway::start(settings(&url, 3)).unwrap();
    gateway.send("+84912345678", "x").await.unwrap();
    eventually(|| gateway.counters().failed == 1).await;
    assert_eq!(operator.received().len(), 1);
}

#[tokio::test]
async fn a_full_queue_refuses_the_message() {
    let hold = Arc::new(Notify::new());
    let (url, operator) = operator(vec![StatusCode::OK], Some(hold.clone())).await;
    let gateway = HttpGateway::start(HttpGatewaySettings {
        queue_capacity: 1,
        concurrency: 1,
        ..settings(&url, 1)
    })
    .unwrap();
    // The first message is with the operator (held), the second waits in the queue of one.
    gateway.send("+84912345601", "a").await.unwrap();
    eventually(|| operator.received().len() == 1).await;
    gateway.send("+84912345602", "b").await.unwrap();
    assert!(matches!(
        gateway.send("+84912345603", "c").await,
        Err(SmsError::QueueFull)
    ));
    assert_eq!(gateway.counters().refused, 1);
    // Released, the operator takes the held and the queued message; the refused one never.
    hold.notify_one();
    eventually(|| operator.received().len() == 2).await;
    hold.notify_one();
    eventually(|| gateway.counters().delivered == 2).await;
    assert_eq!(operator.received().len(), 2);
}

#[tokio::test]
async fn the_server_gives_up_after_max_attempts_and_counts_the_failure_at_metrics() {
    for db in databases().await {
        let (url, operator) = operator(vec![StatusCode::SERVICE_UNAVAILABLE], None).await;
        let token_file = db.dir.path().join("sms-token");
        std::fs::write(&token_file, "file-token\n").unwrap();
        let app = TestApp::with_config(&db, |c| {
            c.sms = SmsSettings {
                gateway: SmsGatewayKind::Http,
                url: Some(url.clone()),
                token_file: Some(token_file.clone()),
                max_attempts: 3,
                retry_initial_millis: 20,
                ..SmsSettings::default()
            };
        })
        .await;
        let started = app
            .call(Method::POST, "/v1/enrolments", None, Some(an()))
            .await;
        assert_eq!(started.status, StatusCode::ACCEPTED, "{}", started.text);
        let mut metrics = String::new();
        for _ in 0..500 {
            metrics = app.call(Method::GET, "/metrics", None, None).await.text;
            if metrics.contains("dinhdanh_sms_messages_total{outcome=\"failed\"} 1") {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(
            metrics.contains("dinhdanh_sms_messages_total{outcome=\"failed\"} 1"),
            "{metrics}"
        );
        assert!(
            metrics.contains("dinhdanh_sms_retries_total 2"),
            "{metrics}"
        );
        let received = operator.received();
        assert_eq!(received.len(), 3, "{} ({})", db.name, received.len());
        assert_eq!(received[0].0.as_deref(), Some("Bearer file-token"));
        assert_eq!(received[0].2["to"], "+84912345678");
        assert!(received[0].2["text"].as_str().unwrap().contains("là "));
        // No development sink beside the real gateway.
        assert_eq!(app.sms_count(), 0);
    }
}

//! Bulk matching (`domain::telecom::matching`) on every backend: answers in input order, every
//! result kind, bad lines numbered with the stream going on, no registry value in any answer,
//! the per-operator limit, and the audit of a request however it ends.

use std::time::Duration;

use bytes::Bytes;
use dinhdanh_server::{
    domain::telecom::matching::{self, MatchError},
    platform::config::BulkMatchLimits,
    store::Store,
};
use serde_json::{Value, json};
use tokio_stream::wrappers::ReceiverStream;

use crate::support::{databases, seed, store};

const OPERATOR_ID: &str = "rp-telecom-test";

fn operator(id: &str) -> matching::Operator {
    matching::Operator {
        id: id.to_owned(),
        actor: format!("rp:{id}"),
    }
}

/// `text` cut into chunks of `size` bytes (lines split across chunks, UTF-8 sequences too).
fn chunked(
    text: &str,
    size: usize,
) -> impl tokio_stream::Stream<Item = Result<Bytes, std::io::Error>> + Unpin + Send + 'static {
    let chunks: Vec<Result<Bytes, std::io::Error>> = text
        .as_bytes()
        .chunks(size)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    tokio_stream::iter(chunks)
}

/// Everything the answer carries, as text.
async fn collect(mut answer: matching::Answer) -> String {
    let mut text = Vec::new();
    while let Some(chunk) = answer.recv().await {
        text.extend_from_slice(&chunk.unwrap());
    }
    String::from_utf8(text).unwrap()
}

fn lines(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect()
}

/// The `telecom.match_finished` entries of the operator, newest first.
async fn finished(store: &Store) -> Vec<Value> {
    store
        .history(OPERATOR_ID, 100)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.action == "telecom.match.finished")
        .map(|e| serde_json::from_str(&e.detail).unwrap())
        .collect()
}

fn record(reference: Value, id: &str, name: &str, date: &str) -> String {
    json!({"ref": reference, "id_number": id, "full_name": name, "date_of_birth": date}).to_string()
}

#[tokio::test]
async fn answers_every_line_in_order_with_results_only() {
    for db in databases().await {
        let store = store(&db).await;
        seed(&store).await;
        let nfd: String = {
            use unicode_normalization::UnicodeNormalization;
            "Trần Thị Bích Ngọc".nfd().collect()
        };
        let input = [
            record(json!("m1"), "001090012345", "Nguyễn Văn An", "1990-02-28"),
            record(json!(2), "079195000123", &nfd, "1995-07-14"),
            record(json!("upper"), "048203000777", "  LÊ MINH   KHOA ", "2003-11-02"),
            record(json!("weak"), "001090012345", "Nguyen Van An", "1990-02-28"),
            record(json!("name"), "001090012345", "Nguyễn Văn Anh", "1990-02-28"),
            record(json!("date"), "092305000042", "Đặng Thu Hà", "2005-01-21"),
            record(json!("both"), "092305000042", "Dang Thu Ha", "2004-01-20"),
            record(json!("absent"), "001099000001", "Ai Đó", "1999-01-01"),
            record(json!("dead"), "031180004321", "Phạm Thị Hương", "1980-05-09"),
            "not json at all".to_owned(),
            r#"{"ref":"x","id_number":"001090012345","date_of_birth":"1990-02-28"}"#.to_owned(),
            r#"{"ref":"y","id_number":1090012345,"full_name":"A","date_of_birth":"1990-02-28"}"#
                .to_owned(),
            String::new(),
            r#"{"ref":"z","id_number":"001090012345","full_name":"A","date_of_birth":"28/02/1990"}"#
                .to_owned(),
            record(json!("after"), "001090012345", "nguyễn văn an", "1990-02-28"),
        ]
        .join("\r\n");
        let answer = matching::start(
            &store,
            &BulkMatchLimits::default(),
            &operator(OPERATOR_ID),
            chunked(&input, 7),
        )
        .await
        .unwrap();
        let text = collect(answer).await;
        let got = lines(&text);
        let found = |r: Value, result: &str, name: &str, date: &str| json!({"ref": r, "result": result, "fields": {"full_name": name, "date_of_birth": date}});
        let expected = vec![
            found(json!("m1"), "match", "match", "match"),
            found(json!(2), "match", "match", "match"),
            found(json!("upper"), "match", "match", "match"),
            found(json!("weak"), "weak_match", "weak_match", "match"),
            found(json!("name"), "mismatch", "mismatch", "match"),
            found(json!("date"), "mismatch", "match", "mismatch"),
            found(json!("both"), "mismatch", "weak_match", "mismatch"),
            json!({"ref": "absent", "result": "not_found"}),
            json!({"ref": "dead", "result": "deceased"}),
            json!({"line": 10, "error": "not a JSON object"}),
            json!({"line": 11, "error": "missing field `full_name`"}),
            json!({"line": 12, "error": "`id_number` must be a string, not a number"}),
            json!({"line": 13, "error": "empty line"}),
            json!({"line": 14, "error": "date_of_birth: expected a past date as YYYY-MM-DD"}),
            found(json!("after"), "match", "match", "match"),
        ];
        assert_eq!(got, expected, "{}: {text}", db.name);

        // No value of the registry in the answer: none of its names or dates, in any form.
        let citizens = store
            .citizen_identities(&[
                "001090012345".into(),
                "079195000123".into(),
                "048203000777".into(),
                "092305000042".into(),
                "031180004321".into(),
            ])
            .await
            .unwrap();
        assert_eq!(citizens.len(), 5, "{}", db.name);
        for citizen in citizens {
            for word in citizen.full_name.split(' ') {
                assert!(!text.contains(word), "{}: {word} in {text}", db.name);
            }
            assert!(!text.contains(&citizen.date_of_birth), "{}", db.name);
            assert!(!text.contains(&citizen.date_of_birth[..4]), "{}", db.name);
        }

        // Audited at the start and, with the counts, at the end.
        let history = store.history(OPERATOR_ID, 10).await.unwrap();
        assert!(history.iter().any(|e| e.action == "telecom.match.started"));
        assert_eq!(
            finished(&store).await,
            vec![
                json!({"lines": 15, "match": 4, "weak_match": 1, "mismatch": 3,
                "not_found": 1, "deceased": 1, "errors": 5, "completion": "completed"})
            ],
            "{}",
            db.name
        );
    }
}

#[tokio::test]
async fn lean_batch_lookup_returns_only_what_matching_compares() {
    for db in databases().await {
        let store = store(&db).await;
        seed(&store).await;
        let ids: Vec<String> = [
            "031180004321",
            "001090012345",
            "001099000001",
            "001090012345",
        ]
        .map(str::to_owned)
        .to_vec();
        let mut rows = store.citizen_identities(&ids).await.unwrap();
        rows.sort_by(|a, b| a.id_number.cmp(&b.id_number));
        assert_eq!(rows.len(), 2, "{}", db.name);
        assert_eq!(rows[0].id_number, "001090012345");
        assert_eq!(rows[0].full_name, "Nguyễn Văn An");
        assert_eq!(rows[0].date_of_birth, "1990-02-28");
        assert_eq!(
            rows[1].status,
            dinhdanh_server::store::CitizenStatus::Deceased
        );
        assert!(store.citizen_identities(&[]).await.unwrap().is_empty());
    }
}

#[tokio::test]
async fn many_lines_stream_through_several_batches_in_order() {
    for db in databases().await {
        let store = store(&db).await;
        seed(&store).await;
        let count = 3 * matching::BATCH + 17;
        let mut input = String::new();
        for i in 0..count {
            let line = match i % 3 {
                0 => record(json!(i), "001090012345", "Nguyễn Văn An", "1990-02-28"),
                1 => record(json!(i), "001099000001", "Ai Đó", "1999-01-01"),
                _ => format!("{{\"ref\":{i}}}"),
            };
            input.push_str(&line);
            input.push('\n');
        }
        let answer = matching::start(
            &store,
            &BulkMatchLimits::default(),
            &operator(OPERATOR_ID),
            chunked(&input, 65_536),
        )
        .await
        .unwrap();
        let got = lines(&collect(answer).await);
        assert_eq!(got.len(), count, "{}", db.name);
        // The allowance is taken in growing blocks (bad lines take nothing): at least the
        // records matched, at most one block more.
        let records = (0..count).filter(|i| i % 3 != 2).count() as i64;
        let now = dinhdanh_server::platform::clock::now();
        let hits = store
            .take_allowance(
                &format!("telecom-match:{OPERATOR_ID}"),
                now,
                3_600,
                0,
                i64::MAX,
            )
            .await
            .unwrap()
            .unwrap();
        assert!(
            hits >= records && hits < records + 32_000,
            "{}: {hits} for {records}",
            db.name
        );
        for (i, line) in got.iter().enumerate() {
            match i % 3 {
                0 => assert_eq!(line["result"], "match", "{i}"),
                1 => assert_eq!(line["result"], "not_found", "{i}"),
                _ => assert_eq!(line["line"], i + 1, "{i}"),
            }
            if i % 3 != 2 {
                assert_eq!(line["ref"], i, "{}", db.name);
            }
        }
    }
}

#[tokio::test]
async fn the_operator_limit_ends_the_answer_and_then_refuses() {
    for db in databases().await {
        let store = store(&db).await;
        seed(&store).await;
        let limits = BulkMatchLimits {
            records_per_window: 5,
            ..BulkMatchLimits::default()
        };
        let good = |n: usize| {
            (0..n)
                .map(|i| record(json!(i), "001090012345", "Nguyễn Văn An", "1990-02-28"))
                .collect::<Vec<_>>()
                .join("\n")
        };
        // 4 of 5.
        let answer = matching::start(
            &store,
            &limits,
            &operator(OPERATOR_ID),
            chunked(&good(4), 1024),
        )
        .await
        .unwrap();
        assert_eq!(lines(&collect(answer).await).len(), 4, "{}", db.name);
        // 3 more do not fit: a bad line first is still answered, then the first record's line
        // is named and the answer ends.
        let input = format!("oops\n{}\n", good(3));
        let answer = matching::start(
            &store,
            &limits,
            &operator(OPERATOR_ID),
            chunked(&input, 1024),
        )
        .await
        .unwrap();
        let got = lines(&collect(answer).await);
        assert_eq!(got.len(), 2, "{}: {got:?}", db.name);
        assert_eq!(got[0], json!({"line": 1, "error": "not a JSON object"}));
        assert_eq!(got[1]["line"], 2);
        assert!(
            got[1]["error"]
                .as_str()
                .unwrap()
                .starts_with("rate limited"),
            "{got:?}"
        );
        // The last record of the window.
        let answer = matching::start(
            &store,
            &limits,
            &operator(OPERATOR_ID),
            chunked(&good(1), 1024),
        )
        .await
        .unwrap();
        assert_eq!(lines(&collect(answer).await)[0]["result"], "match");
        // Nothing left: refused before any answer.
        let refused = matching::start(
            &store,
            &limits,
            &operator(OPERATOR_ID),
            chunked(&good(1), 1024),
        )
        .await;
        assert!(
            matches!(refused, Err(MatchError::RateLimited { limit: 5, .. })),
            "{}: {refused:?}",
            db.name
        );
        // Another operator has its own allowance.
        let answer = matching::start(
            &store,
            &limits,
            &operator("rp-other"),
            chunked(&good(2), 1024),
        )
        .await
        .unwrap();
        assert_eq!(lines(&collect(answer).await).len(), 2);
        let ends: Vec<Value> = finished(&store).await;
        let completions: Vec<&str> = ends
            .iter()
            .map(|e| e["completion"].as_str().unwrap())
            .collect();
        assert_eq!(
            completions,
            ["completed", "rate_limited", "completed"],
            "{}",
            db.name
        );
    }
}

/// Waits until the operator has `n` finished requests in the audit log.
async fn wait_finished(store: &Store, n: usize) -> Vec<Value> {
    for _ in 0..200 {
        let ends = finished(store).await;
        if ends.len() >= n {
            return ends;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("the request's end was not audited");
}

#[tokio::test]
async fn a_client_that_goes_away_is_audited_with_what_it_was_answered() {
    for db in databases().await {
        let store = store(&db).await;
        seed(&store).await;
        // The input never ends: the client keeps its upload open and stops reading.
        let (feed, input) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(4);
        let line = record(json!("r"), "001099000001", "Ai Đó", "1999-01-01") + "\n";
        let batch = Bytes::from(line.repeat(matching::BATCH));
        let feeder = {
            let batch = batch.clone();
            tokio::spawn(async move { while feed.send(Ok(batch.clone())).await.is_ok() {} })
        };
        let mut answer = matching::start(
            &store,
            &BulkMatchLimits::default(),
            &operator(OPERATOR_ID),
            ReceiverStream::new(input),
        )
        .await
        .unwrap();
        let first = answer.recv().await.unwrap().unwrap();
        assert!(first.starts_with(b"{\"ref\":\"r\",\"result\":\"not_found\"}\n"));
        drop(answer);
        let ends = wait_finished(&store, 1).await;
        let end = &ends[0];
        assert_eq!(end["completion"], "client_gone", "{}: {end}", db.name);
        let answered = end["not_found"].as_u64().unwrap();
        assert!(answered >= matching::BATCH as u64, "{end}");
        assert!(end["lines"].as_u64().unwrap() >= answered, "{end}");
        feeder.abort();
    }
}

#[tokio::test]
async fn idle_input_and_a_failed_upload_end_the_request() {
    for db in databases().await {
        let store = store(&db).await;
        seed(&store).await;
        let limits = BulkMatchLimits {
            idle_timeout_seconds: 1,
            ..BulkMatchLimits::default()
        };
        let (feed, input) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(4);
        let line = record(json!("r"), "001090012345", "Nguyễn Văn An", "1990-02-28") + "\n";
        feed.send(Ok(Bytes::from(line))).await.unwrap();
        let answer = matching::start(
            &store,
            &limits,
            &operator(OPERATOR_ID),
            ReceiverStream::new(input),
        )
        .await
        .unwrap();
        let got = lines(&collect(answer).await);
        assert_eq!(got[0]["result"], "match", "{}", db.name);
        assert_eq!(got[1]["line"], 2);
        assert_eq!(
            got[1]["error"],
            "no input for 1 s: stopped before this line"
        );
        assert_eq!(got.len(), 2);
        drop(feed);

        // An upload cut in the middle of a line: the lines before it are answered.
        let chunks: Vec<Result<Bytes, std::io::Error>> = vec![
            Ok(Bytes::from(
                record(json!(1), "001090012345", "Nguyễn Văn An", "1990-02-28") + "\n{\"ref\":",
            )),
            Err(std::io::Error::other("connection reset")),
        ];
        let answer = matching::start(
            &store,
            &limits,
            &operator(OPERATOR_ID),
            tokio_stream::iter(chunks),
        )
        .await
        .unwrap();
        let got = lines(&collect(answer).await);
        assert_eq!(got.len(), 1, "{}: {got:?}", db.name);
        let ends = wait_finished(&store, 2).await;
        assert_eq!(ends[0]["completion"], "input_failed", "{}", db.name);
        assert_eq!(ends[1]["completion"], "input_idle");
        assert_eq!(ends[1]["match"], 1);
    }
}

// --- Over HTTP, with an operator's token ------------------------------------------------------

mod http {
    use axum::{
        body::Body,
        http::{Method, Request, StatusCode, header},
    };
    use dinhdanh_server::store::RelyingPartyKind;
    use serde_json::json;

    use super::{lines, record};
    use crate::support::{Reply, TestApp, databases, operator};

    fn post(token: Option<&str>, content_type: &str, body: String) -> Request<Body> {
        let mut request = Request::builder()
            .method(Method::POST)
            .uri("/v1/telecom/match")
            .header(header::CONTENT_TYPE, content_type);
        if let Some(token) = token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        request.body(Body::from(body)).unwrap()
    }

    fn problem(reply: &Reply, status: StatusCode, kind: &str) {
        assert_eq!(reply.status, status, "{}", reply.text);
        assert_eq!(
            reply.headers[header::CONTENT_TYPE],
            "application/problem+json"
        );
        assert_eq!(
            reply.body["type"],
            format!("urn:dinhdanh:problem:{kind}"),
            "{}",
            reply.text
        );
    }

    #[tokio::test]
    async fn an_operator_matches_its_base_over_http() {
        for db in databases().await {
            let app = TestApp::with_config(&db, |config| {
                config.bulk_match.records_per_window = 3;
            })
            .await;
            let operator =
                operator::register(&app, "nhamang.example.vn", RelyingPartyKind::Telecom).await;
            let token = operator.token(&app).await;
            let body = [
                record(json!("a"), "001090012345", "NGUYỄN VĂN AN", "1990-02-28"),
                "{broken".to_owned(),
                record(json!("b"), "031180004321", "Phạm Thị Hương", "1980-05-09"),
            ]
            .join("\n");
            let reply = app
                .send(post(
                    Some(&token),
                    "application/x-ndjson; charset=utf-8",
                    body.clone(),
                ))
                .await;
            assert_eq!(reply.status, StatusCode::OK, "{}: {}", db.name, reply.text);
            assert_eq!(reply.headers[header::CONTENT_TYPE], "application/x-ndjson");
            assert_eq!(reply.headers[header::CACHE_CONTROL], "no-store");
            let got = lines(&reply.text);
            assert_eq!(got[0]["result"], "match", "{}", reply.text);
            assert_eq!(got[1]["line"], 2);
            assert!(
                got[1]["error"]
                    .as_str()
                    .unwrap()
                    .starts_with("malformed JSON")
            );
            assert_eq!(got[2], json!({"ref": "b", "result": "deceased"}));
            assert_eq!(got.len(), 3);

            // Audited as the operator's, with the counts, once the answer has ended.
            let history = app.store.history(&operator.rp_id, 20).await.unwrap();
            let end = history
                .iter()
                .find(|e| e.action == "telecom.match.finished")
                .expect("the end is audited");
            assert_eq!(end.actor, format!("rp:{}", operator.rp_id));
            let detail: serde_json::Value = serde_json::from_str(&end.detail).unwrap();
            assert_eq!(detail["lines"], 3, "{detail}");
            assert_eq!(detail["match"], 1);
            assert_eq!(detail["deceased"], 1);
            assert_eq!(detail["errors"], 1);
            assert!(history.iter().any(|e| e.action == "telecom.match.started"));

            // Not NDJSON: 415 before anything is read or counted.
            for content_type in ["application/json", "text/plain", "application/x-ndjsonx"] {
                let reply = app
                    .send(post(Some(&token), content_type, body.clone()))
                    .await;
                problem(
                    &reply,
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "unsupported-media-type",
                );
            }
            // No token, or a bad one: 401 with the Bearer challenge.
            let reply = app
                .send(post(None, "application/x-ndjson", body.clone()))
                .await;
            problem(&reply, StatusCode::UNAUTHORIZED, "unauthenticated");
            assert!(reply.headers.contains_key(header::WWW_AUTHENTICATE));
            let reply = app
                .send(post(Some("forged"), "application/x-ndjson", body.clone()))
                .await;
            assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{}", reply.text);

            // The operator's window: 2 of 3 records taken; one more fits, then 429.
            let one = record(json!("c"), "001090012345", "Nguyễn Văn An", "1990-02-28");
            let reply = app
                .send(post(Some(&token), "application/x-ndjson", one.clone()))
                .await;
            assert_eq!(lines(&reply.text)[0]["result"], "match", "{}", reply.text);
            let reply = app
                .send(post(Some(&token), "application/x-ndjson", one))
                .await;
            problem(&reply, StatusCode::TOO_MANY_REQUESTS, "rate-limited");
            assert!(reply.headers.contains_key(header::RETRY_AFTER));
        }
    }
}

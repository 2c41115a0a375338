//! Bulk matching for telecom operators: `POST /v1/telecom/match`, NDJSON streamed both ways.

use axum::{
    body::Body,
    extract::State,
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use tokio_stream::wrappers::ReceiverStream;

use super::auth::TelecomOperator;
use crate::{
    domain::telecom::{self, matching},
    http::{
        AppState,
        error::{ApiError, Problem},
    },
};

/// The media type of both directions.
pub const NDJSON: &str = "application/x-ndjson";

/// Whether the request says its body is NDJSON (parameters such as `charset` allowed).
fn is_ndjson(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case(NDJSON))
}

/// Matches an operator's subscriber records against the registry, streamed both ways: each
/// NDJSON line `{"ref", "id_number", "full_name", "date_of_birth"}` is answered, in input order,
/// with `{"ref", "result": "match" | "weak_match" | "mismatch" | "not_found" | "deceased",
/// "fields"?: {"full_name": "match" | "weak_match" | "mismatch", "date_of_birth": "match" |
/// "mismatch"}}` (`fields` only for a living citizen found; `weak_match`: equal without
/// diacritics), a bad line with `{"line", "error"}` (1-based) and the stream goes on. No value
/// of the registry is ever in the answer. Records count against the operator's allowance per
/// window (`[bulk_match]`): past it the answer ends with one `{"line", "error"}` naming the first
/// line not matched.
#[utoipa::path(post, path = "/v1/telecom/match", tag = "telecom",
    request_body(content = String, content_type = "application/x-ndjson",
        description = "One JSON object per line: {\"ref\", \"id_number\", \"full_name\", \"date_of_birth\"}"),
    responses(
        (status = 200, body = String, content_type = "application/x-ndjson",
            description = "One answer per input line, in order, streamed as ready"),
        (status = 401, body = Problem, description = "No or a bad operator token"),
        (status = 403, body = Problem, description = "A session, not an operator token"),
        (status = 415, body = Problem, description = "The body is not application/x-ndjson"),
        (status = 429, body = Problem, description = "The operator's records per window are used up")),
    security(("operator" = [])))]
pub(super) async fn bulk_match(
    State(state): State<AppState>,
    TelecomOperator(operator): TelecomOperator,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    respond(&state, &operator, &headers, body).await
}

/// The answer to a match request of `operator`: 415 unless the body is NDJSON, 429 when the
/// operator's records per window are used up, else 200 with the answer streamed as it is
/// computed.
async fn respond(
    state: &AppState,
    operator: &crate::store::RelyingPartyRow,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    if !is_ndjson(headers) {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "Unsupported media type",
            Some(format!("expected Content-Type: {NDJSON}")),
        ));
    }
    let services = &state.services;
    let answer = matching::start(
        &services.store,
        &services.config.bulk_match,
        &matching::Operator {
            id: operator.id.clone(),
            actor: telecom::actor(operator),
        },
        body.into_data_stream(),
    )
    .await?;
    let mut response = Body::from_stream(ReceiverStream::new(answer)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(NDJSON));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

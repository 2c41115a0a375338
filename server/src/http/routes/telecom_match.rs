//! Bulk matching for telecom operators: `POST /v1/telecom/match`, NDJSON streamed both ways.

use axum::{
    body::Body,
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use tokio_stream::wrappers::ReceiverStream;

use crate::{
    domain::telecom::matching,
    http::{AppState, error::ApiError},
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

/// The answer to a match request of `operator` (its relying-party id, as authenticated): 415
/// unless the body is NDJSON, 429 when the operator's records per window are used up, else 200
/// with the answer streamed as it is computed.
pub(crate) async fn respond(
    state: &AppState,
    operator: &str,
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
        operator,
        body.into_data_stream(),
    )
    .await?;
    let mut response = Body::from_stream(ReceiverStream::new(answer)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(NDJSON));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

//! The verifier's HTTP surface: the RP backend's API (`POST /requests`, `GET /requests/{id}`,
//! Bearer API keys), the wallet's endpoints (the request object by reference, the response),
//! health, metrics and the OpenAPI document. Handlers extract, call the service and respond;
//! errors are mapped in `crate::http::error`.

use std::{sync::Arc, time::Instant};

use axum::{
    Router,
    body::Bytes,
    extract::{DefaultBodyLimit, MatchedPath, Query, Request, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use dinhdanh_sdk::openid4vp::request::{REQUEST_TYP, ResponseMode};
use ring::digest;
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::OpenApi;

use super::service::{
    AnswerOutcome, CreatedRequest, FailureReason, RequestResult, VerifiedPresentation, Verifier,
    VerifierError, preset,
};
use super::trust::RpStanding;
use crate::{
    http::{
        error::{ApiError, Problem},
        routes::{Json, Path},
    },
    platform::{clock, metrics::Metrics},
};

fn now() -> u64 {
    u64::try_from(clock::now()).unwrap_or_default()
}

/// The RP backend's API keys, kept as SHA-256 digests and compared in constant time.
pub struct ApiKeys(Vec<[u8; 32]>);

impl std::fmt::Debug for ApiKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ApiKeys({})", self.0.len())
    }
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(digest::digest(&digest::SHA256, bytes).as_ref());
    out
}

impl ApiKeys {
    /// The keys of the configuration.
    pub fn new(keys: &[String]) -> Self {
        Self(keys.iter().map(|k| sha256(k.as_bytes())).collect())
    }

    /// Whether `presented` is one of the keys: every key compared, none skipped.
    pub fn admits(&self, presented: &str) -> bool {
        let presented = sha256(presented.as_bytes());
        self.0.iter().fold(false, |found, key| {
            crate::platform::secrets::equal(key, &presented) | found
        })
    }
}

/// The verifier application.
#[derive(Debug)]
pub struct VerifierApp {
    /// The service.
    pub verifier: Verifier,
    /// Who may call the backend API.
    pub api_keys: ApiKeys,
    /// Request metrics.
    pub metrics: Metrics,
}

type AppState = Arc<VerifierApp>;

/// The largest backend request (a DCQL query).
const BODY_LIMIT: usize = 64 * 1024;
/// The largest wallet answer (presentations, maybe encrypted).
const ANSWER_LIMIT: usize = 512 * 1024;

/// The whole surface, for serving and for in-process tests.
pub fn router(app: Arc<VerifierApp>) -> Router {
    let wallet = Router::new()
        .route("/wallet/requests/{id}", get(request_object))
        .route("/wallet/responses/{id}", post(response))
        .layer(DefaultBodyLimit::max(ANSWER_LIMIT));
    Router::new()
        .route("/requests", post(create_request))
        .route("/requests/{id}", get(read_request))
        .route("/health", get(health))
        .route("/metrics", get(metrics))
        .route("/openapi.json", get(openapi))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .merge(wallet)
        .fallback(|| async { ApiError::not_found(None) })
        .layer(middleware::from_fn(deadline))
        .layer(middleware::from_fn_with_state(app.clone(), track))
        .with_state(app)
}

async fn track(State(app): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().as_str().to_owned();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str)
        .to_owned();
    let response = next.run(request).await;
    app.metrics.record(
        &method,
        &route,
        response.status().as_u16(),
        started.elapsed(),
    );
    response
}

/// How long a request may take, answer checks (and the status-list fetches they need)
/// included.
const REQUEST_DEADLINE: std::time::Duration = std::time::Duration::from_secs(30);

/// Answers 408 (problem+json) to a request not done in time, e.g. a client that stops sending
/// its body.
async fn deadline(request: Request, next: Next) -> Response {
    match tokio::time::timeout(REQUEST_DEADLINE, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            "timeout",
            "Request timed out",
            None,
        )
        .into_response(),
    }
}

/// 401 problem+json with `WWW-Authenticate: Bearer` unless the request carries a valid key.
fn authorize(app: &VerifierApp, headers: &HeaderMap) -> Result<(), Box<Response>> {
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    match presented {
        Some(key) if app.api_keys.admits(key) => Ok(()),
        _ => {
            let mut response = ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
                "API key required",
                Some("send a configured API key as Authorization: Bearer".to_owned()),
            )
            .into_response();
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            Err(Box::new(response))
        }
    }
}

/// A request id as the service makes them (22 base64url characters): anything else is unknown
/// without asking the database.
fn well_formed(id: &str) -> bool {
    id.len() == 22
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// What the backend asks for.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRequest {
    /// A DCQL query (OpenID4VP section 6).
    #[schema(value_type = Option<Object>)]
    pub dcql_query: Option<Value>,
    /// Or a preset: `pid-basic` (name and date of birth), `pid-age-over-18`.
    pub preset: Option<String>,
    /// `direct_post` (the default) or `direct_post.jwt` (answers encrypted to a key made for
    /// the request).
    #[schema(value_type = Option<String>)]
    pub response_mode: Option<ResponseMode>,
}

/// Makes a presentation request.
#[utoipa::path(post, path = "/requests", tag = "verifier", request_body = NewRequest,
    security(("api_key" = [])),
    responses((status = 201, body = CreatedRequest), (status = 400, body = Problem),
        (status = 401, body = Problem),
        (status = 403, body = Problem, description = "`rp-revoked`: the agency revoked this relying party's registration")))]
async fn create_request(
    State(app): State<AppState>,
    headers: HeaderMap,
    body: Result<Json<NewRequest>, ApiError>,
) -> Result<Response, Response> {
    authorize(&app, &headers).map_err(|response| *response)?;
    let Json(body) = body.map_err(IntoResponse::into_response)?;
    let query = match (body.dcql_query, body.preset) {
        (Some(query), None) => query,
        (None, Some(name)) => preset(&name)
            .ok_or_else(|| ApiError::from(VerifierError::UnknownPreset(name)).into_response())?,
        _ => return Err(ApiError::from(VerifierError::QueryOrPreset).into_response()),
    };
    let mode = body.response_mode.unwrap_or(ResponseMode::DirectPost);
    let created = app
        .verifier
        .create(&query, mode, now())
        .await
        .map_err(|e| ApiError::from(e).into_response())?;
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

/// What `GET /requests/{id}` adds: `include=presentation` for the verified presentation.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct ReadOptions {
    /// `presentation`: the verified `vp_token` and the request's nonce, as the wallet bound them
    /// (for a backend that passes the presentation on, e.g. to the agency's
    /// `POST /v1/telecom/subscriptions`).
    include: Option<String>,
}

/// Where a request stands: `pending`, `verified` (with the disclosed claims by credential query
/// id, and with `?include=presentation` the verified presentation) or `failed` (with a reason).
#[utoipa::path(get, path = "/requests/{id}", tag = "verifier", security(("api_key" = [])),
    params(("id" = String, Path), ReadOptions),
    responses((status = 200, body = RequestResult), (status = 400, body = Problem),
        (status = 401, body = Problem), (status = 404, body = Problem)))]
async fn read_request(
    State(app): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    options: Result<Query<ReadOptions>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, Response> {
    authorize(&app, &headers).map_err(|response| *response)?;
    let Query(options) = options.map_err(|e| ApiError::from(e).into_response())?;
    let with_presentation = match options.include.as_deref() {
        None => false,
        Some("presentation") => true,
        Some(_) => {
            return Err(ApiError::bad_request(
                "invalid-query",
                "include may only be `presentation`",
            )
            .into_response());
        }
    };
    let not_found = || ApiError::not_found(Some("no such request".to_owned())).into_response();
    if !well_formed(&id) {
        return Err(not_found());
    }
    match app.verifier.result(&id, now(), with_presentation).await {
        Ok(Some(result)) => Ok(Json(result).into_response()),
        Ok(None) => Err(not_found()),
        Err(error) => Err(ApiError::from(error).into_response()),
    }
}

/// The signed request object (`request_uri`), while its request is answerable.
#[utoipa::path(get, path = "/wallet/requests/{id}", tag = "wallet", params(("id" = String, Path)),
    responses((status = 200, content_type = "application/oauth-authz-req+jwt"),
        (status = 404, body = Problem)))]
async fn request_object(
    State(app): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    if !well_formed(&id) {
        return Err(ApiError::not_found(None));
    }
    let object = app
        .verifier
        .request_object(&id, now())
        .await?
        .ok_or_else(|| ApiError::not_found(Some("no answerable request".to_owned())))?;
    let mut response = object.into_response();
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&format!("application/{REQUEST_TYP}")) {
        headers.insert(header::CONTENT_TYPE, value);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// The wallet's answer (`response_uri`, `application/x-www-form-urlencoded`: `vp_token` and
/// `state`, or `response`, a JWE of them): 200 `{}` when it verified (or for an error
/// response), else the OAuth error object.
#[utoipa::path(post, path = "/wallet/responses/{id}", tag = "wallet", params(("id" = String, Path)),
    request_body(content_type = "application/x-www-form-urlencoded", content = String),
    responses((status = 200), (status = 400), (status = 404)))]
async fn response(State(app): State<AppState>, Path(id): Path<String>, body: Bytes) -> Response {
    use super::service::AnswerError;
    if !well_formed(&id) {
        return AnswerError::UnknownRequest.into_response();
    }
    let Ok(body) = std::str::from_utf8(&body) else {
        return AnswerError::Malformed.into_response();
    };
    match app.verifier.answer(&id, body, now()).await {
        Ok(AnswerOutcome::Verified | AnswerOutcome::Declined) => {
            let mut response = Json(json!({})).into_response();
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(error) => error.into_response(),
    }
}

/// Whether the service can verify: the database answers, the trust data is usable and the
/// relying party is not revoked. 200 `{"status": "ok", "trust_bundle_version", "relying_party":
/// "registered" | "unknown"}`; 503 problem+json `not-ready`, `stale-trust-data` or `rp-revoked`.
#[utoipa::path(get, path = "/health", tag = "system",
    responses((status = 200), (status = 503, body = Problem)))]
async fn health(State(app): State<AppState>) -> Result<Response, ApiError> {
    if let Err(error) = app.verifier.store().ping().await {
        tracing::warn!(%error, "health: database unavailable");
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "not-ready",
            "Database unavailable",
            None,
        ));
    }
    match app.verifier.trust_state(now()).await {
        Ok((_, RpStanding::Revoked)) => Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "rp-revoked",
            "Relying party revoked",
            Some(
                "the agency's relying-party status list says this registration is revoked"
                    .to_owned(),
            ),
        )),
        Ok((version, standing)) => Ok(Json(json!({
            "status": "ok",
            "trust_bundle_version": version,
            "relying_party": standing.as_str(),
        }))
        .into_response()),
        Err(error) => Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "stale-trust-data",
            "Trust data stale or unavailable",
            Some(error.to_string()),
        )),
    }
}

/// Prometheus text: requests by route, requests made, answers by outcome.
#[utoipa::path(get, path = "/metrics", tag = "system",
    responses((status = 200, content_type = "text/plain")))]
async fn metrics(State(app): State<AppState>) -> Response {
    use std::{fmt::Write, sync::atomic::Ordering};
    let mut text = app.metrics.render();
    let counters = &app.verifier.counters;
    text.push_str("# HELP dinhdanh_verifier_requests_created_total Presentation requests made.\n");
    text.push_str("# TYPE dinhdanh_verifier_requests_created_total counter\n");
    let _ = writeln!(
        text,
        "dinhdanh_verifier_requests_created_total {}",
        counters.created.load(Ordering::Relaxed)
    );
    text.push_str("# HELP dinhdanh_verifier_answers_total Wallet answers by outcome.\n");
    text.push_str("# TYPE dinhdanh_verifier_answers_total counter\n");
    let _ = writeln!(
        text,
        "dinhdanh_verifier_answers_total{{outcome=\"verified\"}} {}",
        counters.verified.load(Ordering::Relaxed)
    );
    let _ = writeln!(
        text,
        "dinhdanh_verifier_answers_total{{outcome=\"declined\"}} {}",
        counters.declined.load(Ordering::Relaxed)
    );
    if let Ok(failed) = counters.failed.lock() {
        for (reason, n) in failed.iter() {
            let _ = writeln!(
                text,
                "dinhdanh_verifier_answers_total{{outcome=\"failed\",reason=\"{reason}\"}} {n}"
            );
        }
    }
    let mut response = text.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    response
}

/// The verifier's API description.
#[derive(Debug, OpenApi)]
#[openapi(
    info(title = "dinhdanh-verifier", description = "An OpenID4VP 1.0 verifier for relying-party backends: make a request, show its QR code, read the verified claims."),
    paths(create_request, read_request, request_object, response, health, metrics),
    components(schemas(NewRequest, CreatedRequest, RequestResult, VerifiedPresentation,
        FailureReason, Problem)),
    modifiers(&ApiKeyScheme)
)]
pub struct VerifierApiDoc;

struct ApiKeyScheme;

impl utoipa::Modify for ApiKeyScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(VerifierApiDoc::openapi())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_keys_admit_only_their_own() {
        let keys = ApiKeys::new(&[
            "k-0123456789abcdefghijklmn".into(),
            "k2-0123456789abcdefghijkl".into(),
        ]);
        assert!(keys.admits("k-0123456789abcdefghijklmn"));
        assert!(keys.admits("k2-0123456789abcdefghijkl"));
        assert!(!keys.admits("k-0123456789abcdefghijklm"));
        assert!(!keys.admits(""));
    }

    #[test]
    fn the_openapi_document_lists_every_route() {
        let doc = serde_json::to_value(VerifierApiDoc::openapi()).unwrap();
        for path in [
            "/requests",
            "/requests/{id}",
            "/wallet/requests/{id}",
            "/wallet/responses/{id}",
            "/health",
            "/metrics",
        ] {
            assert!(doc["paths"].get(path).is_some(), "{path}");
        }
        // Every reason, typed, in the schema; the refusal of a revoked relying party.
        let reasons = &doc["components"]["schemas"]["FailureReason"]["enum"];
        for reason in [
            "forged",
            "revoked",
            "suspended",
            "expired",
            "not_registered",
            "rp_revoked",
            "stale_trust_data",
            "replayed",
            "invalid_response",
            "request_expired",
        ] {
            assert!(
                reasons.as_array().unwrap().iter().any(|r| r == reason),
                "{reason}: {reasons}"
            );
        }
        assert!(
            doc["paths"]["/requests"]["post"]["responses"]
                .get("403")
                .is_some()
        );
    }
}

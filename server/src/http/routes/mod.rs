//! The HTTP surface: thin handlers that extract, call a domain module and respond.
//!
//! Every API route states the roles it admits through its [`auth::Auth`] extractor; [`ACCESS`]
//! lists them so that a test can call every route with every role and check the others are
//! refused.

pub mod auth;
pub mod credentials;
pub mod enrolments;
pub mod level2;
pub mod me;
mod oid4vci;
mod openapi;
pub mod passkeys;
pub mod recoveries;
pub mod registry;
pub mod signing;
mod system;
pub mod trust;

use std::time::{Duration, Instant};

use axum::{
    Router,
    extract::{DefaultBodyLimit, FromRequest, FromRequestParts, MatchedPath, Request, State},
    http::{HeaderValue, StatusCode, header},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::{delete, get, post},
};
use serde::Serialize;
use tower_http::set_header::SetResponseHeaderLayer;

use self::auth::{ADMIN, ANY, CITIZEN, NONE, RECOVERY, SIGNED_IN, STAFF};
use crate::{domain::sessions::IssuedSession, http::AppState, http::error::ApiError};

pub use self::openapi::ApiDoc;

/// A JSON body whose rejections (malformed JSON, wrong content type, too large) are answered
/// as problem+json.
#[derive(Debug, Clone, Copy, Default, FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct Json<T>(pub T);

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        let mut response = axum::Json(self.0).into_response();
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response
    }
}

/// A path parameter whose rejections (e.g. `%FF`, which is not UTF-8) are answered as
/// problem+json, like every other error.
#[derive(Debug, Clone, Copy, Default, FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct Path<T>(pub T);

/// The anonymous endpoints that store state for a caller nobody knows yet, each limited per
/// client address (`config.anonymous_limits`) before anything else about the request is read.
///
/// The counters are rows of the database (`Store::hit_rate_limit`, keyed by a pseudonym of the
/// address), not process memory: several server processes share one database, and a limit
/// each process kept for itself would be multiplied by their number. The cost is one upsert per
/// request, which is less than the ceremony row it stands guard over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AnonymousEndpoint {
    /// `POST /v1/sessions/passkey`.
    SignInStart,
    /// `POST /v1/sessions/passkey/{ceremony_id}`.
    SignInFinish,
    /// `POST /par` (answered in the OAuth error format).
    Par,
}

impl AnonymousEndpoint {
    fn key(self) -> &'static str {
        match self {
            Self::SignInStart => "sign-in-start",
            Self::SignInFinish => "sign-in-finish",
            Self::Par => "par",
        }
    }
}

/// Counts a request to an [`AnonymousEndpoint`] against its client address and answers 429 past
/// the limit. Layered on the endpoint's route, so it runs before the handler's extractors: no
/// body is read and nothing is checked or stored for a refused request.
pub(crate) async fn anonymous_limit(
    State((state, endpoint)): State<(AppState, AnonymousEndpoint)>,
    request: Request,
    next: Next,
) -> Response {
    let services = &state.services;
    let limits = &services.config.anonymous_limits;
    let (parts, body) = request.into_parts();
    let client = auth::ClientAddress::of(&parts, &services.config.trusted_proxies);
    let key = format!(
        "anon-{}:{}",
        endpoint.key(),
        services.key.pseudonym("ip", &client.0)
    );
    let now = crate::platform::clock::now();
    let window = limits.window_seconds;
    match services.store.hit_rate_limit(&key, now, window).await {
        Ok(hits) if hits > limits.per_address => {
            let retry_after = window - now.rem_euclid(window);
            let mut refusal = match endpoint {
                AnonymousEndpoint::Par => oauth_too_many_requests(retry_after),
                _ => ApiError::too_many_requests(retry_after).into_response(),
            };
            refusal
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            refusal
        }
        Ok(_) => next.run(Request::from_parts(parts, body)).await,
        Err(error) => ApiError::from(error).into_response(),
    }
}

/// 429 in the OAuth error format (RFC 6749 section 5.2 shape) with `Retry-After`.
fn oauth_too_many_requests(retry_after: i64) -> Response {
    let retry_after = retry_after.max(1);
    let mut response = (
        StatusCode::TOO_MANY_REQUESTS,
        axum::Json(serde_json::json!({
            "error": "temporarily_unavailable",
            "error_description": format!("too many requests from this address; retry in {retry_after} s"),
        })),
    )
        .into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(value) = HeaderValue::from_str(&retry_after.to_string()) {
        headers.insert(header::RETRY_AFTER, value);
    }
    response
}

/// Declares the API's routes once: each line gives the method, the path, the roles admitted
/// (the bits of [`auth`]; `NONE` for a public route), the handler, and optionally a layer of
/// its own. From the one list come [`ACCESS`] (which the role walk and the OpenAPI check read)
/// and the router of the API, so the two cannot disagree.
macro_rules! api_routes {
    ($state:ident; $( $method:ident $path:literal, $roles:expr, $handler:expr $(, layer = $layer:expr)? ;)*) => {
        /// Who may call what: (method, route, roles). The roles are the bits of [`auth`]; `NONE`
        /// means a public route.
        pub const ACCESS: &[(&str, &str, u8)] = &[$((stringify!($method), $path, $roles)),*];

        /// The API's router, from the same list as [`ACCESS`].
        fn api($state: &AppState) -> Router<AppState> {
            Router::new()$(.route($path, method_route!($method, $handler)$(.layer($layer))?))*
        }
    };
}

/// The method router of one line of [`api_routes`].
macro_rules! method_route {
    (GET, $handler:expr) => {
        get($handler)
    };
    (POST, $handler:expr) => {
        post($handler)
    };
    (DELETE, $handler:expr) => {
        delete($handler)
    };
}

api_routes! { state;
    POST "/v1/enrolments", NONE, enrolments::start;
    POST "/v1/enrolments/{enrolment_id}/confirm", NONE, enrolments::confirm;
    POST "/v1/recoveries", NONE, recoveries::start;
    POST "/v1/recoveries/{recovery_id}/confirm", NONE, recoveries::confirm;
    GET "/v1/recoveries/{recovery_id}", RECOVERY | STAFF, recoveries::show;
    // Chip files are larger than other bodies (DG2 holds a portrait).
    POST "/v1/recoveries/{recovery_id}/chip", RECOVERY, recoveries::chip,
        layer = DefaultBodyLimit::max(CHIP_UPLOAD_LIMIT);
    POST "/v1/recoveries/{recovery_id}/approve", STAFF, recoveries::approve;
    POST "/v1/staff/invitations/redeem", NONE, passkeys::redeem_invitation;
    POST "/v1/sessions/passkey", NONE, passkeys::start_sign_in,
        layer = middleware::from_fn_with_state(
            (state.clone(), AnonymousEndpoint::SignInStart),
            anonymous_limit,
        );
    POST "/v1/sessions/passkey/{ceremony_id}", NONE, passkeys::finish_sign_in,
        layer = middleware::from_fn_with_state(
            (state.clone(), AnonymousEndpoint::SignInFinish),
            anonymous_limit,
        );
    DELETE "/v1/sessions/current", ANY, passkeys::sign_out;
    POST "/v1/passkeys/registrations", ANY, passkeys::start_registration;
    POST "/v1/passkeys/registrations/{ceremony_id}", ANY, passkeys::finish_registration;
    GET "/v1/me", SIGNED_IN, me::account;
    GET "/v1/me/passkeys", SIGNED_IN, me::passkeys;
    DELETE "/v1/me/passkeys/{passkey_id}", SIGNED_IN, me::revoke_passkey;
    GET "/v1/me/history", SIGNED_IN, me::history;
    GET "/v1/me/devices", CITIZEN, me::devices;
    POST "/v1/me/devices", CITIZEN, me::add_device;
    DELETE "/v1/me/devices/{device_id}", CITIZEN, me::revoke_device;
    GET "/v1/registry/citizens/{id_number}", STAFF, registry::citizen;
    POST "/v1/registry/citizens/lookup", STAFF, registry::lookup;
    GET "/v1/admin/staff", ADMIN, registry::staff;
    POST "/v1/me/offers", CITIZEN, credentials::offer_to_me;
    GET "/v1/me/offers", CITIZEN, credentials::my_offers;
    GET "/v1/me/credentials", CITIZEN, credentials::my_credentials;
    POST "/v1/citizens/{id_number}/offers", STAFF, credentials::offer_at_counter;
    GET "/v1/citizens/{id_number}/credentials", STAFF, credentials::citizen_credentials;
    POST "/v1/citizens/{id_number}/credentials/revoke", STAFF,
        credentials::revoke_citizen_credentials;
    POST "/v1/citizens/{id_number}/level2/withdraw", STAFF, credentials::withdraw_level2;
    POST "/v1/citizens/{id_number}/close", ADMIN, credentials::close_account;
    POST "/v1/credentials/{credential_id}/revoke", STAFF, credentials::revoke_copy;
    POST "/v1/credentials/{credential_id}/suspend", STAFF, credentials::suspend_copy;
    POST "/v1/credentials/{credential_id}/reinstate", STAFF, credentials::reinstate_copy;
    POST "/v1/authorizations/{handle}/approve", CITIZEN, credentials::approve_authorization;
    // Chip files are larger than other bodies (DG2 holds a portrait).
    POST "/v1/me/level2", CITIZEN, level2::submit, layer = DefaultBodyLimit::max(CHIP_UPLOAD_LIMIT);
    GET "/v1/me/level2", CITIZEN, level2::mine;
    GET "/v1/level2-requests", STAFF, level2::pending;
    GET "/v1/level2-requests/{request_id}/portrait", STAFF, level2::portrait;
    POST "/v1/level2-requests/{request_id}/approve", STAFF, level2::approve;
    POST "/v1/level2-requests/{request_id}/reject", STAFF, level2::reject;
    GET "/trust/rp-root.pem", NONE, trust::rp_root;
    GET "/trust/rp-status-list", NONE, trust::rp_status_list;
    GET "/trust/bundle", NONE, trust::bundle;
    GET "/crl/rp.crl", NONE, trust::rp_crl;
    POST "/v1/me/signing-certificates", CITIZEN, signing::request_certificate;
    GET "/v1/me/signing-certificates", CITIZEN, signing::my_certificates;
    POST "/v1/me/signing-certificates/{certificate_id}/revoke", CITIZEN, signing::revoke_mine;
    GET "/v1/citizens/{id_number}/signing-certificates", STAFF, signing::citizen_certificates;
    POST "/v1/signing-certificates/{certificate_id}/revoke", STAFF, signing::revoke_by_staff;
}

/// Largest chip-data upload (four base64 files, the portrait the largest).
const CHIP_UPLOAD_LIMIT: usize = 512 * 1024;

/// The routes that take chip data, with [`CHIP_UPLOAD_LIMIT`] instead of the configured body
/// limit: their table entries carry that `DefaultBodyLimit`, and [`declared_length`] refuses a
/// larger declared body at once.
const CHIP_UPLOAD_ROUTES: [&str; 2] = ["/v1/me/level2", "/v1/recoveries/{recovery_id}/chip"];

/// The router over `state`.
pub fn router(state: AppState) -> Router {
    let config = &state.services.config;
    let timeout = Duration::from_secs(config.request_timeout_seconds);
    let body_limit = config.max_body_bytes;
    let api = api(&state);
    let hsts = state.services.public_url.starts_with("https://");
    let router = Router::new()
        .merge(api)
        .merge(system::router())
        .merge(oid4vci::router(&state))
        .merge(signing::router())
        .merge(crate::http::portal::router())
        .fallback(|| async { ApiError::not_found(Some("no such route".to_owned())) })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method-not-allowed",
                "Method not allowed",
                None,
            )
        })
        .layer(middleware::from_fn_with_state(timeout, deadline))
        .layer(middleware::from_fn_with_state(body_limit, declared_length))
        .layer(middleware::from_fn_with_state(state.clone(), track))
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ));
    // Served over https (behind a TLS-terminating proxy): browsers must never fall back to http
    // for a year, the cookie and passkey origin included. Over plain http the header would be
    // ignored by browsers and wrong to promise.
    let router = if hsts {
        router.layer(SetResponseHeaderLayer::overriding(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        ))
    } else {
        router
    };
    router.with_state(state)
}

/// Answers 413 (problem+json) at once to a request whose `Content-Length` exceeds the route's
/// body limit, before anything waits for the body: otherwise a client declaring a huge body and
/// sending none holds the request until the timeout.
async fn declared_length(State(limit): State<usize>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(MatchedPath::as_str);
    let limit = if route.is_some_and(|route| CHIP_UPLOAD_ROUTES.contains(&route)) {
        CHIP_UPLOAD_LIMIT
    } else {
        limit
    };
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    match declared {
        Some(length) if length > limit as u64 => {
            let mut response = ApiError::body_too_large(limit).into_response();
            // The body is not read: the connection cannot carry another request.
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            response
        }
        _ => next.run(request).await,
    }
}

/// Answers 408 (problem+json) to a request not done within the configured time, e.g. a client
/// that stops sending its body.
async fn deadline(State(limit): State<Duration>, request: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(request)).await {
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

/// Records each request's route, status and latency. Logs carry the route template, never the
/// path itself (an ID number can be part of a path).
async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().as_str().to_owned();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str)
        .to_owned();
    let response = next.run(request).await;
    let elapsed = started.elapsed();
    let status = response.status().as_u16();
    state.metrics.record(&method, &route, status, elapsed);
    tracing::info!(target: "dinhdanh::http", %method, %route, status, ms = elapsed.as_secs_f64() * 1e3, "request");
    response
}

/// A session as handed to its holder.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SessionCreated {
    /// The account.
    pub account_id: String,
    /// `setup` (may only complete its passkey registration), `recovery` (may only act on its
    /// recovery), `citizen`, `officer` or `admin`.
    pub role: String,
    /// 1 or 2.
    pub assurance_level: i64,
    /// Bearer token for `Authorization: Bearer`; the portal gets the same in a cookie.
    pub token: String,
    /// RFC 3339.
    pub expires_at: String,
}

impl SessionCreated {
    /// The holder's view of a session just issued for `account`.
    fn new(account: &crate::store::Account, issued: &IssuedSession) -> Self {
        Self {
            account_id: account.id.clone(),
            role: issued.role.as_str().to_owned(),
            assurance_level: account.assurance_level.as_i64(),
            token: issued.token.clone(),
            expires_at: crate::platform::clock::rfc3339(issued.expires_at),
        }
    }
}

/// A 201 response with `body`, setting the portal's cookie for the session `issued`.
fn created_with_session(
    state: &AppState,
    issued: &IssuedSession,
    body: impl Serialize,
) -> Response {
    let max_age = issued.expires_at - crate::platform::clock::now();
    let mut response = (StatusCode::CREATED, Json(body)).into_response();
    let cookie = auth::session_cookie(&issued.token, max_age, &state.services.public_url);
    if let Ok(cookie) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    response
}

/// A 201 response carrying a new session, with the portal's session cookie.
fn session_response(
    state: &AppState,
    account: &crate::store::Account,
    issued: &IssuedSession,
) -> Response {
    created_with_session(state, issued, SessionCreated::new(account, issued))
}

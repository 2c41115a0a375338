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
mod system;

use std::time::{Duration, Instant};

use axum::{
    Router,
    extract::{DefaultBodyLimit, FromRequest, MatchedPath, Request, State},
    http::{HeaderValue, StatusCode, header},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::{delete, get, post},
};
use serde::Serialize;
use tower_http::set_header::SetResponseHeaderLayer;

use self::auth::{ADMIN, ANY, CITIZEN, NONE, RECOVERY, SIGNED_IN, STAFF};
use crate::{AppState, error::ApiError, sessions::IssuedSession};

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

/// Who may call what: (method, route, roles). The roles are the bits of [`auth`]; `NONE` means
/// a public route.
pub const ACCESS: &[(&str, &str, u8)] = &[
    ("POST", "/v1/enrolments", NONE),
    ("POST", "/v1/enrolments/{enrolment_id}/confirm", NONE),
    ("POST", "/v1/recoveries", NONE),
    ("POST", "/v1/recoveries/{recovery_id}/confirm", NONE),
    ("GET", "/v1/recoveries/{recovery_id}", RECOVERY | STAFF),
    ("POST", "/v1/recoveries/{recovery_id}/chip", RECOVERY),
    ("POST", "/v1/recoveries/{recovery_id}/approve", STAFF),
    ("POST", "/v1/staff/invitations/redeem", NONE),
    ("POST", "/v1/sessions/passkey", NONE),
    ("POST", "/v1/sessions/passkey/{ceremony_id}", NONE),
    ("DELETE", "/v1/sessions/current", ANY),
    ("POST", "/v1/passkeys/registrations", RECOVERY | SIGNED_IN),
    ("POST", "/v1/passkeys/registrations/{ceremony_id}", ANY),
    ("GET", "/v1/me", SIGNED_IN),
    ("GET", "/v1/me/passkeys", SIGNED_IN),
    ("DELETE", "/v1/me/passkeys/{passkey_id}", SIGNED_IN),
    ("GET", "/v1/me/history", SIGNED_IN),
    ("GET", "/v1/me/devices", CITIZEN),
    ("POST", "/v1/me/devices", CITIZEN),
    ("DELETE", "/v1/me/devices/{device_id}", CITIZEN),
    ("GET", "/v1/registry/citizens/{id_number}", STAFF),
    ("POST", "/v1/registry/citizens/lookup", STAFF),
    ("GET", "/v1/admin/staff", ADMIN),
    ("POST", "/v1/me/offers", CITIZEN),
    ("GET", "/v1/me/offers", CITIZEN),
    ("GET", "/v1/me/credentials", CITIZEN),
    ("POST", "/v1/citizens/{id_number}/offers", STAFF),
    ("GET", "/v1/citizens/{id_number}/credentials", STAFF),
    ("POST", "/v1/citizens/{id_number}/credentials/revoke", STAFF),
    ("POST", "/v1/citizens/{id_number}/level2/withdraw", STAFF),
    ("POST", "/v1/citizens/{id_number}/close", ADMIN),
    ("POST", "/v1/credentials/{credential_id}/revoke", STAFF),
    ("POST", "/v1/credentials/{credential_id}/suspend", STAFF),
    ("POST", "/v1/credentials/{credential_id}/reinstate", STAFF),
    ("POST", "/v1/authorizations/{handle}/approve", CITIZEN),
    ("POST", "/v1/me/level2", CITIZEN),
    ("GET", "/v1/me/level2", CITIZEN),
    ("GET", "/v1/level2-requests", STAFF),
    ("GET", "/v1/level2-requests/{request_id}/portrait", STAFF),
    ("POST", "/v1/level2-requests/{request_id}/approve", STAFF),
    ("POST", "/v1/level2-requests/{request_id}/reject", STAFF),
];

/// Largest chip-data upload (four base64 files, the portrait the largest).
const CHIP_UPLOAD_LIMIT: usize = 512 * 1024;

/// The router over `state`.
pub fn router(state: AppState) -> Router {
    let config = &state.services.config;
    let timeout = Duration::from_secs(config.request_timeout_seconds);
    let body_limit = config.max_body_bytes;
    let api = Router::new()
        .route("/v1/enrolments", post(enrolments::start))
        .route(
            "/v1/enrolments/{enrolment_id}/confirm",
            post(enrolments::confirm),
        )
        .route("/v1/recoveries", post(recoveries::start))
        .route(
            "/v1/recoveries/{recovery_id}/confirm",
            post(recoveries::confirm),
        )
        .route("/v1/recoveries/{recovery_id}", get(recoveries::show))
        .route(
            "/v1/recoveries/{recovery_id}/chip",
            // Chip files are larger than other bodies (DG2 holds a portrait).
            post(recoveries::chip).layer(DefaultBodyLimit::max(CHIP_UPLOAD_LIMIT)),
        )
        .route(
            "/v1/recoveries/{recovery_id}/approve",
            post(recoveries::approve),
        )
        .route(
            "/v1/staff/invitations/redeem",
            post(passkeys::redeem_invitation),
        )
        .route("/v1/sessions/passkey", post(passkeys::start_sign_in))
        .route(
            "/v1/sessions/passkey/{ceremony_id}",
            post(passkeys::finish_sign_in),
        )
        .route("/v1/sessions/current", delete(passkeys::sign_out))
        .route(
            "/v1/passkeys/registrations",
            post(passkeys::start_registration),
        )
        .route(
            "/v1/passkeys/registrations/{ceremony_id}",
            post(passkeys::finish_registration),
        )
        .route("/v1/me", get(me::account))
        .route("/v1/me/passkeys", get(me::passkeys))
        .route("/v1/me/passkeys/{passkey_id}", delete(me::revoke_passkey))
        .route("/v1/me/history", get(me::history))
        .route("/v1/me/devices", get(me::devices).post(me::add_device))
        .route("/v1/me/devices/{device_id}", delete(me::revoke_device))
        .route("/v1/registry/citizens/{id_number}", get(registry::citizen))
        .route("/v1/registry/citizens/lookup", post(registry::lookup))
        .route("/v1/admin/staff", get(registry::staff))
        .route(
            "/v1/me/offers",
            post(credentials::offer_to_me).get(credentials::my_offers),
        )
        .route("/v1/me/credentials", get(credentials::my_credentials))
        .route(
            "/v1/citizens/{id_number}/offers",
            post(credentials::offer_at_counter),
        )
        .route(
            "/v1/citizens/{id_number}/credentials",
            get(credentials::citizen_credentials),
        )
        .route(
            "/v1/citizens/{id_number}/credentials/revoke",
            post(credentials::revoke_citizen_credentials),
        )
        .route(
            "/v1/citizens/{id_number}/level2/withdraw",
            post(credentials::withdraw_level2),
        )
        .route(
            "/v1/citizens/{id_number}/close",
            post(credentials::close_account),
        )
        .route(
            "/v1/credentials/{credential_id}/revoke",
            post(credentials::revoke_copy),
        )
        .route(
            "/v1/credentials/{credential_id}/suspend",
            post(credentials::suspend_copy),
        )
        .route(
            "/v1/credentials/{credential_id}/reinstate",
            post(credentials::reinstate_copy),
        )
        .route(
            "/v1/me/level2",
            post(level2::submit)
                .get(level2::mine)
                // Chip files are larger than other bodies (DG2 holds a portrait).
                .layer(DefaultBodyLimit::max(CHIP_UPLOAD_LIMIT)),
        )
        .route(
            "/v1/authorizations/{handle}/approve",
            post(credentials::approve_authorization),
        )
        .route("/v1/level2-requests", get(level2::pending))
        .route(
            "/v1/level2-requests/{request_id}/portrait",
            get(level2::portrait),
        )
        .route(
            "/v1/level2-requests/{request_id}/approve",
            post(level2::approve),
        )
        .route(
            "/v1/level2-requests/{request_id}/reject",
            post(level2::reject),
        );
    Router::new()
        .merge(api)
        .merge(system::router())
        .merge(oid4vci::router())
        .merge(crate::portal::router())
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
        .layer(middleware::from_fn_with_state(state.clone(), track))
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .with_state(state)
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
            assurance_level: account.assurance_level,
            token: issued.token.clone(),
            expires_at: crate::clock::rfc3339(issued.expires_at),
        }
    }
}

/// A 201 response with `body`, setting the portal's cookie for the session `issued`.
fn created_with_session(
    state: &AppState,
    issued: &IssuedSession,
    body: impl Serialize,
) -> Response {
    let max_age = issued.expires_at - crate::clock::now();
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

//! Health, metrics, the OpenAPI document, and the well-known documents that let the Android and
//! iOS apps share the WebAuthn relying party.

use axum::{
    Router,
    extract::State,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};
use serde_json::json;
use utoipa::OpenApi;

use super::Json;
use crate::{http::AppState, http::error::ApiError};

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/health/live", get(live))
        .route("/health/ready", get(ready))
        .route("/metrics", get(metrics))
        .route("/openapi.json", get(openapi))
        .route("/.well-known/assetlinks.json", get(assetlinks))
        .route(
            "/.well-known/apple-app-site-association",
            get(apple_app_site_association),
        )
}

/// The process is up.
#[utoipa::path(get, path = "/health/live", tag = "system", responses((status = 200)))]
pub(super) async fn live() -> Json<serde_json::Value> {
    Json(json!({ "status": "live" }))
}

/// The process can serve: its database answers.
#[utoipa::path(get, path = "/health/ready", tag = "system", responses((status = 200), (status = 503)))]
pub(super) async fn ready(
    State(state): State<AppState>,
) -> Result<Json<serde_json::Value>, ApiError> {
    match state.services.store.ping().await {
        Ok(()) => Ok(Json(json!({ "status": "ready" }))),
        Err(error) => {
            tracing::warn!(%error, "readiness check failed");
            Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "not-ready",
                "Database unavailable",
                None,
            ))
        }
    }
}

/// Prometheus metrics of this process.
#[utoipa::path(get, path = "/metrics", tag = "system", responses((status = 200, content_type = "text/plain")))]
pub(super) async fn metrics(State(state): State<AppState>) -> Response {
    let mut text = state.metrics.render();
    crate::platform::metrics::render_sms(&mut text, state.services.sms.counters());
    let mut response = text.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    response
}

async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(super::ApiDoc::openapi())
}

/// Digital Asset Links: the Android app may use this origin's passkeys.
#[utoipa::path(get, path = "/.well-known/assetlinks.json", tag = "system", responses((status = 200)))]
pub(super) async fn assetlinks(State(state): State<AppState>) -> Json<serde_json::Value> {
    let apps = &state.services.config.apps;
    let statements: Vec<_> = apps
        .android_package
        .iter()
        .map(|package| {
            json!({
                "relation": ["delegate_permission/common.handle_all_urls", "delegate_permission/common.get_login_creds"],
                "target": {
                    "namespace": "android_app",
                    "package_name": package,
                    "sha256_cert_fingerprints": apps.android_sha256_cert_fingerprints,
                }
            })
        })
        .collect();
    Json(json!(statements))
}

/// Associated domains: the iOS app may use this origin's passkeys (`webcredentials`).
#[utoipa::path(get, path = "/.well-known/apple-app-site-association", tag = "system", responses((status = 200)))]
pub(super) async fn apple_app_site_association(
    State(state): State<AppState>,
) -> Json<serde_json::Value> {
    let apps = &state.services.config.apps.apple_app_ids;
    Json(json!({
        "webcredentials": { "apps": apps },
        "applinks": { "details": [ { "appIDs": apps, "components": [ { "/": "/*" } ] } ] },
    }))
}

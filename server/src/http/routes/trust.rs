//! What wallets and offline verifiers trust, published: the relying-party CA (the anchor of
//! access certificates and registrations), its CRL, the registrations' status list, and the
//! signed trust bundle that names all of them with their maximum ages.

use axum::{
    extract::State,
    http::{HeaderValue, header},
    response::{IntoResponse, Response},
};

use crate::{domain::rp, http::AppState, http::error::ApiError};

fn with_type(body: impl IntoResponse, content_type: &'static str, max_age: i64) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(value) = HeaderValue::from_str(&format!("public, max-age={}", max_age.max(0))) {
        headers.insert(header::CACHE_CONTROL, value);
    }
    response
}

/// The relying-party CA certificate (PEM), certified by the agency root: the anchor wallets
/// check relying parties' access certificates and registrations against.
#[utoipa::path(get, path = "/trust/rp-root.pem", tag = "relying parties",
    responses((status = 200, content_type = "application/x-pem-file")))]
pub async fn rp_root(State(state): State<AppState>) -> Response {
    with_type(state.services.rp.ca_pem(), "application/x-pem-file", 3600)
}

/// The relying-party CA's CRL (DER): revoked access certificates.
#[utoipa::path(get, path = "/crl/rp.crl", tag = "relying parties",
    responses((status = 200, content_type = "application/pkix-crl")))]
pub async fn rp_crl(State(state): State<AppState>) -> Result<Response, ApiError> {
    let services = &state.services;
    let der = rp::crl(services, crate::platform::clock::now()).await?;
    Ok(with_type(
        der,
        "application/pkix-crl",
        services.config.issuance.status_ttl_seconds,
    ))
}

/// The registrations' status list (`application/statuslist+jwt`): a revoked relying party's
/// entry is 1.
#[utoipa::path(get, path = "/trust/rp-status-list", tag = "relying parties",
    responses((status = 200, content_type = "application/statuslist+jwt")))]
pub async fn rp_status_list(State(state): State<AppState>) -> Result<Response, ApiError> {
    let services = &state.services;
    let token = rp::status_list_token(services, crate::platform::clock::now()).await?;
    Ok(with_type(
        token,
        "application/statuslist+jwt",
        services.config.issuance.status_ttl_seconds,
    ))
}

/// The trust bundle (`application/jwt`, `typ` `trust-bundle+jwt`), signed by the agency: issuer
/// and relying-party roots, where status lists and CRLs are, their maximum ages, and a version
/// that increases whenever roots or revocations change.
#[utoipa::path(get, path = "/trust/bundle", tag = "relying parties",
    responses((status = 200, content_type = "application/jwt")))]
pub async fn bundle(State(state): State<AppState>) -> Result<Response, ApiError> {
    let services = &state.services;
    let jwt = rp::trust_bundle(services, crate::platform::clock::now()).await?;
    Ok(with_type(
        jwt,
        "application/jwt",
        services.config.issuance.status_ttl_seconds,
    ))
}

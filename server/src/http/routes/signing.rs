//! Citizen signing certificates (`/v1/me/signing-certificates`, the staff revocation), and the
//! public services of the signing CA: the CRL, the OCSP responder and the time-stamp authority.

use axum::{
    Router,
    body::Bytes,
    extract::State,
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{
    Json, Path,
    auth::{Auth, CITIZEN, STAFF},
};
use crate::{
    domain::ca::{
        self,
        certificates::{self, RevocationReason},
    },
    http::AppState,
    http::error::{ApiError, Problem},
    platform::clock::rfc3339,
    store::SigningCertificate,
};

/// The public routes: CRL, OCSP (GET and POST), TSA.
pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/crl/signing.crl", get(crl))
        .route("/ocsp", post(ocsp_post))
        .route("/ocsp/{*request}", get(ocsp_get))
        .route("/tsa", post(tsa))
}

/// A certificate request as JSON. The same request may instead be posted as the body itself
/// with `Content-Type: application/pkcs10` (PEM or DER).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CertificateRequest {
    /// The PKCS#10 request: PEM (`-----BEGIN CERTIFICATE REQUEST-----`) or standard base64 of
    /// its DER. Its key must be P-256 and new to the CA; its subject and extensions are
    /// ignored.
    pub csr: String,
    /// One of the citizen's active devices (`GET /v1/me/devices`) holding the key: revoking the
    /// device revokes the certificate.
    #[serde(default)]
    pub device_id: Option<String>,
}

/// A certificate just issued.
#[derive(Debug, Serialize, ToSchema)]
pub struct IssuedCertificate {
    /// The certificate's id (for revocation).
    pub id: String,
    /// Serial number, lowercase hex.
    pub serial: String,
    /// PEM: the certificate, then the citizen signing CA; the agency root
    /// (`GET /trust/issuer-root.pem`) is not included.
    pub certificate_chain: String,
    /// RFC 3339.
    pub not_before: String,
    /// RFC 3339.
    pub not_after: String,
}

/// A signing certificate as its holder (or an officer) sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct SigningCertificateView {
    /// Id.
    pub id: String,
    /// Serial number, lowercase hex.
    pub serial: String,
    /// `valid`, `revoked` or `expired`.
    pub status: String,
    /// The device named when it was requested.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_id: Option<String>,
    /// The certificate, PEM.
    pub certificate: String,
    /// RFC 3339.
    pub not_before: String,
    /// RFC 3339.
    pub not_after: String,
    /// RFC 3339, when revoked (when the server recorded the cause).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<String>,
    /// Why, when revoked: `unspecified`, `key_compromise`, `affiliation_changed`,
    /// `superseded`, `cessation_of_operation` or `privilege_withdrawn`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revocation_reason: Option<String>,
}

impl SigningCertificateView {
    fn new(c: &SigningCertificate, now: i64) -> Self {
        let status = if c.revoked_at.is_some() {
            "revoked"
        } else if c.not_after <= now {
            "expired"
        } else {
            "valid"
        };
        Self {
            id: c.id.clone(),
            serial: c.serial.clone(),
            status: status.to_owned(),
            device_id: c.device_id.clone(),
            certificate: dinhdanh_sdk::x509::dev::der_to_pem(&c.der),
            not_before: rfc3339(c.not_before),
            not_after: rfc3339(c.not_after),
            revoked_at: c.revoked_at.map(rfc3339),
            revocation_reason: c
                .revocation_reason
                .and_then(RevocationReason::from_code)
                .map(|r| r.as_str().to_owned()),
        }
    }
}

/// Why a certificate is revoked (optional for the citizen: `unspecified` by default).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RevocationRequest {
    /// The RFC 5280 reason.
    #[serde(default)]
    pub reason: RevocationReason,
}

fn media_type(headers: &HeaderMap) -> String {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default()
}

fn unsupported_media_type(expected: &str) -> ApiError {
    ApiError::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported-media-type",
        "Unsupported media type",
        Some(format!("expected Content-Type: {expected}")),
    )
}

/// Requests a signing certificate for a key on the citizen's device. Level 2 and a passkey
/// sign-in within the last `signing.step_up_seconds` (default 300) are required. The body is
/// JSON `{"csr": "<PEM or base64 DER>", "device_id"?}` (`application/json`), or the request
/// itself, PEM or DER (`application/pkcs10`).
#[utoipa::path(post, path = "/v1/me/signing-certificates", tag = "signing",
    request_body(content(
        (CertificateRequest = "application/json"),
        (String = "application/pkcs10"),
    )),
    responses((status = 201, body = IssuedCertificate),
        (status = 400, body = Problem, description = "malformed request, wrong signature, not P-256"),
        (status = 403, body = Problem, description = "level 2 or a recent passkey sign-in required"),
        (status = 409, body = Problem, description = "the key was certified already"),
        (status = 415, body = Problem)),
    security(("session" = [])))]
pub(super) async fn request_certificate(
    State(state): State<AppState>,
    Auth(principal): Auth<CITIZEN>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let (csr, device_id) = match media_type(&headers).as_str() {
        "application/json" => {
            let request: CertificateRequest = serde_json::from_slice(&body).map_err(|e| {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "malformed-json",
                    "Malformed JSON body",
                    Some(e.to_string()),
                )
            })?;
            (request.csr.into_bytes(), request.device_id)
        }
        "application/pkcs10" => (body.to_vec(), None),
        _ => {
            return Err(unsupported_media_type(
                "application/json or application/pkcs10",
            ));
        }
    };
    let issued =
        certificates::request(&state.services, &principal, &csr, device_id.as_deref()).await?;
    let c = &issued.certificate;
    let body = IssuedCertificate {
        id: c.id.clone(),
        serial: c.serial.clone(),
        certificate_chain: issued.chain_pem,
        not_before: rfc3339(c.not_before),
        not_after: rfc3339(c.not_after),
    };
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

/// The citizen's signing certificates, revoked and expired ones included.
#[utoipa::path(get, path = "/v1/me/signing-certificates", tag = "signing",
    responses((status = 200, body = [SigningCertificateView])), security(("session" = [])))]
pub(super) async fn my_certificates(
    State(state): State<AppState>,
    Auth(principal): Auth<CITIZEN>,
) -> Result<Json<Vec<SigningCertificateView>>, ApiError> {
    let now = crate::platform::clock::now();
    let stored = state
        .services
        .store
        .signing_certificates(&principal.account.id)
        .await?;
    Ok(Json(
        stored
            .iter()
            .map(|c| SigningCertificateView::new(c, now))
            .collect(),
    ))
}

/// Reads an optional JSON revocation request (an empty body means `unspecified`).
fn revocation_request(body: &[u8]) -> Result<RevocationRequest, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(RevocationRequest::default());
    }
    serde_json::from_slice(body).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "malformed-json",
            "Malformed JSON body",
            Some(e.to_string()),
        )
    })
}

/// The citizen revokes one of their signing certificates (e.g. a lost phone): the CRL and the
/// OCSP answer change at once. The body is optional.
#[utoipa::path(post, path = "/v1/me/signing-certificates/{certificate_id}/revoke", tag = "signing",
    params(("certificate_id" = String, Path)), request_body = RevocationRequest,
    responses((status = 200, body = SigningCertificateView), (status = 404, body = Problem)),
    security(("session" = [])))]
pub(super) async fn revoke_mine(
    State(state): State<AppState>,
    Auth(principal): Auth<CITIZEN>,
    Path(certificate_id): Path<String>,
    body: Bytes,
) -> Result<Json<SigningCertificateView>, ApiError> {
    let request = revocation_request(&body)?;
    let revoked = certificates::revoke_own(
        &state.services,
        &principal.account,
        &certificate_id,
        request.reason,
    )
    .await?;
    Ok(Json(SigningCertificateView::new(
        &revoked,
        crate::platform::clock::now(),
    )))
}

/// A citizen's signing certificates (for an officer).
#[utoipa::path(get, path = "/v1/citizens/{id_number}/signing-certificates", tag = "signing",
    params(("id_number" = String, Path)),
    responses((status = 200, body = [SigningCertificateView]), (status = 404, body = Problem)),
    security(("session" = [])))]
pub(super) async fn citizen_certificates(
    State(state): State<AppState>,
    Auth(_principal): Auth<STAFF>,
    Path(id_number): Path<String>,
) -> Result<Json<Vec<SigningCertificateView>>, ApiError> {
    let account = state
        .services
        .store
        .account_by_id_number(&id_number)
        .await?
        .ok_or_else(|| ApiError::not_found(Some("no account for this ID number".to_owned())))?;
    let now = crate::platform::clock::now();
    let stored = state
        .services
        .store
        .signing_certificates(&account.id)
        .await?;
    Ok(Json(
        stored
            .iter()
            .map(|c| SigningCertificateView::new(c, now))
            .collect(),
    ))
}

/// An officer revokes a citizen's signing certificate.
#[utoipa::path(post, path = "/v1/signing-certificates/{certificate_id}/revoke", tag = "signing",
    params(("certificate_id" = String, Path)), request_body = RevocationRequest,
    responses((status = 200, body = SigningCertificateView), (status = 404, body = Problem)),
    security(("session" = [])))]
pub(super) async fn revoke_by_staff(
    State(state): State<AppState>,
    Auth(principal): Auth<STAFF>,
    Path(certificate_id): Path<String>,
    body: Bytes,
) -> Result<Json<SigningCertificateView>, ApiError> {
    let request = revocation_request(&body)?;
    let revoked = certificates::revoke_by_staff(
        &state.services,
        &principal.account,
        &certificate_id,
        request.reason,
    )
    .await?;
    Ok(Json(SigningCertificateView::new(
        &revoked,
        crate::platform::clock::now(),
    )))
}

fn binary(content_type: &'static str, cache: &'static str, bytes: Vec<u8>) -> Response {
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    response
}

/// The citizen signing CA's CRL (DER, RFC 5280): a new one after every revocation, and before
/// half of `nextUpdate` has passed.
#[utoipa::path(get, path = "/crl/signing.crl", tag = "signing",
    responses((status = 200, content_type = "application/pkix-crl")))]
pub(super) async fn crl(State(state): State<AppState>) -> Result<Response, ApiError> {
    let crl = ca::crl::current(&state.services).await?;
    // Revalidated on every use: a revocation must not wait for a cache.
    Ok(binary("application/pkix-crl", "no-cache", crl.der))
}

/// The OCSP responder (RFC 6960), POST: the DER request as the body
/// (`application/ocsp-request`).
#[utoipa::path(post, path = "/ocsp", tag = "signing",
    request_body(content = Vec<u8>, content_type = "application/ocsp-request"),
    responses((status = 200, content_type = "application/ocsp-response"), (status = 415, body = Problem)))]
pub(super) async fn ocsp_post(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    if media_type(&headers) != "application/ocsp-request" {
        return Err(unsupported_media_type("application/ocsp-request"));
    }
    let answer = ca::ocsp::respond(&state.services, &body).await;
    Ok(binary("application/ocsp-response", "no-store", answer))
}

/// The OCSP responder (RFC 6960 appendix A.1), GET: the base64 DER request in the path.
#[utoipa::path(get, path = "/ocsp/{request}", tag = "signing",
    params(("request" = String, Path, description = "base64 of the DER OCSPRequest (URL-encoded)")),
    responses((status = 200, content_type = "application/ocsp-response")))]
pub(super) async fn ocsp_get(
    State(state): State<AppState>,
    Path(request): Path<String>,
) -> Response {
    use base64::Engine;
    let compact: String = request.chars().filter(|c| !c.is_whitespace()).collect();
    let answer = match base64::engine::general_purpose::STANDARD.decode(compact) {
        Ok(der) => ca::ocsp::respond(&state.services, &der).await,
        Err(_) => ca::ocsp::malformed(),
    };
    binary("application/ocsp-response", "no-store", answer)
}

/// The time-stamp authority (RFC 3161 over HTTP): a `TimeStampReq` in
/// (`application/timestamp-query`), a `TimeStampResp` out (`application/timestamp-reply`).
#[utoipa::path(post, path = "/tsa", tag = "signing",
    request_body(content = Vec<u8>, content_type = "application/timestamp-query"),
    responses((status = 200, content_type = "application/timestamp-reply"), (status = 415, body = Problem)))]
pub(super) async fn tsa(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    if media_type(&headers) != "application/timestamp-query" {
        return Err(unsupported_media_type("application/timestamp-query"));
    }
    let reply =
        ca::tsa::stamp(&state.services.signing, &body).map_err(|e| ApiError::internal(&e))?;
    Ok(binary("application/timestamp-reply", "no-store", reply))
}

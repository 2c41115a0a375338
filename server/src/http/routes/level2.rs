//! Level 2 over the API: a citizen uploads their card's chip data; officers list the pending
//! requests, see the portrait, and approve or reject.

use axum::{
    extract::State,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use base64::Engine;
use serde::Deserialize;
use utoipa::ToSchema;

use super::{
    Json, Path,
    auth::{Auth, CITIZEN, STAFF},
    credentials::Reason,
};
use crate::{
    domain::kyc::{self, ChipFiles, Decision, ProofingView},
    http::AppState,
    http::error::{ApiError, Problem},
};

/// The files read from the chip, each standard base64.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChipUpload {
    /// EF.DG1 (MRZ).
    pub dg1: String,
    /// EF.DG2 (portrait).
    pub dg2: String,
    /// EF.DG13 (personal data).
    pub dg13: String,
    /// EF.SOD.
    pub sod: String,
}

impl ChipUpload {
    /// The decoded files.
    pub(super) fn files(&self) -> Result<ChipFiles, ApiError> {
        Ok(ChipFiles {
            dg1: decode("dg1", &self.dg1)?,
            dg2: decode("dg2", &self.dg2)?,
            dg13: decode("dg13", &self.dg13)?,
            sod: decode("sod", &self.sod)?,
        })
    }
}

fn decode(name: &'static str, value: &str) -> Result<Vec<u8>, ApiError> {
    base64::engine::general_purpose::STANDARD
        .decode(value)
        .map_err(|_| ApiError::bad_request("invalid-chip-data", format!("{name} is not base64")))
}

/// Uploads the chip data of the citizen's ID card for level 2: checked now (passive
/// authentication, registry comparison), then left for an officer.
#[utoipa::path(post, path = "/v1/me/level2", tag = "level 2", request_body = ChipUpload,
    responses((status = 202, body = ProofingView), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("session" = [])))]
pub(super) async fn submit(
    State(state): State<AppState>,
    Auth(principal): Auth<CITIZEN>,
    Json(body): Json<ChipUpload>,
) -> Result<Response, ApiError> {
    let view = kyc::submit(&state.services, &principal.account, &body.files()?).await?;
    Ok((StatusCode::ACCEPTED, Json(view)).into_response())
}

/// The citizen's latest level-2 request.
#[utoipa::path(get, path = "/v1/me/level2", tag = "level 2",
    responses((status = 200, body = ProofingView), (status = 404, body = Problem)), security(("session" = [])))]
pub(super) async fn mine(
    State(state): State<AppState>,
    Auth(principal): Auth<CITIZEN>,
) -> Result<Json<ProofingView>, ApiError> {
    let request = state
        .services
        .store
        .latest_proofing_request(&principal.account.id)
        .await?
        .ok_or_else(|| ApiError::not_found(Some("no level-2 request".to_owned())))?;
    Ok(Json(ProofingView::new(&request, None)?))
}

/// Pending level-2 requests, oldest first, with their checks and citizens.
#[utoipa::path(get, path = "/v1/level2-requests", tag = "level 2",
    responses((status = 200, body = [ProofingView])), security(("session" = [])))]
pub(super) async fn pending(
    State(state): State<AppState>,
    Auth(_principal): Auth<STAFF>,
) -> Result<Json<Vec<ProofingView>>, ApiError> {
    Ok(Json(kyc::pending(&state.services).await?))
}

/// The portrait of a pending request (erased at the decision).
#[utoipa::path(get, path = "/v1/level2-requests/{request_id}/portrait", tag = "level 2",
    params(("request_id" = String, Path)),
    responses((status = 200, content_type = "image/jpeg"), (status = 404, body = Problem)), security(("session" = [])))]
pub(super) async fn portrait(
    State(state): State<AppState>,
    Auth(_principal): Auth<STAFF>,
    Path(request_id): Path<String>,
) -> Result<Response, ApiError> {
    let dg2 = state
        .services
        .store
        .proofing_portrait(&request_id)
        .await?
        .ok_or_else(|| ApiError::not_found(Some("no portrait for this request".to_owned())))?;
    let (media, image) = kyc::portrait_image(&dg2).unwrap_or(("application/octet-stream", &dg2));
    let mut response = image.to_vec().into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(media));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// Approves a pending request: the account is raised to level 2 and a PID offer is made for the
/// citizen at the counter.
#[utoipa::path(post, path = "/v1/level2-requests/{request_id}/approve", tag = "level 2",
    params(("request_id" = String, Path)),
    responses((status = 200, body = Decision), (status = 404, body = Problem), (status = 409, body = Problem)),
    security(("session" = [])))]
pub(super) async fn approve(
    State(state): State<AppState>,
    Auth(principal): Auth<STAFF>,
    Path(request_id): Path<String>,
) -> Result<Json<Decision>, ApiError> {
    Ok(Json(
        kyc::decide(&state.services, &principal.account, &request_id, true, None).await?,
    ))
}

/// Rejects a pending request, with a reason.
#[utoipa::path(post, path = "/v1/level2-requests/{request_id}/reject", tag = "level 2",
    params(("request_id" = String, Path)), request_body = Reason,
    responses((status = 200, body = Decision), (status = 404, body = Problem), (status = 409, body = Problem)),
    security(("session" = [])))]
pub(super) async fn reject(
    State(state): State<AppState>,
    Auth(principal): Auth<STAFF>,
    Path(request_id): Path<String>,
    Json(body): Json<Reason>,
) -> Result<Json<Decision>, ApiError> {
    Ok(Json(
        kyc::decide(
            &state.services,
            &principal.account,
            &request_id,
            false,
            Some(&body.reason),
        )
        .await?,
    ))
}

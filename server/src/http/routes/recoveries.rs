//! Account recovery over the API: a code to a registered phone, then a fresh chip check or an
//! officer's approval, then the passkey that replaces the account's (see [`crate::domain::recovery`]).

use axum::{
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde::Serialize;
use utoipa::ToSchema;

use super::{
    Json, Path,
    auth::{Auth, ClientAddress, RECOVERY, STAFF},
    created_with_session,
    enrolments::{ConfirmEnrolment, EnrolmentConfirmed, StartEnrolment},
    level2::ChipUpload,
};
use crate::{
    domain::enrolment::EnrolmentRequest,
    domain::recovery::{self, RecoveryView},
    domain::sessions::Role,
    http::AppState,
    http::error::{ApiError, Problem},
};

/// A recovery waiting for its code. The same answer whether or not the details matched.
#[derive(Debug, Serialize, ToSchema)]
pub struct RecoveryStarted {
    /// Where to send the code.
    pub recovery_id: String,
    /// RFC 3339.
    pub expires_at: String,
    /// Digits in the code.
    pub code_length: u8,
}

/// Starts recovering an account: if the details match a citizen with an account and the phone is
/// registered to them, a code goes to that phone.
#[utoipa::path(post, path = "/v1/recoveries", tag = "recovery", request_body = StartEnrolment,
    responses((status = 202, body = RecoveryStarted), (status = 400, body = Problem), (status = 429, body = Problem)))]
pub(super) async fn start(
    State(state): State<AppState>,
    ClientAddress(client): ClientAddress,
    Json(body): Json<StartEnrolment>,
) -> Result<Response, ApiError> {
    let started = recovery::start(&state.services, &EnrolmentRequest::from(body), &client).await?;
    let body = RecoveryStarted {
        recovery_id: started.enrolment_id,
        expires_at: crate::platform::clock::rfc3339(started.expires_at),
        code_length: 6,
    };
    Ok((StatusCode::ACCEPTED, Json(body)).into_response())
}

/// A confirmed recovery code.
#[derive(Debug, Serialize, ToSchema)]
pub struct RecoveryConfirmed {
    /// A `setup` session (the account's setup was never finished) or a `recovery` session, and
    /// the passkey registration it may complete.
    #[serde(flatten)]
    pub confirmed: EnrolmentConfirmed,
    /// For a recovery session: the recovery, its evidence and the level it leads to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recovery: Option<RecoveryView>,
}

/// Confirms the recovery code.
#[utoipa::path(post, path = "/v1/recoveries/{recovery_id}/confirm", tag = "recovery", request_body = ConfirmEnrolment,
    params(("recovery_id" = String, Path)),
    responses((status = 201, body = RecoveryConfirmed), (status = 400, body = Problem), (status = 410, body = Problem)))]
pub(super) async fn confirm(
    State(state): State<AppState>,
    Path(recovery_id): Path<String>,
    Json(body): Json<ConfirmEnrolment>,
) -> Result<Response, ApiError> {
    let confirmed = recovery::confirm(&state.services, &recovery_id, &body.code).await?;
    let response = RecoveryConfirmed {
        confirmed: EnrolmentConfirmed::new(&confirmed.confirmed),
        recovery: confirmed.recovery,
    };
    Ok(created_with_session(
        &state,
        &confirmed.confirmed.session,
        response,
    ))
}

/// The recovery: for its recovery session, or for an officer at the counter (with the citizen's
/// registry name and date of birth).
#[utoipa::path(get, path = "/v1/recoveries/{recovery_id}", tag = "recovery",
    params(("recovery_id" = String, Path)),
    responses((status = 200, body = RecoveryView), (status = 403, body = Problem), (status = 410, body = Problem)),
    security(("session" = [])))]
pub(super) async fn show(
    State(state): State<AppState>,
    Auth(principal): Auth<{ RECOVERY | STAFF }>,
    Path(recovery_id): Path<String>,
) -> Result<Json<RecoveryView>, ApiError> {
    let view = if principal.role == Role::Recovery {
        recovery::mine(&state.services, &principal, &recovery_id).await?
    } else {
        recovery::for_officer(&state.services, &recovery_id).await?
    };
    Ok(Json(view))
}

/// Adds a fresh chip check of the citizen's ID card to the recovery (keeps level 2).
#[utoipa::path(post, path = "/v1/recoveries/{recovery_id}/chip", tag = "recovery", request_body = ChipUpload,
    params(("recovery_id" = String, Path)),
    responses((status = 200, body = RecoveryView), (status = 403, body = Problem), (status = 410, body = Problem), (status = 422, body = Problem)),
    security(("session" = [])))]
pub(super) async fn chip(
    State(state): State<AppState>,
    Auth(principal): Auth<RECOVERY>,
    Path(recovery_id): Path<String>,
    Json(body): Json<ChipUpload>,
) -> Result<Json<RecoveryView>, ApiError> {
    let files = body.files()?;
    Ok(Json(
        recovery::submit_chip(&state.services, &principal, &recovery_id, &files).await?,
    ))
}

/// An officer at the counter approves the recovery, having checked the person and their card.
#[utoipa::path(post, path = "/v1/recoveries/{recovery_id}/approve", tag = "recovery",
    params(("recovery_id" = String, Path)),
    responses((status = 200, body = RecoveryView), (status = 410, body = Problem)),
    security(("session" = [])))]
pub(super) async fn approve(
    State(state): State<AppState>,
    Auth(principal): Auth<STAFF>,
    Path(recovery_id): Path<String>,
) -> Result<Json<RecoveryView>, ApiError> {
    Ok(Json(
        recovery::approve(&state.services, &principal.account, &recovery_id).await?,
    ))
}

//! Credentials over the API: offers (asked for by a citizen, or made at a counter by an
//! officer), the copies issued, and the lifecycle decisions staff take.

use axum::{
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{
    Json, Path,
    auth::{ADMIN, Auth, CITIZEN, STAFF},
};
use crate::{
    Services,
    domain::issuance::{
        self, CreatedOffer,
        lifecycle::{self, CopyAction, CredentialView},
    },
    http::AppState,
    http::error::{ApiError, Problem},
    store::Account,
};

/// Where the browser goes after an approval.
#[derive(Debug, Serialize, ToSchema)]
pub struct Approved {
    /// The wallet's redirect URI with `code`, `state` and `iss`.
    pub redirect_to: String,
}

/// Approves a pushed authorization request (the authorization step of the authorization code
/// flow); the session must come from a passkey sign-in made after the request.
#[utoipa::path(post, path = "/v1/authorizations/{handle}/approve", tag = "credentials",
    params(("handle" = String, Path)),
    responses((status = 200, body = Approved), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("session" = [])))]
pub(super) async fn approve_authorization(
    State(state): State<AppState>,
    Auth(principal): Auth<CITIZEN>,
    Path(handle): Path<String>,
) -> Result<Json<Approved>, ApiError> {
    let redirect_to =
        crate::domain::issuance::authorization::approve(&state.services, &principal, &handle)
            .await?;
    Ok(Json(Approved { redirect_to }))
}

/// Credentials to offer.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OfferRequest {
    /// Credential configuration ids (`pid`, `driving_licence`, `health_insurance`,
    /// `vehicle_registration`, `judicial_record`).
    pub credential_configuration_ids: Vec<String>,
}

/// Offers credentials to the signed-in level-2 citizen.
#[utoipa::path(post, path = "/v1/me/offers", tag = "credentials", request_body = OfferRequest,
    responses((status = 201, body = CreatedOffer), (status = 403, body = Problem), (status = 422, body = Problem)),
    security(("session" = [])))]
pub(super) async fn offer_to_me(
    State(state): State<AppState>,
    Auth(principal): Auth<CITIZEN>,
    Json(body): Json<OfferRequest>,
) -> Result<Response, ApiError> {
    let account = &principal.account;
    let offer = issuance::create_offer(
        &state.services,
        &account.id,
        &body.credential_configuration_ids,
        &account.id,
        "citizen",
    )
    .await?;
    Ok((StatusCode::CREATED, Json(offer)).into_response())
}

/// Collects the offers waiting for the signed-in citizen (made when their registry data
/// changed); each is shown once, with its transaction code.
#[utoipa::path(get, path = "/v1/me/offers", tag = "credentials",
    responses((status = 200, body = [CreatedOffer])), security(("session" = [])))]
pub(super) async fn my_offers(
    State(state): State<AppState>,
    Auth(principal): Auth<CITIZEN>,
) -> Result<Json<Vec<CreatedOffer>>, ApiError> {
    Ok(Json(
        issuance::collect_pending_offers(&state.services, &principal.account).await?,
    ))
}

/// The credential copies issued to the signed-in citizen.
#[utoipa::path(get, path = "/v1/me/credentials", tag = "credentials",
    responses((status = 200, body = [CredentialView])), security(("session" = [])))]
pub(super) async fn my_credentials(
    State(state): State<AppState>,
    Auth(principal): Auth<CITIZEN>,
) -> Result<Json<Vec<CredentialView>>, ApiError> {
    credential_views(&state.services, &principal.account.id).await
}

async fn credential_views(
    services: &Services,
    account_id: &str,
) -> Result<Json<Vec<CredentialView>>, ApiError> {
    let records = services.store.account_credentials(account_id).await?;
    Ok(Json(
        records
            .iter()
            .map(|r| CredentialView::new(services, r))
            .collect(),
    ))
}

async fn citizen_account(services: &Services, id_number: &str) -> Result<Account, ApiError> {
    services
        .store
        .account_by_id_number(id_number)
        .await?
        .ok_or_else(|| ApiError::not_found(Some("no account for this ID number".to_owned())))
}

/// Makes an offer for a citizen at a counter (the citizen scans it and types the code).
#[utoipa::path(post, path = "/v1/citizens/{id_number}/offers", tag = "credentials",
    params(("id_number" = String, Path)), request_body = OfferRequest,
    responses((status = 201, body = CreatedOffer), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("session" = [])))]
pub(super) async fn offer_at_counter(
    State(state): State<AppState>,
    Auth(principal): Auth<STAFF>,
    Path(id_number): Path<String>,
    Json(body): Json<OfferRequest>,
) -> Result<Response, ApiError> {
    let account = citizen_account(&state.services, &id_number).await?;
    let offer = issuance::create_offer(
        &state.services,
        &account.id,
        &body.credential_configuration_ids,
        &principal.account.id,
        "counter",
    )
    .await?;
    Ok((StatusCode::CREATED, Json(offer)).into_response())
}

/// A citizen's credential copies.
#[utoipa::path(get, path = "/v1/citizens/{id_number}/credentials", tag = "credentials",
    params(("id_number" = String, Path)),
    responses((status = 200, body = [CredentialView]), (status = 404, body = Problem)), security(("session" = [])))]
pub(super) async fn citizen_credentials(
    State(state): State<AppState>,
    Auth(_principal): Auth<STAFF>,
    Path(id_number): Path<String>,
) -> Result<Json<Vec<CredentialView>>, ApiError> {
    let account = citizen_account(&state.services, &id_number).await?;
    credential_views(&state.services, &account.id).await
}

/// Why staff act.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Reason {
    /// Recorded in the audit log, 1 to 500 characters.
    pub reason: String,
}

/// How many copies a change touched.
#[derive(Debug, Serialize, ToSchema)]
pub struct Changed {
    /// Copies whose status changed.
    pub changed: u64,
}

/// Revokes every credential of a citizen (e.g. a lost or stolen phone).
#[utoipa::path(post, path = "/v1/citizens/{id_number}/credentials/revoke", tag = "credentials",
    params(("id_number" = String, Path)), request_body = Reason,
    responses((status = 200, body = Changed), (status = 404, body = Problem)), security(("session" = [])))]
pub(super) async fn revoke_citizen_credentials(
    State(state): State<AppState>,
    Auth(principal): Auth<STAFF>,
    Path(id_number): Path<String>,
    Json(body): Json<Reason>,
) -> Result<Json<Changed>, ApiError> {
    let account = citizen_account(&state.services, &id_number).await?;
    let changed = lifecycle::revoke_all(
        &state.services,
        &principal.account,
        &account.id,
        &body.reason,
    )
    .await?;
    Ok(Json(Changed { changed }))
}

/// Withdraws a citizen's level 2: every credential revoked.
#[utoipa::path(post, path = "/v1/citizens/{id_number}/level2/withdraw", tag = "credentials",
    params(("id_number" = String, Path)), request_body = Reason,
    responses((status = 204), (status = 404, body = Problem), (status = 409, body = Problem)), security(("session" = [])))]
pub(super) async fn withdraw_level2(
    State(state): State<AppState>,
    Auth(principal): Auth<STAFF>,
    Path(id_number): Path<String>,
    Json(body): Json<Reason>,
) -> Result<StatusCode, ApiError> {
    let account = citizen_account(&state.services, &id_number).await?;
    lifecycle::withdraw_level2(
        &state.services,
        &principal.account,
        &account.id,
        &body.reason,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Closes a citizen's account: credentials revoked, devices and sessions ended.
#[utoipa::path(post, path = "/v1/citizens/{id_number}/close", tag = "credentials",
    params(("id_number" = String, Path)), request_body = Reason,
    responses((status = 204), (status = 404, body = Problem), (status = 409, body = Problem)), security(("session" = [])))]
pub(super) async fn close_account(
    State(state): State<AppState>,
    Auth(principal): Auth<ADMIN>,
    Path(id_number): Path<String>,
    Json(body): Json<Reason>,
) -> Result<StatusCode, ApiError> {
    let account = citizen_account(&state.services, &id_number).await?;
    lifecycle::close_account(
        &state.services,
        &principal.account,
        &account.id,
        &body.reason,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn change_copy(
    state: &AppState,
    actor: &Account,
    credential_id: &str,
    action: CopyAction,
    reason: &str,
) -> Result<Json<CredentialView>, ApiError> {
    Ok(Json(
        lifecycle::change_copy(&state.services, actor, credential_id, action, reason).await?,
    ))
}

/// Revokes one credential copy (`<list>.<index>`).
#[utoipa::path(post, path = "/v1/credentials/{credential_id}/revoke", tag = "credentials",
    params(("credential_id" = String, Path)), request_body = Reason,
    responses((status = 200, body = CredentialView), (status = 404, body = Problem), (status = 409, body = Problem)),
    security(("session" = [])))]
pub(super) async fn revoke_copy(
    State(state): State<AppState>,
    Auth(principal): Auth<STAFF>,
    Path(credential_id): Path<String>,
    Json(body): Json<Reason>,
) -> Result<Json<CredentialView>, ApiError> {
    change_copy(
        &state,
        &principal.account,
        &credential_id,
        CopyAction::Revoke,
        &body.reason,
    )
    .await
}

/// Suspends one credential copy.
#[utoipa::path(post, path = "/v1/credentials/{credential_id}/suspend", tag = "credentials",
    params(("credential_id" = String, Path)), request_body = Reason,
    responses((status = 200, body = CredentialView), (status = 404, body = Problem), (status = 409, body = Problem)),
    security(("session" = [])))]
pub(super) async fn suspend_copy(
    State(state): State<AppState>,
    Auth(principal): Auth<STAFF>,
    Path(credential_id): Path<String>,
    Json(body): Json<Reason>,
) -> Result<Json<CredentialView>, ApiError> {
    change_copy(
        &state,
        &principal.account,
        &credential_id,
        CopyAction::Suspend,
        &body.reason,
    )
    .await
}

/// Reinstates a suspended credential copy.
#[utoipa::path(post, path = "/v1/credentials/{credential_id}/reinstate", tag = "credentials",
    params(("credential_id" = String, Path)), request_body = Reason,
    responses((status = 200, body = CredentialView), (status = 404, body = Problem), (status = 409, body = Problem)),
    security(("session" = [])))]
pub(super) async fn reinstate_copy(
    State(state): State<AppState>,
    Auth(principal): Auth<STAFF>,
    Path(credential_id): Path<String>,
    Json(body): Json<Reason>,
) -> Result<Json<CredentialView>, ApiError> {
    change_copy(
        &state,
        &principal.account,
        &credential_id,
        CopyAction::Reinstate,
        &body.reason,
    )
    .await
}

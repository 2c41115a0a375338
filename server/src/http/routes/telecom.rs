//! Telecom operators' routes (Bearer token of scope `telecom`, see [`TelecomOperator`]) and the
//! citizen's list of the numbers registered to them.

use axum::{
    extract::{Query, State, rejection::QueryRejection},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde::Deserialize;

use super::{
    Json, Path,
    auth::{Auth, CITIZEN, TelecomOperator},
};
use crate::{
    domain::telecom::subscriptions::{
        self, BindRequest, Bound, CitizenSubscription, DeviceChangeRequest, DisputeAnswer,
        MarkRequest, Marked, OperatorDispute, OperatorSubscription,
    },
    http::AppState,
    http::error::{ApiError, Problem},
};

/// Registers a SIM binding (MSISDN ↔ citizen ↔ this operator) after verifying the subscriber:
/// with a wallet presentation (`presentation`, re-verified by the server: issuer chain, status,
/// key binding to the operator's client id, single-use nonce) or the four-field match
/// (`four_fields`, with the operator's face match). Idempotent on (operator, MSISDN): a repeat
/// answers 200 and records the new verification (clearing a required re-verification).
#[utoipa::path(post, path = "/v1/telecom/subscriptions", tag = "telecom",
    request_body = BindRequest,
    responses(
        (status = 201, body = Bound, description = "Bound"),
        (status = 200, body = Bound, description = "Bound before: verified again"),
        (status = 400, body = Problem, description = "invalid-msisdn, invalid-request"),
        (status = 401, body = Problem, description = "No or a bad operator token"),
        (status = 409, body = Problem, description = "msisdn-bound: the number is bound to another subscriber"),
        (status = 422, body = Problem, description = "not-verified (unknown or deceased citizen, or a mismatch: one answer), face-match-failed, presentation-refused, subscription-limit")),
    security(("operator" = [])))]
pub(super) async fn bind(
    State(state): State<AppState>,
    TelecomOperator(operator): TelecomOperator,
    Json(request): Json<BindRequest>,
) -> Result<Response, ApiError> {
    let bound = subscriptions::bind(&state.services, &operator, &request).await?;
    let status = if bound.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(bound)).into_response())
}

/// One of this operator's bindings: its state and, when a re-verification is required, the
/// deadlines.
#[utoipa::path(get, path = "/v1/telecom/subscriptions/{subscription_id}", tag = "telecom",
    params(("subscription_id" = String, Path)),
    responses((status = 200, body = OperatorSubscription), (status = 401, body = Problem), (status = 404, body = Problem)),
    security(("operator" = [])))]
pub(super) async fn subscription(
    Path(id): Path<String>,
    State(state): State<AppState>,
    TelecomOperator(operator): TelecomOperator,
) -> Result<Json<OperatorSubscription>, ApiError> {
    Ok(Json(
        subscriptions::operator_subscription(&state.services, &operator, &id).await?,
    ))
}

/// Reports the device the subscriber uses now: another device than the recorded one puts the
/// binding in `reverification_required`, with the deadlines computed from the configuration.
#[utoipa::path(post, path = "/v1/telecom/subscriptions/{subscription_id}/device-change", tag = "telecom",
    params(("subscription_id" = String, Path)), request_body = DeviceChangeRequest,
    responses((status = 200, body = OperatorSubscription), (status = 401, body = Problem), (status = 404, body = Problem)),
    security(("operator" = [])))]
pub(super) async fn device_change(
    Path(id): Path<String>,
    State(state): State<AppState>,
    TelecomOperator(operator): TelecomOperator,
    Json(request): Json<DeviceChangeRequest>,
) -> Result<Json<OperatorSubscription>, ApiError> {
    Ok(Json(
        subscriptions::report_device_change(&state.services, &operator, &id, &request).await?,
    ))
}

/// Ends one of this operator's bindings (the number no longer counts as the citizen's).
#[utoipa::path(post, path = "/v1/telecom/subscriptions/{subscription_id}/end", tag = "telecom",
    params(("subscription_id" = String, Path)),
    responses((status = 204), (status = 401, body = Problem), (status = 404, body = Problem)),
    security(("operator" = [])))]
pub(super) async fn end(
    Path(id): Path<String>,
    State(state): State<AppState>,
    TelecomOperator(operator): TelecomOperator,
) -> Result<StatusCode, ApiError> {
    subscriptions::end(&state.services, &operator, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Which disputes to list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct DisputeFilter {
    /// `open` (the default: those to answer) or `all`.
    pub state: Option<String>,
}

/// The citizens' disputes (`not_mine`) of this operator's bindings, oldest first.
#[utoipa::path(get, path = "/v1/telecom/disputes", tag = "telecom", params(DisputeFilter),
    responses((status = 200, body = [OperatorDispute]), (status = 400, body = Problem), (status = 401, body = Problem)),
    security(("operator" = [])))]
pub(super) async fn disputes(
    State(state): State<AppState>,
    TelecomOperator(operator): TelecomOperator,
    filter: Result<Query<DisputeFilter>, QueryRejection>,
) -> Result<Json<Vec<OperatorDispute>>, ApiError> {
    let Query(filter) = filter?;
    let all = match filter.state.as_deref() {
        None | Some("open") => false,
        Some("all") => true,
        Some(_) => {
            return Err(ApiError::bad_request(
                "invalid-query",
                "state must be open or all",
            ));
        }
    };
    Ok(Json(
        subscriptions::disputes(&state.services, &operator, all).await?,
    ))
}

/// Answers a dispute: `upheld` (the operator checked the binding and keeps it) or `ended`
/// (the binding ends).
#[utoipa::path(post, path = "/v1/telecom/disputes/{dispute_id}/answer", tag = "telecom",
    params(("dispute_id" = String, Path)), request_body = DisputeAnswer,
    responses((status = 200, body = OperatorDispute), (status = 401, body = Problem), (status = 404, body = Problem)),
    security(("operator" = [])))]
pub(super) async fn answer_dispute(
    Path(id): Path<String>,
    State(state): State<AppState>,
    TelecomOperator(operator): TelecomOperator,
    Json(answer): Json<DisputeAnswer>,
) -> Result<Json<OperatorDispute>, ApiError> {
    Ok(Json(
        subscriptions::answer_dispute(&state.services, &operator, &id, &answer).await?,
    ))
}

fn citizen_id_number(principal: &crate::domain::sessions::Principal) -> Result<&str, ApiError> {
    principal
        .account
        .id_number
        .as_deref()
        .ok_or_else(ApiError::forbidden)
}

/// The numbers registered to the signed-in citizen across operators, newest first (ended ones
/// too), with the state, the deadlines of a required re-verification and the latest dispute.
#[utoipa::path(get, path = "/v1/me/subscriptions", tag = "account",
    responses((status = 200, body = [CitizenSubscription]), (status = 401, body = Problem)),
    security(("session" = [])))]
pub(super) async fn mine(
    State(state): State<AppState>,
    Auth(principal): Auth<CITIZEN>,
) -> Result<Json<Vec<CitizenSubscription>>, ApiError> {
    let id_number = citizen_id_number(&principal)?;
    Ok(Json(
        subscriptions::citizen_subscriptions(&state.services, id_number).await?,
    ))
}

/// Marks a number registered to the signed-in citizen `mine` or `not_mine`; `not_mine` opens a
/// dispute its operator must answer.
#[utoipa::path(post, path = "/v1/me/subscriptions/{subscription_id}/mark", tag = "account",
    params(("subscription_id" = String, Path)), request_body = MarkRequest,
    responses((status = 200, body = Marked), (status = 401, body = Problem), (status = 404, body = Problem)),
    security(("session" = [])))]
pub(super) async fn mark(
    Path(id): Path<String>,
    State(state): State<AppState>,
    Auth(principal): Auth<CITIZEN>,
    Json(request): Json<MarkRequest>,
) -> Result<Json<Marked>, ApiError> {
    let id_number = citizen_id_number(&principal)?;
    Ok(Json(
        subscriptions::mark(
            &state.services,
            &principal.account.id,
            id_number,
            &id,
            &request,
        )
        .await?,
    ))
}

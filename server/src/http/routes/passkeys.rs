//! Passkey registration, sign-in and sign-out.

use axum::{
    extract::State,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use webauthn_rs::prelude::{PublicKeyCredential, RegisterPublicKeyCredential};

use super::{
    Json, Path, SessionCreated,
    auth::{ANY, Auth},
    created_with_session,
    enrolments::EnrolmentConfirmed,
    me::PasskeyView,
    session_response,
};
use crate::{
    domain::enrolment,
    domain::passkeys,
    domain::recovery,
    domain::sessions::{self, Role},
    domain::staff,
    http::AppState,
    http::error::{ApiError, Problem},
};

/// The options to pass to `navigator.credentials.create()` / `.get()`, and the ceremony to
/// complete.
#[derive(Debug, Serialize, ToSchema)]
pub struct CeremonyStarted {
    /// Send back with the authenticator's response; valid for one attempt, five minutes.
    pub ceremony_id: String,
    /// WebAuthn options (`{"publicKey": {...}}`), binary fields base64url.
    #[schema(value_type = Object)]
    pub options: serde_json::Value,
}

/// Starts registering a passkey for the signed-in account; for a setup or recovery session,
/// starts its one registration again and re-binds the session to it (the earlier ceremony can
/// no longer complete).
#[utoipa::path(post, path = "/v1/passkeys/registrations", tag = "passkeys",
    responses((status = 200, body = CeremonyStarted), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("session" = [])))]
pub(super) async fn start_registration(
    State(state): State<AppState>,
    Auth(principal): Auth<ANY>,
) -> Result<Json<CeremonyStarted>, ApiError> {
    let (ceremony_id, options) = match principal.role {
        Role::Setup => enrolment::restart_setup(&state.services, &principal).await?,
        Role::Recovery => recovery::start_registration(&state.services, &principal).await?,
        _ => passkeys::start_registration(&state.services, &principal.account).await?,
    };
    Ok(Json(CeremonyStarted {
        ceremony_id,
        options,
    }))
}

/// The authenticator's registration response.
#[derive(Debug, Deserialize, ToSchema)]
pub struct FinishRegistration {
    /// The `PublicKeyCredential` from `navigator.credentials.create()`, binary fields base64url.
    #[schema(value_type = Object)]
    pub credential: RegisterPublicKeyCredential,
    /// A label, e.g. "Điện thoại của tôi".
    #[serde(default)]
    pub name: Option<String>,
}

/// A registered passkey; when the caller held a setup session, the signed-in session that
/// replaces it.
#[derive(Debug, Serialize, ToSchema)]
pub struct PasskeyRegistered {
    /// The new passkey.
    pub passkey: PasskeyView,
    /// Present when a setup session was exchanged for a full one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session: Option<SessionCreated>,
}

/// Completes a passkey registration. Under a setup session, only the registration the session is
/// bound to; under a recovery session, the registration completes the recovery (the account's
/// other passkeys, devices and sessions end and its credentials are revoked). Either is then
/// exchanged for a signed-in session.
#[utoipa::path(post, path = "/v1/passkeys/registrations/{ceremony_id}", tag = "passkeys", request_body = FinishRegistration,
    params(("ceremony_id" = String, Path)),
    responses((status = 201, body = PasskeyRegistered), (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem), (status = 409, body = Problem)),
    security(("session" = [])))]
pub(super) async fn finish_registration(
    State(state): State<AppState>,
    Auth(principal): Auth<ANY>,
    Path(ceremony_id): Path<String>,
    Json(body): Json<FinishRegistration>,
) -> Result<Response, ApiError> {
    let name = body
        .name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .unwrap_or("Passkey");
    let name: String = name.chars().filter(|c| !c.is_control()).take(100).collect();
    let services = &state.services;
    if principal.role == Role::Recovery {
        let (account, stored, _) =
            recovery::complete(services, &principal, &ceremony_id, &body.credential, &name).await?;
        let issued = sessions::issue(services, &account, Role::Citizen, "recovery").await?;
        let session = Some(SessionCreated::new(&account, &issued));
        let passkey = PasskeyView::from(&stored);
        return Ok(created_with_session(
            &state,
            &issued,
            PasskeyRegistered { passkey, session },
        ));
    }
    if principal.role == Role::Setup
        && principal.session.ceremony_id.as_deref() != Some(ceremony_id.as_str())
    {
        // A setup token is good for its own ceremony only.
        return Err(ApiError::forbidden());
    }
    let stored = passkeys::finish_registration(
        services,
        &principal.account,
        &ceremony_id,
        &body.credential,
        &name,
    )
    .await?;
    let passkey = PasskeyView::from(&stored);
    if principal.role != Role::Setup {
        return Ok((
            StatusCode::CREATED,
            Json(PasskeyRegistered {
                passkey,
                session: None,
            }),
        )
            .into_response());
    }
    // The setup session has done its one job: replace it with a signed-in session.
    sessions::end(services, &principal).await?;
    let role = Role::from(principal.account.role);
    let issued =
        sessions::issue(services, &principal.account, role, "passkey_registration").await?;
    let session = Some(SessionCreated::new(&principal.account, &issued));
    Ok(created_with_session(
        &state,
        &issued,
        PasskeyRegistered { passkey, session },
    ))
}

/// Starts a usernameless passkey sign-in.
#[utoipa::path(post, path = "/v1/sessions/passkey", tag = "sessions", responses((status = 200, body = CeremonyStarted)))]
pub(super) async fn start_sign_in(
    State(state): State<AppState>,
) -> Result<Json<CeremonyStarted>, ApiError> {
    let (ceremony_id, options) = passkeys::start_sign_in(&state.services).await?;
    let options = serde_json::to_value(options).map_err(|e| ApiError::internal(&e))?;
    Ok(Json(CeremonyStarted {
        ceremony_id,
        options,
    }))
}

/// The authenticator's assertion.
#[derive(Debug, Deserialize, ToSchema)]
pub struct FinishSignIn {
    /// The `PublicKeyCredential` from `navigator.credentials.get()`, binary fields base64url.
    #[schema(value_type = Object)]
    pub credential: PublicKeyCredential,
}

/// Completes a passkey sign-in and opens a session with the account's role.
#[utoipa::path(post, path = "/v1/sessions/passkey/{ceremony_id}", tag = "sessions", request_body = FinishSignIn,
    params(("ceremony_id" = String, Path)),
    responses((status = 201, body = SessionCreated), (status = 400, body = Problem), (status = 401, body = Problem)))]
pub(super) async fn finish_sign_in(
    State(state): State<AppState>,
    Path(ceremony_id): Path<String>,
    Json(body): Json<FinishSignIn>,
) -> Result<Response, ApiError> {
    let account = passkeys::finish_sign_in(&state.services, &ceremony_id, &body.credential).await?;
    let role = Role::from(account.role);
    let issued =
        sessions::issue(&state.services, &account, role, sessions::PASSKEY_SIGN_IN).await?;
    Ok(session_response(&state, &account, &issued))
}

/// Ends the current session.
#[utoipa::path(delete, path = "/v1/sessions/current", tag = "sessions",
    responses((status = 204), (status = 401, body = Problem)), security(("session" = [])))]
pub(super) async fn sign_out(
    State(state): State<AppState>,
    Auth(principal): Auth<ANY>,
) -> Result<Response, ApiError> {
    sessions::end(&state.services, &principal).await?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    let cookie = super::auth::session_cookie("", 0, &state.services.public_url);
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    Ok(response)
}

/// A staff invitation token (from the link's fragment).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RedeemInvitation {
    /// The token.
    pub token: String,
}

/// Redeems a staff invitation: a `setup` session bound to the registration of the staff member's
/// passkey.
#[utoipa::path(post, path = "/v1/staff/invitations/redeem", tag = "staff", request_body = RedeemInvitation,
    responses((status = 201, body = EnrolmentConfirmed), (status = 400, body = Problem)))]
pub(super) async fn redeem_invitation(
    State(state): State<AppState>,
    Json(body): Json<RedeemInvitation>,
) -> Result<Response, ApiError> {
    let account = staff::redeem(&state.services, &body.token)
        .await?
        .ok_or_else(|| {
            ApiError::bad_request(
                "invalid-invitation",
                "this invitation is unknown, expired or already used",
            )
        })?;
    let confirmed = enrolment::begin_setup(&state.services, account, "staff_invitation").await?;
    Ok(created_with_session(
        &state,
        &confirmed.session,
        EnrolmentConfirmed::new(&confirmed),
    ))
}

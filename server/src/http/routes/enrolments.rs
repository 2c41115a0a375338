//! Level-1 enrolment.

use axum::{
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{
    Json, Path, SessionCreated, auth::ClientAddress, created_with_session,
    passkeys::CeremonyStarted,
};
use crate::{
    domain::enrolment::{self, Confirmed, EnrolmentRequest, Purpose},
    http::AppState,
    http::error::{ApiError, Problem},
};

/// An enrolment request, as the citizen types it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartEnrolment {
    /// 12-digit ID number.
    #[schema(example = "001090012345")]
    pub id_number: String,
    /// Full name as on the ID card.
    #[schema(example = "Nguyễn Văn An")]
    pub full_name: String,
    /// `YYYY-MM-DD`.
    #[schema(example = "1990-02-28")]
    pub date_of_birth: String,
    /// Vietnamese mobile number.
    #[schema(example = "0912345678")]
    pub phone: String,
}

impl From<StartEnrolment> for EnrolmentRequest {
    fn from(body: StartEnrolment) -> Self {
        Self {
            id_number: body.id_number,
            full_name: body.full_name,
            date_of_birth: body.date_of_birth,
            phone: body.phone,
        }
    }
}

/// An enrolment waiting for its code. The same answer whether or not the details matched.
#[derive(Debug, Serialize, ToSchema)]
pub struct EnrolmentStarted {
    /// Where to send the code.
    pub enrolment_id: String,
    /// RFC 3339.
    pub expires_at: String,
    /// Digits in the code.
    pub code_length: u8,
}

/// Starts a level-1 enrolment: if the details match the registry and the phone is registered
/// to the citizen, a code goes to that phone.
#[utoipa::path(post, path = "/v1/enrolments", tag = "enrolment", request_body = StartEnrolment,
    responses((status = 202, body = EnrolmentStarted), (status = 400, body = Problem), (status = 429, body = Problem)))]
pub(super) async fn start(
    State(state): State<AppState>,
    ClientAddress(client): ClientAddress,
    Json(body): Json<StartEnrolment>,
) -> Result<Response, ApiError> {
    let request = EnrolmentRequest::from(body);
    let started = enrolment::start(&state.services, &request, &client, Purpose::Enrolment).await?;
    let body = EnrolmentStarted {
        enrolment_id: started.enrolment_id,
        expires_at: crate::platform::clock::rfc3339(started.expires_at),
        code_length: 6,
    };
    Ok((StatusCode::ACCEPTED, Json(body)).into_response())
}

/// The one-time code received by SMS.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfirmEnrolment {
    /// Six digits.
    #[schema(example = "123456")]
    pub code: String,
}

/// A confirmed enrolment: the level-1 account's `setup` session and the one passkey registration
/// it may complete.
#[derive(Debug, Serialize, ToSchema)]
pub struct EnrolmentConfirmed {
    /// The `setup` session (it may only register a passkey).
    #[serde(flatten)]
    pub session: SessionCreated,
    /// Registration options for `navigator.credentials.create()`; complete with
    /// `POST /v1/passkeys/registrations/{ceremony_id}` under the setup session.
    pub passkey_registration: CeremonyStarted,
}

impl EnrolmentConfirmed {
    /// The answer for a confirmed code.
    pub fn new(confirmed: &Confirmed) -> Self {
        Self {
            session: SessionCreated::new(&confirmed.account, &confirmed.session),
            passkey_registration: CeremonyStarted {
                ceremony_id: confirmed.ceremony_id.clone(),
                options: confirmed.options.clone(),
            },
        }
    }
}

/// Confirms the code: the level-1 account is created, a `setup` session returned, and the
/// registration of the citizen's passkey started (the session may complete only that one). A
/// citizen who has an account already gets 409: sign in, or recover it.
#[utoipa::path(post, path = "/v1/enrolments/{enrolment_id}/confirm", tag = "enrolment", request_body = ConfirmEnrolment,
    params(("enrolment_id" = String, Path)),
    responses((status = 201, body = EnrolmentConfirmed), (status = 400, body = Problem), (status = 409, body = Problem), (status = 410, body = Problem)))]
pub(super) async fn confirm(
    State(state): State<AppState>,
    Path(enrolment_id): Path<String>,
    Json(body): Json<ConfirmEnrolment>,
) -> Result<Response, ApiError> {
    let confirmed = enrolment::confirm(&state.services, &enrolment_id, &body.code).await?;
    Ok(created_with_session(
        &state,
        &confirmed.session,
        EnrolmentConfirmed::new(&confirmed),
    ))
}

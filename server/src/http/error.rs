//! HTTP errors: RFC 9457 problem details with a stable `type` per kind of error, and the OAuth
//! error object on the OpenID4VCI endpoints. Every domain error is mapped to its response here,
//! in one place. Internal detail is logged, never sent.

use axum::{
    extract::rejection::{JsonRejection, PathRejection, QueryRejection},
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::Serialize;

use serde_json::json;

use crate::{
    domain::{
        ca::{
            certificates::{CertificateError, RevocationError},
            crl::CrlError,
        },
        devices::DeviceError,
        enrolment::EnrolmentError,
        issuance::{
            OauthError, OfferError, authorization::ApprovalError, lifecycle::LifecycleError,
        },
        kyc::KycError,
        passkeys::PasskeyError,
        recovery::RecoveryError,
        registry::lookup::LookupError,
        rp::RpError,
        telecom::{OperatorAuthError, matching::MatchError, subscriptions::TelecomError},
    },
    store::StoreError,
};

/// The prefix of every problem `type`.
pub const PROBLEM_BASE: &str = "urn:dinhdanh:problem:";

/// A problem details document (RFC 9457).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// `urn:dinhdanh:problem:<kind>`: stable, for programs.
    #[serde(rename = "type")]
    pub kind: String,
    /// A short summary of the kind, for people.
    pub title: String,
    /// The HTTP status.
    pub status: u16,
    /// What went wrong with this request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// An error answered as problem+json.
#[derive(Debug, Clone)]
pub struct ApiError {
    status: StatusCode,
    kind: &'static str,
    title: &'static str,
    detail: Option<String>,
    retry_after: Option<i64>,
}

impl ApiError {
    /// A problem of `kind` (the URN suffix) with `status`.
    pub fn new(
        status: StatusCode,
        kind: &'static str,
        title: &'static str,
        detail: impl Into<Option<String>>,
    ) -> Self {
        Self {
            status,
            kind,
            title,
            detail: detail.into(),
            retry_after: None,
        }
    }

    /// 400 with a kind.
    pub fn bad_request(kind: &'static str, detail: impl ToString) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            kind,
            "Invalid request",
            Some(detail.to_string()),
        )
    }

    /// 401: no live session.
    pub fn unauthenticated() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "Sign-in required",
            None,
        )
    }

    /// 403: the session's role may not do this.
    pub fn forbidden() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "Not allowed for this role",
            None,
        )
    }

    /// 404.
    pub fn not_found(detail: impl Into<Option<String>>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not-found", "Not found", detail)
    }

    /// 429 with `Retry-After` (seconds).
    pub fn rate_limited(retry_after: i64, detail: impl Into<Option<String>>) -> Self {
        Self {
            retry_after: Some(retry_after.max(1)),
            ..Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate-limited",
                "Too many requests",
                detail,
            )
        }
    }

    /// 429 with `Retry-After: retry_after` (seconds), for a client address over its limit.
    pub fn too_many_requests(retry_after: i64) -> Self {
        Self::rate_limited(
            retry_after,
            format!(
                "too many requests from this address; retry in {} s",
                retry_after.max(1)
            ),
        )
    }

    /// 413: the declared or actual body exceeds `limit` bytes.
    pub fn body_too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body-too-large",
            "Request body too large",
            Some(format!("this endpoint accepts at most {limit} bytes")),
        )
    }

    /// 409: a concurrent request changed the same thing first (a unique constraint refused
    /// this one). Safe to retry.
    pub fn conflict() -> Self {
        Self::new(
            StatusCode::CONFLICT,
            "conflict",
            "Conflicting concurrent request",
            Some("a concurrent request changed the same record; retry".to_owned()),
        )
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// 500, after logging the cause.
    pub fn internal(cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Internal error",
            None,
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Problem {
            kind: format!("{PROBLEM_BASE}{}", self.kind),
            title: self.title.to_owned(),
            status: self.status.as_u16(),
            detail: self.detail,
        };
        let mut response = (self.status, axum::Json(body)).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Some(value) = self
            .retry_after
            .and_then(|s| HeaderValue::from_str(&s.to_string()).ok())
        {
            headers.insert(header::RETRY_AFTER, value);
        }
        response
    }
}

impl From<StoreError> for ApiError {
    /// A unique constraint met by a concurrent request is a conflict (409), never a 500: two
    /// requests raced for the same row and the other won.
    fn from(error: StoreError) -> Self {
        if error.is_unique_violation() {
            tracing::info!(%error, "unique constraint met: answered 409");
            return Self::conflict();
        }
        Self::internal(&error)
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        let status = rejection.status();
        match status {
            StatusCode::PAYLOAD_TOO_LARGE => Self::new(
                status,
                "body-too-large",
                "Request body too large",
                Some(rejection.body_text()),
            ),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => Self::new(
                status,
                "unsupported-media-type",
                "Unsupported media type",
                Some("expected Content-Type: application/json".into()),
            ),
            _ => Self::new(
                StatusCode::BAD_REQUEST,
                "malformed-json",
                "Malformed JSON body",
                Some(rejection.body_text()),
            ),
        }
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        Self::bad_request("invalid-path", rejection.body_text())
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        Self::bad_request("invalid-query", rejection.body_text())
    }
}

impl From<EnrolmentError> for ApiError {
    fn from(error: EnrolmentError) -> Self {
        let detail = Some(error.to_string());
        match error {
            EnrolmentError::IdNumber(_) => Self::new(
                StatusCode::BAD_REQUEST,
                "invalid-id-number",
                "Invalid ID number",
                detail,
            ),
            EnrolmentError::DateOfBirth => Self::new(
                StatusCode::BAD_REQUEST,
                "invalid-date-of-birth",
                "Invalid date of birth",
                detail,
            ),
            EnrolmentError::FullName => Self::new(
                StatusCode::BAD_REQUEST,
                "invalid-full-name",
                "Invalid full name",
                detail,
            ),
            EnrolmentError::Phone => Self::new(
                StatusCode::BAD_REQUEST,
                "invalid-phone",
                "Invalid phone number",
                detail,
            ),
            EnrolmentError::RateLimited { retry_after } => Self {
                retry_after: Some(retry_after),
                ..Self::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "rate-limited",
                    "Too many requests",
                    detail,
                )
            },
            EnrolmentError::WrongCode => Self::new(
                StatusCode::BAD_REQUEST,
                "invalid-code",
                "Incorrect code",
                detail,
            ),
            EnrolmentError::Closed => Self::new(
                StatusCode::GONE,
                "enrolment-closed",
                "Enrolment expired or used",
                detail,
            ),
            EnrolmentError::AccountExists => Self::new(
                StatusCode::CONFLICT,
                "account-exists",
                "Account exists",
                detail,
            ),
            EnrolmentError::Passkey(e) => e.into(),
            EnrolmentError::Store(e) => Self::from(e),
        }
    }
}

impl From<PasskeyError> for ApiError {
    fn from(error: PasskeyError) -> Self {
        let detail = Some(error.to_string());
        match error {
            PasskeyError::Ceremony => Self::new(
                StatusCode::BAD_REQUEST,
                "ceremony-expired",
                "Passkey ceremony expired or used",
                detail,
            ),
            PasskeyError::Rejected(_) | PasskeyError::Counter => Self::new(
                StatusCode::BAD_REQUEST,
                "passkey-rejected",
                "Passkey response rejected",
                detail,
            ),
            PasskeyError::UnknownCredential => Self::new(
                StatusCode::UNAUTHORIZED,
                "unknown-passkey",
                "Unknown passkey",
                detail,
            ),
            PasskeyError::Duplicate => Self::new(
                StatusCode::CONFLICT,
                "passkey-exists",
                "Passkey registered already",
                detail,
            ),
            PasskeyError::LastPasskey => {
                Self::new(StatusCode::CONFLICT, "last-passkey", "Last passkey", detail)
            }
            PasskeyError::NotFound => Self::not_found(detail),
            PasskeyError::Store(e) => Self::from(e),
        }
    }
}

impl From<DeviceError> for ApiError {
    fn from(error: DeviceError) -> Self {
        let detail = Some(error.to_string());
        match error {
            DeviceError::Key(_) => Self::new(
                StatusCode::BAD_REQUEST,
                "invalid-holder-key",
                "Invalid holder key",
                detail,
            ),
            DeviceError::Name => Self::new(
                StatusCode::BAD_REQUEST,
                "invalid-device-name",
                "Invalid device name",
                detail,
            ),
            DeviceError::Duplicate => Self::new(
                StatusCode::CONFLICT,
                "device-exists",
                "Device registered already",
                detail,
            ),
            DeviceError::NotFound => Self::not_found(detail),
            DeviceError::Store(e) => Self::from(e),
        }
    }
}

// --- Every other domain error, and the OAuth error object of the OpenID4VCI endpoints -------------

impl From<KycError> for ApiError {
    fn from(error: KycError) -> Self {
        let detail = Some(error.to_string());
        match error {
            KycError::Chip(_) | KycError::Unreadable(_) => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "chip-verification-failed",
                "The chip data failed verification",
                detail,
            ),
            KycError::CardExpired { .. } => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "card-expired",
                "The card has expired",
                detail,
            ),
            KycError::NotTheirCard => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "not-their-card",
                "The card is not this citizen's",
                detail,
            ),
            KycError::AlreadyLevel2 | KycError::Pending | KycError::NotPending => Self::new(
                StatusCode::CONFLICT,
                "state-conflict",
                "Not possible in the current state",
                detail,
            ),
            KycError::Mismatch => Self::new(
                StatusCode::CONFLICT,
                "registry-mismatch",
                "The chip data does not match the registry",
                detail,
            ),
            KycError::NotFound => Self::not_found(detail),
            KycError::Reason => Self::bad_request("reason-required", error),
            KycError::Offer(e) => e.into(),
            KycError::Store(e) => Self::from(e),
        }
    }
}

impl From<RecoveryError> for ApiError {
    fn from(error: RecoveryError) -> Self {
        let detail = Some(error.to_string());
        match error {
            RecoveryError::Code(e) => e.into(),
            RecoveryError::Closed => Self::new(
                StatusCode::GONE,
                "recovery-closed",
                "Recovery expired or completed",
                detail,
            ),
            RecoveryError::NotYours => Self::forbidden(),
            RecoveryError::Chip(e) => e.into(),
            RecoveryError::Mismatch => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "registry-mismatch",
                "The chip data does not match the registry",
                detail,
            ),
            RecoveryError::Passkey(e) => e.into(),
            RecoveryError::Store(e) => e.into(),
        }
    }
}

impl From<OfferError> for ApiError {
    fn from(error: OfferError) -> Self {
        let detail = Some(error.to_string());
        match error {
            OfferError::NoAccount => Self::not_found(detail),
            OfferError::BelowLevel2 => Self::new(
                StatusCode::FORBIDDEN,
                "level-2-required",
                "Level 2 required",
                detail,
            ),
            OfferError::Closed => Self::new(
                StatusCode::CONFLICT,
                "account-closed",
                "Account closed",
                detail,
            ),
            OfferError::UnknownConfiguration(_) => {
                Self::bad_request("unknown-credential-configuration", error)
            }
            OfferError::Claims(_) => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "no-registry-data",
                "The registry holds no data for this credential",
                detail,
            ),
            OfferError::Store(e) => Self::from(e),
        }
    }
}

impl From<LifecycleError> for ApiError {
    fn from(error: LifecycleError) -> Self {
        let detail = Some(error.to_string());
        match error {
            LifecycleError::NotFound => Self::not_found(detail),
            LifecycleError::Conflict(_) => Self::new(
                StatusCode::CONFLICT,
                "state-conflict",
                "Not possible in the current state",
                detail,
            ),
            LifecycleError::Reason => Self::bad_request("reason-required", error),
            LifecycleError::Store(e) => Self::from(e),
        }
    }
}

impl From<RpError> for ApiError {
    fn from(error: RpError) -> Self {
        let detail = Some(error.to_string());
        match error {
            RpError::Invalid { .. } => Self::bad_request("invalid-registration", error),
            RpError::Csr(_) => Self::bad_request("invalid-csr", error),
            RpError::KeyReused => Self::new(
                StatusCode::CONFLICT,
                "key-reused",
                "The key was certified before",
                detail,
            ),
            RpError::ClientIdTaken(_) => Self::new(
                StatusCode::CONFLICT,
                "client-id-taken",
                "The client id is registered to another relying party",
                detail,
            ),
            RpError::NotFound(_) => Self::not_found(detail),
            RpError::AlreadyRevoked(_) => Self::new(
                StatusCode::CONFLICT,
                "state-conflict",
                "Not possible in the current state",
                detail,
            ),
            RpError::Signing(_) => Self::internal(&error),
            RpError::Store(e) => Self::from(e),
        }
    }
}

impl From<LookupError> for ApiError {
    fn from(error: LookupError) -> Self {
        match error {
            LookupError::IdNumber(detail) => Self::bad_request("invalid-id-number", detail),
            LookupError::Size => Self::bad_request("invalid-lookup", error),
            LookupError::Allowance { retry_after, .. } => {
                Self::rate_limited(retry_after, error.to_string())
            }
            LookupError::NotFound => Self::not_found(Some(error.to_string())),
            LookupError::Store(e) => e.into(),
        }
    }
}

impl From<MatchError> for ApiError {
    fn from(error: MatchError) -> Self {
        match error {
            MatchError::RateLimited { retry_after, .. } => {
                Self::rate_limited(retry_after, error.to_string())
            }
            MatchError::Store(e) => e.into(),
        }
    }
}

impl From<ApprovalError> for ApiError {
    fn from(error: ApprovalError) -> Self {
        use ApprovalError as E;
        let detail = Some(error.to_string());
        match error {
            E::Unknown => Self::not_found(detail),
            E::SignInRequired => Self::new(
                StatusCode::FORBIDDEN,
                "fresh-sign-in-required",
                "Sign in with your passkey first",
                detail,
            ),
            E::BelowLevel2 => Self::new(
                StatusCode::FORBIDDEN,
                "level-2-required",
                "Level 2 required",
                detail,
            ),
            E::Store(e) => Self::from(e),
        }
    }
}

impl From<TelecomError> for ApiError {
    fn from(error: TelecomError) -> Self {
        let detail = Some(error.to_string());
        let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;
        match error {
            TelecomError::InvalidRequest(_) => Self::new(
                StatusCode::BAD_REQUEST,
                "invalid-request",
                "Invalid request",
                detail,
            ),
            TelecomError::Msisdn => Self::new(
                StatusCode::BAD_REQUEST,
                "invalid-msisdn",
                "Invalid mobile number",
                detail,
            ),
            TelecomError::Presentation(_) => Self::new(
                unprocessable,
                "presentation-refused",
                "Presentation refused",
                detail,
            ),
            // One answer for an unknown or deceased citizen and a mismatch: nothing about the
            // registry is revealed.
            TelecomError::NotVerified => {
                Self::new(unprocessable, "not-verified", "Not verified", detail)
            }
            TelecomError::FaceMatch => Self::new(
                unprocessable,
                "face-match-failed",
                "Face match failed",
                detail,
            ),
            TelecomError::MsisdnBound => Self::new(
                StatusCode::CONFLICT,
                "msisdn-bound",
                "Number bound to another subscriber",
                detail,
            ),
            TelecomError::OperatorLimit(_) | TelecomError::TotalLimit(_) => Self::new(
                unprocessable,
                "subscription-limit",
                "Subscription limit reached",
                detail,
            ),
            TelecomError::NotFound | TelecomError::DisputeNotFound => Self::not_found(detail),
            TelecomError::Internal(cause) => Self::internal(&cause),
            TelecomError::Store(StoreError::Conflict) => Self::conflict(),
            TelecomError::Store(error) => error.into(),
        }
    }
}

impl IntoResponse for OperatorAuthError {
    /// 401 problem+json with `WWW-Authenticate: Bearer` (RFC 6750 section 3) for a missing or
    /// bad operator token; 403 for a session token.
    fn into_response(self) -> Response {
        let detail = self.to_string();
        let challenge = match self {
            OperatorAuthError::Missing => "Bearer realm=\"dinhdanh\", scope=\"telecom\"",
            OperatorAuthError::Invalid => {
                "Bearer realm=\"dinhdanh\", error=\"invalid_token\", scope=\"telecom\""
            }
            OperatorAuthError::Session => return ApiError::forbidden().into_response(),
            OperatorAuthError::Store(error) => return ApiError::from(error).into_response(),
        };
        let mut response = ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "Operator access token required",
            Some(detail),
        )
        .into_response();
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static(challenge),
        );
        response
    }
}

impl IntoResponse for OauthError {
    fn into_response(self) -> Response {
        // A unique constraint met by a concurrent request: the other request won the race;
        // 409 (retry), never a 500.
        let conflict = matches!(&self, Self::Server(error) if error.is_unique_violation());
        let status = match &self {
            Self::InvalidToken(_) | Self::InvalidClient(_) => StatusCode::UNAUTHORIZED,
            Self::Server(error) if conflict => {
                tracing::info!(%error, "unique constraint met: answered 409");
                StatusCode::CONFLICT
            }
            Self::Server(error) => {
                tracing::error!(%error, "issuance failed");
                StatusCode::INTERNAL_SERVER_ERROR
            }
            _ => StatusCode::BAD_REQUEST,
        };
        let (code, description) = match &self {
            Self::Server(_) if conflict => (
                "invalid_request",
                "a concurrent request changed the same record; retry".to_owned(),
            ),
            Self::Server(_) => (self.code(), "internal error".to_owned()),
            other => (other.code(), other.to_string()),
        };
        let mut response = (
            status,
            axum::Json(json!({ "error": code, "error_description": description })),
        )
            .into_response();
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Self::InvalidToken(_) = self
            && let Ok(value) = HeaderValue::from_str(
                "Bearer error=\"invalid_token\", DPoP error=\"invalid_token\", algs=\"ES256\"",
            )
        {
            headers.insert(header::WWW_AUTHENTICATE, value);
        }
        response
    }
}

// dinhdanh-verifier (a second service in this crate): its errors, mapped here with the rest.

impl From<crate::verifier::service::VerifierError> for ApiError {
    fn from(error: crate::verifier::service::VerifierError) -> Self {
        use crate::verifier::service::VerifierError as E;
        match error {
            E::UnknownPreset(_) => Self::bad_request("unknown-preset", error),
            E::QueryOrPreset => Self::bad_request("invalid-request", error),
            E::Dcql(_) => Self::bad_request("invalid-dcql-query", error),
            E::RpRevoked => Self::new(
                StatusCode::FORBIDDEN,
                "rp-revoked",
                "Relying party revoked",
                Some(
                    "the agency revoked this relying party's registration: wallets refuse its requests"
                        .to_owned(),
                ),
            ),
            E::Sign(_) | E::Store(_) | E::Seal(_) | E::Corrupt => Self::internal(&error),
        }
    }
}

impl IntoResponse for crate::verifier::service::AnswerError {
    /// A wallet's answer refused: the OAuth error object (OpenID4VP section 8.2), the reason
    /// as its description; never the detail of what failed.
    fn into_response(self) -> Response {
        use crate::verifier::service::AnswerError as E;
        let status = match &self {
            E::UnknownRequest => StatusCode::NOT_FOUND,
            E::Internal(error) => {
                tracing::error!(%error, "checking an answer failed");
                StatusCode::INTERNAL_SERVER_ERROR
            }
            _ => StatusCode::BAD_REQUEST,
        };
        let (code, description) = match &self {
            E::Internal(_) => ("server_error", "internal error".to_owned()),
            E::Failed(reason) => ("invalid_request", reason.as_str().to_owned()),
            other => ("invalid_request", other.to_string()),
        };
        let mut response = (
            status,
            axum::Json(json!({ "error": code, "error_description": description })),
        )
            .into_response();
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response
    }
}

// --- Signing certificates -----------------------------------------------------------------------

impl From<CertificateError> for ApiError {
    fn from(error: CertificateError) -> Self {
        let detail = Some(error.to_string());
        match error {
            CertificateError::Level2Required => Self::new(
                StatusCode::FORBIDDEN,
                "level2-required",
                "Level 2 required",
                detail,
            ),
            CertificateError::StepUpRequired(_) => Self::new(
                StatusCode::FORBIDDEN,
                "step-up-required",
                "A recent passkey sign-in is required",
                detail,
            ),
            CertificateError::Malformed(_) => Self::new(
                StatusCode::BAD_REQUEST,
                "invalid-csr",
                "Invalid certificate request",
                detail,
            ),
            CertificateError::UnsupportedKey => Self::new(
                StatusCode::BAD_REQUEST,
                "unsupported-key",
                "Unsupported key",
                detail,
            ),
            CertificateError::BadSignature => Self::new(
                StatusCode::BAD_REQUEST,
                "invalid-csr-signature",
                "Certificate request signature invalid",
                detail,
            ),
            CertificateError::KeyNotNew => Self::new(
                StatusCode::CONFLICT,
                "key-not-new",
                "Key certified already",
                detail,
            ),
            CertificateError::UnknownDevice => Self::not_found(detail),
            CertificateError::NotInRegistry => Self::new(
                StatusCode::CONFLICT,
                "not-in-registry",
                "Not in the registry",
                detail,
            ),
            CertificateError::Ca(e) => Self::internal(&e),
            CertificateError::Store(e) => Self::from(e),
        }
    }
}

impl From<RevocationError> for ApiError {
    fn from(error: RevocationError) -> Self {
        match error {
            RevocationError::NotFound => Self::not_found(Some(error.to_string())),
            RevocationError::Store(e) => Self::from(e),
        }
    }
}

impl From<CrlError> for ApiError {
    fn from(error: CrlError) -> Self {
        match error {
            CrlError::Ca(e) => Self::internal(&e),
            CrlError::Store(e) => Self::from(e),
        }
    }
}

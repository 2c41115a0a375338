//! SIM bindings: an operator registers a subscription (MSISDN ↔ citizen ↔ operator) after
//! verifying the subscriber with a wallet presentation (re-verified here, [`super::presentation`])
//! or the four-field match with its face match; the citizen lists the numbers registered to
//! them and marks each `mine` or `not_mine` (a dispute the operator must answer); a device
//! change the operator reports requires a new verification before configured deadlines.
//!
//! Answers never carry registry values: a refusal for an unknown or deceased citizen or a
//! four-field mismatch is one and the same `not-verified`.
//!
//! Re-verification: a binding needs a new verification after a reported device change, or when
//! the citizen's identity data (name, date of birth, sex) changed in the registry after the
//! binding's last verification; a binding verified with a level-2 wallet presentation and with
//! neither change since needs none. From the change on: outgoing service is blocked after
//! `outgoing_block_after_seconds`, both ways after `two_way_block_after_seconds`, and the
//! binding is terminated `terminate_after_block_seconds` after that (it then no longer counts
//! as the citizen's phone). A new verification of the same number by the same operator
//! (`POST /v1/telecom/subscriptions` again) clears it.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;

use super::{actor, presentation};
use crate::{
    domain::{
        Services, audit,
        registry::{id_number, names, parse_date, phones, today},
    },
    platform::{config::TelecomSettings, secrets, sms::masked},
    store::{
        BindOutcome, CitizenStatus, DeviceChange, Dispute, DisputeListing, DisputeOutcome,
        RelyingPartyRow, StoreError, Subscription, SubscriptionListing, SubscriptionMark,
        SubscriptionState, SubscriptionVerification, VerificationMethod,
    },
};

/// Longest device id, face-match method or performer, and dispute note accepted.
const MAX_TEXT: usize = 200;

/// Why a telecom request was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TelecomError {
    /// Malformed or contradictory input (400).
    #[error("{0}")]
    InvalidRequest(String),
    /// Not a Vietnamese mobile number (400).
    #[error(
        "msisdn is not a Vietnamese mobile number (+84 and nine digits, or 0… / 84… with spaces or dots)"
    )]
    Msisdn,
    /// The wallet presentation was not accepted (422), with the typed reason: `forged`,
    /// `revoked`, `suspended`, `expired`, `untrusted_issuer`, `stale_trust_data`, `malformed`,
    /// `nonce_used`.
    #[error("the presentation was refused: {0}")]
    Presentation(&'static str),
    /// Unknown or deceased citizen, or the four fields do not match (422): one answer for all.
    #[error("the details do not identify a living citizen")]
    NotVerified,
    /// The operator's face match did not pass (422).
    #[error("the face match did not pass: no binding is made")]
    FaceMatch,
    /// The number is bound to another subscriber (409).
    #[error("this number is bound to another subscriber")]
    MsisdnBound,
    /// The citizen holds the most numbers allowed with this operator (422).
    #[error("the citizen holds the most numbers allowed with one operator ({0})")]
    OperatorLimit(i64),
    /// The citizen holds the most numbers allowed across operators (422).
    #[error("the citizen holds the most numbers allowed in total ({0})")]
    TotalLimit(i64),
    /// No such subscription (of this operator, or of this citizen) (404).
    #[error("no such subscription")]
    NotFound,
    /// No such open dispute of this operator (404).
    #[error("no such open dispute")]
    DisputeNotFound,
    /// A server failure.
    #[error("internal error: {0}")]
    Internal(String),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The operator's face match of a four-field verification: recorded, never an image.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FaceMatch {
    /// `match` or `no_match`.
    pub result: FaceMatchResult,
    /// How it was done (e.g. `liveness+1:1 against the chip portrait`).
    pub method: String,
    /// Who or what performed it (the operator's staff or system id).
    pub performed_by: String,
}

/// A face match's result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FaceMatchResult {
    /// The face matches the citizen's portrait.
    Match,
    /// It does not.
    NoMatch,
}

/// The four-field match: ID number, full name, date of birth, and the face match.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FourFields {
    /// The 12-digit ID number.
    pub id_number: String,
    /// Full name as on the ID card.
    pub full_name: String,
    /// `YYYY-MM-DD`.
    pub date_of_birth: String,
    /// The operator's face match.
    pub face_match: FaceMatch,
}

/// A wallet presentation the operator verified, for the server to verify again.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PresentationInput {
    /// The OpenID4VP `vp_token`: one SD-JWT VC presentation (a string, or an object whose one
    /// credential query answers with one presentation), its key-binding JWT's `aud` the
    /// operator's client id.
    #[schema(value_type = Object)]
    pub vp_token: Value,
    /// The nonce of the operator's request (single use per operator).
    pub nonce: String,
}

/// `POST /v1/telecom/subscriptions`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BindRequest {
    /// The number: `+84…`, `84…` or `0…`, spaces and dots allowed.
    pub msisdn: String,
    /// A wallet presentation (level 2) …
    pub presentation: Option<PresentationInput>,
    /// … or the four-field match.
    pub four_fields: Option<FourFields>,
    /// The operator's id of the subscriber's device.
    pub device_id: Option<String>,
}

/// The answer to a bind.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Bound {
    /// The binding.
    pub subscription_id: String,
    /// `active` (a new verification clears a required re-verification).
    #[schema(value_type = String)]
    pub state: SubscriptionState,
    /// True when the binding was made now (201), false for a repeat (200).
    #[serde(skip)]
    pub created: bool,
}

/// What a binding owes after a change: the deadlines, from the configuration.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Reverification {
    /// `device_change` or `data_change`.
    pub reason: &'static str,
    /// When the change happened (RFC 3339).
    pub since: String,
    /// Outgoing calls and SMS are blocked from then (RFC 3339).
    pub outgoing_blocked_at: String,
    /// Both ways from then.
    pub two_way_blocked_at: String,
    /// The binding is terminated then.
    pub terminated_at: String,
    /// Where it stands now: `none`, `outgoing_blocked`, `two_way_blocked` or `terminated`.
    pub restriction: &'static str,
}

/// A binding as its operator sees it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OperatorSubscription {
    /// The binding.
    pub subscription_id: String,
    /// E.164.
    pub msisdn: String,
    /// `active`, `reverification_required`, `terminated` or `ended`.
    pub state: &'static str,
    /// `wallet` or `four_fields`.
    pub verification_method: &'static str,
    /// RFC 3339.
    pub verified_at: String,
    /// The device recorded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_id: Option<String>,
    /// The deadlines, when a re-verification is required.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reverification: Option<Reverification>,
}

/// A dispute as the citizen sees it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DisputeSummary {
    /// The dispute.
    pub dispute_id: String,
    /// `open` or `answered`.
    pub status: &'static str,
    /// `upheld` or `ended`, once answered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<&'static str>,
}

/// A number registered to the citizen.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CitizenSubscription {
    /// The binding.
    pub subscription_id: String,
    /// E.164.
    pub msisdn: String,
    /// The operator's registered name.
    pub operator: String,
    /// `active`, `reverification_required`, `terminated` or `ended`.
    pub state: &'static str,
    /// `wallet` or `four_fields`.
    pub verification_method: &'static str,
    /// When the operator last verified the citizen (RFC 3339).
    pub verified_at: String,
    /// RFC 3339.
    pub registered_at: String,
    /// The citizen's answer: `mine` or `not_mine`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mark: Option<&'static str>,
    /// The deadlines, when a re-verification is required.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reverification: Option<Reverification>,
    /// The latest dispute.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dispute: Option<DisputeSummary>,
}

/// A dispute as the operator reads it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OperatorDispute {
    /// The dispute.
    pub dispute_id: String,
    /// The binding disputed.
    pub subscription_id: String,
    /// The number (E.164).
    pub msisdn: String,
    /// RFC 3339.
    pub opened_at: String,
    /// `open` or `answered`.
    pub status: &'static str,
    /// `upheld` or `ended`, once answered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<&'static str>,
    /// The operator's note.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// RFC 3339.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub answered_at: Option<String>,
    /// The binding's state now: `active`, `reverification_required` or `ended`.
    #[schema(value_type = String)]
    pub subscription_state: SubscriptionState,
}

/// `POST /v1/telecom/disputes/{dispute_id}/answer`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DisputeAnswer {
    /// `upheld` (the binding stays: the operator checked it) or `ended` (the binding ends).
    #[schema(value_type = String)]
    pub outcome: DisputeOutcomeInput,
    /// A note for the record (no personal data).
    pub note: Option<String>,
}

/// An operator's answer to a dispute, as written in a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DisputeOutcomeInput {
    /// The binding stays.
    Upheld,
    /// The binding ends.
    Ended,
}

/// `POST /v1/me/subscriptions/{subscription_id}/mark`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MarkRequest {
    /// `mine` or `not_mine` (opens a dispute).
    #[schema(value_type = String)]
    pub mark: MarkInput,
}

/// A citizen's mark, as written in a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MarkInput {
    /// The citizen uses this number.
    Mine,
    /// Not the citizen's.
    NotMine,
}

/// The answer to a mark.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Marked {
    /// The binding.
    pub subscription_id: String,
    /// `mine` or `not_mine`.
    pub mark: &'static str,
    /// The dispute opened (or still open) for `not_mine`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dispute_id: Option<String>,
}

/// `POST /v1/telecom/subscriptions/{subscription_id}/device-change`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeviceChangeRequest {
    /// The operator's id of the device the subscriber uses now.
    pub device_id: String,
}

fn text(value: &str, name: &str) -> Result<String, TelecomError> {
    let value = value.trim();
    if value.is_empty() || value.chars().count() > MAX_TEXT {
        return Err(TelecomError::InvalidRequest(format!(
            "{name} must be 1 to {MAX_TEXT} characters"
        )));
    }
    Ok(value.to_owned())
}

/// The audit subject of events about a citizen: their account, so that the citizen's history
/// shows them; a pseudonym of the ID number when they have none.
async fn citizen_subject(services: &Services, id_number: &str) -> Result<String, StoreError> {
    Ok(
        match services.store.account_by_id_number(id_number).await? {
            Some(account) => account.id,
            None => format!("citizen:{}", services.key.pseudonym("citizen", id_number)),
        },
    )
}

/// The deadlines of a re-verification required since `since`.
fn reverification(
    settings: &TelecomSettings,
    reason: &'static str,
    since: i64,
    now: i64,
) -> Reverification {
    let outgoing = since + settings.outgoing_block_after_seconds;
    let two_way = since + settings.two_way_block_after_seconds;
    let terminated = two_way + settings.terminate_after_block_seconds;
    let restriction = if now >= terminated {
        "terminated"
    } else if now >= two_way {
        "two_way_blocked"
    } else if now >= outgoing {
        "outgoing_blocked"
    } else {
        "none"
    };
    let rfc3339 = crate::platform::clock::rfc3339;
    Reverification {
        reason,
        since: rfc3339(since),
        outgoing_blocked_at: rfc3339(outgoing),
        two_way_blocked_at: rfc3339(two_way),
        terminated_at: rfc3339(terminated),
        restriction,
    }
}

/// When the citizen's identity data (name, date of birth, sex) last changed in the registry.
async fn identity_changed_at(services: &Services, id_number: &str) -> Result<i64, StoreError> {
    Ok(services
        .store
        .registry_changes(id_number)
        .await?
        .iter()
        .filter(|change| {
            change
                .changed_fields
                .split(',')
                .any(|f| matches!(f.trim(), "full_name" | "date_of_birth" | "sex"))
        })
        .map(|change| change.changed_at)
        .max()
        .unwrap_or(i64::MIN))
}

/// The state a binding is in now, and its deadlines when a re-verification is required.
fn standing(
    settings: &TelecomSettings,
    subscription: &Subscription,
    identity_changed_at: i64,
    now: i64,
) -> (&'static str, Option<Reverification>) {
    if subscription.state == SubscriptionState::Ended {
        return ("ended", None);
    }
    let owed = match subscription.reverify_since {
        Some(since) => Some(reverification(settings, "device_change", since, now)),
        None if identity_changed_at > subscription.verified_at => Some(reverification(
            settings,
            "data_change",
            identity_changed_at,
            now,
        )),
        None => None,
    };
    match owed {
        Some(owed) if owed.restriction == "terminated" => ("terminated", Some(owed)),
        Some(owed) => ("reverification_required", Some(owed)),
        None => ("active", None),
    }
}

/// Checks the four fields against the registry (and the face match): the citizen's ID number.
async fn verify_four_fields(
    services: &Services,
    fields: &FourFields,
) -> Result<String, TelecomError> {
    id_number::check_format(&fields.id_number)
        .map_err(|error| TelecomError::InvalidRequest(error.to_string()))?;
    parse_date(&fields.date_of_birth, today()).ok_or_else(|| {
        TelecomError::InvalidRequest("date_of_birth must be a past date, YYYY-MM-DD".into())
    })?;
    let full_name = names::canonical(&fields.full_name);
    if full_name.is_empty() || full_name.chars().count() > MAX_TEXT {
        return Err(TelecomError::InvalidRequest(
            "full_name must be 1 to 200 characters".into(),
        ));
    }
    text(&fields.face_match.method, "face_match.method")?;
    text(&fields.face_match.performed_by, "face_match.performed_by")?;
    if fields.face_match.result != FaceMatchResult::Match {
        return Err(TelecomError::FaceMatch);
    }
    let matched = services
        .store
        .citizen(&fields.id_number)
        .await?
        .is_some_and(|c| {
            c.status == CitizenStatus::Living
                && c.date_of_birth == fields.date_of_birth
                && names::compare(&c.full_name, &full_name) == names::NameMatch::Exact
        });
    if !matched {
        return Err(TelecomError::NotVerified);
    }
    Ok(fields.id_number.clone())
}

/// Registers (or verifies again) the binding of `request.msisdn` to the citizen the request
/// verifies, for `operator`.
pub async fn bind(
    services: &Services,
    operator: &RelyingPartyRow,
    request: &BindRequest,
) -> Result<Bound, TelecomError> {
    let msisdn = phones::normalise(&request.msisdn).ok_or(TelecomError::Msisdn)?;
    let device_id = request
        .device_id
        .as_deref()
        .map(|d| text(d, "device_id"))
        .transpose()?;
    let (id_number, method, face_match) = match (&request.presentation, &request.four_fields) {
        (Some(presented), None) => {
            let id_number =
                presentation::verify(services, operator, &presented.vp_token, &presented.nonce)
                    .await?;
            let living = services
                .store
                .citizen(&id_number)
                .await?
                .is_some_and(|c| c.status == CitizenStatus::Living);
            if !living {
                return Err(TelecomError::NotVerified);
            }
            (id_number, VerificationMethod::Wallet, None)
        }
        (None, Some(fields)) => {
            let refused = verify_four_fields(services, fields).await;
            if let Err(TelecomError::FaceMatch) = &refused {
                // A refused face match is recorded (its result and method, no image).
                let event = audit::event(
                    &actor(operator),
                    "telecom.face_match.failed",
                    &operator.id,
                    json!({ "msisdn": masked(&msisdn), "method": fields.face_match.method }),
                );
                services.store.append_audit(&event).await?;
            }
            let face_match = serde_json::to_string(&fields.face_match)
                .map_err(|error| TelecomError::Internal(error.to_string()))?;
            (refused?, VerificationMethod::FourFields, Some(face_match))
        }
        _ => {
            return Err(TelecomError::InvalidRequest(
                "give exactly one of presentation and four_fields".into(),
            ));
        }
    };
    let now = crate::platform::clock::now();
    let subject = citizen_subject(services, &id_number).await?;
    let detail = |subscription_id: &str| {
        json!({
            "subscription_id": subscription_id,
            "operator": operator.name,
            "operator_id": operator.id,
            "msisdn": masked(&msisdn),
            "method": method.as_str(),
        })
    };
    let subscription = Subscription {
        id: secrets::id(),
        operator_id: operator.id.clone(),
        msisdn: msisdn.clone(),
        id_number: id_number.clone(),
        state: SubscriptionState::Active,
        method,
        face_match: face_match.clone(),
        device_id: device_id.clone(),
        verified_at: now,
        reverify_since: None,
        mark: None,
        marked_at: None,
        created_at: now,
        ended_at: None,
        end_reason: None,
    };
    let event = audit::event(
        &actor(operator),
        "telecom.subscription.bound",
        &subject,
        detail(&subscription.id),
    );
    let limits = &services.config.telecom;
    let outcome = services
        .store
        .bind_subscription(
            &subscription,
            limits.max_per_operator,
            limits.max_total,
            terminated_before(limits, now),
            &event,
        )
        .await?;
    match outcome {
        BindOutcome::Created => Ok(Bound {
            subscription_id: subscription.id,
            state: SubscriptionState::Active,
            created: true,
        }),
        BindOutcome::Existing(existing)
            if existing.operator_id == operator.id && existing.id_number == id_number =>
        {
            let event = audit::event(
                &actor(operator),
                "telecom.subscription.verified",
                &subject,
                detail(&existing.id),
            );
            let verification = SubscriptionVerification {
                method,
                face_match,
                device_id,
                at: now,
            };
            let updated = services
                .store
                .reverify_subscription(&existing.id, &operator.id, &verification, &event)
                .await?
                // Ended meanwhile by a concurrent request: the caller retries.
                .ok_or(StoreError::Conflict)?;
            Ok(Bound {
                subscription_id: updated.id,
                state: updated.state,
                created: false,
            })
        }
        BindOutcome::Existing(_) => Err(TelecomError::MsisdnBound),
        BindOutcome::OperatorLimit => Err(TelecomError::OperatorLimit(limits.max_per_operator)),
        BindOutcome::TotalLimit => Err(TelecomError::TotalLimit(limits.max_total)),
    }
}

fn operator_view(
    settings: &TelecomSettings,
    subscription: Subscription,
    identity_changed_at: i64,
    now: i64,
) -> OperatorSubscription {
    let (state, reverification) = standing(settings, &subscription, identity_changed_at, now);
    OperatorSubscription {
        subscription_id: subscription.id,
        msisdn: subscription.msisdn,
        state,
        verification_method: subscription.method.as_str(),
        verified_at: crate::platform::clock::rfc3339(subscription.verified_at),
        device_id: subscription.device_id,
        reverification,
    }
}

/// One of the operator's bindings.
pub async fn operator_subscription(
    services: &Services,
    operator: &RelyingPartyRow,
    id: &str,
) -> Result<OperatorSubscription, TelecomError> {
    let subscription = services
        .store
        .subscription(id)
        .await?
        .filter(|s| s.operator_id == operator.id)
        .ok_or(TelecomError::NotFound)?;
    let changed = identity_changed_at(services, &subscription.id_number).await?;
    Ok(operator_view(
        &services.config.telecom,
        subscription,
        changed,
        crate::platform::clock::now(),
    ))
}

/// Records the operator's report of the subscriber's device: another device than the recorded
/// one requires a new verification (the deadlines run from now).
pub async fn report_device_change(
    services: &Services,
    operator: &RelyingPartyRow,
    id: &str,
    request: &DeviceChangeRequest,
) -> Result<OperatorSubscription, TelecomError> {
    let device_id = text(&request.device_id, "device_id")?;
    let subscription = services
        .store
        .subscription(id)
        .await?
        .filter(|s| s.operator_id == operator.id && s.state != SubscriptionState::Ended)
        .ok_or(TelecomError::NotFound)?;
    let subject = citizen_subject(services, &subscription.id_number).await?;
    let event = audit::event(
        &actor(operator),
        "telecom.subscription.device_changed",
        &subject,
        json!({
            "subscription_id": subscription.id,
            "operator": operator.name,
            "msisdn": masked(&subscription.msisdn),
        }),
    );
    let now = crate::platform::clock::now();
    let changed = services
        .store
        .report_device_change(id, &operator.id, &device_id, now, &event)
        .await?
        .ok_or(TelecomError::NotFound)?;
    let subscription = match changed {
        DeviceChange::Changed(s) | DeviceChange::Unchanged(s) => s,
    };
    let identity = identity_changed_at(services, &subscription.id_number).await?;
    Ok(operator_view(
        &services.config.telecom,
        subscription,
        identity,
        now,
    ))
}

/// Ends one of the operator's live bindings (the subscriber left, the number was recycled).
pub async fn end(
    services: &Services,
    operator: &RelyingPartyRow,
    id: &str,
) -> Result<(), TelecomError> {
    let subscription = services
        .store
        .subscription(id)
        .await?
        .filter(|s| s.operator_id == operator.id && s.state != SubscriptionState::Ended)
        .ok_or(TelecomError::NotFound)?;
    let subject = citizen_subject(services, &subscription.id_number).await?;
    let event = audit::event(
        &actor(operator),
        "telecom.subscription.ended",
        &subject,
        json!({
            "subscription_id": subscription.id,
            "operator": operator.name,
            "msisdn": masked(&subscription.msisdn),
        }),
    );
    let now = crate::platform::clock::now();
    if !services
        .store
        .end_subscription(id, &operator.id, "operator", now, &event)
        .await?
    {
        return Err(TelecomError::NotFound);
    }
    Ok(())
}

fn dispute_summary(listing: &SubscriptionListing) -> Option<DisputeSummary> {
    Some(DisputeSummary {
        dispute_id: listing.dispute_id.clone()?,
        status: if listing.dispute_answered_at.is_some() {
            "answered"
        } else {
            "open"
        },
        outcome: listing.dispute_outcome.map(DisputeOutcome::as_str),
    })
}

/// Every number registered to the citizen `id_number`, across operators, newest first.
pub async fn citizen_subscriptions(
    services: &Services,
    id_number: &str,
) -> Result<Vec<CitizenSubscription>, TelecomError> {
    let listings = services.store.citizen_subscriptions(id_number).await?;
    let changed = if listings.is_empty() {
        i64::MIN
    } else {
        identity_changed_at(services, id_number).await?
    };
    let now = crate::platform::clock::now();
    Ok(listings
        .iter()
        .map(|listing| {
            let s = &listing.subscription;
            let (state, reverification) = standing(&services.config.telecom, s, changed, now);
            CitizenSubscription {
                subscription_id: s.id.clone(),
                msisdn: s.msisdn.clone(),
                operator: listing.operator_name.clone(),
                state,
                verification_method: s.method.as_str(),
                verified_at: crate::platform::clock::rfc3339(s.verified_at),
                registered_at: crate::platform::clock::rfc3339(s.created_at),
                mark: s.mark.map(SubscriptionMark::as_str),
                reverification,
                dispute: dispute_summary(listing),
            }
        })
        .collect())
}

/// The citizen (`account_id`, `id_number`) marks one of their live bindings; `not_mine` opens
/// a dispute the operator must answer (one open dispute per binding).
pub async fn mark(
    services: &Services,
    account_id: &str,
    id_number: &str,
    id: &str,
    request: &MarkRequest,
) -> Result<Marked, TelecomError> {
    let subscription = services
        .store
        .subscription(id)
        .await?
        .filter(|s| s.id_number == id_number && s.state != SubscriptionState::Ended)
        .ok_or(TelecomError::NotFound)?;
    let now = crate::platform::clock::now();
    let mark = match request.mark {
        MarkInput::Mine => SubscriptionMark::Mine,
        MarkInput::NotMine => SubscriptionMark::NotMine,
    };
    let dispute = (mark == SubscriptionMark::NotMine).then(|| Dispute {
        id: secrets::id(),
        subscription_id: subscription.id.clone(),
        operator_id: subscription.operator_id.clone(),
        opened_at: now,
        outcome: None,
        note: None,
        answered_at: None,
    });
    let event = audit::event(
        account_id,
        "telecom.subscription.marked",
        account_id,
        json!({
            "subscription_id": subscription.id,
            "mark": mark.as_str(),
            "msisdn": masked(&subscription.msisdn),
        }),
    );
    if !services
        .store
        .mark_subscription(id, id_number, mark, dispute.as_ref(), now, &event)
        .await?
    {
        return Err(TelecomError::NotFound);
    }
    // The dispute open now: this one, or one opened before and not yet answered.
    let dispute_id = match mark {
        SubscriptionMark::Mine => None,
        SubscriptionMark::NotMine => services
            .store
            .citizen_subscriptions(id_number)
            .await?
            .into_iter()
            .find(|l| l.subscription.id == subscription.id && l.dispute_answered_at.is_none())
            .and_then(|l| l.dispute_id),
    };
    Ok(Marked {
        subscription_id: subscription.id,
        mark: mark.as_str(),
        dispute_id,
    })
}

fn operator_dispute(listing: DisputeListing) -> OperatorDispute {
    let d = listing.dispute;
    OperatorDispute {
        dispute_id: d.id,
        subscription_id: d.subscription_id,
        msisdn: listing.msisdn,
        opened_at: crate::platform::clock::rfc3339(d.opened_at),
        status: if d.answered_at.is_some() {
            "answered"
        } else {
            "open"
        },
        outcome: d.outcome.map(DisputeOutcome::as_str),
        note: d.note,
        answered_at: d.answered_at.map(crate::platform::clock::rfc3339),
        subscription_state: listing.subscription_state,
    }
}

/// The disputes of the operator's bindings, oldest first: only the open ones unless `all`.
pub async fn disputes(
    services: &Services,
    operator: &RelyingPartyRow,
    all: bool,
) -> Result<Vec<OperatorDispute>, TelecomError> {
    Ok(services
        .store
        .operator_disputes(&operator.id, !all, 1_000)
        .await?
        .into_iter()
        .map(operator_dispute)
        .collect())
}

/// The operator answers one of its open disputes; `ended` ends the binding.
pub async fn answer_dispute(
    services: &Services,
    operator: &RelyingPartyRow,
    id: &str,
    answer: &DisputeAnswer,
) -> Result<OperatorDispute, TelecomError> {
    let note = answer
        .note
        .as_deref()
        .map(|n| text(n, "note"))
        .transpose()?;
    let outcome = match answer.outcome {
        DisputeOutcomeInput::Upheld => DisputeOutcome::Upheld,
        DisputeOutcomeInput::Ended => DisputeOutcome::Ended,
    };
    let open = services
        .store
        .operator_disputes(&operator.id, true, 1_000)
        .await?
        .into_iter()
        .find(|d| d.dispute.id == id)
        .ok_or(TelecomError::DisputeNotFound)?;
    let subscription = services
        .store
        .subscription(&open.dispute.subscription_id)
        .await?
        .ok_or(TelecomError::DisputeNotFound)?;
    let subject = citizen_subject(services, &subscription.id_number).await?;
    let event = audit::event(
        &actor(operator),
        "telecom.dispute.answered",
        &subject,
        json!({
            "dispute_id": id,
            "subscription_id": subscription.id,
            "operator": operator.name,
            "outcome": outcome.as_str(),
            "msisdn": masked(&subscription.msisdn),
        }),
    );
    let now = crate::platform::clock::now();
    let answered = services
        .store
        .answer_dispute(id, &operator.id, outcome, note.as_deref(), now, &event)
        .await?
        .ok_or(TelecomError::DisputeNotFound)?;
    let state = if outcome == DisputeOutcome::Ended {
        SubscriptionState::Ended
    } else {
        subscription.state
    };
    Ok(operator_dispute(DisputeListing {
        dispute: answered,
        msisdn: subscription.msisdn,
        subscription_state: state,
    }))
}

/// Whether `msisdn` is a phone registered to the citizen through a live binding that still
/// counts (enrolment and recovery codes go only to registered phones): not ended, not
/// terminated after a device change left without a new verification.
pub async fn is_bound_phone(
    services: &Services,
    id_number: &str,
    msisdn: &str,
) -> Result<bool, StoreError> {
    let settings = &services.config.telecom;
    let cutoff = terminated_before(settings, crate::platform::clock::now());
    services
        .store
        .msisdn_bound_to(id_number, msisdn, cutoff)
        .await
}

/// A device change at or before this time, left without a new verification, has terminated
/// its binding by `now`.
fn terminated_before(settings: &TelecomSettings, now: i64) -> i64 {
    now - settings.two_way_block_after_seconds - settings.terminate_after_block_seconds
}

//! Level-1 enrolment (journey 1): match the registry, send a one-time code to a phone
//! registered to the citizen, and on the right code create the account at assurance level 1
//! together with the registration of its first passkey.
//!
//! Knowledge printed on the ID card is not a secret, so it only decides where a code may go:
//! **the code goes only to a phone the registry lists for the citizen**. The answer to a start
//! request is the same whatever matched: a request that matches nobody, or names a phone that
//! is not the citizen's, gets an enrolment whose code can never succeed, and no SMS. Codes are
//! six digits, HMAC'd at rest, expire in minutes and allow a few attempts (counted atomically);
//! starts are rate-limited per phone and per client address. A citizen has at most one
//! account, and a later enrolment never re-attaches it: an account that exists is recovered
//! (`crate::domain::recovery`), never enrolled again.

use serde_json::json;

use crate::{
    Services,
    domain::audit,
    domain::passkeys,
    domain::registry::{id_number, names, parse_date, phones, today},
    domain::sessions::{self, Binding, IssuedSession, Role},
    platform::secrets,
    store::{Account, AccountRole, AssuranceLevel, CitizenStatus, Enrolment, StoreError},
};

/// What the citizen types in the app.
#[derive(Debug, Clone)]
pub struct EnrolmentRequest {
    /// 12 digits.
    pub id_number: String,
    /// As on the ID card.
    pub full_name: String,
    /// `YYYY-MM-DD`.
    pub date_of_birth: String,
    /// Vietnamese mobile number in any common spelling (`0912 345 678`, `+84912345678`).
    pub phone: String,
}

/// Which flow a code is for: a code sent for one is never good for the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Creating the citizen's account.
    Enrolment,
    /// Recovering the citizen's existing account.
    Recovery,
}

impl Purpose {
    /// Stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Enrolment => "enrolment",
            Self::Recovery => "recovery",
        }
    }
}

/// A started enrolment (or recovery).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Started {
    /// Where to send the code.
    pub enrolment_id: String,
    /// Unix seconds.
    pub expires_at: i64,
}

/// A confirmed code: the account's setup (or recovery) session and the passkey registration it
/// is bound to.
#[derive(Debug, Clone)]
pub struct Confirmed {
    /// The account.
    pub account: Account,
    /// The session, bound to `ceremony_id`.
    pub session: IssuedSession,
    /// The passkey registration to complete.
    pub ceremony_id: String,
    /// Its WebAuthn options.
    pub options: serde_json::Value,
}

/// Why an enrolment step failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EnrolmentError {
    /// The ID number is malformed, or its year digits contradict the date of birth.
    #[error("invalid ID number: {0}")]
    IdNumber(id_number::IdNumberError),
    /// The date of birth is not a past `YYYY-MM-DD` date.
    #[error("invalid date of birth: expected a past date as YYYY-MM-DD")]
    DateOfBirth,
    /// The name is empty or too long.
    #[error("invalid full name")]
    FullName,
    /// The phone is not a Vietnamese mobile number.
    #[error("invalid phone number: expected a Vietnamese mobile number")]
    Phone,
    /// Too many requests for this phone or from this address.
    #[error("too many enrolment requests; try again later")]
    RateLimited {
        /// Seconds until the window ends.
        retry_after: i64,
    },
    /// The code is wrong; attempts remain.
    #[error("the code is not correct")]
    WrongCode,
    /// The enrolment is over: expired, already used, or out of attempts.
    #[error("this enrolment has expired or was already used; start again")]
    Closed,
    /// The citizen has an account already: sign in, or recover it.
    #[error(
        "an account already exists for this citizen; sign in with a passkey, or recover the account at /v1/recoveries"
    )]
    AccountExists,
    /// The first passkey's registration could not be started.
    #[error(transparent)]
    Passkey(#[from] passkeys::PasskeyError),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn code_mac(services: &Services, enrolment_id: &str, code: &str) -> Vec<u8> {
    services.key.mac(
        "enrolment-code",
        &[enrolment_id.as_bytes(), code.as_bytes()],
    )
}

async fn rate_limit(services: &Services, key: &str, limit: i64) -> Result<(), EnrolmentError> {
    let window = services.config.enrolment.window_seconds;
    let now = crate::platform::clock::now();
    if services.store.hit_rate_limit(key, now, window).await? > limit {
        return Err(EnrolmentError::RateLimited {
            retry_after: window - now.rem_euclid(window),
        });
    }
    Ok(())
}

/// Starts an enrolment or a recovery. `client` identifies the requester's network address for
/// rate limiting. A code is sent only when the details match a living citizen, the phone is
/// registered to them, and (for a recovery) they have an account; in every other case the
/// answer is the same and nothing is sent.
pub async fn start(
    services: &Services,
    request: &EnrolmentRequest,
    client: &str,
    purpose: Purpose,
) -> Result<Started, EnrolmentError> {
    id_number::check_format(&request.id_number).map_err(EnrolmentError::IdNumber)?;
    let (year_of_birth, _, _) =
        parse_date(&request.date_of_birth, today()).ok_or(EnrolmentError::DateOfBirth)?;
    // The ID number encodes the year of birth: a typo in either is told at once, from the input
    // alone (nothing about the registry), rather than by a code that never comes.
    id_number::check_year_of_birth(&request.id_number, year_of_birth)
        .map_err(EnrolmentError::IdNumber)?;
    let full_name = names::canonical(&request.full_name);
    if full_name.is_empty() || full_name.chars().count() > 200 {
        return Err(EnrolmentError::FullName);
    }
    let phone = phones::normalise(&request.phone).ok_or(EnrolmentError::Phone)?;
    // Enrolment and recovery share the limits: one does not double the other's SMS budget.
    let limits = &services.config.enrolment;
    rate_limit(
        services,
        &format!("enrol-ip:{}", services.key.pseudonym("ip", client)),
        limits.per_ip,
    )
    .await?;
    rate_limit(
        services,
        &format!("enrol-phone:{}", services.key.pseudonym("phone", &phone)),
        limits.per_phone,
    )
    .await?;

    // A phone is registered to the citizen when the registry lists it or an operator's live
    // SIM binding binds it to them; both are looked up whatever matched, so that the answer
    // takes as long for a registered phone as for any other.
    let bound =
        crate::domain::telecom::subscriptions::is_bound_phone(services, &request.id_number, &phone)
            .await?;
    let matched = services
        .store
        .citizen(&request.id_number)
        .await?
        .filter(|c| {
            c.status == CitizenStatus::Living
                && c.date_of_birth == request.date_of_birth
                && names::compare(&c.full_name, &full_name) == names::NameMatch::Exact
                && (c.has_phone(&phone) || bound)
        });
    let matched = match purpose {
        // Looked up whatever matched, so that the answer takes as long for a registered phone
        // as for any other.
        Purpose::Recovery => {
            let account = services
                .store
                .account_by_id_number(&request.id_number)
                .await?
                .filter(|a| a.role == AccountRole::Citizen);
            matched.filter(|_| account.is_some())
        }
        Purpose::Enrolment => matched,
    };
    let now = crate::platform::clock::now();
    let id = secrets::id();
    let code = secrets::six_digit_code();
    let enrolment = Enrolment {
        code_hash: code_mac(services, &id, &code),
        id: id.clone(),
        id_number: matched.as_ref().map(|c| c.id_number.clone()),
        phone: phone.clone(),
        attempts: 0,
        created_at: now,
        expires_at: now + limits.code_ttl_seconds,
        purpose: purpose.as_str().to_owned(),
    };
    // The audit subject is the enrolment: the event says nothing about whether anyone matched.
    let action = match purpose {
        Purpose::Enrolment => "enrolment.started",
        Purpose::Recovery => "recovery.requested",
    };
    let event = audit::event(audit::ANONYMOUS, action, &id, json!({}));
    services.store.insert_enrolment(&enrolment, &event).await?;
    if matched.is_some() {
        let minutes = (limits.code_ttl_seconds + 59) / 60;
        let text = match purpose {
            Purpose::Enrolment => format!(
                "dinhdanh: mã xác thực của bạn là {} (your code). Hết hạn sau {minutes} phút.",
                code.as_str()
            ),
            Purpose::Recovery => format!(
                "dinhdanh: mã khôi phục tài khoản của bạn là {} (account recovery code). Hết hạn sau {minutes} phút. Nếu không phải bạn yêu cầu, đừng chia sẻ mã này.",
                code.as_str()
            ),
        };
        let sms = services.sms.clone();
        // Sent off the request path so that a match and a non-match take the same time.
        tokio::spawn(async move {
            if let Err(error) = sms.send(&phone, &text).await {
                tracing::error!(%error, "sending a one-time code failed");
            }
        });
    }
    Ok(Started {
        enrolment_id: id,
        expires_at: enrolment.expires_at,
    })
}

/// A right code: whose it is and the phone it went to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedCode {
    /// The citizen's ID number.
    pub id_number: String,
    /// The registered phone the code went to (E.164).
    pub phone: String,
}

/// Counts an attempt at the code of enrolment `enrolment_id` (for `purpose`) and checks it:
/// the citizen and phone when it is right and the enrolment matched someone.
pub async fn check_code(
    services: &Services,
    enrolment_id: &str,
    code: &str,
    purpose: Purpose,
) -> Result<CheckedCode, EnrolmentError> {
    let now = crate::platform::clock::now();
    let max_attempts = services.config.enrolment.max_attempts;
    let enrolment = services
        .store
        .enrolment_attempt(enrolment_id, purpose.as_str(), now, max_attempts)
        .await?
        .ok_or(EnrolmentError::Closed)?;
    let right = code.len() == 6
        && secrets::equal(
            &code_mac(services, enrolment_id, code),
            &enrolment.code_hash,
        );
    match enrolment.id_number.filter(|_| right) {
        Some(id_number) => Ok(CheckedCode {
            id_number,
            phone: enrolment.phone,
        }),
        None => {
            let event = audit::event(
                audit::ANONYMOUS,
                "enrolment.code_failed",
                enrolment_id,
                json!({ "attempt": enrolment.attempts, "purpose": purpose.as_str() }),
            );
            services.store.append_audit(&event).await?;
            Err(if enrolment.attempts >= max_attempts {
                EnrolmentError::Closed
            } else {
                EnrolmentError::WrongCode
            })
        }
    }
}

/// Checks the code and creates the level-1 account, with a setup session bound to the
/// registration of its first passkey. An account that exists already is never re-attached:
/// [`EnrolmentError::AccountExists`] (also for the losers of simultaneous confirmations).
pub async fn confirm(
    services: &Services,
    enrolment_id: &str,
    code: &str,
) -> Result<Confirmed, EnrolmentError> {
    let CheckedCode { id_number, phone } =
        check_code(services, enrolment_id, code, Purpose::Enrolment).await?;
    let citizen = services
        .store
        .citizen(&id_number)
        .await?
        .ok_or(EnrolmentError::Closed)?;
    if services
        .store
        .account_by_id_number(&id_number)
        .await?
        .is_some()
    {
        return Err(EnrolmentError::AccountExists);
    }
    let now = crate::platform::clock::now();
    let account = new_account(id_number, citizen.full_name, phone, now);
    let event = audit::event(
        &account.id,
        "account.created",
        &account.id,
        json!({ "assurance_level": account.assurance_level, "enrolment": enrolment_id }),
    );
    services
        .store
        .complete_enrolment(&account, true, enrolment_id, now, &event)
        .await
        .map_err(|e| match e {
            StoreError::Conflict => EnrolmentError::Closed,
            // Another enrolment of the same citizen created the account first.
            e if e.is_unique_violation() => EnrolmentError::AccountExists,
            other => other.into(),
        })?;
    begin_setup(services, account, "sms_code").await
}

/// Starts the registration of `account`'s first passkey and issues the setup session bound to
/// it (and to nothing else).
pub async fn begin_setup(
    services: &Services,
    account: Account,
    method: &str,
) -> Result<Confirmed, EnrolmentError> {
    let (ceremony_id, options) = passkeys::start_registration(services, &account).await?;
    let binding = Binding {
        ceremony_id: Some(ceremony_id.clone()),
        recovery_id: None,
    };
    let session = sessions::issue_bound(services, &account, Role::Setup, method, binding).await?;
    Ok(Confirmed {
        account,
        session,
        ceremony_id,
        options,
    })
}

/// Starts the registration of a setup session's passkey again (the first was cancelled or
/// expired: a ceremony lasts minutes, the session ten) and binds the session to it instead.
pub async fn restart_setup(
    services: &Services,
    principal: &sessions::Principal,
) -> Result<(String, serde_json::Value), EnrolmentError> {
    let (ceremony_id, options) = passkeys::start_registration(services, &principal.account).await?;
    services
        .store
        .bind_session_ceremony(&principal.session.token_hash, &ceremony_id)
        .await?;
    Ok((ceremony_id, options))
}

fn new_account(id_number: String, display_name: String, phone: String, now: i64) -> Account {
    Account {
        id: secrets::id(),
        webauthn_user_id: secrets::id(),
        role: AccountRole::Citizen,
        id_number: Some(id_number),
        display_name,
        phone: Some(phone),
        assurance_level: AssuranceLevel::One,
        created_at: now,
    }
}

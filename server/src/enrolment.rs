//! Level-1 enrolment (journey 1): match the registry, send a one-time code, and on the right
//! code create the account at assurance level 1.
//!
//! The answer to a start request is the same whether or not the ID number exists: a request that
//! matches nobody gets an enrolment whose code can never succeed, and no SMS. Codes are six
//! digits, HMAC'd at rest, expire in minutes and allow a few attempts; starts are rate-limited
//! per phone and per client address.

use serde_json::json;

use crate::{
    Services, audit,
    registry::{id_number, names, parse_date, today},
    secrets,
    store::{Account, Enrolment, StoreError},
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
    /// Vietnamese mobile number (`0xxxxxxxxx` or `+84xxxxxxxxx`).
    pub phone: String,
}

/// A started enrolment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Started {
    /// Where to send the code.
    pub enrolment_id: String,
    /// Unix seconds.
    pub expires_at: i64,
}

/// Why an enrolment step failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EnrolmentError {
    /// The ID number is malformed.
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
    /// The citizen already has an account with passkeys: sign in instead.
    #[error("an account already exists for this citizen; sign in with a passkey")]
    AccountExists,
    /// The code was not sent.
    #[error("the code could not be sent")]
    Sms(#[from] crate::sms::SmsError),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Normalises a Vietnamese mobile number to E.164 (`+84` and nine digits).
pub fn normalise_phone(phone: &str) -> Option<String> {
    let compact: String = phone
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '.'))
        .collect();
    let national = compact
        .strip_prefix("+84")
        .or_else(|| compact.strip_prefix("84").filter(|rest| rest.len() == 9))
        .or_else(|| compact.strip_prefix('0'))?;
    let valid = national.len() == 9
        && national.bytes().all(|b| b.is_ascii_digit())
        && matches!(national.as_bytes()[0], b'3' | b'5' | b'7' | b'8' | b'9');
    valid.then(|| format!("+84{national}"))
}

fn code_mac(services: &Services, enrolment_id: &str, code: &str) -> Vec<u8> {
    services.key.mac(
        "enrolment-code",
        &[enrolment_id.as_bytes(), code.as_bytes()],
    )
}

async fn rate_limit(services: &Services, key: &str, limit: i64) -> Result<(), EnrolmentError> {
    let window = services.config.enrolment.window_seconds;
    let now = crate::clock::now();
    if services.store.hit_rate_limit(key, now, window).await? > limit {
        return Err(EnrolmentError::RateLimited {
            retry_after: window - now.rem_euclid(window),
        });
    }
    Ok(())
}

/// Starts an enrolment. `client` identifies the requester's network address for rate limiting.
pub async fn start(
    services: &Services,
    request: &EnrolmentRequest,
    client: &str,
) -> Result<Started, EnrolmentError> {
    id_number::check_format(&request.id_number).map_err(EnrolmentError::IdNumber)?;
    parse_date(&request.date_of_birth, today()).ok_or(EnrolmentError::DateOfBirth)?;
    let full_name = names::canonical(&request.full_name);
    if full_name.is_empty() || full_name.chars().count() > 200 {
        return Err(EnrolmentError::FullName);
    }
    let phone = normalise_phone(&request.phone).ok_or(EnrolmentError::Phone)?;
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

    let matched = services
        .store
        .citizen(&request.id_number)
        .await?
        .filter(|c| {
            c.status == "living"
                && c.date_of_birth == request.date_of_birth
                && names::compare(&c.full_name, &full_name) == names::NameMatch::Exact
        });
    let now = crate::clock::now();
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
    };
    // The audit subject is the enrolment: the event says nothing about whether anyone matched.
    let event = audit::event(audit::ANONYMOUS, "enrolment.started", &id, json!({}));
    services.store.insert_enrolment(&enrolment, &event).await?;
    if matched.is_some() {
        let minutes = (limits.code_ttl_seconds + 59) / 60;
        let text = format!(
            "dinhdanh: mã xác thực của bạn là {} (your code). Hết hạn sau {minutes} phút.",
            code.as_str()
        );
        let sms = services.sms.clone();
        // Sent off the request path so that a match and a non-match take the same time.
        tokio::spawn(async move {
            if let Err(error) = sms.send(&phone, &text).await {
                tracing::error!(%error, "sending an enrolment code failed");
            }
        });
    }
    Ok(Started {
        enrolment_id: id,
        expires_at: enrolment.expires_at,
    })
}

/// Checks the code and creates the level-1 account. Returns the account (new, or an existing
/// one with no passkey left, which the citizen is re-binding).
pub async fn confirm(
    services: &Services,
    enrolment_id: &str,
    code: &str,
) -> Result<Account, EnrolmentError> {
    let now = crate::clock::now();
    let max_attempts = services.config.enrolment.max_attempts;
    let enrolment = services
        .store
        .enrolment_attempt(enrolment_id, now, max_attempts)
        .await?
        .ok_or(EnrolmentError::Closed)?;
    let right = code.len() == 6
        && secrets::equal(
            &code_mac(services, enrolment_id, code),
            &enrolment.code_hash,
        );
    let Some(id_number) = enrolment.id_number.filter(|_| right) else {
        let event = audit::event(
            audit::ANONYMOUS,
            "enrolment.code_failed",
            enrolment_id,
            json!({ "attempt": enrolment.attempts }),
        );
        services.store.append_audit(&event).await?;
        return Err(if enrolment.attempts >= max_attempts {
            EnrolmentError::Closed
        } else {
            EnrolmentError::WrongCode
        });
    };
    let citizen = services
        .store
        .citizen(&id_number)
        .await?
        .ok_or(EnrolmentError::Closed)?;
    let (account, create, action) = match services.store.account_by_id_number(&id_number).await? {
        Some(existing) => {
            let active = services
                .store
                .passkeys(&existing.id)
                .await?
                .iter()
                .any(|p| p.revoked_at.is_none());
            if active {
                return Err(EnrolmentError::AccountExists);
            }
            (existing, false, "account.rebound")
        }
        None => (
            new_account(id_number, citizen.full_name, enrolment.phone, now),
            true,
            "account.created",
        ),
    };
    let event = audit::event(
        &account.id,
        action,
        &account.id,
        json!({ "assurance_level": account.assurance_level, "enrolment": enrolment_id }),
    );
    services
        .store
        .complete_enrolment(&account, create, enrolment_id, now, &event)
        .await
        .map_err(|e| match e {
            StoreError::Conflict => EnrolmentError::Closed,
            other => other.into(),
        })?;
    Ok(account)
}

fn new_account(id_number: String, display_name: String, phone: String, now: i64) -> Account {
    Account {
        id: secrets::id(),
        webauthn_user_id: secrets::id(),
        role: "citizen".into(),
        id_number: Some(id_number),
        display_name,
        phone: Some(phone),
        assurance_level: 1,
        created_at: now,
    }
}

#[cfg(test)]
mod tests {
    use super::normalise_phone;

    #[test]
    fn phones() {
        assert_eq!(
            normalise_phone("0912 345 678").as_deref(),
            Some("+84912345678")
        );
        assert_eq!(
            normalise_phone("+84912345678").as_deref(),
            Some("+84912345678")
        );
        assert_eq!(
            normalise_phone("84912345678").as_deref(),
            Some("+84912345678")
        );
        assert_eq!(normalise_phone("0212345678"), None);
        assert_eq!(normalise_phone("091234567"), None);
        assert_eq!(normalise_phone("+1912345678"), None);
        assert_eq!(normalise_phone("09123456789"), None);
    }
}

//! Passkeys (WebAuthn, user verification required) through webauthn-rs: registration and
//! usernameless sign-in. Ceremony state lives in the database and is taken exactly once, so a
//! replayed response finds nothing to complete.

use serde_json::json;
use webauthn_rs::prelude::{
    CreationChallengeResponse, DiscoverableAuthentication, Passkey, PasskeyRegistration,
    PublicKeyCredential, RegisterPublicKeyCredential, RequestChallengeResponse, Uuid,
};

use crate::{
    Services,
    domain::audit,
    platform::secrets,
    store::{Account, Ceremony, StoreError, StoredPasskey},
};

/// How long a ceremony may take.
const CEREMONY_TTL: i64 = 300;
const REGISTRATION: &str = "registration";
const AUTHENTICATION: &str = "authentication";

/// Why a passkey ceremony failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PasskeyError {
    /// No such ceremony: unknown, expired, or already completed (a replay).
    #[error("this passkey ceremony is unknown, expired or already completed")]
    Ceremony,
    /// The authenticator's response did not verify.
    #[error("the passkey response was rejected: {0}")]
    Rejected(String),
    /// The credential is not registered, was revoked, or belongs to someone else.
    #[error("this passkey is not registered")]
    UnknownCredential,
    /// The credential is registered already.
    #[error("this passkey is registered already")]
    Duplicate,
    /// The signature counter went backwards: the credential may have been cloned.
    #[error("the passkey's signature counter went backwards")]
    Counter,
    /// The last active passkey cannot be revoked (the account would be unreachable).
    #[error("the last passkey of an account cannot be revoked")]
    LastPasskey,
    /// No such passkey on this account.
    #[error("no such passkey")]
    NotFound,
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn corrupt(_: serde_json::Error) -> PasskeyError {
    PasskeyError::Store(StoreError::Corrupt("passkey state"))
}

fn user_id(account: &Account) -> Result<Uuid, PasskeyError> {
    Uuid::parse_str(&account.webauthn_user_id)
        .map_err(|_| PasskeyError::Store(StoreError::Corrupt("user handle")))
}

/// Starts registering a passkey for `account`. The options ask for a discoverable credential
/// (so sign-in needs no user name) and user verification.
pub async fn start_registration(
    services: &Services,
    account: &Account,
) -> Result<(String, serde_json::Value), PasskeyError> {
    let existing: Vec<_> = services
        .store
        .passkeys(&account.id)
        .await?
        .into_iter()
        .filter(|p| p.revoked_at.is_none())
        .map(|p| p.credential_id)
        .collect();
    let user_name = account
        .id_number
        .as_deref()
        .unwrap_or(&account.display_name);
    let (options, state): (CreationChallengeResponse, PasskeyRegistration) = services
        .webauthn
        .start_passkey_registration(
            user_id(account)?,
            user_name,
            &account.display_name,
            Some(existing),
        )
        .map_err(|e| PasskeyError::Rejected(e.to_string()))?;
    let mut options = serde_json::to_value(options).map_err(corrupt)?;
    if let Some(selection) = options
        .pointer_mut("/publicKey/authenticatorSelection")
        .and_then(|s| s.as_object_mut())
    {
        selection.insert("residentKey".into(), json!("required"));
        selection.insert("requireResidentKey".into(), json!(true));
    }
    let ceremony = Ceremony {
        id: secrets::token(),
        kind: REGISTRATION.into(),
        account_id: Some(account.id.clone()),
        state: serde_json::to_string(&state).map_err(corrupt)?,
        expires_at: crate::platform::clock::now() + CEREMONY_TTL,
    };
    services.store.put_ceremony(&ceremony).await?;
    Ok((ceremony.id, options))
}

/// Completes a registration started for `account`.
pub async fn finish_registration(
    services: &Services,
    account: &Account,
    ceremony_id: &str,
    credential: &RegisterPublicKeyCredential,
    name: &str,
) -> Result<StoredPasskey, PasskeyError> {
    let stored = verify_registration(services, account, ceremony_id, credential, name).await?;
    let event = audit::event(
        &account.id,
        "passkey.added",
        &account.id,
        json!({ "passkey": stored.id }),
    );
    services
        .store
        .insert_passkey(&stored, &event)
        .await
        .map_err(|e| {
            if e.is_unique_violation() {
                // Registered concurrently by another request: the unique credential id decides.
                PasskeyError::Duplicate
            } else {
                e.into()
            }
        })?;
    Ok(stored)
}

/// Takes the registration ceremony `ceremony_id` of `account` and verifies the authenticator's
/// response: the passkey to store (not stored yet).
pub async fn verify_registration(
    services: &Services,
    account: &Account,
    ceremony_id: &str,
    credential: &RegisterPublicKeyCredential,
    name: &str,
) -> Result<StoredPasskey, PasskeyError> {
    let now = crate::platform::clock::now();
    let ceremony = services
        .store
        .take_ceremony(ceremony_id, REGISTRATION, now)
        .await?
        .filter(|c| c.account_id.as_deref() == Some(account.id.as_str()))
        .ok_or(PasskeyError::Ceremony)?;
    let state: PasskeyRegistration = serde_json::from_str(&ceremony.state).map_err(corrupt)?;
    let passkey = services
        .webauthn
        .finish_passkey_registration(credential, &state)
        .map_err(|e| PasskeyError::Rejected(e.to_string()))?;
    let stored = StoredPasskey {
        id: secrets::id(),
        account_id: account.id.clone(),
        credential_id: passkey.cred_id().clone(),
        passkey: serde_json::to_string(&passkey).map_err(corrupt)?,
        name: name.to_owned(),
        sign_count: 0,
        backup_eligible: false,
        backup_state: false,
        created_at: now,
        last_used_at: None,
        revoked_at: None,
    };
    Ok(stored)
}

/// Starts a usernameless sign-in.
pub async fn start_sign_in(
    services: &Services,
) -> Result<(String, RequestChallengeResponse), PasskeyError> {
    let (options, state): (RequestChallengeResponse, DiscoverableAuthentication) = services
        .webauthn
        .start_discoverable_authentication()
        .map_err(|e| PasskeyError::Rejected(e.to_string()))?;
    let ceremony = Ceremony {
        id: secrets::token(),
        kind: AUTHENTICATION.into(),
        account_id: None,
        state: serde_json::to_string(&state).map_err(corrupt)?,
        expires_at: crate::platform::clock::now() + CEREMONY_TTL,
    };
    services.store.put_ceremony(&ceremony).await?;
    Ok((ceremony.id, options))
}

/// Completes a sign-in: the account whose passkey signed.
pub async fn finish_sign_in(
    services: &Services,
    ceremony_id: &str,
    credential: &PublicKeyCredential,
) -> Result<Account, PasskeyError> {
    let now = crate::platform::clock::now();
    let ceremony = services
        .store
        .take_ceremony(ceremony_id, AUTHENTICATION, now)
        .await?
        .ok_or(PasskeyError::Ceremony)?;
    let state: DiscoverableAuthentication =
        serde_json::from_str(&ceremony.state).map_err(corrupt)?;
    let (user, credential_id) = services
        .webauthn
        .identify_discoverable_authentication(credential)
        .map_err(|e| PasskeyError::Rejected(e.to_string()))?;
    let mut stored = services
        .store
        .passkey_by_credential(credential_id)
        .await?
        .filter(|p| p.revoked_at.is_none())
        .ok_or(PasskeyError::UnknownCredential)?;
    let account = services
        .store
        .account(&stored.account_id)
        .await?
        .filter(|a| a.webauthn_user_id == user.to_string())
        .ok_or(PasskeyError::UnknownCredential)?;
    let mut passkey: Passkey = serde_json::from_str(&stored.passkey).map_err(corrupt)?;
    let result = services
        .webauthn
        .finish_discoverable_authentication_v2(credential, state, &passkey)
        .map_err(|e| PasskeyError::Rejected(e.to_string()))?;
    let counter = i64::from(result.counter());
    if stored.sign_count > 0 && counter <= stored.sign_count {
        let event = audit::event(
            &account.id,
            "passkey.counter_regressed",
            &account.id,
            json!({ "passkey": stored.id }),
        );
        services.store.append_audit(&event).await?;
        return Err(PasskeyError::Counter);
    }
    passkey.update_credential(&result);
    stored.passkey = serde_json::to_string(&passkey).map_err(corrupt)?;
    stored.sign_count = counter;
    stored.backup_eligible = result.backup_eligible();
    stored.backup_state = result.backup_state();
    if !services.store.record_passkey_use(&stored, now).await? {
        return Err(PasskeyError::UnknownCredential);
    }
    Ok(account)
}

/// Revokes one of the account's passkeys, never the last active one.
pub async fn revoke(
    services: &Services,
    account: &Account,
    passkey_id: &str,
) -> Result<(), PasskeyError> {
    let active: Vec<_> = services
        .store
        .passkeys(&account.id)
        .await?
        .into_iter()
        .filter(|p| p.revoked_at.is_none())
        .collect();
    if !active.iter().any(|p| p.id == passkey_id) {
        return Err(PasskeyError::NotFound);
    }
    if active.len() == 1 {
        return Err(PasskeyError::LastPasskey);
    }
    let event = audit::event(
        &account.id,
        "passkey.revoked",
        &account.id,
        json!({ "passkey": passkey_id }),
    );
    if services
        .store
        .revoke_passkey(
            &account.id,
            passkey_id,
            crate::platform::clock::now(),
            &event,
        )
        .await?
    {
        Ok(())
    } else {
        Err(PasskeyError::NotFound)
    }
}

//! Staff accounts (officers, administrators): created by an operator command, each with a
//! one-time invitation link on which the staff member registers their passkey.

use serde_json::json;

use crate::{
    Services,
    domain::audit,
    domain::sessions::Principal,
    platform::secrets,
    store::{Account, AccountRole, AssuranceLevel, StoreError},
};

/// How long an invitation link stays valid.
pub const INVITATION_TTL: i64 = 72 * 3600;

/// A staff account just created, with the link to give its holder.
#[derive(Debug, Clone)]
pub struct Invitation {
    /// The account.
    pub account: Account,
    /// `<public URL>/staff/enrol#<token>`: the token is in the fragment, never sent in requests
    /// for the page or in Referer headers.
    pub link: String,
    /// Unix seconds.
    pub expires_at: i64,
}

/// Creates an officer or admin account and its invitation.
pub async fn add(
    services: &Services,
    role: AccountRole,
    name: &str,
) -> Result<Invitation, StoreError> {
    let now = crate::platform::clock::now();
    let account = Account {
        id: secrets::id(),
        webauthn_user_id: secrets::id(),
        role,
        id_number: None,
        display_name: crate::domain::registry::names::canonical(name),
        phone: None,
        assurance_level: AssuranceLevel::Two,
        created_at: now,
    };
    let token = secrets::token();
    let expires_at = now + INVITATION_TTL;
    let event = audit::event(
        audit::OPERATOR,
        "staff.created",
        &account.id,
        json!({ "role": role.as_str() }),
    );
    services
        .store
        .create_staff_account(&account, &secrets::token_hash(&token), expires_at, &event)
        .await?;
    Ok(Invitation {
        link: format!("{}/staff/enrol#{token}", services.public_url),
        account,
        expires_at,
    })
}

/// The staff accounts (officers and administrators), for an administrator; the listing is
/// audited.
pub async fn list(services: &Services, admin: &Principal) -> Result<Vec<Account>, StoreError> {
    let staff = services.store.staff().await?;
    let event = audit::event(
        &admin.account.id,
        "admin.staff_listed",
        &admin.account.id,
        json!({ "role": admin.role }),
    );
    services.store.append_audit(&event).await?;
    Ok(staff)
}

/// Redeems an invitation token: the staff account, if the token is valid and unused.
pub async fn redeem(services: &Services, token: &str) -> Result<Option<Account>, StoreError> {
    let event = audit::event(audit::ANONYMOUS, "staff.invitation_redeemed", "", json!({}));
    let Some(account_id) = services
        .store
        .redeem_invitation(
            &secrets::token_hash(token),
            crate::platform::clock::now(),
            &event,
        )
        .await?
    else {
        return Ok(None);
    };
    services.store.account(&account_id).await
}

//! The typed values of the schema's columns: roles, a citizen's status, assurance levels,
//! credential statuses and lists of credential configuration ids. The store reads and writes
//! them and the domain decides on them; each is stored exactly as before (the same text or
//! integer), so decoding is where an unknown stored value is caught, not a comparison later.

use serde::{Serialize, Serializer};
use sqlx::{Database, Decode, Encode, Type, encode::IsNull, error::BoxDynError};

/// An enum stored as one of a fixed set of words: its spelling, and the sqlx traits that
/// read and write it as that text on either engine (as `str` does, so a `TEXT` column).
macro_rules! text_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $text:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
        }

        impl $name {
            /// Every value.
            pub const ALL: [Self; [$($text),+].len()] = [$(Self::$variant),+];

            /// The stored (and serialised) spelling.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $( Self::$variant => $text, )+
                }
            }

            /// Parses the stored spelling.
            pub fn parse(text: &str) -> Option<Self> {
                match text {
                    $( $text => Some(Self::$variant), )+
                    _ => None,
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<DB: Database> Type<DB> for $name
        where
            str: Type<DB>,
        {
            fn type_info() -> DB::TypeInfo {
                <str as Type<DB>>::type_info()
            }

            fn compatible(ty: &DB::TypeInfo) -> bool {
                <str as Type<DB>>::compatible(ty)
            }
        }

        impl<'q, DB: Database> Encode<'q, DB> for $name
        where
            &'q str: Encode<'q, DB>,
        {
            fn encode_by_ref(&self, buf: &mut DB::ArgumentBuffer) -> Result<IsNull, BoxDynError> {
                <&'q str as Encode<'q, DB>>::encode_by_ref(&self.as_str(), buf)
            }
        }

        impl<'r, DB: Database> Decode<'r, DB> for $name
        where
            &'r str: Decode<'r, DB>,
        {
            fn decode(value: DB::ValueRef<'r>) -> Result<Self, BoxDynError> {
                let text = <&'r str as Decode<'r, DB>>::decode(value)?;
                Self::parse(text)
                    .ok_or_else(|| format!("unknown {} `{text}`", stringify!($name)).into())
            }
        }
    };
}

text_enum! {
    /// What an account is (`accounts.role`).
    pub enum AccountRole {
        /// A citizen, enrolled with a code sent to a registered phone.
        Citizen = "citizen",
        /// A police officer (staff).
        Officer = "officer",
        /// An administrator (staff).
        Admin = "admin",
    }
}

text_enum! {
    /// What a session may do (`sessions.role`): an account's role once signed in with a
    /// passkey, or one of the two narrow roles of a session that has no passkey behind it.
    pub enum SessionRole {
        /// Only complete the one passkey registration it is bound to: the account's first
        /// passkey, after an enrolment code, a recovery code for an account never set up, or a
        /// staff invitation.
        Setup = "setup",
        /// A citizen signed in with a passkey.
        Citizen = "citizen",
        /// A police officer signed in with a passkey.
        Officer = "officer",
        /// An administrator signed in with a passkey.
        Admin = "admin",
        /// Only act on its own account recovery: add evidence, register the passkey that
        /// completes it.
        Recovery = "recovery",
    }
}

impl From<AccountRole> for SessionRole {
    fn from(role: AccountRole) -> Self {
        match role {
            AccountRole::Citizen => Self::Citizen,
            AccountRole::Officer => Self::Officer,
            AccountRole::Admin => Self::Admin,
        }
    }
}

impl SessionRole {
    /// The account role a session of this role acts with, if it is one (not setup, not
    /// recovery).
    pub const fn account_role(self) -> Option<AccountRole> {
        match self {
            Self::Citizen => Some(AccountRole::Citizen),
            Self::Officer => Some(AccountRole::Officer),
            Self::Admin => Some(AccountRole::Admin),
            Self::Setup | Self::Recovery => None,
        }
    }
}

impl AccountRole {
    /// True for officers and administrators.
    pub const fn is_staff(self) -> bool {
        matches!(self, Self::Officer | Self::Admin)
    }
}

text_enum! {
    /// What a relying party is (`relying_parties.kind`): what it may do beyond asking wallets
    /// for credentials (an operator registers SIM subscribers).
    pub enum RelyingPartyKind {
        /// A mobile network operator.
        Telecom = "telecom",
        /// A bank.
        Bank = "bank",
        /// A public service.
        PublicService = "public_service",
        /// Anyone else.
        Other = "other",
    }
}

text_enum! {
    /// Where a SIM binding stands (`subscriptions.state`).
    pub enum SubscriptionState {
        /// Verified; the number counts as the citizen's.
        Active = "active",
        /// The operator reported a device change: the subscriber must be verified again
        /// before the configured deadlines.
        ReverificationRequired = "reverification_required",
        /// Ended (by the operator, or after a dispute).
        Ended = "ended",
    }
}

text_enum! {
    /// How the subscriber of a SIM binding was last verified (`subscriptions.method`).
    pub enum VerificationMethod {
        /// A PID presentation from the citizen's wallet (level 2), re-verified by the server.
        Wallet = "wallet",
        /// ID number, full name and date of birth matched, with the operator's face match.
        FourFields = "four_fields",
    }
}

text_enum! {
    /// The citizen's answer about a number registered to them (`subscriptions.mark`).
    pub enum SubscriptionMark {
        /// The citizen uses this number.
        Mine = "mine",
        /// Not the citizen's: opens a dispute the operator must answer.
        NotMine = "not_mine",
    }
}

text_enum! {
    /// An operator's answer to a dispute (`subscription_disputes.outcome`).
    pub enum DisputeOutcome {
        /// The operator checked and keeps the binding.
        Upheld = "upheld",
        /// The operator ended the binding.
        Ended = "ended",
    }
}

text_enum! {
    /// A citizen's status in the population registry (`citizens.status`).
    pub enum CitizenStatus {
        /// Alive: may enrol and hold credentials.
        Living = "living",
        /// Registered as deceased: the account is closed.
        Deceased = "deceased",
    }
}

/// An account's identity assurance level (`accounts.assurance_level`, stored as 1 or 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, sqlx::Type)]
#[repr(i64)]
pub enum AssuranceLevel {
    /// Level 1: the registry's record matched and a code reached a registered phone.
    One = 1,
    /// Level 2: the identity card's chip was checked, or an officer vouched in person.
    Two = 2,
}

impl AssuranceLevel {
    /// The stored (and serialised) number.
    pub const fn as_i64(self) -> i64 {
        self as i64
    }
}

impl Serialize for AssuranceLevel {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_i64(self.as_i64())
    }
}

/// A credential copy's status (`credentials.status`): the values of the Token Status List
/// (draft-ietf-oauth-status-list §7.1), stored as those numbers and published as them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, sqlx::Type)]
#[repr(i64)]
pub enum CredentialStatus {
    /// `VALID`.
    Valid = 0,
    /// `INVALID`: revoked, for good.
    Invalid = 1,
    /// `SUSPENDED`: may be reinstated.
    Suspended = 2,
}

impl CredentialStatus {
    /// The status list's value.
    pub const fn as_u8(self) -> u8 {
        self as u8
    }

    /// The stored number.
    pub const fn as_i64(self) -> i64 {
        self as i64
    }
}

/// Credential configuration ids of an offer or an authorization request, decoded once from
/// the stored JSON array of strings (`configuration_ids` columns).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConfigurationIds(pub Vec<String>);

impl ConfigurationIds {
    /// The stored form: a compact JSON array of strings.
    pub fn to_text(&self) -> String {
        // Serialising a list of strings cannot fail; the fallback keeps this total.
        serde_json::to_string(&self.0).unwrap_or_else(|_| "[]".to_owned())
    }
}

impl std::ops::Deref for ConfigurationIds {
    type Target = [String];

    fn deref(&self) -> &[String] {
        &self.0
    }
}

impl From<Vec<String>> for ConfigurationIds {
    fn from(ids: Vec<String>) -> Self {
        Self(ids)
    }
}

impl<DB: Database> Type<DB> for ConfigurationIds
where
    str: Type<DB>,
{
    fn type_info() -> DB::TypeInfo {
        <str as Type<DB>>::type_info()
    }

    fn compatible(ty: &DB::TypeInfo) -> bool {
        <str as Type<DB>>::compatible(ty)
    }
}

impl<'q, DB: Database> Encode<'q, DB> for ConfigurationIds
where
    String: Encode<'q, DB>,
{
    fn encode_by_ref(&self, buf: &mut DB::ArgumentBuffer) -> Result<IsNull, BoxDynError> {
        <String as Encode<'q, DB>>::encode(serde_json::to_string(&self.0)?, buf)
    }
}

impl<'r, DB: Database> Decode<'r, DB> for ConfigurationIds
where
    &'r str: Decode<'r, DB>,
{
    fn decode(value: DB::ValueRef<'r>) -> Result<Self, BoxDynError> {
        let text = <&'r str as Decode<'r, DB>>::decode(value)?;
        Ok(Self(serde_json::from_str(text)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_round_trip() {
        for role in SessionRole::ALL {
            assert_eq!(SessionRole::parse(role.as_str()), Some(role));
        }
        for role in AccountRole::ALL {
            assert_eq!(SessionRole::from(role).as_str(), role.as_str());
        }
        assert_eq!(
            CitizenStatus::parse("deceased"),
            Some(CitizenStatus::Deceased)
        );
        assert_eq!(CitizenStatus::parse("Living"), None);
    }

    #[test]
    fn serialised_as_stored() {
        let value = serde_json::json!({
            "role": AccountRole::Officer,
            "level": AssuranceLevel::Two,
            "status": CitizenStatus::Living,
        });
        assert_eq!(value["role"], "officer");
        assert_eq!(value["level"], 2);
        assert_eq!(value["status"], "living");
        let ids = ConfigurationIds(vec!["pid".into(), "driving_licence".into()]);
        assert_eq!(ids.to_text(), serde_json::json!(ids.0).to_string());
        assert!(AssuranceLevel::Two > AssuranceLevel::One);
    }
}

//! Storage: one repository API over SQLite (the embedded default) and PostgreSQL.
//!
//! The queries are written once, one module per part of the schema in `sql/`, and compiled twice:
//! once inside each engine's module (`sqlite.rs`, `postgres.rs`), each with its own `Db` type
//! (ADR 0004). The few statements that differ (bulk import, batch lookup, the group commit's
//! statements) live in the engine files. [`Store`] dispatches to the
//! backend the database URL selects.
//!
//! Every write that is a security event appends its audit entry in the same transaction, so
//! an action and its record commit together or not at all.

// Each module of `sql/` is compiled twice on purpose, once inside each engine's module with that
// engine's `Db` type: the text of a query is written once and type-checked per engine (ADR 0004).
#![allow(clippy::duplicate_mod)]

mod audit_chain;
mod connect;
mod error;
mod import;
mod migrate;
mod postgres;
mod rows;
mod sqlite;
mod types;

pub use self::{
    audit_chain::{AUDIT_CHAINS, GENESIS, anchor_hash, chain_of, entry_hash, hex},
    error::StoreError,
    import::RegistryImport,
    rows::*,
    types::{
        AccountRole, AssuranceLevel, CitizenStatus, ConfigurationIds, CredentialStatus,
        RelyingPartyKind, SessionRole,
    },
};

/// Which database engine a [`Store`] runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite in WAL mode, the embedded default.
    Sqlite,
    /// PostgreSQL, for production.
    Postgres,
}

#[derive(Clone)]
enum Pool {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

/// The repository: a cheap-to-clone handle on a connection pool.
#[derive(Clone)]
pub struct Store {
    pool: Pool,
    /// The group-commit writer of issuances.
    writer: GroupWriter,
}

/// What the group writer did: groups committed, issuances in them, and the time spent.
#[derive(Debug, Default)]
pub struct GroupStats {
    /// Transactions committed.
    pub groups: std::sync::atomic::AtomicU64,
    /// Issuances in them.
    pub issuances: std::sync::atomic::AtomicU64,
    /// Time spent writing and committing, microseconds.
    pub busy_micros: std::sync::atomic::AtomicU64,
}

#[derive(Clone)]
enum GroupWriter {
    Sqlite(std::sync::Arc<sqlite::GroupCommit>),
    Postgres(std::sync::Arc<postgres::GroupCommit>),
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend())
            .finish()
    }
}

/// Calls the backend function of the same name with the pool in front of the arguments.
macro_rules! dispatch {
    ($self:ident . $f:ident ( $($arg:expr),* $(,)? )) => {
        match &$self.pool {
            Pool::Sqlite(pool) => sqlite::$f(pool, $($arg),*).await,
            Pool::Postgres(pool) => postgres::$f(pool, $($arg),*).await,
        }
    };
}

/// Writes `Store` methods that only hand their arguments to the engine function of the same name
/// (with [`dispatch!`]): each signature is written once, as `fn name(&self, args) -> T;`, and
/// becomes `pub async fn name(&self, args) -> Result<T, StoreError>`.
macro_rules! dispatched {
    ($(
        $(#[$meta:meta])*
        fn $name:ident(&self $(, $arg:ident: $ty:ty)* $(,)?) -> $ret:ty;
    )*) => {
        impl Store {
            $(
                $(#[$meta])*
                pub async fn $name(&self $(, $arg: $ty)*) -> Result<$ret, StoreError> {
                    dispatch!(self.$name($($arg),*))
                }
            )*
        }
    };
}

impl Store {
    /// The engine behind this store.
    pub fn backend(&self) -> Backend {
        match self.pool {
            Pool::Sqlite(_) => Backend::Sqlite,
            Pool::Postgres(_) => Backend::Postgres,
        }
    }

    /// Closes the pool, waiting for connections in use to be returned.
    pub async fn close(&self) {
        match &self.pool {
            Pool::Sqlite(pool) => pool.close().await,
            Pool::Postgres(pool) => pool.close().await,
        }
    }

    /// Starts an import: rows are staged, then merged by [`RegistryImport::commit`] in the same
    /// transaction; dropping the import without committing leaves the registry untouched.
    pub async fn begin_import(&self) -> Result<RegistryImport, StoreError> {
        Ok(match &self.pool {
            Pool::Sqlite(pool) => RegistryImport::Sqlite(sqlite::Import::begin(pool).await?),
            Pool::Postgres(pool) => RegistryImport::Postgres(postgres::Import::begin(pool).await?),
        })
    }

    /// The group writer's counters (issuances are written in groups, one commit each).
    pub fn group_stats(&self) -> &GroupStats {
        match &self.writer {
            GroupWriter::Sqlite(writer) => writer.stats(),
            GroupWriter::Postgres(writer) => writer.stats(),
        }
    }

    /// What a credential request needs to know, in one read: the account with its registry
    /// record, the devices (revoked ones included) whose key has one of `thumbprints`, and
    /// whether the access token's `grant` digest is used up already (so a spent token is
    /// refused before any signing; the group commit's claim stays the real check).
    pub async fn issuance_context(
        &self,
        account_id: &str,
        thumbprints: &[String],
        grant: &[u8],
    ) -> Result<Option<(IssuanceAccount, Vec<DeviceKey>, bool)>, StoreError> {
        let row: Option<IssuanceContextRow> =
            dispatch!(self.issuance_context(account_id, thumbprints, grant))?;
        row.map(|row| {
            let devices = serde_json::from_str(&row.devices)
                .map_err(|_| StoreError::Corrupt("devices of an issuance context"))?;
            Ok((row.account, devices, row.grant_used))
        })
        .transpose()
    }

    /// Records an issuance: the access token's use (refused with [`StoreError::GrantUsed`] when
    /// it was used already), nonces and DPoP proof used (refused with [`StoreError::Conflict`]
    /// when one was used already), the copies issued, and the audit event. A refused issuance
    /// uses nothing up.
    pub async fn record_issuance(
        &self,
        issuance: &Issuance,
        audit: &AuditEvent,
    ) -> Result<(), StoreError> {
        match &self.writer {
            GroupWriter::Sqlite(writer) => writer.record_issuance(issuance, audit).await,
            GroupWriter::Postgres(writer) => writer.record_issuance(issuance, audit).await,
        }
    }
}

dispatched! {
    /// Applies the migrations this build carries that the database lacks. Safe to run from
    /// several processes at once.
    fn migrate(&self) -> Vec<i64>;

    /// Runs a trivial statement: is the database reachable?
    fn ping(&self) -> ();

    // --- Population registry -------------------------------------------------------------

    /// One citizen by ID number.
    fn citizen(&self, id_number: &str) -> Option<Citizen>;

    /// Many citizens by ID number, in one statement (ID numbers not found are absent).
    fn citizens(&self, id_numbers: &[String]) -> Vec<Citizen>;

    /// How many citizens the registry holds.
    fn citizen_count(&self) -> i64;

    /// What re-imports changed in one citizen's record, oldest first.
    fn registry_changes(&self, id_number: &str) -> Vec<RegistryChange>;

    // --- Accounts ----------------------------------------------------------------------------

    /// An account by its id.
    fn account(&self, id: &str) -> Option<Account>;

    /// The citizen account of an ID number, if one was created.
    fn account_by_id_number(&self, id_number: &str) -> Option<Account>;

    /// The account a WebAuthn user handle belongs to.
    fn account_by_webauthn_user(&self, user: &str) -> Option<Account>;

    /// Consumes an enrolment and, when `create`, creates its citizen account in the same
    /// transaction (a code completes at most one enrolment). [`StoreError::Conflict`] when the
    /// enrolment was consumed already.
    fn complete_enrolment(
        &self,
        account: &Account,
        create: bool,
        enrolment_id: &str,
        now: i64,
        audit: &AuditEvent,
    ) -> ();

    /// Creates an account directly (the development shortcut `dev level2`; enrolment and staff
    /// invitations have their own paths).
    fn create_account(&self, account: &Account, audit: &AuditEvent) -> ();

    /// Creates a staff account and its one-time invitation (stored hashed).
    fn create_staff_account(
        &self,
        account: &Account,
        invitation_hash: &[u8],
        expires_at: i64,
        audit: &AuditEvent,
    ) -> ();

    /// Consumes a staff invitation: the account it was for, if it was valid and unused.
    fn redeem_invitation(&self, token_hash: &[u8], now: i64, audit: &AuditEvent) -> Option<String>;

    /// Staff accounts (officers and admins).
    fn staff(&self) -> Vec<Account>;

    // --- Enrolment -----------------------------------------------------------------------

    /// Records an enrolment request and its hashed code.
    fn insert_enrolment(&self, enrolment: &Enrolment, audit: &AuditEvent) -> ();

    /// Counts one attempt at an enrolment's code and returns the enrolment if it is still
    /// open (unconsumed, unexpired) and the attempt is within `max_attempts`.
    fn enrolment_attempt(
        &self,
        id: &str,
        purpose: &str,
        now: i64,
        max_attempts: i64,
    ) -> Option<Enrolment>;

    // --- Recovery ------------------------------------------------------------------------

    /// Consumes a recovery code's row and opens the recovery, with its audit entry, in one
    /// transaction. [`StoreError::Conflict`] when the code was consumed already.
    fn open_recovery(&self, recovery: &Recovery, audit: &AuditEvent) -> ();

    /// A recovery by id.
    fn recovery(&self, id: &str) -> Option<Recovery>;

    /// Records stronger evidence on an open recovery (not completed, not expired); false when
    /// there is no such recovery.
    fn strengthen_recovery(&self, recovery: &Recovery, now: i64, audit: &AuditEvent) -> bool;

    /// Completes a recovery in one transaction: the recovery is closed (once), `decide` is given
    /// what the store finds (evidence, account state, passkeys and devices still active) and
    /// its consequences are applied, and `passkey` is stored. Returns the facts and the decision.
    /// [`StoreError::Conflict`] when the recovery is completed, expired or unknown.
    fn complete_recovery(
        &self,
        recovery_id: &str,
        passkey: &StoredPasskey,
        now: i64,
        decide: RecoveryDecision<'_>,
    ) -> (RecoveryFacts, Consequences);

    /// Ends every live session of an account.
    fn end_sessions(&self, account_id: &str, now: i64) -> ();

    /// Binds a recovery session to the passkey ceremony it may complete (replacing the last).
    fn bind_session_ceremony(&self, token_hash: &[u8], ceremony_id: &str) -> ();

    // --- Relying parties ----------------------------------------------------------------

    /// Registers a relying party (its `status_index` is allocated here: the next index of the
    /// registrations' status list, returned), with its audit entry. A client id held by a party
    /// not revoked, or a serial or key certified before, is [`StoreError::Conflict`].
    fn insert_relying_party(&self, party: &RelyingPartyRow, audit: &AuditEvent) -> i64;

    /// A relying party by id.
    fn relying_party(&self, id: &str) -> Option<RelyingPartyRow>;

    /// The relying party holding a client id: the one not revoked, else the last revoked.
    fn relying_party_by_client_id(&self, client_id: &str) -> Option<RelyingPartyRow>;

    /// Every relying party, revoked ones included, by status index.
    fn relying_parties(&self) -> Vec<RelyingPartyRow>;

    /// Revokes a relying party, with its audit entry; false when it is unknown or revoked.
    fn revoke_relying_party(&self, id: &str, now: i64, reason: &str, audit: &AuditEvent) -> bool;

    /// The relying-party CRL with the highest number, if any was made.
    fn latest_rp_crl(&self) -> Option<RpCrlRow>;

    /// Records a new relying-party CRL; false when another process recorded its number first.
    fn insert_rp_crl(&self, crl: &RpCrlRow) -> bool;

    /// The newest version of the trust bundle, if any.
    fn latest_trust_bundle_version(&self) -> Option<TrustBundleVersionRow>;

    /// Records a new version of the trust bundle; false when another process recorded that
    /// version first.
    fn insert_trust_bundle_version(&self, version: &TrustBundleVersionRow) -> bool;

    /// Adds one hit to a fixed-window counter and returns the hits in the current window.
    fn hit_rate_limit(&self, key: &str, now: i64, window: i64) -> i64;

    // --- WebAuthn ceremonies ---------------------------------------------------------------

    /// Takes `amount` from the allowance of `key` in the current window of `window` seconds,
    /// unless that would exceed `limit`: the hits of the window after taking, or `None` (nothing
    /// taken) when over.
    fn take_allowance(
        &self,
        key: &str,
        now: i64,
        window: i64,
        amount: i64,
        limit: i64,
    ) -> Option<i64>;

    /// The account ids of those `id_numbers` that have an account: `(id_number, account id)`.
    fn account_ids_by_id_numbers(&self, id_numbers: &[String]) -> Vec<(String, String)>;

    /// Stores a ceremony's server-side state until `expires_at`.
    fn put_ceremony(&self, ceremony: &Ceremony) -> ();

    /// Takes (deletes and returns) a ceremony: at most one caller ever gets it.
    fn take_ceremony(&self, id: &str, kind: &str, now: i64) -> Option<Ceremony>;

    // --- Passkeys --------------------------------------------------------------------------

    /// Adds a passkey to an account.
    fn insert_passkey(&self, passkey: &StoredPasskey, audit: &AuditEvent) -> ();

    /// An account's passkeys, revoked ones included.
    fn passkeys(&self, account_id: &str) -> Vec<StoredPasskey>;

    /// The passkey with this WebAuthn credential id.
    fn passkey_by_credential(&self, credential_id: &[u8]) -> Option<StoredPasskey>;

    /// Records a successful sign-in with a passkey (new credential state, counter, flags), unless
    /// it was revoked meanwhile.
    fn record_passkey_use(&self, passkey: &StoredPasskey, now: i64) -> bool;

    /// Revokes one of an account's passkeys; false if there was no such active passkey.
    fn revoke_passkey(
        &self,
        account_id: &str,
        passkey_id: &str,
        now: i64,
        audit: &AuditEvent,
    ) -> bool;

    // --- Sessions --------------------------------------------------------------------------

    /// Stores a session by the hash of its token.
    fn insert_session(&self, session: &Session, audit: &AuditEvent) -> ();

    /// The live session with this token hash and its account, in one statement (every
    /// authenticated request asks).
    fn session(&self, token_hash: &[u8], now: i64) -> Option<(Session, Account)>;

    /// Ends a session.
    fn revoke_session(&self, token_hash: &[u8], now: i64) -> ();

    // --- Devices ---------------------------------------------------------------------------

    /// Registers a device holder key.
    fn insert_device(&self, device: &Device, audit: &AuditEvent) -> ();

    /// An account's devices, revoked ones included.
    fn devices(&self, account_id: &str) -> Vec<Device>;

    /// Revokes one of an account's devices and applies `consequences` in the same transaction;
    /// false (nothing written) if there was no such active device.
    fn revoke_device(
        &self,
        account_id: &str,
        device_id: &str,
        now: i64,
        consequences: &Consequences,
    ) -> bool;

    // --- Signing certificates ----------------------------------------------------------

    /// Records an issued signing certificate and its audit entry, if the account is still an
    /// open level-2 account and the device it names (if any) still active; false (nothing
    /// written) otherwise. A key certified before is refused by the unique index
    /// ([`StoreError::is_unique_violation`]).
    fn insert_signing_certificate(
        &self,
        certificate: &SigningCertificate,
        audit: &AuditEvent,
    ) -> bool;

    /// An account's signing certificates, revoked ones included, oldest first.
    fn signing_certificates(&self, account_id: &str) -> Vec<SigningCertificate>;

    /// One signing certificate by id.
    fn signing_certificate(&self, id: &str) -> Option<SigningCertificate>;

    /// The revocation state of the certificate with this serial (lowercase hex), if we issued
    /// it.
    fn signing_status(&self, serial: &str) -> Option<SigningStatus>;

    /// Revokes one certificate at `now` with the `CRLReason` code `reason`, moving the CRL's
    /// version, with `audit`, in one transaction; `None` when there is no such certificate or
    /// it is revoked already.
    fn revoke_signing_certificate(
        &self,
        id: &str,
        reason: i64,
        now: i64,
        audit: &AuditEvent,
    ) -> Option<SigningCertificate>;

    /// The CRL's state.
    fn signing_crl_state(&self) -> SigningCrlState;

    /// Every revoked signing certificate (the CRL's entries).
    fn revoked_signing_certificates(&self) -> Vec<RevokedSerial>;

    /// Stores a CRL with `number` built from `version`, if the stored number is still
    /// `previous`; false when another process stored one first.
    fn store_signing_crl(
        &self,
        previous: i64,
        number: i64,
        version: i64,
        crl: &[u8],
        this_update: i64,
        next_update: i64,
    ) -> bool;

    // --- Audit -----------------------------------------------------------------------------

    /// Appends one event to the audit log.
    fn append_audit(&self, audit: &AuditEvent) -> ();

    /// Appends many events in one transaction, chained in memory and written with multi-row
    /// statements (a fixed few statements per chain, whatever their number).
    fn append_audit_batch(&self, events: &[AuditEvent]) -> ();

    /// The events about one subject, newest first.
    fn history(&self, subject: &str, limit: i64) -> Vec<AuditEntry>;

    /// The entries of one chain from `after_seq` on (exclusive), in order, at most `limit`.
    fn audit_chain(&self, chain: i64, after_seq: i64, limit: i64) -> Vec<AuditEntry>;

    /// The recorded head (last sequence number and hash) of every chain.
    fn audit_heads(&self) -> Vec<AuditHead>;

    /// One entry of a chain.
    fn audit_entry(&self, chain: i64, seq: i64) -> Option<AuditEntry>;

    /// Records the current heads of all chains as a new anchor, unless nothing was appended
    /// since the last one. Returns the new anchor, if any.
    fn anchor_audit(&self, now: i64) -> Option<AuditAnchor>;

    /// Every anchor, oldest first.
    fn audit_anchors(&self) -> Vec<AuditAnchor>;

    // --- Issuance ----------------------------------------------------------------------------

    /// A citizen account with its registry record, for issuance.
    fn issuance_account(&self, account_id: &str) -> Option<IssuanceAccount>;

    /// The registry's documents (driving licence, ...) of one citizen.
    fn registry_documents(&self, id_number: &str) -> Vec<RegistryDocument>;

    /// Raises an open level-1 citizen account to level 2, recording who approved it and on
    /// what evidence. False when the account is not an open level-1 citizen account.
    fn set_level2(
        &self,
        account_id: &str,
        approved_by: &str,
        evidence: &str,
        now: i64,
        audit: &AuditEvent,
    ) -> bool;

    /// Records a credential offer.
    fn insert_offer(&self, offer: &Offer, audit: &AuditEvent) -> ();

    /// The live (unredeemed, unexpired) offer with this pre-authorized code digest.
    fn offer_by_code(&self, code_hash: &[u8], now: i64) -> Option<Offer>;

    /// Counts one transaction-code attempt at the live offer with this pre-authorized code
    /// digest, in one statement, and returns the offer as counted; `None` when there is no such
    /// offer or its `max_attempts` are used up (the code must then not be compared).
    fn tx_code_attempt(&self, code_hash: &[u8], now: i64, max_attempts: i64) -> Option<Offer>;

    /// Ends an unredeemed offer (it can no longer be redeemed) and audits it; false when it was
    /// redeemed or ended already.
    fn end_offer(&self, offer_id: &str, now: i64, audit: &AuditEvent) -> bool;

    /// Redeems an offer: true for the one caller that does.
    fn redeem_offer(&self, offer_id: &str, now: i64, audit: &AuditEvent) -> bool;

    /// Offers made for an account (by a lifecycle event) that wait for the citizen to collect.
    fn pending_offers(&self, account_id: &str, now: i64) -> Vec<Offer>;

    /// Gives a pending offer its codes; false if it was collected or ended meanwhile.
    fn activate_offer(
        &self,
        offer_id: &str,
        code_hash: &[u8],
        tx_code_hash: Option<&[u8]>,
        expires_at: i64,
    ) -> bool;

    /// Reserves `count` consecutive positions of a status list's permutation counter (opening
    /// a new list when the current one is full; the block may then be shorter).
    fn reserve_status_indexes(&self, bits: i64, size: i64, count: i64) -> StatusBlock;

    /// Every credential copy issued to an account.
    fn account_credentials(&self, account_id: &str) -> Vec<CredentialRecord>;

    /// One credential copy by its status-list position.
    fn credential(&self, list_id: i64, idx: i64) -> Option<CredentialRecord>;

    /// Sets the status of the copies `scope` selects (revoked is final) and audits it when
    /// something changed. Returns how many copies changed.
    fn set_credential_status(
        &self,
        scope: &CredentialScope,
        status: CredentialStatus,
        audit: &AuditEvent,
    ) -> u64;

    /// A status list's row (with its cached token).
    fn status_list(&self, list_id: i64) -> Option<StatusListRow>;

    /// The entries of a list that are not valid: `(idx, status)`.
    fn status_entries(&self, list_id: i64) -> Vec<(i64, CredentialStatus)>;

    /// Caches a signed token for a list's `version` (never over a newer one).
    fn save_status_token(&self, list_id: i64, token: &str, version: i64, exp: i64) -> ();

    /// Takes level 2 away from an account and applies `consequences`, in one transaction. False
    /// (nothing written) when the account was not at level 2.
    fn withdraw_level2(&self, account_id: &str, consequences: &Consequences, now: i64) -> bool;

    /// Closes an account and applies `consequences`, in one transaction. False (nothing written)
    /// when it was closed already.
    fn close_account(&self, account_id: &str, consequences: &Consequences, now: i64) -> bool;

    // --- Level-2 proofing ----------------------------------------------------------------------

    /// Records a level-2 request with its portrait. A second pending request of the same
    /// account meets a unique index ([`StoreError::is_unique_violation`]).
    fn insert_proofing_request(
        &self,
        request: &ProofingRequest,
        portrait: &[u8],
        audit: &AuditEvent,
    ) -> ();

    /// One request.
    fn proofing_request(&self, id: &str) -> Option<ProofingRequest>;

    /// An account's latest request.
    fn latest_proofing_request(&self, account_id: &str) -> Option<ProofingRequest>;

    /// Pending requests, oldest first.
    fn pending_proofing_requests(&self, limit: i64) -> Vec<ProofingRequest>;

    /// The portrait of a pending request.
    fn proofing_portrait(&self, id: &str) -> Option<Vec<u8>>;

    /// Decides a pending request (erasing its portrait); approval raises the account to level 2
    /// with `evidence`. False when the request was not pending.
    fn decide_proofing_request(
        &self,
        id: &str,
        approve: bool,
        officer_id: &str,
        reason: Option<&str>,
        evidence: &str,
        audit: &AuditEvent,
    ) -> bool;

    // --- Authorization code flow ------------------------------------------------------------

    /// Stores a pushed authorization request under the digest of its handle.
    fn insert_authorization_request(
        &self,
        handle_hash: &[u8],
        request: &AuthorizationRequest,
    ) -> ();

    /// A pushed request still waiting for the citizen's approval.
    fn authorization_request(&self, handle_hash: &[u8], now: i64) -> Option<AuthorizationRequest>;

    /// Records the citizen's approval and the code it yields; false when the request is gone,
    /// expired or approved already.
    fn approve_authorization(
        &self,
        handle_hash: &[u8],
        account_id: &str,
        code_hash: &[u8],
        code_expires_at: i64,
        audit: &AuditEvent,
    ) -> bool;

    /// Redeems an authorization code (once): the request it was issued for.
    fn redeem_authorization_code(&self, code_hash: &[u8], now: i64) -> Option<AuthorizationRequest>;

    /// Marks a digest (of a nonce or DPoP proof) used until `expires_at`; false if it was.
    fn use_once(&self, digest: &[u8], expires_at: i64) -> bool;

    /// Deletes expired ceremonies, enrolments, sessions and rate-limit windows.
    fn prune_expired(&self, now: i64) -> u64;
}

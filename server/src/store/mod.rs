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

pub use self::{
    audit_chain::{AUDIT_CHAINS, GENESIS, anchor_hash, chain_of, entry_hash, hex},
    error::StoreError,
    import::RegistryImport,
    rows::*,
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

impl Store {
    /// The engine behind this store.
    pub fn backend(&self) -> Backend {
        match self.pool {
            Pool::Sqlite(_) => Backend::Sqlite,
            Pool::Postgres(_) => Backend::Postgres,
        }
    }

    /// Applies the migrations this build carries that the database lacks. Safe to run from
    /// several processes at once.
    pub async fn migrate(&self) -> Result<Vec<i64>, StoreError> {
        dispatch!(self.migrate())
    }

    /// Closes the pool, waiting for connections in use to be returned.
    pub async fn close(&self) {
        match &self.pool {
            Pool::Sqlite(pool) => pool.close().await,
            Pool::Postgres(pool) => pool.close().await,
        }
    }

    /// Runs a trivial statement: is the database reachable?
    pub async fn ping(&self) -> Result<(), StoreError> {
        dispatch!(self.ping())
    }

    // --- Population registry -------------------------------------------------------------

    /// One citizen by ID number.
    pub async fn citizen(&self, id_number: &str) -> Result<Option<Citizen>, StoreError> {
        dispatch!(self.citizen(id_number))
    }

    /// Many citizens by ID number, in one statement (ID numbers not found are absent).
    pub async fn citizens(&self, id_numbers: &[String]) -> Result<Vec<Citizen>, StoreError> {
        dispatch!(self.citizens(id_numbers))
    }

    /// How many citizens the registry holds.
    pub async fn citizen_count(&self) -> Result<i64, StoreError> {
        dispatch!(self.citizen_count())
    }

    /// Starts an import: rows are staged, then merged by [`RegistryImport::commit`] in the same
    /// transaction; dropping the import without committing leaves the registry untouched.
    pub async fn begin_import(&self) -> Result<RegistryImport, StoreError> {
        Ok(match &self.pool {
            Pool::Sqlite(pool) => RegistryImport::Sqlite(sqlite::Import::begin(pool).await?),
            Pool::Postgres(pool) => RegistryImport::Postgres(postgres::Import::begin(pool).await?),
        })
    }

    /// What re-imports changed in one citizen's record, oldest first.
    pub async fn registry_changes(
        &self,
        id_number: &str,
    ) -> Result<Vec<RegistryChange>, StoreError> {
        dispatch!(self.registry_changes(id_number))
    }

    // --- Accounts ----------------------------------------------------------------------------

    /// An account by its id.
    pub async fn account(&self, id: &str) -> Result<Option<Account>, StoreError> {
        dispatch!(self.account(id))
    }

    /// The citizen account of an ID number, if one was created.
    pub async fn account_by_id_number(
        &self,
        id_number: &str,
    ) -> Result<Option<Account>, StoreError> {
        dispatch!(self.account_by_id_number(id_number))
    }

    /// The account a WebAuthn user handle belongs to.
    pub async fn account_by_webauthn_user(
        &self,
        user: &str,
    ) -> Result<Option<Account>, StoreError> {
        dispatch!(self.account_by_webauthn_user(user))
    }

    /// Consumes an enrolment and, when `create`, creates its citizen account in the same
    /// transaction (a code completes at most one enrolment). [`StoreError::Conflict`] when the
    /// enrolment was consumed already.
    pub async fn complete_enrolment(
        &self,
        account: &Account,
        create: bool,
        enrolment_id: &str,
        now: i64,
        audit: &AuditEvent,
    ) -> Result<(), StoreError> {
        dispatch!(self.complete_enrolment(account, create, enrolment_id, now, audit))
    }

    /// Creates an account directly (the development shortcut `dev level2`; enrolment and staff
    /// invitations have their own paths).
    pub async fn create_account(
        &self,
        account: &Account,
        audit: &AuditEvent,
    ) -> Result<(), StoreError> {
        dispatch!(self.create_account(account, audit))
    }

    /// Creates a staff account and its one-time invitation (stored hashed).
    pub async fn create_staff_account(
        &self,
        account: &Account,
        invitation_hash: &[u8],
        expires_at: i64,
        audit: &AuditEvent,
    ) -> Result<(), StoreError> {
        dispatch!(self.create_staff_account(account, invitation_hash, expires_at, audit))
    }

    /// Consumes a staff invitation: the account it was for, if it was valid and unused.
    pub async fn redeem_invitation(
        &self,
        token_hash: &[u8],
        now: i64,
        audit: &AuditEvent,
    ) -> Result<Option<String>, StoreError> {
        dispatch!(self.redeem_invitation(token_hash, now, audit))
    }

    /// Staff accounts (officers and admins).
    pub async fn staff(&self) -> Result<Vec<Account>, StoreError> {
        dispatch!(self.staff())
    }

    // --- Enrolment -----------------------------------------------------------------------

    /// Records an enrolment request and its hashed code.
    pub async fn insert_enrolment(
        &self,
        enrolment: &Enrolment,
        audit: &AuditEvent,
    ) -> Result<(), StoreError> {
        dispatch!(self.insert_enrolment(enrolment, audit))
    }

    /// Counts one attempt at an enrolment's code and returns the enrolment if it is still
    /// open (unconsumed, unexpired) and the attempt is within `max_attempts`.
    pub async fn enrolment_attempt(
        &self,
        id: &str,
        purpose: &str,
        now: i64,
        max_attempts: i64,
    ) -> Result<Option<Enrolment>, StoreError> {
        dispatch!(self.enrolment_attempt(id, purpose, now, max_attempts))
    }

    // --- Recovery ------------------------------------------------------------------------

    /// Consumes a recovery code's row and opens the recovery, with its audit entry, in one
    /// transaction. [`StoreError::Conflict`] when the code was consumed already.
    pub async fn open_recovery(
        &self,
        recovery: &Recovery,
        audit: &AuditEvent,
    ) -> Result<(), StoreError> {
        dispatch!(self.open_recovery(recovery, audit))
    }

    /// A recovery by id.
    pub async fn recovery(&self, id: &str) -> Result<Option<Recovery>, StoreError> {
        dispatch!(self.recovery(id))
    }

    /// Records stronger evidence on an open recovery (not completed, not expired); false when
    /// there is no such recovery.
    pub async fn strengthen_recovery(
        &self,
        recovery: &Recovery,
        now: i64,
        audit: &AuditEvent,
    ) -> Result<bool, StoreError> {
        dispatch!(self.strengthen_recovery(recovery, now, audit))
    }

    /// Completes a recovery in one transaction: the recovery is closed (once), `decide` is given
    /// what the store finds (evidence, account state, passkeys and devices still active) and
    /// its consequences are applied, and `passkey` is stored. Returns the facts and the decision.
    /// [`StoreError::Conflict`] when the recovery is completed, expired or unknown.
    pub async fn complete_recovery(
        &self,
        recovery_id: &str,
        passkey: &StoredPasskey,
        now: i64,
        decide: RecoveryDecision<'_>,
    ) -> Result<(RecoveryFacts, Consequences), StoreError> {
        dispatch!(self.complete_recovery(recovery_id, passkey, now, decide))
    }

    /// Ends every live session of an account.
    pub async fn end_sessions(&self, account_id: &str, now: i64) -> Result<(), StoreError> {
        dispatch!(self.end_sessions(account_id, now))
    }

    /// Binds a recovery session to the passkey ceremony it may complete (replacing the last).
    pub async fn bind_session_ceremony(
        &self,
        token_hash: &[u8],
        ceremony_id: &str,
    ) -> Result<(), StoreError> {
        dispatch!(self.bind_session_ceremony(token_hash, ceremony_id))
    }

    /// Adds one hit to a fixed-window counter and returns the hits in the current window.
    pub async fn hit_rate_limit(
        &self,
        key: &str,
        now: i64,
        window: i64,
    ) -> Result<i64, StoreError> {
        dispatch!(self.hit_rate_limit(key, now, window))
    }

    // --- WebAuthn ceremonies ---------------------------------------------------------------

    /// Takes `amount` from the allowance of `key` in the current window of `window` seconds,
    /// unless that would exceed `limit`: the hits of the window after taking, or `None` (nothing
    /// taken) when over.
    pub async fn take_allowance(
        &self,
        key: &str,
        now: i64,
        window: i64,
        amount: i64,
        limit: i64,
    ) -> Result<Option<i64>, StoreError> {
        dispatch!(self.take_allowance(key, now, window, amount, limit))
    }

    /// The account ids of those `id_numbers` that have an account: `(id_number, account id)`.
    pub async fn account_ids_by_id_numbers(
        &self,
        id_numbers: &[String],
    ) -> Result<Vec<(String, String)>, StoreError> {
        dispatch!(self.account_ids_by_id_numbers(id_numbers))
    }

    /// Stores a ceremony's server-side state until `expires_at`.
    pub async fn put_ceremony(&self, ceremony: &Ceremony) -> Result<(), StoreError> {
        dispatch!(self.put_ceremony(ceremony))
    }

    /// Takes (deletes and returns) a ceremony: at most one caller ever gets it.
    pub async fn take_ceremony(
        &self,
        id: &str,
        kind: &str,
        now: i64,
    ) -> Result<Option<Ceremony>, StoreError> {
        dispatch!(self.take_ceremony(id, kind, now))
    }

    // --- Passkeys --------------------------------------------------------------------------

    /// Adds a passkey to an account.
    pub async fn insert_passkey(
        &self,
        passkey: &StoredPasskey,
        audit: &AuditEvent,
    ) -> Result<(), StoreError> {
        dispatch!(self.insert_passkey(passkey, audit))
    }

    /// An account's passkeys, revoked ones included.
    pub async fn passkeys(&self, account_id: &str) -> Result<Vec<StoredPasskey>, StoreError> {
        dispatch!(self.passkeys(account_id))
    }

    /// The passkey with this WebAuthn credential id.
    pub async fn passkey_by_credential(
        &self,
        credential_id: &[u8],
    ) -> Result<Option<StoredPasskey>, StoreError> {
        dispatch!(self.passkey_by_credential(credential_id))
    }

    /// Records a successful sign-in with a passkey (new credential state, counter, flags), unless
    /// it was revoked meanwhile.
    pub async fn record_passkey_use(
        &self,
        passkey: &StoredPasskey,
        now: i64,
    ) -> Result<bool, StoreError> {
        dispatch!(self.record_passkey_use(passkey, now))
    }

    /// Revokes one of an account's passkeys; false if there was no such active passkey.
    pub async fn revoke_passkey(
        &self,
        account_id: &str,
        passkey_id: &str,
        now: i64,
        audit: &AuditEvent,
    ) -> Result<bool, StoreError> {
        dispatch!(self.revoke_passkey(account_id, passkey_id, now, audit))
    }

    // --- Sessions --------------------------------------------------------------------------

    /// Stores a session by the hash of its token.
    pub async fn insert_session(
        &self,
        session: &Session,
        audit: &AuditEvent,
    ) -> Result<(), StoreError> {
        dispatch!(self.insert_session(session, audit))
    }

    /// The live session with this token hash and its account, in one statement (every
    /// authenticated request asks).
    pub async fn session(
        &self,
        token_hash: &[u8],
        now: i64,
    ) -> Result<Option<(Session, Account)>, StoreError> {
        dispatch!(self.session(token_hash, now))
    }

    /// Ends a session.
    pub async fn revoke_session(&self, token_hash: &[u8], now: i64) -> Result<(), StoreError> {
        dispatch!(self.revoke_session(token_hash, now))
    }

    // --- Devices ---------------------------------------------------------------------------

    /// Registers a device holder key.
    pub async fn insert_device(
        &self,
        device: &Device,
        audit: &AuditEvent,
    ) -> Result<(), StoreError> {
        dispatch!(self.insert_device(device, audit))
    }

    /// An account's devices, revoked ones included.
    pub async fn devices(&self, account_id: &str) -> Result<Vec<Device>, StoreError> {
        dispatch!(self.devices(account_id))
    }

    /// Revokes one of an account's devices and applies `consequences` in the same transaction;
    /// false (nothing written) if there was no such active device.
    pub async fn revoke_device(
        &self,
        account_id: &str,
        device_id: &str,
        now: i64,
        consequences: &Consequences,
    ) -> Result<bool, StoreError> {
        dispatch!(self.revoke_device(account_id, device_id, now, consequences))
    }

    // --- Audit -----------------------------------------------------------------------------

    /// Appends one event to the audit log.
    pub async fn append_audit(&self, audit: &AuditEvent) -> Result<(), StoreError> {
        dispatch!(self.append_audit(audit))
    }

    /// Appends many events in one transaction, chained in memory and written with multi-row
    /// statements (a fixed few statements per chain, whatever their number).
    pub async fn append_audit_batch(&self, events: &[AuditEvent]) -> Result<(), StoreError> {
        dispatch!(self.append_audit_batch(events))
    }

    /// The events about one subject, newest first.
    pub async fn history(&self, subject: &str, limit: i64) -> Result<Vec<AuditEntry>, StoreError> {
        dispatch!(self.history(subject, limit))
    }

    /// The entries of one chain from `after_seq` on (exclusive), in order, at most `limit`.
    pub async fn audit_chain(
        &self,
        chain: i64,
        after_seq: i64,
        limit: i64,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        dispatch!(self.audit_chain(chain, after_seq, limit))
    }

    /// The recorded head (last sequence number and hash) of every chain.
    pub async fn audit_heads(&self) -> Result<Vec<AuditHead>, StoreError> {
        dispatch!(self.audit_heads())
    }

    /// One entry of a chain.
    pub async fn audit_entry(
        &self,
        chain: i64,
        seq: i64,
    ) -> Result<Option<AuditEntry>, StoreError> {
        dispatch!(self.audit_entry(chain, seq))
    }

    /// Records the current heads of all chains as a new anchor, unless nothing was appended
    /// since the last one. Returns the new anchor, if any.
    pub async fn anchor_audit(&self, now: i64) -> Result<Option<AuditAnchor>, StoreError> {
        dispatch!(self.anchor_audit(now))
    }

    /// Every anchor, oldest first.
    pub async fn audit_anchors(&self) -> Result<Vec<AuditAnchor>, StoreError> {
        dispatch!(self.audit_anchors())
    }

    // --- Issuance ----------------------------------------------------------------------------

    /// The group writer's counters (issuances are written in groups, one commit each).
    pub fn group_stats(&self) -> &GroupStats {
        match &self.writer {
            GroupWriter::Sqlite(writer) => writer.stats(),
            GroupWriter::Postgres(writer) => writer.stats(),
        }
    }

    /// A citizen account with its registry record, for issuance.
    pub async fn issuance_account(
        &self,
        account_id: &str,
    ) -> Result<Option<IssuanceAccount>, StoreError> {
        dispatch!(self.issuance_account(account_id))
    }

    /// What a credential request needs to know, in one read: the account with its registry
    /// record, and the devices (revoked ones included) whose key has one of `thumbprints`.
    pub async fn issuance_context(
        &self,
        account_id: &str,
        thumbprints: &[String],
    ) -> Result<Option<(IssuanceAccount, Vec<DeviceKey>)>, StoreError> {
        let row: Option<IssuanceContextRow> =
            dispatch!(self.issuance_context(account_id, thumbprints))?;
        row.map(|row| {
            let devices = serde_json::from_str(&row.devices)
                .map_err(|_| StoreError::Corrupt("devices of an issuance context"))?;
            Ok((row.account, devices))
        })
        .transpose()
    }

    /// The registry's documents (driving licence, ...) of one citizen.
    pub async fn registry_documents(
        &self,
        id_number: &str,
    ) -> Result<Vec<RegistryDocument>, StoreError> {
        dispatch!(self.registry_documents(id_number))
    }

    /// Raises an open level-1 citizen account to level 2, recording who approved it and on
    /// what evidence. False when the account is not an open level-1 citizen account.
    pub async fn set_level2(
        &self,
        account_id: &str,
        approved_by: &str,
        evidence: &str,
        now: i64,
        audit: &AuditEvent,
    ) -> Result<bool, StoreError> {
        dispatch!(self.set_level2(account_id, approved_by, evidence, now, audit))
    }

    /// Records a credential offer.
    pub async fn insert_offer(&self, offer: &Offer, audit: &AuditEvent) -> Result<(), StoreError> {
        dispatch!(self.insert_offer(offer, audit))
    }

    /// The live (unredeemed, unexpired) offer with this pre-authorized code digest.
    pub async fn offer_by_code(
        &self,
        code_hash: &[u8],
        now: i64,
    ) -> Result<Option<Offer>, StoreError> {
        dispatch!(self.offer_by_code(code_hash, now))
    }

    /// Counts one transaction-code attempt at the live offer with this pre-authorized code
    /// digest, in one statement, and returns the offer as counted; `None` when there is no such
    /// offer or its `max_attempts` are used up (the code must then not be compared).
    pub async fn tx_code_attempt(
        &self,
        code_hash: &[u8],
        now: i64,
        max_attempts: i64,
    ) -> Result<Option<Offer>, StoreError> {
        dispatch!(self.tx_code_attempt(code_hash, now, max_attempts))
    }

    /// Ends an unredeemed offer (it can no longer be redeemed) and audits it; false when it was
    /// redeemed or ended already.
    pub async fn end_offer(
        &self,
        offer_id: &str,
        now: i64,
        audit: &AuditEvent,
    ) -> Result<bool, StoreError> {
        dispatch!(self.end_offer(offer_id, now, audit))
    }

    /// Redeems an offer: true for the one caller that does.
    pub async fn redeem_offer(
        &self,
        offer_id: &str,
        now: i64,
        audit: &AuditEvent,
    ) -> Result<bool, StoreError> {
        dispatch!(self.redeem_offer(offer_id, now, audit))
    }

    /// Offers made for an account (by a lifecycle event) that wait for the citizen to collect.
    pub async fn pending_offers(
        &self,
        account_id: &str,
        now: i64,
    ) -> Result<Vec<Offer>, StoreError> {
        dispatch!(self.pending_offers(account_id, now))
    }

    /// Gives a pending offer its codes; false if it was collected or ended meanwhile.
    pub async fn activate_offer(
        &self,
        offer_id: &str,
        code_hash: &[u8],
        tx_code_hash: Option<&[u8]>,
        expires_at: i64,
    ) -> Result<bool, StoreError> {
        dispatch!(self.activate_offer(offer_id, code_hash, tx_code_hash, expires_at))
    }

    /// Reserves `count` consecutive positions of a status list's permutation counter (opening
    /// a new list when the current one is full; the block may then be shorter).
    pub async fn reserve_status_indexes(
        &self,
        bits: i64,
        size: i64,
        count: i64,
    ) -> Result<StatusBlock, StoreError> {
        dispatch!(self.reserve_status_indexes(bits, size, count))
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

    /// Every credential copy issued to an account.
    pub async fn account_credentials(
        &self,
        account_id: &str,
    ) -> Result<Vec<CredentialRecord>, StoreError> {
        dispatch!(self.account_credentials(account_id))
    }

    /// One credential copy by its status-list position.
    pub async fn credential(
        &self,
        list_id: i64,
        idx: i64,
    ) -> Result<Option<CredentialRecord>, StoreError> {
        dispatch!(self.credential(list_id, idx))
    }

    /// Sets the status of the copies `scope` selects (revoked is final) and audits it when
    /// something changed. Returns how many copies changed.
    pub async fn set_credential_status(
        &self,
        scope: &CredentialScope,
        status: i64,
        audit: &AuditEvent,
    ) -> Result<u64, StoreError> {
        dispatch!(self.set_credential_status(scope, status, audit))
    }

    /// A status list's row (with its cached token).
    pub async fn status_list(&self, list_id: i64) -> Result<Option<StatusListRow>, StoreError> {
        dispatch!(self.status_list(list_id))
    }

    /// The entries of a list that are not valid: `(idx, status)`.
    pub async fn status_entries(&self, list_id: i64) -> Result<Vec<(i64, i64)>, StoreError> {
        dispatch!(self.status_entries(list_id))
    }

    /// Caches a signed token for a list's `version` (never over a newer one).
    pub async fn save_status_token(
        &self,
        list_id: i64,
        token: &str,
        version: i64,
        exp: i64,
    ) -> Result<(), StoreError> {
        dispatch!(self.save_status_token(list_id, token, version, exp))
    }

    /// Takes level 2 away from an account and applies `consequences`, in one transaction. False
    /// (nothing written) when the account was not at level 2.
    pub async fn withdraw_level2(
        &self,
        account_id: &str,
        consequences: &Consequences,
        now: i64,
    ) -> Result<bool, StoreError> {
        dispatch!(self.withdraw_level2(account_id, consequences, now))
    }

    /// Closes an account and applies `consequences`, in one transaction. False (nothing written)
    /// when it was closed already.
    pub async fn close_account(
        &self,
        account_id: &str,
        consequences: &Consequences,
        now: i64,
    ) -> Result<bool, StoreError> {
        dispatch!(self.close_account(account_id, consequences, now))
    }

    // --- Level-2 proofing ----------------------------------------------------------------------

    /// Records a level-2 request with its portrait. A second pending request of the same
    /// account meets a unique index ([`StoreError::is_unique_violation`]).
    pub async fn insert_proofing_request(
        &self,
        request: &ProofingRequest,
        portrait: &[u8],
        audit: &AuditEvent,
    ) -> Result<(), StoreError> {
        dispatch!(self.insert_proofing_request(request, portrait, audit))
    }

    /// One request.
    pub async fn proofing_request(&self, id: &str) -> Result<Option<ProofingRequest>, StoreError> {
        dispatch!(self.proofing_request(id))
    }

    /// An account's latest request.
    pub async fn latest_proofing_request(
        &self,
        account_id: &str,
    ) -> Result<Option<ProofingRequest>, StoreError> {
        dispatch!(self.latest_proofing_request(account_id))
    }

    /// Pending requests, oldest first.
    pub async fn pending_proofing_requests(
        &self,
        limit: i64,
    ) -> Result<Vec<ProofingRequest>, StoreError> {
        dispatch!(self.pending_proofing_requests(limit))
    }

    /// The portrait of a pending request.
    pub async fn proofing_portrait(&self, id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        dispatch!(self.proofing_portrait(id))
    }

    /// Decides a pending request (erasing its portrait); approval raises the account to level 2
    /// with `evidence`. False when the request was not pending.
    #[allow(clippy::too_many_arguments)]
    pub async fn decide_proofing_request(
        &self,
        id: &str,
        approve: bool,
        officer_id: &str,
        reason: Option<&str>,
        evidence: &str,
        audit: &AuditEvent,
    ) -> Result<bool, StoreError> {
        dispatch!(self.decide_proofing_request(id, approve, officer_id, reason, evidence, audit))
    }

    // --- Authorization code flow ------------------------------------------------------------

    /// Stores a pushed authorization request under the digest of its handle.
    pub async fn insert_authorization_request(
        &self,
        handle_hash: &[u8],
        request: &AuthorizationRequest,
    ) -> Result<(), StoreError> {
        dispatch!(self.insert_authorization_request(handle_hash, request))
    }

    /// A pushed request still waiting for the citizen's approval.
    pub async fn authorization_request(
        &self,
        handle_hash: &[u8],
        now: i64,
    ) -> Result<Option<AuthorizationRequest>, StoreError> {
        dispatch!(self.authorization_request(handle_hash, now))
    }

    /// Records the citizen's approval and the code it yields; false when the request is gone,
    /// expired or approved already.
    pub async fn approve_authorization(
        &self,
        handle_hash: &[u8],
        account_id: &str,
        code_hash: &[u8],
        code_expires_at: i64,
        audit: &AuditEvent,
    ) -> Result<bool, StoreError> {
        dispatch!(self.approve_authorization(
            handle_hash,
            account_id,
            code_hash,
            code_expires_at,
            audit
        ))
    }

    /// Redeems an authorization code (once): the request it was issued for.
    pub async fn redeem_authorization_code(
        &self,
        code_hash: &[u8],
        now: i64,
    ) -> Result<Option<AuthorizationRequest>, StoreError> {
        dispatch!(self.redeem_authorization_code(code_hash, now))
    }

    /// Marks a digest (of a nonce or DPoP proof) used until `expires_at`; false if it was.
    pub async fn use_once(&self, digest: &[u8], expires_at: i64) -> Result<bool, StoreError> {
        dispatch!(self.use_once(digest, expires_at))
    }

    /// Deletes expired ceremonies, enrolments, sessions and rate-limit windows.
    pub async fn prune_expired(&self, now: i64) -> Result<u64, StoreError> {
        dispatch!(self.prune_expired(now))
    }
}

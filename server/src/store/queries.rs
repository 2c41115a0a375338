// The statements both backends share. Included by `sqlite.rs` and `postgres.rs`, each of which
// defines `Db` (the sqlx database type) and `begin_write` (a transaction that will write)
// before including this file. `$N` placeholders work on both engines.

use super::{
    Account, AuditAnchor, AuditEntry, AuditEvent, AuditHead, AuthorizationRequest, Ceremony,
    Citizen, CredentialRecord, CredentialScope, Device, Enrolment, IssuanceAccount, LiveSession,
    Offer, ProofingRequest, RegistryChange, RegistryDocument, Session, StatusBlock, StatusListRow,
    StoreError, StoredPasskey, anchor_hash, chain_of, entry_hash, hex,
};

type Pool = sqlx::Pool<Db>;
type Tx = sqlx::Transaction<'static, Db>;

/// Applies the pending migrations of `all` inside the caller's transaction (which holds the
/// backend's migration lock).
async fn apply_migrations(
    conn: &mut <Db as sqlx::Database>::Connection,
    all: &[super::migrate::Migration],
    create_table: &'static str,
) -> Result<Vec<i64>, StoreError> {
    sqlx::query(create_table).execute(&mut *conn).await?;
    let applied: super::migrate::Applied =
        sqlx::query_as("SELECT version, checksum FROM schema_migrations")
            .fetch_all(&mut *conn)
            .await?;
    let mut done = Vec::new();
    for migration in super::migrate::pending(all, &applied)? {
        sqlx::raw_sql(migration.sql).execute(&mut *conn).await?;
        sqlx::query("INSERT INTO schema_migrations VALUES ($1, $2, $3, $4)")
            .bind(migration.version)
            .bind(migration.description)
            .bind(super::migrate::checksum(migration.sql))
            .bind(crate::platform::clock::now())
            .execute(&mut *conn)
            .await?;
        done.push(migration.version);
    }
    Ok(done)
}

pub(super) async fn ping(pool: &Pool) -> Result<(), StoreError> {
    sqlx::query("SELECT 1").execute(pool).await?;
    Ok(())
}

pub(super) async fn citizen(pool: &Pool, id_number: &str) -> Result<Option<Citizen>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT id_number, full_name, date_of_birth, sex, place_of_origin, place_of_residence, status, phones \
         FROM citizens WHERE id_number = $1",
    )
    .bind(id_number)
    .fetch_optional(pool)
    .await?)
}

pub(super) async fn citizen_count(pool: &Pool) -> Result<i64, StoreError> {
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM citizens")
        .fetch_one(pool)
        .await?)
}

pub(super) async fn registry_changes(
    pool: &Pool,
    id_number: &str,
) -> Result<Vec<RegistryChange>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT import_id, changed_fields, previous, changed_at FROM registry_changes \
         WHERE id_number = $1 ORDER BY id",
    )
    .bind(id_number)
    .fetch_all(pool)
    .await?)
}

/// Creates the import's staging table: temporary, so private to the import's connection and
/// gone with it (a crash leaves nothing behind); dropped first in case the pooled connection
/// carries one from an import that failed.
async fn create_staging(conn: &mut <Db as sqlx::Database>::Connection) -> Result<(), StoreError> {
    sqlx::raw_sql(
        "DROP TABLE IF EXISTS registry_staging; \
         CREATE TEMP TABLE registry_staging (id_number TEXT NOT NULL, full_name TEXT NOT NULL, \
           date_of_birth TEXT NOT NULL, sex TEXT NOT NULL, place_of_origin TEXT NOT NULL, \
           place_of_residence TEXT NOT NULL, status TEXT NOT NULL, phones TEXT); \
         DROP TABLE IF EXISTS document_staging; \
         CREATE TEMP TABLE document_staging (line BIGINT NOT NULL, id_number TEXT NOT NULL, \
           kind TEXT NOT NULL, claims TEXT NOT NULL)",
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The statement that records what a re-import changes: for each staged record that differs
/// from the registry's, the names of the changed fields and the previous values as a JSON object
/// (`$object` is the backend's JSON object constructor, `$text` what makes its result text).
macro_rules! changes_sql {
    ($object:literal, $text:literal) => {
        concat!(
            "INSERT INTO registry_changes (import_id, id_number, changed_fields, previous, changed_at) \
             SELECT $1, c.id_number, \
               rtrim(CASE WHEN c.full_name <> s.full_name THEN 'full_name,' ELSE '' END \
                 || CASE WHEN c.date_of_birth <> s.date_of_birth THEN 'date_of_birth,' ELSE '' END \
                 || CASE WHEN c.sex <> s.sex THEN 'sex,' ELSE '' END \
                 || CASE WHEN c.place_of_origin <> s.place_of_origin THEN 'place_of_origin,' ELSE '' END \
                 || CASE WHEN c.place_of_residence <> s.place_of_residence THEN 'place_of_residence,' ELSE '' END \
                 || CASE WHEN c.status <> s.status THEN 'status,' ELSE '' END \
                 || CASE WHEN c.phones <> s.phones THEN 'phones,' ELSE '' END, ','), ",
            $object,
            "('full_name', c.full_name, 'date_of_birth', c.date_of_birth, 'sex', c.sex, \
               'place_of_origin', c.place_of_origin, 'place_of_residence', c.place_of_residence, \
               'status', c.status, 'phones', c.phones)",
            $text,
            ", $2 \
             FROM registry_staging s JOIN citizens c ON c.id_number = s.id_number \
             WHERE c.full_name <> s.full_name OR c.date_of_birth <> s.date_of_birth OR c.sex <> s.sex \
               OR c.place_of_origin <> s.place_of_origin OR c.place_of_residence <> s.place_of_residence \
               OR c.status <> s.status OR c.phones <> s.phones"
        )
    };
}

/// The registry upsert of the staged rows that carry `phones` or of those that do not.
macro_rules! upsert_sql {
    ($filter:literal, $phones:literal, $set_phones:literal, $phones_changed:literal) => {
        concat!(
            "INSERT INTO citizens (id_number, full_name, date_of_birth, sex, place_of_origin, place_of_residence, status, phones, updated_at) \
             SELECT id_number, full_name, date_of_birth, sex, place_of_origin, place_of_residence, status, ",
            $phones,
            ", $1 FROM registry_staging WHERE ",
            $filter,
            " ORDER BY id_number \
             ON CONFLICT (id_number) DO UPDATE SET full_name = excluded.full_name, \
               date_of_birth = excluded.date_of_birth, sex = excluded.sex, \
               place_of_origin = excluded.place_of_origin, place_of_residence = excluded.place_of_residence, \
               status = excluded.status, ",
            $set_phones,
            "updated_at = excluded.updated_at \
             WHERE citizens.full_name <> excluded.full_name OR citizens.date_of_birth <> excluded.date_of_birth \
               OR citizens.sex <> excluded.sex OR citizens.place_of_origin <> excluded.place_of_origin \
               OR citizens.place_of_residence <> excluded.place_of_residence OR citizens.status <> excluded.status",
            $phones_changed
        )
    };
}

const UPSERT_WITH_PHONES_SQL: &str = upsert_sql!(
    "phones IS NOT NULL",
    "phones",
    "phones = excluded.phones, ",
    " OR citizens.phones <> excluded.phones"
);
const UPSERT_WITHOUT_PHONES_SQL: &str = upsert_sql!("phones IS NULL", "''", "", "");

/// The registry merge both backends run once the rows are staged in `registry_staging`.
async fn merge_staged(
    conn: &mut <Db as sqlx::Database>::Connection,
    source: &str,
    rejected: i64,
    now: i64,
) -> Result<super::MergeOutcome, StoreError> {
    let accepted: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM registry_staging")
        .fetch_one(&mut *conn)
        .await?;
    let import_id: i64 = sqlx::query_scalar(
        "INSERT INTO registry_imports (source, imported_at, accepted, rejected, inserted, updated, unchanged) \
         VALUES ($1, $2, $3, $4, 0, 0, 0) RETURNING id",
    )
    .bind(source)
    .bind(now)
    .bind(accepted)
    .bind(rejected)
    .fetch_one(&mut *conn)
    .await?;
    let updated = sqlx::query(CHANGES_SQL)
        .bind(import_id)
        .bind(now)
        .execute(&mut *conn)
        .await?
        .rows_affected() as i64;
    // Rows written by the upserts: the new citizens plus the changed ones (unchanged rows are
    // skipped by their WHERE), so no separate pass is needed to count existing records. Rows
    // that carry `phones` replace the registered numbers; rows without the field (a source that
    // does not hold them) leave them as they are: two statements, each writing its own rows.
    let mut written = 0;
    for statement in [UPSERT_WITH_PHONES_SQL, UPSERT_WITHOUT_PHONES_SQL] {
        written += sqlx::query(statement)
            .bind(now)
            .execute(&mut *conn)
            .await?
            .rows_affected() as i64;
    }
    let inserted = written - updated;
    let (documents, orphan_documents) = merge_documents(&mut *conn, import_id, now).await?;
    apply_registry_changes(&mut *conn, import_id, now).await?;
    let counts = super::ImportCounts {
        import_id,
        accepted,
        inserted,
        updated,
        unchanged: accepted - inserted - updated,
        documents_accepted: documents.0,
        documents_written: documents.1,
    };
    sqlx::query(
        "UPDATE registry_imports SET inserted = $1, updated = $2, unchanged = $3 WHERE id = $4",
    )
    .bind(counts.inserted)
    .bind(counts.updated)
    .bind(counts.unchanged)
    .bind(import_id)
    .execute(&mut *conn)
    .await?;
    Ok(super::MergeOutcome {
        counts,
        orphan_documents,
    })
}

// --- Accounts ----------------------------------------------------------------------------------

macro_rules! account_query {
    ($where:literal) => {
        concat!(
            "SELECT id, webauthn_user_id, role, id_number, display_name, phone, assurance_level, created_at \
             FROM accounts WHERE ",
            $where
        )
    };
}

pub(super) async fn account(pool: &Pool, id: &str) -> Result<Option<Account>, StoreError> {
    Ok(sqlx::query_as(account_query!("id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await?)
}

pub(super) async fn account_by_id_number(
    pool: &Pool,
    id_number: &str,
) -> Result<Option<Account>, StoreError> {
    Ok(sqlx::query_as(account_query!("id_number = $1"))
        .bind(id_number)
        .fetch_optional(pool)
        .await?)
}

pub(super) async fn account_by_webauthn_user(
    pool: &Pool,
    user: &str,
) -> Result<Option<Account>, StoreError> {
    Ok(sqlx::query_as(account_query!("webauthn_user_id = $1"))
        .bind(user)
        .fetch_optional(pool)
        .await?)
}

pub(super) async fn staff(pool: &Pool) -> Result<Vec<Account>, StoreError> {
    Ok(
        sqlx::query_as(account_query!("role <> 'citizen' ORDER BY created_at, id"))
            .fetch_all(pool)
            .await?,
    )
}

async fn insert_account(tx: &mut Tx, account: &Account) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO accounts (id, webauthn_user_id, role, id_number, display_name, phone, assurance_level, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&account.id)
    .bind(&account.webauthn_user_id)
    .bind(&account.role)
    .bind(&account.id_number)
    .bind(&account.display_name)
    .bind(&account.phone)
    .bind(account.assurance_level)
    .bind(account.created_at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub(super) async fn complete_enrolment(
    pool: &Pool,
    account: &Account,
    create: bool,
    enrolment_id: &str,
    now: i64,
    audit: &AuditEvent,
) -> Result<(), StoreError> {
    let mut tx = begin_write(pool).await?;
    let consumed =
        sqlx::query("UPDATE enrolments SET consumed_at = $1 WHERE id = $2 AND consumed_at IS NULL")
            .bind(now)
            .bind(enrolment_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
    if consumed != 1 {
        return Err(StoreError::Conflict);
    }
    if create {
        insert_account(&mut tx, account).await?;
    }
    append_in(&mut tx, audit).await?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn create_staff_account(
    pool: &Pool,
    account: &Account,
    invitation_hash: &[u8],
    expires_at: i64,
    audit: &AuditEvent,
) -> Result<(), StoreError> {
    let mut tx = begin_write(pool).await?;
    insert_account(&mut tx, account).await?;
    sqlx::query(
        "INSERT INTO staff_invitations (token_hash, account_id, expires_at) VALUES ($1, $2, $3)",
    )
    .bind(invitation_hash)
    .bind(&account.id)
    .bind(expires_at)
    .execute(&mut *tx)
    .await?;
    append_in(&mut tx, audit).await?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn redeem_invitation(
    pool: &Pool,
    token_hash: &[u8],
    now: i64,
    audit: &AuditEvent,
) -> Result<Option<String>, StoreError> {
    let mut tx = begin_write(pool).await?;
    let account: Option<String> = sqlx::query_scalar(
        "UPDATE staff_invitations SET used_at = $1 \
         WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1 RETURNING account_id",
    )
    .bind(now)
    .bind(token_hash)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(account) = account else {
        return Ok(None);
    };
    let mut audit = audit.clone();
    audit.subject.clone_from(&account);
    append_in(&mut tx, &audit).await?;
    tx.commit().await?;
    Ok(Some(account))
}

// --- Enrolment -----------------------------------------------------------------------------------

pub(super) async fn insert_enrolment(
    pool: &Pool,
    enrolment: &Enrolment,
    audit: &AuditEvent,
) -> Result<(), StoreError> {
    let mut tx = begin_write(pool).await?;
    sqlx::query(
        "INSERT INTO enrolments (id, id_number, phone, code_hash, attempts, created_at, expires_at, purpose) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&enrolment.id)
    .bind(&enrolment.id_number)
    .bind(&enrolment.phone)
    .bind(&enrolment.code_hash)
    .bind(enrolment.attempts)
    .bind(enrolment.created_at)
    .bind(enrolment.expires_at)
    .bind(&enrolment.purpose)
    .execute(&mut *tx)
    .await?;
    append_in(&mut tx, audit).await?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn enrolment_attempt(
    pool: &Pool,
    id: &str,
    purpose: &str,
    now: i64,
    max_attempts: i64,
) -> Result<Option<Enrolment>, StoreError> {
    // The attempt is counted before the code is compared, in one statement: concurrent guesses
    // cannot exceed the limit.
    Ok(sqlx::query_as(
        "UPDATE enrolments SET attempts = attempts + 1 \
         WHERE id = $1 AND purpose = $4 AND consumed_at IS NULL AND expires_at > $2 AND attempts < $3 \
         RETURNING id, id_number, phone, code_hash, attempts, created_at, expires_at, purpose",
    )
    .bind(id)
    .bind(now)
    .bind(max_attempts)
    .bind(purpose)
    .fetch_optional(pool)
    .await?)
}

pub(super) async fn hit_rate_limit(
    pool: &Pool,
    key: &str,
    now: i64,
    window: i64,
) -> Result<i64, StoreError> {
    let window_start = now - now.rem_euclid(window);
    Ok(sqlx::query_scalar(
        "INSERT INTO rate_limits (key, window_start, hits) VALUES ($1, $2, 1) \
         ON CONFLICT (key) DO UPDATE SET \
           hits = CASE WHEN rate_limits.window_start = excluded.window_start THEN rate_limits.hits + 1 ELSE 1 END, \
           window_start = excluded.window_start \
         RETURNING hits",
    )
    .bind(key)
    .bind(window_start)
    .fetch_one(pool)
    .await?)
}

pub(super) async fn take_allowance(
    pool: &Pool,
    key: &str,
    now: i64,
    window: i64,
    amount: i64,
    limit: i64,
) -> Result<Option<i64>, StoreError> {
    let window_start = now - now.rem_euclid(window);
    // Counted and checked in one statement: concurrent requests cannot together pass the
    // limit, and a refused request takes nothing (the row is left as it was).
    Ok(sqlx::query_scalar(
        "INSERT INTO rate_limits (key, window_start, hits) VALUES ($1, $2, $3) \
         ON CONFLICT (key) DO UPDATE SET \
           hits = CASE WHEN rate_limits.window_start = excluded.window_start \
             THEN rate_limits.hits + excluded.hits ELSE excluded.hits END, \
           window_start = excluded.window_start \
         WHERE rate_limits.window_start <> excluded.window_start \
           OR rate_limits.hits + excluded.hits <= $4 \
         RETURNING hits",
    )
    .bind(key)
    .bind(window_start)
    .bind(amount)
    .bind(limit)
    .fetch_optional(pool)
    .await?)
}

// --- Ceremonies ----------------------------------------------------------------------------------

pub(super) async fn put_ceremony(pool: &Pool, ceremony: &Ceremony) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO ceremonies (id, kind, account_id, state, expires_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(&ceremony.id)
        .bind(&ceremony.kind)
        .bind(&ceremony.account_id)
        .bind(&ceremony.state)
        .bind(ceremony.expires_at)
        .execute(pool)
        .await?;
    Ok(())
}

pub(super) async fn take_ceremony(
    pool: &Pool,
    id: &str,
    kind: &str,
    now: i64,
) -> Result<Option<Ceremony>, StoreError> {
    let ceremony: Option<Ceremony> = sqlx::query_as(
        "DELETE FROM ceremonies WHERE id = $1 AND kind = $2 RETURNING id, kind, account_id, state, expires_at",
    )
    .bind(id)
    .bind(kind)
    .fetch_optional(pool)
    .await?;
    Ok(ceremony.filter(|c| c.expires_at > now))
}

// --- Passkeys ------------------------------------------------------------------------------------

macro_rules! passkey_query {
    ($where:literal) => {
        concat!(
            "SELECT id, account_id, credential_id, passkey, name, sign_count, backup_eligible, \
             backup_state, created_at, last_used_at, revoked_at FROM passkeys WHERE ",
            $where
        )
    };
}

pub(super) async fn insert_passkey(
    pool: &Pool,
    passkey: &StoredPasskey,
    audit: &AuditEvent,
) -> Result<(), StoreError> {
    let mut tx = begin_write(pool).await?;
    insert_passkey_in(&mut tx, passkey).await?;
    append_in(&mut tx, audit).await?;
    tx.commit().await?;
    Ok(())
}

async fn insert_passkey_in(
    conn: &mut <Db as sqlx::Database>::Connection,
    passkey: &StoredPasskey,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO passkeys (id, account_id, credential_id, passkey, name, sign_count, backup_eligible, \
         backup_state, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(&passkey.id)
    .bind(&passkey.account_id)
    .bind(&passkey.credential_id)
    .bind(&passkey.passkey)
    .bind(&passkey.name)
    .bind(passkey.sign_count)
    .bind(passkey.backup_eligible)
    .bind(passkey.backup_state)
    .bind(passkey.created_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub(super) async fn passkeys(
    pool: &Pool,
    account_id: &str,
) -> Result<Vec<StoredPasskey>, StoreError> {
    Ok(
        sqlx::query_as(passkey_query!("account_id = $1 ORDER BY created_at, id"))
            .bind(account_id)
            .fetch_all(pool)
            .await?,
    )
}

pub(super) async fn passkey_by_credential(
    pool: &Pool,
    credential_id: &[u8],
) -> Result<Option<StoredPasskey>, StoreError> {
    Ok(sqlx::query_as(passkey_query!("credential_id = $1"))
        .bind(credential_id)
        .fetch_optional(pool)
        .await?)
}

pub(super) async fn record_passkey_use(
    pool: &Pool,
    passkey: &StoredPasskey,
    now: i64,
) -> Result<bool, StoreError> {
    let updated = sqlx::query(
        "UPDATE passkeys SET passkey = $1, sign_count = $2, backup_eligible = $3, backup_state = $4, \
         last_used_at = $5 WHERE id = $6 AND revoked_at IS NULL",
    )
    .bind(&passkey.passkey)
    .bind(passkey.sign_count)
    .bind(passkey.backup_eligible)
    .bind(passkey.backup_state)
    .bind(now)
    .bind(&passkey.id)
    .execute(pool)
    .await?
    .rows_affected();
    Ok(updated == 1)
}

pub(super) async fn revoke_passkey(
    pool: &Pool,
    account_id: &str,
    passkey_id: &str,
    now: i64,
    audit: &AuditEvent,
) -> Result<bool, StoreError> {
    let statement = "UPDATE passkeys SET revoked_at = $1 WHERE id = $2 AND account_id = $3 AND revoked_at IS NULL";
    revoke_owned(pool, statement, account_id, passkey_id, now, audit).await
}

/// Runs `statement` (binding now, the row id, the account id) to revoke one of an account's
/// active rows, and records `audit` with it; false when there was no such row.
async fn revoke_owned(
    pool: &Pool,
    statement: &'static str,
    account_id: &str,
    id: &str,
    now: i64,
    audit: &AuditEvent,
) -> Result<bool, StoreError> {
    let query = sqlx::query(statement).bind(now).bind(id).bind(account_id);
    update_one_audited(pool, query, audit).await
}

/// Runs `update`, which must change exactly one row, and records `audit` in the same
/// transaction; false (nothing written) when it changed none.
async fn update_one_audited<'q>(
    pool: &Pool,
    update: sqlx::query::Query<'q, Db, <Db as sqlx::Database>::Arguments>,
    audit: &AuditEvent,
) -> Result<bool, StoreError> {
    let mut tx = begin_write(pool).await?;
    if update.execute(&mut *tx).await?.rows_affected() != 1 {
        return Ok(false);
    }
    append_in(&mut tx, audit).await?;
    tx.commit().await?;
    Ok(true)
}

// --- Sessions ------------------------------------------------------------------------------------

pub(super) async fn insert_session(
    pool: &Pool,
    session: &Session,
    audit: &AuditEvent,
) -> Result<(), StoreError> {
    let mut tx = begin_write(pool).await?;
    sqlx::query(
        "INSERT INTO sessions (token_hash, account_id, role, created_at, expires_at, ceremony_id, recovery_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
        .bind(&session.token_hash)
        .bind(&session.account_id)
        .bind(&session.role)
        .bind(session.created_at)
        .bind(session.expires_at)
        .bind(&session.ceremony_id)
        .bind(&session.recovery_id)
        .execute(&mut *tx)
        .await?;
    append_in(&mut tx, audit).await?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn session(
    pool: &Pool,
    token_hash: &[u8],
    now: i64,
) -> Result<Option<(Session, Account)>, StoreError> {
    let row: Option<LiveSession> = sqlx::query_as(
        "SELECT s.token_hash, s.role AS session_role, s.created_at AS session_created_at, \
           s.expires_at AS session_expires_at, s.ceremony_id AS session_ceremony_id, \
           s.recovery_id AS session_recovery_id, a.id, a.webauthn_user_id, a.role, a.id_number, \
           a.display_name, a.phone, a.assurance_level, a.created_at \
         FROM sessions s JOIN accounts a ON a.id = s.account_id \
         WHERE s.token_hash = $1 AND s.expires_at > $2 AND s.revoked_at IS NULL \
           AND a.closed_at IS NULL",
    )
    .bind(token_hash)
    .bind(now)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(LiveSession::split))
}

pub(super) async fn revoke_session(
    pool: &Pool,
    token_hash: &[u8],
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE sessions SET revoked_at = $1 WHERE token_hash = $2 AND revoked_at IS NULL")
        .bind(now)
        .bind(token_hash)
        .execute(pool)
        .await?;
    Ok(())
}

pub(super) async fn end_sessions(pool: &Pool, account_id: &str, now: i64) -> Result<(), StoreError> {
    sqlx::query("UPDATE sessions SET revoked_at = $1 WHERE account_id = $2 AND revoked_at IS NULL")
        .bind(now)
        .bind(account_id)
        .execute(pool)
        .await?;
    Ok(())
}

pub(super) async fn bind_session_ceremony(
    pool: &Pool,
    token_hash: &[u8],
    ceremony_id: &str,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE sessions SET ceremony_id = $1 WHERE token_hash = $2")
        .bind(ceremony_id)
        .bind(token_hash)
        .execute(pool)
        .await?;
    Ok(())
}

// --- Recovery ------------------------------------------------------------------------------------

pub(super) async fn open_recovery(
    pool: &Pool,
    recovery: &super::Recovery,
    audit: &AuditEvent,
) -> Result<(), StoreError> {
    let mut tx = begin_write(pool).await?;
    let consumed = sqlx::query(
        "UPDATE enrolments SET consumed_at = $1 WHERE id = $2 AND purpose = 'recovery' AND consumed_at IS NULL",
    )
    .bind(recovery.created_at)
    .bind(&recovery.id)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if consumed != 1 {
        return Err(StoreError::Conflict);
    }
    sqlx::query(
        "INSERT INTO recoveries (id, account_id, evidence, detail, approved_by, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&recovery.id)
    .bind(&recovery.account_id)
    .bind(&recovery.evidence)
    .bind(&recovery.detail)
    .bind(&recovery.approved_by)
    .bind(recovery.created_at)
    .bind(recovery.expires_at)
    .execute(&mut *tx)
    .await?;
    append_in(&mut tx, audit).await?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn recovery(pool: &Pool, id: &str) -> Result<Option<super::Recovery>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT id, account_id, evidence, detail, approved_by, created_at, expires_at, completed_at \
         FROM recoveries WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await?)
}

pub(super) async fn strengthen_recovery(
    pool: &Pool,
    recovery: &super::Recovery,
    now: i64,
    audit: &AuditEvent,
) -> Result<bool, StoreError> {
    let query = sqlx::query(
        "UPDATE recoveries SET evidence = $1, detail = $2, approved_by = $3 \
         WHERE id = $4 AND completed_at IS NULL AND expires_at > $5",
    )
    .bind(&recovery.evidence)
    .bind(&recovery.detail)
    .bind(&recovery.approved_by)
    .bind(&recovery.id)
    .bind(now);
    update_one_audited(pool, query, audit).await
}

pub(super) async fn complete_recovery(
    pool: &Pool,
    recovery_id: &str,
    passkey: &StoredPasskey,
    now: i64,
    audit: &AuditEvent,
) -> Result<super::RecoveryOutcome, StoreError> {
    let mut tx = begin_write(pool).await?;
    // Closing the recovery first makes a second completion (a replay, or two devices racing)
    // find nothing.
    let evidence: Option<(String, String)> = sqlx::query_as(
        "UPDATE recoveries SET completed_at = $1 \
         WHERE id = $2 AND account_id = $3 AND completed_at IS NULL AND expires_at > $1 \
         RETURNING evidence, account_id",
    )
    .bind(now)
    .bind(recovery_id)
    .bind(&passkey.account_id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((evidence, account_id)) = evidence else {
        return Err(StoreError::Conflict);
    };
    let mut outcome = super::RecoveryOutcome::default();
    let mut counts = [0u64; 2];
    for (i, statement) in [
        "UPDATE passkeys SET revoked_at = $1 WHERE account_id = $2 AND revoked_at IS NULL",
        "UPDATE devices SET revoked_at = $1 WHERE account_id = $2 AND revoked_at IS NULL",
        "UPDATE sessions SET revoked_at = $1 WHERE account_id = $2 AND revoked_at IS NULL",
        "UPDATE credential_offers SET redeemed_at = $1 WHERE account_id = $2 AND redeemed_at IS NULL",
    ]
    .into_iter()
    .enumerate()
    {
        let changed = sqlx::query(statement)
            .bind(now)
            .bind(&account_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if let Some(count) = counts.get_mut(i) {
            *count = changed;
        }
    }
    [outcome.passkeys_revoked, outcome.devices_revoked] = counts;
    outcome.credential_kinds = revoke_all_in(&mut tx, &account_id).await?;
    // The code alone proves the phone, which is level-1 evidence: a level-2 account keeps its
    // level only with a fresh chip check or an officer.
    if evidence == "sms_code" {
        sqlx::query(
            "UPDATE accounts SET assurance_level = 1, level2_approved_by = NULL, \
               level2_approved_at = NULL, level2_evidence = NULL \
             WHERE id = $1 AND assurance_level = 2",
        )
        .bind(&account_id)
        .execute(&mut *tx)
        .await?;
    }
    outcome.assurance_level = sqlx::query_scalar("SELECT assurance_level FROM accounts WHERE id = $1")
        .bind(&account_id)
        .fetch_one(&mut *tx)
        .await?;
    if outcome.assurance_level == 2 && !outcome.credential_kinds.is_empty() {
        let offer = pending_offer(&account_id, &outcome.credential_kinds, "recovery", now);
        insert_offer_in(&mut tx, &offer).await?;
        outcome.offer_id = Some(offer.id);
    }
    insert_passkey_in(&mut tx, passkey).await?;
    let mut audit = audit.clone();
    let mut detail: serde_json::Value =
        serde_json::from_str(&audit.detail).map_err(|_| StoreError::Corrupt("audit detail"))?;
    if let serde_json::Value::Object(detail) = &mut detail {
        detail.insert("evidence".into(), evidence.into());
        detail.insert("passkeys_revoked".into(), outcome.passkeys_revoked.into());
        detail.insert("devices_revoked".into(), outcome.devices_revoked.into());
        detail.insert("credentials_revoked".into(), serde_json::json!(outcome.credential_kinds));
        detail.insert("assurance_level".into(), outcome.assurance_level.into());
        if let Some(offer) = &outcome.offer_id {
            detail.insert("offer".into(), offer.clone().into());
        }
    }
    audit.detail = detail.to_string();
    append_in(&mut tx, &audit).await?;
    tx.commit().await?;
    Ok(outcome)
}

// --- Devices -------------------------------------------------------------------------------------

pub(super) async fn insert_device(
    pool: &Pool,
    device: &Device,
    audit: &AuditEvent,
) -> Result<(), StoreError> {
    let mut tx = begin_write(pool).await?;
    sqlx::query(
        "INSERT INTO devices (id, account_id, name, holder_jwk, thumbprint, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&device.id)
    .bind(&device.account_id)
    .bind(&device.name)
    .bind(&device.holder_jwk)
    .bind(&device.thumbprint)
    .bind(device.created_at)
    .execute(&mut *tx)
    .await?;
    append_in(&mut tx, audit).await?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn devices(pool: &Pool, account_id: &str) -> Result<Vec<Device>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT id, account_id, name, holder_jwk, thumbprint, created_at, revoked_at FROM devices \
         WHERE account_id = $1 ORDER BY created_at, id",
    )
    .bind(account_id)
    .fetch_all(pool)
    .await?)
}

pub(super) async fn revoke_device(
    pool: &Pool,
    account_id: &str,
    device_id: &str,
    now: i64,
    audit: &AuditEvent,
) -> Result<bool, StoreError> {
    let mut tx = begin_write(pool).await?;
    let revoked = sqlx::query(
        "UPDATE devices SET revoked_at = $1 WHERE id = $2 AND account_id = $3 AND revoked_at IS NULL",
    )
    .bind(now)
    .bind(device_id)
    .bind(account_id)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if revoked != 1 {
        return Ok(false);
    }
    // The credentials bound to the device's keys go with it.
    let scope = CredentialScope::Device {
        device_id: device_id.to_owned(),
    };
    set_status_in(&mut tx, &scope, 1).await?;
    append_in(&mut tx, audit).await?;
    tx.commit().await?;
    Ok(true)
}

// --- Audit ---------------------------------------------------------------------------------------

/// Appends an event inside an open write transaction. The head row's update takes the chain's
/// lock (a row lock on PostgreSQL, the write lock on SQLite) until the transaction ends, so
/// entries of one chain are numbered and linked without gaps or forks.
async fn append_in(
    conn: &mut <Db as sqlx::Database>::Connection,
    event: &AuditEvent,
) -> Result<(), StoreError> {
    let chain = chain_of(&event.subject);
    sqlx::query("INSERT INTO audit_heads (chain, seq, head) VALUES ($1, 0, $2) ON CONFLICT (chain) DO NOTHING")
        .bind(chain)
        .bind(&super::GENESIS[..])
        .execute(&mut *conn)
        .await?;
    let (seq, prev): (i64, Vec<u8>) =
        sqlx::query_as("UPDATE audit_heads SET seq = seq + 1 WHERE chain = $1 RETURNING seq, head")
            .bind(chain)
            .fetch_one(&mut *conn)
            .await?;
    let hash = entry_hash(
        &prev,
        chain,
        seq,
        event.at,
        &event.actor,
        &event.action,
        &event.subject,
        &event.detail,
    );
    sqlx::query(
        "INSERT INTO audit_log (chain, seq, at, actor, action, subject, detail, prev_hash, hash) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(chain)
    .bind(seq)
    .bind(event.at)
    .bind(&event.actor)
    .bind(&event.action)
    .bind(&event.subject)
    .bind(&event.detail)
    .bind(&prev)
    .bind(&hash)
    .execute(&mut *conn)
    .await?;
    sqlx::query("UPDATE audit_heads SET head = $1 WHERE chain = $2")
        .bind(&hash)
        .bind(chain)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub(super) async fn append_audit(pool: &Pool, event: &AuditEvent) -> Result<(), StoreError> {
    let mut tx = begin_write(pool).await?;
    append_in(&mut tx, event).await?;
    tx.commit().await?;
    Ok(())
}

/// Most audit entries per multi-row statement: 9 parameters each, under SQLite's 32,766.
const AUDIT_ROWS: usize = 1_000;

pub(super) async fn append_audit_batch(
    pool: &Pool,
    events: &[AuditEvent],
) -> Result<(), StoreError> {
    use std::{collections::BTreeMap, fmt::Write};
    if events.is_empty() {
        return Ok(());
    }
    let mut tx = begin_write(pool).await?;
    // The heads of the chains concerned, locked in chain order (as the group writer does) by an
    // update that changes nothing, which takes the row lock on PostgreSQL and is covered by
    // the write lock on SQLite.
    let mut heads: BTreeMap<i64, (i64, Vec<u8>)> = BTreeMap::new();
    for event in events {
        heads.entry(chain_of(&event.subject)).or_default();
    }
    for (chain, head) in heads.iter_mut() {
        sqlx::query(
            "INSERT INTO audit_heads (chain, seq, head) VALUES ($1, 0, $2) \
             ON CONFLICT (chain) DO NOTHING",
        )
        .bind(*chain)
        .bind(&super::GENESIS[..])
        .execute(&mut *tx)
        .await?;
        *head = sqlx::query_as(
            "UPDATE audit_heads SET seq = seq WHERE chain = $1 RETURNING seq, head",
        )
        .bind(*chain)
        .fetch_one(&mut *tx)
        .await?;
    }
    // The entries, chained in memory, then written a thousand to a statement.
    let mut rows = Vec::with_capacity(events.len());
    for event in events {
        let chain = chain_of(&event.subject);
        let Some((seq, prev)) = heads.get_mut(&chain) else {
            return Err(StoreError::Corrupt("audit head"));
        };
        *seq += 1;
        let hash = entry_hash(
            prev,
            chain,
            *seq,
            event.at,
            &event.actor,
            &event.action,
            &event.subject,
            &event.detail,
        );
        rows.push((chain, *seq, event, std::mem::replace(prev, hash.clone()), hash));
    }
    for chunk in rows.chunks(AUDIT_ROWS) {
        let mut sql = String::from(
            "INSERT INTO audit_log (chain, seq, at, actor, action, subject, detail, prev_hash, hash) VALUES ",
        );
        for row in 0..chunk.len() {
            sql.push_str(if row == 0 { "(" } else { ",(" });
            for column in 0..9 {
                let separator = if column == 0 { "" } else { "," };
                let _ = write!(sql, "{separator}${}", 1 + row * 9 + column);
            }
            sql.push(')');
        }
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for (chain, seq, event, prev, hash) in chunk {
            query = query
                .bind(*chain)
                .bind(*seq)
                .bind(event.at)
                .bind(&event.actor)
                .bind(&event.action)
                .bind(&event.subject)
                .bind(&event.detail)
                .bind(prev)
                .bind(hash);
        }
        query.execute(&mut *tx).await?;
    }
    for (chain, (seq, head)) in &heads {
        sqlx::query("UPDATE audit_heads SET seq = $1, head = $2 WHERE chain = $3")
            .bind(*seq)
            .bind(head)
            .bind(*chain)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(())
}

pub(super) async fn history(
    pool: &Pool,
    subject: &str,
    limit: i64,
) -> Result<Vec<AuditEntry>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT chain, seq, at, actor, action, subject, detail, prev_hash, hash FROM audit_log \
         WHERE subject = $1 ORDER BY at DESC, seq DESC LIMIT $2",
    )
    .bind(subject)
    .bind(limit)
    .fetch_all(pool)
    .await?)
}

pub(super) async fn audit_chain(
    pool: &Pool,
    chain: i64,
    after_seq: i64,
    limit: i64,
) -> Result<Vec<AuditEntry>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT chain, seq, at, actor, action, subject, detail, prev_hash, hash FROM audit_log \
         WHERE chain = $1 AND seq > $2 ORDER BY seq LIMIT $3",
    )
    .bind(chain)
    .bind(after_seq)
    .bind(limit)
    .fetch_all(pool)
    .await?)
}

pub(super) async fn audit_heads(pool: &Pool) -> Result<Vec<AuditHead>, StoreError> {
    Ok(
        sqlx::query_as("SELECT chain, seq, head FROM audit_heads ORDER BY chain")
            .fetch_all(pool)
            .await?,
    )
}

pub(super) async fn audit_entry(
    pool: &Pool,
    chain: i64,
    seq: i64,
) -> Result<Option<AuditEntry>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT chain, seq, at, actor, action, subject, detail, prev_hash, hash FROM audit_log \
         WHERE chain = $1 AND seq = $2",
    )
    .bind(chain)
    .bind(seq)
    .fetch_optional(pool)
    .await?)
}

pub(super) async fn audit_anchors(pool: &Pool) -> Result<Vec<AuditAnchor>, StoreError> {
    Ok(
        sqlx::query_as("SELECT seq, at, heads, prev_hash, hash FROM audit_anchors ORDER BY seq")
            .fetch_all(pool)
            .await?,
    )
}

pub(super) async fn anchor_audit(pool: &Pool, now: i64) -> Result<Option<AuditAnchor>, StoreError> {
    let mut tx = begin_write(pool).await?;
    let heads: Vec<AuditHead> =
        sqlx::query_as("SELECT chain, seq, head FROM audit_heads ORDER BY chain")
            .fetch_all(&mut *tx)
            .await?;
    let heads = serde_json::to_string(
        &heads
            .iter()
            .map(|h| (h.chain, h.seq, hex(&h.head)))
            .collect::<Vec<_>>(),
    )
    .map_err(|_| StoreError::Corrupt("audit heads"))?;
    let last: Option<AuditAnchor> = sqlx::query_as(
        "SELECT seq, at, heads, prev_hash, hash FROM audit_anchors ORDER BY seq DESC LIMIT 1",
    )
    .fetch_optional(&mut *tx)
    .await?;
    if last.as_ref().is_some_and(|a| a.heads == heads) {
        return Ok(None);
    }
    let (seq, prev_hash) = last.map_or((1, super::GENESIS.to_vec()), |a| (a.seq + 1, a.hash));
    let anchor = AuditAnchor {
        seq,
        at: now,
        hash: anchor_hash(&prev_hash, seq, now, &heads),
        heads,
        prev_hash,
    };
    sqlx::query(
        "INSERT INTO audit_anchors (seq, at, heads, prev_hash, hash) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(anchor.seq)
    .bind(anchor.at)
    .bind(&anchor.heads)
    .bind(&anchor.prev_hash)
    .bind(&anchor.hash)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Some(anchor))
}

pub(super) async fn prune_expired(pool: &Pool, now: i64) -> Result<u64, StoreError> {
    let mut pruned = 0;
    for statement in [
        "DELETE FROM ceremonies WHERE expires_at <= $1",
        "DELETE FROM enrolments WHERE expires_at <= $1 - 86400",
        "DELETE FROM sessions WHERE expires_at <= $1 - 86400",
        "DELETE FROM rate_limits WHERE window_start <= $1 - 86400",
        "DELETE FROM used_nonces WHERE expires_at <= $1",
        "DELETE FROM authorization_requests WHERE expires_at <= $1 - 3600",
        "DELETE FROM credential_offers WHERE expires_at <= $1 - 86400",
        "UPDATE proofing_requests SET portrait = NULL WHERE status <> 'pending' AND portrait IS NOT NULL",
    ] {
        pruned += sqlx::query(statement)
            .bind(now)
            .execute(pool)
            .await?
            .rows_affected();
    }
    Ok(pruned)
}

// --- Issuance ------------------------------------------------------------------------------------

/// The account (`$1`) with its registry record; `$extra` adds columns.
macro_rules! issuance_account_sql {
    ($($extra:literal)?) => {
        concat!(
            "SELECT a.id, a.assurance_level, a.closed_at, c.id_number, c.full_name, c.date_of_birth, \
               c.sex, c.place_of_origin, c.place_of_residence, c.status, c.phones",
            $(", ", $extra,)?
            " FROM accounts a JOIN citizens c ON c.id_number = a.id_number \
             WHERE a.id = $1 AND a.role = 'citizen'"
        )
    };
}

pub(super) async fn issuance_account(
    pool: &Pool,
    account_id: &str,
) -> Result<Option<IssuanceAccount>, StoreError> {
    Ok(sqlx::query_as(issuance_account_sql!())
        .bind(account_id)
        .fetch_optional(pool)
        .await?)
}

pub(super) async fn registry_documents(
    pool: &Pool,
    id_number: &str,
) -> Result<Vec<RegistryDocument>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT id_number, kind, claims FROM registry_documents WHERE id_number = $1 ORDER BY kind",
    )
    .bind(id_number)
    .fetch_all(pool)
    .await?)
}

pub(super) async fn set_level2(
    pool: &Pool,
    account_id: &str,
    approved_by: &str,
    evidence: &str,
    now: i64,
    audit: &AuditEvent,
) -> Result<bool, StoreError> {
    let update = sqlx::query(
        "UPDATE accounts SET assurance_level = 2, level2_approved_by = $1, level2_approved_at = $2, \
           level2_evidence = $3 \
         WHERE id = $4 AND role = 'citizen' AND closed_at IS NULL AND assurance_level < 2",
    )
    .bind(approved_by)
    .bind(now)
    .bind(evidence)
    .bind(account_id);
    update_one_audited(pool, update, audit).await
}

const OFFER_COLUMNS: &str = "id, account_id, configuration_ids, code_hash, tx_code_hash, attempts, reason, \
     created_by, created_at, expires_at, redeemed_at";

pub(super) async fn insert_offer(
    pool: &Pool,
    offer: &Offer,
    audit: &AuditEvent,
) -> Result<(), StoreError> {
    let mut tx = begin_write(pool).await?;
    insert_offer_in(&mut tx, offer).await?;
    append_in(&mut tx, audit).await?;
    tx.commit().await?;
    Ok(())
}

async fn insert_offer_in(
    conn: &mut <Db as sqlx::Database>::Connection,
    offer: &Offer,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO credential_offers (id, account_id, configuration_ids, code_hash, tx_code_hash, \
           attempts, reason, created_by, created_at, expires_at, redeemed_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(&offer.id)
    .bind(&offer.account_id)
    .bind(&offer.configuration_ids)
    .bind(&offer.code_hash)
    .bind(&offer.tx_code_hash)
    .bind(offer.attempts)
    .bind(&offer.reason)
    .bind(&offer.created_by)
    .bind(offer.created_at)
    .bind(offer.expires_at)
    .bind(offer.redeemed_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub(super) async fn offer_by_code(
    pool: &Pool,
    code_hash: &[u8],
    now: i64,
) -> Result<Option<Offer>, StoreError> {
    Ok(sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {OFFER_COLUMNS} FROM credential_offers \
         WHERE code_hash = $1 AND redeemed_at IS NULL AND expires_at > $2"
    )))
    .bind(code_hash)
    .bind(now)
    .fetch_optional(pool)
    .await?)
}

pub(super) async fn tx_code_attempt(
    pool: &Pool,
    code_hash: &[u8],
    now: i64,
    max_attempts: i64,
) -> Result<Option<Offer>, StoreError> {
    // The attempt is counted before the code is compared, in one statement: of concurrent
    // guesses at most `max_attempts` get a row back, so no more than that many are compared.
    Ok(sqlx::query_as(AssertSqlSafe(format!(
        "UPDATE credential_offers SET attempts = attempts + 1 \
         WHERE code_hash = $1 AND redeemed_at IS NULL AND expires_at > $2 AND attempts < $3 \
         RETURNING {OFFER_COLUMNS}"
    )))
    .bind(code_hash)
    .bind(now)
    .bind(max_attempts)
    .fetch_optional(pool)
    .await?)
}

pub(super) async fn end_offer(
    pool: &Pool,
    offer_id: &str,
    now: i64,
    audit: &AuditEvent,
) -> Result<bool, StoreError> {
    let update = sqlx::query(
        "UPDATE credential_offers SET redeemed_at = $1 WHERE id = $2 AND redeemed_at IS NULL",
    )
    .bind(now)
    .bind(offer_id);
    update_one_audited(pool, update, audit).await
}

pub(super) async fn redeem_offer(
    pool: &Pool,
    offer_id: &str,
    now: i64,
    audit: &AuditEvent,
) -> Result<bool, StoreError> {
    let update = sqlx::query(
        "UPDATE credential_offers SET redeemed_at = $1 \
         WHERE id = $2 AND redeemed_at IS NULL AND expires_at > $1",
    )
    .bind(now)
    .bind(offer_id);
    update_one_audited(pool, update, audit).await
}

pub(super) async fn pending_offers(
    pool: &Pool,
    account_id: &str,
    now: i64,
) -> Result<Vec<Offer>, StoreError> {
    Ok(sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {OFFER_COLUMNS} FROM credential_offers \
         WHERE account_id = $1 AND code_hash IS NULL AND redeemed_at IS NULL AND expires_at > $2 \
         ORDER BY created_at, id"
    )))
    .bind(account_id)
    .bind(now)
    .fetch_all(pool)
    .await?)
}

pub(super) async fn activate_offer(
    pool: &Pool,
    offer_id: &str,
    code_hash: &[u8],
    tx_code_hash: Option<&[u8]>,
    expires_at: i64,
) -> Result<bool, StoreError> {
    Ok(sqlx::query(
        "UPDATE credential_offers SET code_hash = $1, tx_code_hash = $2, expires_at = $3 \
         WHERE id = $4 AND code_hash IS NULL AND redeemed_at IS NULL",
    )
    .bind(code_hash)
    .bind(tx_code_hash)
    .bind(expires_at)
    .bind(offer_id)
    .execute(pool)
    .await?
    .rows_affected()
        == 1)
}

pub(super) async fn reserve_status_indexes(
    pool: &Pool,
    bits: i64,
    size: i64,
    count: i64,
) -> Result<StatusBlock, StoreError> {
    let mut tx = begin_write(pool).await?;
    let reserved: Option<(i64, i64)> = sqlx::query_as(
        "UPDATE status_lists SET allocated = allocated + $1 \
         WHERE id = (SELECT max(id) FROM status_lists WHERE bits = $2 AND size = $3) \
           AND allocated + $1 <= size \
         RETURNING id, allocated",
    )
    .bind(count)
    .bind(bits)
    .bind(size)
    .fetch_optional(&mut *tx)
    .await?;
    let block = match reserved {
        Some((list_id, allocated)) => StatusBlock {
            list_id,
            first: allocated - count,
            count,
        },
        None => {
            // The current list is full (or there is none): open the next one.
            let list_id: i64 = sqlx::query_scalar(
                "INSERT INTO status_lists (id, bits, size, allocated, version) \
                 SELECT coalesce(max(id), 0) + 1, $1, $2, $3, 0 FROM status_lists RETURNING id",
            )
            .bind(bits)
            .bind(size)
            .bind(count.min(size))
            .fetch_one(&mut *tx)
            .await?;
            StatusBlock {
                list_id,
                first: 0,
                count: count.min(size),
            }
        }
    };
    tx.commit().await?;
    Ok(block)
}

const CREDENTIAL_COLUMNS: &str =
    "list_id, idx, account_id, kind, device_id, status, issued_at, expires_at";

pub(super) async fn account_credentials(
    pool: &Pool,
    account_id: &str,
) -> Result<Vec<CredentialRecord>, StoreError> {
    Ok(sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {CREDENTIAL_COLUMNS} FROM credentials WHERE account_id = $1 \
         ORDER BY issued_at, list_id, idx"
    )))
    .bind(account_id)
    .fetch_all(pool)
    .await?)
}

pub(super) async fn credential(
    pool: &Pool,
    list_id: i64,
    idx: i64,
) -> Result<Option<CredentialRecord>, StoreError> {
    Ok(sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {CREDENTIAL_COLUMNS} FROM credentials WHERE list_id = $1 AND idx = $2"
    )))
    .bind(list_id)
    .bind(idx)
    .fetch_optional(pool)
    .await?)
}

/// Sets the status of the credentials `scope` selects, inside `tx`, and moves the version of
/// every list that changed. Revoked (1) is final; suspended (2) may return to valid (0).
async fn set_status_in(
    tx: &mut <Db as sqlx::Database>::Connection,
    scope: &CredentialScope,
    status: i64,
) -> Result<u64, StoreError> {
    let (filter, first, second) = match scope {
        CredentialScope::Copy { list_id, idx } => (
            "list_id = $2 AND idx = $3",
            ScopeValue::Int(*list_id),
            ScopeValue::Int(*idx),
        ),
        CredentialScope::Account { account_id } => (
            "account_id = $2 AND $3 = $3",
            ScopeValue::Text(account_id.clone()),
            ScopeValue::Int(0),
        ),
        CredentialScope::AccountKind { account_id, kind } => (
            "account_id = $2 AND kind = $3",
            ScopeValue::Text(account_id.clone()),
            ScopeValue::Text(kind.clone()),
        ),
        CredentialScope::Device { device_id } => (
            "device_id = $2 AND $3 = $3",
            ScopeValue::Text(device_id.clone()),
            ScopeValue::Int(0),
        ),
    };
    let sql = format!(
        "UPDATE credentials SET status = $1 WHERE {filter} AND status <> $1 AND status <> 1 \
         RETURNING list_id"
    );
    let mut query = sqlx::query_scalar::<_, i64>(AssertSqlSafe(sql)).bind(status);
    for value in [first, second] {
        query = match value {
            ScopeValue::Int(v) => query.bind(v),
            ScopeValue::Text(v) => query.bind(v),
        };
    }
    let mut lists = query.fetch_all(&mut *tx).await?;
    let changed = lists.len() as u64;
    lists.sort_unstable();
    lists.dedup();
    for list in lists {
        sqlx::query("UPDATE status_lists SET version = version + 1 WHERE id = $1")
            .bind(list)
            .execute(&mut *tx)
            .await?;
    }
    Ok(changed)
}

enum ScopeValue {
    Int(i64),
    Text(String),
}

pub(super) async fn set_credential_status(
    pool: &Pool,
    scope: &CredentialScope,
    status: i64,
    audit: &AuditEvent,
) -> Result<u64, StoreError> {
    let mut tx = begin_write(pool).await?;
    let changed = set_status_in(&mut tx, scope, status).await?;
    if changed > 0 {
        append_in(&mut tx, audit).await?;
    }
    tx.commit().await?;
    Ok(changed)
}

pub(super) async fn status_list(
    pool: &Pool,
    list_id: i64,
) -> Result<Option<StatusListRow>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT id, bits, size, version, token, token_version, token_exp FROM status_lists WHERE id = $1",
    )
    .bind(list_id)
    .fetch_optional(pool)
    .await?)
}

pub(super) async fn status_entries(
    pool: &Pool,
    list_id: i64,
) -> Result<Vec<(i64, i64)>, StoreError> {
    Ok(
        sqlx::query_as("SELECT idx, status FROM credentials WHERE list_id = $1 AND status <> 0")
            .bind(list_id)
            .fetch_all(pool)
            .await?,
    )
}

pub(super) async fn save_status_token(
    pool: &Pool,
    list_id: i64,
    token: &str,
    version: i64,
    exp: i64,
) -> Result<(), StoreError> {
    // A token for an older version never replaces one for a newer version.
    sqlx::query(
        "UPDATE status_lists SET token = $1, token_version = $2, token_exp = $3 \
         WHERE id = $4 AND (token_version IS NULL OR token_version <= $2)",
    )
    .bind(token)
    .bind(version)
    .bind(exp)
    .bind(list_id)
    .execute(pool)
    .await?;
    Ok(())
}

pub(super) async fn use_once(
    pool: &Pool,
    digest: &[u8],
    expires_at: i64,
) -> Result<bool, StoreError> {
    Ok(sqlx::query(
        "INSERT INTO used_nonces (digest, expires_at) VALUES ($1, $2) ON CONFLICT DO NOTHING",
    )
    .bind(digest)
    .bind(expires_at)
    .execute(pool)
    .await?
    .rows_affected()
        == 1)
}

// --- Lifecycle -----------------------------------------------------------------------------------

/// Closes an account (death registered): every credential revoked, devices and sessions ended.
async fn close_account_in(
    conn: &mut <Db as sqlx::Database>::Connection,
    account_id: &str,
    now: i64,
) -> Result<bool, StoreError> {
    let closed =
        sqlx::query("UPDATE accounts SET closed_at = $1 WHERE id = $2 AND closed_at IS NULL")
            .bind(now)
            .bind(account_id)
            .execute(&mut *conn)
            .await?
            .rows_affected();
    if closed != 1 {
        return Ok(false);
    }
    for statement in [
        "UPDATE sessions SET revoked_at = $1 WHERE account_id = $2 AND revoked_at IS NULL",
        "UPDATE devices SET revoked_at = $1 WHERE account_id = $2 AND revoked_at IS NULL",
        "UPDATE credential_offers SET redeemed_at = $1 WHERE account_id = $2 AND redeemed_at IS NULL",
    ] {
        sqlx::query(statement)
            .bind(now)
            .bind(account_id)
            .execute(&mut *conn)
            .await?;
    }
    revoke_all_in(conn, account_id).await?;
    Ok(true)
}

/// Revokes every credential copy of an account; returns the kinds that had valid or suspended
/// copies.
async fn revoke_all_in(
    conn: &mut <Db as sqlx::Database>::Connection,
    account_id: &str,
) -> Result<Vec<String>, StoreError> {
    let changed: Vec<(i64, String)> = sqlx::query_as(
        "UPDATE credentials SET status = 1 WHERE account_id = $1 AND status <> 1 RETURNING list_id, kind",
    )
    .bind(account_id)
    .fetch_all(&mut *conn)
    .await?;
    let mut lists: Vec<i64> = changed.iter().map(|(list, _)| *list).collect();
    lists.sort_unstable();
    lists.dedup();
    for list in lists {
        sqlx::query("UPDATE status_lists SET version = version + 1 WHERE id = $1")
            .bind(list)
            .execute(&mut *conn)
            .await?;
    }
    let mut kinds: Vec<String> = changed.into_iter().map(|(_, kind)| kind).collect();
    kinds.sort();
    kinds.dedup();
    Ok(kinds)
}

/// The lifecycle consequences of an import, in its transaction: a citizen whose record changed
/// has every credential revoked (each carries the old data) and a new offer of the same kinds
/// waiting for them; a citizen now deceased has their account closed.
async fn apply_registry_changes(
    conn: &mut <Db as sqlx::Database>::Connection,
    import_id: i64,
    now: i64,
) -> Result<(), StoreError> {
    let changes: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT a.id, c.status, rc.changed_fields FROM registry_changes rc \
         JOIN accounts a ON a.id_number = rc.id_number \
         JOIN citizens c ON c.id_number = rc.id_number \
         WHERE rc.import_id = $1 AND a.closed_at IS NULL ORDER BY a.id",
    )
    .bind(import_id)
    .fetch_all(&mut *conn)
    .await?;
    let mut accounts: Vec<(String, String, Vec<String>)> = Vec::new();
    for (account, status, fields) in changes {
        match accounts.last_mut() {
            Some((last, _, all)) if *last == account => all.push(fields),
            _ => accounts.push((account, status, vec![fields])),
        }
    }
    for (account_id, status, fields) in accounts {
        if status == "deceased" {
            close_account_in(conn, &account_id, now).await?;
            let event = crate::domain::audit::event(
                crate::domain::audit::OPERATOR,
                "account.closed",
                &account_id,
                serde_json::json!({ "reason": "deceased", "import": import_id }),
            );
            append_in(conn, &event).await?;
            continue;
        }
        let scope = super::affected_kinds(&fields);
        let kinds = revoke_kinds_in(conn, &account_id, &scope).await?;
        if kinds.is_empty() {
            continue;
        }
        let offer = pending_offer(&account_id, &kinds, "reissue", now);
        insert_offer_in(conn, &offer).await?;
        let event = crate::domain::audit::event(
            crate::domain::audit::OPERATOR,
            "credentials.revoked",
            &account_id,
            serde_json::json!({ "reason": "registry data changed", "import": import_id,
                "kinds": kinds, "offer": offer.id }),
        );
        append_in(conn, &event).await?;
    }
    Ok(())
}

/// Revokes an account's copies of the kinds `scope` names (all kinds for `None`); returns the
/// kinds that had copies not yet revoked.
async fn revoke_kinds_in(
    conn: &mut <Db as sqlx::Database>::Connection,
    account_id: &str,
    scope: &Option<Vec<String>>,
) -> Result<Vec<String>, StoreError> {
    match scope {
        None => revoke_all_in(conn, account_id).await,
        Some(kinds) => {
            let mut revoked = Vec::new();
            for kind in kinds {
                let scope = CredentialScope::AccountKind {
                    account_id: account_id.to_owned(),
                    kind: kind.clone(),
                };
                if set_status_in(conn, &scope, 1).await? > 0 {
                    revoked.push(kind.clone());
                }
            }
            Ok(revoked)
        }
    }
}

/// An offer a lifecycle event leaves for the citizen to collect signed in.
fn pending_offer(account_id: &str, kinds: &[String], reason: &str, now: i64) -> Offer {
    Offer {
        id: crate::platform::secrets::id(),
        account_id: account_id.to_owned(),
        configuration_ids: serde_json::json!(kinds).to_string(),
        code_hash: None,
        tx_code_hash: None,
        attempts: 0,
        reason: reason.to_owned(),
        created_by: crate::domain::audit::OPERATOR.to_owned(),
        created_at: now,
        expires_at: now + 30 * 86_400,
        redeemed_at: None,
    }
}

pub(super) async fn withdraw_level2(
    pool: &Pool,
    account_id: &str,
    audit: &AuditEvent,
) -> Result<bool, StoreError> {
    let mut tx = begin_write(pool).await?;
    let changed = sqlx::query(
        "UPDATE accounts SET assurance_level = 1, level2_approved_by = NULL, level2_approved_at = NULL, \
           level2_evidence = NULL WHERE id = $1 AND role = 'citizen' AND assurance_level = 2",
    )
    .bind(account_id)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if changed != 1 {
        return Ok(false);
    }
    revoke_all_in(&mut tx, account_id).await?;
    sqlx::query(
        "UPDATE credential_offers SET redeemed_at = $1 WHERE account_id = $2 AND redeemed_at IS NULL",
    )
    .bind(audit.at)
    .bind(account_id)
    .execute(&mut *tx)
    .await?;
    append_in(&mut tx, audit).await?;
    tx.commit().await?;
    Ok(true)
}

pub(super) async fn close_account(
    pool: &Pool,
    account_id: &str,
    audit: &AuditEvent,
) -> Result<bool, StoreError> {
    let mut tx = begin_write(pool).await?;
    if !close_account_in(&mut tx, account_id, audit.at).await? {
        return Ok(false);
    }
    append_in(&mut tx, audit).await?;
    tx.commit().await?;
    Ok(true)
}

pub(super) async fn create_account(
    pool: &Pool,
    account: &Account,
    audit: &AuditEvent,
) -> Result<(), StoreError> {
    let mut tx = begin_write(pool).await?;
    insert_account(&mut tx, account).await?;
    append_in(&mut tx, audit).await?;
    tx.commit().await?;
    Ok(())
}

/// Merges the staged documents (after the citizens): documents for nobody in the registry are
/// dropped and their lines returned; changed ones are recorded in `registry_changes` as
/// `document:<kind>` with their previous claims. Returns ((staged, written), orphan lines).
async fn merge_documents(
    conn: &mut <Db as sqlx::Database>::Connection,
    import_id: i64,
    now: i64,
) -> Result<((i64, i64), Vec<i64>), StoreError> {
    let orphans: Vec<i64> = sqlx::query_scalar(
        "DELETE FROM document_staging WHERE NOT EXISTS \
           (SELECT 1 FROM citizens c WHERE c.id_number = document_staging.id_number) \
         RETURNING line",
    )
    .fetch_all(&mut *conn)
    .await?;
    let accepted: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM document_staging")
        .fetch_one(&mut *conn)
        .await?;
    sqlx::query(
        "INSERT INTO registry_changes (import_id, id_number, changed_fields, previous, changed_at) \
         SELECT $1, d.id_number, 'document:' || d.kind, r.claims, $2 \
         FROM document_staging d JOIN registry_documents r ON r.id_number = d.id_number AND r.kind = d.kind \
         WHERE r.claims <> d.claims",
    )
    .bind(import_id)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    let written = sqlx::query(
        "INSERT INTO registry_documents (id_number, kind, claims, updated_at) \
         SELECT id_number, kind, claims, $1 FROM document_staging WHERE true \
         ON CONFLICT (id_number, kind) DO UPDATE SET claims = excluded.claims, \
           updated_at = excluded.updated_at \
         WHERE registry_documents.claims <> excluded.claims",
    )
    .bind(now)
    .execute(&mut *conn)
    .await?
    .rows_affected() as i64;
    let mut orphans = orphans;
    orphans.sort_unstable();
    Ok(((accepted, written), orphans))
}

// --- Level-2 proofing ----------------------------------------------------------------------------

const PROOFING_COLUMNS: &str = "id, account_id, status, chip, registry, portrait IS NOT NULL AS has_portrait, \
     submitted_at, decided_by, decided_at, reason";

pub(super) async fn insert_proofing_request(
    pool: &Pool,
    request: &ProofingRequest,
    portrait: &[u8],
    audit: &AuditEvent,
) -> Result<(), StoreError> {
    let mut tx = begin_write(pool).await?;
    sqlx::query(
        "INSERT INTO proofing_requests (id, account_id, status, chip, registry, portrait, submitted_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&request.id)
    .bind(&request.account_id)
    .bind(&request.status)
    .bind(&request.chip)
    .bind(&request.registry)
    .bind(portrait)
    .bind(request.submitted_at)
    .execute(&mut *tx)
    .await?;
    append_in(&mut tx, audit).await?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn proofing_request(
    pool: &Pool,
    id: &str,
) -> Result<Option<ProofingRequest>, StoreError> {
    Ok(sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {PROOFING_COLUMNS} FROM proofing_requests WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(pool)
    .await?)
}

pub(super) async fn latest_proofing_request(
    pool: &Pool,
    account_id: &str,
) -> Result<Option<ProofingRequest>, StoreError> {
    Ok(sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {PROOFING_COLUMNS} FROM proofing_requests WHERE account_id = $1 \
         ORDER BY submitted_at DESC, id DESC LIMIT 1"
    )))
    .bind(account_id)
    .fetch_optional(pool)
    .await?)
}

pub(super) async fn pending_proofing_requests(
    pool: &Pool,
    limit: i64,
) -> Result<Vec<ProofingRequest>, StoreError> {
    Ok(sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {PROOFING_COLUMNS} FROM proofing_requests WHERE status = 'pending' \
         ORDER BY submitted_at, id LIMIT $1"
    )))
    .bind(limit)
    .fetch_all(pool)
    .await?)
}

pub(super) async fn proofing_portrait(
    pool: &Pool,
    id: &str,
) -> Result<Option<Vec<u8>>, StoreError> {
    Ok(sqlx::query_scalar(
        "SELECT portrait FROM proofing_requests WHERE id = $1 AND status = 'pending'",
    )
    .bind(id)
    .fetch_optional(pool)
    .await?
    .flatten())
}

/// Records an officer's decision on a pending request (the portrait is erased with it) and,
/// on approval, raises the account to level 2 with the evidence, in one transaction. False
/// when the request was not pending (decided concurrently).
pub(super) async fn decide_proofing_request(
    pool: &Pool,
    id: &str,
    approve: bool,
    officer_id: &str,
    reason: Option<&str>,
    evidence: &str,
    audit: &AuditEvent,
) -> Result<bool, StoreError> {
    let mut tx = begin_write(pool).await?;
    let account: Option<String> = sqlx::query_scalar(
        "UPDATE proofing_requests SET status = $1, decided_by = $2, decided_at = $3, reason = $4, \
           portrait = NULL \
         WHERE id = $5 AND status = 'pending' RETURNING account_id",
    )
    .bind(if approve { "approved" } else { "rejected" })
    .bind(officer_id)
    .bind(audit.at)
    .bind(reason)
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(account) = account else {
        return Ok(false);
    };
    if approve {
        let raised = sqlx::query(
            "UPDATE accounts SET assurance_level = 2, level2_approved_by = $1, level2_approved_at = $2, \
               level2_evidence = $3 \
             WHERE id = $4 AND role = 'citizen' AND closed_at IS NULL",
        )
        .bind(officer_id)
        .bind(audit.at)
        .bind(evidence)
        .bind(&account)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if raised != 1 {
            return Err(StoreError::Conflict);
        }
    }
    append_in(&mut tx, audit).await?;
    tx.commit().await?;
    Ok(true)
}

// --- Authorization code flow ---------------------------------------------------------------------

const AUTHORIZATION_COLUMNS: &str = "client_id, redirect_uri, code_challenge, dpop_jkt, configuration_ids, \
     state, created_at, expires_at, account_id";

pub(super) async fn insert_authorization_request(
    pool: &Pool,
    handle_hash: &[u8],
    request: &AuthorizationRequest,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO authorization_requests (handle_hash, client_id, redirect_uri, code_challenge, \
           dpop_jkt, configuration_ids, state, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(handle_hash)
    .bind(&request.client_id)
    .bind(&request.redirect_uri)
    .bind(&request.code_challenge)
    .bind(&request.dpop_jkt)
    .bind(&request.configuration_ids)
    .bind(&request.state)
    .bind(request.created_at)
    .bind(request.expires_at)
    .execute(pool)
    .await?;
    Ok(())
}

pub(super) async fn authorization_request(
    pool: &Pool,
    handle_hash: &[u8],
    now: i64,
) -> Result<Option<AuthorizationRequest>, StoreError> {
    Ok(sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {AUTHORIZATION_COLUMNS} FROM authorization_requests \
         WHERE handle_hash = $1 AND expires_at > $2 AND code_hash IS NULL"
    )))
    .bind(handle_hash)
    .bind(now)
    .fetch_optional(pool)
    .await?)
}

pub(super) async fn approve_authorization(
    pool: &Pool,
    handle_hash: &[u8],
    account_id: &str,
    code_hash: &[u8],
    code_expires_at: i64,
    audit: &AuditEvent,
) -> Result<bool, StoreError> {
    let update = sqlx::query(
        "UPDATE authorization_requests SET account_id = $1, code_hash = $2, code_expires_at = $3 \
         WHERE handle_hash = $4 AND code_hash IS NULL AND expires_at > $5",
    )
    .bind(account_id)
    .bind(code_hash)
    .bind(code_expires_at)
    .bind(handle_hash)
    .bind(audit.at);
    update_one_audited(pool, update, audit).await
}

pub(super) async fn redeem_authorization_code(
    pool: &Pool,
    code_hash: &[u8],
    now: i64,
) -> Result<Option<AuthorizationRequest>, StoreError> {
    Ok(sqlx::query_as(AssertSqlSafe(format!(
        "UPDATE authorization_requests SET redeemed_at = $1 \
         WHERE code_hash = $2 AND redeemed_at IS NULL AND code_expires_at > $1 \
         RETURNING {AUTHORIZATION_COLUMNS}"
    )))
    .bind(now)
    .bind(code_hash)
    .fetch_optional(pool)
    .await?)
}

// --- Group commit ------------------------------------------------------------------------------

/// Group commit: credential issuances from concurrent requests are written by one writer, in
/// transactions of up to [`GROUP_MAX`] issuances each, so that one durable commit (one `fsync`)
/// and a fixed number of statements cover them all. An issuance whose nonce was used fails
/// alone, and no caller is answered before the transaction holding its issuance has committed.
///
/// One writer per process on both engines: SQLite has one writer at a time anyway, and on
/// PostgreSQL two writers committing at once contended on rows every group touches (the status
/// list's row, key-share locked by each copy's foreign key, which then needs a multixact; the
/// audit heads) and measured 20-30 % slower than one writer making larger groups.
pub(super) struct GroupCommit {
    sender: tokio::sync::mpsc::Sender<Job>,
    stats: std::sync::Arc<super::GroupStats>,
}

/// Most issuances per group transaction.
const GROUP_MAX: usize = 128;

struct Job {
    issuance: super::Issuance,
    audit: AuditEvent,
    reply: tokio::sync::oneshot::Sender<Result<(), StoreError>>,
}

impl GroupCommit {
    /// Starts the writer on `pool`, on a thread of its own (with its own single-threaded
    /// runtime), so the commits never queue behind the requests' own work for a turn on a
    /// worker thread.
    pub(super) fn start(pool: Pool) -> Self {
        let stats = std::sync::Arc::new(super::GroupStats::default());
        let (sender, receiver) = tokio::sync::mpsc::channel(4 * GROUP_MAX);
        let writer_stats = std::sync::Arc::clone(&stats);
        let spawned = std::thread::Builder::new()
            .name("group-commit".into())
            .spawn(move || {
                match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(runtime) => runtime.block_on(write_groups(pool, receiver, writer_stats)),
                    Err(error) => tracing::error!(%error, "the group writer could not start"),
                }
            });
        if let Err(error) = spawned {
            tracing::error!(%error, "the group writer could not start");
        }
        Self { sender, stats }
    }

    /// Groups and issuances written so far, and the time spent writing them.
    pub(super) fn stats(&self) -> &super::GroupStats {
        &self.stats
    }

    /// Records one issuance; returns once its group has committed.
    pub(super) async fn record_issuance(
        &self,
        issuance: &super::Issuance,
        audit: &AuditEvent,
    ) -> Result<(), StoreError> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let job = Job {
            issuance: issuance.clone(),
            audit: audit.clone(),
            reply,
        };
        self.sender
            .send(job)
            .await
            .map_err(|_| StoreError::Commit("the group writer stopped".into()))?;
        answer
            .await
            .map_err(|_| StoreError::Commit("the group writer stopped".into()))?
    }
}

async fn write_groups(
    pool: Pool,
    mut receiver: tokio::sync::mpsc::Receiver<Job>,
    stats: std::sync::Arc<super::GroupStats>,
) {
    use std::sync::atomic::Ordering::Relaxed;
    // A job that did not fit the previous group opens the next one.
    let mut carried: Option<Job> = None;
    loop {
        let first = match carried.take() {
            Some(job) => job,
            None => match receiver.recv().await {
                Some(job) => job,
                None => break,
            },
        };
        // Up to GROUP_MAX issuances and GROUP_ROWS copies: each of the group's statements then
        // stays within both engines' parameter limits.
        let mut copies = first.issuance.credentials.len();
        let mut jobs = vec![first];
        while jobs.len() < GROUP_MAX {
            let Ok(job) = receiver.try_recv() else {
                break;
            };
            copies += job.issuance.credentials.len();
            if copies > GROUP_ROWS {
                carried = Some(job);
                break;
            }
            jobs.push(job);
        }
        let started = std::time::Instant::now();
        let results = commit_group(&pool, &jobs).await;
        stats.groups.fetch_add(1, Relaxed);
        stats.issuances.fetch_add(jobs.len() as u64, Relaxed);
        stats
            .busy_micros
            .fetch_add(started.elapsed().as_micros() as u64, Relaxed);
        for (job, result) in jobs.into_iter().zip(results) {
            let _ = job.reply.send(result);
        }
    }
}

/// One transaction for `jobs`, in a fixed number of statements whatever their count: the
/// nonces already used are looked up at once, the issuances that would reuse one (or share one
/// with an earlier issuance of the group) are refused, and the rest are written with multi-row
/// statements; their audit entries are chained in memory from the heads read at the start and
/// written together (the chains' head rows are locked first, so appends from elsewhere wait).
/// The results are returned once committed.
async fn commit_group(pool: &Pool, jobs: &[Job]) -> Vec<Result<(), StoreError>> {
    match write_group(pool, jobs).await {
        Ok(results) => results,
        Err(error) => {
            let message = error.to_string();
            jobs.iter()
                .map(|_| Err(StoreError::Commit(message.clone())))
                .collect()
        }
    }
}

async fn write_group(pool: &Pool, jobs: &[Job]) -> Result<Vec<Result<(), StoreError>>, StoreError> {
    use std::collections::{HashMap, HashSet};

    // Nonces, DPoP proofs and access tokens: a digest shared by two issuances of the group goes
    // to the first.
    let mut claimed: HashSet<&[u8]> = HashSet::new();
    let mut candidates: Vec<&Job> = Vec::with_capacity(jobs.len());
    let mut early: Vec<Option<StoreError>> = Vec::with_capacity(jobs.len());
    for job in jobs {
        let grant = job.issuance.grant.as_ref().map(|(d, _)| d.as_slice());
        if grant.is_some_and(|g| claimed.contains(g)) {
            early.push(Some(StoreError::GrantUsed));
            continue;
        }
        let mut own: HashSet<&[u8]> = grant.into_iter().collect();
        let clash = job
            .issuance
            .used
            .iter()
            .any(|(d, _)| claimed.contains(d.as_slice()) || !own.insert(d.as_slice()));
        if clash {
            early.push(Some(StoreError::Conflict));
        } else {
            claimed.extend(own);
            candidates.push(job);
            early.push(None);
        }
    }
    let used: Vec<&(Vec<u8>, i64)> = candidates
        .iter()
        .flat_map(|j| j.issuance.used.iter().chain(&j.issuance.grant))
        .collect();
    let mut chains: Vec<i64> = candidates
        .iter()
        .map(|j| chain_of(&j.audit.subject))
        .collect();
    chains.sort_unstable();
    chains.dedup();

    // The others' nonces are inserted unless present, atomically (`ON CONFLICT DO NOTHING
    // RETURNING`: of two processes' writers inserting the same digest one loses, never both
    // win), and the heads of the audit chains concerned are locked (appends from elsewhere wait).
    let mut tx = begin_write(pool).await?;
    let (inserted, heads) = claim_nonces_and_lock_heads(&mut tx, &used, &chains).await?;
    let mut results = Vec::with_capacity(jobs.len());
    let mut accepted: Vec<&Job> = Vec::with_capacity(jobs.len());
    // What refused issuances claimed is given back: a refused request uses nothing up (its
    // token and nonce stay good for a corrected request).
    let mut released: Vec<&[u8]> = Vec::new();
    for (job, early) in jobs.iter().zip(early) {
        if let Some(error) = early {
            // Not a candidate: nothing was inserted for it.
            results.push(Err(error));
            continue;
        }
        let mut digests = job.issuance.used.iter().chain(&job.issuance.grant);
        let refused = if job
            .issuance
            .grant
            .as_ref()
            .is_some_and(|(d, _)| !inserted.contains(d))
        {
            StoreError::GrantUsed
        } else if digests.all(|(d, _)| inserted.contains(d)) {
            accepted.push(job);
            results.push(Ok(()));
            continue;
        } else {
            StoreError::Conflict
        };
        // A candidate's digests are its own in the group: those inserted were inserted for it.
        released.extend(
            job.issuance
                .used
                .iter()
                .chain(&job.issuance.grant)
                .map(|(d, _)| d.as_slice())
                .filter(|d| inserted.contains(*d)),
        );
        results.push(Err(refused));
    }
    // Rare (a replay or a reused token): one statement per digest is fine.
    for digest in released {
        sqlx::query("DELETE FROM used_nonces WHERE digest = $1")
            .bind(digest)
            .execute(&mut *tx)
            .await?;
    }
    if accepted.is_empty() {
        tx.commit().await?;
        return Ok(results);
    }

    // The audit entries, chained in memory from the current heads.
    let mut heads: HashMap<i64, (i64, Vec<u8>)> = heads
        .into_iter()
        .map(|(chain, seq, head)| (chain, (seq, head)))
        .collect();
    let mut entries = Vec::with_capacity(accepted.len());
    for job in &accepted {
        let event = &job.audit;
        let chain = chain_of(&event.subject);
        let (seq, prev) = heads
            .entry(chain)
            .or_insert_with(|| (0, super::GENESIS.to_vec()));
        *seq += 1;
        let hash = entry_hash(
            prev,
            chain,
            *seq,
            event.at,
            &event.actor,
            &event.action,
            &event.subject,
            &event.detail,
        );
        entries.push(GroupEntry {
            chain,
            seq: *seq,
            event,
            prev: std::mem::replace(prev, hash.clone()),
            hash,
        });
    }
    let mut touched: Vec<(i64, i64, &[u8])> = entries
        .iter()
        .map(|e| e.chain)
        .collect::<HashSet<i64>>()
        .into_iter()
        .map(|chain| (chain, heads[&chain].0, heads[&chain].1.as_slice()))
        .collect();
    touched.sort_unstable_by_key(|(chain, ..)| *chain);
    let credentials: Vec<&super::CredentialRecord> = accepted
        .iter()
        .flat_map(|j| &j.issuance.credentials)
        .collect();
    write_group_rows(&mut tx, &credentials, &entries, &touched).await?;
    tx.commit().await?;
    Ok(results)
}

/// An audit entry of a group, chained.
struct GroupEntry<'a> {
    chain: i64,
    seq: i64,
    event: &'a AuditEvent,
    prev: Vec<u8>,
    hash: Vec<u8>,
}

/// Most credential copies per group: with at most [`GROUP_MAX`] audit entries and heads, a
/// group's largest multi-row statement on SQLite binds under 18,000 parameters (its limit is
/// 32,766; PostgreSQL binds arrays).
const GROUP_ROWS: usize = 2_000;

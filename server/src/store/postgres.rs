//! The PostgreSQL backend (production).

use std::sync::atomic::AtomicBool;

use sqlx::{Postgres, pool::PoolConnection};

use super::{Citizen, MergeOutcome, StagedDocument, StoreError};

type Db = Postgres;

/// Row locks serialise what must be serialised (e.g. an audit chain's head); plain `BEGIN`.
async fn begin_write(pool: &sqlx::Pool<Db>) -> Result<sqlx::Transaction<'static, Db>, StoreError> {
    Ok(pool.begin().await?)
}

type Pool = sqlx::Pool<Db>;
type Tx = sqlx::Transaction<'static, Db>;

// The statements both engines share, one module per part of the schema (ADR 0004).
#[macro_use]
#[path = "sql/registry.rs"]
mod registry;
#[macro_use]
#[path = "sql/accounts.rs"]
mod accounts;
#[macro_use]
#[path = "sql/issuance.rs"]
mod issuance;
#[macro_use]
#[path = "sql/migrations.rs"]
mod migrations;
#[macro_use]
#[path = "sql/enrolment.rs"]
mod enrolment;
#[macro_use]
#[path = "sql/passkeys.rs"]
mod passkeys;
#[macro_use]
#[path = "sql/sessions.rs"]
mod sessions;
#[macro_use]
#[path = "sql/recovery.rs"]
mod recovery;
#[macro_use]
#[path = "sql/devices.rs"]
mod devices;
#[macro_use]
#[path = "sql/audit.rs"]
mod audit;
#[macro_use]
#[path = "sql/status.rs"]
mod status;
#[macro_use]
#[path = "sql/lifecycle.rs"]
mod lifecycle;
#[macro_use]
#[path = "sql/proofing.rs"]
mod proofing;
#[macro_use]
#[path = "sql/authorization.rs"]
mod authorization;
#[macro_use]
#[path = "sql/group_commit.rs"]
mod group_commit;
#[macro_use]
#[path = "sql/relying_parties.rs"]
mod relying_parties;
#[macro_use]
#[path = "sql/signing.rs"]
mod signing;
#[macro_use]
#[path = "sql/telecom.rs"]
mod telecom;

pub(super) use self::{
    accounts::*, audit::*, authorization::*, devices::*, enrolment::*, group_commit::*,
    issuance::*, lifecycle::*, migrations::*, passkeys::*, proofing::*, recovery::*, registry::*,
    relying_parties::*, sessions::*, signing::*, status::*, telecom::*,
};

/// Serialises the write transactions that take `key` (released at commit or rollback): a
/// transaction-scoped advisory lock on it.
async fn lock_key(tx: &mut Tx, key: &str) -> Result<(), StoreError> {
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 7))")
        .bind(key)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Serialises the bindings of one citizen within a write transaction, so that two binds of one
/// citizen cannot both count the same bindings under a limit.
async fn lock_citizen(tx: &mut Tx, id_number: &str) -> Result<(), StoreError> {
    lock_key(tx, &format!("subscriptions:{id_number}")).await
}

pub(super) async fn migrate(pool: &Pool) -> Result<Vec<i64>, StoreError> {
    let mut tx = pool.begin().await?;
    // Several server processes may start at once: one migrates, the others wait, then find
    // nothing left to do.
    sqlx::query("SELECT pg_advisory_xact_lock(7464617368)")
        .execute(&mut *tx)
        .await?;
    let done = apply_migrations(
        &mut tx,
        super::migrate::POSTGRES,
        "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, \
         description TEXT NOT NULL, checksum BYTEA NOT NULL, applied_at BIGINT NOT NULL)",
    )
    .await?;
    tx.commit().await?;
    Ok(done)
}

const CHANGES_SQL: &str = changes_sql!("json_build_object", "::text");

pub(super) async fn citizens(
    pool: &Pool,
    id_numbers: &[String],
) -> Result<Vec<Citizen>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT id_number, full_name, date_of_birth, sex, place_of_origin, place_of_residence, status, phones \
         FROM citizens WHERE id_number = ANY($1)",
    )
    .bind(id_numbers)
    .fetch_all(pool)
    .await?)
}

pub(super) async fn citizen_identities(
    pool: &Pool,
    id_numbers: &[String],
) -> Result<Vec<super::CitizenIdentity>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT id_number, full_name, date_of_birth, status FROM citizens \
         WHERE id_number = ANY($1)",
    )
    .bind(id_numbers)
    .fetch_all(pool)
    .await?)
}

pub(super) async fn account_ids_by_id_numbers(
    pool: &Pool,
    id_numbers: &[String],
) -> Result<Vec<(String, String)>, StoreError> {
    Ok(
        sqlx::query_as("SELECT id_number, id FROM accounts WHERE id_number = ANY($1)")
            .bind(id_numbers)
            .fetch_all(pool)
            .await?,
    )
}

pub(super) async fn issuance_context(
    pool: &Pool,
    account_id: &str,
    thumbprints: &[String],
    grant: &[u8],
) -> Result<Option<super::IssuanceContextRow>, StoreError> {
    Ok(sqlx::query_as(issuance_account_sql!(
        "(SELECT COALESCE(json_agg(json_build_object('id', d.id, 'account_id', d.account_id, \
           'thumbprint', d.thumbprint, 'revoked_at', d.revoked_at)), '[]'::json)::text \
          FROM devices d WHERE d.thumbprint = ANY($2)) AS devices, \
         EXISTS (SELECT 1 FROM used_nonces WHERE digest = $3) AS grant_used"
    ))
    .bind(account_id)
    .bind(thumbprints)
    .bind(grant)
    .fetch_optional(pool)
    .await?)
}

/// A registry import on PostgreSQL: rows are staged in a temporary table (unlogged, private to
/// this connection) with one `UNNEST` statement per batch, then merged in one transaction that
/// takes row locks only.
pub struct Import {
    conn: PoolConnection<Db>,
}

impl Import {
    pub(super) async fn begin(pool: &Pool) -> Result<Self, StoreError> {
        let mut conn = pool.acquire().await?;
        create_staging(&mut conn).await?;
        Ok(Self { conn })
    }

    pub(super) async fn stage(&mut self, batch: &[Citizen]) -> Result<(), StoreError> {
        let column = |f: fn(&Citizen) -> &str| batch.iter().map(f).collect::<Vec<&str>>();
        sqlx::query(
            "INSERT INTO registry_staging SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], \
             $4::text[], $5::text[], $6::text[], $7::text[], $8::text[])",
        )
        .bind(column(|c| &c.id_number))
        .bind(column(|c| &c.full_name))
        .bind(column(|c| &c.date_of_birth))
        .bind(column(|c| &c.sex))
        .bind(column(|c| &c.place_of_origin))
        .bind(column(|c| &c.place_of_residence))
        .bind(column(|c| c.status.as_str()))
        .bind(
            batch
                .iter()
                .map(|c| c.phones.as_deref())
                .collect::<Vec<_>>(),
        )
        .execute(&mut *self.conn)
        .await?;
        Ok(())
    }

    pub(super) async fn stage_documents(
        &mut self,
        batch: &[StagedDocument],
    ) -> Result<(), StoreError> {
        let text = |f: fn(&StagedDocument) -> &str| batch.iter().map(f).collect::<Vec<&str>>();
        sqlx::query(
            "INSERT INTO document_staging SELECT * FROM UNNEST($1::bigint[], $2::text[], $3::text[], $4::text[])",
        )
        .bind(batch.iter().map(|d| d.line).collect::<Vec<i64>>())
        .bind(text(|d| &d.id_number))
        .bind(text(|d| &d.kind))
        .bind(text(|d| &d.claims))
        .execute(&mut *self.conn)
        .await?;
        Ok(())
    }

    pub(super) async fn commit(
        mut self,
        source: &str,
        rejected: i64,
        now: i64,
        decide: super::RegistryDecision<'_>,
        stop: &AtomicBool,
    ) -> Result<Option<MergeOutcome>, StoreError> {
        sqlx::query("ANALYZE registry_staging")
            .execute(&mut *self.conn)
            .await?;
        let counts = {
            let mut tx = sqlx::Connection::begin(&mut *self.conn).await?;
            let counts = merge_staged(&mut tx, source, rejected, now, decide, stop).await?;
            match counts {
                Some(_) => tx.commit().await?,
                None => tx.rollback().await?,
            }
            counts
        };
        sqlx::raw_sql("DROP TABLE registry_staging; DROP TABLE document_staging")
            .execute(&mut *self.conn)
            .await?;
        if counts.is_none() {
            return Ok(None);
        }
        // A bulk load leaves the vacuum of its rows (hint bits, visibility map) and fresh planner
        // statistics to autovacuum, which would then compete with the first requests served.
        // Done here, the import ends with the registry ready to serve at full speed.
        sqlx::raw_sql("VACUUM (ANALYZE) citizens, registry_documents, registry_changes")
            .execute(&mut *self.conn)
            .await?;
        Ok(counts)
    }
}

// --- Group commit: the statements (two round trips: arrays bound to fixed statements) ------------

/// Inserts the nonces that are not yet used, returning those inserted, and locks the audit heads
/// of `chains` until the transaction ends, returning them: one statement, whose text does not
/// depend on the group's size (prepared once per connection).
async fn claim_nonces_and_lock_heads(
    tx: &mut Tx,
    used: &[&(Vec<u8>, i64)],
    chains: &[i64],
) -> Result<(std::collections::HashSet<Vec<u8>>, Vec<(i64, i64, Vec<u8>)>), StoreError> {
    let digests: Vec<&[u8]> = used.iter().map(|(d, _)| d.as_slice()).collect();
    let expiries: Vec<i64> = used.iter().map(|(_, e)| *e).collect();
    let rows: Vec<(Option<i64>, Option<i64>, Vec<u8>)> = sqlx::query_as(
        "WITH n AS (INSERT INTO used_nonces (digest, expires_at) \
             SELECT * FROM UNNEST($1::bytea[], $2::bigint[]) \
             ON CONFLICT DO NOTHING RETURNING digest), \
           h AS (SELECT chain, seq, head FROM audit_heads WHERE chain = ANY($3::bigint[]) \
             ORDER BY chain FOR UPDATE) \
         SELECT NULL::bigint, NULL::bigint, digest FROM n \
         UNION ALL SELECT chain, seq, head FROM h",
    )
    .bind(digests)
    .bind(expiries)
    .bind(chains)
    .fetch_all(&mut **tx)
    .await?;
    let mut inserted = std::collections::HashSet::with_capacity(used.len());
    let mut heads = Vec::new();
    for row in rows {
        match row {
            (Some(chain), Some(seq), head) => heads.push((chain, seq, head)),
            (_, _, digest) => {
                inserted.insert(digest);
            }
        }
    }
    Ok((inserted, heads))
}

/// Writes a group's credentials, audit entries and new audit heads: one statement of fixed text.
async fn write_group_rows(
    tx: &mut Tx,
    credentials: &[&super::CredentialRecord],
    entries: &[GroupEntry<'_>],
    heads: &[(i64, i64, &[u8])],
) -> Result<(), StoreError> {
    fn column<'a, T, U>(rows: &'a [T], f: impl Fn(&'a T) -> U) -> Vec<U> {
        rows.iter().map(f).collect()
    }
    sqlx::query(
        "WITH c AS (INSERT INTO credentials \
             (list_id, idx, account_id, kind, device_id, status, issued_at, expires_at) \
             SELECT * FROM UNNEST($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[], \
               $6::bigint[], $7::bigint[], $8::bigint[])), \
           a AS (INSERT INTO audit_log \
             (chain, seq, at, actor, action, subject, detail, prev_hash, hash) \
             SELECT * FROM UNNEST($9::bigint[], $10::bigint[], $11::bigint[], $12::text[], \
               $13::text[], $14::text[], $15::text[], $16::bytea[], $17::bytea[])) \
         INSERT INTO audit_heads (chain, seq, head) \
         SELECT * FROM UNNEST($18::bigint[], $19::bigint[], $20::bytea[]) \
         ON CONFLICT (chain) DO UPDATE SET seq = excluded.seq, head = excluded.head",
    )
    .bind(column(credentials, |c| c.list_id))
    .bind(column(credentials, |c| c.idx))
    .bind(column(credentials, |c| c.account_id.as_str()))
    .bind(column(credentials, |c| c.kind.as_str()))
    .bind(column(credentials, |c| c.device_id.as_deref()))
    .bind(column(credentials, |c| c.status.as_i64()))
    .bind(column(credentials, |c| c.issued_at))
    .bind(column(credentials, |c| c.expires_at))
    .bind(column(entries, |e| e.chain))
    .bind(column(entries, |e| e.seq))
    .bind(column(entries, |e| e.event.at))
    .bind(column(entries, |e| e.event.actor.as_str()))
    .bind(column(entries, |e| e.event.action.as_str()))
    .bind(column(entries, |e| e.event.subject.as_str()))
    .bind(column(entries, |e| e.event.detail.as_str()))
    .bind(column(entries, |e| e.prev.as_slice()))
    .bind(column(entries, |e| e.hash.as_slice()))
    .bind(column(heads, |h| h.0))
    .bind(column(heads, |h| h.1))
    .bind(column(heads, |h| h.2))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

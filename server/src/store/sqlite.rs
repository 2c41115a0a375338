//! The SQLite backend (WAL; the embedded default).

use std::sync::atomic::AtomicBool;

use sqlx::{AssertSqlSafe, Sqlite, pool::PoolConnection};

use super::{Citizen, MergeOutcome, StagedDocument, StoreError};

type Db = Sqlite;

/// Write transactions start with `BEGIN IMMEDIATE`: they take the write lock up front and wait
/// for it (busy timeout) instead of failing when a read inside them meets a newer commit.
async fn begin_write(pool: &sqlx::Pool<Db>) -> Result<sqlx::Transaction<'static, Db>, StoreError> {
    Ok(pool.begin_with("BEGIN IMMEDIATE").await?)
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

/// Serialises the write transactions that take `key`: nothing to do, a SQLite write
/// transaction (`BEGIN IMMEDIATE`) holds the database's one write lock already.
async fn lock_key(_tx: &mut Tx, _key: &str) -> Result<(), StoreError> {
    Ok(())
}

/// Serialises the bindings of one citizen within a write transaction (see [`lock_key`]).
async fn lock_citizen(tx: &mut Tx, id_number: &str) -> Result<(), StoreError> {
    lock_key(tx, &format!("subscriptions:{id_number}")).await
}

pub(super) async fn migrate(pool: &Pool) -> Result<Vec<i64>, StoreError> {
    let mut tx = begin_write(pool).await?;
    let done = apply_migrations(
        &mut tx,
        super::migrate::SQLITE,
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, \
         description TEXT NOT NULL, checksum BLOB NOT NULL, applied_at INTEGER NOT NULL)",
    )
    .await?;
    tx.commit().await?;
    Ok(done)
}

const CHANGES_SQL: &str = changes_sql!("json_object", "");

pub(super) async fn citizens(
    pool: &Pool,
    id_numbers: &[String],
) -> Result<Vec<Citizen>, StoreError> {
    // One statement whatever the batch size: the ids travel as one JSON array.
    let ids = serde_json::to_string(id_numbers).map_err(|_| StoreError::Corrupt("id list"))?;
    Ok(sqlx::query_as(
        "SELECT id_number, full_name, date_of_birth, sex, place_of_origin, place_of_residence, status, phones \
         FROM citizens WHERE id_number IN (SELECT value FROM json_each($1))",
    )
    .bind(ids)
    .fetch_all(pool)
    .await?)
}

pub(super) async fn citizen_identities(
    pool: &Pool,
    id_numbers: &[String],
) -> Result<Vec<super::CitizenIdentity>, StoreError> {
    // The ids as one JSON array (one statement, one bound value, whatever the batch size); only
    // the columns matching compares.
    let ids = serde_json::to_string(id_numbers).map_err(|_| StoreError::Corrupt("id list"))?;
    Ok(sqlx::query_as(
        "SELECT id_number, full_name, date_of_birth, status FROM citizens \
         WHERE id_number IN (SELECT value FROM json_each($1))",
    )
    .bind(ids)
    .fetch_all(pool)
    .await?)
}

pub(super) async fn account_ids_by_id_numbers(
    pool: &Pool,
    id_numbers: &[String],
) -> Result<Vec<(String, String)>, StoreError> {
    let ids = serde_json::to_string(id_numbers).map_err(|_| StoreError::Corrupt("id list"))?;
    Ok(sqlx::query_as(
        "SELECT id_number, id FROM accounts \
         WHERE id_number IN (SELECT value FROM json_each($1))",
    )
    .bind(ids)
    .fetch_all(pool)
    .await?)
}

pub(super) async fn issuance_context(
    pool: &Pool,
    account_id: &str,
    thumbprints: &[String],
    grant: &[u8],
) -> Result<Option<super::IssuanceContextRow>, StoreError> {
    let list = serde_json::to_string(thumbprints).map_err(|_| StoreError::Corrupt("list"))?;
    Ok(sqlx::query_as(issuance_account_sql!(
        "(SELECT json_group_array(json_object('id', d.id, 'account_id', d.account_id, \
           'thumbprint', d.thumbprint, 'revoked_at', d.revoked_at)) \
          FROM devices d WHERE d.thumbprint IN (SELECT value FROM json_each($2))) AS devices, \
         EXISTS (SELECT 1 FROM used_nonces WHERE digest = $3) AS grant_used"
    ))
    .bind(account_id)
    .bind(list)
    .bind(grant)
    .fetch_optional(pool)
    .await?)
}

/// Rows per staging statement: 8 parameters each, well under SQLite's 32,766.
const STAGE_ROWS: usize = 2_000;

/// A registry import on SQLite. Rows are staged in a temporary table (private to this
/// connection, in memory: no lock on the database while the file is read); only the final merge
/// takes the write lock, for one transaction.
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
        for rows in batch.chunks(STAGE_ROWS) {
            let mut sql = String::with_capacity(64 + rows.len() * 24);
            sql.push_str("INSERT INTO temp.registry_staging VALUES ");
            for i in 0..rows.len() {
                if i > 0 {
                    sql.push(',');
                }
                sql.push_str("(?,?,?,?,?,?,?,?)");
            }
            let mut query = sqlx::query(AssertSqlSafe(sql));
            for c in rows {
                query = query
                    .bind(&c.id_number)
                    .bind(&c.full_name)
                    .bind(&c.date_of_birth)
                    .bind(&c.sex)
                    .bind(&c.place_of_origin)
                    .bind(&c.place_of_residence)
                    .bind(c.status)
                    .bind(&c.phones);
            }
            query.execute(&mut *self.conn).await?;
        }
        Ok(())
    }

    pub(super) async fn stage_documents(
        &mut self,
        batch: &[StagedDocument],
    ) -> Result<(), StoreError> {
        for rows in batch.chunks(STAGE_ROWS) {
            let mut sql = String::with_capacity(64 + rows.len() * 12);
            sql.push_str("INSERT INTO temp.document_staging VALUES ");
            for i in 0..rows.len() {
                if i > 0 {
                    sql.push(',');
                }
                sql.push_str("(?,?,?,?)");
            }
            let mut query = sqlx::query(AssertSqlSafe(sql));
            for d in rows {
                query = query
                    .bind(d.line)
                    .bind(&d.id_number)
                    .bind(&d.kind)
                    .bind(&d.claims);
            }
            query.execute(&mut *self.conn).await?;
        }
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
        let counts = {
            // The merge writes up to millions of index pages: give this connection a large page
            // cache for it (the pool's default again below).
            sqlx::query("PRAGMA cache_size = -262144")
                .execute(&mut *self.conn)
                .await?;
            let mut tx = sqlx::Connection::begin_with(&mut *self.conn, "BEGIN IMMEDIATE").await?;
            let counts = merge_staged(&mut tx, source, rejected, now, decide, stop).await?;
            match counts {
                Some(_) => tx.commit().await?,
                None => tx.rollback().await?,
            }
            counts
        };
        sqlx::raw_sql(
            "DROP TABLE registry_staging; DROP TABLE document_staging; PRAGMA cache_size = -16384",
        )
        .execute(&mut *self.conn)
        .await?;
        Ok(counts)
    }
}

// --- Group commit: the statements (in process: one per table) -----------------------------------

type Query<'q> = sqlx::query::Query<'q, Db, <Db as sqlx::Database>::Arguments>;

/// Inserts the nonces that are not yet used, returning those inserted, and reads the audit heads
/// of `chains` (the transaction holds SQLite's write lock already).
async fn claim_nonces_and_lock_heads(
    tx: &mut Tx,
    used: &[&(Vec<u8>, i64)],
    chains: &[i64],
) -> Result<(std::collections::HashSet<Vec<u8>>, Vec<(i64, i64, Vec<u8>)>), StoreError> {
    let mut inserted = std::collections::HashSet::with_capacity(used.len());
    if !used.is_empty() {
        let sql = values(
            "INSERT INTO used_nonces (digest, expires_at) VALUES ",
            2,
            used.len(),
        ) + " ON CONFLICT DO NOTHING RETURNING digest";
        let mut query = sqlx::query_scalar::<_, Vec<u8>>(AssertSqlSafe(sql));
        for (digest, expires_at) in used {
            query = query.bind(digest).bind(expires_at);
        }
        inserted.extend(query.fetch_all(&mut **tx).await?);
    }
    let chains = serde_json::to_string(chains).map_err(|_| StoreError::Corrupt("chain list"))?;
    let heads = sqlx::query_as(
        "SELECT chain, seq, head FROM audit_heads \
         WHERE chain IN (SELECT value FROM json_each($1)) ORDER BY chain",
    )
    .bind(chains)
    .fetch_all(&mut **tx)
    .await?;
    Ok((inserted, heads))
}

/// Writes a group's credentials, audit entries and new audit heads with multi-row statements.
async fn write_group_rows(
    tx: &mut Tx,
    credentials: &[&super::CredentialRecord],
    entries: &[GroupEntry<'_>],
    heads: &[(i64, i64, &[u8])],
) -> Result<(), StoreError> {
    let mut query: Query<'_> = sqlx::query(AssertSqlSafe(values(
        "INSERT INTO credentials (list_id, idx, account_id, kind, device_id, status, issued_at, expires_at) VALUES ",
        8,
        credentials.len(),
    )));
    for c in credentials {
        query = query
            .bind(c.list_id)
            .bind(c.idx)
            .bind(&c.account_id)
            .bind(&c.kind)
            .bind(&c.device_id)
            .bind(c.status)
            .bind(c.issued_at)
            .bind(c.expires_at);
    }
    query.execute(&mut **tx).await?;
    let mut query: Query<'_> = sqlx::query(AssertSqlSafe(values(
        "INSERT INTO audit_log (chain, seq, at, actor, action, subject, detail, prev_hash, hash) VALUES ",
        9,
        entries.len(),
    )));
    for e in entries {
        query = query
            .bind(e.chain)
            .bind(e.seq)
            .bind(e.event.at)
            .bind(&e.event.actor)
            .bind(&e.event.action)
            .bind(&e.event.subject)
            .bind(&e.event.detail)
            .bind(&e.prev)
            .bind(&e.hash);
    }
    query.execute(&mut **tx).await?;
    let mut query: Query<'_> = sqlx::query(AssertSqlSafe(
        values(
            "INSERT INTO audit_heads (chain, seq, head) VALUES ",
            3,
            heads.len(),
        ) + " ON CONFLICT (chain) DO UPDATE SET seq = excluded.seq, head = excluded.head",
    ));
    for (chain, seq, head) in heads {
        query = query.bind(*chain).bind(*seq).bind(*head);
    }
    query.execute(&mut **tx).await?;
    Ok(())
}

/// `prefix` followed by `rows` groups of `columns` numbered placeholders (`$1`, `$2`, ...).
fn values(prefix: &str, columns: usize, rows: usize) -> String {
    use std::fmt::Write;
    let mut sql = String::with_capacity(prefix.len() + rows * columns * 5);
    sql.push_str(prefix);
    for row in 0..rows {
        sql.push_str(if row == 0 { "(" } else { ",(" });
        for column in 0..columns {
            if column > 0 {
                sql.push(',');
            }
            let _ = write!(sql, "${}", 1 + row * columns + column);
        }
        sql.push(')');
    }
    sql
}

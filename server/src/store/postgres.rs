//! The PostgreSQL backend (production).

use sqlx::{AssertSqlSafe, Postgres, pool::PoolConnection};

use super::{MergeOutcome, StagedDocument};

type Db = Postgres;

/// Row locks serialise what must be serialised (e.g. an audit chain's head); plain `BEGIN`.
async fn begin_write(pool: &sqlx::Pool<Db>) -> Result<sqlx::Transaction<'static, Db>, StoreError> {
    Ok(pool.begin().await?)
}

include!("queries.rs");

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
        "SELECT id_number, full_name, date_of_birth, sex, place_of_origin, place_of_residence, status \
         FROM citizens WHERE id_number = ANY($1)",
    )
    .bind(id_numbers)
    .fetch_all(pool)
    .await?)
}

pub(super) async fn issuance_context(
    pool: &Pool,
    account_id: &str,
    thumbprints: &[String],
) -> Result<Option<super::IssuanceContextRow>, StoreError> {
    Ok(sqlx::query_as(issuance_account_sql!(
        "(SELECT COALESCE(json_agg(json_build_object('id', d.id, 'account_id', d.account_id, \
           'thumbprint', d.thumbprint, 'revoked_at', d.revoked_at)), '[]'::json)::text \
          FROM devices d WHERE d.thumbprint = ANY($2)) AS devices"
    ))
    .bind(account_id)
    .bind(thumbprints)
    .fetch_optional(pool)
    .await?)
}

/// The heads of the audit chains in parameter `param` (a JSON array), locked until the transaction ends.
fn lock_audit_heads(param: usize) -> String {
    format!(
        "SELECT chain, seq, head FROM audit_heads \
         WHERE chain IN (SELECT value::bigint FROM json_array_elements_text(${param}::json)) \
         ORDER BY chain FOR UPDATE"
    )
}

/// PostgreSQL runs `INSERT`s inside `WITH`: a group's writes go in fewer round trips.
const WRITING_CTES: bool = true;

/// Group writers: PostgreSQL commits several groups at once (each writer owns a shard of the
/// audit chains).
pub(super) const GROUP_WRITERS: usize = 2;

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
             $4::text[], $5::text[], $6::text[], $7::text[])",
        )
        .bind(column(|c| &c.id_number))
        .bind(column(|c| &c.full_name))
        .bind(column(|c| &c.date_of_birth))
        .bind(column(|c| &c.sex))
        .bind(column(|c| &c.place_of_origin))
        .bind(column(|c| &c.place_of_residence))
        .bind(column(|c| &c.status))
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
    ) -> Result<MergeOutcome, StoreError> {
        sqlx::query("ANALYZE registry_staging")
            .execute(&mut *self.conn)
            .await?;
        let counts = {
            let mut tx = sqlx::Connection::begin(&mut *self.conn).await?;
            let counts = merge_staged(&mut tx, source, rejected, now).await?;
            tx.commit().await?;
            counts
        };
        sqlx::raw_sql("DROP TABLE registry_staging; DROP TABLE document_staging")
            .execute(&mut *self.conn)
            .await?;
        Ok(counts)
    }
}

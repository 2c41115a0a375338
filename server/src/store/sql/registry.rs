//! The population registry: citizens, their documents, imports and the changes they record.
//!
//! Shared by both engines: compiled once inside `sqlite` and once inside `postgres` (ADR 0004).

use super::{CHANGES_SQL, Db, Pool, apply_registry_changes};
use crate::store::{Citizen, RegistryChange, RegistryDecision, StoreError};

pub(in crate::store) async fn citizen(
    pool: &Pool,
    id_number: &str,
) -> Result<Option<Citizen>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT id_number, full_name, date_of_birth, sex, place_of_origin, place_of_residence, status, phones \
         FROM citizens WHERE id_number = $1",
    )
    .bind(id_number)
    .fetch_optional(pool)
    .await?)
}

pub(in crate::store) async fn citizen_count(pool: &Pool) -> Result<i64, StoreError> {
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM citizens")
        .fetch_one(pool)
        .await?)
}

pub(in crate::store) async fn registry_changes(
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
pub(in crate::store) async fn create_staging(
    conn: &mut <Db as sqlx::Database>::Connection,
) -> Result<(), StoreError> {
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

/// The registry merge both backends run once the rows are staged in `registry_staging`. `stop`
/// is looked at between statements and last of all: once it is set the merge goes no further and
/// gives `None`, for the caller to roll back (a merge of millions of rows takes minutes; an
/// operator who stops it should not wait for all of it, nor have it committed).
pub(in crate::store) async fn merge_staged(
    conn: &mut <Db as sqlx::Database>::Connection,
    source: &str,
    rejected: i64,
    now: i64,
    decide: RegistryDecision<'_>,
    stop: &std::sync::atomic::AtomicBool,
) -> Result<Option<crate::store::MergeOutcome>, StoreError> {
    let stopped = || stop.load(std::sync::atomic::Ordering::Relaxed);
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
    if stopped() {
        return Ok(None);
    }
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
        if stopped() {
            return Ok(None);
        }
    }
    let inserted = written - updated;
    let (documents, orphan_documents) = merge_documents(&mut *conn, import_id, now).await?;
    if stopped() {
        return Ok(None);
    }
    apply_registry_changes(&mut *conn, import_id, now, decide).await?;
    let counts = crate::store::ImportCounts {
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
    if stopped() {
        return Ok(None);
    }
    Ok(Some(crate::store::MergeOutcome {
        counts,
        orphan_documents,
    }))
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

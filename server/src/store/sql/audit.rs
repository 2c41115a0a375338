//! The hash-chained audit log and its anchors.
//!
//! Shared by both engines: compiled once inside `sqlite` and once inside `postgres` (ADR 0004).

use sqlx::AssertSqlSafe;

use super::{Db, Pool, begin_write};
use crate::store::{
    AuditAnchor, AuditEntry, AuditEvent, AuditHead, StoreError, anchor_hash, chain_of, entry_hash,
    hex,
};

/// Appends an event inside an open write transaction. The head row's update takes the chain's
/// lock (a row lock on PostgreSQL, the write lock on SQLite) until the transaction ends, so
/// entries of one chain are numbered and linked without gaps or forks.
pub(in crate::store) async fn append_in(
    conn: &mut <Db as sqlx::Database>::Connection,
    event: &AuditEvent,
) -> Result<(), StoreError> {
    let chain = chain_of(&event.subject);
    sqlx::query("INSERT INTO audit_heads (chain, seq, head) VALUES ($1, 0, $2) ON CONFLICT (chain) DO NOTHING")
        .bind(chain)
        .bind(&crate::store::GENESIS[..])
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

pub(in crate::store) async fn append_audit(
    pool: &Pool,
    event: &AuditEvent,
) -> Result<(), StoreError> {
    let mut tx = begin_write(pool).await?;
    append_in(&mut tx, event).await?;
    tx.commit().await?;
    Ok(())
}

/// Most audit entries per multi-row statement: 9 parameters each, under SQLite's 32,766.
const AUDIT_ROWS: usize = 1_000;

pub(in crate::store) async fn append_audit_batch(
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
        .bind(&crate::store::GENESIS[..])
        .execute(&mut *tx)
        .await?;
        *head =
            sqlx::query_as("UPDATE audit_heads SET seq = seq WHERE chain = $1 RETURNING seq, head")
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
        rows.push((
            chain,
            *seq,
            event,
            std::mem::replace(prev, hash.clone()),
            hash,
        ));
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

pub(in crate::store) async fn history(
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

pub(in crate::store) async fn audit_chain(
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

pub(in crate::store) async fn audit_heads(pool: &Pool) -> Result<Vec<AuditHead>, StoreError> {
    Ok(
        sqlx::query_as("SELECT chain, seq, head FROM audit_heads ORDER BY chain")
            .fetch_all(pool)
            .await?,
    )
}

pub(in crate::store) async fn audit_entry(
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

pub(in crate::store) async fn audit_anchors(pool: &Pool) -> Result<Vec<AuditAnchor>, StoreError> {
    Ok(
        sqlx::query_as("SELECT seq, at, heads, prev_hash, hash FROM audit_anchors ORDER BY seq")
            .fetch_all(pool)
            .await?,
    )
}

pub(in crate::store) async fn anchor_audit(
    pool: &Pool,
    now: i64,
) -> Result<Option<AuditAnchor>, StoreError> {
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
    let (seq, prev_hash) =
        last.map_or((1, crate::store::GENESIS.to_vec()), |a| (a.seq + 1, a.hash));
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

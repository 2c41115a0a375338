//! The group-commit writer of issuances: one writer thread per process, one durable commit per group.
//!
//! Shared by both engines: compiled once inside `sqlite` and once inside `postgres` (ADR 0004).

use super::{Pool, begin_write, claim_nonces_and_lock_heads, write_group_rows};
use crate::store::{AuditEvent, StoreError, chain_of, entry_hash};

/// Group commit: credential issuances from concurrent requests are written by one writer, in
/// transactions of up to [`GROUP_MAX`] issuances each, so that one durable commit (one `fsync`)
/// and a fixed number of statements cover them all. An issuance whose nonce was used fails
/// alone, and no caller is answered before the transaction holding its issuance has committed.
///
/// One writer per process on both engines: SQLite has one writer at a time anyway, and on
/// PostgreSQL two writers committing at once contended on rows every group touches (the status
/// list's row, key-share locked by each copy's foreign key, which then needs a multixact; the
/// audit heads) and measured 20-30 % slower than one writer making larger groups.
pub(in crate::store) struct GroupCommit {
    sender: tokio::sync::mpsc::Sender<Job>,
    stats: std::sync::Arc<crate::store::GroupStats>,
}

/// Most issuances per group transaction.
const GROUP_MAX: usize = 128;

struct Job {
    pub(super) issuance: crate::store::Issuance,
    pub(super) audit: AuditEvent,
    pub(super) reply: tokio::sync::oneshot::Sender<Result<(), StoreError>>,
}

impl GroupCommit {
    /// Starts the writer on `pool`, on a thread of its own (with its own single-threaded
    /// runtime), so the commits never queue behind the requests' own work for a turn on a
    /// worker thread.
    pub(in crate::store) fn start(pool: Pool) -> Self {
        let stats = std::sync::Arc::new(crate::store::GroupStats::default());
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
    pub(in crate::store) fn stats(&self) -> &crate::store::GroupStats {
        &self.stats
    }

    /// Records one issuance; returns once its group has committed.
    pub(in crate::store) async fn record_issuance(
        &self,
        issuance: &crate::store::Issuance,
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
    stats: std::sync::Arc<crate::store::GroupStats>,
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
            .or_insert_with(|| (0, crate::store::GENESIS.to_vec()));
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
    let credentials: Vec<&crate::store::CredentialRecord> = accepted
        .iter()
        .flat_map(|j| &j.issuance.credentials)
        .collect();
    write_group_rows(&mut tx, &credentials, &entries, &touched).await?;
    tx.commit().await?;
    Ok(results)
}

/// An audit entry of a group, chained.
pub(in crate::store) struct GroupEntry<'a> {
    pub(super) chain: i64,
    pub(super) seq: i64,
    pub(super) event: &'a AuditEvent,
    pub(super) prev: Vec<u8>,
    pub(super) hash: Vec<u8>,
}

/// Most credential copies per group: with at most [`GROUP_MAX`] audit entries and heads, a
/// group's largest multi-row statement on SQLite binds under 18,000 parameters (its limit is
/// 32,766; PostgreSQL binds arrays).
const GROUP_ROWS: usize = 2_000;

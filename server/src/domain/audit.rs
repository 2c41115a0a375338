//! The audit log: every security event, hash-chained. Appends happen inside the store's
//! transactions (see [`crate::store`]); this module builds events and verifies the chains.

use serde::Serialize;

use crate::store::{
    AUDIT_CHAINS, AuditEvent, GENESIS, Store, StoreError, anchor_hash, entry_hash, hex,
};

/// Actor of events caused by someone not signed in.
pub const ANONYMOUS: &str = "anonymous";
/// Actor of events caused by a command-line operator.
pub const OPERATOR: &str = "operator";
/// Prefix of the actor of events caused by a relying party (a telecom operator's backend):
/// `rp:<relying party id>`.
pub const RELYING_PARTY_PREFIX: &str = "rp:";

/// An event happening now.
pub fn event(actor: &str, action: &str, subject: &str, detail: serde_json::Value) -> AuditEvent {
    AuditEvent {
        at: crate::platform::clock::now(),
        actor: actor.to_owned(),
        action: action.to_owned(),
        subject: subject.to_owned(),
        detail: detail.to_string(),
    }
}

/// Who acted on an account, as its holder is told: `self`, `anonymous`, `operator`,
/// `relying_party` (a registered relying party such as a telecom operator, named in the
/// event's detail), or `staff` (an officer or administrator; their identity stays in the log
/// for investigators).
pub fn actor_relation<'a>(actor: &'a str, account_id: &str) -> &'a str {
    match actor {
        a if a == account_id => "self",
        a @ (ANONYMOUS | OPERATOR) => a,
        a if a.starts_with(RELYING_PARTY_PREFIX) => "relying_party",
        _ => "staff",
    }
}

/// The result of checking every chain.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AuditReport {
    /// Chains checked.
    pub chains: u64,
    /// Entries checked.
    pub entries: u64,
    /// Anchors checked.
    pub anchors: u64,
    /// The latest anchor's hash (hex): publish it outside the database (a transparency log, a
    /// newspaper) and no one can rewrite history before it unnoticed.
    pub latest_anchor: Option<String>,
    /// Every inconsistency found (empty: the log is intact).
    pub problems: Vec<String>,
}

impl AuditReport {
    /// True when no entry was edited, deleted, inserted or reordered.
    pub fn intact(&self) -> bool {
        self.problems.is_empty()
    }
}

const PAGE: i64 = 10_000;

/// Checks the anchors' own chain, and that every chain still holds, at the latest anchor's
/// sequence numbers, the entries that anchor recorded (so a chain cannot be truncated or deleted
/// with its head row unnoticed).
async fn verify_anchors(store: &Store, report: &mut AuditReport) -> Result<(), StoreError> {
    let anchors = store.audit_anchors().await?;
    let mut prev = GENESIS.to_vec();
    for (i, anchor) in anchors.iter().enumerate() {
        report.anchors += 1;
        if anchor.seq != i as i64 + 1 || anchor.prev_hash != prev {
            report.problems.push(format!(
                "anchor {}: missing or reordered anchors before it",
                anchor.seq
            ));
        }
        if anchor_hash(&anchor.prev_hash, anchor.seq, anchor.at, &anchor.heads) != anchor.hash {
            report
                .problems
                .push(format!("anchor {} was altered", anchor.seq));
        }
        prev.clone_from(&anchor.hash);
    }
    let Some(latest) = anchors.last() else {
        return Ok(());
    };
    report.latest_anchor = Some(hex(&latest.hash));
    let Ok(heads) = serde_json::from_str::<Vec<(i64, i64, String)>>(&latest.heads) else {
        report
            .problems
            .push(format!("anchor {}: unreadable heads", latest.seq));
        return Ok(());
    };
    for (chain, seq, head) in heads {
        let entry = store.audit_entry(chain, seq).await?;
        let hash = entry.map(|e| hex(&e.hash));
        if hash.as_deref() != Some(head.as_str()) {
            report.problems.push(format!(
                "chain {chain}: entry {seq}, recorded by anchor {}, is gone or changed",
                latest.seq
            ));
        }
    }
    Ok(())
}

/// Walks every chain from its first entry to its recorded head, recomputing each hash.
pub async fn verify(store: &Store) -> Result<AuditReport, StoreError> {
    let heads = store.audit_heads().await?;
    let mut report = AuditReport::default();
    for chain in 0..AUDIT_CHAINS {
        let head = heads.iter().find(|h| h.chain == chain);
        let (mut seq, mut prev) = (0i64, GENESIS.to_vec());
        loop {
            let page = store.audit_chain(chain, seq, PAGE).await?;
            for entry in &page {
                report.entries += 1;
                if entry.seq != seq + 1 {
                    report.problems.push(format!(
                        "chain {chain}: entry {} follows {seq} (missing or reordered entries)",
                        entry.seq
                    ));
                }
                if entry.prev_hash != prev {
                    report.problems.push(format!(
                        "chain {chain}: entry {} does not link to the entry before it",
                        entry.seq
                    ));
                }
                let hash = entry_hash(
                    &entry.prev_hash,
                    entry.chain,
                    entry.seq,
                    entry.at,
                    &entry.actor,
                    &entry.action,
                    &entry.subject,
                    &entry.detail,
                );
                if hash != entry.hash {
                    report
                        .problems
                        .push(format!("chain {chain}: entry {} was altered", entry.seq));
                }
                seq = entry.seq;
                prev.clone_from(&entry.hash);
            }
            if (page.len() as i64) < PAGE {
                break;
            }
        }
        match head {
            Some(head) => {
                report.chains += 1;
                if head.seq != seq || head.head != prev {
                    report.problems.push(format!(
                        "chain {chain}: the recorded head is entry {} but the chain ends at {seq} (entries deleted or appended outside the log)",
                        head.seq
                    ));
                }
            }
            None if seq > 0 => report
                .problems
                .push(format!("chain {chain}: entries without a recorded head")),
            None => {}
        }
    }
    verify_anchors(store, &mut report).await?;
    Ok(report)
}

//! Versioned migrations, embedded in the binary, one set per backend. Each applied migration is
//! recorded with a checksum; a migration edited after it was applied is refused, not re-run.

use ring::digest;

use super::StoreError;

pub(super) struct Migration {
    pub(super) version: i64,
    pub(super) description: &'static str,
    pub(super) sql: &'static str,
}

pub(super) const SQLITE: &[Migration] = &[
    Migration {
        version: 1,
        description: "foundation",
        sql: include_str!("../../migrations/sqlite/0001_foundation.sql"),
    },
    Migration {
        version: 2,
        description: "audit anchors",
        sql: include_str!("../../migrations/sqlite/0002_audit_anchors.sql"),
    },
    Migration {
        version: 3,
        description: "issuance",
        sql: include_str!("../../migrations/sqlite/0003_issuance.sql"),
    },
    Migration {
        version: 4,
        description: "proofing",
        sql: include_str!("../../migrations/sqlite/0004_proofing.sql"),
    },
    Migration {
        version: 5,
        description: "authorization code flow",
        sql: include_str!("../../migrations/sqlite/0005_authorization.sql"),
    },
    Migration {
        version: 6,
        description: "account security",
        sql: include_str!("../../migrations/sqlite/0006_account_security.sql"),
    },
    Migration {
        version: 7,
        description: "grants not before",
        sql: include_str!("../../migrations/sqlite/0007_grants_not_before.sql"),
    },
    Migration {
        version: 8,
        description: "relying parties",
        sql: include_str!("../../migrations/sqlite/0008_relying_parties.sql"),
    },
    Migration {
        version: 10,
        description: "signing certificates",
        sql: include_str!("../../migrations/sqlite/0010_signing_certificates.sql"),
    },
];

pub(super) const POSTGRES: &[Migration] = &[
    Migration {
        version: 1,
        description: "foundation",
        sql: include_str!("../../migrations/postgres/0001_foundation.sql"),
    },
    Migration {
        version: 2,
        description: "audit anchors",
        sql: include_str!("../../migrations/postgres/0002_audit_anchors.sql"),
    },
    Migration {
        version: 3,
        description: "issuance",
        sql: include_str!("../../migrations/postgres/0003_issuance.sql"),
    },
    Migration {
        version: 4,
        description: "proofing",
        sql: include_str!("../../migrations/postgres/0004_proofing.sql"),
    },
    Migration {
        version: 5,
        description: "authorization code flow",
        sql: include_str!("../../migrations/postgres/0005_authorization.sql"),
    },
    Migration {
        version: 6,
        description: "account security",
        sql: include_str!("../../migrations/postgres/0006_account_security.sql"),
    },
    Migration {
        version: 7,
        description: "grants not before",
        sql: include_str!("../../migrations/postgres/0007_grants_not_before.sql"),
    },
    Migration {
        version: 8,
        description: "relying parties",
        sql: include_str!("../../migrations/postgres/0008_relying_parties.sql"),
    },
    Migration {
        version: 10,
        description: "signing certificates",
        sql: include_str!("../../migrations/postgres/0010_signing_certificates.sql"),
    },
];

pub(super) fn checksum(sql: &str) -> Vec<u8> {
    digest::digest(&digest::SHA256, sql.as_bytes())
        .as_ref()
        .to_vec()
}

/// Applied versions and their checksums.
pub(super) type Applied = Vec<(i64, Vec<u8>)>;

/// What to run: the migrations not applied yet, after checking the applied ones are unchanged.
pub(super) fn pending<'a>(
    all: &'a [Migration],
    applied: &Applied,
) -> Result<Vec<&'a Migration>, StoreError> {
    let mut pending = Vec::new();
    for migration in all {
        match applied
            .iter()
            .find(|(version, _)| *version == migration.version)
        {
            Some((_, sum)) if *sum != checksum(migration.sql) => {
                return Err(StoreError::MigrationChanged {
                    version: migration.version,
                });
            }
            Some(_) => {}
            None => pending.push(migration),
        }
    }
    Ok(pending)
}

-- dinhdanh server foundation (SQLite). Times are Unix seconds; secrets are stored as SHA-256/HMAC digests.

-- The population registry: one row per citizen, keyed by the 12-digit ID number.
CREATE TABLE citizens (
    id_number          TEXT PRIMARY KEY NOT NULL,
    full_name          TEXT NOT NULL,
    date_of_birth      TEXT NOT NULL,
    sex                TEXT NOT NULL,
    place_of_origin    TEXT NOT NULL,
    place_of_residence TEXT NOT NULL,
    status             TEXT NOT NULL,
    updated_at         INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE registry_imports (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    source      TEXT NOT NULL,
    imported_at INTEGER NOT NULL,
    accepted    INTEGER NOT NULL,
    rejected    INTEGER NOT NULL,
    inserted    INTEGER NOT NULL,
    updated     INTEGER NOT NULL,
    unchanged   INTEGER NOT NULL
);

-- What a re-import changed: the fields and their previous values (the registry is live).
CREATE TABLE registry_changes (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    import_id      INTEGER NOT NULL REFERENCES registry_imports (id),
    id_number      TEXT NOT NULL,
    changed_fields TEXT NOT NULL,
    previous       TEXT NOT NULL,
    changed_at     INTEGER NOT NULL
);
CREATE INDEX registry_changes_by_citizen ON registry_changes (id_number);

-- Citizens and staff. Citizens carry their ID number; staff (officer, admin) do not.
CREATE TABLE accounts (
    id               TEXT PRIMARY KEY NOT NULL,
    webauthn_user_id TEXT NOT NULL UNIQUE,
    role             TEXT NOT NULL CHECK (role IN ('citizen', 'officer', 'admin')),
    id_number        TEXT UNIQUE,
    display_name     TEXT NOT NULL,
    phone            TEXT,
    assurance_level  INTEGER NOT NULL,
    created_at       INTEGER NOT NULL
);

-- Level-1 enrolments in progress. A request that matched nobody still gets a row (id_number NULL)
-- so that the answer does not reveal whether an ID number exists; its code can never succeed.
CREATE TABLE enrolments (
    id          TEXT PRIMARY KEY NOT NULL,
    id_number   TEXT,
    phone       TEXT NOT NULL,
    code_hash   BLOB NOT NULL,
    attempts    INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    consumed_at INTEGER
);

-- One-time links for staff to register their first passkey.
CREATE TABLE staff_invitations (
    token_hash BLOB PRIMARY KEY NOT NULL,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    expires_at INTEGER NOT NULL,
    used_at    INTEGER
);

CREATE TABLE passkeys (
    id             TEXT PRIMARY KEY NOT NULL,
    account_id     TEXT NOT NULL REFERENCES accounts (id),
    credential_id  BLOB NOT NULL UNIQUE,
    passkey        TEXT NOT NULL,
    name           TEXT NOT NULL,
    sign_count     INTEGER NOT NULL,
    backup_eligible INTEGER NOT NULL,
    backup_state   INTEGER NOT NULL,
    created_at     INTEGER NOT NULL,
    last_used_at   INTEGER,
    revoked_at     INTEGER
);
CREATE INDEX passkeys_by_account ON passkeys (account_id);

-- WebAuthn ceremony state, server side and single use (taken with DELETE ... RETURNING).
CREATE TABLE ceremonies (
    id         TEXT PRIMARY KEY NOT NULL,
    kind       TEXT NOT NULL,
    account_id TEXT,
    state      TEXT NOT NULL,
    expires_at INTEGER NOT NULL
);

CREATE TABLE sessions (
    token_hash BLOB PRIMARY KEY NOT NULL,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    role       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    revoked_at INTEGER
);
CREATE INDEX sessions_by_account ON sessions (account_id);

-- Device holder keys (P-256 public JWKs) that credentials will be bound to.
CREATE TABLE devices (
    id         TEXT PRIMARY KEY NOT NULL,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    name       TEXT NOT NULL,
    holder_jwk TEXT NOT NULL,
    thumbprint TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);
CREATE INDEX devices_by_account ON devices (account_id);
CREATE UNIQUE INDEX devices_active_key ON devices (thumbprint) WHERE revoked_at IS NULL;

-- Fixed-window counters; keys are HMACs, never phone numbers or addresses in clear.
CREATE TABLE rate_limits (
    key          TEXT PRIMARY KEY NOT NULL,
    window_start INTEGER NOT NULL,
    hits         INTEGER NOT NULL
);

-- The audit log: several hash chains (events are spread over them by subject); the head row
-- of each chain is the lock appends take and the last hash `audit verify` must reach.
CREATE TABLE audit_heads (
    chain     INTEGER PRIMARY KEY NOT NULL,
    seq       INTEGER NOT NULL,
    head      BLOB NOT NULL
);
CREATE TABLE audit_log (
    chain     INTEGER NOT NULL,
    seq       INTEGER NOT NULL,
    at        INTEGER NOT NULL,
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    subject   TEXT NOT NULL,
    detail    TEXT NOT NULL,
    prev_hash BLOB NOT NULL,
    hash      BLOB NOT NULL,
    PRIMARY KEY (chain, seq)
);
CREATE INDEX audit_by_subject ON audit_log (subject, at);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;

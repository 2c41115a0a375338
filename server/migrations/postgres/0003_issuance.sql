-- Credential issuance (PostgreSQL): level-2 records, registry documents, status lists, issued
-- credential copies and OpenID4VCI state. Times are Unix seconds.

-- Level 2: who approved it, when, on what evidence; closed accounts (e.g. death registered).
ALTER TABLE accounts ADD COLUMN level2_approved_by TEXT;
ALTER TABLE accounts ADD COLUMN level2_approved_at BIGINT;
ALTER TABLE accounts ADD COLUMN level2_evidence TEXT;
ALTER TABLE accounts ADD COLUMN closed_at BIGINT;

-- Documents the registry holds besides the citizen record (driving licence, health insurance,
-- vehicle registration, judicial record): the credential's own claims as a JSON object, the
-- personal claims coming from the citizen record at issuance.
CREATE TABLE registry_documents (
    id_number  TEXT NOT NULL,
    kind       TEXT NOT NULL,
    claims     TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (id_number, kind)
);

-- Token Status Lists. Indexes are handed out through a keyed permutation of `allocated`, so
-- they look random and never collide; `version` moves on every status change and the cached
-- token is re-signed when it is behind.
CREATE TABLE status_lists (
    id            BIGINT PRIMARY KEY,
    bits          BIGINT NOT NULL,
    size          BIGINT NOT NULL,
    allocated     BIGINT NOT NULL,
    version       BIGINT NOT NULL,
    token         TEXT,
    token_version BIGINT,
    token_exp     BIGINT
);

-- One row per issued copy: only what revocation needs, never the credential itself.
CREATE TABLE credentials (
    list_id    BIGINT NOT NULL REFERENCES status_lists (id),
    idx        BIGINT NOT NULL,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    kind       TEXT NOT NULL,
    device_id  TEXT,
    status     BIGINT NOT NULL,
    issued_at  BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (list_id, idx)
);
CREATE INDEX credentials_by_account ON credentials (account_id, kind);
CREATE INDEX credentials_by_device ON credentials (device_id) WHERE device_id IS NOT NULL;

-- Credential offers. A pending offer (made by a lifecycle event) has no code yet: the citizen
-- collects it signed in, which sets the codes. Codes are stored as digests.
CREATE TABLE credential_offers (
    id                TEXT PRIMARY KEY NOT NULL,
    account_id        TEXT NOT NULL REFERENCES accounts (id),
    configuration_ids TEXT NOT NULL,
    code_hash         BYTEA UNIQUE,
    tx_code_hash      BYTEA,
    attempts          BIGINT NOT NULL,
    reason            TEXT NOT NULL,
    created_by        TEXT NOT NULL,
    created_at        BIGINT NOT NULL,
    expires_at        BIGINT NOT NULL,
    redeemed_at       BIGINT
);
CREATE INDEX credential_offers_by_account ON credential_offers (account_id);

-- Single use of nonces and DPoP proofs: a digest is inserted when used; a second use meets the
-- primary key. Rows go once their proof could no longer be accepted anyway.
CREATE TABLE used_nonces (
    digest     BYTEA PRIMARY KEY NOT NULL,
    expires_at BIGINT NOT NULL
);

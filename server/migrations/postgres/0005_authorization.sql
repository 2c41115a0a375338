-- OpenID4VCI authorization code flow (PostgreSQL): pushed authorization requests (RFC 9126) and the
-- codes they lead to once the citizen signed in with their passkey and approved. Handles and
-- codes are stored as SHA-256 digests; both are single use and short-lived.
CREATE TABLE authorization_requests (
    handle_hash       BYTEA PRIMARY KEY NOT NULL,
    client_id         TEXT NOT NULL,
    redirect_uri      TEXT NOT NULL,
    code_challenge    TEXT NOT NULL,
    dpop_jkt          TEXT,
    configuration_ids TEXT NOT NULL,
    state             TEXT,
    created_at        BIGINT NOT NULL,
    expires_at        BIGINT NOT NULL,
    account_id        TEXT REFERENCES accounts (id),
    code_hash         BYTEA UNIQUE,
    code_expires_at   BIGINT,
    redeemed_at       BIGINT
);

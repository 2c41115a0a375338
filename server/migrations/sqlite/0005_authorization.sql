-- OpenID4VCI authorization code flow (SQLite): pushed authorization requests (RFC 9126) and the
-- codes they lead to once the citizen signed in with their passkey and approved. Handles and
-- codes are stored as SHA-256 digests; both are single use and short-lived.
CREATE TABLE authorization_requests (
    handle_hash       BLOB PRIMARY KEY NOT NULL,
    client_id         TEXT NOT NULL,
    redirect_uri      TEXT NOT NULL,
    code_challenge    TEXT NOT NULL,
    dpop_jkt          TEXT,
    configuration_ids TEXT NOT NULL,
    state             TEXT,
    created_at        INTEGER NOT NULL,
    expires_at        INTEGER NOT NULL,
    account_id        TEXT REFERENCES accounts (id),
    code_hash         BLOB UNIQUE,
    code_expires_at   INTEGER,
    redeemed_at       INTEGER
);

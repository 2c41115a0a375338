-- dinhdanh-verifier: its own schema, apart from the agency server's.
-- One row per presentation request: pending until a verified answer takes it (once), failed
-- with a typed reason while it may still be answered, verified with the disclosed claims.
CREATE TABLE verifier_requests (
    id             TEXT PRIMARY KEY,
    -- The OpenID4VP `state` the answer echoes.
    oid4vp_state   TEXT NOT NULL UNIQUE,
    status         TEXT NOT NULL CHECK (status IN ('pending', 'verified', 'failed')),
    -- The pending request (request object parameters, lifetime) as JSON: no secret in it.
    pending        TEXT NOT NULL,
    -- The signed request object, served at request_uri while the request is answerable.
    request_object TEXT,
    -- The response-encryption key (direct_post.jwt), sealed (AES-256-GCM); gone once verified.
    encryption_key BYTEA,
    reason         TEXT,
    -- The disclosed claims by credential query id, sealed.
    result         BYTEA,
    created_at     BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL
);
CREATE INDEX verifier_requests_expiry ON verifier_requests (expires_at);

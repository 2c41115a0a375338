-- Telecom operators (postgres): the access tokens operators obtain with their access certificate
-- (OAuth client credentials, private_key_jwt), the SIM bindings they register (MSISDN ↔ citizen
-- ↔ operator), and the citizens' disputes of them.

-- An operator's bearer token, stored as its SHA-256 digest; honoured while it has not expired
-- and its relying party is not revoked.
CREATE TABLE operator_tokens (
    token_hash BYTEA PRIMARY KEY NOT NULL,
    rp_id      TEXT NOT NULL REFERENCES relying_parties (id),
    scope      TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX operator_tokens_expiry ON operator_tokens (expires_at);

-- A SIM binding. `state` is `active`, `reverification_required` (a device change was reported
-- at `reverify_since`; the deadlines follow from the configuration) or `ended`.
CREATE TABLE subscriptions (
    id             TEXT PRIMARY KEY NOT NULL,
    operator_id    TEXT NOT NULL REFERENCES relying_parties (id),
    -- E.164 (`+84` and nine digits).
    msisdn         TEXT NOT NULL,
    id_number      TEXT NOT NULL,
    state          TEXT NOT NULL CHECK (state IN ('active', 'reverification_required', 'ended')),
    -- How the citizen was last verified: `wallet` (a PID presentation: level 2) or `four_fields`.
    method         TEXT NOT NULL CHECK (method IN ('wallet', 'four_fields')),
    -- JSON {result, method, performed_by} of a four-field verification (never an image).
    face_match     TEXT,
    device_id      TEXT,
    verified_at    BIGINT NOT NULL,
    reverify_since BIGINT,
    -- The citizen's answer: `mine` or `not_mine`.
    mark           TEXT CHECK (mark IN ('mine', 'not_mine')),
    marked_at      BIGINT,
    created_at     BIGINT NOT NULL,
    ended_at       BIGINT,
    end_reason     TEXT
);
-- One live binding per number, whichever operator holds it.
CREATE UNIQUE INDEX subscriptions_live_msisdn ON subscriptions (msisdn) WHERE state <> 'ended';
CREATE INDEX subscriptions_by_citizen ON subscriptions (id_number, state);
CREATE INDEX subscriptions_by_operator ON subscriptions (operator_id, state);

-- A citizen's `not_mine`: the operator must answer it (`upheld`: the binding stays; `ended`).
CREATE TABLE subscription_disputes (
    id              TEXT PRIMARY KEY NOT NULL,
    subscription_id TEXT NOT NULL REFERENCES subscriptions (id),
    operator_id     TEXT NOT NULL REFERENCES relying_parties (id),
    opened_at       BIGINT NOT NULL,
    outcome         TEXT CHECK (outcome IN ('upheld', 'ended')),
    note            TEXT,
    answered_at     BIGINT
);
-- At most one open dispute per binding.
CREATE UNIQUE INDEX subscription_disputes_open ON subscription_disputes (subscription_id)
    WHERE answered_at IS NULL;
CREATE INDEX subscription_disputes_by_operator ON subscription_disputes (operator_id, answered_at);

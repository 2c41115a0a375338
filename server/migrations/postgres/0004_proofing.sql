-- Level-2 proofing requests (PostgreSQL): what the chip said, how it matched the registry, and the
-- officer's decision. The portrait (DG2) is kept only until the decision.
CREATE TABLE proofing_requests (
    id           TEXT PRIMARY KEY NOT NULL,
    account_id   TEXT NOT NULL REFERENCES accounts (id),
    status       TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected')),
    chip         TEXT NOT NULL,
    registry     TEXT NOT NULL,
    portrait     BYTEA,
    submitted_at BIGINT NOT NULL,
    decided_by   TEXT,
    decided_at   BIGINT,
    reason       TEXT
);
CREATE INDEX proofing_requests_by_account ON proofing_requests (account_id, submitted_at);
CREATE UNIQUE INDEX proofing_requests_one_pending ON proofing_requests (account_id) WHERE status = 'pending';
CREATE INDEX proofing_requests_pending ON proofing_requests (submitted_at) WHERE status = 'pending';

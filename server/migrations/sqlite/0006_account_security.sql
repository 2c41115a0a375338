-- Account security (sqlite): the phones registered to each citizen, recovery of an account,
-- and setup or recovery sessions bound to the one passkey ceremony they may complete.

-- The numbers registered to the citizen (E.164, space-separated, sorted): enrolment and
-- recovery codes go to these phones only.
ALTER TABLE citizens ADD COLUMN phones TEXT NOT NULL DEFAULT '';

-- An enrolment row also carries recovery codes: `purpose` says which flow it starts.
ALTER TABLE enrolments ADD COLUMN purpose TEXT NOT NULL DEFAULT 'enrolment';

-- A setup session may complete only its own passkey ceremony; a recovery session acts only on
-- its own recovery.
ALTER TABLE sessions ADD COLUMN ceremony_id TEXT;
ALTER TABLE sessions ADD COLUMN recovery_id TEXT;

-- Account recoveries: opened by a code to a registered phone, strengthened by a fresh chip check
-- or an officer's approval, completed (once) by registering a new passkey, which replaces the
-- account's passkeys and devices and revokes its credentials.
CREATE TABLE recoveries (
    id           TEXT PRIMARY KEY NOT NULL,
    account_id   TEXT NOT NULL REFERENCES accounts (id),
    evidence     TEXT NOT NULL CHECK (evidence IN ('sms_code', 'chip', 'officer')),
    detail       TEXT NOT NULL,
    approved_by  TEXT,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    completed_at INTEGER
);
CREATE INDEX recoveries_by_account ON recoveries (account_id);

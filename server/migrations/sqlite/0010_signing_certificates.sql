-- Citizen signing certificates (issue 13): the certificates the citizen signing CA issued, and
-- the state of the CRL built from them.
--
-- A session records when the passkey sign-in that made it happened (NULL for sessions made
-- otherwise: setup, recovery, a passkey registration), for the step-up a certificate needs.
ALTER TABLE sessions ADD COLUMN passkey_at INTEGER;

CREATE TABLE signing_certificates (
    id                TEXT PRIMARY KEY NOT NULL,
    -- The certificate's serial number: lowercase hex of its positive magnitude, no leading zero
    -- byte (as OCSP requests name it once normalized).
    serial            TEXT NOT NULL UNIQUE,
    account_id        TEXT NOT NULL REFERENCES accounts (id),
    -- The device the citizen named when asking (revoking it revokes the certificate).
    device_id         TEXT REFERENCES devices (id),
    -- SHA-256 of the SubjectPublicKeyInfo: a key is certified once, ever.
    spki_sha256       BLOB NOT NULL UNIQUE,
    der               BLOB NOT NULL,
    not_before        INTEGER NOT NULL,
    not_after         INTEGER NOT NULL,
    created_at        INTEGER NOT NULL,
    -- When the server recorded the cause of the revocation (never backdated), and the RFC 5280
    -- CRLReason code.
    revoked_at        INTEGER,
    revocation_reason INTEGER
);
CREATE INDEX signing_certificates_by_account ON signing_certificates (account_id);
CREATE INDEX signing_certificates_by_device ON signing_certificates (device_id);
CREATE INDEX signing_certificates_revoked ON signing_certificates (revoked_at)
    WHERE revoked_at IS NOT NULL;

-- One row. `version` moves in the transaction of every revocation; the cached CRL says which
-- version it was built from, so the next fetch after a change builds a new one. `crl_number`
-- is the number of the last CRL made (RFC 5280 5.2.3: increasing).
CREATE TABLE signing_crl (
    id          INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    version     INTEGER NOT NULL,
    crl_number  INTEGER NOT NULL,
    crl         BLOB,
    crl_version INTEGER,
    this_update INTEGER,
    next_update INTEGER
);
INSERT INTO signing_crl (id, version, crl_number) VALUES (1, 0, 0);

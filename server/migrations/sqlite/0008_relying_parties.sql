-- Relying parties (sqlite): the third-party apps, banks, public services and telecom operators
-- the agency registered, each with the access certificate its relying-party CA issued for the
-- party's own key, and what it may ask for.
CREATE TABLE relying_parties (
    id                  TEXT PRIMARY KEY NOT NULL,
    -- `x509_san_dns:<dns_name>`: unique among the parties not revoked (a revoked party's name
    -- may be registered again, with a new key).
    client_id           TEXT NOT NULL,
    name                TEXT NOT NULL,
    registration_number TEXT,
    kind                TEXT NOT NULL CHECK (kind IN ('telecom', 'bank', 'public_service', 'other')),
    dns_name            TEXT NOT NULL,
    purpose             TEXT NOT NULL,
    -- JSON: [{"configuration_id": "pid", "claims": ["/given_name", …]}, …]
    allowed             TEXT NOT NULL,
    -- The access certificate (DER), its serial (lower-case hex) and its key's JWK thumbprint:
    -- a key is certified once.
    certificate         BLOB NOT NULL,
    serial              TEXT NOT NULL UNIQUE,
    key_thumbprint      TEXT NOT NULL UNIQUE,
    -- The party's index in the status list of registrations (set when it is revoked).
    status_index        INTEGER NOT NULL UNIQUE,
    created_at          INTEGER NOT NULL,
    revoked_at          INTEGER,
    revocation_reason   TEXT
);
CREATE UNIQUE INDEX relying_parties_active_client ON relying_parties (client_id)
    WHERE revoked_at IS NULL;

-- The relying-party CA's CRLs, one row per CRL number (increasing; two processes making the
-- next one at once: one insert wins). `revoked` is how many parties were revoked when it was
-- made: a later revocation makes it out of date.
CREATE TABLE rp_crls (
    number      INTEGER PRIMARY KEY NOT NULL,
    revoked     INTEGER NOT NULL,
    this_update INTEGER NOT NULL,
    next_update INTEGER NOT NULL,
    der         BLOB NOT NULL
);

-- Versions of the trust bundle: a new one whenever the roots it carries (their digest) or the
-- number of revoked relying parties change.
CREATE TABLE trust_bundle_versions (
    version    INTEGER PRIMARY KEY NOT NULL,
    roots      TEXT NOT NULL,
    revoked    INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);

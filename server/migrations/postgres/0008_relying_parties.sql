-- Relying parties (postgres): the third-party apps, banks, public services and telecom operators
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
    certificate         BYTEA NOT NULL,
    serial              TEXT NOT NULL UNIQUE,
    key_thumbprint      TEXT NOT NULL UNIQUE,
    -- The party's index in the status list of registrations (set when it is revoked).
    status_index        BIGINT NOT NULL UNIQUE,
    created_at          BIGINT NOT NULL,
    revoked_at          BIGINT,
    revocation_reason   TEXT
);
CREATE UNIQUE INDEX relying_parties_active_client ON relying_parties (client_id)
    WHERE revoked_at IS NULL;

-- The relying-party CA's CRLs, one row per CRL number (increasing; two processes making the
-- next one at once: one insert wins). `revoked` is how many parties were revoked when it was
-- made: a later revocation makes it out of date.
CREATE TABLE rp_crls (
    number      BIGINT PRIMARY KEY NOT NULL,
    revoked     BIGINT NOT NULL,
    this_update BIGINT NOT NULL,
    next_update BIGINT NOT NULL,
    der         BYTEA NOT NULL
);

-- Versions of the trust bundle: a new one whenever the roots it carries (their digest) or the
-- number of revoked relying parties change.
CREATE TABLE trust_bundle_versions (
    version    BIGINT PRIMARY KEY NOT NULL,
    roots      TEXT NOT NULL,
    revoked    BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);

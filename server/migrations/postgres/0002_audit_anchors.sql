-- Anchors of the audit log (PostgreSQL): every so often the heads of all chains are recorded in
-- one more hash chain, so that deleting a whole chain, head row included, or truncating one below
-- an anchored point is detected. The latest anchor's hash is what to publish outside the database.
CREATE TABLE audit_anchors (
    seq       BIGINT PRIMARY KEY NOT NULL,
    at        BIGINT NOT NULL,
    heads     TEXT NOT NULL,
    prev_hash BYTEA NOT NULL,
    hash      BYTEA NOT NULL
);
CREATE TRIGGER audit_anchors_append_only BEFORE UPDATE OR DELETE ON audit_anchors
FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();

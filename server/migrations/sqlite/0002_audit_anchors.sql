-- Anchors of the audit log (SQLite): every so often the heads of all chains are recorded in one
-- more hash chain, so that deleting a whole chain, head row included, or truncating one below an
-- anchored point is detected. The latest anchor's hash is what to publish outside the database.
CREATE TABLE audit_anchors (
    seq       INTEGER PRIMARY KEY NOT NULL,
    at        INTEGER NOT NULL,
    heads     TEXT NOT NULL,
    prev_hash BLOB NOT NULL,
    hash      BLOB NOT NULL
);
CREATE TRIGGER audit_anchors_no_update BEFORE UPDATE ON audit_anchors
BEGIN SELECT RAISE(ABORT, 'audit anchors are append-only'); END;
CREATE TRIGGER audit_anchors_no_delete BEFORE DELETE ON audit_anchors
BEGIN SELECT RAISE(ABORT, 'audit anchors are append-only'); END;

-- Access tokens are self-contained (MAC-ed grants): nothing stores them to revoke. An account
-- records instead the time before which its tokens are no longer honoured, set whenever
-- everything that could act for its holder ends (a recovery, a closure).
ALTER TABLE accounts ADD COLUMN grants_not_before INTEGER NOT NULL DEFAULT 0;

-- The consent ledger is ordered by the store, not by the times entries state: every entry gets
-- a strictly increasing seq (AUTOINCREMENT: never reused) and the store's receipt time, both
-- assigned inside the write transaction. Existing entries keep their append order (rowid) as
-- seq; their receipt time is unknown (NULL). The append-only triggers are recreated.
DROP TRIGGER consent_no_update;
DROP TRIGGER consent_no_delete;
CREATE TABLE consent_ledger (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    entry_id TEXT NOT NULL UNIQUE,
    rights_holder_id TEXT NOT NULL,
    scope TEXT NOT NULL,
    action TEXT NOT NULL CHECK (action IN ('grant', 'revoke')),
    actor TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    at INTEGER NOT NULL,
    received_at INTEGER
);
INSERT INTO consent_ledger (seq, entry_id, rights_holder_id, scope, action, actor, reason, at)
SELECT rowid, entry_id, rights_holder_id, scope, action, actor, reason, at
FROM consent ORDER BY rowid;
DROP TABLE consent;
ALTER TABLE consent_ledger RENAME TO consent;
CREATE INDEX consent_holder ON consent(rights_holder_id, seq);
CREATE TRIGGER consent_no_update BEFORE UPDATE ON consent
BEGIN SELECT RAISE(ABORT, 'the consent ledger is append-only'); END;
CREATE TRIGGER consent_no_delete BEFORE DELETE ON consent
BEGIN SELECT RAISE(ABORT, 'the consent ledger is append-only'); END;

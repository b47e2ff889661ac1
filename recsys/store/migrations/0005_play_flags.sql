-- Plays flagged as artificial streaming. Flagged plays stay in `events` (nothing is deleted);
-- they are excluded from payouts and from the signals models learn from.
--
-- `play_flags` is the audit: append-only, one row per decision (a detection run flagging or
-- releasing an event, or a rights admin clearing it with a reason). The latest row per event
-- is in force. `flagged_events` holds the events whose latest decision is a flag, kept in the
-- same transaction as the audit, so serving can skip them with one indexed lookup.
CREATE TABLE play_flags (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL,
    flagged INTEGER NOT NULL,
    reasons TEXT NOT NULL DEFAULT '',
    score REAL NOT NULL DEFAULT 0,
    run_id TEXT NOT NULL DEFAULT '',
    actor TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    at INTEGER NOT NULL
);
CREATE INDEX play_flags_event ON play_flags(event_id, seq);
CREATE TRIGGER play_flags_no_update BEFORE UPDATE ON play_flags
BEGIN SELECT RAISE(ABORT, 'the play-flag audit is append-only'); END;
CREATE TRIGGER play_flags_no_delete BEFORE DELETE ON play_flags
BEGIN SELECT RAISE(ABORT, 'the play-flag audit is append-only'); END;

CREATE TABLE flagged_events (
    event_id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL
);

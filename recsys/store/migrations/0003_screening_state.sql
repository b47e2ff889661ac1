-- Screening is part of the commit: which tracks an ingest wrote that screening has not
-- finished with, and the append-only audit of disputed AI declarations.

-- One row per track whose screening has not finished. An ingest inserts (or re-marks) the
-- row in the transaction that writes the track; screening deletes it, in the transaction that
-- records its decisions, only if the mark is the one it read before it started (a track
-- re-written meanwhile keeps its row and is screened again).
CREATE TABLE unscreened (
    track_id TEXT PRIMARY KEY,
    mark INTEGER NOT NULL
);

-- Existing databases: nothing recorded whether their tracks were ever screened (an ingest
-- with --no-screen, or one that crashed after its commit, left none of them marked), so every
-- existing track is re-screened by the next `liner ingest`, `liner screen`, `liner build` or
-- `liner serve`. Screening is idempotent: kept quarantines stay, released tracks are not
-- quarantined again for the same reasons.
INSERT INTO unscreened (track_id, mark) SELECT track_id, 0 FROM tracks;

-- The dispute audit: a declared AI label that the service's own analysis strongly disputes
-- (opened = 1), and a rights admin's decision (opened = 0, with the decided label). The latest
-- entry per track is in force; a track whose latest entry is open is held (never served, never
-- paid) and labelled DISPUTED.
CREATE TABLE disputes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    track_id TEXT NOT NULL,
    opened INTEGER NOT NULL,
    declared TEXT NOT NULL,
    probability REAL,
    evidence TEXT NOT NULL DEFAULT '{}',
    decided TEXT NOT NULL DEFAULT '',
    actor TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    at INTEGER NOT NULL
);
CREATE INDEX disputes_track ON disputes(track_id, seq);
CREATE TRIGGER disputes_no_update BEFORE UPDATE ON disputes
BEGIN SELECT RAISE(ABORT, 'the dispute audit is append-only'); END;
CREATE TRIGGER disputes_no_delete BEFORE DELETE ON disputes
BEGIN SELECT RAISE(ABORT, 'the dispute audit is append-only'); END;

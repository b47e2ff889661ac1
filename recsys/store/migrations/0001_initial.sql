-- The first schema: catalog, listeners, events, consent ledger, quarantine audit, slates.
CREATE TABLE artists (
    artist_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    kind TEXT NOT NULL DEFAULT 'unknown',
    verified INTEGER NOT NULL DEFAULT 0,
    rights_holder_id TEXT NOT NULL,
    created_at INTEGER
);

CREATE TABLE tracks (
    track_id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    genre TEXT NOT NULL DEFAULT '',
    tags TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL DEFAULT '',
    duration_ms INTEGER NOT NULL DEFAULT 0,
    release_date TEXT,
    audio_path TEXT,
    audio_descriptors TEXT NOT NULL DEFAULT '{}',
    uploader_id TEXT NOT NULL DEFAULT '',
    uploaded_at INTEGER,
    ai_involvement TEXT NOT NULL DEFAULT 'UNDISCLOSED',
    ai_parts TEXT NOT NULL DEFAULT '',
    label_source TEXT NOT NULL DEFAULT 'DECLARED',
    label_confidence REAL NOT NULL DEFAULT 1.0,
    references_artist_ids TEXT NOT NULL DEFAULT ''
);

CREATE TABLE credits (
    track_id TEXT NOT NULL REFERENCES tracks(track_id) ON DELETE CASCADE,
    artist_id TEXT NOT NULL REFERENCES artists(artist_id),
    role TEXT NOT NULL DEFAULT 'primary',
    share REAL NOT NULL,
    ord INTEGER NOT NULL,
    PRIMARY KEY (track_id, ord)
);
CREATE INDEX credits_artist ON credits(artist_id);

CREATE TABLE listeners (
    listener_id TEXT PRIMARY KEY,
    ai_preference TEXT NOT NULL DEFAULT 'allow',
    blocked_artist_ids TEXT NOT NULL DEFAULT '',
    created_at INTEGER
);

-- A log: no foreign keys, so the service can record events for listeners and tracks the
-- catalog learns about later; ingest checks references itself.
CREATE TABLE events (
    event_id TEXT PRIMARY KEY,
    listener_id TEXT NOT NULL,
    track_id TEXT NOT NULL,
    event_type TEXT NOT NULL DEFAULT 'play',
    at INTEGER,
    ms_played INTEGER,
    weight REAL NOT NULL DEFAULT 1.0,
    request_id TEXT,
    position INTEGER
);
CREATE INDEX events_listener_at ON events(listener_id, at);

CREATE TABLE consent (
    entry_id TEXT NOT NULL UNIQUE,
    rights_holder_id TEXT NOT NULL,
    scope TEXT NOT NULL,
    action TEXT NOT NULL CHECK (action IN ('grant', 'revoke')),
    actor TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    at INTEGER NOT NULL
);
CREATE INDEX consent_holder ON consent(rights_holder_id);
CREATE TRIGGER consent_no_update BEFORE UPDATE ON consent
BEGIN SELECT RAISE(ABORT, 'the consent ledger is append-only'); END;
CREATE TRIGGER consent_no_delete BEFORE DELETE ON consent
BEGIN SELECT RAISE(ABORT, 'the consent ledger is append-only'); END;

CREATE TABLE quarantine (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    track_id TEXT NOT NULL,
    quarantined INTEGER NOT NULL,
    reasons TEXT NOT NULL DEFAULT '',
    evidence TEXT NOT NULL DEFAULT '{}',
    actor TEXT NOT NULL,
    at INTEGER NOT NULL
);
CREATE INDEX quarantine_track ON quarantine(track_id, at);
CREATE TRIGGER quarantine_no_update BEFORE UPDATE ON quarantine
BEGIN SELECT RAISE(ABORT, 'the quarantine audit is append-only'); END;
CREATE TRIGGER quarantine_no_delete BEFORE DELETE ON quarantine
BEGIN SELECT RAISE(ABORT, 'the quarantine audit is append-only'); END;

CREATE TABLE slates (
    request_id TEXT PRIMARY KEY,
    listener_id TEXT NOT NULL,
    surface TEXT NOT NULL DEFAULT 'home',
    variant TEXT NOT NULL DEFAULT '',
    served_at INTEGER NOT NULL,
    ai_features INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX slates_served_at ON slates(served_at);

CREATE TABLE slate_items (
    request_id TEXT NOT NULL REFERENCES slates(request_id),
    position INTEGER NOT NULL,
    track_id TEXT NOT NULL,
    score REAL NOT NULL,
    features TEXT NOT NULL DEFAULT '{}',
    propensity REAL,
    sources TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (request_id, position)
);

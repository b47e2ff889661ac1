-- The PostgreSQL schema, mirroring the SQLite one through its migration 0008 (the columns,
-- names and storage conventions are the same, so one codec serves both backends):
-- times are BIGINT microseconds since the Unix epoch (UTC), lists are '|'-joined TEXT, maps are
-- JSON TEXT, flags are INTEGER 0/1. Ids sort bytewise (COLLATE "C"), as in SQLite, whatever
-- locale the server was initialised with.
--
-- The consent ledger and the quarantine, dispute and play-flag audits are append-only: triggers
-- refuse UPDATE, DELETE and TRUNCATE (statement triggers: refused even when no row matches), so
-- not even raw SQL through a store connection edits them; only the tables' owner or a
-- superuser could drop the triggers. Receipt times and event senders are set once.

CREATE FUNCTION liner_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_ARGV[0] USING ERRCODE = 'restrict_violation';
END
$$;

CREATE FUNCTION liner_received_once() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.received_at IS NOT NULL AND NEW.received_at IS DISTINCT FROM OLD.received_at THEN
        RAISE EXCEPTION 'received_at is the service''s receipt time and never changes'
            USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END
$$;

CREATE FUNCTION liner_event_receipt_once() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.received_at IS NOT NULL AND (NEW.sender IS DISTINCT FROM OLD.sender
            OR NEW.received_at IS DISTINCT FROM OLD.received_at) THEN
        RAISE EXCEPTION 'an event''s sender and receipt time never change'
            USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END
$$;

CREATE TABLE artists (
    artist_id TEXT COLLATE "C" PRIMARY KEY,
    name TEXT NOT NULL,
    kind TEXT NOT NULL DEFAULT 'unknown',
    verified INTEGER NOT NULL DEFAULT 0,
    rights_holder_id TEXT NOT NULL,
    created_at BIGINT,
    received_at BIGINT
);
CREATE INDEX artists_received ON artists(received_at);
CREATE TRIGGER artists_received_once BEFORE UPDATE OF received_at ON artists
FOR EACH ROW EXECUTE FUNCTION liner_received_once();

CREATE TABLE tracks (
    track_id TEXT COLLATE "C" PRIMARY KEY,
    title TEXT NOT NULL,
    genre TEXT NOT NULL DEFAULT '',
    tags TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL DEFAULT '',
    duration_ms BIGINT NOT NULL DEFAULT 0,
    release_date TEXT,
    audio_path TEXT,
    audio_descriptors TEXT NOT NULL DEFAULT '{}',
    uploader_id TEXT NOT NULL DEFAULT '',
    uploaded_at BIGINT,
    ai_involvement TEXT NOT NULL DEFAULT 'UNDISCLOSED',
    ai_parts TEXT NOT NULL DEFAULT '',
    label_source TEXT NOT NULL DEFAULT 'DECLARED',
    label_confidence DOUBLE PRECISION NOT NULL DEFAULT 1.0,
    references_artist_ids TEXT NOT NULL DEFAULT '',
    received_at BIGINT
);
CREATE INDEX tracks_received ON tracks(received_at);
CREATE TRIGGER tracks_received_once BEFORE UPDATE OF received_at ON tracks
FOR EACH ROW EXECUTE FUNCTION liner_received_once();

CREATE TABLE credits (
    track_id TEXT COLLATE "C" NOT NULL REFERENCES tracks(track_id) ON DELETE CASCADE,
    artist_id TEXT COLLATE "C" NOT NULL REFERENCES artists(artist_id),
    role TEXT NOT NULL DEFAULT 'primary',
    share DOUBLE PRECISION NOT NULL,
    ord INTEGER NOT NULL,
    PRIMARY KEY (track_id, ord)
);
CREATE INDEX credits_artist ON credits(artist_id);

CREATE TABLE listeners (
    listener_id TEXT COLLATE "C" PRIMARY KEY,
    ai_preference TEXT NOT NULL DEFAULT 'allow',
    blocked_artist_ids TEXT NOT NULL DEFAULT '',
    created_at BIGINT,
    received_at BIGINT
);
CREATE INDEX listeners_received ON listeners(received_at);
CREATE TRIGGER listeners_received_once BEFORE UPDATE OF received_at ON listeners
FOR EACH ROW EXECUTE FUNCTION liner_received_once();

-- A log: no foreign keys, as in SQLite (writes check their references themselves).
CREATE TABLE events (
    event_id TEXT COLLATE "C" PRIMARY KEY,
    listener_id TEXT COLLATE "C" NOT NULL,
    track_id TEXT COLLATE "C" NOT NULL,
    event_type TEXT NOT NULL DEFAULT 'play',
    at BIGINT,
    ms_played BIGINT,
    weight DOUBLE PRECISION NOT NULL DEFAULT 1.0,
    request_id TEXT,
    position BIGINT,
    sender TEXT NOT NULL DEFAULT 'unknown',
    received_at BIGINT
);
CREATE INDEX events_listener_at ON events(listener_id, at);
CREATE TRIGGER events_sender_once BEFORE UPDATE OF sender, received_at ON events
FOR EACH ROW EXECUTE FUNCTION liner_event_receipt_once();

-- seq is assigned by the store inside the write transaction (the next number, under a lock
-- held to commit), so ledger order is commit order and has no gaps.
CREATE TABLE consent (
    seq BIGINT PRIMARY KEY,
    entry_id TEXT COLLATE "C" NOT NULL UNIQUE,
    rights_holder_id TEXT COLLATE "C" NOT NULL,
    scope TEXT NOT NULL,
    action TEXT NOT NULL CHECK (action IN ('grant', 'revoke')),
    actor TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    at BIGINT NOT NULL,
    received_at BIGINT
);
CREATE INDEX consent_holder ON consent(rights_holder_id, seq);
CREATE TRIGGER consent_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON consent
FOR EACH STATEMENT EXECUTE FUNCTION liner_append_only('the consent ledger');

CREATE TABLE quarantine (
    seq BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    track_id TEXT COLLATE "C" NOT NULL,
    quarantined INTEGER NOT NULL,
    reasons TEXT NOT NULL DEFAULT '',
    evidence TEXT NOT NULL DEFAULT '{}',
    actor TEXT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX quarantine_track ON quarantine(track_id, at);
CREATE TRIGGER quarantine_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON quarantine
FOR EACH STATEMENT EXECUTE FUNCTION liner_append_only('the quarantine audit');

CREATE TABLE slates (
    request_id TEXT COLLATE "C" PRIMARY KEY,
    listener_id TEXT COLLATE "C" NOT NULL,
    surface TEXT NOT NULL DEFAULT 'home',
    variant TEXT NOT NULL DEFAULT '',
    served_at BIGINT NOT NULL,
    ai_features INTEGER NOT NULL DEFAULT 0,
    propensity DOUBLE PRECISION
);
CREATE INDEX slates_served_at ON slates(served_at);

CREATE TABLE slate_items (
    request_id TEXT COLLATE "C" NOT NULL REFERENCES slates(request_id),
    position INTEGER NOT NULL,
    track_id TEXT COLLATE "C" NOT NULL,
    score DOUBLE PRECISION NOT NULL,
    features TEXT NOT NULL DEFAULT '{}',
    propensity DOUBLE PRECISION,
    sources TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (request_id, position)
);

CREATE TABLE unscreened (
    track_id TEXT COLLATE "C" PRIMARY KEY,
    mark BIGINT NOT NULL
);

CREATE TABLE disputes (
    seq BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    track_id TEXT COLLATE "C" NOT NULL,
    opened INTEGER NOT NULL,
    declared TEXT NOT NULL,
    probability DOUBLE PRECISION,
    evidence TEXT NOT NULL DEFAULT '{}',
    decided TEXT NOT NULL DEFAULT '',
    actor TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    at BIGINT NOT NULL
);
CREATE INDEX disputes_track ON disputes(track_id, seq);
CREATE TRIGGER disputes_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON disputes
FOR EACH STATEMENT EXECUTE FUNCTION liner_append_only('the dispute audit');

CREATE TABLE play_flags (
    seq BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    event_id TEXT COLLATE "C" NOT NULL,
    flagged INTEGER NOT NULL,
    reasons TEXT NOT NULL DEFAULT '',
    score DOUBLE PRECISION NOT NULL DEFAULT 0,
    run_id TEXT NOT NULL DEFAULT '',
    actor TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    at BIGINT NOT NULL
);
CREATE INDEX play_flags_event ON play_flags(event_id, seq);
CREATE TRIGGER play_flags_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON play_flags
FOR EACH STATEMENT EXECUTE FUNCTION liner_append_only('the play-flag audit');

CREATE TABLE flagged_events (
    event_id TEXT COLLATE "C" PRIMARY KEY,
    seq BIGINT NOT NULL
);

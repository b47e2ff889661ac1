-- Receipt time: when the service itself first stored an artist, a track or a listener, from
-- its own clock (INTEGER microseconds since the epoch, UTC). The store sets it on the first
-- write of a row and never again; nothing from a data file or an API request reaches it.
-- Ordering, first claim between duplicates, "prior use" and rate screens rest on it, never on
-- the uploader's uploaded_at / created_at.
ALTER TABLE artists ADD COLUMN received_at INTEGER;
ALTER TABLE tracks ADD COLUMN received_at INTEGER;
ALTER TABLE listeners ADD COLUMN received_at INTEGER;

-- Rows stored before this migration: their receipt order is their rowid order (an upsert
-- keeps a row's rowid), ending one microsecond per row before the migration ran.
UPDATE artists SET received_at = CAST(strftime('%s', 'now') AS INTEGER) * 1000000
    - (SELECT max(rowid) FROM artists) + rowid - 1;
UPDATE tracks SET received_at = CAST(strftime('%s', 'now') AS INTEGER) * 1000000
    - (SELECT max(rowid) FROM tracks) + rowid - 1;
UPDATE listeners SET received_at = CAST(strftime('%s', 'now') AS INTEGER) * 1000000
    - (SELECT max(rowid) FROM listeners) + rowid - 1;

CREATE INDEX artists_received ON artists(received_at);
CREATE INDEX tracks_received ON tracks(received_at);
CREATE INDEX listeners_received ON listeners(received_at);

-- Set once: not even raw SQL through a store connection can move a receipt time.
CREATE TRIGGER artists_received_once BEFORE UPDATE OF received_at ON artists
WHEN OLD.received_at IS NOT NULL AND NEW.received_at IS NOT OLD.received_at
BEGIN SELECT RAISE(ABORT, 'received_at is the service''s receipt time and never changes'); END;
CREATE TRIGGER tracks_received_once BEFORE UPDATE OF received_at ON tracks
WHEN OLD.received_at IS NOT NULL AND NEW.received_at IS NOT OLD.received_at
BEGIN SELECT RAISE(ABORT, 'received_at is the service''s receipt time and never changes'); END;
CREATE TRIGGER listeners_received_once BEFORE UPDATE OF received_at ON listeners
WHEN OLD.received_at IS NOT NULL AND NEW.received_at IS NOT OLD.received_at
BEGIN SELECT RAISE(ABORT, 'received_at is the service''s receipt time and never changes'); END;

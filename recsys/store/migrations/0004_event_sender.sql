-- Who sent each event, and when the service received it (issue 16). An event's own `at` is
-- the sender's claim; decisions about money and learning rest on what the service observed:
-- `sender` is the principal the service authenticated (feedback:<token fingerprint>,
-- listener:<listener id>, anonymous, ingest:<folder name>) and `received_at` the store's own
-- clock when it first wrote the event (INTEGER microseconds since the epoch, UTC). Both are
-- written by the store, never taken from a client. Events stored before this migration have
-- sender 'unknown' and no receipt time.
ALTER TABLE events ADD COLUMN sender TEXT NOT NULL DEFAULT 'unknown';
ALTER TABLE events ADD COLUMN received_at INTEGER;

-- Set once: not even raw SQL through a store connection can rewrite who sent an event or
-- when it arrived.
CREATE TRIGGER events_sender_once BEFORE UPDATE OF sender, received_at ON events
WHEN OLD.received_at IS NOT NULL
  AND (NEW.sender IS NOT OLD.sender OR NEW.received_at IS NOT OLD.received_at)
BEGIN SELECT RAISE(ABORT, 'an event''s sender and receipt time never change'); END;

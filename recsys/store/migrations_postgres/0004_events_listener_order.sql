-- The twin of the SQLite migration 0010_events_listener_order.sql: a listener's history is
-- read ORDER BY at DESC NULLS LAST, event_id DESC, so the index holds that order and the rows
-- come out of it without a sort. It replaces the narrower (listener_id, at) index.
CREATE INDEX events_listener_order ON events(listener_id, at DESC NULLS LAST, event_id DESC);
DROP INDEX events_listener_at;

-- Conversations with the discovery agent (Converse), kept in the store so that every serving
-- process (`liner serve --workers`) and replica on this database continues any of them.
-- The server mints session_id and binds it to listener_id ('' when none); last_used and
-- busy_until are the store's clock (microseconds), never a client's: a session idle longer
-- than the TTL is gone. state is the conversation so far (JSON the agent writes); turns
-- counts answered turns. A turn in progress holds the row (holder, until busy_until) so
-- turns of one conversation run one after the other on whichever process gets them.
CREATE TABLE agent_sessions (
    session_id TEXT PRIMARY KEY,
    listener_id TEXT NOT NULL DEFAULT '',
    state TEXT NOT NULL DEFAULT '',
    turns INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    last_used INTEGER NOT NULL,
    busy_until INTEGER NOT NULL DEFAULT 0,
    holder TEXT NOT NULL DEFAULT ''
);
CREATE INDEX agent_sessions_last_used ON agent_sessions (last_used);

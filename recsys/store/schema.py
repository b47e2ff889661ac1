"""The SQLite schema as ordered migrations, applied on open.

Each migration is a SQL script with a version number; ``schema_version`` records which ones
ran. A store opened by older code than its schema refuses to start rather than guess.

Storage conventions (what raw SQL sees):

- times (``at``, ``created_at``, ``uploaded_at``, ``served_at``) are INTEGER microseconds
  since the Unix epoch, UTC; NULL when unknown;
- dates (``release_date``) are TEXT ``YYYY-MM-DD``;
- lists (tags, ai_parts, references, blocked artists, sources) are TEXT joined with ``|``;
- maps (audio descriptors, slate features, quarantine evidence) are TEXT JSON objects.

The consent ledger and the quarantine audit are append-only: triggers abort any UPDATE or
DELETE, so not even raw SQL through a store connection can edit them.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

from recsys.errors import StoreError

_V1 = """
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
"""

# Ordered (version, script). Append new migrations; never edit a released one.
MIGRATIONS: tuple[tuple[int, str], ...] = ((1, _V1),)

LATEST_VERSION = MIGRATIONS[-1][0]


def current_version(conn: sqlite3.Connection) -> int:
    """The highest applied migration, 0 for an empty database."""
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_version ("
        "version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)"
    )
    row = conn.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchone()
    return int(row[0])


def migrate(conn: sqlite3.Connection) -> int:
    """Apply pending migrations, each in its own transaction; returns the schema version.

    Args:
        conn: a connection in autocommit mode (``isolation_level=None``).

    Raises:
        StoreError: the database was written by a newer version of Liner Notes.
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        version = current_version(conn)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    if version > LATEST_VERSION:
        raise StoreError(
            f"the database has schema version {version} but this code knows only up to "
            f"{LATEST_VERSION}. Fix: upgrade Liner Notes, or point --db at another file"
        )
    for number, script in MIGRATIONS:
        if number <= version:
            continue
        conn.execute("BEGIN IMMEDIATE")
        try:
            # Re-check under the write lock: another process may have migrated meanwhile.
            if current_version(conn) >= number:
                conn.execute("COMMIT")
                continue
            for statement in _statements(script):
                conn.execute(statement)
            now = int(datetime.now(UTC).timestamp() * 1_000_000)
            conn.execute("INSERT INTO schema_version VALUES (?, ?)", (number, now))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        version = number
    return version


def _statements(script: str) -> list[str]:
    """Split a script into statements, keeping trigger bodies whole."""
    statements: list[str] = []
    buffer = ""
    for line in script.splitlines(keepends=True):
        if line.lstrip().startswith("--"):
            continue
        buffer += line
        if sqlite3.complete_statement(buffer):
            statements.append(buffer.strip())
            buffer = ""
    if buffer.strip():
        statements.append(buffer.strip())
    return statements


__all__ = ["LATEST_VERSION", "MIGRATIONS", "current_version", "migrate"]

"""The SQLite schema as ordered migrations, applied on open.

Each migration is a SQL file ``migrations/NNNN_name.sql`` whose number is its version;
``schema_version`` records which ones ran. A store opened by older code than its schema
refuses to start rather than guess.

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

import re
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from recsys.errors import StoreError

_MIGRATIONS_DIR = Path(__file__).with_name("migrations")
_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


def _load_migrations() -> tuple[tuple[int, str], ...]:
    """Every ``migrations/NNNN_name.sql`` file, in version order.

    One file per migration, so changes to the schema never edit a shared list. Append new
    files; never edit a released one.
    """
    found: dict[int, str] = {}
    for path in sorted(_MIGRATIONS_DIR.glob("*.sql")):
        match = _NAME.match(path.name)
        if match is None:
            raise StoreError(
                f"migration file {path.name!r} is not named NNNN_name.sql. "
                "Fix: rename it, e.g. 0007_play_flags.sql"
            )
        version = int(match.group(1))
        if version in found:
            raise StoreError(f"two migration files have version {version}. Fix: renumber one")
        found[version] = path.read_text(encoding="utf-8")
    return tuple(sorted(found.items()))


# Ordered (version, script).
MIGRATIONS: tuple[tuple[int, str], ...] = _load_migrations()

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
    # Every migration not recorded yet is applied, in order: one numbered below the latest
    # applied (added on a branch while another landed) is not skipped.
    applied = _applied(conn)
    for number, script in MIGRATIONS:
        if number in applied:
            continue
        conn.execute("BEGIN IMMEDIATE")
        try:
            # Re-check under the write lock: another process may have migrated meanwhile.
            if number in _applied(conn):
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
        version = max(version, number)
    return version


def _applied(conn: sqlite3.Connection) -> set[int]:
    """Versions recorded in ``schema_version``."""
    current_version(conn)  # creates the table when missing
    return {int(r[0]) for r in conn.execute("SELECT version FROM schema_version")}


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

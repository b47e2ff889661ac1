"""The PostgreSQL schema as ordered migrations, applied when a store opens.

Like the SQLite ones (``schema.py``): each migration is a plain SQL file
``migrations_postgres/NNNN_name.sql`` whose number is its version, and ``schema_version``
records which ran. Each runs in its own transaction (PostgreSQL's DDL is transactional, so a
failed migration leaves nothing behind), under an advisory lock, so replicas starting together
migrate once. A database written by newer code than this refuses to open.

``0001_initial.sql`` is the SQLite schema through its migration 0008; a later change to the
SQLite schema needs its twin here (``tests/recsys/store/test_postgres.py`` compares the columns
of both).
"""

from __future__ import annotations

import re
from pathlib import Path

import psycopg

from recsys.errors import StoreError

_MIGRATIONS_DIR = Path(__file__).with_name("migrations_postgres")
_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
MIGRATION_LOCK = 0x4C494E4552_01
"""Advisory lock key held while migrating (``LINER`` + 1)."""


def _load() -> tuple[tuple[int, str], ...]:
    found: dict[int, str] = {}
    for path in sorted(_MIGRATIONS_DIR.glob("*.sql")):
        match = _NAME.match(path.name)
        if match is None:
            raise StoreError(
                f"PostgreSQL migration file {path.name!r} is not named NNNN_name.sql. "
                "Fix: rename it"
            )
        version = int(match.group(1))
        if version in found:
            raise StoreError(f"two PostgreSQL migrations have version {version}. Fix: renumber one")
        found[version] = path.read_text(encoding="utf-8")
    return tuple(sorted(found.items()))


MIGRATIONS: tuple[tuple[int, str], ...] = _load()
LATEST_VERSION = MIGRATIONS[-1][0]


def migrate(conn: psycopg.Connection) -> int:
    """Apply pending migrations in order; returns the schema version.

    Args:
        conn: an autocommit connection.

    Raises:
        StoreError: the database was written by a newer version of Liner Notes.
    """
    conn.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK,))
    try:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_version ("
            "version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)"
        )
        applied = {int(r[0]) for r in conn.execute("SELECT version FROM schema_version")}
        newest = max(applied, default=0)
        if newest > LATEST_VERSION:
            raise StoreError(
                f"the database has schema version {newest} but this code knows only up to "
                f"{LATEST_VERSION}. Fix: upgrade Liner Notes, or point --db at another database"
            )
        for number, script in MIGRATIONS:
            if number in applied:
                continue
            with conn.transaction():
                conn.execute(script.encode())  # several statements: the simple query protocol
                conn.execute(
                    "INSERT INTO schema_version VALUES "
                    "(%s, (extract(epoch FROM clock_timestamp()) * 1000000)::bigint)",
                    (number,),
                )
            applied.add(number)
        return max(applied)
    finally:
        conn.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK,))


__all__ = ["LATEST_VERSION", "MIGRATIONS", "MIGRATION_LOCK", "migrate"]

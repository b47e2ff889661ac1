"""A real PostgreSQL server for the tests that run against both store backends.

One server per test session (``initdb`` + ``pg_ctl`` on a temporary folder, Unix socket only,
``fsync=off``: nothing here needs to survive a power cut), and one fresh database per test,
copied from a template that is migrated once. Tests that need it are skipped, with the reason,
only when the PostgreSQL binaries are absent (``make system-deps`` installs them).
"""

from __future__ import annotations

import contextlib
import itertools
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from recsys.store.postgres_local import LocalPostgres, find_binaries

_TEMPLATE = "liner_template"
_numbers = itertools.count()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[LocalPostgres]:
    """The session's PostgreSQL server, with a migrated template database."""
    if find_binaries() is None:
        pytest.skip(
            "PostgreSQL binaries not found (apt-get install postgresql, or make system-deps)"
        )
    import psycopg

    from recsys.store.postgres import PostgresStore

    root = Path(tempfile.mkdtemp(prefix="liner-pg-"))  # under /tmp: reachable by postgres
    try:
        settings = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}
        with LocalPostgres.start(root, settings=settings, stop_mode="immediate") as server:
            with psycopg.connect(server.url(), autocommit=True) as conn:
                conn.execute(f"CREATE DATABASE {_TEMPLATE}")
            PostgresStore(server.url(_TEMPLATE), pool_size=1).close()
            yield server
    finally:
        shutil.rmtree(root, ignore_errors=True)


@contextlib.contextmanager
def empty_database(server: LocalPostgres, template: str = "template0") -> Iterator[str]:
    """A new database (no tables unless ``template`` has them), dropped afterwards; its URL."""
    import psycopg

    name = f"liner_test_{next(_numbers)}"
    with psycopg.connect(server.url(), autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name} TEMPLATE {template}")
    try:
        yield server.url(name)
    finally:
        with psycopg.connect(server.url(), autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def postgres_url(postgres_server: LocalPostgres) -> Iterator[str]:
    """A fresh, migrated, empty database for one test; dropped afterwards."""
    with empty_database(postgres_server, _TEMPLATE) as url:
        yield url

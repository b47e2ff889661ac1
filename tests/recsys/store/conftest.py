"""The store tests run against both backends: ``backend`` is parametrised over SQLite (a file
in the test's folder) and PostgreSQL (a fresh database on the session's own server, see
``tests/recsys/conftest.py``; skipped, with the reason, only when the binaries are absent)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pytest

from recsys.store import SqliteStore, Store


@dataclass
class Backend:
    """One store location; :meth:`open` gives a new store handle on it (several handles on one
    location are several processes' or replicas' views of one database)."""

    name: str
    location: str
    """A SQLite file path or a ``postgresql://`` URL (what ``open_store`` takes)."""
    _opened: list[Store] = field(default_factory=list)

    def open(self, clock: Callable[[], datetime] | None = None) -> Store:
        store: Store
        if self.name == "sqlite":
            store = SqliteStore(self.location, clock=clock)
        else:
            from recsys.store.postgres import PostgresStore

            store = PostgresStore(self.location, clock=clock)
        self._opened.append(store)
        return store

    def close_all(self) -> None:
        for store in self._opened:
            store.close()


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    """Each store backend in turn; every store it opened is closed afterwards."""
    if request.param == "sqlite":
        found = Backend("sqlite", str(tmp_path / "liner.db"))
    else:
        found = Backend("postgres", request.getfixturevalue("postgres_url"))
    try:
        yield found
    finally:
        found.close_all()


@pytest.fixture
def store(backend: Backend) -> Store:
    """A store on ``backend`` with the default (real) clock."""
    return backend.open()

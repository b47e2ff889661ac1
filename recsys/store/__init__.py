"""Storage backends behind one interface."""

from __future__ import annotations

from recsys.errors import StoreError
from recsys.store.base import (
    DisputeRecord,
    EventHistory,
    IngestBatch,
    QuarantineRecord,
    ReloadNotice,
    Store,
    StoreSummary,
)
from recsys.store.sqlite import SqliteStore


def open_store(url: str) -> Store:
    """Open the store a setting names.

    Args:
        url: a SQLite file path, ``sqlite:///relative/path.db`` or
            ``sqlite:////absolute/path.db``; or a ``postgresql://`` (``postgres://``) URL for
            the PostgreSQL store that several service replicas share (see
            :mod:`recsys.store.postgres`).

    Raises:
        StoreError: the URL names an unsupported backend or the file cannot be opened.

    Example:
        store = open_store("var/liner.db")
    """
    if url.startswith("postgresql+"):
        raise StoreError(
            f"'{url.split('://', 1)[0]}' is an SQLAlchemy driver URL. Fix: write "
            "postgresql://user@host/database"
        )
    if url.startswith(("postgresql://", "postgres://")):
        from recsys.store.postgres import PostgresStore  # psycopg only when asked for

        return PostgresStore(url)
    if url.startswith("sqlite://"):
        path = url.removeprefix("sqlite://")
        if not path.startswith("/") or path == "/":
            raise StoreError(
                f"cannot read the SQLite URL '{url}'. Fix: write sqlite:///relative/path.db "
                "or sqlite:////absolute/path.db"
            )
        return SqliteStore(path[1:])
    if "://" in url:
        scheme = url.split("://", 1)[0]
        raise StoreError(
            f"unknown store scheme '{scheme}'. Fix: use a SQLite file path, a sqlite:/// URL "
            "or a postgresql:// URL"
        )
    return SqliteStore(url)


__all__ = [
    "DisputeRecord",
    "EventHistory",
    "IngestBatch",
    "QuarantineRecord",
    "ReloadNotice",
    "SqliteStore",
    "Store",
    "StoreSummary",
    "open_store",
]

"""Storage backends behind one interface."""

from __future__ import annotations

from recsys.errors import StoreError
from recsys.store.base import (
    DisputeRecord,
    EventHistory,
    IngestBatch,
    QuarantineRecord,
    Store,
    StoreSummary,
)
from recsys.store.sqlite import SqliteStore


def open_store(url: str) -> Store:
    """Open the store a setting names.

    Args:
        url: a SQLite file path, ``sqlite:///relative/path.db`` or
            ``sqlite:////absolute/path.db``. ``postgresql://`` URLs are reserved for the
            PostgreSQL backend, which is not implemented yet.

    Raises:
        StoreError: the URL names an unsupported backend or the file cannot be opened.

    Example:
        store = open_store("var/liner.db")
    """
    if url.startswith(("postgresql://", "postgres://", "postgresql+")):
        raise StoreError(
            "the PostgreSQL store is not implemented yet. Fix: use SQLite, e.g. "
            "--db var/liner.db or LINER_DB=sqlite:///var/liner.db"
        )
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
            f"unknown store scheme '{scheme}'. Fix: use a SQLite file path or sqlite:/// URL"
        )
    return SqliteStore(url)


__all__ = [
    "DisputeRecord",
    "EventHistory",
    "IngestBatch",
    "QuarantineRecord",
    "SqliteStore",
    "Store",
    "StoreSummary",
    "open_store",
]
